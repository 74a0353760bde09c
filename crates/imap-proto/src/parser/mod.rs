//! Bytes to [`Command`]: framing of lines and literals under [`Limits`], then the grammar.
//!
//! Parsing happens in two passes over the buffered input. `frame` walks lines and literal
//! announcements only: it enforces the line and literal limits before any byte of a literal
//! is needed, and finds where the command ends (or the synchronising literal the client waits
//! on). The grammar (`Parser`, one file per command family) then runs over the framed bytes;
//! it is also run over the prefix before a continuation so that a syntax error is reported
//! before the client is invited to send literal data.

mod append;
mod auth;
mod continuation;
mod fetch;
mod lexer;

pub(crate) use lexer::is_astring_char;
mod list;
mod mailbox;
mod misc;
mod quota;
mod search;
mod select;
mod sort;
mod status;
mod store;

pub use continuation::{SaslResponse, parse_idle_done, parse_sasl_response};

use crate::command::{Command, CommandBody};
use crate::error::ParseError;
use crate::limits::Limits;

/// Why the grammar stopped.
#[derive(Debug)]
pub(crate) enum Error {
    /// Ran out of input (only possible before a continuation).
    Incomplete,
    /// Syntax error, with a message for the client.
    Bad(String),
    /// Well-formed, but names something the server refuses (a mailbox name that is not
    /// valid modified UTF-7): `NO`, as RFC 3501 5.1.3 allows.
    Refused(String),
}

pub(crate) type PResult<T> = Result<T, Error>;

pub(crate) fn bad<T>(message: impl Into<String>) -> PResult<T> {
    Err(Error::Bad(message.into()))
}

/// Recursive-descent parser over one framed command.
pub(crate) struct Parser<'a> {
    pub(crate) buf: &'a [u8],
    pub(crate) pos: usize,
    pub(crate) limits: &'a Limits,
    pub(crate) depth: usize,
}

/// Parses one command from the start of `input`.
///
/// On success returns the command and the number of bytes it used (through the final CRLF),
/// which the session drops from its buffer. See [`ParseError`] for what to do otherwise; on
/// `Incomplete` and `NeedsContinuation` call again with the same input extended by the bytes
/// read next. Call again only once the newly read bytes contain a LF (every command ends
/// with one): the same input gives the same answer, and re-framing a long line after every
/// byte would cost time quadratic in its length.
pub fn parse_command(input: &[u8], limits: &Limits) -> Result<(Command, usize), ParseError> {
    match frame(input, limits)? {
        Frame::Complete(len) => {
            let body = input.get(..len).ok_or(ParseError::Incomplete)?;
            let mut parser = Parser::new(body, limits);
            let mut tag = None;
            match parser.command(&mut tag) {
                Ok(body) if parser.pos == len => Ok((
                    Command {
                        tag: tag.unwrap_or_default(),
                        body,
                    },
                    len,
                )),
                Ok(_) => Err(ParseError::Bad {
                    tag,
                    message: "unexpected data after command".to_string(),
                }),
                Err(Error::Bad(message)) => Err(ParseError::Bad { tag, message }),
                Err(Error::Refused(message)) => Err(ParseError::Refused { tag, message }),
                Err(Error::Incomplete) => Err(ParseError::Bad {
                    tag,
                    message: "unexpected end of command".to_string(),
                }),
            }
        }
        Frame::Continuation { prefix_len, size } => {
            let prefix = input.get(..prefix_len).ok_or(ParseError::Incomplete)?;
            let mut parser = Parser::new(prefix, limits);
            let mut tag = None;
            match parser.command(&mut tag) {
                Err(Error::Bad(message)) => Err(ParseError::Bad { tag, message }),
                Err(Error::Refused(message)) => Err(ParseError::Refused { tag, message }),
                _ => Err(ParseError::NeedsContinuation { literal_size: size }),
            }
        }
        Frame::Incomplete => Err(ParseError::Incomplete),
    }
}

