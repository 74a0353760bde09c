//! Command lines to [`Command`]s. Verbs and parameter names are case-insensitive; paths must
//! be in angle brackets (a bare address is accepted too, as most servers do); the source
//! route of an old-style path (`<@a,@b:user@d>`) is dropped.

use crate::command::{Body, Command, MailParams};
use crate::reply::Reply;

/// Longest command line accepted, CRLF excluded (RFC 5321 asks for at least 512; SMTPUTF8
/// addresses and parameters need more).
pub const MAX_LINE: usize = 4096;
/// Longest path (RFC 5321 section 4.5.3.1.3: 256 octets).
const MAX_PATH: usize = 256;
/// Longest HELO/EHLO/LHLO argument kept.
const MAX_DOMAIN: usize = 255;

/// Why a command line was refused; [`ParseError::reply`] is what to answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("command not recognized")]
    Unrecognized,
    #[error("line too long")]
    LineTooLong,
    #[error("syntax error: {0}")]
    Syntax(&'static str),
    #[error("bad sender address syntax")]
    BadSender,
    #[error("bad recipient address syntax")]
    BadRecipient,
    #[error("parameter {0} not supported")]
    UnsupportedParam(String),
    #[error("invalid value of parameter {0}")]
    BadParam(&'static str),
}

impl ParseError {
    pub fn reply(&self) -> Reply {
        match self {
            ParseError::Unrecognized => Reply::new(500, (5, 5, 2), "Command not recognized"),
            ParseError::LineTooLong => Reply::new(500, (5, 5, 6), "Line too long"),
            ParseError::Syntax(what) => Reply::new(501, (5, 5, 4), format!("Syntax error: {what}")),
            ParseError::BadSender => Reply::new(501, (5, 1, 7), "Bad sender address syntax"),
            ParseError::BadRecipient => Reply::new(501, (5, 1, 3), "Bad recipient address syntax"),
            ParseError::UnsupportedParam(p) => Reply::new(
                555,
                (5, 5, 4),
                format!("Parameter {p} not recognized or not implemented"),
            ),
            ParseError::BadParam(p) => Reply::new(501, (5, 5, 4), format!("Invalid {p} value")),
        }
    }
}

/// Parses one command line (without CRLF).
pub fn parse_command(line: &[u8]) -> Result<Command, ParseError> {
    if line.len() > MAX_LINE {
        return Err(ParseError::LineTooLong);
    }
    let line = std::str::from_utf8(line).map_err(|_| ParseError::Syntax("invalid UTF-8"))?;
    if line.chars().any(|c| c.is_control() && c != '\t') {
        return Err(ParseError::Syntax("control characters"));
    }
    let line = line.trim_end_matches([' ', '\t']);
    let (verb, rest) = match line.find([' ', '\t']) {
        Some(i) => (&line[..i], line[i + 1..].trim_start()),
        None => (line, ""),
    };
    if verb.len() > 8 {
        return Err(ParseError::Unrecognized);
    }
    let no_args = |c: Command| {
        if rest.is_empty() {
            Ok(c)
        } else {
            Err(ParseError::Syntax("no parameters allowed"))
        }
    };
    match verb.to_ascii_uppercase().as_str() {
        "HELO" => Ok(Command::Helo(domain(rest)?)),
        "EHLO" => Ok(Command::Ehlo(domain(rest)?)),
        "LHLO" => Ok(Command::Lhlo(domain(rest)?)),
        "MAIL" => mail(rest),
        "RCPT" => rcpt(rest),
        "DATA" => no_args(Command::Data),
        "BDAT" => bdat(rest),
        "RSET" => no_args(Command::Rset),
        "NOOP" => Ok(Command::Noop),
        "QUIT" => no_args(Command::Quit),
        "STARTTLS" => no_args(Command::StartTls),
        "VRFY" if !rest.is_empty() => Ok(Command::Vrfy(rest.to_string())),
        "EXPN" if !rest.is_empty() => Ok(Command::Expn(rest.to_string())),
        "VRFY" | "EXPN" => Err(ParseError::Syntax("argument required")),
        "HELP" => Ok(Command::Help((!rest.is_empty()).then(|| rest.to_string()))),
        "AUTH" => auth(rest),
        _ => Err(ParseError::Unrecognized),
    }
}

/// The client's name: a domain or an address literal; the first word is kept.
fn domain(rest: &str) -> Result<String, ParseError> {
    let name = rest.split_whitespace().next().unwrap_or("");
    if name.is_empty() {
        return Err(ParseError::Syntax("domain name required"));
    }
    if name.len() > MAX_DOMAIN {
        return Err(ParseError::Syntax("domain name too long"));
    }
    Ok(name.to_string())
}

/// Strips a `KEYWORD:` prefix, case-insensitively, and the spaces after it.
fn keyword<'a>(rest: &'a str, key: &str) -> Option<&'a str> {
    let head = rest.get(..key.len())?;
    head.eq_ignore_ascii_case(key)
        .then(|| rest[key.len()..].trim_start())
}

