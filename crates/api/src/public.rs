//! Routes that load balancers and mail clients call without credentials, so the access token
//! check lets them through (`wildduck/access.rs`):
//!
//! - `/health` (WildDuck's `getHealth`: `{"success": true}`, or 500 with `message`) and
//!   `/ready` (200 `{"status": "ready"}`, or 503 with the reason): both check that the database
//!   answers and the blob store is reachable, within [`CHECK_TIMEOUT`];
//! - client autoconfiguration: Thunderbird's `/.well-known/autoconfig/mail/config-v1.1.xml`
//!   and `/mail/config-v1.1.xml` (`?emailaddress=`), Outlook's
//!   `/autodiscover/autodiscover.xml` (POX, the address in the POSTed request), and an Apple
//!   profile without a password at `/mail/profile.mobileconfig?emailaddress=`.

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{DefaultBodyLimit, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use sealpost_core::Core;
use sealpost_core::autoconfig;
use serde::Deserialize;
use std::time::Duration;

/// How long a readiness check may take before it counts as a failure.
const CHECK_TIMEOUT: Duration = Duration::from_secs(5);

/// Paths served here, for the access token check.
pub const PUBLIC_PATHS: &[&str] = &[
    "/health",
    "/ready",
    "/.well-known/autoconfig/mail/config-v1.1.xml",
    "/mail/config-v1.1.xml",
    "/mail/profile.mobileconfig",
    "/autodiscover/autodiscover.xml",
    "/Autodiscover/Autodiscover.xml",
];

pub fn router(core: Core) -> Router {
    Router::new()
        .route("/health", get(health))
        .route("/ready", get(ready))
        .route(
            "/.well-known/autoconfig/mail/config-v1.1.xml",
            get(thunderbird),
        )
        .route("/mail/config-v1.1.xml", get(thunderbird))
        .route("/mail/profile.mobileconfig", get(apple))
        .route(
            "/autodiscover/autodiscover.xml",
            get(autodiscover_get).post(autodiscover_post),
        )
        .route(
            "/Autodiscover/Autodiscover.xml",
            get(autodiscover_get).post(autodiscover_post),
        )
        // The autodiscover request is small XML: a larger body is refused (413) while it is
        // read, never buffered whole.
        .layer(DefaultBodyLimit::max(MAX_AUTODISCOVER_REQUEST))
        .with_state(core)
}

async fn check(core: &Core) -> Result<(), String> {
    match tokio::time::timeout(CHECK_TIMEOUT, core.ready()).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err(format!("no answer within {CHECK_TIMEOUT:?}")),
    }
}

async fn health(State(core): State<Core>) -> Response {
    match check(&core).await {
        Ok(()) => axum::Json(serde_json::json!({"success": true})).into_response(),
        Err(message) => {
            tracing::warn!(%message, "health check failed");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                axum::Json(serde_json::json!({"success": false, "message": message})),
            )
                .into_response()
        }
    }
}

async fn ready(State(core): State<Core>) -> Response {
    match check(&core).await {
        Ok(()) => axum::Json(serde_json::json!({"status": "ready"})).into_response(),
        Err(error) => {
            tracing::warn!(%error, "readiness check failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                axum::Json(serde_json::json!({"status": "unavailable", "error": error})),
            )
                .into_response()
        }
    }
}

#[derive(Deserialize)]
struct AddressQuery {
    emailaddress: Option<String>,
}

fn xml(body: String) -> Response {
    (
        [(header::CONTENT_TYPE, "application/xml; charset=utf-8")],
        body,
    )
        .into_response()
}

async fn thunderbird(
    State(core): State<Core>,
    q: Result<Query<AddressQuery>, QueryRejection>,
) -> Response {
    let address = q
        .ok()
        .and_then(|q| q.0.emailaddress)
        .and_then(|a| autoconfig::clean_address(&a));
    xml(autoconfig::thunderbird(
        core.client_setup(),
        address.as_deref(),
    ))
}

async fn apple(
    State(core): State<Core>,
    q: Result<Query<AddressQuery>, QueryRejection>,
) -> Response {
    let Some(address) = q
        .ok()
        .and_then(|q| q.0.emailaddress)
        .and_then(|a| autoconfig::clean_address(&a))
    else {
        return (
            StatusCode::BAD_REQUEST,
            "emailaddress: an e-mail address is required\n",
        )
            .into_response();
    };
    (
        [(header::CONTENT_TYPE, "application/x-apple-aspen-config")],
        autoconfig::apple_profile(core.client_setup(), &address),
    )
        .into_response()
}

async fn autodiscover_get(State(core): State<Core>) -> Response {
    xml(autoconfig::autodiscover(core.client_setup(), None))
}

/// The largest request body of these routes (an autodiscover request is small XML).
const MAX_AUTODISCOVER_REQUEST: usize = 16 * 1024;

async fn autodiscover_post(State(core): State<Core>, body: Bytes) -> Response {
    let address = std::str::from_utf8(&body)
        .ok()
        .and_then(autoconfig::autodiscover_request_address);
    xml(autoconfig::autodiscover(
        core.client_setup(),
        address.as_deref(),
    ))
}
