//! The WildDuck-compatible REST API: users, authentication, addresses, mailboxes, messages and
//! quota, byte-compatible with WildDuck's paths, parameters and JSON shapes.
//!
//! Every route is registered through [`utoipa_axum`] with its `#[utoipa::path]` documentation,
//! so the OpenAPI document at `/openapi.json` cannot miss one. Around the routes sit, outermost
//! first: request tracing, panic catching, JSON error bodies for every failure, the access token
//! check and the `/user/...` alias rewrite.

mod access;
mod account;
mod addresses;
mod archived;
mod asps;
mod auth;
mod authlog;
mod autoreply;
mod de;
mod dkim;
mod domains;
mod error;
mod events;
mod extract;
mod filters;
mod forwarded;
mod mailboxes;
mod messages;
mod middleware;
mod openapi;
mod paging;
mod quota;
mod shape;
mod two_factor;
mod updates;
mod users;

use crate::ApiSettings;
use axum::Router;
use axum::middleware::{from_fn, from_fn_with_state};
use sealpost_core::Core;
use std::sync::Arc;
use tower::ServiceBuilder;
use tower_http::trace::TraceLayer;
use utoipa_axum::router::OpenApiRouter;

/// What every handler gets.
#[derive(Clone)]
pub struct AppState {
    pub core: Core,
    /// Largest raw message upload, bytes.
    pub max_body: usize,
    /// The server's graceful stop: event streams end at once.
    pub shutdown: sealpost_net::Shutdown,
}

/// All documented routes, with the OpenAPI document they make up.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(openapi::base())
        .merge(users::routes())
        .merge(auth::routes())
        .merge(addresses::routes())
        .merge(forwarded::routes())
        .merge(mailboxes::routes())
        .merge(messages::routes())
        .merge(archived::routes())
        .merge(quota::routes())
        .merge(filters::routes())
        .merge(events::routes())
        .merge(autoreply::routes())
        .merge(account::routes())
        .merge(asps::routes())
        .merge(authlog::routes())
        .merge(two_factor::routes())
        .merge(updates::routes())
        .merge(dkim::routes())
        .merge(domains::routes())
        .merge(openapi::routes())
}

/// The WildDuck router with all its layers; `siblings` (the other APIs' routers) are served
/// inside the same layers.
pub fn router(core: Core, settings: ApiSettings, siblings: Router) -> Router {
    let state = AppState {
        core,
        max_body: settings.max_body,
        shutdown: settings.shutdown.clone(),
    };
    let core = state.core.clone();
    let (api, doc) = routes().split_for_parts();
    let inner = api
        .fallback(not_found)
        .layer(openapi::document_layer(&doc))
        .with_state(state)
        .merge(siblings);
    wrap(inner, settings.access_token, Some(core))
}

async fn not_found() -> error::ApiError {
    error::ApiError::not_found()
}

/// The span of one request in the logs: method and path, never the query string (it may
/// carry `accessToken=`), nor any header.
fn request_span<B>(request: &axum::http::Request<B>) -> tracing::Span {
    tracing::debug_span!(
        "request",
        method = %request.method(),
        path = %request.uri().path(),
    )
}

/// Puts the outer layers around a finished router.
fn wrap(inner: Router, access_token: Option<String>, core: Option<Core>) -> Router {
    let token: Option<Arc<str>> = access_token.filter(|t| !t.is_empty()).map(Arc::from);
    let access = access::AccessState { token, core };
    let service = ServiceBuilder::new()
        .layer(TraceLayer::new_for_http().make_span_with(request_span))
        .layer(from_fn(middleware::catch_panics))
        .layer(from_fn(middleware::json_errors))
        .layer(from_fn_with_state(access, access::require_token))
        .layer(from_fn(middleware::rewrite_aliases))
        .service(inner);
    Router::new().fallback_service(service)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use axum::routing::get;
    use tower::ServiceExt;

    /// A stand-in for the real routes (which need a running core): same fallback and layers.
    fn test_router(token: Option<&str>) -> Router {
        let inner = Router::new()
            .route("/users/{user}/flagged", get(|| async { "flagged" }))
            .route("/boom", get(boom))
            .fallback(not_found);
        wrap(inner, token.map(str::to_string), None)
    }

    async fn boom() -> &'static str {
        panic!("boom")
    }

    async fn call(
        router: &Router,
        method: &str,
        uri: &str,
        headers: &[(&str, &str)],
    ) -> (StatusCode, String, axum::http::HeaderMap) {
        let mut req = Request::builder().method(method).uri(uri);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let res = router
            .clone()
            .oneshot(req.body(Body::empty()).unwrap())
            .await
            .unwrap();
        let status = res.status();
        let headers = res.headers().clone();
        let body = axum::body::to_bytes(res.into_body(), 1 << 20)
            .await
            .unwrap();
        (status, String::from_utf8(body.to_vec()).unwrap(), headers)
    }

    fn json(s: &str) -> serde_json::Value {
        serde_json::from_str(s).unwrap()
    }

    #[tokio::test]
    async fn unknown_route_is_json_404() {
        let r = test_router(None);
        let (status, body, _) = call(&r, "GET", "/nope", &[]).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(
            json(&body),
            serde_json::json!({"error": "Not found", "code": "NotFound"})
        );
    }

    #[tokio::test]
    async fn wrong_method_is_json_405_with_allow() {
        let r = test_router(None);
        let (status, body, headers) = call(&r, "POST", "/users/abc/flagged", &[]).await;
        assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(json(&body)["code"], "MethodNotAllowed");
        assert!(headers.get("allow").is_some());
        assert_eq!(headers.get("content-type").unwrap(), "application/json");
    }

    #[tokio::test]
    async fn singular_alias_and_trailing_slash() {
        let r = test_router(None);
        assert_eq!(call(&r, "GET", "/user/abc/flagged", &[]).await.1, "flagged");
        assert_eq!(
            call(&r, "GET", "/users/abc/flagged/", &[]).await.1,
            "flagged"
        );
    }

    #[tokio::test]
    async fn access_token() {
        let r = test_router(Some("s3cret"));
        let (status, body, _) = call(&r, "GET", "/users/abc/flagged", &[]).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert_eq!(
            json(&body),
            serde_json::json!({"error": "Invalid accessToken value", "code": "InvalidToken"})
        );
        let (status, _, _) = call(&r, "GET", "/users/abc/flagged?accessToken=wrong", &[]).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let (status, _, _) = call(&r, "GET", "/users/abc/flagged?accessToken=s3cret", &[]).await;
        assert_eq!(status, StatusCode::OK);
        let (status, _, _) = call(
            &r,
            "GET",
            "/user/abc/flagged",
            &[("X-Access-Token", "s3cret")],
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        let (status, _, _) = call(
            &r,
            "GET",
            "/users/abc/flagged",
            &[("X-Access-Token", "s3cre")],
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        // An empty configured token means no token is required.
        let r = test_router(Some(""));
        assert_eq!(
            call(&r, "GET", "/users/abc/flagged", &[]).await.0,
            StatusCode::OK
        );
    }

    #[tokio::test]
    async fn panics_become_500_json() {
        let r = test_router(None);
        let (status, body, _) = call(&r, "GET", "/boom", &[]).await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(json(&body)["code"], "InternalError");
    }
}
