//! The keys module (`/guard/keys/...`): the user's own key rings.

use super::error::GuardResult;
use super::session::GuardSession;
use super::{GuardState, data};
use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::any;
use serde_json::json;

pub fn routes() -> Router<GuardState> {
    Router::new().route("/keys/checkKeys", any(check_keys))
}

/// `hasPrivateKey` / `hasPublicKey`.
async fn check_keys(State(s): State<GuardState>, session: GuardSession) -> GuardResult<Response> {
    let (private, public) = s.core.guard_key_status(&session.user).await?;
    Ok(data(
        json!({"hasPrivateKey": private, "hasPublicKey": public}),
    ))
}
