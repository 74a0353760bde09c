//! A mutation fuzzer for the command parser that runs on the stable toolchain.
//!
//! `cargo fuzz` needs a nightly compiler, which this project does not use; this engine does
//! the same job without coverage feedback: it mutates a corpus of valid commands (byte flips,
//! splices, truncations, literals, deep nesting, huge numbers, interesting tokens) and feeds
//! every mutant to [`parse_command`], [`command_len`], [`parse_sasl_response`] and
//! [`parse_idle_done`] under several [`Limits`], checking that nothing panics and that the
//! answers are consistent with each other (see [`check`]). The `fuzz` example runs it for a
//! given time; a `cargo test` runs a short deterministic round.
//!
//! Shared by `examples/fuzz/main.rs` and `tests/fuzz.rs` through `#[path]`.

use std::collections::BTreeMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::{Duration, Instant};

use sealpost_imap_proto::{
    EncodeOptions, Limits, ParseError, Response, command_len, parse_command, parse_idle_done,
    parse_sasl_response,
};

/// Valid commands the mutations start from: every command family and extension syntax.
pub const CORPUS: &[&[u8]] = &[
    b"a1 CAPABILITY\r\n",
    b"a2 NOOP\r\n",
    b"a3 LOGOUT\r\n",
    b"a4 STARTTLS\r\n",
    b"a5 NAMESPACE\r\n",
    b"a6 IDLE\r\n",
    b"a7 CHECK\r\n",
    b"a8 CLOSE\r\n",
    b"a9 UNSELECT\r\n",
    b"b1 EXPUNGE\r\n",
    b"b2 COMPRESS DEFLATE\r\n",
    b"b3 GETQUOTA \"\"\r\n",
    b"b4 GETQUOTAROOT inbox\r\n",
    b"b5 DELETE Trash\r\n",
    b"b6 SUBSCRIBE \"Sent Items\"\r\n",
    b"b7 UNSUBSCRIBE Junk\r\n",
    b"b8 ENABLE QRESYNC condstore UTF8=ACCEPT\r\n",
    b"a001 login mrc secret\r\n",
    b"a LOGIN {5}\r\nalice {6}\r\nsecret\r\n",
    b"a LOGIN {5+}\r\nalice \"p\\\"w d\"\r\n",
    b"a LOGIN {3-}\r\nbob {0+}\r\n\r\n",
    b"a AUTHENTICATE PLAIN\r\n",
    b"a AUTHENTICATE PLAIN =\r\n",
    b"a AUTHENTICATE plain AGFsaWNlAHNlY3JldA==\r\n",
    b"a002 select inbox\r\n",
    b"a EXAMINE Archive (CONDSTORE)\r\n",
    b"A02 SELECT INBOX (QRESYNC (67890007 20050715194045000 41,43:211,214:541))\r\n",
    b"A03 SELECT INBOX (QRESYNC (67890007 90060115194045000 1:29997 (5000,7500,9000,9990:9999 15000,22500,27000,29970,29973,29976,29979,29982,29985,29988,29991,29994,29997)))\r\n",
    b"a CREATE foo/bar\r\n",
    b"a CREATE &ZeVnLIqe-\r\n",
    b"a CREATE Sent (USE (\\Sent))\r\n",
    "a DELETE \"Entwürfe\"\r\n".as_bytes(),
    b"a RENAME \"Entw&APw-rfe\" Drafts\r\n",
    b"a LIST \"\" %\r\n",
    b"a LIST \"\" \"*\" RETURN (CHILDREN SPECIAL-USE STATUS (MESSAGES UNSEEN SIZE))\r\n",
    b"a list (special-use subscribed recursivematch) \"\" (\"*\" \"Other/%\") return ()\r\n",
    b"a LSUB \"#news.\" \"comp.mail.*\"\r\n",
    b"a STATUS INBOX (MESSAGES RECENT UIDNEXT UIDVALIDITY UNSEEN HIGHESTMODSEQ SIZE)\r\n",
    b"a APPEND INBOX {5}\r\nhello\r\n",
    b"a APPEND INBOX (\\Seen $Work) \" 7-Feb-1994 01:02:03 +0100\" {1+}\r\nx\r\n",
    b"a APPEND INBOX (\\Seen) {3+}\r\nabc (\\Flagged) \"01-Jan-2024 00:00:00 -0500\" {2+}\r\nde\r\n",
    b"a APPEND Drafts UTF8 (~{4+}\r\nabcd)\r\n",
    b"a003 fetch 12 full\r\n",
    b"a004 fetch 12 body[header]\r\n",
    b"a FETCH 2:4 fast\r\n",
    b"a FETCH $ ALL\r\n",
    b"a FETCH 1:* (FLAGS UID INTERNALDATE RFC822.SIZE ENVELOPE BODYSTRUCTURE MODSEQ)\r\n",
    b"a UID FETCH 1:*,7,9:12 (BODY.PEEK[HEADER.FIELDS (From To Subject)]<0.2048> BODY[1.2.MIME] BODY[TEXT]<10.20>)\r\n",
    b"a FETCH 1 (BINARY.PEEK[1.2]<0.100> BINARY.SIZE[1] BODY[HEADER.FIELDS.NOT (Received)] RFC822.HEADER RFC822.TEXT RFC822)\r\n",
    b"a UID FETCH 1:* (FLAGS) (CHANGEDSINCE 12345 VANISHED)\r\n",
    b"a005 store 12 +flags \\deleted\r\n",
    b"a STORE 2 +FLAGS \\Flagged \\Answered\r\n",
    b"a STORE 2 FLAGS ()\r\n",
    b"a UID STORE 1:3,5 (UNCHANGEDSINCE 320162338) -FLAGS.SILENT (\\Seen $Junk)\r\n",
    b"A003 COPY 2:4 MEETING\r\n",
    b"a UID COPY 1:* Archive\r\n",
    b"a UID MOVE 42 \"Archive/2024\"\r\n",
    b"a MOVE $ Trash\r\n",
    b"a UID EXPUNGE 3000:3002\r\n",
    b"a SEARCH UNSEEN\r\n",
    b"a SEARCH RETURN () UNSEEN\r\n",
    b"a SEARCH RETURN (MIN MAX COUNT ALL SAVE) CHARSET UTF-8 OR (FROM alice SUBJECT {3}\r\nfoo) NOT (LARGER 100 SMALLER 20000)\r\n",
    b"a UID SEARCH 1:100 SINCE 1-Feb-2024 BEFORE 01-Mar-2024 ON 5-Mar-2024 SENTSINCE 1-Jan-2020 HEADER X-Spam yes BODY hello TEXT world KEYWORD $Work UNKEYWORD x MODSEQ 100 UID 5:7 NEW OLD RECENT ANSWERED DELETED DRAFT FLAGGED SEEN UNANSWERED UNDELETED UNDRAFT UNFLAGGED\r\n",
    b"a SEARCH MODSEQ \"/flags/\\\\draft\" all 620162338\r\n",
    b"a SORT (REVERSE DATE SUBJECT ARRIVAL FROM TO CC SIZE) UTF-8 ALL\r\n",
    b"a UID SORT (REVERSE DATE SUBJECT) UTF-8 UNDELETED SINCE 1-Feb-2024\r\n",
    b"a THREAD REFERENCES US-ASCII ALL\r\n",
    b"a UID THREAD orderedsubject utf-8 (SEEN)\r\n",
    b"a ID (\"name\" \"sodr\" \"version\" \"19.34\" \"vendor\" NIL)\r\n",
    b"a ID NIL\r\n",
];

