//! FETCH response items: flags, dates, sizes, ENVELOPE, BODY/BODYSTRUCTURE and body data.

use super::Writer;
use crate::command::{Section, SectionText};
use crate::datetime::DateTime;
use crate::flag::Flag;

/// One item of a `* n FETCH (...)` response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FetchItem {
    /// `FLAGS (...)`
    Flags(Vec<Flag>),
    /// `UID n`
    Uid(u32),
    /// `INTERNALDATE "..."`
    InternalDate(DateTime),
    /// `RFC822.SIZE n`
    Rfc822Size(u64),
    /// `MODSEQ (n)`
    ModSeq(u64),
    /// `ENVELOPE (...)`
    Envelope(Box<Envelope>),
    /// `BODYSTRUCTURE (...)` with extension data.
    BodyStructure(Box<BodyStructure>),
    /// `BODY (...)`: the structure without extension data.
    Body(Box<BodyStructure>),
    /// `BODY[section]<origin> data`
    BodySection {
        /// The section as requested; `None` for `BODY[]`.
        section: Option<Section>,
        /// Origin of a partial fetch.
        origin: Option<u32>,
        /// The data, `None` for NIL.
        data: Option<Vec<u8>>,
    },
    /// `BINARY[part]<origin> data` (a literal8 when it holds NUL)
    Binary {
        /// Part numbers.
        section: Vec<u32>,
        /// Origin of a partial fetch.
        origin: Option<u32>,
        /// The decoded data, `None` for NIL.
        data: Option<Vec<u8>>,
    },
    /// `BINARY.SIZE[part] n`
    BinarySize {
        /// Part numbers.
        section: Vec<u32>,
        /// Decoded size.
        size: u64,
    },
    /// `RFC822 data`
    Rfc822(Option<Vec<u8>>),
    /// `RFC822.HEADER data`
    Rfc822Header(Option<Vec<u8>>),
    /// `RFC822.TEXT data`
    Rfc822Text(Option<Vec<u8>>),
}

/// The ENVELOPE structure. Strings are header values as sent (RFC 2047 words undecoded).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[allow(missing_docs)]
pub struct Envelope {
    pub date: Option<String>,
    pub subject: Option<String>,
    pub from: Vec<Address>,
    pub sender: Vec<Address>,
    pub reply_to: Vec<Address>,
    pub to: Vec<Address>,
    pub cc: Vec<Address>,
    pub bcc: Vec<Address>,
    pub in_reply_to: Option<String>,
    pub message_id: Option<String>,
}

/// An ENVELOPE address (a group start has `host: None`, a group end `mailbox: None` too).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[allow(missing_docs)]
pub struct Address {
    pub name: Option<String>,
    pub adl: Option<String>,
    pub mailbox: Option<String>,
    pub host: Option<String>,
}

/// BODYSTRUCTURE: a single part or a multipart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BodyStructure {
    /// A non-multipart body.
    Single {
        /// Type, subtype, parameters, id, description, encoding, size.
        fields: BodyFields,
        /// Lines of a `text/*` part.
        text_lines: Option<u64>,
        /// For `message/rfc822` (and `message/global`): envelope, body, lines.
        message: Option<Box<(Envelope, BodyStructure, u64)>>,
        /// Extension data: MD5.
        md5: Option<String>,
        /// Extension data: disposition.
        disposition: Option<Disposition>,
        /// Extension data: languages.
        language: Vec<String>,
        /// Extension data: location.
        location: Option<String>,
    },
    /// A multipart body.
    Multipart {
        /// The parts (at least one).
        parts: Vec<BodyStructure>,
        /// Subtype (`mixed`, `alternative`...).
        subtype: String,
        /// Extension data: parameters.
        params: Vec<(String, String)>,
        /// Extension data: disposition.
        disposition: Option<Disposition>,
        /// Extension data: languages.
        language: Vec<String>,
        /// Extension data: location.
        location: Option<String>,
    },
}

/// The basic fields of a single part.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[allow(missing_docs)]
pub struct BodyFields {
    pub media_type: String,
    pub media_subtype: String,
    pub params: Vec<(String, String)>,
    pub id: Option<String>,
    pub description: Option<String>,
    pub encoding: String,
    pub size: u64,
}

/// Content-Disposition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Disposition {
    /// `inline`, `attachment`...
    pub kind: String,
    /// Parameters.
    pub params: Vec<(String, String)>,
}

fn opt(w: &mut Writer<'_>, s: &Option<String>) {
    w.nstring(s.as_deref().map(str::as_bytes));
}

