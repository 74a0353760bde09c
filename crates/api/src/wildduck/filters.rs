//! `/users/{user}/filters`: a user's message filters (list, create, get, update, delete), and
//! `GET /filters` across users.
//!
//! Requests take today's WildDuck nested objects (`query: {from, ...}`, `action: {seen, ...,
//! targets}`) and the older flat fields (`query_from`, `action_seen`, ...); where both name a
//! field the nested one wins. In a `PUT` a field left out is unchanged and an empty string (or
//! `null`) clears it; in a `POST` an empty value is unset. Answers carry both forms.

use super::AppState;
use super::de;
use super::error::{ApiError, ApiResult, ErrorBody};
use super::extract::{JsonBody, PathArgs, QueryArgs};
use super::paging::{PageArgs, cursors};
use super::shape::{Created, CursorOrFalse, Success, iso_date};
use axum::Json;
use axum::extract::State;
use sealpost_core::filters::{FilterChanges, FilterSummary};
use sealpost_core::{FilterRecord, ObjectId};
use serde::Serialize;
use serde::de::{Deserialize, Deserializer, Error as _};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_filters, create_filter))
        .routes(routes!(get_filter, update_filter, delete_filter))
        .routes(routes!(list_all_filters))
}

/// Today's nested `query` object of a filter (fields it does not use are left out).
#[derive(Debug, Default, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct QueryObject {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub list_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ha: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size: Option<i64>,
}

/// Today's nested `action` object; `targets` holds every forwarding address and upload URL.
#[derive(Debug, Default, Serialize, ToSchema)]
pub struct ActionObject {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seen: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub flag: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delete: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub spam: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mailbox: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub targets: Option<Vec<String>>,
}

fn query_object(f: &FilterRecord) -> QueryObject {
    QueryObject {
        from: f.query_from.clone(),
        to: f.query_to.clone(),
        subject: f.query_subject.clone(),
        list_id: f.query_list_id.clone(),
        text: f.query_text.clone(),
        ha: f.query_ha,
        size: f.query_size,
    }
}

fn action_object(f: &FilterRecord) -> ActionObject {
    let targets = sealpost_core::filters::engine::targets(f);
    ActionObject {
        seen: f.action_seen,
        flag: f.action_flag,
        delete: f.action_delete,
        spam: f.action_spam,
        mailbox: f.action_mailbox.as_ref().map(|m| m.to_string()),
        targets: (!targets.is_empty()).then_some(targets),
    }
}

/// The stored `metaData` object (`None` when unset or unreadable).
fn meta_data(f: &FilterRecord) -> Option<serde_json::Map<String, Value>> {
    f.meta_data
        .as_deref()
        .and_then(|j| serde_json::from_str::<Value>(j).ok())
        .and_then(|v| match v {
            Value::Object(m) => Some(m),
            _ => None,
        })
}

// ---- shapes ----

/// A filter in a listing, with human-readable `query` and `action` tuples.
#[derive(Debug, Serialize, ToSchema)]
pub struct FilterListItem {
    #[schema(example = "59759c440e1d676f15e76b5f")]
    pub id: String,
    /// `""` when the filter has no name.
    #[schema(example = "Flag messages from abc")]
    pub name: String,
    /// Tuples describing the query, e.g. `[["from", "(abc)"]]`.
    #[schema(value_type = Vec<Vec<Object>>)]
    pub query: Vec<Value>,
    /// Tuples describing the actions, e.g. `[["flag it"]]`.
    #[schema(value_type = Vec<Vec<Object>>)]
    pub action: Vec<Value>,
    #[schema(example = "2017-07-24T07:05:40.355Z")]
    pub created: String,
    pub disabled: bool,
    #[serde(rename = "metaData", skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub meta_data: Option<serde_json::Map<String, Value>>,
}

impl From<FilterSummary> for FilterListItem {
    fn from(s: FilterSummary) -> Self {
        FilterListItem {
            id: s.filter.id.to_string(),
            meta_data: meta_data(&s.filter),
            name: s.filter.name.unwrap_or_default(),
            query: s.query,
            action: s.action,
            created: iso_date(s.filter.created),
            disabled: s.filter.disabled,
        }
    }
}

