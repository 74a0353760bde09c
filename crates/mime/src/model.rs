//! The parsed index of one message. Shared by the store (as JSON), IMAP and the REST API.

use serde::{Deserialize, Serialize};

/// A mailbox address as displayed: decoded name and address.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Addr {
    pub name: String,
    pub address: String,
}

/// IMAP ENVELOPE (RFC 3501 7.4.2). Strings are the raw header values (encoded words kept),
/// unfolded, as IMAP requires; `None` is NIL.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Envelope {
    pub date: Option<String>,
    pub subject: Option<String>,
    pub from: Vec<EnvAddr>,
    pub sender: Vec<EnvAddr>,
    pub reply_to: Vec<EnvAddr>,
    pub to: Vec<EnvAddr>,
    pub cc: Vec<EnvAddr>,
    pub bcc: Vec<EnvAddr>,
    pub in_reply_to: Option<String>,
    pub message_id: Option<String>,
}

/// One address of an ENVELOPE address list: (name adl mailbox host). Group syntax is
/// represented as in RFC 3501: a start marker with `host: None` and `mailbox: Some(group)`,
/// then the members, then an end marker with both `None`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnvAddr {
    pub name: Option<String>,
    pub adl: Option<String>,
    pub mailbox: Option<String>,
    pub host: Option<String>,
}

/// One MIME part with its byte offsets in the raw message, enough to render BODYSTRUCTURE
/// and to serve `BODY[section]` / `BODY[section.MIME]` / `HEADER` / `TEXT` by slicing the blob
/// (see [`Part::find_section`], [`Part::header`], [`Part::body`]).
///
/// The root part is the message itself: `header_start` is 0, `body_start` is just past the
/// empty line ending the header (or the end of input when there is none). The line break
/// before a boundary delimiter belongs to the delimiter, not to the body before it. A
/// multipart's body includes its preamble, delimiters and epilogue. Offsets are of the bytes
/// as stored: a message with bare LF line endings is measured with bare LFs.
///
/// `content_type == "multipart"` exactly when `parts` is non-empty: a multipart without a
/// boundary (or whose boundary never occurs) is reported as text/plain, and one nested past
/// the depth limit (32 levels) as application/octet-stream.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Part {
    /// Lower-case type and subtype, e.g. "text", "plain".
    pub content_type: String,
    pub subtype: String,
    /// Content-Type parameters (name lower-cased, value as given; RFC 2231 continuations
    /// and encoded values are joined and decoded). Without a Content-Type header this is
    /// `charset=us-ascii` for the default text/plain.
    pub params: Vec<(String, String)>,
    pub id: Option<String>,
    pub description: Option<String>,
    /// Content-Transfer-Encoding, upper-cased ("7BIT" when absent).
    pub encoding: String,
    /// Octets of the encoded body: `body_end - body_start`.
    pub size: u64,
    /// Lines of the encoded body for text/* and message/* parts (0 for others): the number of
    /// LFs, plus one when the body does not end with a LF.
    pub lines: u64,
    pub md5: Option<String>,
    /// Disposition type (lower-case) and its parameters.
    pub disposition: Option<(String, Vec<(String, String)>)>,
    pub language: Vec<String>,
    pub location: Option<String>,
    /// Offsets into the raw message: header start, body start, body end (exclusive).
    pub header_start: u64,
    pub body_start: u64,
    pub body_end: u64,
    /// Children of a multipart.
    pub parts: Vec<Part>,
    /// For message/rfc822: the envelope and the root part of the enclosed message, whose
    /// `header_start` is this part's `body_start`. `None` when the enclosed message is
    /// transfer-encoded (base64, quoted-printable) or nested past the depth limit; render
    /// such a part as a basic body.
    pub message: Option<Box<(Envelope, Part)>>,
}

/// An attachment as listed by the REST API.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attachment {
    /// Stable id: "ATT00001", "ATT00002", ... in document order.
    pub id: String,
    pub filename: Option<String>,
    /// Full content type, e.g. "image/png".
    pub content_type: String,
    /// "attachment" or "inline".
    pub disposition: String,
    /// Lower-case Content-Transfer-Encoding ("base64", "7bit", ...).
    pub transfer_encoding: String,
    /// Content-ID without angle brackets, if any.
    pub cid: Option<String>,
    /// Decoded size in bytes (computed without decoding; exact for well-formed input).
    pub size: u64,
    /// Path of the part, IMAP section numbering ("2", "1.3").
    pub part: String,
}

/// Everything indexed from one raw message.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParsedMessage {
    pub size: u64,
    pub envelope: Envelope,
    pub body: Part,
    /// Decoded subject ("" when absent).
    pub subject: String,
    pub from: Option<Addr>,
    pub sender: Option<Addr>,
    pub reply_to: Vec<Addr>,
    pub to: Vec<Addr>,
    pub cc: Vec<Addr>,
    pub bcc: Vec<Addr>,
    /// Message-ID with angle brackets, e.g. "<abc@example.com>".
    pub message_id: Option<String>,
    /// In-Reply-To ids, each with angle brackets.
    pub in_reply_to: Vec<String>,
    /// References ids, each with angle brackets, oldest first.
    pub references: Vec<String>,
    /// Date header as Unix milliseconds, if parseable.
    pub date: Option<i64>,
    /// Decoded header index: (lower-case name, decoded value), in order; at most 200 fields,
    /// values cut at 8 KiB.
    pub headers: Vec<(String, String)>,
    /// Plain text body (from text/plain parts, or derived from HTML), LF line endings,
    /// at most 1 MiB.
    /// Not serialised (it would double the stored index): re-derived from the blob when needed.
    #[serde(skip)]
    pub text: String,
    /// HTML bodies, one per HTML part (or text converted to HTML), each at most 1 MiB and
    /// 4 MiB together.
    /// Not serialised, like `text`, and left empty by [`crate::parse_message`] (indexing does
    /// not need it): [`crate::message_bodies`] derives it from the blob when needed.
    #[serde(skip)]
    pub html: Vec<String>,
    /// First ~128 characters of visible text, whitespace collapsed.
    pub intro: String,
    /// Every leaf part not shown as body text (attachments, inline images, enclosed
    /// messages), in document order; at most 1000.
    pub attachments: Vec<Attachment>,
    /// Subject with `Re:`/`Fwd:`/`[list]` prefixes removed, lower-cased: the threading key.
    pub thread_subject: String,
    /// Text for the full-text index: subject, addresses, then each distinct word of the body
    /// text once (runs between ASCII whitespace, first occurrences in order); at most 256 KiB.
    /// Not serialised: it goes to the full-text index, not into the stored JSON index.
    #[serde(skip)]
    pub search_text: String,
}
