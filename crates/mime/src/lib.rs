//! Parsing and indexing of RFC 5322/MIME messages.
//!
//! [`parse_message`] turns raw bytes into a [`ParsedMessage`]: everything IMAP and the REST
//! API need to answer without re-reading the blob (envelope, BODYSTRUCTURE with byte offsets,
//! decoded headers, text and HTML bodies, attachment list with stable `ATT00001` ids, an intro
//! snippet, threading keys and text for the full-text index). The index is serialised as JSON
//! by the store, so every type here is `Serialize + Deserialize`.

mod model;
mod parse;

pub use model::*;
pub use parse::{attachment_content, parse_message, normalize_subject};

/// Errors from parsing. Broken MIME is not an error (it is indexed as best we can); only input
/// that is not a message at all is.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("message is empty")]
    Empty,
    #[error("message has no header section")]
    NoHeaders,
    #[error("attachment {0} not found")]
    AttachmentNotFound(String),
}