/// Splits `<path> params...` into the path (without brackets) and the parameter text.
/// Quoted local parts may contain spaces and `>`.
fn split_path(s: &str) -> Option<(&str, &str)> {
    if let Some(inner) = s.strip_prefix('<') {
        let mut quoted = false;
        let mut escaped = false;
        for (i, c) in inner.char_indices() {
            match c {
                _ if escaped => escaped = false,
                '\\' if quoted => escaped = true,
                '"' => quoted = !quoted,
                '>' if !quoted => return Some((&inner[..i], &inner[i + 1..])),
                '<' if !quoted => return None,
                _ => {}
            }
        }
        None
    } else {
        // A bare address: up to the first space.
        let end = s.find(' ').unwrap_or(s.len());
        let path = &s[..end];
        (!path.is_empty() && !path.contains(['<', '>'])).then_some((path, &s[end..]))
    }
}

/// Checks a mailbox `local@domain` and drops a source route.
fn mailbox(path: &str) -> Option<String> {
    let path = match path.strip_prefix('@') {
        // `@a,@b:user@d`: the route ends at the first colon.
        Some(route) => &route[route.find(':')? + 1..],
        None => path,
    };
    if path.is_empty() || path.len() > MAX_PATH {
        return None;
    }
    let (local, domain) = path.rsplit_once('@')?;
    if local.is_empty() || domain.is_empty() {
        return None;
    }
    let quoted = local.len() >= 2 && local.starts_with('"') && local.ends_with('"');
    if !quoted
        && (local.contains([
            ' ', '"', '\\', '(', ')', ',', ';', ':', '<', '>', '@', '[', ']',
        ]) || local.starts_with('.')
            || local.ends_with('.')
            || local.contains(".."))
    {
        return None;
    }
    let literal = domain.starts_with('[') && domain.ends_with(']');
    if !literal
        && (domain.starts_with(['.', '-'])
            || domain.ends_with('-')
            || domain.contains("..")
            || domain
                .chars()
                .any(|c| c.is_ascii() && !(c.is_ascii_alphanumeric() || c == '-' || c == '.')))
    {
        return None;
    }
    Some(path.to_string())
}

/// `NAME[=VALUE]` pairs separated by spaces.
fn params(s: &str) -> impl Iterator<Item = (String, Option<&str>)> {
    s.split_whitespace().map(|p| match p.split_once('=') {
        Some((k, v)) => (k.to_ascii_uppercase(), Some(v)),
        None => (p.to_ascii_uppercase(), None),
    })
}