/// How many filters the user may have and has.
#[derive(Debug, Serialize, ToSchema)]
pub struct FilterLimits {
    pub allowed: i64,
    pub used: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FilterList {
    pub success: bool,
    pub limits: FilterLimits,
    pub results: Vec<FilterListItem>,
}

/// A filter in `GET /filters`: with its user and forwarding targets.
#[derive(Debug, Serialize, ToSchema)]
pub struct AllFiltersItem {
    #[serde(flatten)]
    pub filter: FilterListItem,
    pub user: String,
    pub targets: Vec<String>,
}

/// `GET /filters`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AllFiltersList {
    pub success: bool,
    pub total: i64,
    pub page: u32,
    pub previous_cursor: CursorOrFalse,
    pub next_cursor: CursorOrFalse,
    pub results: Vec<AllFiltersItem>,
}

/// `GET /filters` options.
#[derive(Debug, Default, serde::Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase")]
pub struct AllFiltersArgs {
    /// Partial match of a forwarding address or upload URL.
    pub forward: Option<String>,
    /// Include `metaData`.
    #[param(value_type = Option<bool>)]
    pub meta_data: Option<String>,
}

/// One filter: only the fields it uses are present.
#[derive(Debug, Serialize, ToSchema)]
pub struct FilterInfo {
    pub success: bool,
    pub id: String,
    /// `""` when the filter has no name.
    pub name: String,
    pub created: String,
    /// Today's nested form of the query and the actions.
    pub query: QueryObject,
    pub action: ActionObject,
    #[serde(rename = "metaData", skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub meta_data: Option<serde_json::Map<String, Value>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub query_from: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub query_to: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub query_subject: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub query_text: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub query_ha: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub query_size: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action_seen: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action_flag: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action_delete: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action_spam: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action_mailbox: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action_forward: Option<String>,
    #[serde(rename = "action_targetUrl", skip_serializing_if = "Option::is_none")]
    pub action_target_url: Option<String>,
    pub disabled: bool,
}

impl From<FilterRecord> for FilterInfo {
    fn from(f: FilterRecord) -> Self {
        FilterInfo {
            success: true,
            id: f.id.to_string(),
            query: query_object(&f),
            action: action_object(&f),
            meta_data: meta_data(&f),
            name: f.name.unwrap_or_default(),
            created: iso_date(f.created),
            query_from: f.query_from,
            query_to: f.query_to,
            query_subject: f.query_subject,
            query_text: f.query_text,
            query_ha: f.query_ha,
            query_size: f.query_size,
            action_seen: f.action_seen,
            action_flag: f.action_flag,
            action_delete: f.action_delete,
            action_spam: f.action_spam,
            action_mailbox: f.action_mailbox.map(|m| m.to_string()),
            action_forward: f.action_forward,
            action_target_url: f.action_target_url,
            disabled: f.disabled,
        }
    }
}

// ---- requests ----

/// Absent: `None`; `null` or empty: `Some(None)`; a string: `Some(Some(s))`.
fn tri_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    match Value::deserialize(d)? {
        Value::Null => Ok(Some(None)),
        Value::String(s) if s.trim().is_empty() => Ok(Some(None)),
        Value::String(s) => Ok(Some(Some(s))),
        _ => Err(D::Error::custom("must be a string")),
    }
}

/// A boolean as WildDuck's filter schema converts it (`true`, "true", "yes", "Y", 1, ...);
/// `null` or empty clears.
fn tri_bool<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<bool>>, D::Error> {
    match Value::deserialize(d)? {
        Value::Null => Ok(Some(None)),
        Value::Bool(b) => Ok(Some(Some(b))),
        Value::String(s) if s.trim().is_empty() => Ok(Some(None)),
        Value::String(s) => de::parse_bool(&s)
            .map(|b| Some(Some(b)))
            .ok_or_else(|| D::Error::custom("must be a boolean")),
        Value::Number(n) if n.as_i64() == Some(1) => Ok(Some(Some(true))),
        Value::Number(n) if n.as_i64() == Some(0) => Ok(Some(Some(false))),
        _ => Err(D::Error::custom("must be a boolean")),
    }
}

/// A whole number (or numeric string); `null` or empty clears.
fn tri_int<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<i64>>, D::Error> {
    match Value::deserialize(d)? {
        Value::Null => Ok(Some(None)),
        Value::Number(n) => match n.as_i64() {
            Some(i) => Ok(Some(Some(i))),
            None => Err(D::Error::custom("must be an integer")),
        },
        Value::String(s) if s.trim().is_empty() => Ok(Some(None)),
        Value::String(s) => de::parse_int(&s)
            .map(|i| Some(Some(i)))
            .ok_or_else(|| D::Error::custom("must be a number")),
        _ => Err(D::Error::custom("must be a number")),
    }
}

