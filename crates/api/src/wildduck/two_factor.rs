//! `/users/{user}/2fa`: TOTP setup, enabling, checking and disabling; WildDuck's custom 2FA.

use super::AppState;
use super::asps::LogArgs;
use super::de;
use super::error::{ApiError, ApiResult, ErrorBody};
use super::extract::{JsonBody, PathArgs, QueryArgs};
use super::shape::Success;
use axum::Json;
use axum::extract::State;
use sealpost_core::{AuthMeta, TotpSetupRequest};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(setup_totp))
        .routes(routes!(enable_totp))
        .routes(routes!(check_totp))
        .routes(routes!(disable_totp))
        .routes(routes!(disable_2fa))
        .routes(routes!(enable_custom_2fa, disable_custom_2fa))
}

/// `sess` and `ip` in a JSON body, for the authentication log.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(default)]
pub struct LogBody {
    pub sess: Option<String>,
    pub ip: Option<String>,
}

/// Enable custom 2FA: the application in front handles a second factor itself; the account
/// password then works only for the API (`master` scope), not for IMAP, POP3 or SMTP.
#[utoipa::path(
    put,
    path = "/users/{user}/2fa/custom",
    tag = "2FA",
    params(("user" = String, Path, description = "User id (24 hex)")),
    request_body = LogBody,
    responses(
        (status = 200, description = "Enabled", body = Success),
        (status = 400, description = "Already enabled (CustomEnabled)", body = ErrorBody),
        (status = 404, description = "No such user", body = ErrorBody),
    )
)]
async fn enable_custom_2fa(
    State(s): State<AppState>,
    path: PathArgs,
    JsonBody(body): JsonBody<LogBody>,
) -> ApiResult<Json<Success>> {
    let user = path.id("user")?;
    let meta = AuthMeta::new("API", body.sess, body.ip);
    s.core.enable_custom_2fa(&user, &meta).await?;
    Ok(Success::ok())
}

/// Disable custom 2FA.
#[utoipa::path(
    delete,
    path = "/users/{user}/2fa/custom",
    tag = "2FA",
    params(("user" = String, Path, description = "User id (24 hex)"), LogArgs),
    responses(
        (status = 200, description = "Disabled", body = Success),
        (status = 400, description = "Not enabled (CustomDisabled)", body = ErrorBody),
        (status = 404, description = "No such user", body = ErrorBody),
    )
)]
async fn disable_custom_2fa(
    State(s): State<AppState>,
    path: PathArgs,
    QueryArgs(q): QueryArgs<LogArgs>,
) -> ApiResult<Json<Success>> {
    let user = path.id("user")?;
    s.core.disable_custom_2fa(&user, &q.meta()).await?;
    Ok(Success::ok())
}

/// `POST /users/{user}/2fa/totp/setup`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(default, rename_all = "camelCase")]
pub struct SetupRequest {
    /// Account name shown in the authenticator app (default `issuer:username`).
    pub label: Option<String>,
    /// Service name shown in the authenticator app.
    #[schema(example = "testikas")]
    pub issuer: Option<String>,
    /// Make a new seed even when one is pending.
    #[serde(deserialize_with = "de::opt_bool")]
    #[schema(value_type = Option<bool>)]
    pub fresh: Option<bool>,
    pub sess: Option<String>,
    pub ip: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SetupResponse {
    pub success: bool,
    /// Base32 seed, for entering by hand.
    pub seed: String,
    /// `data:image/png;base64,...` QR code of the `otpauth://` URI.
    pub qrcode: String,
}

/// `POST .../enable` and `POST .../check`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(default, rename_all = "camelCase")]
pub struct TokenRequest {
    /// Six-digit token from the authenticator.
    #[schema(required = true, example = "455912")]
    pub token: Option<String>,
    pub sess: Option<String>,
    pub ip: Option<String>,
}

impl TokenRequest {
    fn token(&self) -> ApiResult<&str> {
        self.token
            .as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| ApiError::invalid("token", "\"token\" is required"))
    }
    fn meta(&self) -> AuthMeta {
        AuthMeta::new("API", self.sess.clone(), self.ip.clone())
    }
}

