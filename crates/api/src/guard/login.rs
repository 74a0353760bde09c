//! The login module (`/guard/login/...`): `login` (settings, and an `auth` token for the key
//! password `ox_password`), `changepass`, `getsecondary` / `changesecondary` (the address
//! password resets go to) and `resetpass`.

use super::GuardState;
use super::error::{GuardError, GuardResult};
use super::params::Params;
use super::session::GuardSession;
use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Json, Response};
use axum::routing::{any, get, post};
use sealpost_core::guard::{GuardAccount, LANGUAGES};
use sealpost_core::{AuthMeta, Scope};
use serde::Serialize;
use std::collections::BTreeMap;

pub fn routes() -> Router<GuardState> {
    Router::new()
        .route("/login/login", any(login))
        .route(
            "/login/changepass",
            post(change_password).put(change_password),
        )
        .route("/login/getsecondary", get(get_secondary))
        .route(
            "/login/changesecondary",
            post(set_secondary).put(set_secondary),
        )
        .route("/login/resetpass", post(reset_password))
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LoginSettings {
    pub pgpdefault: bool,
    pub pgpsign: bool,
    pub inline: bool,
    #[serde(rename = "noDeletePrivate")]
    pub no_delete_private: bool,
    #[serde(rename = "noRecovery")]
    pub no_recovery: bool,
    #[serde(rename = "noDeleteRecovery")]
    pub no_delete_recovery: bool,
    #[serde(rename = "min_password_length")]
    pub min_password_length: usize,
    #[serde(rename = "password_length")]
    pub password_length: usize,
}

/// The login answer (not wrapped in `data`, as in Guard).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LoginResponse {
    pub server: String,
    pub cid: i64,
    pub primary_email: String,
    pub pub_key: String,
    /// Present when `ox_password` unlocked the key.
    pub auth: Option<String>,
    pub recovery_avail: bool,
    pub lang: BTreeMap<&'static str, &'static str>,
    pub settings: LoginSettings,
    /// The language in use.
    pub language: String,
    /// A new session, when the login was made with `username` and `password`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session: Option<String>,
}

pub fn login_response(account: GuardAccount, auth: Option<String>) -> LoginResponse {
    LoginResponse {
        server: format!("Sealpost {}", env!("CARGO_PKG_VERSION")),
        cid: 0,
        primary_email: account.primary_email,
        pub_key: account.public_key.unwrap_or_default(),
        auth,
        recovery_avail: account.recovery,
        lang: LANGUAGES.iter().copied().collect(),
        settings: LoginSettings {
            pgpdefault: false,
            pgpsign: false,
            inline: false,
            no_delete_private: false,
            no_recovery: !account.recovery,
            no_delete_recovery: false,
            min_password_length: account.min_password_length,
            password_length: sealpost_core::guard::GENERATED_PASSWORD_LENGTH,
        },
        language: account.language,
        session: None,
    }
}

/// With a `session`, or with the account's `username` and `password` (which start a session,
/// returned as `session`).
async fn login(
    State(s): State<GuardState>,
    session: Result<GuardSession, GuardError>,
    params: Params,
) -> GuardResult<Response> {
    let (user, new_session) = match (session, params.get("username"), params.secret("password")) {
        (Ok(session), _, _) => (session.user, None),
        (Err(_), Some(username), Some(password)) => {
            let meta = AuthMeta::new("Guard", None, None);
            let result = s
                .core
                .authenticate_from(username, password.expose(), Scope::Master, &meta)
                .await?;
            if !result.require_2fa.is_empty() {
                return Err(GuardError::new(
                    axum::http::StatusCode::FORBIDDEN,
                    "Require2FA",
                    "Two-factor authentication is required: log in through POST /authenticate",
                ));
            }
            let token = s.core.create_session(&result.id, Scope::Master).await?;
            (result.id, Some(token.token))
        }
        (Err(e), _, _) => return Err(e),
    };
    let language = params.get("language").or_else(|| params.get("lang"));
    let account = s.core.guard_account(&user, language).await?;
    let auth = match params.secret("ox_password") {
        Some(p) => Some(s.core.guard_login_auth(&user, &p).await?),
        None => None,
    };
    let mut response = login_response(account, auth);
    response.session = new_session;
    Ok(Json(response).into_response())
}

#[derive(Debug, Serialize)]
struct AuthOnly {
    auth: String,
}

async fn change_password(
    State(s): State<GuardState>,
    session: GuardSession,
    params: Params,
) -> GuardResult<Response> {
    let old = params.required_secret("oldpass")?;
    let new = params.required_secret("newpass")?;
    let auth = s
        .core
        .guard_change_password(&session.user, &old, &new)
        .await?;
    Ok(Json(AuthOnly { auth }).into_response())
}

/// The secondary address as a JSON string ("" when none is set).
async fn get_secondary(
    State(s): State<GuardState>,
    session: GuardSession,
) -> GuardResult<Response> {
    let email = s.core.guard_secondary_email(&session.user).await?;
    Ok(Json(email.unwrap_or_default()).into_response())
}

async fn set_secondary(
    State(s): State<GuardState>,
    session: GuardSession,
    params: Params,
) -> GuardResult<Response> {
    let auth = params.unlock()?;
    let email = params.get("email").unwrap_or_default();
    s.core
        .guard_set_secondary_email(&session.user, &auth, email)
        .await?;
    Ok(Json("OK").into_response())
}

async fn reset_password(
    State(s): State<GuardState>,
    session: GuardSession,
) -> GuardResult<Response> {
    let answer = s.core.guard_reset_password(&session.user).await?;
    Ok(Json(answer).into_response())
}
