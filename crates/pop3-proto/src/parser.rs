//! Command lines to [`Command`]s: one line, CRLF (or a bare LF, which some clients send)
//! terminated, a case-insensitive keyword, then arguments separated by spaces.

use crate::command::Command;
use crate::error::ParseError;

/// Longest command line accepted, line end included. RFC 2449 allows 255 octets; longer
/// passwords and AUTH initial responses are common enough to allow more.
pub const MAX_LINE: usize = 1024;
/// Longest client line after an AUTH challenge (the base64 of a SASL PLAIN response).
pub const MAX_SASL_LINE: usize = 8 * 1024;

/// The client's answer to an AUTH challenge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SaslResponse {
    /// `*`: the client cancels the exchange (RFC 5034 section 4).
    Cancel,
    /// The base64 text, as sent.
    Data(String),
}

/// The first line of `input` without its line end, and the bytes it takes with it.
fn line(input: &[u8], max: usize) -> Result<(&[u8], usize), ParseError> {
    match input.iter().take(max).position(|&b| b == b'\n') {
        Some(lf) => {
            let text = &input[..lf];
            let text = text.strip_suffix(b"\r").unwrap_or(text);
            Ok((text, lf + 1))
        }
        None if input.len() >= max => Err(ParseError::LineTooLong),
        None => Err(ParseError::Incomplete),
    }
}

/// Parses the command at the start of `input`; returns it and the bytes it used.
/// Lines longer than `max_line` (line end included) are refused.
pub fn parse_command(input: &[u8], max_line: usize) -> Result<(Command, usize), ParseError> {
    let (text, used) = line(input, max_line)?;
    let bad = |message: &str| ParseError::Bad {
        message: message.to_string(),
        used,
    };
    let Ok(text) = std::str::from_utf8(text) else {
        return Err(bad("Command is not valid UTF-8"));
    };
    if text.bytes().any(|b| b.is_ascii_control() && b != b'\t') {
        return Err(bad("Control characters in command"));
    }
    let (keyword, rest) = match text.split_once(' ') {
        Some((k, r)) => (k, Some(r)),
        None => (text, None),
    };
    let args: Vec<&str> = rest
        .map(|r| r.split([' ', '\t']).filter(|a| !a.is_empty()).collect())
        .unwrap_or_default();
    let keyword = keyword.to_ascii_uppercase();
    let none = |command: Command| {
        if args.is_empty() {
            Ok(command)
        } else {
            Err(bad(&format!("{keyword} takes no argument")))
        }
    };
    let number = |arg: &str| -> Result<u32, ParseError> {
        if arg.is_empty() || arg.len() > 10 || !arg.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad("Invalid message number"));
        }
        arg.parse().map_err(|_| bad("Invalid message number"))
    };
    let optional_number = |name: &str| match args.as_slice() {
        [] => Ok(None),
        [n] => number(n).map(Some),
        _ => Err(bad(&format!("{name} takes at most one argument"))),
    };
    let one_number = |name: &str| match args.as_slice() {
        [n] => number(n),
        _ => Err(bad(&format!("{name} needs a message number"))),
    };
    let command = match keyword.as_str() {
        "USER" => match args.as_slice() {
            [name] => Command::User(name.to_string()),
            _ => return Err(bad("USER needs one argument: the user name")),
        },
        // The whole rest of the line: passwords may contain spaces (RFC 1939 section 7).
        "PASS" => match rest {
            Some(password) if !password.is_empty() => Command::Pass(password.to_string()),
            _ => return Err(bad("PASS needs the password")),
        },
        "AUTH" => match args.as_slice() {
            [] => Command::Auth {
                mechanism: None,
                initial_response: None,
            },
            [mechanism] => Command::Auth {
                mechanism: Some(mechanism.to_ascii_uppercase()),
                initial_response: None,
            },
            [mechanism, initial] => Command::Auth {
                mechanism: Some(mechanism.to_ascii_uppercase()),
                initial_response: Some(initial.to_string()),
            },
            _ => return Err(bad("AUTH takes a mechanism and an initial response")),
        },
        "CAPA" => none(Command::Capa)?,
        "STLS" => none(Command::Stls)?,
        "STAT" => none(Command::Stat)?,
        "LIST" => Command::List(optional_number("LIST")?),
        "RETR" => Command::Retr(one_number("RETR")?),
        "DELE" => Command::Dele(one_number("DELE")?),
        "RSET" => none(Command::Rset)?,
        "TOP" => match args.as_slice() {
            [n, lines] => Command::Top(
                number(n)?,
                number(lines).map_err(|_| bad("Invalid line count"))?,
            ),
            _ => return Err(bad("TOP needs a message number and a line count")),
        },
        "UIDL" => Command::Uidl(optional_number("UIDL")?),
        "NOOP" => none(Command::Noop)?,
        "QUIT" => none(Command::Quit)?,
        "APOP" => return Err(bad("APOP is not supported; use USER/PASS or AUTH PLAIN")),
        "" => return Err(bad("Empty command")),
        _ => return Err(bad("Unknown command")),
    };
    Ok((command, used))
}

