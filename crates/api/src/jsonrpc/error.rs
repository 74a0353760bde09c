//! The one mapping from failures to JSON-RPC error objects (`{code, message}`), with the
//! codes of the JSON-RPC 2.0 specification, mailbox.org's `2` and `253`, and ours (1001 and
//! up). README's error-code table lists them all.

use sealpost_core::Error;
use sealpost_core::provisioning::{
    AUTH_ID_ERROR, DNS_ERROR, LEVEL_ERROR, NOT_EMPTY_ERROR, PLAN_LIMIT_ERROR,
};
use serde::Serialize;

/// The body is not JSON, or is over the size limit.
pub const PARSE_ERROR: i64 = -32700;
/// Not a valid request object (or batch).
pub const INVALID_REQUEST: i64 = -32600;
/// Unknown method, or one this server does not support.
pub const METHOD_NOT_FOUND: i64 = -32601;
/// A missing, unknown or bad parameter (the message names it).
pub const INVALID_PARAMS: i64 = -32602;
/// A failure of the server itself (details are logged).
pub const INTERNAL_ERROR: i64 = -32603;
/// mailbox.org: wrong user or password.
pub const ACCESS_DENIED: i64 = 2;
/// mailbox.org: missing, unknown or expired Auth-ID.
pub const AUTH_ID_INVALID: i64 = 253;
/// Ours: the session's level may not call this method (or set this field).
pub const LEVEL_DENIED: i64 = 1001;
/// Ours: the object named does not exist, or is not the session's.
pub const NOT_FOUND: i64 = 1002;
/// Ours: the object already exists (or the name is taken).
pub const ALREADY_EXISTS: i64 = 1003;
/// Ours: the plan's limit is reached.
pub const PLAN_LIMIT: i64 = 1004;
/// Ours: the domain still has mail users.
pub const NOT_EMPTY: i64 = 1005;
/// Ours: too many failed authentications from this client; try later.
pub const THROTTLED: i64 = 1006;
/// Ours: the change is not allowed on this object (e.g. a rule of the mail store).
pub const FORBIDDEN: i64 = 1007;
/// Ours: the mail user is over its quota.
pub const OVER_QUOTA: i64 = 1008;
/// Ours: a DNS lookup got no answer (timeout, SERVFAIL); try again later.
pub const DNS_FAILED: i64 = 1009;

/// A JSON-RPC error object.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct RpcError {
    pub code: i64,
    pub message: String,
}

pub type RpcResult<T> = Result<T, RpcError>;

impl RpcError {
    pub fn new(code: i64, message: impl Into<String>) -> Self {
        RpcError {
            code,
            message: message.into(),
        }
    }

    pub fn parse(why: &str) -> Self {
        RpcError::new(PARSE_ERROR, format!("Parse error: {why}"))
    }

    pub fn invalid_request(why: &str) -> Self {
        RpcError::new(INVALID_REQUEST, format!("Invalid Request: {why}"))
    }

    pub fn invalid_params(why: impl std::fmt::Display) -> Self {
        RpcError::new(INVALID_PARAMS, format!("Invalid params: {why}"))
    }

    pub fn auth_id() -> Self {
        RpcError::new(AUTH_ID_INVALID, "This Auth-ID is invalid")
    }
}

impl From<Error> for RpcError {
    fn from(e: Error) -> Self {
        match e {
            Error::Validation {
                message,
                field: Some(field),
            } if !message.contains(field) => {
                RpcError::invalid_params(format!("{field}: {message}"))
            }
            Error::Validation { message, .. } => RpcError::invalid_params(message),
            Error::NotFound(m) => RpcError::new(NOT_FOUND, m),
            Error::AuthFailed => RpcError::new(ACCESS_DENIED, "Access denied"),
            Error::Conflict { message, .. } => RpcError::new(ALREADY_EXISTS, message),
            Error::Forbidden { code, .. } if code == AUTH_ID_ERROR => RpcError::auth_id(),
            Error::Forbidden { message, code } => {
                let n = match code {
                    c if c == LEVEL_ERROR => LEVEL_DENIED,
                    c if c == PLAN_LIMIT_ERROR => PLAN_LIMIT,
                    c if c == NOT_EMPTY_ERROR => NOT_EMPTY,
                    c if c == DNS_ERROR => DNS_FAILED,
                    "RateLimitedError" => THROTTLED,
                    _ => FORBIDDEN,
                };
                RpcError::new(n, message)
            }
            Error::OverQuota => RpcError::new(OVER_QUOTA, "User is over quota"),
            Error::TooLarge(m) => RpcError::invalid_params(m),
            Error::Internal(m) => {
                tracing::error!(error = %m, "JSON-RPC call failed");
                RpcError::new(INTERNAL_ERROR, "Internal error")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mapping() {
        let e: RpcError = Error::validation("must be 1 to 1024 bytes", "password").into();
        assert_eq!(e.code, INVALID_PARAMS);
        assert!(e.message.contains("password"));
        let e: RpcError = Error::Forbidden {
            message: "x".into(),
            code: LEVEL_ERROR,
        }
        .into();
        assert_eq!(e.code, LEVEL_DENIED);
        assert_eq!(RpcError::from(Error::AuthFailed).code, ACCESS_DENIED);
        let e: RpcError = Error::Forbidden {
            message: "x".into(),
            code: AUTH_ID_ERROR,
        }
        .into();
        assert_eq!(e, RpcError::auth_id());
    }
}
