//! Layers around the whole WildDuck router: the singular `/user/...` alias and trailing slash
//! rewrite, turning every error response into our JSON shape (404, 405, ...), and answering a
//! handler panic with a 500 instead of a dropped connection.

use super::error::{ApiError, INPUT_VALIDATION};
use super::extract::{BodyKind, body_kind, read_body};
use axum::extract::Request;
use axum::http::uri::{PathAndQuery, Uri};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// The canonical form of a request path, when it differs: the spec's headings use
/// `/user/{user}/...` for some routes, which we serve as `/users/{user}/...`, and a trailing
/// slash is ignored (as restify does).
pub fn canonical_path(path: &str) -> Option<String> {
    let mut out = match path.strip_prefix("/user/") {
        Some(rest) => format!("/users/{rest}"),
        None => path.to_string(),
    };
    while out.len() > 1 && out.ends_with('/') {
        out.pop();
    }
    (out != path).then_some(out)
}

fn rewrite_uri(uri: &Uri) -> Option<Uri> {
    let path = canonical_path(uri.path())?;
    let path_and_query = match uri.query() {
        Some(q) => format!("{path}?{q}"),
        None => path,
    };
    let mut parts = uri.clone().into_parts();
    parts.path_and_query = Some(PathAndQuery::try_from(path_and_query).ok()?);
    Uri::from_parts(parts).ok()
}

/// Middleware: rewrites aliases before routing.
pub async fn rewrite_aliases(mut req: Request, next: Next) -> Response {
    if let Some(uri) = rewrite_uri(req.uri()) {
        *req.uri_mut() = uri;
    }
    next.run(req).await
}

/// Code for an error response some layer produced without our JSON body.
fn code_for(status: StatusCode) -> String {
    match status {
        StatusCode::BAD_REQUEST | StatusCode::UNPROCESSABLE_ENTITY => INPUT_VALIDATION.to_string(),
        StatusCode::NOT_FOUND => "NotFound".into(),
        StatusCode::PAYLOAD_TOO_LARGE => "TooLarge".into(),
        StatusCode::INTERNAL_SERVER_ERROR => "InternalError".into(),
        other => other
            .canonical_reason()
            .unwrap_or("HttpError")
            .split_whitespace()
            .collect::<String>()
            .replace('-', ""),
    }
}

fn default_message(status: StatusCode) -> String {
    match status {
        StatusCode::NOT_FOUND => "Not found".into(),
        StatusCode::METHOD_NOT_ALLOWED => "Method not allowed".into(),
        other => other
            .canonical_reason()
            .unwrap_or("Request failed")
            .to_string(),
    }
}

/// Middleware: any error response that is not already JSON (axum's empty 404/405, a plain text
/// rejection) gets our `{"error", "code"}` body; its status and other headers (`Allow`) stay.
pub async fn json_errors(req: Request, next: Next) -> Response {
    let res = next.run(req).await;
    let status = res.status();
    if !(status.is_client_error() || status.is_server_error())
        || body_kind(res.headers()) == BodyKind::Json
    {
        return res;
    }
    let (mut parts, body) = res.into_parts();
    let text = read_body(body, 1024)
        .await
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .unwrap_or_default();
    let text = text.trim();
    let message = if text.is_empty() || status == StatusCode::INTERNAL_SERVER_ERROR {
        default_message(status)
    } else {
        text.to_string()
    };
    let fresh = ApiError::new(status, code_for(status), message).into_response();
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json"),
    );
    let (_, body) = fresh.into_parts();
    Response::from_parts(parts, body)
}

/// Middleware: runs the rest of the stack in its own task so a panic becomes a 500 JSON answer.
/// The task also finishes a started write (an upload) when the client goes away mid-request.
pub async fn catch_panics(req: Request, next: Next) -> Response {
    match tokio::spawn(next.run(req)).await {
        Ok(res) => res,
        Err(e) => {
            tracing::error!(error = %e, "request handler panicked");
            ApiError::internal().into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aliases_and_trailing_slashes() {
        assert_eq!(
            canonical_path("/user/abc/mailboxes").as_deref(),
            Some("/users/abc/mailboxes")
        );
        assert_eq!(
            canonical_path("/user/abc/flagged/").as_deref(),
            Some("/users/abc/flagged")
        );
        assert_eq!(canonical_path("/users/").as_deref(), Some("/users"));
        assert_eq!(canonical_path("/users"), None);
        assert_eq!(canonical_path("/"), None);
        assert_eq!(canonical_path("/user"), None);
        assert_eq!(canonical_path("/usersx/a"), None);
    }

    #[test]
    fn uri_keeps_query() {
        let uri: Uri = "/user/abc/search?query=x%20y&limit=5".parse().unwrap();
        assert_eq!(
            rewrite_uri(&uri).unwrap().to_string(),
            "/users/abc/search?query=x%20y&limit=5"
        );
        let uri: Uri = "/users/abc".parse().unwrap();
        assert!(rewrite_uri(&uri).is_none());
    }

    #[test]
    fn codes() {
        assert_eq!(code_for(StatusCode::METHOD_NOT_ALLOWED), "MethodNotAllowed");
        assert_eq!(code_for(StatusCode::NOT_FOUND), "NotFound");
        assert_eq!(
            code_for(StatusCode::UNSUPPORTED_MEDIA_TYPE),
            "UnsupportedMediaType"
        );
        assert_eq!(
            code_for(StatusCode::UNPROCESSABLE_ENTITY),
            "InputValidationError"
        );
    }
}
