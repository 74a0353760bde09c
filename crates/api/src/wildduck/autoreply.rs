//! `/users/{user}/autoreply`: read, set up (partially) and delete a user's autoreply.

use super::AppState;
use super::de;
use super::error::{ApiResult, ErrorBody};
use super::extract::{JsonBody, PathArgs};
use super::shape::{Created, DateOrFalse, Success, iso_date};
use axum::Json;
use axum::extract::State;
use sealpost_core::{AutoreplyUpdate, Millis};
use serde::de::{Deserializer, Error as _};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(get_autoreply, update_autoreply, delete_autoreply))
}

/// The autoreply setting.
#[derive(Debug, Serialize, ToSchema)]
pub struct AutoreplyInfo {
    pub success: bool,
    /// Whether autoreplies are sent.
    pub status: bool,
    /// Sender name of the replies ("" = the user's name).
    pub name: String,
    /// Subject of the replies ("" = `Auto: Re: <original subject>`).
    #[schema(example = "Out of office")]
    pub subject: String,
    pub text: String,
    pub html: String,
    /// From when replies are sent, `false` when from now.
    pub start: DateOrFalse,
    /// Until when replies are sent, `false` when without end.
    pub end: DateOrFalse,
}

/// `PUT /users/{user}/autoreply`: every field is optional; only those given change.
#[derive(Debug, Default, Deserialize, Serialize, ToSchema)]
#[serde(default)]
pub struct UpdateAutoreplyRequest {
    #[serde(deserialize_with = "de::opt_bool")]
    pub status: Option<bool>,
    pub name: Option<String>,
    pub subject: Option<String>,
    pub text: Option<String>,
    pub html: Option<String>,
    /// ISO date, or `false` to clear.
    #[serde(deserialize_with = "opt_date_or_false")]
    #[schema(value_type = Option<String>)]
    pub start: Option<Option<Millis>>,
    /// ISO date, or `false` to clear.
    #[serde(deserialize_with = "opt_date_or_false")]
    #[schema(value_type = Option<String>)]
    pub end: Option<Option<Millis>>,
}

impl From<UpdateAutoreplyRequest> for AutoreplyUpdate {
    fn from(req: UpdateAutoreplyRequest) -> Self {
        AutoreplyUpdate {
            status: req.status,
            name: req.name,
            subject: req.subject,
            text: req.text,
            html: req.html,
            start: req.start,
            end: req.end,
        }
    }
}

/// A date (ISO string, RFC 2822 string or Unix ms) to set; `false` or `null` clears; `""`
/// leaves it as it is (Joi's `.empty('')`).
fn opt_date_or_false<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<Millis>>, D::Error> {
    match Value::deserialize(d)? {
        Value::Null | Value::Bool(false) => Ok(Some(None)),
        Value::String(s) if s.trim().is_empty() => Ok(None),
        Value::String(s) if s.trim().eq_ignore_ascii_case("false") => Ok(Some(None)),
        Value::String(s) => de::parse_date(&s)
            .map(|ms| Some(Some(ms)))
            .ok_or_else(|| D::Error::custom("must be a valid date")),
        Value::Number(n) => n
            .as_i64()
            .and_then(de::in_date_range)
            .map(|ms| Some(Some(ms)))
            .ok_or_else(|| D::Error::custom("must be a valid date")),
        _ => Err(D::Error::custom("must be a valid date or false")),
    }
}

fn date_or_false(ms: Option<Millis>) -> DateOrFalse {
    DateOrFalse(ms.map(iso_date))
}

/// Check autoreply status.
#[utoipa::path(
    get,
    path = "/users/{user}/autoreply",
    tag = "Autoreplies",
    params(("user" = String, Path, description = "User id (24 hex)")),
    responses(
        (status = 200, description = "The setting (defaults when none was made)", body = AutoreplyInfo),
        (status = 400, description = "Invalid id", body = ErrorBody),
        (status = 404, description = "No such user", body = ErrorBody),
    )
)]
async fn get_autoreply(
    State(s): State<AppState>,
    path: PathArgs,
) -> ApiResult<Json<AutoreplyInfo>> {
    let user = path.id("user")?;
    let a = s.core.get_autoreply(&user).await?;
    Ok(Json(AutoreplyInfo {
        success: true,
        status: a.status,
        name: a.name,
        subject: a.subject,
        text: a.text,
        html: a.html,
        start: date_or_false(a.start),
        end: date_or_false(a.end),
    }))
}

/// Set up or update the autoreply; fields not given keep their values.
#[utoipa::path(
    put,
    path = "/users/{user}/autoreply",
    tag = "Autoreplies",
    params(("user" = String, Path, description = "User id (24 hex)")),
    request_body = UpdateAutoreplyRequest,
    responses(
        (status = 200, description = "Saved; `id` names the autoreply", body = Created),
        (status = 400, description = "Invalid input", body = ErrorBody),
        (status = 404, description = "No such user", body = ErrorBody),
    )
)]
async fn update_autoreply(
    State(s): State<AppState>,
    path: PathArgs,
    JsonBody(req): JsonBody<UpdateAutoreplyRequest>,
) -> ApiResult<Json<Created>> {
    let user = path.id("user")?;
    s.core.update_autoreply(&user, req.into()).await?;
    // WildDuck answers the id of the user's autoreply document; a user has one autoreply
    // here, stored under the user, so its id is the user's.
    Ok(Created::id(&user))
}

/// Disable (delete) the autoreply.
#[utoipa::path(
    delete,
    path = "/users/{user}/autoreply",
    tag = "Autoreplies",
    params(("user" = String, Path, description = "User id (24 hex)")),
    responses(
        (status = 200, description = "Deleted", body = Success),
        (status = 400, description = "Invalid id", body = ErrorBody),
        (status = 404, description = "No such user", body = ErrorBody),
    )
)]
async fn delete_autoreply(State(s): State<AppState>, path: PathArgs) -> ApiResult<Json<Success>> {
    let user = path.id("user")?;
    s.core.delete_autoreply(&user).await?;
    Ok(Success::ok())
}