/// Byte strings the mutator inserts: the grammar's special characters and keywords.
const TOKENS: &[&[u8]] = &[
    b" ",
    b"(",
    b")",
    b"[",
    b"]",
    b"<",
    b">",
    b"{",
    b"}",
    b"\"",
    b"\\",
    b"*",
    b"%",
    b"$",
    b":",
    b",",
    b".",
    b"+",
    b"-",
    b"~",
    b"\r\n",
    b"\n",
    b"\r",
    b"\0",
    b"\xff",
    b"\xc3\xa9",
    b"NIL",
    b"{0}\r\n",
    b"{1}\r\n",
    b"{0+}\r\n",
    b"{4294967296}\r\n",
    b"{18446744073709551615}\r\n",
    b"{99999999999999999999999}\r\n",
    b"{5-}\r\n",
    b"~{3+}\r\n",
    b"4294967295",
    b"4294967296",
    b"18446744073709551615",
    b"99999999999999999999999999",
    b"0",
    b"*:*",
    b"1:*",
    b"UID",
    b"OR",
    b"NOT",
    b"BODY[",
    b"BODY.PEEK[",
    b"BINARY[",
    b"HEADER.FIELDS (",
    b"MIME",
    b"TEXT",
    b"CHARSET",
    b"RETURN (",
    b"UNCHANGEDSINCE",
    b"CHANGEDSINCE",
    b"VANISHED",
    b"QRESYNC (",
    b"&",
    b"&-",
    b"&AGE",
    b"&Jjo!",
    b"31-Dec-1999",
    b"\"32-Foo-99999 25:61:61 +9999\"",
    b"=",
    b"AGFsaWNlAHNlY3JldA==",
];

