//! The access token check: when `api.accessToken` is configured, every request must carry it as
//! the `accessToken` query argument or the `X-Access-Token` header. A user access token
//! (`POST /authenticate {token: true}`) is accepted in its place for that user's own
//! resources only (core's `user_token_path`: `/users/me/...` is its own id), with
//! `MissingPrivileges` for anything else.

use super::error::ApiError;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use std::sync::Arc;

pub const HEADER: &str = "x-access-token";

/// Paths that authenticate their own way and never need the access token: the Guard API
/// (user sessions), the vault (its own sessions), the JSON-RPC API (its own logins and
/// sessions), and the Web Key Directory (public keys, public by design). The health,
/// readiness and client autoconfiguration paths (`crate::public`) are public too.
pub const PUBLIC_PREFIXES: &[&str] = &["/guard/", "/.well-known/openpgpkey/", "/vault/", "/v1/"];

fn is_public(path: &str) -> bool {
    path == "/v1"
        || PUBLIC_PREFIXES.iter().any(|p| path.starts_with(p))
        || crate::public::PUBLIC_PATHS.contains(&path)
}

#[derive(Deserialize)]
struct TokenQuery {
    #[serde(rename = "accessToken")]
    access_token: Option<String>,
}

/// The token a request carries: the query argument first, then the header.
pub fn presented(req: &Request) -> Option<String> {
    let from_query = axum::extract::Query::<TokenQuery>::try_from_uri(req.uri())
        .ok()
        .and_then(|q| q.0.access_token);
    from_query.or_else(|| {
        req.headers()
            .get(HEADER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    })
}

/// Compares without an early exit, so timing does not tell how much of a guess was right.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    let mut diff = (a.len() ^ b.len()) as u64;
    for i in 0..a.len().max(b.len()) {
        let x = a.get(i).copied().unwrap_or(0);
        let y = b.get(i).copied().unwrap_or(0);
        diff |= u64::from(x ^ y);
    }
    diff == 0
}

/// What the token check needs: the configured admin token and, to look user tokens up, the
/// core (absent in router tests).
#[derive(Clone)]
pub struct AccessState {
    pub token: Option<Arc<str>>,
    pub core: Option<sealpost_core::Core>,
}

/// Set on requests made with a user access token: the user it acts as.
#[derive(Debug, Clone)]
pub struct UserRole(#[allow(dead_code)] pub sealpost_core::ObjectId);

fn invalid_token() -> Response {
    ApiError::new(
        StatusCode::FORBIDDEN,
        "InvalidToken",
        "Invalid accessToken value",
    )
    .into_response()
}

/// `uri` with its path replaced (the query kept).
fn with_path(uri: &axum::http::Uri, path: &str) -> Option<axum::http::Uri> {
    let pq = match uri.query() {
        Some(q) => format!("{path}?{q}"),
        None => path.to_string(),
    };
    let mut parts = uri.clone().into_parts();
    parts.path_and_query = Some(axum::http::uri::PathAndQuery::try_from(pq).ok()?);
    axum::http::Uri::from_parts(parts).ok()
}

/// Middleware: lets through requests with the admin token (or any when none is configured)
/// and those a user token may make; refuses the rest (403 `InvalidToken`, or
/// `MissingPrivileges` for a user token outside its own resources).
pub async fn require_token(
    State(st): State<AccessState>,
    mut req: Request,
    next: Next,
) -> Response {
    if is_public(req.uri().path()) {
        return next.run(req).await;
    }
    let token = presented(&req);
    if let (Some(expected), Some(t)) = (&st.token, &token)
        && constant_time_eq(t.as_bytes(), expected.as_bytes())
    {
        return next.run(req).await;
    }
    let user = match (&st.core, &token) {
        (Some(core), Some(t)) => core.session_user(t).await.ok(),
        _ => None,
    };
    match user {
        Some(user) => {
            let canonical = super::middleware::canonical_path(req.uri().path())
                .unwrap_or_else(|| req.uri().path().to_string());
            let method = req.method().as_str().to_string();
            match sealpost_core::user_access::user_token_path(&user, &method, &canonical) {
                Some(path) => {
                    if let Some(uri) = with_path(req.uri(), &path) {
                        *req.uri_mut() = uri;
                    }
                    req.extensions_mut().insert(UserRole(user));
                    next.run(req).await
                }
                None => ApiError::new(
                    StatusCode::FORBIDDEN,
                    "MissingPrivileges",
                    "Not enough privileges",
                )
                .into_response(),
            }
        }
        None if st.token.is_some() => invalid_token(),
        None => next.run(req).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compare() {
        assert!(constant_time_eq(b"secret", b"secret"));
        assert!(!constant_time_eq(b"secret", b"secreT"));
        assert!(!constant_time_eq(b"secret", b"secret2"));
        assert!(!constant_time_eq(b"", b"x"));
        assert!(constant_time_eq(b"", b""));
    }
}