/// Targets as an array of strings (or one comma separated string); `null` or empty clears.
fn tri_targets<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<String>>, D::Error> {
    match Value::deserialize(d)? {
        Value::Null => Ok(Some(Vec::new())),
        Value::String(s) => Ok(Some(
            s.split(',')
                .map(|t| t.trim().to_string())
                .filter(|t| !t.is_empty())
                .collect(),
        )),
        Value::Array(items) => items
            .into_iter()
            .map(|v| match v {
                Value::String(s) => Ok(s),
                _ => Err(D::Error::custom("must be an array of strings")),
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some),
        _ => Err(D::Error::custom("must be an array of strings")),
    }
}

/// `metaData`: an object or a JSON string of one; `null` or `""` removes it.
fn tri_meta<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<Option<serde_json::Map<String, Value>>>, D::Error> {
    match Value::deserialize(d)? {
        Value::Null => Ok(Some(None)),
        Value::Object(m) => Ok(Some(Some(m))),
        Value::String(s) if s.trim().is_empty() => Ok(Some(None)),
        Value::String(s) => match serde_json::from_str::<Value>(&s) {
            Ok(Value::Object(m)) => Ok(Some(Some(m))),
            _ => Err(D::Error::custom(
                "must be an object or a JSON formatted object",
            )),
        },
        _ => Err(D::Error::custom(
            "must be an object or a JSON formatted object",
        )),
    }
}

/// Today's `query` object in a request.
#[derive(Debug, Default, Serialize, serde::Deserialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct QueryRequest {
    #[serde(deserialize_with = "tri_string")]
    #[schema(value_type = Option<String>)]
    pub from: Option<Option<String>>,
    #[serde(deserialize_with = "tri_string")]
    #[schema(value_type = Option<String>)]
    pub to: Option<Option<String>>,
    #[serde(deserialize_with = "tri_string")]
    #[schema(value_type = Option<String>)]
    pub subject: Option<Option<String>>,
    #[serde(rename = "listId", deserialize_with = "tri_string")]
    #[schema(value_type = Option<String>)]
    pub list_id: Option<Option<String>>,
    #[serde(deserialize_with = "tri_string")]
    #[schema(value_type = Option<String>)]
    pub text: Option<Option<String>>,
    #[serde(deserialize_with = "tri_bool")]
    #[schema(value_type = Option<bool>)]
    pub ha: Option<Option<bool>>,
    #[serde(deserialize_with = "tri_int")]
    #[schema(value_type = Option<i64>)]
    pub size: Option<Option<i64>>,
}

/// Today's `action` object in a request.
#[derive(Debug, Default, Serialize, serde::Deserialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct ActionRequest {
    #[serde(deserialize_with = "tri_bool")]
    #[schema(value_type = Option<bool>)]
    pub seen: Option<Option<bool>>,
    #[serde(deserialize_with = "tri_bool")]
    #[schema(value_type = Option<bool>)]
    pub flag: Option<Option<bool>>,
    #[serde(deserialize_with = "tri_bool")]
    #[schema(value_type = Option<bool>)]
    pub delete: Option<Option<bool>>,
    #[serde(deserialize_with = "tri_bool")]
    #[schema(value_type = Option<bool>)]
    pub spam: Option<Option<bool>>,
    #[serde(deserialize_with = "tri_string")]
    #[schema(value_type = Option<String>)]
    pub mailbox: Option<Option<String>>,
    /// Forwarding addresses and http(s) upload URLs (replaces the list).
    #[serde(deserialize_with = "tri_targets")]
    #[schema(value_type = Option<Vec<String>>)]
    pub targets: Option<Vec<String>>,
}

