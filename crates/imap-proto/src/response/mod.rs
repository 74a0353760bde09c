//! Typed server responses and their serialisation: status responses with response codes,
//! untagged data and continuation requests. One file per data family, as for the parser.

mod code;
mod data;
mod fetch;
mod writer;

pub use code::Code;
pub use data::{
    Data, EsearchResult, ListAttribute, ListItem, NamespaceEntry, QuotaResource, StatusValue,
    Thread,
};
pub use fetch::{Address, BodyFields, BodyStructure, Disposition, Envelope, FetchItem};
pub(crate) use writer::Writer;

/// How responses are written for one session.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EncodeOptions {
    /// UTF8=ACCEPT is enabled: mailbox names and strings go as raw UTF-8.
    pub utf8_accept: bool,
}

/// The status of a status response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// `OK`
    Ok,
    /// `NO`
    No,
    /// `BAD`
    Bad,
    /// `PREAUTH` (greeting only)
    PreAuth,
    /// `BYE` (untagged only)
    Bye,
}

impl Status {
    fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "OK",
            Status::No => "NO",
            Status::Bad => "BAD",
            Status::PreAuth => "PREAUTH",
            Status::Bye => "BYE",
        }
    }
}

/// A status response: `tag OK [CODE] text` or `* NO text`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusResponse {
    /// The command's tag, or `None` for an untagged response.
    pub tag: Option<String>,
    /// OK, NO, BAD, PREAUTH or BYE.
    pub status: Status,
    /// Optional response code.
    pub code: Option<Code>,
    /// Human-readable text (CR/LF are replaced by spaces; empty becomes `completed`).
    pub text: String,
}

/// Anything the server sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Response {
    /// Tagged or untagged OK/NO/BAD/PREAUTH/BYE.
    Status(StatusResponse),
    /// Untagged data (`* ...`).
    Data(Data),
    /// Continuation request: `+ text` (empty text becomes `+ Ready`).
    Continuation(String),
    /// SASL challenge during AUTHENTICATE: `+ ` and the base64 of the bytes (an empty
    /// challenge is `+ ` alone).
    SaslChallenge(Vec<u8>),
}

impl StatusResponse {
    /// `tag OK text`
    pub fn ok(tag: impl Into<String>, text: impl Into<String>) -> Self {
        Self::tagged(tag, Status::Ok, text)
    }

    /// `tag NO text`
    pub fn no(tag: impl Into<String>, text: impl Into<String>) -> Self {
        Self::tagged(tag, Status::No, text)
    }

    /// `tag BAD text`
    pub fn bad(tag: impl Into<String>, text: impl Into<String>) -> Self {
        Self::tagged(tag, Status::Bad, text)
    }

    /// A tagged response.
    pub fn tagged(tag: impl Into<String>, status: Status, text: impl Into<String>) -> Self {
        StatusResponse {
            tag: Some(tag.into()),
            status,
            code: None,
            text: text.into(),
        }
    }

    /// An untagged response (`* OK ...`, `* BYE ...`).
    pub fn untagged(status: Status, text: impl Into<String>) -> Self {
        StatusResponse {
            tag: None,
            status,
            code: None,
            text: text.into(),
        }
    }

    /// The same response with a code.
    pub fn with_code(mut self, code: Code) -> Self {
        self.code = Some(code);
        self
    }

    fn write(&self, w: &mut Writer<'_>) {
        match &self.tag {
            Some(tag) => w.str(tag),
            None => w.str("*"),
        }
        w.sp();
        w.str(self.status.as_str());
        w.sp();
        if let Some(code) = &self.code {
            w.raw(b"[");
            code.write(w);
            w.raw(b"] ");
        }
        w.text(&self.text);
        w.raw(b"\r\n");
    }
}

impl Response {
    /// The response as bytes, CRLF included.
    pub fn encode(&self, options: EncodeOptions) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode_into(&mut out, options);
        out
    }

    /// Appends the response to `out`.
    pub fn encode_into(&self, out: &mut Vec<u8>, options: EncodeOptions) {
        let mut w = Writer {
            out,
            utf8: options.utf8_accept,
        };
        match self {
            Response::Status(status) => status.write(&mut w),
            Response::Data(data) => {
                w.raw(b"* ");
                data.write(&mut w);
                w.raw(b"\r\n");
            }
            Response::Continuation(text) => {
                w.raw(b"+ ");
                if text.is_empty() {
                    w.str("Ready");
                } else {
                    w.text(text);
                }
                w.raw(b"\r\n");
            }
            Response::SaslChallenge(bytes) => {
                use base64::Engine;
                w.raw(b"+ ");
                w.raw(
                    base64::engine::general_purpose::STANDARD
                        .encode(bytes)
                        .as_bytes(),
                );
                w.raw(b"\r\n");
            }
        }
    }
}

impl From<StatusResponse> for Response {
    fn from(status: StatusResponse) -> Self {
        Response::Status(status)
    }
}

impl From<Data> for Response {
    fn from(data: Data) -> Self {
        Response::Data(data)
    }
}

#[cfg(test)]
mod tests {
    use crate::response::test_support::*;
    use crate::*;

