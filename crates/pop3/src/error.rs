//! The one error type of the crate. Errors of `core` inside a command become `-ERR
//! [SYS/TEMP]` (mapped in `session.rs`); the others end the connection.

/// Why a command or a session failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The socket failed.
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
    /// The client closed the connection.
    #[error("connection closed by the client")]
    Closed,
    /// The client was idle (or slow to read) for too long.
    #[error("timed out")]
    Timeout,
    /// The connection cannot go on (TLS asked for without a TLS setup).
    #[error("protocol violation: {0}")]
    Protocol(&'static str),
    /// A `core` operation failed: answered with `-ERR`, the session goes on.
    #[error(transparent)]
    Core(#[from] sealpost_core::Error),
}

pub(crate) type Result<T, E = Error> = std::result::Result<T, E>;
