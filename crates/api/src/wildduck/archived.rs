//! The archive: listing a user's deleted messages, reading one, restoring one. Archived
//! message ids are 24 hex strings (they are in no mailbox, so they have no UID).

use super::AppState;
use super::error::{ApiResult, ErrorBody};
use super::extract::{JsonBody, PathArgs, QueryArgs, parse_id};
use super::messages::{AddressJson, MessageDetailsJson, MessageListItem, message_details};
use super::paging::{OrderArg, PageArgs, cursors};
use super::shape::{CursorOrFalse, iso_date};
use axum::Json;
use axum::extract::State;
use sealpost_core::{ArchivedDetails, ArchivedRecord, MessageDetails};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_archived))
        .routes(routes!(get_archived))
        .routes(routes!(restore_archived))
}

/// An archived message in a listing: a mailbox message's fields, `id` the archive id.
#[derive(Debug, Serialize, ToSchema)]
pub struct ArchivedListItem {
    /// Archive id (24 hex).
    #[schema(example = "5a0d7baa221311cf2d8f145e")]
    pub id: String,
    /// The mailbox it was deleted from (it may not exist any more).
    pub mailbox: String,
    pub thread: String,
    pub from: Option<AddressJson>,
    pub subject: String,
    /// Date header (ISO 8601).
    pub date: String,
    /// Time it was stored (ISO 8601).
    pub idate: String,
    /// Time it was deleted (ISO 8601).
    pub archived: String,
    pub intro: String,
    pub attachments: bool,
    pub size: i64,
    pub seen: bool,
    pub deleted: bool,
    pub flagged: bool,
    pub draft: bool,
    pub answered: bool,
}

impl From<ArchivedRecord> for ArchivedListItem {
    fn from(a: ArchivedRecord) -> Self {
        let m = MessageListItem::from(a.message);
        ArchivedListItem {
            id: a.id.to_string(),
            mailbox: m.mailbox,
            thread: m.thread,
            from: m.from,
            subject: m.subject,
            date: m.date,
            idate: m.idate,
            archived: iso_date(a.archived),
            intro: m.intro,
            attachments: m.attachments,
            size: m.size,
            seen: m.seen,
            deleted: m.deleted,
            flagged: m.flagged,
            draft: m.draft,
            answered: m.answered,
        }
    }
}

/// `GET /users/{user}/archived`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ArchivedList {
    pub success: bool,
    pub total: i64,
    pub page: u32,
    pub previous_cursor: CursorOrFalse,
    pub next_cursor: CursorOrFalse,
    /// Always null: the archive is not a mailbox.
    #[schema(value_type = Option<String>)]
    pub special_use: Option<String>,
    pub results: Vec<ArchivedListItem>,
}

/// `POST /users/{user}/archived/{message}/restore`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(default)]
pub struct RestoreRequest {
    /// Mailbox to restore to (24 hex); by default the one it was deleted from, or INBOX
    /// when that one no longer exists.
    pub mailbox: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RestoreResponse {
    pub success: bool,
    /// The mailbox it is back in.
    pub mailbox: String,
    /// Its new UID there.
    pub uid: i64,
}

/// An archived message in full: as a mailbox message, with `id` the archive id and
/// `archived` when it was deleted; `expires` is when it leaves the archive for good.
fn archived_details(user: &sealpost_core::ObjectId, d: ArchivedDetails) -> serde_json::Value {
    let ArchivedDetails { entry, parsed } = d;
    let details = message_details(
        user,
        MessageDetails {
            record: entry.message,
            parsed,
        },
    );
    let mut value = serde_json::to_value(details).unwrap_or_default();
    if let Some(obj) = value.as_object_mut() {
        obj.insert("id".into(), entry.id.to_string().into());
        obj.insert("archived".into(), iso_date(entry.archived).into());
    }
    value
}

#[utoipa::path(
    get,
    path = "/users/{user}/archived",
    tag = "Archive",
    params(("user" = String, Path, description = "User id (24 hex)"), OrderArg, PageArgs),
    responses(
        (status = 200, description = "One page of archived messages, newest first by default", body = ArchivedList),
        (status = 400, description = "Invalid parameters", body = ErrorBody),
        (status = 404, description = "No such user", body = ErrorBody),
    )
)]
async fn list_archived(
    State(s): State<AppState>,
    path: PathArgs,
    QueryArgs(o): QueryArgs<OrderArg>,
    QueryArgs(p): QueryArgs<PageArgs>,
) -> ApiResult<Json<ArchivedList>> {
    let user = path.id("user")?;
    let (order, paging) = (o.order()?, p.paging()?);
    let page = s.core.list_archived(&user, order, &paging.request).await?;
    let (previous_cursor, next_cursor) = cursors(&page);
    Ok(Json(ArchivedList {
        success: true,
        total: page.total,
        page: paging.page,
        previous_cursor,
        next_cursor,
        special_use: None,
        results: page
            .results
            .into_iter()
            .map(ArchivedListItem::from)
            .collect(),
    }))
}

#[utoipa::path(
    get,
    path = "/users/{user}/archived/{message}",
    tag = "Archive",
    params(
        ("user" = String, Path, description = "User id (24 hex)"),
        ("message" = String, Path, description = "Archived message id (24 hex)"),
    ),
    responses(
        (status = 200, description = "The message, as a mailbox message's details with `id` the archive id (24 hex) and `archived` the time it was deleted", body = MessageDetailsJson),
        (status = 400, description = "Invalid id", body = ErrorBody),
        (status = 404, description = "No such user or archived message", body = ErrorBody),
    )
)]
async fn get_archived(
    State(s): State<AppState>,
    path: PathArgs,
) -> ApiResult<Json<serde_json::Value>> {
    let (user, id) = (path.id("user")?, path.id("message")?);
    let details = s.core.get_archived(&user, &id).await?;
    Ok(Json(archived_details(&user, details)))
}

#[utoipa::path(
    post,
    path = "/users/{user}/archived/{message}/restore",
    tag = "Archive",
    params(
        ("user" = String, Path, description = "User id (24 hex)"),
        ("message" = String, Path, description = "Archived message id (24 hex)"),
    ),
    request_body = RestoreRequest,
    responses(
        (status = 200, description = "Restored: the mailbox and the new UID", body = RestoreResponse),
        (status = 400, description = "Invalid input", body = ErrorBody),
        (status = 403, description = "Over quota (`OverQuotaError`)", body = ErrorBody),
        (status = 404, description = "No such user, archived message or mailbox", body = ErrorBody),
    )
)]
async fn restore_archived(
    State(s): State<AppState>,
    path: PathArgs,
    JsonBody(body): JsonBody<RestoreRequest>,
) -> ApiResult<Json<RestoreResponse>> {
    let (user, id) = (path.id("user")?, path.id("message")?);
    let mailbox = match body
        .mailbox
        .as_deref()
        .map(str::trim)
        .filter(|m| !m.is_empty())
    {
        Some(m) => Some(parse_id("mailbox", m)?),
        None => None,
    };
    let stored = s
        .core
        .restore_archived(&user, &id, mailbox.as_ref())
        .await?;
    Ok(Json(RestoreResponse {
        success: true,
        mailbox: stored.mailbox.to_string(),
        uid: stored.uid,
    }))
}
