//! Messages: listing a mailbox, flagged messages and search across the account, one message's
//! details, its source and attachments, flag changes and moves, deletion, and raw uploads.
//! Message ids are the IMAP UIDs of their mailbox.

use super::AppState;
use super::de::{self, parse_date};
use super::error::{ApiError, ApiResult, ErrorBody};
use super::extract::{
    BodyKind, JsonBody, PathArgs, QueryArgs, body_kind, parse_id, parse_json, read_body,
};
use super::paging::{OrderArg, PageArgs, cursors};
use super::shape::{Binary, CursorOrFalse, DateOrFalse, Success, iso_date};
use axum::Json;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use sealpost_core::mime::{Addr, Attachment, ParsedMessage};
use sealpost_core::{
    Flags, MessageDetails, MessageRecord, MessageUpdate, Millis, ObjectId, UploadOptions,
};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_messages, upload_message))
        .routes(routes!(get_message, update_messages, delete_message))
        .routes(routes!(get_message_source))
        .routes(routes!(get_attachment))
        .routes(routes!(list_flagged))
        .routes(routes!(search_messages))
}

// ---- shapes ----

/// A mailbox address: display name and address.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct AddressJson {
    #[schema(example = "sender@example.com")]
    pub address: String,
    #[schema(example = "Sender Name")]
    pub name: String,
}

impl From<&Addr> for AddressJson {
    fn from(a: &Addr) -> Self {
        AddressJson {
            address: a.address.clone(),
            name: a.name.clone(),
        }
    }
}

fn addresses(list: &[Addr]) -> Vec<AddressJson> {
    list.iter().map(AddressJson::from).collect()
}

/// A message in a listing.
#[derive(Debug, Serialize, ToSchema)]
pub struct MessageListItem {
    /// UID of the message in its mailbox.
    #[schema(example = 444)]
    pub id: i64,
    /// Mailbox id.
    pub mailbox: String,
    /// Thread id.
    pub thread: String,
    /// Sender, null when the message has none.
    pub from: Option<AddressJson>,
    pub subject: String,
    /// Date header (ISO 8601).
    #[schema(example = "2011-11-02T19:19:08.000Z")]
    pub date: String,
    /// Time the message was stored (ISO 8601).
    pub idate: String,
    /// The beginning of the text.
    pub intro: String,
    /// Whether the message has attachments.
    pub attachments: bool,
    /// Size in bytes.
    pub size: i64,
    pub seen: bool,
    pub deleted: bool,
    pub flagged: bool,
    pub draft: bool,
    pub answered: bool,
}

impl From<MessageRecord> for MessageListItem {
    fn from(m: MessageRecord) -> Self {
        let from = (!m.from_address.is_empty() || !m.from_name.is_empty()).then_some(AddressJson {
            address: m.from_address,
            name: m.from_name,
        });
        MessageListItem {
            id: m.uid,
            mailbox: m.mailbox.to_string(),
            thread: m.thread.to_string(),
            from,
            subject: m.subject,
            date: iso_date(m.hdate),
            idate: iso_date(m.idate),
            intro: m.intro,
            attachments: m.has_attachments,
            size: m.size,
            seen: m.flags.seen,
            deleted: m.flags.deleted,
            flagged: m.flags.flagged,
            draft: m.flags.draft,
            answered: m.flags.answered,
        }
    }
}

fn items(results: Vec<MessageRecord>) -> Vec<MessageListItem> {
    results.into_iter().map(MessageListItem::from).collect()
}

/// `GET /users/{user}/mailboxes/{mailbox}/messages`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MessageList {
    pub success: bool,
    pub total: i64,
    pub page: u32,
    pub previous_cursor: CursorOrFalse,
    pub next_cursor: CursorOrFalse,
    /// Special use of the mailbox listed, or null.
    pub special_use: Option<String>,
    pub results: Vec<MessageListItem>,
}

/// `GET /users/{user}/flagged`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FlaggedList {
    pub success: bool,
    pub total: i64,
    pub page: u32,
    pub previous_cursor: CursorOrFalse,
    pub next_cursor: CursorOrFalse,
    pub results: Vec<MessageListItem>,
}

/// `GET /users/{user}/search`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SearchList {
    pub success: bool,
    /// The `query` argument, echoed.
    pub query: String,
    pub total: i64,
    pub page: u32,
    pub previous_cursor: CursorOrFalse,
    pub next_cursor: CursorOrFalse,
    pub results: Vec<MessageListItem>,
}