fn addresses(w: &mut Writer<'_>, list: &[Address]) {
    if list.is_empty() {
        w.str("NIL");
        return;
    }
    w.raw(b"(");
    for a in list {
        w.raw(b"(");
        opt(w, &a.name);
        w.sp();
        opt(w, &a.adl);
        w.sp();
        opt(w, &a.mailbox);
        w.sp();
        opt(w, &a.host);
        w.raw(b")");
    }
    w.raw(b")");
}

fn params(w: &mut Writer<'_>, params: &[(String, String)]) {
    if params.is_empty() {
        w.str("NIL");
        return;
    }
    w.raw(b"(");
    for (i, (name, value)) in params.iter().enumerate() {
        if i > 0 {
            w.sp();
        }
        w.string(name.as_bytes());
        w.sp();
        w.string(value.as_bytes());
    }
    w.raw(b")");
}

fn disposition(w: &mut Writer<'_>, d: &Option<Disposition>) {
    match d {
        Some(d) => {
            w.raw(b"(");
            w.string(d.kind.as_bytes());
            w.sp();
            params(w, &d.params);
            w.raw(b")");
        }
        None => w.str("NIL"),
    }
}

fn language(w: &mut Writer<'_>, language: &[String]) {
    match language {
        [] => w.str("NIL"),
        [one] => w.string(one.as_bytes()),
        many => w.list(many, |w, l| w.string(l.as_bytes())),
    }
}

impl Envelope {
    pub(crate) fn write(&self, w: &mut Writer<'_>) {
        w.raw(b"(");
        opt(w, &self.date);
        w.sp();
        opt(w, &self.subject);
        for list in [
            &self.from,
            &self.sender,
            &self.reply_to,
            &self.to,
            &self.cc,
            &self.bcc,
        ] {
            w.sp();
            addresses(w, list);
        }
        w.sp();
        opt(w, &self.in_reply_to);
        w.sp();
        opt(w, &self.message_id);
        w.raw(b")");
    }
}

impl BodyStructure {
    /// Writes `(...)`; `extended` adds the extension data of BODYSTRUCTURE. Recursion depth
    /// is the MIME nesting depth, which the message parser bounds.
    pub(crate) fn write(&self, w: &mut Writer<'_>, extended: bool) {
        w.raw(b"(");
        match self {
            BodyStructure::Single {
                fields,
                text_lines,
                message,
                md5,
                disposition: disp,
                language: lang,
                location,
            } => {
                w.string(fields.media_type.as_bytes());
                w.sp();
                w.string(fields.media_subtype.as_bytes());
                w.sp();
                params(w, &fields.params);
                w.sp();
                opt(w, &fields.id);
                w.sp();
                opt(w, &fields.description);
                w.sp();
                w.string(fields.encoding.as_bytes());
                w.sp();
                w.number(fields.size);
                if let Some(inner) = message {
                    let (envelope, body, lines) = inner.as_ref();
                    w.sp();
                    envelope.write(w);
                    w.sp();
                    body.write(w, extended);
                    w.sp();
                    w.number(lines);
                } else if let Some(lines) = text_lines {
                    w.sp();
                    w.number(lines);
                }
                if extended {
                    w.sp();
                    opt(w, md5);
                    w.sp();
                    disposition(w, disp);
                    w.sp();
                    language(w, lang);
                    w.sp();
                    opt(w, location);
                }
            }
            BodyStructure::Multipart {
                parts,
                subtype,
                params: ps,
                disposition: disp,
                language: lang,
                location,
            } => {
                for part in parts {
                    part.write(w, extended);
                }
                w.sp();
                w.string(subtype.as_bytes());
                if extended {
                    w.sp();
                    params(w, ps);
                    w.sp();
                    disposition(w, disp);
                    w.sp();
                    language(w, lang);
                    w.sp();
                    opt(w, location);
                }
            }
        }
        w.raw(b")");
    }
}

fn section_spec(w: &mut Writer<'_>, section: &Section) {
    let mut out: Vec<String> = section.part.iter().map(u32::to_string).collect();
    let (name, fields) = match &section.text {
        None => (None, None),
        Some(SectionText::Header) => (Some("HEADER"), None),
        Some(SectionText::Text) => (Some("TEXT"), None),
        Some(SectionText::Mime) => (Some("MIME"), None),
        Some(SectionText::HeaderFields(f)) => (Some("HEADER.FIELDS"), Some(f)),
        Some(SectionText::HeaderFieldsNot(f)) => (Some("HEADER.FIELDS.NOT"), Some(f)),
    };
    out.extend(name.map(str::to_string));
    w.str(&out.join("."));
    if let Some(fields) = fields {
        w.sp();
        w.list(fields, |w, f| w.astring(f));
    }
}