/// The length of the complete command at the start of `input` (through its final CRLF,
/// literals included), or `None` when it is not complete or breaks a limit. A session uses
/// it to skip a command answered with `BAD`.
pub fn command_len(input: &[u8], limits: &Limits) -> Option<usize> {
    match frame(input, limits) {
        Ok(Frame::Complete(len)) => Some(len),
        _ => None,
    }
}

enum Frame {
    Complete(usize),
    Continuation { prefix_len: usize, size: u64 },
    Incomplete,
}

/// The tag at the start of `input`, when there is one followed by a space.
fn leading_tag(input: &[u8]) -> Option<String> {
    let end = input.iter().position(|&b| !lexer::is_tag_char(b))?;
    if end == 0 || input.get(end) != Some(&b' ') {
        return None;
    }
    let tag = input.get(..end)?;
    String::from_utf8(tag.to_vec()).ok()
}

/// A literal announcement at the end of `line` (CR, LF removed): `(size, synchronising)`.
fn literal_suffix(line: &[u8]) -> Option<(u64, bool)> {
    let body = line.strip_suffix(b"}")?;
    let (body, sync) = match body.last() {
        Some(b'+') | Some(b'-') => (body.get(..body.len() - 1)?, false),
        _ => (body, true),
    };
    let digits = body.iter().rev().take_while(|b| b.is_ascii_digit()).count();
    if digits == 0 {
        return None;
    }
    let open = body.len() - digits;
    if open == 0 || body.get(open - 1) != Some(&b'{') {
        return None;
    }
    let mut size: u64 = 0;
    for &d in body.get(open..)? {
        size = size.saturating_mul(10).saturating_add(u64::from(d - b'0'));
    }
    Some((size, sync))
}

fn frame(input: &[u8], limits: &Limits) -> Result<Frame, ParseError> {
    let mut pos = 0usize;
    let mut text_len = 0usize;
    let mut literal_total = 0u64;
    loop {
        let rest = input.get(pos..).unwrap_or_default();
        let budget = limits.max_line_length.saturating_sub(text_len);
        let window = rest.get(..budget.min(rest.len())).unwrap_or_default();
        let Some(lf) = window.iter().position(|&b| b == b'\n') else {
            if rest.len() >= budget && !rest.is_empty() {
                // The tag only from within the limit: the answer must not echo more, nor
                // depend on bytes past the limit that happen to be buffered already.
                let within = input.get(..limits.max_line_length).unwrap_or(input);
                return Err(ParseError::LineTooLong {
                    tag: leading_tag(within),
                    limit: limits.max_line_length,
                });
            }
            return Ok(Frame::Incomplete);
        };
        text_len += lf + 1;
        let line_end = pos + lf + 1;
        let line = window.get(..lf).unwrap_or_default();
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let Some((size, sync)) = literal_suffix(line) else {
            return Ok(Frame::Complete(line_end));
        };
        let too_large = |limit| ParseError::LiteralTooLarge {
            tag: leading_tag(input),
            size,
            limit,
            sync,
        };
        if size > limits.max_literal_size {
            return Err(too_large(limits.max_literal_size));
        }
        if !sync && size > limits.max_non_sync_literal_size {
            return Err(too_large(limits.max_non_sync_literal_size));
        }
        literal_total = literal_total.saturating_add(size);
        if literal_total > limits.max_command_literal_bytes {
            return Err(too_large(limits.max_command_literal_bytes));
        }
        let size_usize = usize::try_from(size).map_err(|_| too_large(limits.max_literal_size))?;
        let available = input.len() - line_end;
        if sync && available == 0 {
            return Ok(Frame::Continuation {
                prefix_len: line_end,
                size,
            });
        }
        if available < size_usize {
            return Ok(Frame::Incomplete);
        }
        pos = line_end + size_usize;
    }
}

impl<'a> Parser<'a> {
    pub(crate) fn new(buf: &'a [u8], limits: &'a Limits) -> Self {
        Parser {
            buf,
            pos: 0,
            limits,
            depth: 0,
        }
    }

