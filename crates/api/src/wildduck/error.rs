//! The one mapping from failures to WildDuck's wire errors: `{"error": msg, "code": code}` with
//! an HTTP status, plus `details` (`{field: msg}`) for input validation errors.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use sealpost_core::Error;
use serde::Serialize;
use std::borrow::Cow;
use std::collections::BTreeMap;
use utoipa::ToSchema;

/// Code of every input validation failure, as WildDuck's Joi validation answers.
pub const INPUT_VALIDATION: &str = "InputValidationError";

/// The JSON body of every failed request.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ErrorBody {
    /// Human readable message.
    #[schema(example = "This user does not exist")]
    pub error: String,
    /// Stable machine readable code.
    #[schema(example = "UserNotFound")]
    pub code: String,
    /// For validation errors: message per offending parameter.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub details: Option<BTreeMap<String, String>>,
}

/// A failed request: status, code, message and optional per-field details.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: Cow<'static, str>,
    pub message: String,
    pub details: Option<BTreeMap<String, String>>,
}

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    pub fn new(
        status: StatusCode,
        code: impl Into<Cow<'static, str>>,
        message: impl Into<String>,
    ) -> Self {
        ApiError {
            status,
            code: code.into(),
            message: message.into(),
            details: None,
        }
    }

    /// 400 `InputValidationError` about one parameter.
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        let message = message.into();
        let mut details = BTreeMap::new();
        details.insert(field.to_string(), message.clone());
        ApiError {
            status: StatusCode::BAD_REQUEST,
            code: INPUT_VALIDATION.into(),
            message,
            details: Some(details),
        }
    }

    /// 400 `InputValidationError` not tied to one parameter.
    pub fn bad_request(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::BAD_REQUEST, INPUT_VALIDATION, message)
    }

    pub fn not_found() -> Self {
        ApiError::new(StatusCode::NOT_FOUND, "NotFound", "Not found")
    }

    pub fn too_large(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "TooLarge", message)
    }

    pub fn unsupported_media_type(message: impl Into<String>) -> Self {
        ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "UnsupportedMediaType",
            message,
        )
    }

    pub fn internal() -> Self {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalError",
            "Internal server error",
        )
    }

    pub fn body(&self) -> ErrorBody {
        ErrorBody {
            error: self.message.clone(),
            code: self.code.to_string(),
            details: self.details.clone(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = self.body();
        (self.status, axum::Json(body)).into_response()
    }
}

/// Picks the `...NotFound` code from a core `NotFound` message. Core messages name the thing
/// that is missing ("This mailbox does not exist", "Message 444 not found"); the most specific
/// noun wins, so "message ... in mailbox" is a missing message.
pub fn not_found_code(message: &str) -> &'static str {
    let m = message.to_ascii_lowercase();
    if m.contains("dkim") {
        "DkimNotFound"
    } else if m.contains("asp key") {
        "AspNotFound"
    } else if m.starts_with("event ") {
        "EventNotFound"
    } else if m.contains("alias") {
        "AliasNotFound"
    } else if m.contains("attachment") {
        "AttachmentNotFound"
    } else if m.contains("filter") {
        "FilterNotFound"
    } else if m.contains("message") {
        "MessageNotFound"
    } else if m.contains("mailbox") || m.contains("folder") {
        "MailboxNotFound"
    } else if m.contains("address") {
        "AddressNotFound"
    } else if m.contains("user") || m.contains("account") {
        "UserNotFound"
    } else {
        "NotFound"
    }
}

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        match e {
            Error::Validation {
                message,
                field: Some(field),
            } => ApiError::invalid(field, message),
            Error::Validation {
                message,
                field: None,
            } => ApiError::bad_request(message),
            Error::NotFound(message) => {
                ApiError::new(StatusCode::NOT_FOUND, not_found_code(&message), message)
            }
            Error::AuthFailed => {
                ApiError::new(StatusCode::FORBIDDEN, "AuthFailed", "Authentication failed")
            }
            // WildDuck answers conflicts and refused operations with 400 and a specific code.
            Error::Conflict { message, code } => {
                ApiError::new(StatusCode::BAD_REQUEST, code, message)
            }
            Error::Forbidden { message, code } => {
                let status = match code {
                    "InvalidToken" | "AuthExpired" | "BadPassword" => StatusCode::FORBIDDEN,
                    "RateLimitedError" => StatusCode::TOO_MANY_REQUESTS,
                    _ => StatusCode::BAD_REQUEST,
                };
                ApiError::new(status, code, message)
            }
            e @ Error::OverQuota => {
                ApiError::new(StatusCode::FORBIDDEN, "OverQuotaError", e.to_string())
            }
            Error::TooLarge(message) => ApiError::too_large(message),
            Error::Internal(detail) => {
                tracing::error!(error = %detail, "request failed");
                ApiError::internal()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json(e: ApiError) -> (u16, serde_json::Value) {
        (e.status.as_u16(), serde_json::to_value(e.body()).unwrap())
    }

    #[test]
    fn validation_with_field_has_details() {
        let (status, body) = json(Error::validation("Invalid username", "username").into());
        assert_eq!(status, 400);
        assert_eq!(
            body,
            serde_json::json!({"error": "Invalid username", "code": "InputValidationError",
                "details": {"username": "Invalid username"}})
        );
    }

    #[test]
    fn validation_without_field_has_no_details() {
        let (status, body) = json(
            Error::Validation {
                message: "bad".into(),
                field: None,
            }
            .into(),
        );
        assert_eq!(status, 400);
        assert_eq!(
            body,
            serde_json::json!({"error": "bad", "code": "InputValidationError"})
        );
    }

    #[test]
    fn not_found_codes_follow_the_message() {
        for (msg, code) in [
            ("This user does not exist", "UserNotFound"),
            ("Mailbox not found", "MailboxNotFound"),
            ("Message 444 not found in mailbox", "MessageNotFound"),
            ("Attachment ATT00002 not found", "AttachmentNotFound"),
            ("Invalid or unknown address", "AddressNotFound"),
            ("This filter does not exist", "FilterNotFound"),
            ("Nothing here", "NotFound"),
        ] {
            let (status, body) = json(Error::not_found(msg).into());
            assert_eq!(status, 404);
            assert_eq!(body["code"], code, "{msg}");
            assert_eq!(body["error"], msg);
        }
    }

    #[test]
    fn other_variants() {
        let (s, b) = json(Error::AuthFailed.into());
        assert_eq!(
            (s, b["code"].as_str(), b["error"].as_str()),
            (403, Some("AuthFailed"), Some("Authentication failed"))
        );
        let (s, b) = json(
            Error::Conflict {
                message: "exists".into(),
                code: "UserExistsError",
            }
            .into(),
        );
        assert_eq!((s, b["code"].as_str()), (400, Some("UserExistsError")));
        let (s, b) = json(
            Error::Forbidden {
                message: "no".into(),
                code: "CannotDelete",
            }
            .into(),
        );
        assert_eq!((s, b["code"].as_str()), (400, Some("CannotDelete")));
        let (s, b) = json(Error::OverQuota.into());
        assert_eq!((s, b["code"].as_str()), (403, Some("OverQuotaError")));
        let (s, b) = json(Error::TooLarge("too big".into()).into());
        assert_eq!((s, b["code"].as_str()), (413, Some("TooLarge")));
        let (s, b) = json(Error::Internal("disk on fire".into()).into());
        assert_eq!((s, b["code"].as_str()), (500, Some("InternalError")));
        assert!(
            !b["error"].as_str().unwrap().contains("disk"),
            "internal details must not leak"
        );
    }
}