/// The limit sets each input is parsed under: the default, small ones that make every
/// limit reachable, and UTF8=ACCEPT.
pub fn limit_sets() -> Vec<Limits> {
    let small = Limits {
        max_line_length: 96,
        max_literal_size: 32,
        max_command_literal_bytes: 48,
        max_non_sync_literal_size: 8,
        max_depth: 3,
        max_sequence_ranges: 3,
        utf8_accept: false,
    };
    let utf8 = Limits {
        utf8_accept: true,
        ..Limits::default()
    };
    let zero = Limits {
        max_line_length: 0,
        max_literal_size: 0,
        max_command_literal_bytes: 0,
        max_non_sync_literal_size: 0,
        max_depth: 0,
        max_sequence_ranges: 0,
        utf8_accept: true,
    };
    vec![Limits::default(), small, utf8, zero]
}

/// xorshift64*: small, fast, deterministic for a seed; no dependency.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number below `n` (`n` > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// Mutants are cut to this size so one iteration stays cheap.
const MAX_INPUT: usize = 200_000;

/// One random mutation of `input`.
fn mutate_once(rng: &mut Rng, input: &mut Vec<u8>) {
    let len = input.len();
    let at = rng.below(len + 1);
    match rng.below(14) {
        // Flip one bit.
        0 if len > 0 => {
            let i = rng.below(len);
            input[i] ^= 1 << rng.below(8);
        }
        // Replace a byte with any byte.
        1 if len > 0 => {
            let i = rng.below(len);
            input[i] = rng.next() as u8;
        }
        // Insert a random byte.
        2 => input.insert(at, rng.next() as u8),
        // Delete a range.
        3 if len > 0 => {
            let end = (at + 1 + rng.below(16)).min(len);
            input.drain(at.min(end)..end);
        }
        // Truncate.
        4 => input.truncate(at),
        // Duplicate a range.
        5 if len > 0 => {
            let start = rng.below(len);
            let end = (start + 1 + rng.below(64)).min(len);
            let piece = input[start..end].to_vec();
            input.splice(at..at, piece);
        }
        // Splice in part of another corpus command.
        6 => {
            let other = rng.pick(CORPUS);
            let start = rng.below(other.len());
            let end = start + rng.below(other.len() - start + 1);
            input.splice(at..at, other[start..end].iter().copied());
        }
        // Insert an interesting token.
        7 | 8 => {
            let token = rng.pick(TOKENS);
            input.splice(at..at, token.iter().copied());
        }
        // A literal of random announced and actual size, sometimes non-synchronising.
        9 => {
            let size = match rng.below(4) {
                0 => rng.below(4),
                1 => rng.below(64),
                2 => rng.below(5000),
                _ => rng.next() as usize,
            };
            let kind = *rng.pick(&["", "+", "-"]);
            let mut literal = format!("{{{size}{kind}}}\r\n").into_bytes();
            let actual = if rng.below(4) == 0 {
                rng.below(64)
            } else {
                size.min(4096)
            };
            literal.extend((0..actual).map(|_| rng.next() as u8));
            input.splice(at..at, literal);
        }
        // Deep nesting of parentheses (lists, search keys) or of section parts.
        10 => {
            let max = if rng.below(8) == 0 { 20_000 } else { 80 };
            let depth = 1 + rng.below(max);
            let (open, close): (&[u8], &[u8]) = match rng.below(4) {
                0 => (b"(", b")"),
                1 => (b"NOT ", b""),
                2 => (b"OR ALL ", b""),
                _ => (b"1.", b""),
            };
            let mut nest = open.repeat(depth);
            nest.extend_from_slice(b"ALL");
            nest.extend_from_slice(&close.repeat(if rng.below(2) == 0 { depth } else { 0 }));
            input.splice(at..at, nest);
        }
        // A huge or long number, or a long sequence set.
        11 => {
            let text = match rng.below(3) {
                0 => "9".repeat(1 + rng.below(60)),
                1 => (0..1 + rng.below(20_000))
                    .map(|i| i.to_string())
                    .collect::<Vec<_>>()
                    .join(","),
                _ => rng.next().to_string(),
            };
            input.splice(at..at, text.into_bytes());
        }
        // Append another whole command (pipelining).
        12 => {
            let other = rng.pick::<&[u8]>(CORPUS);
            input.extend_from_slice(other);
        }
        // Repeat a byte many times (long lines, long atoms).
        _ => {
            let byte = if len > 0 { input[rng.below(len)] } else { b'a' };
            let max = if rng.below(4) == 0 { 70_000 } else { 300 };
            let count = 1 + rng.below(max);
            input.splice(at..at, std::iter::repeat_n(byte, count));
        }
    }
    input.truncate(MAX_INPUT);
}