    #[test]
    fn status_responses_and_codes() {
        assert_eq!(
            encode(StatusResponse::ok("a1", "LOGIN completed")),
            "a1 OK LOGIN completed\r\n"
        );
        assert_eq!(encode(StatusResponse::no("a2", "")), "a2 NO completed\r\n");
        assert_eq!(
            encode(StatusResponse::bad("a3", "bad\r\nline")),
            "a3 BAD bad  line\r\n"
        );
        assert_eq!(
            encode(StatusResponse::untagged(Status::Bye, "Logging out")),
            "* BYE Logging out\r\n"
        );
        let copy = StatusResponse::ok("A004", "Done").with_code(Code::CopyUid {
            uid_validity: 38505,
            source: SequenceSet::from_ordered_ids(&[304, 319, 320]).unwrap(),
            destination: SequenceSet::range(3956, 3958),
        });
        assert_eq!(
            encode(copy),
            "A004 OK [COPYUID 38505 304,319:320 3956:3958] Done\r\n"
        );
        let append = StatusResponse::ok("A003", "APPEND completed").with_code(Code::AppendUid {
            uid_validity: 38505,
            uids: SequenceSet::single(3955),
        });
        assert_eq!(
            encode(append),
            "A003 OK [APPENDUID 38505 3955] APPEND completed\r\n"
        );
        for (code, text) in [
            (Code::Alert, "ALERT"),
            (Code::ReadOnly, "READ-ONLY"),
            (Code::ReadWrite, "READ-WRITE"),
            (Code::TryCreate, "TRYCREATE"),
            (Code::UidNext(4392), "UIDNEXT 4392"),
            (Code::UidValidity(3857529045), "UIDVALIDITY 3857529045"),
            (Code::Unseen(12), "UNSEEN 12"),
            (
                Code::HighestModSeq(715194045007),
                "HIGHESTMODSEQ 715194045007",
            ),
            (Code::NoModSeq, "NOMODSEQ"),
            (Code::Closed, "CLOSED"),
            (
                Code::Modified(SequenceSet::from_ids([7, 9]).unwrap()),
                "MODIFIED 7,9",
            ),
            (
                Code::Capability(vec!["IMAP4rev1".into(), "IDLE".into()]),
                "CAPABILITY IMAP4rev1 IDLE",
            ),
            (Code::BadCharset(vec!["UTF-8".into()]), "BADCHARSET (UTF-8)"),
            (Code::OverQuota, "OVERQUOTA"),
            (Code::Other("X-FOO".into(), Some("a]b".into())), "X-FOO a b"),
            (
                Code::PermanentFlags {
                    flags: vec![Flag::Deleted, Flag::Seen],
                    allow_new: true,
                },
                "PERMANENTFLAGS (\\Deleted \\Seen \\*)",
            ),
            (
                Code::PermanentFlags {
                    flags: vec![],
                    allow_new: false,
                },
                "PERMANENTFLAGS ()",
            ),
        ] {
            let response = StatusResponse::untagged(Status::Ok, "x").with_code(code);
            assert_eq!(encode(response), format!("* OK [{text}] x\r\n"));
        }
        assert_eq!(encode(Response::Continuation(String::new())), "+ Ready\r\n");
        assert_eq!(encode(Response::Continuation("AAAA".into())), "+ AAAA\r\n");
        assert_eq!(encode(Response::SaslChallenge(Vec::new())), "+ \r\n");
        assert_eq!(
            encode(Response::SaslChallenge(b"\0alice".to_vec())),
            "+ AGFsaWNl\r\n"
        );
    }

    #[test]
    fn quoting_versus_literal() {
        assert_eq!(encode(id_value("plain")), "* ID (\"name\" \"plain\")\r\n");
        assert_eq!(
            encode(id_value("a \"q\" \\")),
            "* ID (\"name\" \"a \\\"q\\\" \\\\\")\r\n"
        );
        assert_eq!(encode(id_value("")), "* ID (\"name\" \"\")\r\n");
        // 8-bit: literal, unless UTF8=ACCEPT.
        assert_eq!(encode(id_value("ä")), "* ID (\"name\" {2}\r\nä)\r\n");
        assert_eq!(encode_utf8(id_value("ä")), "* ID (\"name\" \"ä\")\r\n");
        // CR/LF: literal.
        assert_eq!(
            encode(id_value("a\r\nb")),
            "* ID (\"name\" {4}\r\na\r\nb)\r\n"
        );
        // Too long: literal.
        let long = "x".repeat(2000);
        assert!(encode(id_value(&long)).contains("{2000}\r\nxxx"));
        assert_eq!(
            encode(Data::Id(Some(vec![("v".into(), None)]))),
            "* ID (\"v\" NIL)\r\n"
        );
        assert_eq!(encode(Data::Id(None)), "* ID NIL\r\n");
    }

    #[test]
    fn responses_parse_back_where_commands_share_syntax() {
        // A mailbox name written by the encoder is read back to the same name by the parser.
        for name in ["Entwürfe", "日本語", "A&B", "with \"quotes\"", "INBOX"] {
            let item = ListItem {
                attributes: vec![],
                delimiter: Some('/'),
                mailbox: MailboxName::new(name),
                child_info_subscribed: false,
                old_name: None,
            };
            let line = encode(Data::List(item));
            let wire = line
                .trim_end()
                .rsplit_once("\"/\" ")
                .map(|(_, m)| m.to_string())
                .unwrap();
            let command = format!("a SELECT {wire}\r\n");
            let (parsed, _) = parse_command(command.as_bytes(), &Limits::default()).unwrap();
            let CommandBody::Select(select) = parsed.body else {
                panic!()
            };
            assert_eq!(select.mailbox.as_str(), name);
        }
    }
}

#[cfg(test)]
pub(crate) mod test_support {
    //! Helpers shared by the response tests.

    use crate::*;

    pub(crate) fn encode(response: impl Into<Response>) -> String {
        String::from_utf8(response.into().encode(EncodeOptions::default())).unwrap()
    }

    pub(crate) fn encode_utf8(response: impl Into<Response>) -> String {
        let options = EncodeOptions { utf8_accept: true };
        String::from_utf8(response.into().encode(options)).unwrap()
    }

    pub(crate) fn id_value(value: &str) -> Data {
        Data::Id(Some(vec![("name".into(), Some(value.into()))]))
    }
}
