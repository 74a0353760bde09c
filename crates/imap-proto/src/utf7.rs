//! Modified UTF-7 (RFC 3501 §5.1.3), the encoding of mailbox names unless UTF8=ACCEPT is on.

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

/// Encodes a mailbox name: printable ASCII stays, `&` becomes `&-`, anything else becomes
/// `&<modified base64 of UTF-16BE>-`.
pub fn encode_utf7(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut pending: Vec<u16> = Vec::new();
    for ch in name.chars() {
        if (' '..='~').contains(&ch) {
            flush_base64(&mut out, &mut pending);
            if ch == '&' {
                out.push_str("&-");
            } else {
                out.push(ch);
            }
        } else {
            let mut units = [0u16; 2];
            pending.extend_from_slice(ch.encode_utf16(&mut units));
        }
    }
    flush_base64(&mut out, &mut pending);
    out
}

fn flush_base64(out: &mut String, pending: &mut Vec<u16>) {
    if pending.is_empty() {
        return;
    }
    out.push('&');
    let mut acc: u32 = 0;
    let mut bits = 0u32;
    for byte in pending.iter().flat_map(|u| u.to_be_bytes()) {
        acc = (acc << 8) | u32::from(byte);
        bits += 8;
        while bits >= 6 {
            bits -= 6;
            out.push(char::from(ALPHABET[((acc >> bits) & 63) as usize]));
        }
        acc &= (1 << bits) - 1;
    }
    if bits > 0 {
        out.push(char::from(ALPHABET[((acc << (6 - bits)) & 63) as usize]));
    }
    out.push('-');
    pending.clear();
}

fn base64_value(c: u8) -> Option<u32> {
    ALPHABET.iter().position(|&a| a == c).map(|p| p as u32)
}

/// Decodes a modified UTF-7 mailbox name; `None` when it is not valid modified UTF-7
/// (8-bit or control bytes, unterminated or malformed `&...-` runs, bad surrogates).
pub fn decode_utf7(input: &[u8]) -> Option<String> {
    let mut out = String::with_capacity(input.len());
    let mut bytes = input.iter().copied();
    while let Some(b) = bytes.next() {
        if b != b'&' {
            if !(0x20..=0x7e).contains(&b) {
                return None;
            }
            out.push(char::from(b));
            continue;
        }
        let mut units: Vec<u16> = Vec::new();
        let mut acc: u32 = 0;
        let mut bits = 0u32;
        loop {
            let c = bytes.next()?;
            if c == b'-' {
                break;
            }
            acc = (acc << 6) | base64_value(c)?;
            bits += 6;
            if bits >= 16 {
                bits -= 16;
                units.push(u16::try_from((acc >> bits) & 0xffff).ok()?);
                acc &= (1 << bits) - 1;
            }
        }
        if units.is_empty() {
            if bits != 0 {
                return None;
            }
            out.push('&');
            continue;
        }
        if bits >= 6 || acc != 0 {
            return None;
        }
        let run = String::from_utf16(&units).ok()?;
        // RFC 3501 5.1.3: printable US-ASCII is never base64-encoded (`&AGE-` is not "a").
        if run.chars().any(|c| (' '..='~').contains(&c)) {
            return None;
        }
        out.push_str(&run);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        for (plain, wire) in [
            ("ä", "&AOQ-"),
            ("日本語", "&ZeVnLIqe-"),
            ("A&B", "A&-B"),
            ("Entwürfe/Übersicht", "Entw&APw-rfe/&ANw-bersicht"),
            ("😀", "&2D3eAA-"),
            ("INBOX", "INBOX"),
        ] {
            assert_eq!(encode_utf7(plain), wire, "{plain}");
            assert_eq!(
                decode_utf7(wire.as_bytes()).as_deref(),
                Some(plain),
                "{wire}"
            );
        }
    }

    #[test]
    fn rejects_invalid() {
        for bad in [
            &b"&AOQ"[..],
            b"&A-",
            b"\xc3\xa4",
            b"&2D0-",
            b"&AO!-",
            b"a\tb",
            b"&AGE-",
            b"&AOQAYQ-",
        ] {
            assert_eq!(decode_utf7(bad), None, "{bad:?}");
        }
    }
}
