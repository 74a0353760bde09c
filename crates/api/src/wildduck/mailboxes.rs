//! `/users/{user}/mailboxes`: a user's folders.

use super::AppState;
use super::de;
use super::error::{ApiError, ApiResult, ErrorBody};
use super::extract::{JsonBody, PathArgs, QueryArgs};
use super::shape::{Created, Success};
use axum::Json;
use axum::extract::State;
use sealpost_core::MailboxInfo;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_mailboxes, create_mailbox))
        .routes(routes!(get_mailbox, update_mailbox, delete_mailbox))
}

// ---- shapes ----

/// A mailbox in a listing; `total` and `unseen` only with `counters=true`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MailboxItem {
    #[schema(example = "597089f1b3378cd394611284")]
    pub id: String,
    /// Last path segment.
    #[schema(example = "INBOX")]
    pub name: String,
    /// Full path with `/` separators.
    #[schema(example = "INBOX")]
    pub path: String,
    /// `\Drafts`, `\Sent`, `\Trash`, `\Junk`, `\Archive`, or null.
    pub special_use: Option<String>,
    /// Highest modification sequence of the mailbox.
    #[schema(example = 71)]
    pub modify_index: i64,
    pub subscribed: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unseen: Option<i64>,
}

impl MailboxItem {
    fn new(info: MailboxInfo, counters: bool) -> Self {
        let m = info.mailbox;
        MailboxItem {
            id: m.id.to_string(),
            name: m.name().to_string(),
            path: m.path.clone(),
            special_use: m.special_use.clone(),
            modify_index: m.modseq,
            subscribed: m.subscribed,
            total: counters.then(|| info.total.unwrap_or(0)),
            unseen: counters.then(|| info.unseen.unwrap_or(0)),
        }
    }
}

/// `GET /users/{user}/mailboxes`. The list is under `results` with or without counters.
#[derive(Debug, Serialize, ToSchema)]
pub struct MailboxList {
    pub success: bool,
    pub results: Vec<MailboxItem>,
}

/// One mailbox, always with counters.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MailboxDetails {
    pub success: bool,
    pub id: String,
    pub name: String,
    pub path: String,
    pub special_use: Option<String>,
    pub modify_index: i64,
    pub subscribed: bool,
    /// Messages in the mailbox.
    pub total: i64,
    /// Messages without `\Seen`.
    pub unseen: i64,
}

impl From<MailboxInfo> for MailboxDetails {
    fn from(info: MailboxInfo) -> Self {
        let item = MailboxItem::new(info, true);
        MailboxDetails {
            success: true,
            id: item.id,
            name: item.name,
            path: item.path,
            special_use: item.special_use,
            modify_index: item.modify_index,
            subscribed: item.subscribed,
            total: item.total.unwrap_or(0),
            unseen: item.unseen.unwrap_or(0),
        }
    }
}

// ---- requests ----

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MailboxesQuery {
    /// Include `total` and `unseen` counters (true/false, 1/0, yes/no).
    #[param(value_type = Option<bool>)]
    pub counters: Option<String>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(default)]
pub struct CreateMailboxRequest {
    /// Path with `/` separators; missing parents are fine.
    #[schema(required = true, example = "Some parent/Subfolder/My New mailbox")]
    pub path: Option<String>,
    /// Retention of messages stored here, ms.
    #[serde(deserialize_with = "de::opt_count")]
    #[schema(value_type = Option<i64>, minimum = 0)]
    pub retention: Option<i64>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(default)]
pub struct UpdateMailboxRequest {
    /// New path (rename); INBOX cannot be renamed.
    pub path: Option<String>,
    /// New retention, ms; applies to messages stored from now on.
    #[serde(deserialize_with = "de::opt_count")]
    #[schema(value_type = Option<i64>, minimum = 0)]
    pub retention: Option<i64>,
    /// Subscription state.
    #[serde(deserialize_with = "de::opt_bool")]
    #[schema(value_type = Option<bool>)]
    pub subscribed: Option<bool>,
}

fn mailbox_path(path: Option<String>) -> ApiResult<Option<String>> {
    match path {
        None => Ok(None),
        Some(p) if p.trim().is_empty() => Err(ApiError::invalid(
            "path",
            "\"path\" is not allowed to be empty",
        )),
        Some(p) => Ok(Some(p)),
    }
}

// ---- handlers ----

/// List a user's mailboxes.
#[utoipa::path(
    get,
    path = "/users/{user}/mailboxes",
    tag = "Mailboxes",
    params(("user" = String, Path, description = "User id (24 hex)"), MailboxesQuery),
    responses(
        (status = 200, description = "The mailboxes", body = MailboxList),
        (status = 400, description = "Invalid parameters", body = ErrorBody),
        (status = 404, description = "No such user", body = ErrorBody),
    )
)]
async fn list_mailboxes(
    State(s): State<AppState>,
    path: PathArgs,
    QueryArgs(q): QueryArgs<MailboxesQuery>,
) -> ApiResult<Json<MailboxList>> {
    let user = path.id("user")?;
    let counters = de::query_bool("counters", q.counters.as_deref())?.unwrap_or(false);
    let list = s.core.list_mailboxes(&user, counters).await?;
    Ok(Json(MailboxList {
        success: true,
        results: list
            .into_iter()
            .map(|m| MailboxItem::new(m, counters))
            .collect(),
    }))
}

