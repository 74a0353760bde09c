//! The OX Guard key-management API under `/guard`: login and `auth` tokens, key passwords,
//! the secondary address and password resets (`/guard/login/...`), the user's key rings
//! (`/guard/keys/...`). Each action is `/guard/{module}/{action}`; OX clients' spelling
//! `/guard/{module}?action={action}` is rewritten to it before routing.
//!
//! Every action but the login needs a session (see [`session`]); successful answers are
//! Guard's shapes (mostly `{"data": ...}`), failures OX's error object (see [`error`]).
//! These routes do not need the admin access token: a session authenticates them.

pub mod error;
pub mod external_keys;
pub mod keys;
pub mod login;
pub mod params;
pub mod session;

use axum::Router;
use axum::extract::Request;
use axum::http::uri::{PathAndQuery, Uri};
use axum::middleware::{Next, from_fn};
use axum::response::{IntoResponse, Json, Response};
use sealpost_core::Core;
use serde::Serialize;
use tower::ServiceBuilder;

/// Path prefix of the Guard API.
pub const PREFIX: &str = "/guard";

/// What every Guard handler gets.
#[derive(Clone)]
pub struct GuardState {
    pub core: Core,
}

/// Guard's success envelope: `{"data": ...}`.
#[derive(Debug, Serialize)]
pub struct Data<T> {
    pub data: T,
}

pub fn data<T: Serialize>(value: T) -> Response {
    Json(Data { data: value }).into_response()
}

/// "An empty response": `{"data": {}}`.
pub fn empty() -> Response {
    data(serde_json::json!({}))
}

/// The actions, relative to [`PREFIX`].
fn routes() -> Router<GuardState> {
    Router::new()
        .merge(login::routes())
        .merge(keys::routes())
        .merge(external_keys::routes())
}

/// The Guard router, to be mounted at [`PREFIX`] with `nest_service`.
pub fn router(core: Core) -> Router {
    let inner = routes()
        .fallback(|| async { error::GuardError::not_found() })
        .with_state(GuardState { core });
    let service = ServiceBuilder::new()
        .layer(from_fn(rewrite_action))
        .service(inner);
    Router::new().nest_service(PREFIX, service)
}

/// `/{module}?action=x&...` → `/{module}/x?...`.
fn action_uri(uri: &Uri) -> Option<Uri> {
    let module = uri.path().trim_matches('/');
    if module.is_empty() || module.contains('/') {
        return None;
    }
    let query = uri.query()?;
    let mut action = None;
    let mut rest = Vec::new();
    for kv in query.split('&') {
        match kv.strip_prefix("action=") {
            Some(a) if action.is_none() => action = Some(a),
            _ => rest.push(kv),
        }
    }
    let action = action
        .filter(|a| !a.is_empty() && a.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'))?;
    let pq = if rest.is_empty() {
        format!("/{module}/{action}")
    } else {
        format!("/{module}/{action}?{}", rest.join("&"))
    };
    let mut parts = uri.clone().into_parts();
    parts.path_and_query = Some(PathAndQuery::try_from(pq).ok()?);
    Uri::from_parts(parts).ok()
}

async fn rewrite_action(mut req: Request, next: Next) -> Response {
    if let Some(uri) = action_uri(req.uri()) {
        *req.uri_mut() = uri;
    }
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn action_rewrite() {
        let r = |s: &str| action_uri(&s.parse().unwrap()).map(|u| u.to_string());
        assert_eq!(
            r("/keys?action=getKeys&session=ab").as_deref(),
            Some("/keys/getKeys?session=ab")
        );
        assert_eq!(r("/login?action=login").as_deref(), Some("/login/login"));
        assert_eq!(r("/keys/getKeys?action=x"), None);
        assert_eq!(r("/keys?session=a"), None);
        assert_eq!(r("/keys?action=../x"), None);
    }
}
