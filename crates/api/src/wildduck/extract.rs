//! Extractors that turn every client mistake into our JSON error: query strings, JSON bodies
//! (with a size limit) and path parameters (24-hex ids, UIDs, UID sets, attachment ids).

use super::error::{ApiError, ApiResult};
use axum::body::{Body, HttpBody};
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, RawPathParams, Request};
use axum::http::{HeaderMap, header, request::Parts};
use sealpost_core::{ObjectId, UidSelector};
use serde::de::DeserializeOwned;
use std::pin::Pin;

/// Largest JSON body accepted (the raw message upload has its own, larger limit).
pub const JSON_BODY_LIMIT: usize = 1024 * 1024;

// ---- query ----

/// Query string parameters; a malformed query string is a 400 `InputValidationError`.
pub struct QueryArgs<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for QueryArgs<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> ApiResult<Self> {
        axum::extract::Query::<T>::try_from_uri(&parts.uri)
            .map(|q| QueryArgs(q.0))
            .map_err(query_rejection)
    }
}

fn query_rejection(rejection: QueryRejection) -> ApiError {
    let text = rejection.body_text();
    let text = text
        .strip_prefix("Failed to deserialize query string: ")
        .unwrap_or(&text);
    match split_path(text) {
        Some((field, message)) => ApiError::invalid(field, format!("\"{field}\" {message}")),
        None => ApiError::bad_request(format!("Invalid query string: {text}")),
    }
}

// ---- JSON body ----

/// A JSON request body. An empty body reads as `{}` (WildDuck takes parameters from an empty
/// body too); a body with another content type is a 415, a syntax or type error a 400, a body
/// over [`JSON_BODY_LIMIT`] a 413.
pub struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, _: &S) -> ApiResult<Self> {
        match body_kind(req.headers()) {
            BodyKind::Json | BodyKind::Unspecified => {}
            _ => {
                return Err(ApiError::unsupported_media_type(
                    "Expected request with Content-Type: application/json",
                ));
            }
        }
        let bytes = read_body(req.into_body(), JSON_BODY_LIMIT).await?;
        parse_json(&bytes).map(JsonBody)
    }
}

/// Parses a JSON body; blank means `{}`.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> ApiResult<T> {
    let bytes: &[u8] = if bytes.iter().all(u8::is_ascii_whitespace) {
        b"{}"
    } else {
        bytes
    };
    axum::Json::<T>::from_bytes(bytes)
        .map(|j| j.0)
        .map_err(json_rejection)
}

fn json_rejection(rejection: JsonRejection) -> ApiError {
    let text = rejection.body_text();
    match rejection {
        JsonRejection::JsonDataError(_) => {
            let text = text
                .strip_prefix("Failed to deserialize the JSON body into the target type: ")
                .unwrap_or(&text);
            let text = strip_position(text);
            if let Some((field, message)) = split_path(text) {
                return ApiError::invalid(field, format!("\"{field}\" {message}"));
            }
            if let Some(field) = missing_field(text) {
                return ApiError::invalid(field, format!("\"{field}\" is required"));
            }
            ApiError::bad_request(format!("Invalid request body: {text}"))
        }
        JsonRejection::JsonSyntaxError(_) => {
            let text = text
                .strip_prefix("Failed to parse the request body as JSON: ")
                .unwrap_or(&text);
            ApiError::bad_request(format!(
                "Request body is not valid JSON: {}",
                strip_position(text)
            ))
        }
        _ => ApiError::bad_request(text),
    }
}

/// `"quota: invalid type ..."` → `("quota", "invalid type ...")`, when the part before the
/// colon is a field path (no spaces).
fn split_path(text: &str) -> Option<(&str, &str)> {
    let (path, message) = text.split_once(": ")?;
    let ok = !path.is_empty() && path != "." && !path.contains(' ');
    ok.then_some((path, message))
}

fn missing_field(text: &str) -> Option<&str> {
    let rest = text.strip_prefix("missing field `")?;
    rest.split_once('`').map(|(field, _)| field)
}

/// Drops serde_json's " at line 1 column 15".
fn strip_position(text: &str) -> &str {
    match text.rfind(" at line ") {
        Some(i) if text[i..].contains(" column ") => &text[..i],
        _ => text,
    }
}

