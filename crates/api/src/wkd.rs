//! Web Key Directory (draft-koch-openpgp-webkey-service): users' public keys under
//! `/.well-known/openpgpkey/`, public by design: the access token check lets these paths
//! through (`wildduck/access.rs`).
//!
//! - direct method: `/.well-known/openpgpkey/hu/<hash>[?l=<local>]` and
//!   `/.well-known/openpgpkey/policy`, for the domain named by the `Host` header;
//! - advanced method: `/.well-known/openpgpkey/<domain>/hu/<hash>` and
//!   `/.well-known/openpgpkey/<domain>/policy` (served on `openpgpkey.<domain>`).
//!
//! A key is served as binary OpenPGP (`application/octet-stream`); anything unknown, including
//! a domain the server does not host, is a plain 404.

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use sealpost_core::Core;
use serde::Deserialize;

pub fn router(core: Core) -> Router {
    Router::new()
        .route("/.well-known/openpgpkey/hu/{hash}", get(direct_key))
        .route("/.well-known/openpgpkey/policy", get(direct_policy))
        .route(
            "/.well-known/openpgpkey/{domain}/hu/{hash}",
            get(advanced_key),
        )
        .route(
            "/.well-known/openpgpkey/{domain}/policy",
            get(advanced_policy),
        )
        .with_state(core)
}

#[derive(Deserialize)]
struct LocalPart {
    l: Option<String>,
}

/// The domain of the `Host` header, without port, lower case.
fn host_domain(headers: &HeaderMap) -> Option<String> {
    let host = headers.get(header::HOST)?.to_str().ok()?.trim();
    let domain = match host.rsplit_once(':') {
        Some((d, port)) if port.bytes().all(|b| b.is_ascii_digit()) => d,
        _ => host,
    };
    let domain = domain.trim_end_matches('.').to_ascii_lowercase();
    (!domain.is_empty() && !domain.starts_with('[')).then_some(domain)
}

fn not_found() -> Response {
    (StatusCode::NOT_FOUND, "Not found\n").into_response()
}

fn with_cors(mut res: Response) -> Response {
    res.headers_mut().insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    res
}

async fn key(core: &Core, domain: Option<String>, hash: &str, local: Option<String>) -> Response {
    let Some(domain) = domain else {
        return not_found();
    };
    match core.wkd_lookup(&domain, hash, local.as_deref()).await {
        Ok(Some(key)) => {
            with_cors(([(header::CONTENT_TYPE, "application/octet-stream")], key).into_response())
        }
        Ok(None) => not_found(),
        Err(e) => {
            tracing::error!(error = %e, "WKD lookup failed");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

async fn policy(core: &Core, domain: Option<String>) -> Response {
    let Some(domain) = domain else {
        return not_found();
    };
    match core.wkd_serves_domain(&domain).await {
        Ok(true) => with_cors(
            (
                [(header::CONTENT_TYPE, "text/plain")],
                sealpost_core::wkd::WKD_POLICY,
            )
                .into_response(),
        ),
        Ok(false) => not_found(),
        Err(e) => {
            tracing::error!(error = %e, "WKD policy lookup failed");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

async fn direct_key(
    State(core): State<Core>,
    Path(hash): Path<String>,
    Query(q): Query<LocalPart>,
    headers: HeaderMap,
) -> Response {
    key(&core, host_domain(&headers), &hash, q.l).await
}

async fn direct_policy(State(core): State<Core>, headers: HeaderMap) -> Response {
    policy(&core, host_domain(&headers)).await
}

async fn advanced_key(
    State(core): State<Core>,
    Path((domain, hash)): Path<(String, String)>,
    Query(q): Query<LocalPart>,
) -> Response {
    key(&core, Some(domain.to_ascii_lowercase()), &hash, q.l).await
}

async fn advanced_policy(State(core): State<Core>, Path(domain): Path<String>) -> Response {
    policy(&core, Some(domain.to_ascii_lowercase())).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_header_domains() {
        let mut h = HeaderMap::new();
        assert_eq!(host_domain(&h), None);
        h.insert(header::HOST, HeaderValue::from_static("Example.COM:8080"));
        assert_eq!(host_domain(&h).as_deref(), Some("example.com"));
        h.insert(header::HOST, HeaderValue::from_static("example.com."));
        assert_eq!(host_domain(&h).as_deref(), Some("example.com"));
        h.insert(header::HOST, HeaderValue::from_static("[::1]:80"));
        assert_eq!(host_domain(&h), None);
    }
}