/// `POST` and `PUT` body.
#[derive(Debug, Default, serde::Deserialize, ToSchema)]
#[serde(default)]
pub struct FilterRequest {
    /// Today's nested query (wins over the flat `query_*` fields).
    pub query: Option<QueryRequest>,
    /// Today's nested actions (win over the flat `action_*` fields).
    pub action: Option<ActionRequest>,
    /// The client's own object (or a JSON string of one).
    #[serde(rename = "metaData", deserialize_with = "tri_meta")]
    #[schema(value_type = Option<Object>)]
    pub meta_data: Option<Option<serde_json::Map<String, Value>>>,
    /// Session identifier and IP address for the logs (accepted, not stored).
    pub sess: Option<String>,
    pub ip: Option<String>,
    /// Name of the filter.
    #[serde(deserialize_with = "tri_string")]
    #[schema(value_type = Option<String>, example = "Flag messages from abc")]
    pub name: Option<Option<String>>,
    /// Partial match on the From: (and Sender:) header, case-insensitive.
    #[serde(deserialize_with = "tri_string")]
    #[schema(value_type = Option<String>, example = "abc")]
    pub query_from: Option<Option<String>>,
    /// Partial match on the To:/Cc: (and Delivered-To:) headers.
    #[serde(deserialize_with = "tri_string")]
    #[schema(value_type = Option<String>)]
    pub query_to: Option<Option<String>>,
    /// Partial match on the Subject: header.
    #[serde(deserialize_with = "tri_string")]
    #[schema(value_type = Option<String>)]
    pub query_subject: Option<Option<String>>,
    /// Partial match on the message text.
    #[serde(deserialize_with = "tri_string")]
    #[schema(value_type = Option<String>)]
    pub query_text: Option<Option<String>>,
    /// The message must have attachments (true) or none (false).
    #[serde(deserialize_with = "tri_bool")]
    #[schema(value_type = Option<bool>)]
    pub query_ha: Option<Option<bool>>,
    /// Larger than (positive) or smaller than (negative) this many bytes.
    #[serde(deserialize_with = "tri_int")]
    #[schema(value_type = Option<i64>)]
    pub query_size: Option<Option<i64>>,
    /// Mark as seen (true) or unseen (false).
    #[serde(deserialize_with = "tri_bool")]
    #[schema(value_type = Option<bool>)]
    pub action_seen: Option<Option<bool>>,
    /// Mark as flagged (true) or not (false).
    #[serde(deserialize_with = "tri_bool")]
    #[schema(value_type = Option<bool>, example = true)]
    pub action_flag: Option<Option<bool>>,
    /// Drop the message silently (no bounce).
    #[serde(deserialize_with = "tri_bool")]
    #[schema(value_type = Option<bool>)]
    pub action_delete: Option<Option<bool>>,
    /// Spam (to Junk) or not spam.
    #[serde(deserialize_with = "tri_bool")]
    #[schema(value_type = Option<bool>)]
    pub action_spam: Option<Option<bool>>,
    /// Id of the mailbox to store the message in.
    #[serde(deserialize_with = "tri_string")]
    #[schema(value_type = Option<String>)]
    pub action_mailbox: Option<Option<String>>,
    /// Address to forward the message to.
    #[serde(deserialize_with = "tri_string")]
    #[schema(value_type = Option<String>)]
    pub action_forward: Option<Option<String>>,
    /// http(s) URL the message is POSTed to.
    #[serde(rename = "action_targetUrl", deserialize_with = "tri_string")]
    #[schema(value_type = Option<String>)]
    pub action_target_url: Option<Option<String>>,
    /// A disabled filter is kept but not run.
    #[serde(deserialize_with = "de::opt_bool")]
    #[schema(value_type = Option<bool>)]
    pub disabled: Option<bool>,
}

impl FilterRequest {
    fn into_changes(self) -> ApiResult<FilterChanges> {
        let q = self.query.unwrap_or_default();
        let a = self.action.unwrap_or_default();
        let action_mailbox = match a.mailbox.or(self.action_mailbox) {
            Some(Some(id)) => Some(Some(ObjectId::parse(id.trim()).ok_or_else(|| {
                ApiError::invalid(
                    "action_mailbox",
                    "\"action_mailbox\" must be a 24 character hex string",
                )
            })?)),
            Some(None) => Some(None),
            None => None,
        };
        Ok(FilterChanges {
            name: self.name,
            query_from: q.from.or(self.query_from),
            query_to: q.to.or(self.query_to),
            query_subject: q.subject.or(self.query_subject),
            query_text: q.text.or(self.query_text),
            query_ha: q.ha.or(self.query_ha),
            query_size: q.size.or(self.query_size),
            query_list_id: q.list_id,
            action_seen: a.seen.or(self.action_seen),
            action_flag: a.flag.or(self.action_flag),
            action_delete: a.delete.or(self.action_delete),
            action_spam: a.spam.or(self.action_spam),
            action_mailbox,
            // Today's targets replace the list, and with it the older single forward and
            // upload URL, so that the answer's `targets` is exactly what was sent.
            action_forward: if a.targets.is_some() {
                Some(None)
            } else {
                self.action_forward
            },
            action_target_url: if a.targets.is_some() {
                Some(None)
            } else {
                self.action_target_url
            },
            action_targets: a.targets,
            meta_data: self.meta_data,
            disabled: self.disabled,
        })
    }
}

