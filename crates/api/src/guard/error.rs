//! The one mapping from failures to Guard's wire errors: OX's error object
//! (`error`, `error_params`, `error_id`, `error_desc`, `code`, `categories`, `category`) with
//! a 4xx status (5xx only for failures of the server itself, whose details are logged).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use sealpost_core::Error;
use serde::Serialize;
use std::borrow::Cow;

/// A failed Guard request.
#[derive(Debug, Clone)]
pub struct GuardError {
    pub status: StatusCode,
    pub code: Cow<'static, str>,
    pub message: String,
}

pub type GuardResult<T> = Result<T, GuardError>;

/// The JSON body of a failed request, as OX answers.
#[derive(Debug, Serialize)]
pub struct ErrorObject {
    pub error: String,
    pub error_params: Vec<String>,
    pub error_id: String,
    pub error_desc: String,
    pub code: String,
    pub categories: &'static str,
    pub category: u8,
}

impl GuardError {
    pub fn new(
        status: StatusCode,
        code: impl Into<Cow<'static, str>>,
        message: impl Into<String>,
    ) -> Self {
        GuardError {
            status,
            code: code.into(),
            message: message.into(),
        }
    }

    /// 400 `InputValidationError`.
    pub fn invalid(message: impl Into<String>) -> Self {
        GuardError::new(StatusCode::BAD_REQUEST, "InputValidationError", message)
    }

    pub fn not_found() -> Self {
        GuardError::new(StatusCode::NOT_FOUND, "NotFound", "Unknown Guard action")
    }

    /// OX's category of the error (its name and number).
    fn category(&self) -> (&'static str, u8) {
        match self.status.as_u16() {
            401 | 403 => ("PERMISSION_DENIED", 3),
            429 => ("TRY_AGAIN", 4),
            500.. => ("ERROR", 8),
            _ => ("USER_INPUT", 1),
        }
    }

    pub fn body(&self) -> ErrorObject {
        let (categories, category) = self.category();
        use rand::RngCore;
        let id = rand::thread_rng().next_u32();
        ErrorObject {
            error: self.message.clone(),
            error_params: Vec::new(),
            error_id: format!("{id}-{}", self.status.as_u16()),
            error_desc: self.message.clone(),
            code: self.code.to_string(),
            categories,
            category,
        }
    }
}

impl IntoResponse for GuardError {
    fn into_response(self) -> Response {
        let body = self.body();
        (self.status, axum::Json(body)).into_response()
    }
}

impl From<Error> for GuardError {
    fn from(e: Error) -> Self {
        match e {
            Error::Validation { message, .. } => GuardError::invalid(message),
            Error::NotFound(message) => GuardError::new(StatusCode::NOT_FOUND, "NotFound", message),
            Error::AuthFailed => GuardError::new(
                StatusCode::FORBIDDEN,
                "BadPassword",
                "Authentication failed",
            ),
            Error::Conflict { message, code } => {
                GuardError::new(StatusCode::CONFLICT, code, message)
            }
            Error::Forbidden { message, code } => {
                let status = match code {
                    "SessionExpired" => StatusCode::UNAUTHORIZED,
                    "RateLimitedError" => StatusCode::TOO_MANY_REQUESTS,
                    "BadPassword" | "AuthExpired" | "NoRecovery" => StatusCode::FORBIDDEN,
                    _ => StatusCode::BAD_REQUEST,
                };
                GuardError::new(status, code, message)
            }
            e @ Error::OverQuota => {
                GuardError::new(StatusCode::FORBIDDEN, "OverQuota", e.to_string())
            }
            Error::TooLarge(message) => {
                GuardError::new(StatusCode::PAYLOAD_TOO_LARGE, "TooLarge", message)
            }
            Error::Internal(detail) => {
                tracing::error!(error = %detail, "Guard request failed");
                GuardError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "InternalError",
                    "Internal server error",
                )
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shape() {
        let e: GuardError = Error::Forbidden {
            message: "Invalid or expired session".into(),
            code: "SessionExpired",
        }
        .into();
        assert_eq!(e.status, StatusCode::UNAUTHORIZED);
        let v = serde_json::to_value(e.body()).unwrap();
        assert_eq!(v["code"], "SessionExpired");
        assert_eq!(v["error"], "Invalid or expired session");
        assert_eq!(v["categories"], "PERMISSION_DENIED");
        assert_eq!(v["category"], 3);
        assert!(v["error_params"].as_array().unwrap().is_empty());
        assert!(v["error_id"].as_str().unwrap().ends_with("-401"));
        let e: GuardError = Error::Internal("disk on fire".into()).into();
        assert!(!serde_json::to_string(&e.body()).unwrap().contains("disk"));
    }
}