/// What a request body says it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyKind {
    /// No Content-Type header.
    Unspecified,
    Json,
    /// `message/rfc822`, `application/octet-stream` or `text/plain`: a raw message.
    RawMessage,
    Other,
}

pub fn body_kind(headers: &HeaderMap) -> BodyKind {
    let Some(value) = headers.get(header::CONTENT_TYPE) else {
        return BodyKind::Unspecified;
    };
    let Ok(value) = value.to_str() else {
        return BodyKind::Other;
    };
    let essence = value
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    match essence.as_str() {
        "" => BodyKind::Unspecified,
        "application/json" => BodyKind::Json,
        "message/rfc822" | "application/octet-stream" | "text/plain" => BodyKind::RawMessage,
        e if e.starts_with("application/") && e.ends_with("+json") => BodyKind::Json,
        _ => BodyKind::Other,
    }
}

/// Reads a whole body, refusing (413) once it grows past `limit` bytes.
pub async fn read_body(mut body: Body, limit: usize) -> ApiResult<Vec<u8>> {
    let too_large = || {
        ApiError::too_large(format!(
            "Request body is larger than the allowed {limit} bytes"
        ))
    };
    if body.size_hint().lower() > limit as u64 {
        return Err(too_large());
    }
    let mut buf: Vec<u8> = Vec::new();
    while let Some(frame) = std::future::poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await {
        let frame = frame
            .map_err(|e| ApiError::bad_request(format!("Failed to read request body: {e}")))?;
        if let Ok(data) = frame.into_data() {
            if buf.len() + data.len() > limit {
                return Err(too_large());
            }
            buf.extend_from_slice(&data);
        }
    }
    Ok(buf)
}

// ---- path ----

/// The route's path parameters, read by name and validated per kind.
pub struct PathArgs(Vec<(String, String)>);

impl<S: Send + Sync> FromRequestParts<S> for PathArgs {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> ApiResult<Self> {
        let raw = RawPathParams::from_request_parts(parts, state)
            .await
            .map_err(|e| ApiError::bad_request(format!("Invalid path: {}", e.body_text())))?;
        Ok(PathArgs(
            raw.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        ))
    }
}