// ---- handlers ----

/// List a user's filters, in the order they run.
#[utoipa::path(
    get,
    path = "/users/{user}/filters",
    tag = "Filters",
    params(("user" = String, Path, description = "User id (24 hex)")),
    responses(
        (status = 200, description = "The filters", body = FilterList),
        (status = 400, description = "Invalid id", body = ErrorBody),
        (status = 404, description = "No such user", body = ErrorBody),
    )
)]
async fn list_filters(State(s): State<AppState>, path: PathArgs) -> ApiResult<Json<FilterList>> {
    let user = path.id("user")?;
    let list = s.core.list_filters(&user).await?;
    let allowed = s.core.allowed_filters(&user).await?;
    Ok(Json(FilterList {
        success: true,
        limits: FilterLimits {
            allowed,
            used: list.len() as i64,
        },
        results: list.into_iter().map(FilterListItem::from).collect(),
    }))
}

/// List the filters of every user, by id.
#[utoipa::path(
    get,
    path = "/filters",
    tag = "Filters",
    params(AllFiltersArgs, PageArgs),
    responses(
        (status = 200, description = "One page of filters", body = AllFiltersList),
        (status = 400, description = "Invalid parameters", body = ErrorBody),
    )
)]
async fn list_all_filters(
    State(s): State<AppState>,
    QueryArgs(q): QueryArgs<AllFiltersArgs>,
    QueryArgs(p): QueryArgs<PageArgs>,
) -> ApiResult<Json<AllFiltersList>> {
    let paging = p.paging()?;
    let with_meta = de::query_bool("metaData", q.meta_data.as_deref())?.unwrap_or(false);
    let page = s
        .core
        .list_all_filters(de::query_str(&q.forward), &paging.request)
        .await?;
    let (previous_cursor, next_cursor) = cursors(&page);
    Ok(Json(AllFiltersList {
        success: true,
        total: page.total,
        page: paging.page,
        previous_cursor,
        next_cursor,
        results: page
            .results
            .into_iter()
            .map(|summary| {
                let user = summary.filter.user.to_string();
                let targets = sealpost_core::filters::engine::targets(&summary.filter);
                let mut filter = FilterListItem::from(summary);
                if !with_meta {
                    filter.meta_data = None;
                }
                AllFiltersItem {
                    filter,
                    user,
                    targets,
                }
            })
            .collect(),
    }))
}

/// Create a filter: at least one `query_*` and one `action_*`.
#[utoipa::path(
    post,
    path = "/users/{user}/filters",
    tag = "Filters",
    params(("user" = String, Path, description = "User id (24 hex)")),
    request_body = FilterRequest,
    responses(
        (status = 200, description = "Created", body = Created),
        (status = 400, description = "Invalid input, or too many filters", body = ErrorBody),
        (status = 404, description = "No such user or mailbox", body = ErrorBody),
    )
)]
async fn create_filter(
    State(s): State<AppState>,
    path: PathArgs,
    JsonBody(body): JsonBody<FilterRequest>,
) -> ApiResult<Json<Created>> {
    let user = path.id("user")?;
    let id = s.core.create_filter(&user, body.into_changes()?).await?;
    Ok(Created::id(id))
}

/// Get one filter.
#[utoipa::path(
    get,
    path = "/users/{user}/filters/{filter}",
    tag = "Filters",
    params(
        ("user" = String, Path, description = "User id (24 hex)"),
        ("filter" = String, Path, description = "Filter id (24 hex)"),
    ),
    responses(
        (status = 200, description = "The filter", body = FilterInfo),
        (status = 400, description = "Invalid id", body = ErrorBody),
        (status = 404, description = "No such filter", body = ErrorBody),
    )
)]
async fn get_filter(State(s): State<AppState>, path: PathArgs) -> ApiResult<Json<FilterInfo>> {
    let (user, filter) = (path.id("user")?, path.id("filter")?);
    Ok(Json(s.core.get_filter(&user, &filter).await?.into()))
}