fn mail(rest: &str) -> Result<Command, ParseError> {
    let rest = keyword(rest, "FROM:").ok_or(ParseError::Syntax("use MAIL FROM:<address>"))?;
    let (path, tail) = split_path(rest).ok_or(ParseError::BadSender)?;
    let from = if path.is_empty() {
        String::new()
    } else {
        mailbox(path).ok_or(ParseError::BadSender)?
    };
    let mut out = MailParams::default();
    for (name, value) in params(tail) {
        match (name.as_str(), value) {
            ("SIZE", Some(v)) => {
                if v.is_empty() || v.len() > 20 || !v.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(ParseError::BadParam("SIZE"));
                }
                out.size = Some(v.parse().map_err(|_| ParseError::BadParam("SIZE"))?);
            }
            ("BODY", Some(v)) if v.eq_ignore_ascii_case("7BIT") => out.body = Some(Body::SevenBit),
            ("BODY", Some(v)) if v.eq_ignore_ascii_case("8BITMIME") => {
                out.body = Some(Body::EightBitMime)
            }
            ("BODY", _) => return Err(ParseError::BadParam("BODY")),
            ("SMTPUTF8", None) => out.smtputf8 = true,
            ("AUTH", Some(v)) => {
                out.auth = Some(xtext_decode(v).ok_or(ParseError::BadParam("AUTH"))?)
            }
            _ => return Err(ParseError::UnsupportedParam(name)),
        }
    }
    Ok(Command::Mail { from, params: out })
}

/// Decodes RFC 3461 xtext (`+XX` hex escapes); `None` when malformed.
fn xtext_decode(s: &str) -> Option<String> {
    let mut out = Vec::with_capacity(s.len());
    let mut bytes = s.bytes();
    while let Some(b) = bytes.next() {
        if b == b'+' {
            let hi = (bytes.next()? as char).to_digit(16)?;
            let lo = (bytes.next()? as char).to_digit(16)?;
            out.push((hi * 16 + lo) as u8);
        } else if (b'!'..=b'~').contains(&b) && b != b'=' {
            out.push(b);
        } else {
            return None;
        }
    }
    String::from_utf8(out).ok()
}

/// `AUTH mechanism [initial-response]`.
fn auth(rest: &str) -> Result<Command, ParseError> {
    let mut words = rest.split_whitespace();
    let mechanism = words
        .next()
        .ok_or(ParseError::Syntax("AUTH needs a mechanism"))?;
    if mechanism.len() > 20
        || !mechanism
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(ParseError::Syntax("invalid SASL mechanism name"));
    }
    let initial = words.next().map(str::to_string);
    if words.next().is_some() {
        return Err(ParseError::Syntax(
            "use AUTH <mechanism> [initial-response]",
        ));
    }
    Ok(Command::Auth {
        mechanism: mechanism.to_ascii_uppercase(),
        initial,
    })
}

fn rcpt(rest: &str) -> Result<Command, ParseError> {
    let rest = keyword(rest, "TO:").ok_or(ParseError::Syntax("use RCPT TO:<address>"))?;
    let (path, tail) = split_path(rest).ok_or(ParseError::BadRecipient)?;
    let to = if path.eq_ignore_ascii_case("postmaster") {
        path.to_string()
    } else {
        mailbox(path).ok_or(ParseError::BadRecipient)?
    };
    if let Some((name, _)) = params(tail).next() {
        return Err(ParseError::UnsupportedParam(name));
    }
    Ok(Command::Rcpt { to })
}

