//! `PUT /users/{user}/logout` (close every session of the user) and
//! `POST /users/{user}/password/reset` (a temporary password; 2FA off).

use super::AppState;
use super::error::{ApiResult, ErrorBody};
use super::extract::{JsonBody, PathArgs};
use super::shape::Success;
use axum::Json;
use axum::extract::State;
use sealpost_core::AuthMeta;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Longest logout reason sent to clients.
const MAX_REASON: usize = 256;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(logout))
        .routes(routes!(reset_password))
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(default)]
pub struct LogoutRequest {
    /// Message sent to the sessions with the logout (IMAP `BYE`).
    #[schema(example = "Account was deleted")]
    pub reason: Option<String>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(default)]
pub struct ResetRequest {
    pub sess: Option<String>,
    pub ip: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ResetResponse {
    pub success: bool,
    /// The temporary password; it must be changed (`requirePasswordChange`).
    pub password: String,
}

/// The reason as one safe line: control characters become spaces, bounded length.
fn clean_reason(reason: Option<&str>) -> String {
    let r: String = reason
        .unwrap_or("")
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(MAX_REASON)
        .collect();
    let r = r.trim();
    if r.is_empty() {
        "Logout requested".to_string()
    } else {
        r.to_string()
    }
}

/// Log the user out of every open IMAP and POP3 session.
#[utoipa::path(
    put,
    path = "/users/{user}/logout",
    tag = "Users",
    params(("user" = String, Path, description = "User id (24 hex)")),
    request_body = LogoutRequest,
    responses(
        (status = 200, description = "Sessions are being closed", body = Success),
        (status = 404, description = "No such user", body = ErrorBody),
    )
)]
async fn logout(
    State(s): State<AppState>,
    path: PathArgs,
    JsonBody(body): JsonBody<LogoutRequest>,
) -> ApiResult<Json<Success>> {
    let user = path.id("user")?;
    s.core
        .log_out_user(&user, &clean_reason(body.reason.as_deref()))
        .await?;
    Ok(Success::ok())
}

/// Reset the password to a temporary one and turn 2FA off.
#[utoipa::path(
    post,
    path = "/users/{user}/password/reset",
    tag = "Users",
    params(("user" = String, Path, description = "User id (24 hex)")),
    request_body = ResetRequest,
    responses(
        (status = 200, description = "The temporary password", body = ResetResponse),
        (status = 404, description = "No such user", body = ErrorBody),
    )
)]
async fn reset_password(
    State(s): State<AppState>,
    path: PathArgs,
    JsonBody(body): JsonBody<ResetRequest>,
) -> ApiResult<Json<ResetResponse>> {
    let user = path.id("user")?;
    let meta = AuthMeta::new("API", body.sess, body.ip);
    let password = s.core.reset_password(&user, &meta).await?;
    Ok(Json(ResetResponse {
        success: true,
        password,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_are_one_bounded_line() {
        assert_eq!(clean_reason(Some("a\r\nb")), "a  b");
        assert_eq!(clean_reason(None), "Logout requested");
        assert_eq!(clean_reason(Some(&"x".repeat(1000))).len(), MAX_REASON);
    }
}