    fn command(&mut self, tag_out: &mut Option<String>) -> PResult<CommandBody> {
        let tag = self.tag()?;
        *tag_out = Some(tag);
        if self.at_eol() {
            return bad("missing command");
        }
        self.sp()?;
        let name = self.atom_upper()?;
        let body = match name.as_str() {
            "CAPABILITY" => CommandBody::Capability,
            "NOOP" => CommandBody::Noop,
            "LOGOUT" => CommandBody::Logout,
            "STARTTLS" => CommandBody::StartTls,
            "NAMESPACE" => CommandBody::Namespace,
            "IDLE" => CommandBody::Idle,
            "CHECK" => CommandBody::Check,
            "CLOSE" => CommandBody::Close,
            "UNSELECT" => CommandBody::Unselect,
            "EXPUNGE" => CommandBody::Expunge { uids: None },
            "AUTHENTICATE" => self.authenticate()?,
            "LOGIN" => self.login()?,
            "ENABLE" => self.enable()?,
            "ID" => self.id()?,
            "COMPRESS" => self.compress()?,
            "SELECT" => CommandBody::Select(self.select()?),
            "EXAMINE" => CommandBody::Examine(self.select()?),
            "CREATE" => self.create()?,
            "DELETE" => CommandBody::Delete(self.sp_mailbox()?),
            "RENAME" => self.rename()?,
            "SUBSCRIBE" => CommandBody::Subscribe(self.sp_mailbox()?),
            "UNSUBSCRIBE" => CommandBody::Unsubscribe(self.sp_mailbox()?),
            "GETQUOTAROOT" => CommandBody::GetQuotaRoot(self.sp_mailbox()?),
            "GETQUOTA" => self.get_quota()?,
            "SETQUOTA" => self.set_quota()?,
            "LIST" => self.list()?,
            "LSUB" => self.lsub()?,
            "STATUS" => self.status()?,
            "APPEND" => self.append()?,
            "SEARCH" => CommandBody::Search(self.search(false)?),
            "FETCH" => CommandBody::Fetch(self.fetch(false)?),
            "STORE" => CommandBody::Store(self.store(false)?),
            "COPY" => CommandBody::Copy(self.copy(false)?),
            "MOVE" => CommandBody::Move(self.copy(false)?),
            "SORT" => CommandBody::Sort(self.sort(false)?),
            "THREAD" => CommandBody::Thread(self.thread(false)?),
            "UID" => self.uid_command()?,
            _ => return bad(format!("unknown command {}", printable(&name))),
        };
        if !self.at_eol() {
            return bad(format!("unexpected arguments to {name}"));
        }
        self.eol()?;
        Ok(body)
    }

    fn uid_command(&mut self) -> PResult<CommandBody> {
        self.sp()?;
        let name = self.atom_upper()?;
        Ok(match name.as_str() {
            "SEARCH" => CommandBody::Search(self.search(true)?),
            "FETCH" => CommandBody::Fetch(self.fetch(true)?),
            "STORE" => CommandBody::Store(self.store(true)?),
            "COPY" => CommandBody::Copy(self.copy(true)?),
            "MOVE" => CommandBody::Move(self.copy(true)?),
            "SORT" => CommandBody::Sort(self.sort(true)?),
            "THREAD" => CommandBody::Thread(self.thread(true)?),
            "EXPUNGE" => {
                self.sp()?;
                CommandBody::Expunge {
                    uids: Some(self.sequence_set()?),
                }
            }
            _ => return bad(format!("unknown command UID {}", printable(&name))),
        })
    }
}

/// At most 40 characters of client text, for an error message.
pub(crate) fn printable(text: &str) -> String {
    text.chars().take(40).filter(|c| !c.is_control()).collect()
}

#[cfg(test)]
mod tests {
    use crate::parser::test_support::*;
    use crate::*;