fn bdat(rest: &str) -> Result<Command, ParseError> {
    let mut words = rest.split_whitespace();
    let size = words
        .next()
        .ok_or(ParseError::Syntax("BDAT needs a size"))?;
    if size.len() > 20 || !size.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ParseError::Syntax("invalid BDAT size"));
    }
    let size = size
        .parse()
        .map_err(|_| ParseError::Syntax("invalid BDAT size"))?;
    let last = match words.next() {
        None => false,
        Some(w) if w.eq_ignore_ascii_case("LAST") => true,
        Some(_) => return Err(ParseError::Syntax("use BDAT <size> [LAST]")),
    };
    if words.next().is_some() {
        return Err(ParseError::Syntax("use BDAT <size> [LAST]"));
    }
    Ok(Command::Bdat { size, last })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Result<Command, ParseError> {
        parse_command(s.as_bytes())
    }

    #[test]
    fn greetings() {
        assert_eq!(
            p("EHLO mx.example.org"),
            Ok(Command::Ehlo("mx.example.org".into()))
        );
        assert_eq!(
            p("lhlo [127.0.0.1]"),
            Ok(Command::Lhlo("[127.0.0.1]".into()))
        );
        assert_eq!(p("HeLo a b"), Ok(Command::Helo("a".into())));
        assert_eq!(p("EHLO"), Err(ParseError::Syntax("domain name required")));
        assert_eq!(
            p(&format!("EHLO {}", "a".repeat(300))).map_err(|e| e.reply().code),
            Err(501)
        );
    }

    #[test]
    fn mail_from() {
        assert_eq!(
            p("MAIL FROM:<a@b.example>"),
            Ok(Command::Mail {
                from: "a@b.example".into(),
                params: MailParams::default()
            })
        );
        assert_eq!(
            p("mail from: <>  size=10 body=7bit"),
            Ok(Command::Mail {
                from: String::new(),
                params: MailParams {
                    size: Some(10),
                    body: Some(Body::SevenBit),
                    smtputf8: false,
                    auth: None
                }
            })
        );
        assert_eq!(
            p("MAIL FROM:<jürgen@bücher.example> SMTPUTF8"),
            Ok(Command::Mail {
                from: "jürgen@bücher.example".into(),
                params: MailParams {
                    smtputf8: true,
                    ..MailParams::default()
                }
            })
        );
        assert_eq!(
            p("MAIL FROM:<@relay.example,@r2.example:a@b.example>"),
            Ok(Command::Mail {
                from: "a@b.example".into(),
                params: MailParams::default()
            })
        );
        assert_eq!(
            p("MAIL FROM:<\"john doe\"@b.example>"),
            Ok(Command::Mail {
                from: "\"john doe\"@b.example".into(),
                params: MailParams::default()
            })
        );
        assert_eq!(p("MAIL FROM:a@b.example").map(|_| ()), Ok(()));
        assert_eq!(
            p("MAIL TO:<a@b.example>").map_err(|e| e.reply().code),
            Err(501)
        );
        assert_eq!(p("MAIL FROM:<a@b.example"), Err(ParseError::BadSender));
        assert_eq!(p("MAIL FROM:<a b@c.example>"), Err(ParseError::BadSender));
        assert_eq!(p("MAIL FROM:<a@b..example>"), Err(ParseError::BadSender));
        assert_eq!(p("MAIL FROM:<noat>"), Err(ParseError::BadSender));
        assert_eq!(
            p("MAIL FROM:<a@b.example> SIZE=x"),
            Err(ParseError::BadParam("SIZE"))
        );
        assert_eq!(
            p("MAIL FROM:<a@b.example> SIZE=99999999999999999999999"),
            Err(ParseError::BadParam("SIZE"))
        );
        assert_eq!(
            p("MAIL FROM:<a@b.example> BODY=BINARYMIME"),
            Err(ParseError::BadParam("BODY"))
        );
        let e = p("MAIL FROM:<a@b.example> RET=HDRS").unwrap_err();
        assert_eq!(e, ParseError::UnsupportedParam("RET".into()));
        assert_eq!(e.reply().code, 555);
    }

    #[test]
    fn rcpt_to() {
        assert_eq!(
            p("RCPT TO:<Bob@Example.test>"),
            Ok(Command::Rcpt {
                to: "Bob@Example.test".into()
            })
        );
        assert_eq!(
            p("rcpt to:<Postmaster>"),
            Ok(Command::Rcpt {
                to: "Postmaster".into()
            })
        );
        assert_eq!(p("RCPT TO:<>"), Err(ParseError::BadRecipient));
        assert_eq!(
            p("RCPT TO:<a@b.example> NOTIFY=NEVER"),
            Err(ParseError::UnsupportedParam("NOTIFY".into()))
        );
        assert_eq!(
            p("RCPT FROM:<a@b.example>").map_err(|e| e.reply().code),
            Err(501)
        );
    }

    #[test]
    fn mail_auth_parameter() {
        let Ok(Command::Mail { params, .. }) = p("MAIL FROM:<a@b.example> AUTH=a+2Bb@b.example")
        else {
            panic!("not parsed");
        };
        assert_eq!(params.auth.as_deref(), Some("a+b@b.example"));
        let Ok(Command::Mail { params, .. }) = p("MAIL FROM:<a@b.example> AUTH=<>") else {
            panic!("not parsed");
        };
        assert_eq!(params.auth.as_deref(), Some("<>"));
        assert_eq!(
            p("MAIL FROM:<a@b.example> AUTH=a+zz").map_err(|e| e.reply().code),
            Err(501)
        );
    }

    #[test]
    fn simple_commands() {
        assert_eq!(p("DATA"), Ok(Command::Data));
        assert_eq!(p("data x").map_err(|e| e.reply().code), Err(501));
        assert_eq!(p("RSET"), Ok(Command::Rset));
        assert_eq!(p("NOOP whatever"), Ok(Command::Noop));
        assert_eq!(p("QUIT"), Ok(Command::Quit));
        assert_eq!(p("STARTTLS"), Ok(Command::StartTls));
        assert_eq!(p("VRFY bob"), Ok(Command::Vrfy("bob".into())));
        assert_eq!(p("VRFY").map_err(|e| e.reply().code), Err(501));
        assert_eq!(p("HELP"), Ok(Command::Help(None)));
        assert_eq!(p("HELP DATA"), Ok(Command::Help(Some("DATA".into()))));
        assert_eq!(
            p("auth plain xyz="),
            Ok(Command::Auth {
                mechanism: "PLAIN".into(),
                initial: Some("xyz=".into())
            })
        );
        assert_eq!(
            p("AUTH LOGIN"),
            Ok(Command::Auth {
                mechanism: "LOGIN".into(),
                initial: None
            })
        );
        assert_eq!(p("AUTH").map_err(|e| e.reply().code), Err(501));
        assert_eq!(p("AUTH PL/AIN").map_err(|e| e.reply().code), Err(501));
        assert_eq!(p("AUTH PLAIN a b").map_err(|e| e.reply().code), Err(501));
        assert_eq!(p("FOO"), Err(ParseError::Unrecognized));
        assert_eq!(p(""), Err(ParseError::Unrecognized));
        assert_eq!(p("VERYLONGVERB x"), Err(ParseError::Unrecognized));
        assert_eq!(
            parse_command(b"NOOP \xff"),
            Err(ParseError::Syntax("invalid UTF-8"))
        );
        assert_eq!(
            parse_command(b"NOOP \x00"),
            Err(ParseError::Syntax("control characters"))
        );
        assert_eq!(
            parse_command(&vec![b'a'; MAX_LINE + 1]),
            Err(ParseError::LineTooLong)
        );
    }

    #[test]
    fn bdat() {
        assert_eq!(
            p("BDAT 100"),
            Ok(Command::Bdat {
                size: 100,
                last: false
            })
        );
        assert_eq!(
            p("bdat 0 last"),
            Ok(Command::Bdat {
                size: 0,
                last: true
            })
        );
        assert_eq!(p("BDAT").map_err(|e| e.reply().code), Err(501));
        assert_eq!(p("BDAT -1").map_err(|e| e.reply().code), Err(501));
        assert_eq!(p("BDAT 10 FIRST").map_err(|e| e.reply().code), Err(501));
        assert_eq!(p("BDAT 10 LAST x").map_err(|e| e.reply().code), Err(501));
    }
}