/// Update a filter: fields left out stay, empty values clear.
#[utoipa::path(
    put,
    path = "/users/{user}/filters/{filter}",
    tag = "Filters",
    params(
        ("user" = String, Path, description = "User id (24 hex)"),
        ("filter" = String, Path, description = "Filter id (24 hex)"),
    ),
    request_body = FilterRequest,
    responses(
        (status = 200, description = "Updated", body = Success),
        (status = 400, description = "Invalid input or no changes", body = ErrorBody),
        (status = 404, description = "No such filter or mailbox", body = ErrorBody),
    )
)]
async fn update_filter(
    State(s): State<AppState>,
    path: PathArgs,
    JsonBody(body): JsonBody<FilterRequest>,
) -> ApiResult<Json<Success>> {
    let (user, filter) = (path.id("user")?, path.id("filter")?);
    s.core
        .update_filter(&user, &filter, body.into_changes()?)
        .await?;
    Ok(Success::ok())
}

/// Delete a filter.
#[utoipa::path(
    delete,
    path = "/users/{user}/filters/{filter}",
    tag = "Filters",
    params(
        ("user" = String, Path, description = "User id (24 hex)"),
        ("filter" = String, Path, description = "Filter id (24 hex)"),
    ),
    responses(
        (status = 200, description = "Deleted", body = Success),
        (status = 400, description = "Invalid id", body = ErrorBody),
        (status = 404, description = "No such filter", body = ErrorBody),
    )
)]
async fn delete_filter(State(s): State<AppState>, path: PathArgs) -> ApiResult<Json<Success>> {
    let (user, filter) = (path.id("user")?, path.id("filter")?);
    s.core.delete_filter(&user, &filter).await?;
    Ok(Success::ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn req(v: Value) -> FilterRequest {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn request_fields_absent_empty_and_set() {
        let r = req(
            json!({"query_from": "abc", "query_to": "", "action_seen": "yes",
            "action_flag": "", "query_size": "-100", "action_targetUrl": "http://x.example/",
            "query_ha": 1}),
        );
        assert_eq!(r.query_from, Some(Some("abc".into())));
        assert_eq!(r.query_to, Some(None));
        assert_eq!(r.query_subject, None);
        assert_eq!(r.action_seen, Some(Some(true)));
        assert_eq!(r.action_flag, Some(None));
        assert_eq!(r.query_size, Some(Some(-100)));
        assert_eq!(r.query_ha, Some(Some(true)));
        assert_eq!(r.action_target_url, Some(Some("http://x.example/".into())));
        assert!(serde_json::from_value::<FilterRequest>(json!({"action_seen": "maybe"})).is_err());
        assert!(serde_json::from_value::<FilterRequest>(json!({"query_size": 1.5})).is_err());
        assert!(serde_json::from_value::<FilterRequest>(json!({"query_from": 5})).is_err());
    }

    #[test]
    fn bad_mailbox_id_is_a_validation_error() {
        let e = req(json!({"action_mailbox": "nope"}))
            .into_changes()
            .unwrap_err();
        assert_eq!(e.status.as_u16(), 400);
        assert_eq!(e.code, "InputValidationError");
    }

    #[test]
    fn filter_info_shows_only_used_fields() {
        let f = FilterRecord {
            id: ObjectId::parse("59759c440e1d676f15e76b5f").unwrap(),
            user: ObjectId::parse("59467f27535f8f0f067ba8e6").unwrap(),
            name: Some("Flag messages from abc".into()),
            query_from: Some("abc".into()),
            action_flag: Some(true),
            action_target_url: Some("https://h.example/".into()),
            created: 1_500_879_940_355,
            ..Default::default()
        };
        assert_eq!(
            serde_json::to_value(FilterInfo::from(f)).unwrap(),
            json!({"success": true, "id": "59759c440e1d676f15e76b5f", "name": "Flag messages from abc",
                   "created": "2017-07-24T07:05:40.355Z", "query_from": "abc", "action_flag": true,
                   "action_targetUrl": "https://h.example/", "disabled": false,
                   "query": {"from": "abc"},
                   "action": {"flag": true, "targets": ["https://h.example/"]}})
        );
    }
}