/// An attachment of a message.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AttachmentJson {
    /// Id to download it with, e.g. `ATT00001`.
    #[schema(example = "ATT00001")]
    pub id: String,
    pub filename: Option<String>,
    #[schema(example = "image/png")]
    pub content_type: String,
    /// `attachment` or `inline`.
    pub disposition: String,
    /// Content-Transfer-Encoding of the part.
    pub transfer_encoding: String,
    /// Embedded in the HTML body (referenced by `cid:`).
    pub related: bool,
    /// Approximate decoded size in kB, rounded up.
    pub size_kb: u64,
}

fn attachment_json(a: &Attachment, html: &[String]) -> AttachmentJson {
    let related = a.cid.as_deref().is_some_and(|cid| {
        let needle = format!("cid:{cid}");
        html.iter().any(|h| h.contains(&needle))
    });
    AttachmentJson {
        id: a.id.clone(),
        filename: a.filename.clone(),
        content_type: a.content_type.clone(),
        disposition: a.disposition.clone(),
        transfer_encoding: a.transfer_encoding.clone(),
        related,
        size_kb: a.size.div_ceil(1024),
    }
}

/// The top-level Content-Type of a message.
#[derive(Debug, Serialize, ToSchema)]
pub struct ContentTypeJson {
    #[schema(example = "multipart/mixed")]
    pub value: String,
    pub params: BTreeMap<String, String>,
}

fn content_type(parsed: &ParsedMessage) -> ContentTypeJson {
    let body = &parsed.body;
    let value = if body.content_type.is_empty() {
        "text/plain".to_string()
    } else {
        format!("{}/{}", body.content_type, body.subtype)
    };
    ContentTypeJson {
        value,
        params: body.params.iter().cloned().collect(),
    }
}

/// One message in full.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MessageDetailsJson {
    pub success: bool,
    #[schema(example = 444)]
    pub id: i64,
    pub mailbox: String,
    pub thread: String,
    /// Owner's user id.
    pub user: String,
    pub from: Option<AddressJson>,
    pub to: Vec<AddressJson>,
    pub cc: Vec<AddressJson>,
    pub bcc: Vec<AddressJson>,
    pub reply_to: Vec<AddressJson>,
    pub subject: String,
    /// Message-ID header with angle brackets, "" when none.
    #[schema(example = "<FA472D2A-092E-44BC-9D38-AFACE48AB98E@example.com>")]
    pub message_id: String,
    /// Date header (ISO 8601).
    pub date: String,
    /// Time stored (ISO 8601).
    pub idate: String,
    pub size: i64,
    pub seen: bool,
    pub deleted: bool,
    pub flagged: bool,
    pub draft: bool,
    pub answered: bool,
    /// When the message will be deleted automatically, `false` when never.
    pub expires: DateOrFalse,
    /// HTML bodies, one string per HTML part.
    pub html: Vec<String>,
    /// Plain text body.
    pub text: String,
    pub attachments: Vec<AttachmentJson>,
    pub content_type: ContentTypeJson,
}

pub(super) fn message_details(user: &ObjectId, details: MessageDetails) -> MessageDetailsJson {
    let MessageDetails { record: m, parsed } = details;
    let from = parsed
        .from
        .as_ref()
        .or(parsed.sender.as_ref())
        .map(AddressJson::from)
        .or_else(|| {
            (!m.from_address.is_empty()).then(|| AddressJson {
                address: m.from_address.clone(),
                name: m.from_name.clone(),
            })
        });
    let subject = if parsed.subject.is_empty() {
        m.subject.clone()
    } else {
        parsed.subject.clone()
    };
    MessageDetailsJson {
        success: true,
        id: m.uid,
        mailbox: m.mailbox.to_string(),
        thread: m.thread.to_string(),
        user: user.to_string(),
        from,
        to: addresses(&parsed.to),
        cc: addresses(&parsed.cc),
        bcc: addresses(&parsed.bcc),
        reply_to: addresses(&parsed.reply_to),
        subject,
        message_id: parsed
            .message_id
            .clone()
            .unwrap_or_else(|| m.message_id.clone()),
        date: iso_date(parsed.date.unwrap_or(m.hdate)),
        idate: iso_date(m.idate),
        size: m.size,
        seen: m.flags.seen,
        deleted: m.flags.deleted,
        flagged: m.flags.flagged,
        draft: m.flags.draft,
        answered: m.flags.answered,
        expires: DateOrFalse(m.expires.map(iso_date)),
        attachments: parsed
            .attachments
            .iter()
            .map(|a| attachment_json(a, &parsed.html))
            .collect(),
        content_type: content_type(&parsed),
        html: parsed.html,
        text: parsed.text,
    }
}

