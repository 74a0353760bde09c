//! `POST /authenticate`: checks a username (or address) and password for a scope.

use super::AppState;
use super::error::{ApiError, ApiResult, ErrorBody};
use super::extract::JsonBody;
use axum::Json;
use axum::extract::State;
use sealpost_core::{AuthMeta, AuthResult, Scope};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(authenticate, end_token))
        .routes(routes!(preauth))
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(default, rename_all = "camelCase")]
pub struct AuthRequest {
    /// Username or one of the user's addresses.
    #[schema(required = true, example = "testuser")]
    pub username: Option<String>,
    /// Master password or an application specific password.
    #[schema(required = true)]
    pub password: Option<String>,
    /// "master" (default), "imap", "pop3" or "smtp".
    #[schema(example = "master")]
    pub scope: Option<String>,
    /// Application type, for logging only (e.g. "API").
    pub protocol: Option<String>,
    pub sess: Option<String>,
    pub ip: Option<String>,
    /// Also issue a user session token (`token` in the answer): the Guard API's `session`.
    /// Only for the master scope once no 2FA step is pending.
    pub token: Option<bool>,
}

impl AuthRequest {
    /// Where the request says the authentication comes from (for the authentication log).
    fn meta(&self) -> AuthMeta {
        let protocol = self
            .protocol
            .as_deref()
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .unwrap_or("API");
        AuthMeta::new(protocol, self.sess.clone(), self.ip.clone())
    }

    fn validate(self) -> ApiResult<(String, String, Scope)> {
        if self.token == Some(true)
            && self
                .scope
                .as_deref()
                .is_some_and(|s| !s.trim().eq_ignore_ascii_case("master") && !s.trim().is_empty())
        {
            return Err(ApiError::invalid(
                "token",
                "\"token\" is only issued for the master scope",
            ));
        }
        let username = self
            .username
            .filter(|u| !u.trim().is_empty())
            .ok_or_else(|| ApiError::invalid("username", "\"username\" is required"))?;
        let password = self
            .password
            .filter(|p| !p.is_empty())
            .ok_or_else(|| ApiError::invalid("password", "\"password\" is required"))?;
        let scope = match self
            .scope
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            None => Scope::Master,
            Some(s) => Scope::parse(&s.to_ascii_lowercase()).ok_or_else(|| {
                ApiError::invalid(
                    "scope",
                    "\"scope\" must be one of [master, imap, pop3, smtp]",
                )
            })?,
        };
        Ok((username.trim().to_string(), password, scope))
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuthResponse {
    pub success: bool,
    /// Id of the authenticated user.
    pub id: String,
    pub username: String,
    /// Main address (`""` when the user has none).
    pub address: String,
    /// Scope this authentication is valid for.
    pub scope: String,
    /// Enabled 2FA methods still to pass (empty when none).
    #[serde(rename = "require2fa")]
    pub require_2fa: Vec<String>,
    pub require_password_change: bool,
    /// With `token: true`: a user session token (valid for `[guard] sessionTtl`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
}

impl From<AuthResult> for AuthResponse {
    fn from(a: AuthResult) -> Self {
        AuthResponse {
            success: true,
            id: a.id.to_string(),
            username: a.username,
            address: String::new(),
            scope: a.scope.as_str().to_string(),
            require_2fa: a.require_2fa,
            require_password_change: a.require_password_change,
            token: None,
        }
    }
}

/// Authenticate a user.
#[utoipa::path(
    post,
    path = "/authenticate",
    tag = "Authentication",
    request_body = AuthRequest,
    responses(
        (status = 200, description = "Credentials are valid", body = AuthResponse),
        (status = 400, description = "Invalid input", body = ErrorBody),
        (status = 403, description = "Authentication failed (`AuthFailed`)", body = ErrorBody),
    )
)]
async fn authenticate(
    State(s): State<AppState>,
    JsonBody(body): JsonBody<AuthRequest>,
) -> ApiResult<Json<AuthResponse>> {
    let meta = body.meta();
    let want_token = body.token == Some(true);
    let (username, password, scope) = body.validate()?;
    let result = s
        .core
        .authenticate_from(&username, &password, scope, &meta)
        .await?;
    let issue = want_token && scope == Scope::Master && result.require_2fa.is_empty();
    let token = if issue {
        Some(s.core.create_session(&result.id, scope).await?.token)
    } else {
        None
    };
    let id = result.id.clone();
    let mut response = AuthResponse::from(result);
    response.token = token;
    response.address = s.core.get_user(&id).await?.address.unwrap_or_default();
    Ok(Json(response))
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(default)]
pub struct PreauthRequest {
    /// Username or one of the user's addresses.
    #[schema(required = true)]
    pub username: Option<String>,
    /// "master" (default), "imap", "pop3" or "smtp".
    pub scope: Option<String>,
    pub sess: Option<String>,
    pub ip: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PreauthResponse {
    pub success: bool,
    pub id: String,
    pub username: String,
    /// Main address (`""` when none).
    pub address: String,
    pub scope: String,
    /// Enabled 2FA methods (empty when none).
    pub require2fa: Vec<String>,
}

/// Check that a user exists and may log in to a scope, without a password.
#[utoipa::path(
    post,
    path = "/preauth",
    tag = "Authentication",
    request_body = PreauthRequest,
    responses(
        (status = 200, description = "The user may log in", body = PreauthResponse),
        (status = 400, description = "Invalid input", body = ErrorBody),
        (status = 403, description = "Disabled, suspended or scope disabled (`AuthFailed`)", body = ErrorBody),
        (status = 404, description = "No such user", body = ErrorBody),
    )
)]
async fn preauth(
    State(s): State<AppState>,
    JsonBody(body): JsonBody<PreauthRequest>,
) -> ApiResult<Json<PreauthResponse>> {
    let username = body
        .username
        .filter(|u| !u.trim().is_empty())
        .ok_or_else(|| ApiError::invalid("username", "\"username\" is required"))?;
    let scope = match body
        .scope
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        None => Scope::Master,
        Some(sc) => Scope::parse(&sc.to_ascii_lowercase()).ok_or_else(|| {
            ApiError::invalid(
                "scope",
                "\"scope\" must be one of [master, imap, pop3, smtp]",
            )
        })?,
    };
    let (user, require2fa) = s.core.preauth(username.trim(), scope).await?;
    Ok(Json(PreauthResponse {
        success: true,
        id: user.id.to_string(),
        username: user.username,
        address: user.address.unwrap_or_default(),
        scope: scope.as_str().to_string(),
        require2fa,
    }))
}