/// Create a mailbox.
#[utoipa::path(
    post,
    path = "/users/{user}/mailboxes",
    tag = "Mailboxes",
    params(("user" = String, Path, description = "User id (24 hex)")),
    request_body = CreateMailboxRequest,
    responses(
        (status = 200, description = "Created", body = Created),
        (status = 400, description = "Invalid input or the mailbox exists", body = ErrorBody),
        (status = 404, description = "No such user", body = ErrorBody),
    )
)]
async fn create_mailbox(
    State(s): State<AppState>,
    path: PathArgs,
    JsonBody(body): JsonBody<CreateMailboxRequest>,
) -> ApiResult<Json<Created>> {
    let user = path.id("user")?;
    let mailbox = mailbox_path(body.path)?
        .ok_or_else(|| ApiError::invalid("path", "\"path\" is required"))?;
    let id = s
        .core
        .create_mailbox(&user, &mailbox, body.retention)
        .await?;
    Ok(Created::id(id))
}

/// Get one mailbox with its counters.
#[utoipa::path(
    get,
    path = "/users/{user}/mailboxes/{mailbox}",
    tag = "Mailboxes",
    params(
        ("user" = String, Path, description = "User id (24 hex)"),
        ("mailbox" = String, Path, description = "Mailbox id (24 hex)"),
    ),
    responses(
        (status = 200, description = "The mailbox", body = MailboxDetails),
        (status = 400, description = "Invalid id", body = ErrorBody),
        (status = 404, description = "No such user or mailbox", body = ErrorBody),
    )
)]
async fn get_mailbox(State(s): State<AppState>, path: PathArgs) -> ApiResult<Json<MailboxDetails>> {
    let (user, mailbox) = (path.id("user")?, path.id("mailbox")?);
    Ok(Json(s.core.get_mailbox(&user, &mailbox).await?.into()))
}

/// Rename a mailbox or change its retention or subscription.
#[utoipa::path(
    put,
    path = "/users/{user}/mailboxes/{mailbox}",
    tag = "Mailboxes",
    params(
        ("user" = String, Path, description = "User id (24 hex)"),
        ("mailbox" = String, Path, description = "Mailbox id (24 hex)"),
    ),
    request_body = UpdateMailboxRequest,
    responses(
        (status = 200, description = "Updated", body = Success),
        (status = 400, description = "Invalid input, the target exists, or INBOX", body = ErrorBody),
        (status = 404, description = "No such user or mailbox", body = ErrorBody),
    )
)]
async fn update_mailbox(
    State(s): State<AppState>,
    path: PathArgs,
    JsonBody(body): JsonBody<UpdateMailboxRequest>,
) -> ApiResult<Json<Success>> {
    let (user, mailbox) = (path.id("user")?, path.id("mailbox")?);
    let new_path = mailbox_path(body.path)?;
    s.core
        .update_mailbox(
            &user,
            &mailbox,
            new_path.as_deref(),
            body.retention,
            body.subscribed,
        )
        .await?;
    Ok(Success::ok())
}

/// Delete a mailbox (not INBOX or a special use one).
#[utoipa::path(
    delete,
    path = "/users/{user}/mailboxes/{mailbox}",
    tag = "Mailboxes",
    params(
        ("user" = String, Path, description = "User id (24 hex)"),
        ("mailbox" = String, Path, description = "Mailbox id (24 hex)"),
    ),
    responses(
        (status = 200, description = "Deleted", body = Success),
        (status = 400, description = "Invalid id, or a mailbox that cannot be deleted", body = ErrorBody),
        (status = 404, description = "No such user or mailbox", body = ErrorBody),
    )
)]
async fn delete_mailbox(State(s): State<AppState>, path: PathArgs) -> ApiResult<Json<Success>> {
    let (user, mailbox) = (path.id("user")?, path.id("mailbox")?);
    s.core.delete_mailbox(&user, &mailbox).await?;
    Ok(Success::ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use sealpost_core::{MailboxRecord, ObjectId};
    use serde_json::json;

    fn info(path: &str, special_use: Option<&str>) -> MailboxInfo {
        MailboxInfo {
            mailbox: MailboxRecord {
                id: ObjectId::parse("597089f1b3378cd394611284").unwrap(),
                user: ObjectId::parse("59467f27535f8f0f067ba8e6").unwrap(),
                path: path.into(),
                special_use: special_use.map(Into::into),
                subscribed: true,
                uid_validity: 1,
                uid_next: 34,
                modseq: 71,
                retention: 0,
                created: 0,
            },
            total: Some(33),
            unseen: Some(8),
            size: Some(1000),
        }
    }

    #[test]
    fn list_items_with_and_without_counters() {
        assert_eq!(
            serde_json::to_value(MailboxItem::new(info("INBOX", None), false)).unwrap(),
            json!({"id": "597089f1b3378cd394611284", "name": "INBOX", "path": "INBOX", "specialUse": null,
                   "modifyIndex": 71, "subscribed": true})
        );
        assert_eq!(
            serde_json::to_value(MailboxItem::new(
                info("Archive/2024", Some("\\Archive")),
                true
            ))
            .unwrap(),
            json!({"id": "597089f1b3378cd394611284", "name": "2024", "path": "Archive/2024",
                   "specialUse": "\\Archive", "modifyIndex": 71, "subscribed": true, "total": 33, "unseen": 8})
        );
    }

    #[test]
    fn details_always_have_counters() {
        let mut i = info("INBOX", None);
        i.total = None;
        i.unseen = None;
        let v = serde_json::to_value(MailboxDetails::from(i)).unwrap();
        assert_eq!(
            (
                v["success"].clone(),
                v["total"].clone(),
                v["unseen"].clone()
            ),
            (json!(true), json!(0), json!(0))
        );
    }
}