/// `PUT .../messages/{message}`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(default, rename_all = "camelCase")]
pub struct UpdateMessageRequest {
    /// Move the messages to this mailbox (24 hex id).
    pub move_to: Option<String>,
    #[serde(deserialize_with = "de::opt_bool")]
    #[schema(value_type = Option<bool>)]
    pub seen: Option<bool>,
    #[serde(deserialize_with = "de::opt_bool")]
    #[schema(value_type = Option<bool>)]
    pub flagged: Option<bool>,
    #[serde(deserialize_with = "de::opt_bool")]
    #[schema(value_type = Option<bool>)]
    pub draft: Option<bool>,
    /// The IMAP `\Deleted` flag.
    #[serde(deserialize_with = "de::opt_bool")]
    #[schema(value_type = Option<bool>)]
    pub deleted: Option<bool>,
    /// A date (ISO 8601, RFC 2822 or Unix ms) to delete the message at, or `false` to keep it.
    #[serde(deserialize_with = "de::opt_expires")]
    #[schema(value_type = Option<String>)]
    pub expires: Option<Option<Millis>>,
}

impl UpdateMessageRequest {
    fn into_update(self) -> ApiResult<MessageUpdate> {
        let move_to = match self
            .move_to
            .as_deref()
            .map(str::trim)
            .filter(|m| !m.is_empty())
        {
            Some(id) => Some(parse_id("moveTo", id)?),
            None => None,
        };
        Ok(MessageUpdate {
            seen: self.seen,
            flagged: self.flagged,
            draft: self.draft,
            deleted: self.deleted,
            expires: self.expires,
            move_to,
        })
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UpdateMessagesResponse {
    pub success: bool,
    /// How many messages matched and were updated.
    pub updated: u64,
    /// Destination mailbox, when moved.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mailbox: Option<String>,
    /// `[old UID, new UID]` pairs, when moved.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Vec<Vec<i64>>>)]
    pub id: Option<Vec<(i64, i64)>>,
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SearchQuery {
    /// Text to search for (required).
    pub query: Option<String>,
}

/// Upload options in the query string.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UploadQuery {
    /// Store without `\Seen` (default false: the message is stored as seen).
    #[param(value_type = Option<bool>)]
    pub unseen: Option<String>,
    /// Store with `\Flagged`.
    #[param(value_type = Option<bool>)]
    pub flagged: Option<String>,
    /// Store with `\Draft`.
    #[param(value_type = Option<bool>)]
    pub draft: Option<String>,
    /// Internal date: ISO 8601, RFC 2822 or Unix ms (default now).
    pub date: Option<String>,
}

/// An upload as JSON instead of a raw body.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(default)]
pub struct UploadJson {
    /// The RFC 822 message source.
    #[schema(required = true)]
    pub raw: Option<String>,
    #[serde(deserialize_with = "de::opt_bool")]
    #[schema(value_type = Option<bool>)]
    pub unseen: Option<bool>,
    #[serde(deserialize_with = "de::opt_bool")]
    #[schema(value_type = Option<bool>)]
    pub flagged: Option<bool>,
    #[serde(deserialize_with = "de::opt_bool")]
    #[schema(value_type = Option<bool>)]
    pub draft: Option<bool>,
    pub date: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UploadedMessage {
    /// UID of the stored message.
    pub id: i64,
    /// Mailbox id.
    pub mailbox: String,
    /// Size in bytes.
    pub size: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UploadResponse {
    pub success: bool,
    pub message: UploadedMessage,
}

/// Reads the upload: raw bytes with the query's options, or JSON `{raw, ...}` whose fields win
/// over the query's.
fn upload_options(q: UploadQuery, json: Option<&UploadJson>) -> ApiResult<UploadOptions> {
    let pick = |from_json: Option<bool>, field: &str, query: Option<&str>| -> ApiResult<bool> {
        Ok(match from_json {
            Some(v) => v,
            None => de::query_bool(field, query)?.unwrap_or(false),
        })
    };
    let unseen = pick(json.and_then(|j| j.unseen), "unseen", q.unseen.as_deref())?;
    let flagged = pick(
        json.and_then(|j| j.flagged),
        "flagged",
        q.flagged.as_deref(),
    )?;
    let draft = pick(json.and_then(|j| j.draft), "draft", q.draft.as_deref())?;
    let date = json.and_then(|j| j.date.clone()).or(q.date);
    let date = match date.as_deref().map(str::trim).filter(|d| !d.is_empty()) {
        None => None,
        Some(d) => Some(
            parse_date(d)
                .ok_or_else(|| ApiError::invalid("date", "\"date\" must be a valid date"))?,
        ),
    };
    Ok(UploadOptions {
        flags: Flags {
            seen: !unseen,
            flagged,
            draft,
            ..Flags::default()
        },
        date,
    })
}

/// `Content-Disposition` for a download: an ASCII fallback name plus the UTF-8 one (RFC 6266).
fn content_disposition(filename: &str) -> HeaderValue {
    let ascii: String = filename
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let mut value = format!("attachment; filename=\"{ascii}\"");
    if !filename.is_ascii() || ascii != filename {
        let encoded: String = filename
            .bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&b) {
                    (b as char).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect();
        value.push_str(&format!("; filename*=UTF-8''{encoded}"));
    }
    HeaderValue::from_str(&value).unwrap_or_else(|_| HeaderValue::from_static("attachment"))
}

// ---- handlers ----

/// List the messages of a mailbox.
#[utoipa::path(
    get,
    path = "/users/{user}/mailboxes/{mailbox}/messages",
    tag = "Messages",
    params(
        ("user" = String, Path, description = "User id (24 hex)"),
        ("mailbox" = String, Path, description = "Mailbox id (24 hex)"),
        OrderArg,
        PageArgs,
    ),
    responses(
        (status = 200, description = "One page of messages", body = MessageList),
        (status = 400, description = "Invalid parameters", body = ErrorBody),
        (status = 404, description = "No such user or mailbox", body = ErrorBody),
    )
)]
async fn list_messages(
    State(s): State<AppState>,
    path: PathArgs,
    QueryArgs(o): QueryArgs<OrderArg>,
    QueryArgs(p): QueryArgs<PageArgs>,
) -> ApiResult<Json<MessageList>> {
    let (user, mailbox) = (path.id("user")?, path.id("mailbox")?);
    let (order, paging) = (o.order()?, p.paging()?);
    let page = s
        .core
        .list_messages(&user, &mailbox, order, &paging.request)
        .await?;
    let special_use = s.core.mailbox_record(&user, &mailbox).await?.special_use;
    let (previous_cursor, next_cursor) = cursors(&page);
    Ok(Json(MessageList {
        success: true,
        total: page.total,
        page: paging.page,
        previous_cursor,
        next_cursor,
        special_use,
        results: items(page.results),
    }))
}

/// Upload a raw RFC 822 message into a mailbox.
#[utoipa::path(
    post,
    path = "/users/{user}/mailboxes/{mailbox}/messages",
    tag = "Messages",
    params(
        ("user" = String, Path, description = "User id (24 hex)"),
        ("mailbox" = String, Path, description = "Mailbox id (24 hex)"),
        UploadQuery,
    ),
    request_body(
        description = "The raw message (`message/rfc822`, `application/octet-stream` or `text/plain`), or JSON `{raw, unseen, flagged, draft, date}`",
        content((Binary = "message/rfc822"), (Binary = "application/octet-stream"), (UploadJson = "application/json")),
    ),
    responses(
        (status = 200, description = "Stored", body = UploadResponse),
        (status = 400, description = "Invalid parameters or not a message", body = ErrorBody),
        (status = 403, description = "Over quota (`OverQuotaError`)", body = ErrorBody),
        (status = 404, description = "No such user or mailbox", body = ErrorBody),
        (status = 413, description = "Message too large", body = ErrorBody),
        (status = 415, description = "Unsupported Content-Type", body = ErrorBody),
    )
)]
async fn upload_message(
    State(s): State<AppState>,
    path: PathArgs,
    QueryArgs(q): QueryArgs<UploadQuery>,
    req: Request,
) -> ApiResult<Json<UploadResponse>> {
    let (user, mailbox) = (path.id("user")?, path.id("mailbox")?);
    let kind = body_kind(req.headers());
    if kind == BodyKind::Other {
        return Err(ApiError::unsupported_media_type(
            "Expected a raw message (message/rfc822, application/octet-stream, text/plain) or application/json",
        ));
    }
    let body = read_body(req.into_body(), s.max_body).await?;
    let (raw, options) = if kind == BodyKind::Json {
        let json: UploadJson = parse_json(&body)?;
        drop(body);
        let options = upload_options(q, Some(&json))?;
        let raw = json
            .raw
            .filter(|r| !r.is_empty())
            .ok_or_else(|| ApiError::invalid("raw", "\"raw\" is required"))?;
        (raw.into_bytes(), options)
    } else {
        (body, upload_options(q, None)?)
    };
    let stored = s.core.upload_message(&user, &mailbox, raw, options).await?;
    Ok(Json(UploadResponse {
        success: true,
        message: UploadedMessage {
            id: stored.uid,
            mailbox: stored.mailbox.to_string(),
            size: stored.size,
        },
    }))
}

