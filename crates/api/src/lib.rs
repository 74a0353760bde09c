//! HTTP APIs of Sealpost on one axum router: the WildDuck-compatible REST API (this crate's
//! `wildduck` module), its generated OpenAPI document at `/openapi.json`, the OX Guard
//! key-management API under `/guard` (`guard` module), the passbolt-compatible password vault
//! under `/vault` (`vault` module), and the JSON-RPC provisioning API at `/v1/` (`jsonrpc`
//! module).

pub mod guard;
pub mod jsonrpc;
mod public;
pub mod vault;
mod wildduck;
mod wkd;

use sealpost_core::Core;

/// Settings of the HTTP front end.
#[derive(Debug, Clone)]
pub struct ApiSettings {
    /// When set, every request must carry it (`accessToken` query or `X-Access-Token` header).
    pub access_token: Option<String>,
    /// Largest accepted request body (JSON or raw message), bytes.
    pub max_body: usize,
    /// The server's graceful stop (event streams end when it stops).
    pub shutdown: sealpost_net::Shutdown,
}

/// Builds the whole HTTP router.
pub fn router(core: Core, settings: ApiSettings) -> axum::Router {
    let guard = guard::router(core.clone());
    // The Web Key Directory (public by design, like the Guard API: see `access.rs`).
    let siblings = guard
        .merge(wkd::router(core.clone()))
        .merge(public::router(core.clone()))
        .merge(vault::router(core.clone()))
        .merge(jsonrpc::router(core.clone()));
    wildduck::router(core, settings, siblings).layer(axum::middleware::from_fn(count_request))
}

/// The API a path belongs to (the `api` label of `sealpost_api_requests_total`): one of a
/// fixed set, whatever the path, so that the metric's series stay bounded.
fn route_class(path: &str) -> &'static str {
    let under = |prefix: &str| {
        path.strip_prefix(prefix)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
    };
    if under(guard::PREFIX) {
        "guard"
    } else if under(vault::PREFIX) {
        "vault"
    } else if under("/v1") {
        "jsonrpc"
    } else if under("/.well-known/openpgpkey") {
        "wkd"
    } else if public::PUBLIC_PATHS.contains(&path) {
        "public"
    } else if path == "/openapi.json" {
        "openapi"
    } else {
        "wildduck"
    }
}

/// Counts every answered request by API and status code.
async fn count_request(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let class = route_class(request.uri().path());
    let response = next.run(request).await;
    sealpost_core::metrics::api_request(class, response.status().as_u16());
    response
}

#[cfg(test)]
mod tests {
    use super::route_class;

    #[test]
    fn route_classes() {
        let cases = [
            ("/users", "wildduck"),
            ("/users/abc/mailboxes", "wildduck"),
            ("/guard/login/login", "guard"),
            ("/guardian", "wildduck"),
            ("/vault/auth/verify.json", "vault"),
            ("/v1/", "jsonrpc"),
            ("/.well-known/openpgpkey/hu/x", "wkd"),
            ("/health", "public"),
            ("/openapi.json", "openapi"),
        ];
        for (path, class) in cases {
            assert_eq!(route_class(path), class, "{path}");
        }
    }
}