/// Parses the client's line after an AUTH challenge; returns it and the bytes it used.
pub fn parse_sasl_response(input: &[u8]) -> Result<(SaslResponse, usize), ParseError> {
    let (text, used) = line(input, MAX_SASL_LINE)?;
    let bad = |message: &str| ParseError::Bad {
        message: message.to_string(),
        used,
    };
    let text = std::str::from_utf8(text).map_err(|_| bad("Invalid base64"))?;
    let text = text.trim();
    if text == "*" {
        return Ok((SaslResponse::Cancel, used));
    }
    if !text
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'='))
    {
        return Err(bad("Invalid base64"));
    }
    Ok((SaslResponse::Data(text.to_string()), used))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<Command, ParseError> {
        parse_command(s.as_bytes(), MAX_LINE).map(|(c, used)| {
            assert_eq!(used, s.len());
            c
        })
    }

    fn bad(s: &str) -> String {
        match parse(s) {
            Err(ParseError::Bad { message, used }) => {
                assert_eq!(used, s.len());
                message
            }
            other => panic!("{s:?}: {other:?}"),
        }
    }

    #[test]
    fn commands() {
        assert_eq!(parse("user alice\r\n"), Ok(Command::User("alice".into())));
        assert_eq!(
            parse("PASS correct horse  battery \r\n"),
            Ok(Command::Pass("correct horse  battery ".into()))
        );
        assert_eq!(parse("Stat\r\n"), Ok(Command::Stat));
        assert_eq!(parse("LIST\r\n"), Ok(Command::List(None)));
        assert_eq!(parse("LIST 7\n"), Ok(Command::List(Some(7))));
        assert_eq!(parse("RETR 1\r\n"), Ok(Command::Retr(1)));
        assert_eq!(parse("DELE 4294967295\r\n"), Ok(Command::Dele(u32::MAX)));
        assert_eq!(parse("TOP 3 0\r\n"), Ok(Command::Top(3, 0)));
        assert_eq!(parse("UIDL 2\r\n"), Ok(Command::Uidl(Some(2))));
        assert_eq!(parse("uidl\r\n"), Ok(Command::Uidl(None)));
        for (s, c) in [
            ("CAPA", Command::Capa),
            ("STLS", Command::Stls),
            ("RSET", Command::Rset),
            ("NOOP", Command::Noop),
            ("QUIT", Command::Quit),
        ] {
            assert_eq!(parse(&format!("{s}\r\n")), Ok(c));
        }
        assert_eq!(
            parse("AUTH\r\n"),
            Ok(Command::Auth {
                mechanism: None,
                initial_response: None
            })
        );
        assert_eq!(
            parse("auth plain AGFsaWNlAHB3\r\n"),
            Ok(Command::Auth {
                mechanism: Some("PLAIN".into()),
                initial_response: Some("AGFsaWNlAHB3".into())
            })
        );
        assert_eq!(
            parse("AUTH PLAIN\r\n"),
            Ok(Command::Auth {
                mechanism: Some("PLAIN".into()),
                initial_response: None
            })
        );
    }

    #[test]
    fn errors() {
        assert_eq!(bad("FROB\r\n"), "Unknown command");
        assert_eq!(bad("\r\n"), "Empty command");
        assert!(bad("APOP alice 0123\r\n").contains("not supported"));
        assert_eq!(bad("RETR\r\n"), "RETR needs a message number");
        assert_eq!(bad("RETR x\r\n"), "Invalid message number");
        assert_eq!(bad("RETR -1\r\n"), "Invalid message number");
        assert_eq!(bad("RETR 4294967296\r\n"), "Invalid message number");
        assert_eq!(bad("LIST 1 2\r\n"), "LIST takes at most one argument");
        assert_eq!(
            bad("TOP 1\r\n"),
            "TOP needs a message number and a line count"
        );
        assert_eq!(bad("TOP 1 x\r\n"), "Invalid line count");
        assert_eq!(bad("STAT 1\r\n"), "STAT takes no argument");
        assert_eq!(bad("USER\r\n"), "USER needs one argument: the user name");
        assert_eq!(bad("PASS\r\n"), "PASS needs the password");
        assert_eq!(bad("NOOP\0\r\n"), "Control characters in command");
        let invalid = b"USER \xff\r\n";
        assert!(matches!(
            parse_command(invalid, MAX_LINE),
            Err(ParseError::Bad { used: 8, .. })
        ));
    }

    #[test]
    fn lines_and_limits() {
        assert_eq!(parse_command(b"STA", MAX_LINE), Err(ParseError::Incomplete));
        assert_eq!(parse_command(b"", MAX_LINE), Err(ParseError::Incomplete));
        let long = vec![b'a'; 20];
        assert_eq!(parse_command(&long, 20), Err(ParseError::LineTooLong));
        assert_eq!(parse_command(&long, 21), Err(ParseError::Incomplete));
        let mut exact = vec![b'x'; 18];
        exact.extend_from_slice(b"\r\n");
        assert!(matches!(
            parse_command(&exact, 20),
            Err(ParseError::Bad { used: 20, .. })
        ));
        // Pipelined commands: one at a time.
        let input = b"STAT\r\nLIST\r\nQUIT\r\n";
        let (c, used) = parse_command(input, MAX_LINE).unwrap();
        assert_eq!((c, used), (Command::Stat, 6));
        let (c, _) = parse_command(&input[used..], MAX_LINE).unwrap();
        assert_eq!(c, Command::List(None));
    }

    #[test]
    fn sasl() {
        assert_eq!(parse_sasl_response(b"*\r\n"), Ok((SaslResponse::Cancel, 3)));
        assert_eq!(
            parse_sasl_response(b"AGE=\r\nNOOP\r\n"),
            Ok((SaslResponse::Data("AGE=".into()), 6))
        );
        assert_eq!(parse_sasl_response(b"AGE"), Err(ParseError::Incomplete));
        assert!(matches!(
            parse_sasl_response(b"not base64!\r\n"),
            Err(ParseError::Bad { used: 13, .. })
        ));
    }
}