/// Get one message with its parsed content.
#[utoipa::path(
    get,
    path = "/users/{user}/mailboxes/{mailbox}/messages/{message}",
    tag = "Messages",
    params(
        ("user" = String, Path, description = "User id (24 hex)"),
        ("mailbox" = String, Path, description = "Mailbox id (24 hex)"),
        ("message" = i64, Path, description = "Message UID"),
    ),
    responses(
        (status = 200, description = "The message", body = MessageDetailsJson),
        (status = 400, description = "Invalid id", body = ErrorBody),
        (status = 404, description = "No such user, mailbox or message", body = ErrorBody),
    )
)]
async fn get_message(
    State(s): State<AppState>,
    path: PathArgs,
) -> ApiResult<Json<MessageDetailsJson>> {
    let (user, mailbox, uid) = (path.id("user")?, path.id("mailbox")?, path.uid("message")?);
    let details = s.core.get_message(&user, &mailbox, uid).await?;
    Ok(Json(message_details(&user, details)))
}

/// Change flags or expiry of messages, or move them. `message` is one UID, a comma separated
/// list (`444,445`) or a range (`444:446`).
#[utoipa::path(
    put,
    path = "/users/{user}/mailboxes/{mailbox}/messages/{message}",
    tag = "Messages",
    params(
        ("user" = String, Path, description = "User id (24 hex)"),
        ("mailbox" = String, Path, description = "Mailbox id (24 hex)"),
        ("message" = String, Path, description = "UID, comma separated UIDs, or a range `444:446`"),
    ),
    request_body = UpdateMessageRequest,
    responses(
        (status = 200, description = "Updated (or moved)", body = UpdateMessagesResponse),
        (status = 400, description = "Invalid input", body = ErrorBody),
        (status = 404, description = "No such user, mailbox or message", body = ErrorBody),
    )
)]
async fn update_messages(
    State(s): State<AppState>,
    path: PathArgs,
    JsonBody(body): JsonBody<UpdateMessageRequest>,
) -> ApiResult<Json<UpdateMessagesResponse>> {
    let (user, mailbox, selector) = (path.id("user")?, path.id("mailbox")?, path.uids("message")?);
    let update = body.into_update()?;
    let result = s
        .core
        .update_messages(&user, &mailbox, &selector, update)
        .await?;
    Ok(Json(UpdateMessagesResponse {
        success: true,
        updated: result.updated,
        id: result.destination.is_some().then_some(result.moved),
        mailbox: result.destination.map(|d| d.to_string()),
    }))
}

