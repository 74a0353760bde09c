//! The one error type of the crate: why [`parse_command`](crate::parse_command) returned no
//! command.

/// Outcome of a failed parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// No complete line yet: read more bytes and parse again.
    #[error("incomplete line")]
    Incomplete,
    /// The line is longer than the limit (or no line end came within it): the session
    /// answers `-ERR` and drops input up to the next line end.
    #[error("Line too long")]
    LineTooLong,
    /// The line is complete but not a valid command; `used` bytes (the line) are to be
    /// skipped. The message is fit to send to the client.
    #[error("{message}")]
    Bad { message: String, used: usize },
}
