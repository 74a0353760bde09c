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
    wildduck::router(core, settings, siblings)
}