/// Delete a message for good.
#[utoipa::path(
    delete,
    path = "/users/{user}/mailboxes/{mailbox}/messages/{message}",
    tag = "Messages",
    params(
        ("user" = String, Path, description = "User id (24 hex)"),
        ("mailbox" = String, Path, description = "Mailbox id (24 hex)"),
        ("message" = i64, Path, description = "Message UID"),
    ),
    responses(
        (status = 200, description = "Deleted", body = Success),
        (status = 400, description = "Invalid id", body = ErrorBody),
        (status = 404, description = "No such user, mailbox or message", body = ErrorBody),
    )
)]
async fn delete_message(State(s): State<AppState>, path: PathArgs) -> ApiResult<Json<Success>> {
    let (user, mailbox, uid) = (path.id("user")?, path.id("mailbox")?, path.uid("message")?);
    s.core.delete_message(&user, &mailbox, uid).await?;
    Ok(Success::ok())
}

/// Header carrying a Guard `auth` token (or the `guardAuth` query argument).
const GUARD_AUTH_HEADER: &str = "x-guard-auth";

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(default, rename_all = "camelCase")]
pub struct SourceQuery {
    /// A Guard `auth` token (from `/guard/login/login` with `ox_password`): the source of an
    /// OpenPGP-encrypted message is returned decrypted.
    pub guard_auth: Option<String>,
}