impl PathArgs {
    #[cfg(test)]
    pub fn from_pairs(pairs: &[(&str, &str)]) -> Self {
        PathArgs(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    fn get(&self, name: &str) -> ApiResult<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .ok_or_else(|| ApiError::invalid(name, format!("\"{name}\" is required")))
    }

    /// A path segment as given (already percent-decoded).
    pub fn str(&self, name: &str) -> ApiResult<&str> {
        self.get(name)
    }

    /// A 24-hex object id (user, mailbox, address, ...).
    pub fn id(&self, name: &str) -> ApiResult<ObjectId> {
        parse_id(name, self.get(name)?)
    }

    /// One message UID.
    pub fn uid(&self, name: &str) -> ApiResult<i64> {
        match UidSelector::parse(self.get(name)?) {
            Some(UidSelector::List(list)) if list.len() == 1 => Ok(list[0]),
            _ => Err(ApiError::invalid(
                name,
                format!("\"{name}\" must be a message id (a positive integer)"),
            )),
        }
    }

    /// A UID, a comma separated list of UIDs, or a range `444:446`.
    pub fn uids(&self, name: &str) -> ApiResult<UidSelector> {
        UidSelector::parse(self.get(name)?).ok_or_else(|| {
            ApiError::invalid(
                name,
                format!(
                    "\"{name}\" must be a message id, a comma separated list of ids or a range"
                ),
            )
        })
    }

    /// An attachment id such as `ATT00001` (case-insensitive), upper-cased.
    pub fn attachment(&self, name: &str) -> ApiResult<String> {
        let v = self.get(name)?;
        let digits = v.get(3..).unwrap_or("");
        if v.len() <= 16
            && v.get(..3).is_some_and(|p| p.eq_ignore_ascii_case("att"))
            && !digits.is_empty()
            && digits.bytes().all(|b| b.is_ascii_digit())
        {
            Ok(v.to_ascii_uppercase())
        } else {
            Err(ApiError::invalid(
                name,
                format!("\"{name}\" must be an attachment id such as ATT00001"),
            ))
        }
    }
}

/// A client-supplied 24-hex id named `field`.
pub fn parse_id(field: &str, value: &str) -> ApiResult<ObjectId> {
    ObjectId::parse(value.trim()).ok_or_else(|| {
        ApiError::invalid(
            field,
            format!("\"{field}\" must be a 24 character hexadecimal id"),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Input {
        username: String,
        #[serde(default, deserialize_with = "super::super::de::opt_count")]
        quota: Option<i64>,
    }

    #[test]
    fn json_errors_name_the_field() {
        let e = parse_json::<Input>(br#"{"username":"a","quota":"lots"}"#).unwrap_err();
        assert_eq!(e.status.as_u16(), 400);
        assert_eq!(e.code, "InputValidationError");
        assert_eq!(e.message, "\"quota\" must be a number");
        assert_eq!(e.details.unwrap()["quota"], "\"quota\" must be a number");

        let e = parse_json::<Input>(br#"{"quota":1}"#).unwrap_err();
        assert_eq!(e.message, "\"username\" is required");
        assert!(e.details.unwrap().contains_key("username"));

        let e = parse_json::<Input>(br#"{"username":5}"#).unwrap_err();
        assert!(e.details.unwrap().contains_key("username"));

        let e = parse_json::<Input>(br#"{"username":"#).unwrap_err();
        assert_eq!(e.status.as_u16(), 400);
        assert!(
            e.message.starts_with("Request body is not valid JSON"),
            "{}",
            e.message
        );

        let e = parse_json::<Input>(b"[1,2]").unwrap_err();
        assert_eq!(e.status.as_u16(), 400);
    }

    #[test]
    fn blank_json_body_is_an_empty_object() {
        #[derive(Deserialize)]
        struct Empty {}
        assert!(parse_json::<Empty>(b"").is_ok());
        assert!(parse_json::<Empty>(b"  \n").is_ok());
    }

    #[test]
    fn body_kinds() {
        let kind = |ct: &str| {
            let mut h = HeaderMap::new();
            h.insert(header::CONTENT_TYPE, ct.parse().unwrap());
            body_kind(&h)
        };
        assert_eq!(body_kind(&HeaderMap::new()), BodyKind::Unspecified);
        assert_eq!(kind("application/json; charset=utf-8"), BodyKind::Json);
        assert_eq!(kind("Application/JSON"), BodyKind::Json);
        assert_eq!(kind("application/vnd.api+json"), BodyKind::Json);
        assert_eq!(kind("message/rfc822"), BodyKind::RawMessage);
        assert_eq!(kind("text/plain; charset=us-ascii"), BodyKind::RawMessage);
        assert_eq!(kind("application/x-www-form-urlencoded"), BodyKind::Other);
    }

    #[tokio::test]
    async fn body_limit_is_enforced() {
        assert_eq!(read_body(Body::from("hello"), 5).await.unwrap(), b"hello");
        let e = read_body(Body::from("hello!"), 5).await.unwrap_err();
        assert_eq!(e.status.as_u16(), 413);
        assert_eq!(e.code, "TooLarge");
    }

    #[test]
    fn path_params() {
        let p = PathArgs::from_pairs(&[
            ("user", "59FC66A03E54454869460E45"),
            ("bad", "xyz"),
            ("message", "444"),
            ("set", "444:446"),
            ("list", "1,2,3"),
            ("attachment", "att00001"),
        ]);
        assert_eq!(p.id("user").unwrap().as_str(), "59fc66a03e54454869460e45");
        let e = p.id("bad").unwrap_err();
        assert_eq!(e.status.as_u16(), 400);
        assert!(e.details.unwrap().contains_key("bad"));
        assert_eq!(p.uid("message").unwrap(), 444);
        assert!(p.uid("set").is_err());
        assert!(p.uid("list").is_err());
        assert_eq!(p.uids("set").unwrap(), UidSelector::Range(444, 446));
        assert_eq!(p.uids("list").unwrap(), UidSelector::List(vec![1, 2, 3]));
        assert!(p.uids("bad").is_err());
        assert_eq!(p.attachment("attachment").unwrap(), "ATT00001");
        assert!(p.attachment("message").is_err());
        assert!(p.id("missing").is_err());
    }

    #[test]
    fn uid_selector_edges() {
        let p =
            PathArgs::from_pairs(&[("a", "0"), ("b", "-1"), ("c", "99999999999"), ("d", "1,,2")]);
        for name in ["a", "b", "c", "d"] {
            assert!(p.uids(name).is_err(), "{name}");
        }
    }
}