    #[test]
    fn simple_commands() {
        for (input, expected) in [
            ("a1 CAPABILITY\r\n", CommandBody::Capability),
            ("a2 noop\r\n", CommandBody::Noop),
            ("a3 LOGOUT\r\n", CommandBody::Logout),
            ("a4 STARTTLS\r\n", CommandBody::StartTls),
            ("a5 NAMESPACE\r\n", CommandBody::Namespace),
            ("a6 IDLE\r\n", CommandBody::Idle),
            ("a7 CHECK\r\n", CommandBody::Check),
            ("a8 CLOSE\r\n", CommandBody::Close),
            ("a9 UNSELECT\r\n", CommandBody::Unselect),
            ("b1 EXPUNGE\r\n", CommandBody::Expunge { uids: None }),
            (
                "b2 COMPRESS DEFLATE\r\n",
                CommandBody::Compress("DEFLATE".into()),
            ),
            ("b3 GETQUOTA \"\"\r\n", CommandBody::GetQuota(String::new())),
            (
                "b4 GETQUOTAROOT inbox\r\n",
                CommandBody::GetQuotaRoot(mailbox("INBOX")),
            ),
            ("b5 DELETE Trash\r\n", CommandBody::Delete(mailbox("Trash"))),
            (
                "b6 SUBSCRIBE \"Sent Items\"\r\n",
                CommandBody::Subscribe(mailbox("Sent Items")),
            ),
            (
                "b7 UNSUBSCRIBE Junk\r\n",
                CommandBody::Unsubscribe(mailbox("Junk")),
            ),
            (
                "b8 ENABLE QRESYNC condstore\r\n",
                CommandBody::Enable(vec!["QRESYNC".into(), "CONDSTORE".into()]),
            ),
        ] {
            let command = parse(input);
            assert_eq!(command.body, expected, "{input:?}");
            assert_eq!(command.tag, input.split(' ').next().unwrap_or_default());
        }
        // A bare LF is tolerated.
        assert_eq!(body("a NOOP\n"), CommandBody::Noop);
    }

    #[test]
    fn rfc3501_sample_session() {
        assert_eq!(
            body("a001 login mrc secret\r\n"),
            CommandBody::Login {
                username: "mrc".into(),
                password: "secret".into()
            }
        );
        assert_eq!(
            body("a002 select inbox\r\n"),
            CommandBody::Select(SelectCommand {
                mailbox: mailbox("INBOX"),
                condstore: false,
                qresync: None
            })
        );
        let CommandBody::Fetch(fetch) = body("a003 fetch 12 full\r\n") else {
            panic!()
        };
        assert_eq!(fetch.sequence_set, SequenceSet::single(12));
        assert_eq!(
            fetch.attributes,
            vec![
                FetchAttribute::Flags,
                FetchAttribute::InternalDate,
                FetchAttribute::Rfc822Size,
                FetchAttribute::Envelope,
                FetchAttribute::Body
            ]
        );
        let CommandBody::Fetch(fetch) = body("a004 fetch 12 body[header]\r\n") else {
            panic!()
        };
        assert_eq!(
            fetch.attributes,
            vec![FetchAttribute::BodySection {
                peek: false,
                section: Some(Section {
                    part: vec![],
                    text: Some(SectionText::Header)
                }),
                partial: None
            }]
        );
        let CommandBody::Store(store) = body("a005 store 12 +flags \\deleted\r\n") else {
            panic!()
        };
        assert_eq!(store.action, StoreAction::Add);
        assert_eq!(store.flags, vec![Flag::Deleted]);
        assert!(!store.silent && !store.uid);
        assert_eq!(body("a006 logout\r\n"), CommandBody::Logout);
    }

