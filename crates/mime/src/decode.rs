//! Content-Transfer-Encoding and charset decoding. Lenient on purpose: bad base64 or
//! quoted-printable yields whatever could be decoded, never an error.

use std::borrow::Cow;

use mail_parser::decoders::charsets::map::charset_decoder;

use crate::Part;

/// Undoes the transfer encoding named by `encoding` (upper-case, as in [`Part::encoding`]).
pub fn transfer_decode<'a>(body: &'a [u8], encoding: &str) -> Cow<'a, [u8]> {
    match encoding {
        "BASE64" => Cow::Owned(base64(body)),
        "QUOTED-PRINTABLE" => Cow::Owned(quoted_printable(body)),
        _ => Cow::Borrowed(body),
    }
}

/// Decoded size of `body` without decoding it.
pub fn decoded_len(body: &[u8], encoding: &str) -> u64 {
    match encoding {
        "BASE64" => {
            let sextets = body.iter().filter(|&&b| base64_value(b).is_some()).count() as u64;
            sextets * 3 / 4
        }
        "QUOTED-PRINTABLE" => quoted_printable_len(body),
        _ => body.len() as u64,
    }
}

/// The text of a text part: transfer-decoded, then converted from its charset (unknown
/// charsets are read as UTF-8, invalid sequences replaced).
pub(crate) fn part_text(body: &[u8], part: &Part) -> String {
    let bytes = transfer_decode(body, &part.encoding);
    let charset = part
        .params
        .iter()
        .find(|(name, _)| name == "charset")
        .map(|(_, value)| value.trim());
    match charset.and_then(|c| charset_decoder(c.as_bytes())) {
        Some(decode) => decode(&bytes),
        None => String::from_utf8_lossy(&bytes).into_owned(),
    }
}

fn base64_value(b: u8) -> Option<u8> {
    match b {
        b'A'..=b'Z' => Some(b - b'A'),
        b'a'..=b'z' => Some(b - b'a' + 26),
        b'0'..=b'9' => Some(b - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    }
}

/// Base64 ignoring every byte outside the alphabet (line breaks, padding, garbage); a
/// trailing partial group yields the whole bytes it holds.
pub(crate) fn base64(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len() / 4 * 3 + 3);
    let mut acc: u32 = 0;
    let mut bits = 0u32;
    for &b in input {
        let Some(v) = base64_value(b) else {
            continue;
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    out
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'A'..=b'F' => Some(b - b'A' + 10),
        b'a'..=b'f' => Some(b - b'a' + 10),
        _ => None,
    }
}

/// Length of a soft line break (`=` then optional blanks then LF or CRLF) at `input[i..]`,
/// `input[i]` being `=`.
fn soft_break_len(input: &[u8], i: usize) -> Option<usize> {
    let mut j = i + 1;
    while matches!(input.get(j), Some(b' ' | b'\t')) {
        j += 1;
    }
    match (input.get(j), input.get(j + 1)) {
        (Some(b'\n'), _) => Some(j + 1 - i),
        (Some(b'\r'), Some(b'\n')) => Some(j + 2 - i),
        (None, _) => Some(j - i),
        _ => None,
    }
}

/// Whether `input[i..]` starts a line break (LF or CRLF) or is the end of the input.
fn at_line_end(input: &[u8], i: usize) -> bool {
    matches!(
        (input.get(i), input.get(i + 1)),
        (None, _) | (Some(b'\n'), _) | (Some(b'\r'), Some(b'\n'))
    )
}

/// Walks quoted-printable `input`, giving each decoded byte to `emit`. An `=` that starts
/// no valid escape is kept as is; blanks at the end of an encoded line are dropped, as
/// RFC 2045 6.7 (3) requires of a decoder (they were added in transport).
fn quoted_printable_walk(input: &[u8], mut emit: impl FnMut(u8)) {
    let mut i = 0;
    while let Some(&b) = input.get(i) {
        match b {
            b'=' => {
                if let (Some(h), Some(l)) = (
                    input.get(i + 1).copied().and_then(hex_value),
                    input.get(i + 2).copied().and_then(hex_value),
                ) {
                    emit((h << 4) | l);
                    i += 3;
                    continue;
                }
                if let Some(len) = soft_break_len(input, i) {
                    i += len;
                    continue;
                }
            }
            b' ' | b'\t' => {
                let mut end = i;
                while matches!(input.get(end), Some(b' ' | b'\t')) {
                    end += 1;
                }
                if at_line_end(input, end) {
                    i = end;
                    continue;
                }
            }
            _ => {}
        }
        emit(b);
        i += 1;
    }
}

/// Quoted-printable decoded.
pub(crate) fn quoted_printable(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len());
    quoted_printable_walk(input, |b| out.push(b));
    out
}

fn quoted_printable_len(input: &[u8]) -> u64 {
    let mut len = 0u64;
    quoted_printable_walk(input, |_| len += 1);
    len
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_is_lenient() {
        assert_eq!(base64(b"aGVsbG8gd29ybGQ="), b"hello world");
        assert_eq!(base64(b"aGVs\r\nbG8g\r\nd29y\r\nbGQ=\r\n"), b"hello world");
        assert_eq!(base64(b"aGVs!!bG8*"), b"hello");
        assert_eq!(base64(b"a"), b"");
        assert_eq!(decoded_len(b"aGVsbG8gd29ybGQ=\r\n", "BASE64"), 11);
    }

    #[test]
    fn quoted_printable_is_lenient() {
        assert_eq!(quoted_printable(b"caf=C3=A9 =\r\nok"), "café ok".as_bytes());
        assert_eq!(quoted_printable(b"a=ZZb=\nc= \r\nd="), b"a=ZZbcd");
        assert_eq!(quoted_printable(b"=4"), b"=4");
        assert_eq!(decoded_len(b"caf=C3=A9 =\r\nok", "QUOTED-PRINTABLE"), 8);
    }

    #[test]
    fn quoted_printable_drops_trailing_blanks() {
        let encoded = b"line one   \r\nline=20two \t \r\nsoft =  \r\nbreak\r\nend \t";
        let decoded = b"line one\r\nline two\r\nsoft break\r\nend";
        assert_eq!(quoted_printable(encoded), decoded);
        assert_eq!(
            decoded_len(encoded, "QUOTED-PRINTABLE"),
            decoded.len() as u64
        );
        // Blanks inside a line, and an encoded blank before the break, stay.
        assert_eq!(quoted_printable(b"a  b=20\r\n"), b"a  b \r\n");
    }
}