fn part_numbers(w: &mut Writer<'_>, part: &[u32]) {
    let text: Vec<String> = part.iter().map(u32::to_string).collect();
    w.str(&text.join("."));
}

impl FetchItem {
    pub(crate) fn write(&self, w: &mut Writer<'_>) {
        match self {
            FetchItem::Flags(flags) => {
                w.str("FLAGS ");
                w.list(flags, |w, f| w.str(&f.to_string()));
            }
            FetchItem::Uid(uid) => w.str(&format!("UID {uid}")),
            FetchItem::InternalDate(date) => w.str(&format!("INTERNALDATE \"{date}\"")),
            FetchItem::Rfc822Size(size) => w.str(&format!("RFC822.SIZE {size}")),
            FetchItem::ModSeq(modseq) => w.str(&format!("MODSEQ ({modseq})")),
            FetchItem::Envelope(envelope) => {
                w.str("ENVELOPE ");
                envelope.write(w);
            }
            FetchItem::BodyStructure(body) => {
                w.str("BODYSTRUCTURE ");
                body.write(w, true);
            }
            FetchItem::Body(body) => {
                w.str("BODY ");
                body.write(w, false);
            }
            FetchItem::BodySection {
                section,
                origin,
                data,
            } => {
                w.str("BODY[");
                if let Some(section) = section {
                    section_spec(w, section);
                }
                w.str("]");
                if let Some(origin) = origin {
                    w.str(&format!("<{origin}>"));
                }
                w.sp();
                w.body_data(data.as_deref());
            }
            FetchItem::Binary {
                section,
                origin,
                data,
            } => {
                w.str("BINARY[");
                part_numbers(w, section);
                w.str("]");
                if let Some(origin) = origin {
                    w.str(&format!("<{origin}>"));
                }
                w.sp();
                w.body_data(data.as_deref());
            }
            FetchItem::BinarySize { section, size } => {
                w.str("BINARY.SIZE[");
                part_numbers(w, section);
                w.str(&format!("] {size}"));
            }
            FetchItem::Rfc822(data) => {
                w.str("RFC822 ");
                w.body_data(data.as_deref());
            }
            FetchItem::Rfc822Header(data) => {
                w.str("RFC822.HEADER ");
                w.body_data(data.as_deref());
            }
            FetchItem::Rfc822Text(data) => {
                w.str("RFC822.TEXT ");
                w.body_data(data.as_deref());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::response::test_support::*;
    use crate::*;

    fn sample_envelope() -> Envelope {
        let person = |name: &str, mailbox: &str| Address {
            name: Some(name.into()),
            adl: None,
            mailbox: Some(mailbox.into()),
            host: Some("example.com".into()),
        };
        Envelope {
            date: Some("Wed, 17 Jul 1996 02:23:25 -0700 (PDT)".into()),
            subject: Some("IMAP4rev1 WG mtg summary and minutes".into()),
            from: vec![person("Terry Gray", "gray")],
            sender: vec![person("Terry Gray", "gray")],
            reply_to: vec![person("Terry Gray", "gray")],
            to: vec![Address {
                name: None,
                ..person("", "imap")
            }],
            cc: vec![],
            bcc: vec![],
            in_reply_to: None,
            message_id: Some("<B27397-0100000@cac.washington.edu>".into()),
        }
    }

    #[test]
    fn fetch_responses() {
        let response = Data::Fetch {
            seq: 12,
            items: vec![
                FetchItem::Uid(4827313),
                FetchItem::Flags(vec![Flag::Seen]),
                FetchItem::InternalDate(DateTime {
                    date: Date::new(1996, 7, 17).unwrap(),
                    hour: 2,
                    minute: 44,
                    second: 25,
                    zone_minutes: -420,
                }),
                FetchItem::Rfc822Size(4286),
                FetchItem::ModSeq(12121231000),
                FetchItem::BodySection {
                    section: None,
                    origin: None,
                    data: Some(b"Subject: hi\r\n\r\nbody".to_vec()),
                },
            ],
        };
        assert_eq!(
            encode(response),
            "* 12 FETCH (UID 4827313 FLAGS (\\Seen) INTERNALDATE \"17-Jul-1996 02:44:25 -0700\" RFC822.SIZE 4286 MODSEQ (12121231000) BODY[] {19}\r\nSubject: hi\r\n\r\nbody)\r\n"
        );
        let response = Data::Fetch {
            seq: 1,
            items: vec![
                FetchItem::BodySection {
                    section: Some(Section {
                        part: vec![],
                        text: Some(SectionText::HeaderFields(vec![
                            "From".into(),
                            "Subject".into(),
                        ])),
                    }),
                    origin: Some(0),
                    data: Some(b"From: a\r\n\r\n".to_vec()),
                },
                FetchItem::BodySection {
                    section: Some(Section {
                        part: vec![1, 2],
                        text: Some(SectionText::Mime),
                    }),
                    origin: None,
                    data: None,
                },
                FetchItem::Binary {
                    section: vec![1],
                    origin: None,
                    data: Some(b"a\0b".to_vec()),
                },
                FetchItem::BinarySize {
                    section: vec![1, 2],
                    size: 77,
                },
                FetchItem::Rfc822Header(Some(b"X: y\r\n\r\n".to_vec())),
            ],
        };
        assert_eq!(
            encode(response),
            "* 1 FETCH (BODY[HEADER.FIELDS (From Subject)]<0> {11}\r\nFrom: a\r\n\r\n BODY[1.2.MIME] NIL BINARY[1] ~{3}\r\na\0b BINARY.SIZE[1.2] 77 RFC822.HEADER {8}\r\nX: y\r\n\r\n)\r\n"
        );
        let envelope = encode(Data::Fetch {
            seq: 3,
            items: vec![FetchItem::Envelope(Box::new(sample_envelope()))],
        });
        assert_eq!(
            envelope,
            "* 3 FETCH (ENVELOPE (\"Wed, 17 Jul 1996 02:23:25 -0700 (PDT)\" \"IMAP4rev1 WG mtg summary and minutes\" ((\"Terry Gray\" NIL \"gray\" \"example.com\")) ((\"Terry Gray\" NIL \"gray\" \"example.com\")) ((\"Terry Gray\" NIL \"gray\" \"example.com\")) ((NIL NIL \"imap\" \"example.com\")) NIL NIL NIL \"<B27397-0100000@cac.washington.edu>\"))\r\n"
        );
    }

    #[test]
    fn body_structure() {
        let text = |subtype: &str, size, lines| BodyStructure::Single {
            fields: BodyFields {
                media_type: "TEXT".into(),
                media_subtype: subtype.into(),
                params: vec![("CHARSET".into(), "US-ASCII".into())],
                id: None,
                description: None,
                encoding: "7BIT".into(),
                size,
            },
            text_lines: Some(lines),
            message: None,
            md5: None,
            disposition: None,
            language: vec![],
            location: None,
        };
        let multipart = BodyStructure::Multipart {
            parts: vec![text("PLAIN", 1152, 23), text("HTML", 4554, 73)],
            subtype: "ALTERNATIVE".into(),
            params: vec![("BOUNDARY".into(), "xyz".into())],
            disposition: Some(Disposition {
                kind: "inline".into(),
                params: vec![],
            }),
            language: vec!["en".into()],
            location: None,
        };
        let body = encode(Data::Fetch {
            seq: 1,
            items: vec![FetchItem::Body(Box::new(multipart.clone()))],
        });
        assert_eq!(
            body,
            "* 1 FETCH (BODY ((\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 1152 23)(\"TEXT\" \"HTML\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 4554 73) \"ALTERNATIVE\"))\r\n"
        );
        let structure = encode(Data::Fetch {
            seq: 1,
            items: vec![FetchItem::BodyStructure(Box::new(multipart))],
        });
        assert_eq!(
            structure,
            "* 1 FETCH (BODYSTRUCTURE ((\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 1152 23 NIL NIL NIL NIL)(\"TEXT\" \"HTML\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 4554 73 NIL NIL NIL NIL) \"ALTERNATIVE\" (\"BOUNDARY\" \"xyz\") (\"inline\" NIL) \"en\" NIL))\r\n"
        );
        let message = BodyStructure::Single {
            fields: BodyFields {
                media_type: "MESSAGE".into(),
                media_subtype: "RFC822".into(),
                params: vec![],
                id: None,
                description: None,
                encoding: "7BIT".into(),
                size: 300,
            },
            text_lines: None,
            message: Some(Box::new((Envelope::default(), text("PLAIN", 10, 1), 12))),
            md5: None,
            disposition: None,
            language: vec![],
            location: None,
        };
        let encoded = encode(Data::Fetch {
            seq: 2,
            items: vec![FetchItem::Body(Box::new(message))],
        });
        assert_eq!(
            encoded,
            "* 2 FETCH (BODY (\"MESSAGE\" \"RFC822\" NIL NIL NIL \"7BIT\" 300 (NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL) (\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 10 1) 12))\r\n"
        );
    }
}