    #[test]
    fn synchronising_literal_needs_continuation() {
        let l = limits();
        assert_eq!(
            parse_command(b"A1 APPEND INBOX {5}\r\n", &l),
            Err(ParseError::NeedsContinuation { literal_size: 5 })
        );
        assert_eq!(
            parse_command(b"A1 APPEND INBOX {5}\r\nhel", &l),
            Err(ParseError::Incomplete)
        );
        assert_eq!(
            parse_command(b"A1 APPEND INBOX {5}\r\nhello", &l),
            Err(ParseError::Incomplete)
        );
        let (command, used) =
            parse_command(b"A1 APPEND INBOX {5}\r\nhello\r\nA2 NOOP\r\n", &l).unwrap();
        assert_eq!(used, 28);
        let CommandBody::Append { messages, .. } = command.body else {
            panic!()
        };
        assert_eq!(messages[0].data, b"hello");
        // Two synchronising literals: one continuation each.
        let login = b"a LOGIN {3}\r\nbob {6}\r\nsecret\r\n";
        assert_eq!(
            parse_command(&login[..13], &l),
            Err(ParseError::NeedsContinuation { literal_size: 3 })
        );
        assert_eq!(
            parse_command(&login[..22], &l),
            Err(ParseError::NeedsContinuation { literal_size: 6 })
        );
        assert_eq!(parse_command(&login[..25], &l), Err(ParseError::Incomplete));
        assert!(parse_command(login, &l).is_ok());
        // A syntax error before the literal is reported instead of a continuation.
        assert_eq!(
            parse_command(b"a FOO {5}\r\n", &l),
            Err(ParseError::Bad {
                tag: Some("a".into()),
                message: "unknown command FOO".into()
            })
        );
        assert!(matches!(
            parse_command(b"a LOGIN \"x {5}\r\n", &l),
            Err(ParseError::Bad { .. })
        ));
        // Incomplete lines.
        assert_eq!(parse_command(b"", &l), Err(ParseError::Incomplete));
        assert_eq!(parse_command(b"a NOOP", &l), Err(ParseError::Incomplete));
        assert_eq!(parse_command(b"a NOOP\r", &l), Err(ParseError::Incomplete));
    }

    #[test]
    fn non_synchronising_literals() {
        let l = limits();
        assert_eq!(
            parse_command(b"a LOGIN {3+}\r\n", &l),
            Err(ParseError::Incomplete)
        );
        assert_eq!(
            parse_command(b"a LOGIN {3-}\r\nbo", &l),
            Err(ParseError::Incomplete)
        );
        assert_eq!(
            body("a LOGIN {3-}\r\nbob {0+}\r\n\r\n"),
            CommandBody::Login {
                username: "bob".into(),
                password: String::new()
            }
        );
        assert_eq!(command_len(b"a LOGIN {3+}\r\nbob x\r\nrest", &l), Some(21));
    }

    #[test]
    fn error_cases() {
        assert_eq!(
            bad_message("a17 FROB 1\r\n"),
            (Some("a17".into()), "unknown command FROB".into())
        );
        assert_eq!(bad_message("\r\n").0, None);
        assert_eq!(bad_message(" NOOP\r\n").0, None);
        assert_eq!(bad_message("+tag NOOP\r\n").0, None);
        assert_eq!(
            bad_message("a1\r\n"),
            (Some("a1".into()), "missing command".into())
        );
        assert_eq!(bad_message("a1 NOOP extra\r\n").0, Some("a1".into()));
        assert_eq!(
            bad_message("a UID FROB 1\r\n").1,
            "unknown command UID FROB"
        );
        assert!(matches!(
            parse_command(b"\x00\x01\x02garbage\xff\r\n", &limits()),
            Err(ParseError::Bad { tag: None, .. })
        ));
        assert!(matches!(
            error("a LOGIN \"unterminated\r\n"),
            ParseError::Bad { .. }
        ));
        assert!(matches!(error("a LOGIN a\r\0\n"), ParseError::Bad { .. }));
        assert!(matches!(
            error("a LOGIN \"a\0\" b\r\n"),
            ParseError::Bad { .. }
        ));
        assert!(matches!(
            error("a LOGIN {1+}\r\n\0 b\r\n"),
            ParseError::Bad { .. }
        ));
    }

