//! `GET /users/{user}/mailboxes/{mailbox}/messages/{message}/events`: the timeline of one
//! message (STORE, FILTER, FORWARD, ...).

use super::AppState;
use super::error::{ApiResult, ErrorBody};
use super::extract::PathArgs;
use axum::Json;
use axum::extract::State;
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(message_events))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MessageEvents {
    pub success: bool,
    /// Id of the message (24 hex).
    #[schema(example = "59e9dfac7f60c84cb2c467c4")]
    pub id: String,
    /// Oldest first: `id`, `action`, the event's own fields (`source`, `origin`, `from`,
    /// `to`, `transtype`, ...) and `time`.
    #[schema(value_type = Vec<Object>)]
    pub events: Vec<Value>,
}

/// Timeline of a message.
#[utoipa::path(
    get,
    path = "/users/{user}/mailboxes/{mailbox}/messages/{message}/events",
    tag = "Messages",
    params(
        ("user" = String, Path, description = "User id (24 hex)"),
        ("mailbox" = String, Path, description = "Mailbox id (24 hex)"),
        ("message" = i64, Path, description = "Message UID"),
    ),
    responses(
        (status = 200, description = "The message's events", body = MessageEvents),
        (status = 400, description = "Invalid id", body = ErrorBody),
        (status = 404, description = "No such mailbox or message", body = ErrorBody),
    )
)]
async fn message_events(
    State(s): State<AppState>,
    path: PathArgs,
) -> ApiResult<Json<MessageEvents>> {
    let (user, mailbox, uid) = (path.id("user")?, path.id("mailbox")?, path.uid("message")?);
    let (id, events) = s.core.message_events(&user, &mailbox, uid).await?;
    Ok(Json(MessageEvents {
        success: true,
        id,
        events,
    }))
}
