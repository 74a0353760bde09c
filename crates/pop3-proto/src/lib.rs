//! The POP3 protocol layer of Sealpost (RFC 1939, with CAPA and response codes of RFC 2449,
//! STLS of RFC 2595, the codes of RFC 3206 and AUTH of RFC 5034), without I/O.
//!
//! Pure functions over bytes, easy to test alone:
//!
//! - **Commands:** [`parse_command`] turns the start of the received bytes into a typed
//!   [`Command`] (one CRLF- or LF-terminated line, at most [`MAX_LINE`] bytes), and
//!   [`parse_sasl_response`] reads the client's line after an AUTH challenge.
//! - **Responses:** [`Reply`] is a status line (`+OK` / `-ERR`, optionally with a [`Code`]);
//!   multi-line responses are lines then [`END`]; message text goes through a [`DotStuffer`],
//!   which byte-stuffs lines that start with `.` and ends every line with CRLF, in chunks;
//!   [`TopCut`] cuts a message to its header and first body lines (TOP), also in chunks.
//!
//! Nothing here knows about mailboxes, users or sockets.
//!
//! ```
//! use sealpost_pop3_proto::*;
//!
//! let (command, used) = parse_command(b"LIST 2\r\nQUIT\r\n", MAX_LINE).unwrap();
//! assert_eq!((command, used), (Command::List(Some(2)), 8));
//! let mut out = Vec::new();
//! Reply::err("No such message").with_code(Code::SysTemp).encode_into(&mut out);
//! assert_eq!(out, b"-ERR [SYS/TEMP] No such message\r\n");
//! ```

mod command;
mod error;
mod parser;
mod reply;
mod stuff;

pub use command::Command;
pub use error::ParseError;
pub use parser::{MAX_LINE, MAX_SASL_LINE, SaslResponse, parse_command, parse_sasl_response};
pub use reply::{Code, END, Reply};
pub use stuff::{DotStuffer, TopCut, top};
