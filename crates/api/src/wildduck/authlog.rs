//! `GET /users/{user}/authlog`: the authentication log, newest first, paged; and one entry.

use super::AppState;
use super::error::{ApiResult, ErrorBody};
use super::extract::{PathArgs, QueryArgs};
use super::paging::{PageArgs, cursors};
use super::shape::{CursorOrFalse, iso_date};
use axum::Json;
use axum::extract::State;
use sealpost_core::{AuthLogEntry, AuthLogQuery};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_authlog))
        .routes(routes!(get_authlog_event))
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuthLogArgs {
    /// Only this action, e.g. "create asp" or "authentication".
    pub action: Option<String>,
    /// Only entries of this session identifier.
    pub sess: Option<String>,
    /// Only entries from this IP address.
    pub ip: Option<String>,
}

/// One log entry; fields that were not recorded are left out.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuthLogItem {
    #[schema(example = "59762d2f9c035be17bbb1fdf")]
    pub id: String,
    #[schema(example = "create asp")]
    pub action: String,
    /// "success", "fail", or "throttled" (refused unchecked after too many failures).
    pub result: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub asp: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sess: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
    pub created: String,
    /// The scope a login asked for (WildDuck's name for `scope`).
    #[serde(rename = "requiredScope", skip_serializing_if = "Option::is_none")]
    pub required_scope: Option<String>,
    /// For logins: `master` (the account password) or `asp` (an application password).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<&'static str>,
    /// WildDuck folds repeated events into one entry; here every event is its own entry, so
    /// `last` is `created`, `events` is 1 and the entry takes no more events after it was
    /// made (`expires` = `created`).
    pub last: String,
    pub events: u32,
    pub expires: String,
}

impl From<AuthLogEntry> for AuthLogItem {
    fn from(e: AuthLogEntry) -> Self {
        let created = iso_date(e.created);
        let source = match (&e.asp, e.scope.is_some()) {
            (Some(_), _) => Some("asp"),
            (None, true) => Some("master"),
            (None, false) => None,
        };
        AuthLogItem {
            id: e.id.to_string(),
            action: e.action,
            result: e.result,
            asp: e.asp.map(|a| a.to_string()),
            required_scope: e.scope.clone(),
            scope: e.scope,
            protocol: e.protocol,
            sess: e.sess,
            ip: e.ip,
            source,
            last: created.clone(),
            events: 1,
            expires: created.clone(),
            created,
        }
    }
}

/// `GET /users/{user}/authlog/{event}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuthLogEventResponse {
    pub success: bool,
    #[serde(flatten)]
    pub event: AuthLogItem,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuthLogList {
    pub success: bool,
    pub action: Option<String>,
    pub total: i64,
    pub page: u32,
    pub previous_cursor: CursorOrFalse,
    pub next_cursor: CursorOrFalse,
    pub results: Vec<AuthLogItem>,
}

/// List the authentication log (entries of the last 30 days).
#[utoipa::path(
    get,
    path = "/users/{user}/authlog",
    tag = "Authentication",
    params(("user" = String, Path, description = "User id (24 hex)"), AuthLogArgs, PageArgs),
    responses(
        (status = 200, description = "One page of entries, newest first", body = AuthLogList),
        (status = 400, description = "Invalid parameters", body = ErrorBody),
        (status = 404, description = "No such user", body = ErrorBody),
    )
)]
async fn list_authlog(
    State(s): State<AppState>,
    path: PathArgs,
    QueryArgs(q): QueryArgs<AuthLogArgs>,
    QueryArgs(p): QueryArgs<PageArgs>,
) -> ApiResult<Json<AuthLogList>> {
    let user = path.id("user")?;
    let paging = p.paging()?;
    let query = AuthLogQuery {
        action: q.action.clone(),
        sess: q.sess,
        ip: q.ip,
    };
    let page = s.core.list_authlog(&user, &query, &paging.request).await?;
    let (previous_cursor, next_cursor) = cursors(&page);
    Ok(Json(AuthLogList {
        success: true,
        action: q.action.filter(|a| !a.trim().is_empty()),
        total: page.total,
        page: paging.page,
        previous_cursor,
        next_cursor,
        results: page.results.into_iter().map(AuthLogItem::from).collect(),
    }))
}

/// One entry of the authentication log.
#[utoipa::path(
    get,
    path = "/users/{user}/authlog/{event}",
    tag = "Authentication",
    params(
        ("user" = String, Path, description = "User id (24 hex)"),
        ("event" = String, Path, description = "Entry id (24 hex)"),
    ),
    responses(
        (status = 200, description = "The entry", body = AuthLogEventResponse),
        (status = 400, description = "Invalid parameters", body = ErrorBody),
        (status = 404, description = "No such user or entry", body = ErrorBody),
    )
)]
async fn get_authlog_event(
    State(s): State<AppState>,
    path: PathArgs,
) -> ApiResult<Json<AuthLogEventResponse>> {
    let (user, event) = (path.id("user")?, path.id("event")?);
    let entry = s.core.get_authlog_event(&user, &event).await?;
    Ok(Json(AuthLogEventResponse {
        success: true,
        event: AuthLogItem::from(entry),
    }))
}