    #[test]
    fn overlong_line() {
        let l = Limits {
            max_line_length: 100,
            ..Limits::default()
        };
        let long = format!("a7 LOGIN {} x\r\n", "u".repeat(200));
        assert_eq!(
            parse_command(long.as_bytes(), &l),
            Err(ParseError::LineTooLong {
                tag: Some("a7".into()),
                limit: 100
            })
        );
        // Detected before the end of the line arrives.
        assert!(matches!(
            parse_command(&long.as_bytes()[..150], &l),
            Err(ParseError::LineTooLong { .. })
        ));
        // A tag longer than the limit is not echoed, whatever follows it (found by the
        // fuzzer: the answer changed with the bytes buffered after the limit).
        let long_tag = "t".repeat(150);
        for input in [long_tag.clone(), format!("{long_tag} NOOP\r\n")] {
            assert_eq!(
                parse_command(input.as_bytes(), &l),
                Err(ParseError::LineTooLong {
                    tag: None,
                    limit: 100
                })
            );
        }
        // A first line that uses the whole budget: incomplete until more text arrives.
        let exact = Limits {
            max_line_length: 14,
            ..Limits::default()
        };
        assert_eq!(
            parse_command(b"a LOGIN {3+}\r\nbob", &exact),
            Err(ParseError::Incomplete)
        );
        assert!(matches!(
            parse_command(b"a LOGIN {3+}\r\nbob x\r\n", &exact),
            Err(ParseError::LineTooLong { .. })
        ));
        // Lines of a command add up.
        let split = format!(
            "a LOGIN {{40+}}\r\n{} {{40+}}\r\n{}\r\n",
            "x".repeat(40),
            "y".repeat(40)
        );
        let text_len = split.len() - 80;
        let fits = Limits {
            max_line_length: text_len,
            ..Limits::default()
        };
        assert!(parse_command(split.as_bytes(), &fits).is_ok());
        let tight = Limits {
            max_line_length: text_len - 1,
            ..Limits::default()
        };
        assert!(matches!(
            parse_command(split.as_bytes(), &tight),
            Err(ParseError::LineTooLong { .. })
        ));
    }

    #[test]
    fn huge_literal_announcements() {
        let l = Limits {
            max_literal_size: 1000,
            max_command_literal_bytes: 1500,
            ..Limits::default()
        };
        assert_eq!(
            parse_command(b"a APPEND INBOX {99999999999999999999999}\r\n", &l),
            Err(ParseError::LiteralTooLarge {
                tag: Some("a".into()),
                size: u64::MAX,
                limit: 1000,
                sync: true
            })
        );
        assert_eq!(
            parse_command(b"a APPEND INBOX {4294967296+}\r\n", &l),
            Err(ParseError::LiteralTooLarge {
                tag: Some("a".into()),
                size: 4294967296,
                limit: 1000,
                sync: false
            })
        );
        let multi = format!(
            "a APPEND INBOX {{800+}}\r\n{} {{800+}}\r\n",
            "x".repeat(800)
        );
        assert_eq!(
            parse_command(multi.as_bytes(), &l),
            Err(ParseError::LiteralTooLarge {
                tag: Some("a".into()),
                size: 800,
                limit: 1500,
                sync: false
            })
        );
        // A synchronising literal over the per-command total only (each one fits).
        let sync_multi = format!("a APPEND INBOX {{800+}}\r\n{} {{800}}\r\n", "x".repeat(800));
        assert_eq!(
            parse_command(sync_multi.as_bytes(), &l),
            Err(ParseError::LiteralTooLarge {
                tag: Some("a".into()),
                size: 800,
                limit: 1500,
                sync: true
            })
        );
        // LITERAL-: non-synchronising literals above 4096 bytes are refused.
        let minus = Limits {
            max_non_sync_literal_size: 4096,
            ..Limits::default()
        };
        assert!(matches!(
            parse_command(b"a APPEND INBOX {4097-}\r\n", &minus),
            Err(ParseError::LiteralTooLarge {
                size: 4097,
                limit: 4096,
                sync: false,
                ..
            })
        ));
        assert_eq!(
            parse_command(b"a APPEND INBOX {4097}\r\n", &minus),
            Err(ParseError::NeedsContinuation { literal_size: 4097 })
        );
        // Within limits: continuation, with no allocation of the announced size.
        assert_eq!(
            parse_command(b"a APPEND INBOX {1000}\r\n", &l),
            Err(ParseError::NeedsContinuation { literal_size: 1000 })
        );
    }