/// A mutant: a corpus command changed one to six times.
pub fn mutant(rng: &mut Rng) -> Vec<u8> {
    let mut input = rng.pick(CORPUS).to_vec();
    for _ in 0..1 + rng.below(6) {
        mutate_once(rng, &mut input);
    }
    input
}

/// A coarse name for an outcome, to count the distinct ones: the command variant or the
/// error kind (Bad errors by the first three words of their message).
fn outcome_name(result: &Result<(sealpost_imap_proto::Command, usize), ParseError>) -> String {
    match result {
        Ok((command, _)) => {
            let debug = format!("{:?}", command.body);
            let end = debug
                .find(|c: char| !c.is_alphanumeric())
                .unwrap_or(debug.len());
            format!("ok {}", &debug[..end])
        }
        Err(ParseError::Bad { message, .. }) => {
            // Messages that quote client text keep only their fixed words.
            let fixed = if message.starts_with("unknown command UID") {
                4
            } else if message.starts_with("unknown ") {
                2
            } else {
                3
            };
            let words: Vec<&str> = message
                .split(' ')
                .take(fixed)
                .map(|w| {
                    if w.bytes().any(|b| b.is_ascii_digit()) {
                        "N"
                    } else {
                        w
                    }
                })
                .collect();
            format!("bad {}", words.join(" "))
        }
        Err(ParseError::Refused { .. }) => "refused".into(),
        Err(ParseError::Incomplete) => "incomplete".into(),
        Err(ParseError::NeedsContinuation { .. }) => "continuation".into(),
        Err(ParseError::LiteralTooLarge { sync, .. }) => format!("literal too large sync={sync}"),
        Err(ParseError::LineTooLong { .. }) => "line too long".into(),
    }
}