/// The raw message source, byte for byte; decrypted with a Guard `auth` token
/// (`guardAuth` or the `X-Guard-Auth` header).
#[utoipa::path(
    get,
    path = "/users/{user}/mailboxes/{mailbox}/messages/{message}/message.eml",
    tag = "Messages",
    params(
        ("user" = String, Path, description = "User id (24 hex)"),
        ("mailbox" = String, Path, description = "Mailbox id (24 hex)"),
        ("message" = i64, Path, description = "Message UID"),
        SourceQuery,
    ),
    responses(
        (status = 200, description = "RFC 822 source", body = Binary, content_type = "message/rfc822"),
        (status = 400, description = "Invalid id", body = ErrorBody),
        (status = 404, description = "No such user, mailbox or message", body = ErrorBody),
    )
)]
async fn get_message_source(
    State(s): State<AppState>,
    path: PathArgs,
    QueryArgs(q): QueryArgs<SourceQuery>,
    headers: axum::http::HeaderMap,
) -> ApiResult<Response> {
    let (user, mailbox, uid) = (path.id("user")?, path.id("mailbox")?, path.uid("message")?);
    let guard_auth = q.guard_auth.filter(|a| !a.is_empty()).or_else(|| {
        headers
            .get(GUARD_AUTH_HEADER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    });
    let raw = match guard_auth {
        Some(auth) => {
            s.core
                .guard_message_source(&user, &mailbox, uid, &auth)
                .await?
        }
        None => s.core.get_message_source(&user, &mailbox, uid).await?,
    };
    Ok((
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("message/rfc822"),
        )],
        raw,
    )
        .into_response())
}

/// Download an attachment, decoded.
#[utoipa::path(
    get,
    path = "/users/{user}/mailboxes/{mailbox}/messages/{message}/attachments/{attachment}",
    tag = "Messages",
    params(
        ("user" = String, Path, description = "User id (24 hex)"),
        ("mailbox" = String, Path, description = "Mailbox id (24 hex)"),
        ("message" = i64, Path, description = "Message UID"),
        ("attachment" = String, Path, description = "Attachment id, e.g. ATT00001"),
    ),
    responses(
        (status = 200, description = "The attachment, with its own Content-Type", body = Binary, content_type = "application/octet-stream"),
        (status = 400, description = "Invalid id", body = ErrorBody),
        (status = 404, description = "No such user, mailbox, message or attachment", body = ErrorBody),
    )
)]
async fn get_attachment(State(s): State<AppState>, path: PathArgs) -> ApiResult<Response> {
    let (user, mailbox, uid) = (path.id("user")?, path.id("mailbox")?, path.uid("message")?);
    let attachment = path.attachment("attachment")?;
    let data = s
        .core
        .get_attachment(&user, &mailbox, uid, &attachment)
        .await?;
    let content_type = HeaderValue::from_str(data.content_type.trim())
        .unwrap_or_else(|_| HeaderValue::from_static("application/octet-stream"));
    let filename = data
        .filename
        .as_deref()
        .filter(|f| !f.trim().is_empty())
        .unwrap_or(&attachment);
    Ok((
        [
            (header::CONTENT_TYPE, content_type),
            (header::CONTENT_DISPOSITION, content_disposition(filename)),
            (
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ),
        ],
        data.content,
    )
        .into_response())
}

/// Flagged messages of the whole account (Trash and Junk excluded).
#[utoipa::path(
    get,
    path = "/users/{user}/flagged",
    tag = "Messages",
    params(("user" = String, Path, description = "User id (24 hex)"), OrderArg, PageArgs),
    responses(
        (status = 200, description = "One page of flagged messages", body = FlaggedList),
        (status = 400, description = "Invalid parameters", body = ErrorBody),
        (status = 404, description = "No such user", body = ErrorBody),
    )
)]
async fn list_flagged(
    State(s): State<AppState>,
    path: PathArgs,
    QueryArgs(o): QueryArgs<OrderArg>,
    QueryArgs(p): QueryArgs<PageArgs>,
) -> ApiResult<Json<FlaggedList>> {
    let user = path.id("user")?;
    let (order, paging) = (o.order()?, p.paging()?);
    let page = s.core.list_flagged(&user, order, &paging.request).await?;
    let (previous_cursor, next_cursor) = cursors(&page);
    Ok(Json(FlaggedList {
        success: true,
        total: page.total,
        page: paging.page,
        previous_cursor,
        next_cursor,
        results: items(page.results),
    }))
}