    #[test]
    fn deep_nesting_is_bounded() {
        let deep = format!(
            "a SEARCH {}ALL{}\r\n",
            "(".repeat(10_000),
            ")".repeat(10_000)
        );
        let (tag, message) = bad_message(&deep);
        assert_eq!(tag.as_deref(), Some("a"));
        assert!(message.contains("too deeply nested"));
        let nots = format!("a SEARCH {}SEEN\r\n", "NOT ".repeat(10_000));
        assert!(bad_message(&nots).1.contains("too deeply nested"));
        let ors = format!("a SEARCH {}SEEN{}\r\n", "OR SEEN ".repeat(5_000), "");
        assert!(bad_message(&ors).1.contains("too deeply nested"));
        // Unbalanced opening parentheses everywhere else fail quickly too.
        for prefix in [
            "a FETCH 1 ",
            "a STORE 1 FLAGS ",
            "a ID ",
            "a LIST ",
            "a SELECT x ",
        ] {
            let input = format!("{prefix}{}\r\n", "(".repeat(10_000));
            assert!(matches!(error(&input), ParseError::Bad { .. }), "{prefix}");
        }
        // Within the limit it parses.
        let ok = format!("a SEARCH {}ALL{}\r\n", "(".repeat(60), ")".repeat(60));
        assert!(parse_command(ok.as_bytes(), &limits()).is_ok());
    }

    /// Tiny deterministic PRNG for the fuzz-style test.
    struct XorShift(u64);

    impl XorShift {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }

        fn below(&mut self, n: usize) -> usize {
            (self.next() % n.max(1) as u64) as usize
        }
    }

    const SEEDS: &[&str] = &[
        "a1 LOGIN {5}\r\nalice {6+}\r\nsecret\r\n",
        "a2 SELECT INBOX (QRESYNC (1 2 1:5 (1,3 5,7)))\r\n",
        "a3 UID FETCH 1:* (FLAGS BODY.PEEK[HEADER.FIELDS (From Subject)]<0.1024> BINARY[1.2]) (CHANGEDSINCE 5 VANISHED)\r\n",
        "a4 SEARCH RETURN (MIN MAX) CHARSET UTF-8 OR (FROM x SINCE 1-Feb-2024) NOT (TEXT {3+}\r\nabc) $\r\n",
        "a5 APPEND Drafts (\\Draft) \"01-Feb-2024 10:00:00 +0000\" ~{4+}\r\na\0bc UTF8 (~{1+}\r\nz)\r\n",
        "a6 LIST (SUBSCRIBED) \"\" (\"*\" %) RETURN (STATUS (MESSAGES SIZE) CHILDREN)\r\n",
        "a7 UID STORE 1,3:5 (UNCHANGEDSINCE 9) +FLAGS.SILENT (\\Seen $x)\r\n",
        "a8 UID SORT (REVERSE ARRIVAL) UTF-8 ALL\r\n",
        "a9 ID (\"name\" \"x\" \"os\" NIL)\r\n",
        "b1 CREATE &ZeVnLIqe- (USE (\\Archive))\r\n",
        "b2 AUTHENTICATE PLAIN AGEAYg==\r\n",
    ];

    #[test]
    fn fuzz_no_panic() {
        let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
        let tokens: &[&[u8]] = &[
            b"(",
            b")",
            b"{",
            b"}",
            b"{5}\r\n",
            b"{0+}\r\n",
            b"~{2}\r\n",
            b"\"",
            b"\\",
            b" ",
            b"\r\n",
            b"*",
            b"$",
            b":",
            b",",
            b"NIL",
            b"[",
            b"]",
            b"<",
            b">",
            b".",
            b"&",
            b"-",
            b"\0",
            b"\xff",
            b"OR ",
            b"NOT ",
            b"BODY[",
            b"99999999999999999999",
        ];
        let l = Limits {
            max_literal_size: 4096,
            max_depth: 16,
            ..Limits::default()
        };
        let mut parsed = 0;
        // IMAP_PROTO_FUZZ_ROUNDS=10000000 turns this into a longer fuzzing run.
        let rounds = std::env::var("IMAP_PROTO_FUZZ_ROUNDS")
            .ok()
            .and_then(|r| r.parse().ok())
            .unwrap_or(5000u64);
        for round in 0..rounds {
            let mut input: Vec<u8> = if round % 5 == 0 {
                (0..rng.below(200)).map(|_| rng.next() as u8).collect()
            } else {
                SEEDS[rng.below(SEEDS.len())].as_bytes().to_vec()
            };
            for _ in 0..rng.below(6) {
                let at = rng.below(input.len() + 1);
                match rng.below(4) {
                    0 if at < input.len() => {
                        input.remove(at);
                    }
                    1 if at < input.len() => input[at] = rng.next() as u8,
                    2 => {
                        let token = tokens[rng.below(tokens.len())];
                        input.splice(at..at, token.iter().copied());
                    }
                    _ => input.truncate(at),
                }
            }
            if let Ok((_, used)) = parse_command(&input, &l) {
                assert!(used <= input.len());
                parsed += 1;
            }
            // Every prefix must be handled too.
            let cut = rng.below(input.len() + 1);
            let _ = parse_command(&input[..cut], &l);
            let _ = command_len(&input, &l);
        }
        assert!(
            parsed > 100,
            "mutations should keep some commands valid ({parsed})"
        );
    }

    #[test]
    fn incremental_feeding_matches_whole_parse() {
        let l = limits();
        let stream: Vec<u8> = SEEDS.iter().flat_map(|s| s.bytes()).collect();
        let whole: Vec<Command> = SEEDS.iter().map(|s| parse(s)).collect();
        let mut rng = XorShift(42);
        for _ in 0..200 {
            let mut buffer: Vec<u8> = Vec::new();
            let mut commands = Vec::new();
            let mut continuations = 0;
            let mut rest = stream.as_slice();
            while !rest.is_empty() {
                let take = (1 + rng.below(20)).min(rest.len());
                let (chunk, tail) = rest.split_at(take);
                buffer.extend_from_slice(chunk);
                rest = tail;
                loop {
                    match parse_command(&buffer, &l) {
                        Ok((command, used)) => {
                            commands.push(command);
                            buffer.drain(..used);
                        }
                        Err(ParseError::NeedsContinuation { .. }) => {
                            continuations += 1;
                            break;
                        }
                        Err(ParseError::Incomplete) => break,
                        Err(other) => panic!("{other:?}"),
                    }
                }
            }
            assert!(buffer.is_empty());
            assert_eq!(commands, whole);
            // Seed 1 has one synchronising literal; a chunk may end exactly after it.
            assert!(continuations <= 1);
        }
    }

    #[test]
    fn seeds_parse() {
        for seed in SEEDS {
            parse(seed);
        }
    }
}

