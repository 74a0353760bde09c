//! HTTP APIs of Sealpost on one axum router: the WildDuck-compatible REST API (this crate's
//! `wildduck` module), its generated OpenAPI document at `/openapi.json`, and later the Guard,
//! JSON-RPC and vault APIs as sibling modules.

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
}

/// Builds the whole HTTP router.
pub fn router(core: Core, settings: ApiSettings) -> axum::Router {
    // WKD is public by design: outside the WildDuck router's access token check.
    wkd::router(core.clone()).merge(wildduck::router(core, settings))
}