/// End the user access token this request carries (`accessToken` or `X-Access-Token`).
#[utoipa::path(
    delete,
    path = "/authenticate",
    tag = "Authentication",
    responses(
        (status = 200, description = "The token no longer works", body = super::shape::Success),
    )
)]
async fn end_token(
    State(s): State<AppState>,
    req: axum::extract::Request,
) -> ApiResult<Json<super::shape::Success>> {
    if let Some(token) = super::access::presented(&req) {
        s.core.end_session(&token).await?;
    }
    Ok(super::shape::Success::ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wildduck::extract::parse_json;
    use sealpost_core::ObjectId;
    use serde_json::json;

    #[test]
    fn response_shape() {
        let r = AuthResult {
            id: ObjectId::parse("5971da1754cfdc7f0983b2ec").unwrap(),
            username: "testuser".into(),
            scope: Scope::Pop3,
            require_2fa: vec![],
            require_password_change: false,
        };
        assert_eq!(
            serde_json::to_value(AuthResponse::from(r.clone())).unwrap(),
            json!({"success": true, "id": "5971da1754cfdc7f0983b2ec", "username": "testuser", "address": "",
                   "scope": "pop3", "require2fa": [], "requirePasswordChange": false})
        );
        let r = AuthResult {
            require_2fa: vec!["totp".into()],
            ..r
        };
        assert_eq!(
            serde_json::to_value(AuthResponse::from(r)).unwrap()["require2fa"],
            json!(["totp"])
        );
    }

    #[test]
    fn request_validation() {
        let v = |b: &str| parse_json::<AuthRequest>(b.as_bytes()).unwrap().validate();
        let (u, p, s) = v(r#"{"username":"testuser","password":"pw","scope":"pop3"}"#).unwrap();
        assert_eq!((u.as_str(), p.as_str(), s), ("testuser", "pw", Scope::Pop3));
        assert_eq!(
            v(r#"{"username":"a","password":"pw"}"#).unwrap().2,
            Scope::Master
        );
        assert!(
            v(r#"{"username":"a","password":"pw","scope":"root"}"#)
                .unwrap_err()
                .details
                .unwrap()
                .contains_key("scope")
        );
        assert!(
            v(r#"{"password":"pw"}"#)
                .unwrap_err()
                .details
                .unwrap()
                .contains_key("username")
        );
        assert!(
            v(r#"{"username":"a"}"#)
                .unwrap_err()
                .details
                .unwrap()
                .contains_key("password")
        );
    }
}
