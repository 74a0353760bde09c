//! Client lines that are not commands: `DONE` ending IDLE and the base64 lines of an
//! AUTHENTICATE exchange (`*` cancels).

use crate::error::ParseError;
use crate::limits::Limits;

/// A client line during AUTHENTICATE.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SaslResponse {
    /// `*`: the client cancels; answer `tag BAD`.
    Cancel,
    /// Base64 data, still encoded (possibly empty).
    Data(String),
}

/// The first line of `input` without its CRLF (or LF), and the bytes it used.
fn line(input: &[u8], max: usize) -> Result<(&[u8], usize), ParseError> {
    let window = input.get(..max.min(input.len())).unwrap_or_default();
    let Some(lf) = window.iter().position(|&b| b == b'\n') else {
        if input.len() >= max {
            return Err(ParseError::LineTooLong {
                tag: None,
                limit: max,
            });
        }
        return Err(ParseError::Incomplete);
    };
    let text = window.get(..lf).unwrap_or_default();
    Ok((text.strip_suffix(b"\r").unwrap_or(text), lf + 1))
}

/// Reads the `DONE` line that ends IDLE; returns the bytes it used. Anything else is `Bad`
/// (RFC 3501 leaves it to the server; ending IDLE and answering BAD is common).
pub fn parse_idle_done(input: &[u8]) -> Result<usize, ParseError> {
    let (text, used) = line(input, 1024)?;
    if text.eq_ignore_ascii_case(b"DONE") {
        Ok(used)
    } else {
        Err(ParseError::Bad {
            tag: None,
            message: "expected DONE".to_string(),
        })
    }
}

/// Reads one AUTHENTICATE response line (bounded by `limits.max_line_length`).
pub fn parse_sasl_response(
    input: &[u8],
    limits: &Limits,
) -> Result<(SaslResponse, usize), ParseError> {
    let (text, used) = line(input, limits.max_line_length)?;
    if text == b"*" {
        return Ok((SaslResponse::Cancel, used));
    }
    if !text
        .iter()
        .all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'='))
    {
        return Err(ParseError::Bad {
            tag: None,
            message: "invalid base64 in SASL response".to_string(),
        });
    }
    let data = String::from_utf8_lossy(text).into_owned();
    Ok((SaslResponse::Data(data), used))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn done_and_sasl_lines() {
        assert_eq!(parse_idle_done(b"DONE\r\na1 NOOP\r\n"), Ok(6));
        assert_eq!(parse_idle_done(b"done\n"), Ok(5));
        assert_eq!(parse_idle_done(b"DON"), Err(ParseError::Incomplete));
        assert!(matches!(
            parse_idle_done(b"a1 NOOP\r\n"),
            Err(ParseError::Bad { .. })
        ));
        assert!(matches!(
            parse_idle_done(&[b'x'; 2000]),
            Err(ParseError::LineTooLong { .. })
        ));
        let l = Limits::default();
        assert_eq!(
            parse_sasl_response(b"AGFsaWNlAHNlY3JldA==\r\n", &l),
            Ok((SaslResponse::Data("AGFsaWNlAHNlY3JldA==".into()), 22))
        );
        assert_eq!(
            parse_sasl_response(b"\r\n", &l),
            Ok((SaslResponse::Data(String::new()), 2))
        );
        assert_eq!(
            parse_sasl_response(b"*\r\n", &l),
            Ok((SaslResponse::Cancel, 3))
        );
        assert!(matches!(
            parse_sasl_response(b"not base64!\r\n", &l),
            Err(ParseError::Bad { .. })
        ));
    }
}
