//! The access token check: when `api.accessToken` is configured, every request must carry it as
//! the `accessToken` query argument or the `X-Access-Token` header.

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
fn presented(req: &Request) -> Option<String> {
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

/// Middleware: refuses requests without the right token (403 `InvalidToken`).
pub async fn require_token(
    State(expected): State<Option<Arc<str>>>,
    req: Request,
    next: Next,
) -> Response {
    if let Some(expected) = expected.filter(|_| !is_public(req.uri().path())) {
        let ok = presented(&req)
            .is_some_and(|token| constant_time_eq(token.as_bytes(), expected.as_bytes()));
        if !ok {
            return ApiError::new(
                StatusCode::FORBIDDEN,
                "InvalidToken",
                "Invalid accessToken value",
            )
            .into_response();
        }
    }
    next.run(req).await
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
