//! Parsing and indexing of RFC 5322/MIME messages.
//!
//! [`parse_message`] turns raw bytes into a [`ParsedMessage`]: everything IMAP and the REST
//! API need to answer without re-reading the blob (envelope, BODYSTRUCTURE with byte offsets,
//! decoded headers, text body, attachment list with stable `ATT00001` ids, an intro
//! snippet, threading keys and text for the full-text index). The index is serialised as JSON
//! by the store, so every type here is `Serialize + Deserialize`.
//!
//! The MIME tree is found by our own bounded walk over the bytes (see `structure.rs`) so that
//! offsets follow IMAP's rules and hostile input (deep nesting, huge bodies, millions of
//! parts) costs bounded stack, memory and time; `mail-parser` parses header fields and
//! charsets. [`attachment_content`] re-walks the raw message to return one part decoded;
//! [`message_bodies`] derives the text and HTML bodies from the raw message and its stored
//! structure.

mod address;
mod attachments;
mod bodies;
mod decode;
mod envelope;
mod headers;
mod model;
mod parse;
mod section;
mod structure;
mod subject;
mod text;

pub use attachments::attachment_content;
pub use decode::{decoded_len, transfer_decode};
pub use headers::header_len_in_prefix;
pub use model::*;
pub use parse::{message_bodies, parse_message};
pub use subject::normalize_subject;

/// Errors from parsing. Broken MIME is not an error (it is indexed as best we can); only input
/// that is not a message at all is.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("message is empty")]
    Empty,
    #[error("attachment {0} not found")]
    AttachmentNotFound(String),
}
