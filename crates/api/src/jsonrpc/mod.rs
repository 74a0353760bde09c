//! The JSON-RPC 2.0 provisioning API at `POST /v1/` (mailbox.org's): one call or a batch
//! (at most [`MAX_BATCH`]), notifications (no `id`: no answer), the `id` echoed as sent.
//! Every answer is HTTP 200, errors included, as mailbox.org's clients expect. Sessions
//! come from `auth` and travel in the `HPLS-AUTH` header; this API never needs the REST
//! access token. What each method does is in `methods.rs`; who may call it, and on which
//! objects, is decided by `core` (`sealpost_core::provisioning`).

pub mod error;
mod methods;
pub mod params;

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use error::RpcError;
use sealpost_core::Core;
use serde_json::{Map, Value, json};

/// Path prefix of the API (also public in the access-token check).
pub const PREFIX: &str = "/v1/";
/// The header carrying the Auth-ID.
pub const AUTH_HEADER: &str = "hpls-auth";
/// Calls in one batch at most.
pub const MAX_BATCH: usize = 100;
/// Largest request body, bytes.
pub const MAX_BODY: usize = 1 << 20;

#[derive(Clone)]
pub struct RpcState {
    pub core: Core,
}

pub fn router(core: Core) -> Router {
    Router::new()
        .route("/v1/", post(handle))
        .route("/v1", post(handle))
        .with_state(RpcState { core })
}

fn json_response(v: &Value) -> Response {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        v.to_string(),
    )
        .into_response()
}

/// Nothing to answer (only notifications): an empty 200.
fn empty_response() -> Response {
    StatusCode::OK.into_response()
}

fn error_object(id: Value, e: &RpcError) -> Value {
    json!({"jsonrpc": "2.0", "error": e, "id": id})
}

async fn handle(State(s): State<RpcState>, headers: HeaderMap, body: Body) -> Response {
    let bytes = match axum::body::to_bytes(body, MAX_BODY).await {
        Ok(b) => b,
        Err(_) => {
            return json_response(&error_object(
                Value::Null,
                &RpcError::parse(&format!(
                    "the request body is unreadable or over {MAX_BODY} bytes"
                )),
            ));
        }
    };
    let value: Value = match serde_json::from_slice(&bytes) {
        Ok(v) => v,
        Err(e) => {
            return json_response(&error_object(
                Value::Null,
                &RpcError::parse(&format!("not JSON ({e})")),
            ));
        }
    };
    let auth = headers
        .get(AUTH_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_string);
    let call = Call {
        core: &s.core,
        auth: auth.as_deref(),
    };
    match value {
        Value::Array(items) => {
            if items.is_empty() {
                return json_response(&error_object(
                    Value::Null,
                    &RpcError::invalid_request("an empty batch"),
                ));
            }
            if items.len() > MAX_BATCH {
                return json_response(&error_object(
                    Value::Null,
                    &RpcError::invalid_request(&format!(
                        "a batch of {} calls; at most {MAX_BATCH}",
                        items.len()
                    )),
                ));
            }
            let mut answers = Vec::with_capacity(items.len());
            for item in items {
                if let Some(a) = call.one(item).await {
                    answers.push(a);
                }
            }
            if answers.is_empty() {
                empty_response()
            } else {
                json_response(&Value::Array(answers))
            }
        }
        other => match call.one(other).await {
            Some(a) => json_response(&a),
            None => empty_response(),
        },
    }
}

/// What every call of one HTTP request shares.
pub(crate) struct Call<'a> {
    pub core: &'a Core,
    /// The `HPLS-AUTH` header.
    pub auth: Option<&'a str>,
}

impl Call<'_> {
    /// Answers one request object; `None` for a notification.
    async fn one(&self, item: Value) -> Option<Value> {
        let Value::Object(mut obj) = item else {
            return Some(error_object(
                Value::Null,
                &RpcError::invalid_request("a call must be an object"),
            ));
        };
        let id = obj.remove("id");
        let notification = id.is_none();
        let id = id.unwrap_or(Value::Null);
        if !matches!(id, Value::String(_) | Value::Number(_) | Value::Null) {
            return Some(error_object(
                Value::Null,
                &RpcError::invalid_request("id must be a string, a number or null"),
            ));
        }
        let (method, params) = match request_parts(&mut obj) {
            Ok(parts) => parts,
            Err(e) => return Some(error_object(id, &e)),
        };
        let outcome = match params::Params::from_member(params) {
            Ok(p) => self.dispatch(&method, p).await,
            Err(e) => Err(e),
        };
        if notification {
            return None;
        }
        Some(match outcome {
            Ok(result) => json!({"jsonrpc": "2.0", "result": result, "id": id}),
            Err(e) => error_object(id, &e),
        })
    }
}

/// `method` and `params` of a request object, after checking `jsonrpc`.
fn request_parts(obj: &mut Map<String, Value>) -> Result<(String, Option<Value>), RpcError> {
    if obj.get("jsonrpc").and_then(Value::as_str) != Some("2.0") {
        return Err(RpcError::invalid_request("jsonrpc must be \"2.0\""));
    }
    let method = match obj.remove("method") {
        Some(Value::String(m)) if !m.is_empty() && m.len() <= 100 => m,
        _ => return Err(RpcError::invalid_request("method must be a string")),
    };
    Ok((method, obj.remove("params")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_objects() {
        let mut o = json!({"jsonrpc": "2.0", "method": "hello.world", "params": ""})
            .as_object()
            .cloned()
            .unwrap();
        let (m, p) = request_parts(&mut o).unwrap();
        assert_eq!(m, "hello.world");
        assert_eq!(p, Some(json!("")));
        let mut o = json!({"jsonrpc": "1.0", "method": "x"})
            .as_object()
            .cloned()
            .unwrap();
        assert_eq!(
            request_parts(&mut o).unwrap_err().code,
            error::INVALID_REQUEST
        );
        let mut o = json!({"jsonrpc": "2.0", "method": 5})
            .as_object()
            .cloned()
            .unwrap();
        assert!(request_parts(&mut o).is_err());
    }
}
