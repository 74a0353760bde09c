//! The one error type of the delivery front ends: why a session ended early.

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
    #[error("timed out")]
    Timeout,
    #[error("protocol: {0}")]
    Protocol(&'static str),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
