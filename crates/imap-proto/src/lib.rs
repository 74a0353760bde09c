//! The IMAP4rev1 (RFC 3501) / IMAP4rev2 (RFC 9051) protocol layer of Sealpost, without I/O.
//!
//! Two directions, both pure functions over bytes so they can be tested and fuzzed alone:
//!
//! - **Commands:** [`parse_command`] turns the bytes a client sent into a typed [`Command`]
//!   under [`Limits`] (line length, literal sizes, nesting, sequence-set ranges). It tells the
//!   session when more bytes are needed and when a synchronising literal `{n}` must be
//!   answered with a continuation (see [`ParseError`]). The grammar lives in `parser/`, one
//!   file per command family, including the extensions Sealpost serves: LITERAL+/LITERAL-,
//!   SASL-IR, ENABLE, CONDSTORE/QRESYNC, LIST-EXTENDED/LIST-STATUS/SPECIAL-USE, ESEARCH,
//!   SEARCHRES, BINARY, MULTIAPPEND, UIDPLUS, MOVE, SORT/THREAD, ID, QUOTA, COMPRESS,
//!   UTF8=ACCEPT.
//! - **Responses:** [`Response`] and its parts are typed; [`Response::encode`] writes them
//!   with the right quoting (quoted string when safe, literal otherwise, `NIL` for absent
//!   values) and mailbox names in modified UTF-7 unless UTF8=ACCEPT is enabled.
//!
//! Nothing here knows about mailboxes, users or sockets; the session crate maps commands to
//! `core` operations and results to responses.
//!
//! ```
//! use sealpost_imap_proto::*;
//!
//! let limits = Limits::default();
//! // A synchronising literal: the client waits for "+ " before sending the data.
//! let mut input = b"A1 LOGIN {5}\r\n".to_vec();
//! assert_eq!(
//!     parse_command(&input, &limits),
//!     Err(ParseError::NeedsContinuation { literal_size: 5 })
//! );
//! let go_ahead = Response::Continuation("Ready for literal".into());
//! assert_eq!(go_ahead.encode(EncodeOptions::default()), b"+ Ready for literal\r\n");
//!
//! input.extend_from_slice(b"alice secret\r\n");
//! let (command, used) = parse_command(&input, &limits).unwrap();
//! assert_eq!(used, input.len());
//! assert_eq!(
//!     command.body,
//!     CommandBody::Login { username: "alice".into(), password: "secret".into() }
//! );
//!
//! let done = StatusResponse::ok(command.tag, "LOGIN completed")
//!     .with_code(Code::Capability(vec!["IMAP4rev1".into(), "IDLE".into()]));
//! assert_eq!(
//!     Response::from(done).encode(EncodeOptions::default()),
//!     b"A1 OK [CAPABILITY IMAP4rev1 IDLE] LOGIN completed\r\n"
//! );
//! ```

mod command;
mod datetime;
mod error;
mod flag;
mod limits;
mod mailbox;
mod parser;
mod response;
mod sequence;
mod utf7;

pub use command::*;
pub use datetime::{Date, DateTime};
pub use error::ParseError;
pub use flag::Flag;
pub use limits::Limits;
pub use mailbox::MailboxName;
pub use parser::{SaslResponse, command_len, parse_command, parse_idle_done, parse_sasl_response};
pub use response::*;
pub use sequence::{SeqBound, Sequence, SequenceSet};
pub use utf7::{decode_utf7, encode_utf7};
