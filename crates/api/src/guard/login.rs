//! The login module (`/guard/login/...`): `login` (settings, and an `auth` token for the key
//! password `ox_password`).

use super::GuardState;
use super::error::GuardResult;
use super::params::Params;
use super::session::GuardSession;
use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Json, Response};
use axum::routing::any;
use sealpost_core::guard::{GuardAccount, LANGUAGES};
use serde::Serialize;
use std::collections::BTreeMap;

pub fn routes() -> Router<GuardState> {
    Router::new().route("/login/login", any(login))
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
}

/// Length of the passwords the server generates (resets).
pub const GENERATED_PASSWORD_LENGTH: usize = 16;

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
            password_length: GENERATED_PASSWORD_LENGTH,
        },
        language: account.language,
    }
}

async fn login(
    State(s): State<GuardState>,
    session: GuardSession,
    params: Params,
) -> GuardResult<Response> {
    let language = params.get("language").or_else(|| params.get("lang"));
    let account = s.core.guard_account(&session.user, language).await?;
    Ok(Json(login_response(account, None)).into_response())
}
