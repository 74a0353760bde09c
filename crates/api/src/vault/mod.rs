//! The passbolt-compatible password vault under `/vault` ("v4 mode": resource metadata in
//! clear, secrets encrypted on the client per user). A client's base URL is
//! `http://HOST:PORT/vault`; every passbolt path follows it with its `.json` suffix.
//!
//! Handlers only translate: `sealpost_core::vault` decides who may see or change what.
//! Every answer is passbolt's envelope `{header: {id, status, servertime, action, message,
//! url, code}, body}` (see [`envelope`]) and carries the GPGAuth URL headers. Vault requests
//! never need the REST access token: a session (`passbolt_session` cookie) or nothing.

mod auth;
mod directory;
mod envelope;
mod folders;
mod json;
mod meta;
mod query;
mod resources;

use axum::Router;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method};
use axum::middleware::from_fn;
use sealpost_core::Core;
use sealpost_core::vault::{VaultError, VaultSession};

pub use envelope::{Reply, VaultFailure};

/// Path prefix of the vault.
pub const PREFIX: &str = "/vault";

/// What every vault handler gets.
#[derive(Clone)]
pub struct VaultState {
    pub core: Core,
}

/// The vault router, mounted at [`PREFIX`].
pub fn router(core: Core) -> Router {
    let inner = Router::new()
        .merge(auth::routes())
        .merge(meta::routes())
        .merge(directory::routes())
        .merge(resources::routes())
        .merge(folders::routes())
        .fallback(|| async {
            VaultFailure(VaultError::NotFound("This location does not exist.".into()))
        })
        .method_not_allowed_fallback(|| async {
            VaultFailure(VaultError::NotFound("This location does not exist.".into()))
        })
        .with_state(VaultState { core });
    Router::new()
        .nest_service(PREFIX, inner)
        .layer(from_fn(envelope::finish))
}

/// The value of cookie `name`.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim().to_string())
}

/// The session cookie.
pub const SESSION_COOKIE: &str = "passbolt_session";

/// The caller's session, after MFA and, for state-changing methods, the CSRF check.
pub struct Authed(pub VaultSession);

/// The caller's session before MFA (for the MFA routes); CSRF is still checked.
pub struct AuthedNoMfa(pub VaultSession);

async fn session(parts: &Parts, state: &VaultState) -> Result<VaultSession, VaultFailure> {
    // A JWT access token (mobile and CLI clients): no cookie, so no CSRF check.
    if let Some(bearer) = parts
        .headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
    {
        let mfa = cookie(&parts.headers, sealpost_core::vault::MFA_COOKIE);
        return state
            .core
            .vault_bearer(bearer, mfa.as_deref())
            .await
            .map_err(VaultFailure);
    }
    let token =
        cookie(&parts.headers, SESSION_COOKIE).ok_or(VaultFailure(VaultError::Unauthenticated))?;
    let s = state
        .core
        .vault_session(&token)
        .await
        .map_err(VaultFailure)?;
    let safe = matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS);
    if !safe {
        let given = parts
            .headers
            .get("x-csrf-token")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        if !constant_time_eq(given.as_bytes(), s.csrf.as_bytes()) {
            return Err(VaultFailure(VaultError::Forbidden(
                "Missing or incorrect CSRF cookie type.".into(),
            )));
        }
    }
    Ok(s)
}

impl FromRequestParts<VaultState> for Authed {
    type Rejection = VaultFailure;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &VaultState,
    ) -> Result<Self, VaultFailure> {
        let s = session(parts, state).await?;
        if !s.mfa_ok {
            return Err(VaultFailure(VaultError::MfaRequired));
        }
        Ok(Authed(s))
    }
}

impl FromRequestParts<VaultState> for AuthedNoMfa {
    type Rejection = VaultFailure;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &VaultState,
    ) -> Result<Self, VaultFailure> {
        Ok(AuthedNoMfa(session(parts, state).await?))
    }
}

/// The client's address, for the throttle and the authentication log.
pub fn client_ip(parts: &Parts) -> Option<String> {
    parts
        .extensions
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip().to_string())
}

/// Compares without an early exit.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    let mut diff = (a.len() ^ b.len()) as u64;
    for i in 0..a.len().max(b.len()) {
        diff |= u64::from(a.get(i).copied().unwrap_or(0) ^ b.get(i).copied().unwrap_or(0));
    }
    diff == 0
}
