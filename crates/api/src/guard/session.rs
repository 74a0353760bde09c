//! The Guard session extractor: the `session` query parameter (or `X-Session` header) holds a
//! token from `POST /authenticate` with `token: true` or from the Guard login; every Guard
//! action but the login runs for the user it names.

use super::GuardState;
use super::error::{GuardError, GuardResult};
use axum::extract::FromRequestParts;
use axum::http::StatusCode;
use axum::http::request::Parts;
use sealpost_core::ObjectId;

pub const HEADER: &str = "x-session";

/// The authenticated user of a Guard request.
#[derive(Debug, Clone)]
pub struct GuardSession {
    pub user: ObjectId,
}

/// The session token a request carries: the query parameter first, then the header.
pub fn presented(parts: &Parts) -> Option<String> {
    let from_query = parts.uri.query().and_then(|q| {
        q.split('&')
            .filter_map(|kv| kv.split_once('='))
            .find(|(k, _)| *k == "session")
            .map(|(_, v)| v.to_string())
    });
    from_query
        .or_else(|| {
            parts
                .headers
                .get(HEADER)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        })
        .filter(|t| !t.is_empty())
}

impl FromRequestParts<GuardState> for GuardSession {
    type Rejection = GuardError;

    async fn from_request_parts(parts: &mut Parts, state: &GuardState) -> GuardResult<Self> {
        let token = presented(parts).ok_or_else(|| {
            GuardError::new(
                StatusCode::UNAUTHORIZED,
                "SessionExpired",
                "\"session\" is required",
            )
        })?;
        let user = state.core.session_user(&token).await?;
        Ok(GuardSession { user })
    }
}
