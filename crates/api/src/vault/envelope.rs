//! passbolt's envelope: `{"header": {id, status, servertime, action, message, url, code},
//! "body"}` on every answer. Handlers return a [`Reply`] or a [`VaultFailure`]; both leave
//! their parts in the response's extensions, and [`finish`] (which knows the request path)
//! writes the envelope, the GPGAuth URL headers and, for failures, the GPGAuth error
//! headers. One place maps core's errors to HTTP statuses.

use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sealpost_core::vault::{VaultError, VaultId};

/// A successful answer: its body (serialised JSON), message, status and extra headers.
pub struct Reply {
    pub status: StatusCode,
    pub message: String,
    pub body: Vec<u8>,
    pub headers: Vec<(&'static str, String)>,
}

impl Reply {
    pub fn ok(body: serde_json::Value) -> Self {
        Self::json(&body)
    }

    /// A body serialised straight from `T`, without a `serde_json::Value` tree (large
    /// listings).
    pub fn json<T: serde::Serialize + ?Sized>(body: &T) -> Self {
        Reply {
            status: StatusCode::OK,
            message: "The operation was successful.".into(),
            // Serialising our own types (strings, numbers, maps with string keys) cannot fail.
            body: serde_json::to_vec(body).unwrap_or_else(|_| b"null".to_vec()),
            headers: Vec::new(),
        }
    }

    pub fn message(mut self, m: &str) -> Self {
        self.message = m.to_string();
        self
    }

    pub fn header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }
}

/// A failed answer.
#[derive(Debug)]
pub struct VaultFailure(pub VaultError);

impl From<VaultError> for VaultFailure {
    fn from(e: VaultError) -> Self {
        VaultFailure(e)
    }
}

/// What [`finish`] turns into the envelope; `body` is serialised JSON.
#[derive(Clone)]
struct Pending {
    status: StatusCode,
    ok: bool,
    message: String,
    body: Vec<u8>,
}

fn pending(p: Pending, headers: Vec<(&'static str, String)>) -> Response {
    let mut res = p.status.into_response();
    for (k, v) in headers {
        if let (Ok(k), Ok(v)) = (HeaderName::try_from(k), HeaderValue::try_from(v)) {
            res.headers_mut().append(k, v);
        }
    }
    res.extensions_mut().insert(p);
    res
}

impl IntoResponse for Reply {
    fn into_response(self) -> Response {
        pending(
            Pending {
                status: self.status,
                ok: true,
                message: self.message,
                body: self.body,
            },
            self.headers,
        )
    }
}

impl IntoResponse for VaultFailure {
    fn into_response(self) -> Response {
        let mut headers = Vec::new();
        let (status, body) = match &self.0 {
            VaultError::Validation { body, .. } => (StatusCode::BAD_REQUEST, body.clone()),
            VaultError::BadRequest(_) => (StatusCode::BAD_REQUEST, serde_json::Value::Null),
            VaultError::Unauthenticated => {
                headers.push(("x-gpgauth-authenticated", "false".to_string()));
                (StatusCode::UNAUTHORIZED, serde_json::Value::Null)
            }
            VaultError::Forbidden(_) | VaultError::MfaRequired => {
                (StatusCode::FORBIDDEN, serde_json::Value::Null)
            }
            VaultError::NotFound(_) => (StatusCode::NOT_FOUND, serde_json::Value::Null),
            VaultError::GpgAuth { debug, .. } => {
                headers.push(("x-gpgauth-authenticated", "false".to_string()));
                headers.push(("x-gpgauth-error", "true".to_string()));
                headers.push(("x-gpgauth-debug", debug.replace(['\r', '\n'], " ")));
                (StatusCode::BAD_REQUEST, serde_json::Value::Null)
            }
            VaultError::Throttled => (StatusCode::TOO_MANY_REQUESTS, serde_json::Value::Null),
            VaultError::Internal(m) => {
                tracing::error!(error = %m, "vault request failed");
                (StatusCode::INTERNAL_SERVER_ERROR, serde_json::Value::Null)
            }
        };
        let message = match &self.0 {
            VaultError::Internal(_) => "Internal error.".to_string(),
            other => other.to_string(),
        };
        pending(
            Pending {
                status,
                ok: false,
                message,
                body: serde_json::to_vec(&body).unwrap_or_else(|_| b"null".to_vec()),
            },
            headers,
        )
    }
}

pub type VaultReply = Result<Reply, VaultFailure>;

const URL_HEADERS: &[(&str, &str)] = &[
    ("x-gpgauth-version", "1.3.0"),
    ("x-gpgauth-login-url", "/vault/auth/login"),
    ("x-gpgauth-logout-url", "/vault/auth/logout"),
    ("x-gpgauth-verify-url", "/vault/auth/verify"),
    ("x-gpgauth-pubkey-url", "/vault/auth/verify.json"),
];

/// Middleware around the vault: writes the envelope and the GPGAuth URL headers.
pub async fn finish(req: Request, next: Next) -> Response {
    let url = req.uri().path().to_string();
    let mut res = next.run(req).await;
    let p = match res.extensions_mut().remove::<Pending>() {
        Some(p) => p,
        // Something below answered on its own (a body limit, a rejection).
        None if res.status().is_client_error() || res.status().is_server_error() => Pending {
            status: res.status(),
            ok: false,
            message: res
                .status()
                .canonical_reason()
                .unwrap_or("Error")
                .to_string(),
            body: b"null".to_vec(),
        },
        None => return res,
    };
    let header = serde_json::json!({
        "id": VaultId::new(),
        "status": if p.ok { "success" } else { "error" },
        "servertime": chrono::Utc::now().timestamp(),
        "action": VaultId::new(),
        "message": p.message,
        "url": url,
        "code": p.status.as_u16(),
    });
    // `{"header": ..., "body": ...}` around the body as it was serialised.
    let mut bytes = Vec::with_capacity(p.body.len() + 256);
    bytes.extend_from_slice(b"{\"header\":");
    bytes.extend_from_slice(&serde_json::to_vec(&header).unwrap_or_else(|_| b"null".to_vec()));
    bytes.extend_from_slice(b",\"body\":");
    bytes.extend_from_slice(&p.body);
    bytes.push(b'}');
    let (mut parts, _) = res.into_parts();
    parts.status = p.status;
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    for (k, v) in URL_HEADERS {
        parts.headers.insert(*k, HeaderValue::from_static(v));
    }
    Response::from_parts(parts, axum::body::Body::from(bytes))
}