/// Generate a TOTP seed and its QR code.
#[utoipa::path(
    post,
    path = "/users/{user}/2fa/totp/setup",
    tag = "2FA",
    params(("user" = String, Path, description = "User id (24 hex)")),
    request_body = SetupRequest,
    responses(
        (status = 200, description = "Seed and QR code", body = SetupResponse),
        (status = 400, description = "Invalid input, or TOTP is already enabled (`TotpEnabled`)", body = ErrorBody),
        (status = 404, description = "No such user", body = ErrorBody),
    )
)]
async fn setup_totp(
    State(s): State<AppState>,
    path: PathArgs,
    JsonBody(body): JsonBody<SetupRequest>,
) -> ApiResult<Json<SetupResponse>> {
    let user = path.id("user")?;
    let request = TotpSetupRequest {
        label: body.label.clone(),
        issuer: body.issuer.clone(),
        fresh: body.fresh.unwrap_or(false),
    };
    let meta = AuthMeta::new("API", body.sess.clone(), body.ip.clone());
    let setup = s.core.setup_totp(&user, &request, &meta).await?;
    Ok(Json(SetupResponse {
        success: true,
        seed: setup.seed,
        qrcode: setup.qrcode,
    }))
}

/// Enable TOTP with a token made from the new seed.
#[utoipa::path(
    post,
    path = "/users/{user}/2fa/totp/enable",
    tag = "2FA",
    params(("user" = String, Path, description = "User id (24 hex)")),
    request_body = TokenRequest,
    responses(
        (status = 200, description = "TOTP is enabled", body = Success),
        (status = 400, description = "Invalid input, or no seed was set up", body = ErrorBody),
        (status = 403, description = "Wrong or reused token (`InvalidToken`)", body = ErrorBody),
        (status = 429, description = "Too many checks (`RateLimitedError`)", body = ErrorBody),
    )
)]
async fn enable_totp(
    State(s): State<AppState>,
    path: PathArgs,
    JsonBody(body): JsonBody<TokenRequest>,
) -> ApiResult<Json<Success>> {
    let user = path.id("user")?;
    s.core
        .enable_totp(&user, body.token()?, &body.meta())
        .await?;
    Ok(Success::ok())
}

/// Check a TOTP token.
#[utoipa::path(
    post,
    path = "/users/{user}/2fa/totp/check",
    tag = "2FA",
    params(("user" = String, Path, description = "User id (24 hex)")),
    request_body = TokenRequest,
    responses(
        (status = 200, description = "The token is valid", body = Success),
        (status = 400, description = "Invalid input, or TOTP is not enabled", body = ErrorBody),
        (status = 403, description = "Wrong or reused token (`InvalidToken`)", body = ErrorBody),
        (status = 429, description = "Too many checks (`RateLimitedError`)", body = ErrorBody),
    )
)]
async fn check_totp(
    State(s): State<AppState>,
    path: PathArgs,
    JsonBody(body): JsonBody<TokenRequest>,
) -> ApiResult<Json<Success>> {
    let user = path.id("user")?;
    s.core
        .check_totp(&user, body.token()?, &body.meta())
        .await?;
    Ok(Success::ok())
}

/// Disable TOTP.
#[utoipa::path(
    delete,
    path = "/users/{user}/2fa/totp",
    tag = "2FA",
    params(("user" = String, Path, description = "User id (24 hex)"), LogArgs),
    responses(
        (status = 200, description = "Disabled", body = Success),
        (status = 404, description = "No such user", body = ErrorBody),
    )
)]
async fn disable_totp(
    State(s): State<AppState>,
    path: PathArgs,
    QueryArgs(q): QueryArgs<LogArgs>,
) -> ApiResult<Json<Success>> {
    let user = path.id("user")?;
    s.core
        .disable_totp(&user, "disable 2fa totp", &q.meta())
        .await?;
    Ok(Success::ok())
}

/// Disable every 2FA method (the master password works for IMAP, POP3 and SMTP again).
#[utoipa::path(
    delete,
    path = "/users/{user}/2fa",
    tag = "2FA",
    params(("user" = String, Path, description = "User id (24 hex)"), LogArgs),
    responses(
        (status = 200, description = "Disabled", body = Success),
        (status = 404, description = "No such user", body = ErrorBody),
    )
)]
async fn disable_2fa(
    State(s): State<AppState>,
    path: PathArgs,
    QueryArgs(q): QueryArgs<LogArgs>,
) -> ApiResult<Json<Success>> {
    let user = path.id("user")?;
    s.core.disable_2fa(&user, &q.meta()).await?;
    Ok(Success::ok())
}
