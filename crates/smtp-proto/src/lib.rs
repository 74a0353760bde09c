//! The SMTP (RFC 5321) and LMTP (RFC 2033) protocol layer of Sealpost, without I/O.
//!
//! - **Commands:** [`parse_command`] turns one command line (without its CRLF) into a typed
//!   [`Command`]: HELO/EHLO/LHLO, MAIL FROM and RCPT TO with their paths and the parameters
//!   of the extensions we serve (SIZE, BODY=8BITMIME, SMTPUTF8), DATA, BDAT (CHUNKING),
//!   RSET, NOOP, QUIT, VRFY, EXPN, HELP, STARTTLS, AUTH. Errors ([`ParseError`]) carry the
//!   reply they deserve (500/501/504/555 with enhanced codes).
//! - **Replies:** [`Reply`] with an enhanced status code (RFC 3463), written single- or
//!   multi-line.
//! - **DATA:** [`DotDecoder`] finds the `CRLF.CRLF` end of a DATA body in a byte stream and
//!   removes dot-stuffing, bounded by a size limit. Only a `.` alone on a CRLF-terminated line
//!   ends the message: a bare LF never does, which is what SMTP smuggling relies on.
//!
//! ```
//! use sealpost_smtp_proto::*;
//!
//! let cmd = parse_command(b"MAIL FROM:<alice@example.org> SIZE=1200 BODY=8BITMIME").unwrap();
//! assert_eq!(
//!     cmd,
//!     Command::Mail {
//!         from: "alice@example.org".into(),
//!         params: MailParams { size: Some(1200), body: Some(Body::EightBitMime), smtputf8: false, auth: None },
//!     }
//! );
//! let mut out = Vec::new();
//! Reply::new(250, (2, 1, 0), "Sender OK").write_to(&mut out);
//! assert_eq!(out, b"250 2.1.0 Sender OK\r\n");
//! ```

mod command;
mod data;
mod parser;
mod reply;

pub use command::{Body, Command, MailParams};
pub use data::DotDecoder;
pub use parser::{MAX_LINE, ParseError, parse_command};
pub use reply::Reply;
