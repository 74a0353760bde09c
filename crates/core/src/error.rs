//! The one error type of `core`; the edges (HTTP, IMAP, SMTP) map it to wire errors.

/// Errors returned by [`crate::Core`]. Every variant carries a message fit to show a client.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Client input failed validation; `field` names the parameter when there is one.
    #[error("{message}")]
    Validation {
        message: String,
        field: Option<&'static str>,
    },
    /// The thing named does not exist (or is not the caller's).
    #[error("{0}")]
    NotFound(String),
    /// Wrong credentials.
    #[error("Authentication failed")]
    AuthFailed,
    /// The request conflicts with stored state; `code` is a stable WildDuck-style code such as
    /// "UserExistsError", "AddressExistsError", "MailboxExistsError".
    #[error("{message}")]
    Conflict { message: String, code: &'static str },
    /// The operation is not allowed on this object (e.g. deleting INBOX).
    #[error("{message}")]
    Forbidden { message: String, code: &'static str },
    /// Storing this would exceed the user's quota.
    #[error("User is over quota")]
    OverQuota,
    /// The input is larger than the configured limit.
    #[error("{0}")]
    TooLarge(String),
    /// A failure of storage or of the machine; details are logged, not shown.
    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    pub fn validation(message: impl Into<String>, field: &'static str) -> Self {
        Error::Validation {
            message: message.into(),
            field: Some(field),
        }
    }
    pub fn not_found(message: impl Into<String>) -> Self {
        Error::NotFound(message.into())
    }
}

impl From<sealpost_store::Error> for Error {
    fn from(e: sealpost_store::Error) -> Self {
        match e {
            sealpost_store::Error::Conflict(what) => Error::Conflict {
                message: format!("{what} already exists"),
                code: "AlreadyExists",
            },
            other => {
                tracing::error!(error = %other, "storage error");
                Error::Internal(other.to_string())
            }
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