#[cfg(test)]
pub(crate) mod test_support {
    //! Helpers shared by the parser tests.

    use crate::*;

    pub(crate) fn limits() -> Limits {
        Limits::default()
    }

    pub(crate) fn parse(input: &str) -> Command {
        parse_bytes(input.as_bytes())
    }

    pub(crate) fn parse_bytes(input: &[u8]) -> Command {
        match parse_command(input, &limits()) {
            Ok((command, used)) => {
                assert_eq!(used, input.len(), "{input:?}");
                command
            }
            Err(e) => panic!("{:?}: {e:?}", String::from_utf8_lossy(input)),
        }
    }

    pub(crate) fn body(input: &str) -> CommandBody {
        parse(input).body
    }

    /// At most 80 characters of a test input, for failure messages.
    pub(crate) fn short(input: &str) -> String {
        input.chars().take(80).collect()
    }

    pub(crate) fn error(input: &str) -> ParseError {
        match parse_command(input.as_bytes(), &limits()) {
            Ok(command) => panic!("{:?} parsed as {command:?}", short(input)),
            Err(e) => e,
        }
    }

    pub(crate) fn bad_message(input: &str) -> (Option<String>, String) {
        match error(input) {
            ParseError::Bad { tag, message } => (tag, message),
            other => panic!("{:?}: expected Bad, got {other:?}", short(input)),
        }
    }

    pub(crate) fn mailbox(name: &str) -> MailboxName {
        MailboxName::new(name)
    }

    pub(crate) fn seq(text: &str) -> SequenceSet {
        let input = format!("a UID EXPUNGE {text}\r\n");
        match body(&input) {
            CommandBody::Expunge { uids: Some(set) } => set,
            other => panic!("{other:?}"),
        }
    }

    pub(crate) fn v(n: u32) -> SeqBound {
        SeqBound::Value(n)
    }
}