/// Checks every invariant for one input under one limit set; `Err` says which one broke.
/// Returns the outcome name.
pub fn check(input: &[u8], limits: &Limits) -> Result<String, String> {
    let result = parse_command(input, limits);
    let length = command_len(input, limits);
    // The same input gives the same answer (the session relies on it when it re-parses).
    if parse_command(input, limits) != result {
        return Err("parse_command is not deterministic".into());
    }
    match &result {
        Ok((command, used)) => {
            let used = *used;
            if used == 0 || used > input.len() {
                return Err(format!("used {used} of {} bytes", input.len()));
            }
            if input[used - 1] != b'\n' {
                return Err("a command must end with LF".into());
            }
            if length != Some(used) {
                return Err(format!("command_len {length:?} but parse used {used}"));
            }
            if command.tag.is_empty()
                || command
                    .tag
                    .bytes()
                    .any(|b| b <= b' ' || b >= 0x7f || b"(){%*\"\\+".contains(&b))
            {
                return Err(format!("invalid tag {:?}", command.tag));
            }
            // The command alone parses the same: nothing after it was looked at.
            if parse_command(&input[..used], limits) != result {
                return Err("the command alone parses differently".into());
            }
        }
        Err(ParseError::Incomplete) => {
            if length.is_some() {
                return Err("Incomplete but command_len found a command".into());
            }
            // A shorter input cannot hold a complete command either.
            if let Some(shorter) = input.len().checked_sub(1)
                && command_len(&input[..shorter], limits).is_some()
            {
                return Err("Incomplete but a prefix is complete".into());
            }
        }
        Err(ParseError::NeedsContinuation { literal_size }) => {
            if length.is_some() {
                return Err("NeedsContinuation but command_len found a command".into());
            }
            if *literal_size > limits.max_literal_size {
                return Err(format!(
                    "continuation for {literal_size} bytes over the limit"
                ));
            }
            if !(input.ends_with(b"}\r\n") || input.ends_with(b"}\n")) {
                return Err("NeedsContinuation but input does not end with a literal".into());
            }
        }
        Err(ParseError::LiteralTooLarge { size, limit, .. }) => {
            // Either this literal is over a per-literal limit, or the command's literals
            // add up to more than max_command_literal_bytes.
            if size <= limit && *limit != limits.max_command_literal_bytes {
                return Err(format!("literal {size} reported over limit {limit}"));
            }
        }
        Err(ParseError::LineTooLong { limit, .. }) => {
            if *limit != limits.max_line_length {
                return Err("LineTooLong with another limit".into());
            }
        }
        Err(ParseError::Bad { message, tag } | ParseError::Refused { message, tag }) => {
            if message.is_empty() {
                return Err("empty BAD message".into());
            }
            if let Some(tag) = tag
                && (tag.is_empty() || tag.bytes().any(|b| b <= b' ' || b >= 0x7f))
            {
                return Err(format!("invalid tag in BAD {tag:?}"));
            }
        }
    }
    if let Err(error) = &result {
        // The response the session sends is one line: client bytes cannot inject another.
        if let Some(response) = error.response() {
            let line = Response::from(response).encode(EncodeOptions::default());
            let crlf = line.windows(2).filter(|w| w == b"\r\n").count();
            if crlf != 1
                || !line.ends_with(b"\r\n")
                || line.iter().filter(|&&b| b == b'\n' || b == b'\r').count() != 2
            {
                return Err(format!(
                    "error response is not one line: {:?}",
                    String::from_utf8_lossy(&line)
                ));
            }
        }
    }
    // A complete command, or a limit error, does not change when more bytes follow.
    let settled = length.is_some()
        || matches!(
            result,
            Err(ParseError::LiteralTooLarge { .. } | ParseError::LineTooLong { .. })
        );
    if settled {
        let mut longer = input.to_vec();
        longer.extend_from_slice(b"x LOGOUT\r\n{5}\r\n");
        let again = parse_command(&longer, limits);
        let same = match (&result, &again) {
            (Ok(a), Ok(b)) => a == b,
            (Err(a), Err(b)) => a == b,
            _ => false,
        };
        if !same {
            return Err(format!("more input changed {result:?} into {again:?}"));
        }
    }
    // The continuation-line parsers see the same bytes.
    match parse_sasl_response(input, limits) {
        Ok((_, used)) if used == 0 || used > input.len() => {
            return Err("parse_sasl_response used out of range".into());
        }
        _ => {}
    }
    match parse_idle_done(input) {
        Ok(used) if used == 0 || used > input.len() => {
            return Err("parse_idle_done used out of range".into());
        }
        _ => {}
    }
    Ok(outcome_name(&result))
}

/// What a run found.
#[derive(Default)]
pub struct Report {
    pub iterations: u64,
    pub parses: u64,
    pub elapsed: Duration,
    /// Outcome name to count.
    pub outcomes: BTreeMap<String, u64>,
    /// Inputs that panicked or broke an invariant, with the reason (at most 20 kept).
    pub failures: Vec<(Vec<u8>, String)>,
    /// The slowest single input with its time, to spot super-linear parsing.
    pub slowest: (Duration, Vec<u8>),
}

/// Runs until `iterations` inputs were tried or `duration` passed, whichever comes first.
pub fn run(seed: u64, iterations: Option<u64>, duration: Option<Duration>) -> Report {
    let mut rng = Rng::new(seed);
    let limit_sets = limit_sets();
    let mut report = Report::default();
    let start = Instant::now();
    loop {
        if iterations.is_some_and(|n| report.iterations >= n)
            || duration.is_some_and(|d| start.elapsed() >= d)
        {
            break;
        }
        // Plain corpus commands first, so every valid form is checked too.
        let input = match CORPUS.get(report.iterations as usize) {
            Some(valid) => valid.to_vec(),
            None => mutant(&mut rng),
        };
        report.iterations += 1;
        for limits in &limit_sets {
            let began = Instant::now();
            let outcome = catch_unwind(AssertUnwindSafe(|| check(&input, limits)));
            let took = began.elapsed();
            if took > report.slowest.0 {
                report.slowest = (took, input.clone());
            }
            report.parses += 1;
            let failure = match outcome {
                Ok(Ok(name)) => {
                    *report.outcomes.entry(name).or_default() += 1;
                    None
                }
                Ok(Err(reason)) => Some(reason),
                Err(panic) => Some(format!(
                    "panic: {}",
                    panic
                        .downcast_ref::<String>()
                        .cloned()
                        .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                        .unwrap_or_default()
                )),
            };
            if let Some(reason) = failure
                && report.failures.len() < 20
            {
                report
                    .failures
                    .push((input.clone(), format!("{reason} (limits {limits:?})")));
            }
        }
    }
    report.elapsed = start.elapsed();
    report
}