/// Full-text search over the whole account (Trash and Junk excluded).
#[utoipa::path(
    get,
    path = "/users/{user}/search",
    tag = "Messages",
    params(("user" = String, Path, description = "User id (24 hex)"), SearchQuery, PageArgs),
    responses(
        (status = 200, description = "One page of matches", body = SearchList),
        (status = 400, description = "Invalid parameters", body = ErrorBody),
        (status = 404, description = "No such user", body = ErrorBody),
    )
)]
async fn search_messages(
    State(s): State<AppState>,
    path: PathArgs,
    QueryArgs(q): QueryArgs<SearchQuery>,
    QueryArgs(p): QueryArgs<PageArgs>,
) -> ApiResult<Json<SearchList>> {
    let user = path.id("user")?;
    let paging = p.paging()?;
    let query = de::query_str(&q.query)
        .ok_or_else(|| ApiError::invalid("query", "\"query\" is required"))?;
    let page = s
        .core
        .search_messages(&user, query, &paging.request)
        .await?;
    let (previous_cursor, next_cursor) = cursors(&page);
    Ok(Json(SearchList {
        success: true,
        query: query.to_string(),
        total: page.total,
        page: paging.page,
        previous_cursor,
        next_cursor,
        results: items(page.results),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use sealpost_core::mime::Part;
    use serde_json::json;

    fn id(s: &str) -> ObjectId {
        ObjectId::parse(s).unwrap()
    }

    fn record() -> MessageRecord {
        MessageRecord {
            mailbox: id("59467f27535f8f0f067ba8e6"),
            uid: 444,
            modseq: 5,
            thread: id("5971da7754cfdc7f0983bbde"),
            blob: "abc".into(),
            size: 1234,
            idate: 1_320_261_548_000,
            hdate: 1_320_261_548_000,
            subject: "Subject line".into(),
            from_name: "Sender Name".into(),
            from_address: "sender@example.com".into(),
            message_id: "<a@b>".into(),
            intro: "Beginning text".into(),
            has_attachments: false,
            flags: Flags {
                seen: true,
                ..Flags::default()
            },
            expires: None,
        }
    }

    #[test]
    fn list_item_shape() {
        assert_eq!(
            serde_json::to_value(MessageListItem::from(record())).unwrap(),
            json!({
                "id": 444, "mailbox": "59467f27535f8f0f067ba8e6", "thread": "5971da7754cfdc7f0983bbde",
                "from": {"address": "sender@example.com", "name": "Sender Name"},
                "subject": "Subject line", "date": "2011-11-02T19:19:08.000Z", "idate": "2011-11-02T19:19:08.000Z",
                "intro": "Beginning text", "attachments": false, "size": 1234,
                "seen": true, "deleted": false, "flagged": false, "draft": false, "answered": false
            })
        );
        let mut r = record();
        r.from_address.clear();
        r.from_name.clear();
        assert_eq!(
            serde_json::to_value(MessageListItem::from(r)).unwrap()["from"],
            json!(null)
        );
    }

    #[test]
    fn details_shape() {
        let parsed = ParsedMessage {
            subject: "Subject line".into(),
            from: Some(Addr {
                name: "Sender Name".into(),
                address: "sender@example.com".into(),
            }),
            to: vec![Addr {
                name: "Test User".into(),
                address: "testuser@example.com".into(),
            }],
            message_id: Some("<FA47@example.com>".into()),
            date: Some(1_320_261_548_000),
            html: vec!["<p>Hi <img src=\"cid:logo@x\"></p>".into()],
            text: "Hi".into(),
            body: Part {
                content_type: "multipart".into(),
                subtype: "related".into(),
                params: vec![("boundary".into(), "xyz".into())],
                ..Part::default()
            },
            attachments: vec![
                Attachment {
                    id: "ATT00001".into(),
                    filename: Some("logo.png".into()),
                    content_type: "image/png".into(),
                    disposition: "inline".into(),
                    transfer_encoding: "base64".into(),
                    cid: Some("logo@x".into()),
                    size: 2049,
                    part: "2".into(),
                },
                Attachment {
                    id: "ATT00002".into(),
                    filename: None,
                    content_type: "application/pdf".into(),
                    disposition: "attachment".into(),
                    transfer_encoding: "base64".into(),
                    cid: None,
                    size: 10,
                    part: "3".into(),
                },
            ],
            ..ParsedMessage::default()
        };
        let mut rec = record();
        rec.expires = Some(1_500_290_103_841);
        let v = serde_json::to_value(message_details(
            &id("5971da1754cfdc7f0983b2ec"),
            MessageDetails {
                record: rec,
                parsed,
            },
        ))
        .unwrap();
        assert_eq!(v["success"], true);
        assert_eq!(v["id"], 444);
        assert_eq!(v["user"], "5971da1754cfdc7f0983b2ec");
        assert_eq!(
            v["from"],
            json!({"address": "sender@example.com", "name": "Sender Name"})
        );
        assert_eq!(
            v["to"],
            json!([{"address": "testuser@example.com", "name": "Test User"}])
        );
        assert_eq!(v["cc"], json!([]));
        assert_eq!(v["replyTo"], json!([]));
        assert_eq!(v["messageId"], "<FA47@example.com>");
        assert_eq!(v["date"], "2011-11-02T19:19:08.000Z");
        assert_eq!(v["expires"], "2017-07-17T11:15:03.841Z");
        assert_eq!(v["html"], json!(["<p>Hi <img src=\"cid:logo@x\"></p>"]));
        assert_eq!(v["text"], "Hi");
        assert_eq!(
            v["contentType"],
            json!({"value": "multipart/related", "params": {"boundary": "xyz"}})
        );
        assert_eq!(
            v["attachments"],
            json!([
                {"id": "ATT00001", "filename": "logo.png", "contentType": "image/png", "disposition": "inline",
                 "transferEncoding": "base64", "related": true, "sizeKb": 3},
                {"id": "ATT00002", "filename": null, "contentType": "application/pdf", "disposition": "attachment",
                 "transferEncoding": "base64", "related": false, "sizeKb": 1}
            ])
        );
        for key in [
            "seen", "deleted", "flagged", "draft", "answered", "bcc", "thread", "mailbox", "idate",
            "size", "subject",
        ] {
            assert!(v.get(key).is_some(), "{key}");
        }
    }

    #[test]
    fn update_response_shapes() {
        let plain = UpdateMessagesResponse {
            success: true,
            updated: 2,
            mailbox: None,
            id: None,
        };
        assert_eq!(
            serde_json::to_value(plain).unwrap(),
            json!({"success": true, "updated": 2})
        );
        let moved = UpdateMessagesResponse {
            success: true,
            updated: 2,
            mailbox: Some("597089f1b3378cd394611289".into()),
            id: Some(vec![(444, 1), (445, 2)]),
        };
        assert_eq!(
            serde_json::to_value(moved).unwrap(),
            json!({"success": true, "updated": 2, "mailbox": "597089f1b3378cd394611289", "id": [[444, 1], [445, 2]]})
        );
    }

    #[test]
    fn update_request() {
        let u = parse_json::<UpdateMessageRequest>(
            br#"{"seen": true, "expires": false, "moveTo": "597089F1B3378CD394611289"}"#,
        )
        .unwrap()
        .into_update()
        .unwrap();
        assert_eq!(u.seen, Some(true));
        assert_eq!(u.expires, Some(None));
        assert_eq!(u.move_to.unwrap().as_str(), "597089f1b3378cd394611289");
        let e = parse_json::<UpdateMessageRequest>(br#"{"moveTo": "INBOX"}"#)
            .unwrap()
            .into_update()
            .unwrap_err();
        assert!(e.details.unwrap().contains_key("moveTo"));
        let e = parse_json::<UpdateMessageRequest>(br#"{"expires": true}"#)
            .err()
            .unwrap();
        assert!(e.details.unwrap().contains_key("expires"));
    }

    #[test]
    fn upload_flags() {
        let q = |unseen: Option<&str>, date: Option<&str>| UploadQuery {
            unseen: unseen.map(Into::into),
            flagged: Some("true".into()),
            draft: None,
            date: date.map(Into::into),
        };
        let o = upload_options(q(None, None), None).unwrap();
        assert!(o.flags.seen && o.flags.flagged && !o.flags.draft);
        assert_eq!(o.date, None);
        let o = upload_options(q(Some("true"), Some("2017-07-17T11:15:03.841Z")), None).unwrap();
        assert!(!o.flags.seen);
        assert_eq!(o.date, Some(1_500_290_103_841));
        assert!(upload_options(q(Some("maybe"), None), None).is_err());
        assert!(
            upload_options(q(None, Some("someday")), None)
                .unwrap_err()
                .details
                .unwrap()
                .contains_key("date")
        );
        let json = UploadJson {
            unseen: Some(true),
            ..UploadJson::default()
        };
        assert!(
            !upload_options(q(Some("false"), None), Some(&json))
                .unwrap()
                .flags
                .seen
        );
    }

    #[test]
    fn dispositions() {
        assert_eq!(
            content_disposition("report.pdf"),
            "attachment; filename=\"report.pdf\""
        );
        assert_eq!(
            content_disposition("my file.pdf"),
            "attachment; filename=\"my file.pdf\""
        );
        assert_eq!(
            content_disposition("résumé.pdf"),
            "attachment; filename=\"r_sum_.pdf\"; filename*=UTF-8''r%C3%A9sum%C3%A9.pdf"
        );
        assert_eq!(
            content_disposition("a\"b\r\n.txt"),
            "attachment; filename=\"a_b__.txt\"; filename*=UTF-8''a%22b%0D%0A.txt"
        );
    }
}
