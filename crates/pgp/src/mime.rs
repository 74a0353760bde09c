//! PGP/MIME (RFC 3156) for stored mail: [`is_encrypted`] recognises mail that is already
//! encrypted (PGP/MIME, inline PGP, S/MIME), [`encrypt_message`] turns a message into a
//! `multipart/encrypted` one whose encrypted part is the whole original message.
//!
//! The encrypted part is the original message, header and body, in MIME canonical form (RFC
//! 3156 §3 and RFC 2046: lines end in CRLF; a bare LF becomes CRLF, nothing else changes). The
//! outer header keeps the fields a mail client lists and threads by (trace fields, From,
//! Sender, Reply-To, To, Cc, Subject, Date, Message-ID, In-Reply-To, References) as they were;
//! every other field is only inside.

use crate::error::Result;
use crate::key::Cert;

/// Header fields copied to the outer, readable header of an encrypted message.
const KEPT: &[&str] = &[
    "return-path",
    "received",
    "delivered-to",
    "from",
    "sender",
    "reply-to",
    "to",
    "cc",
    "subject",
    "date",
    "message-id",
    "in-reply-to",
    "references",
];

/// The header block of `raw` (up to, not including, the empty line) and the offset of the
/// body.
fn split_header(raw: &[u8]) -> (&[u8], usize) {
    let mut i = 0;
    while i < raw.len() {
        let end = raw[i..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(raw.len(), |p| i + p + 1);
        let line = &raw[i..end];
        if line == b"\r\n" || line == b"\n" {
            return (&raw[..i], end);
        }
        i = end;
    }
    (raw, raw.len())
}

/// The header fields of `header`, each as (lowercase name, whole field text with its folded
/// lines and line ends).
fn fields(header: &[u8]) -> Vec<(String, &[u8])> {
    fn field(f: &[u8]) -> (String, &[u8]) {
        let name = f
            .iter()
            .position(|&b| b == b':')
            .map(|c| String::from_utf8_lossy(&f[..c]).trim().to_ascii_lowercase())
            .unwrap_or_default();
        (name, f)
    }
    let mut out = Vec::new();
    let mut start = None::<usize>;
    let mut i = 0;
    while i < header.len() {
        let end = header[i..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(header.len(), |p| i + p + 1);
        let continuation = matches!(header[i], b' ' | b'\t');
        if !continuation {
            if let Some(s) = start {
                out.push(field(&header[s..i]));
            }
            start = Some(i);
        }
        i = end;
    }
    if let Some(s) = start {
        out.push(field(&header[s..]));
    }
    out
}

/// The value of the first `name` field (unfolded, trimmed).
fn field_value(fields: &[(String, &[u8])], name: &str) -> Option<String> {
    fields.iter().find(|(n, _)| n == name).map(|(_, f)| {
        let text = String::from_utf8_lossy(f);
        let value = text.split_once(':').map_or("", |(_, v)| v);
        value
            .split(['\r', '\n'])
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect::<Vec<_>>()
            .join(" ")
            .trim()
            .to_string()
    })
}

/// Whether `raw` is already encrypted: a top-level `multipart/encrypted` (PGP/MIME) or
/// `application/(x-)pkcs7-mime` (S/MIME) content type, or an inline-PGP `BEGIN PGP MESSAGE`
/// armor line in the body.
pub fn is_encrypted(raw: &[u8]) -> bool {
    let (header, body) = split_header(raw);
    let fields = fields(header);
    if let Some(ct) = field_value(&fields, "content-type") {
        let ct = ct.to_ascii_lowercase();
        let mime = ct.split(';').next().unwrap_or("").trim();
        if matches!(
            mime,
            "multipart/encrypted" | "application/pkcs7-mime" | "application/x-pkcs7-mime"
        ) {
            return true;
        }
    }
    raw[body..]
        .split(|&b| b == b'\n')
        .any(|l| l.trim_ascii_end() == b"-----BEGIN PGP MESSAGE-----")
}

/// `raw` with every bare LF made CRLF (MIME canonical line ends).
pub fn canonical_crlf(raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len() + raw.len() / 32);
    let mut prev = 0u8;
    for &b in raw {
        if b == b'\n' && prev != b'\r' {
            out.push(b'\r');
        }
        out.push(b);
        prev = b;
    }
    out
}

/// `raw` as an RFC 3156 `multipart/encrypted` message encrypted to `recipients` (see the
/// module documentation for what stays readable). The caller checks [`is_encrypted`] first.
pub fn encrypt_message(raw: &[u8], recipients: &[&Cert]) -> Result<Vec<u8>> {
    let plain = canonical_crlf(raw);
    let armored = crate::encrypt(recipients, &plain, true)?;
    let armored = canonical_crlf(&armored);
    let (header, _) = split_header(&plain);
    let boundary = format!("=_sealpost-pgp-{}", hex_digest(&armored));
    let mut out = Vec::with_capacity(armored.len() + header.len() + 1024);
    for (name, field) in fields(header) {
        if KEPT.contains(&name.as_str()) {
            out.extend_from_slice(field);
        }
    }
    out.extend_from_slice(
        format!(
            "MIME-Version: 1.0\r\n\
             Content-Type: multipart/encrypted; protocol=\"application/pgp-encrypted\";\r\n\
             \tboundary=\"{boundary}\"\r\n\
             \r\n\
             This is an OpenPGP/MIME encrypted message (RFC 3156).\r\n\
             --{boundary}\r\n\
             Content-Type: application/pgp-encrypted\r\n\
             Content-Description: PGP/MIME version identification\r\n\
             \r\n\
             Version: 1\r\n\
             \r\n\
             --{boundary}\r\n\
             Content-Type: application/octet-stream; name=\"encrypted.asc\"\r\n\
             Content-Description: OpenPGP encrypted message\r\n\
             Content-Disposition: inline; filename=\"encrypted.asc\"\r\n\
             \r\n"
        )
        .as_bytes(),
    );
    out.extend_from_slice(&armored);
    if !armored.ends_with(b"\r\n") {
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    Ok(out)
}

/// A short hex tag of `data` for the boundary (FNV-1a; it only has to differ from the
/// armored text, which never holds `=_`).
fn hex_digest(data: &[u8]) -> String {
    let mut h: u64 = 0xcbf29ce484222325;
    for &b in data {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x100000001b3);
    }
    format!("{h:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_encrypted_mail() {
        assert!(is_encrypted(
            b"From: a\r\nContent-Type: multipart/encrypted;\r\n protocol=\"application/pgp-encrypted\"; boundary=x\r\n\r\n--x--\r\n"
        ));
        assert!(is_encrypted(
            b"Content-Type: application/pkcs7-mime; smime-type=enveloped-data\r\n\r\nMIAG\r\n"
        ));
        assert!(is_encrypted(
            b"Subject: x\n\nhello\n-----BEGIN PGP MESSAGE-----\nabc\n-----END PGP MESSAGE-----\n"
        ));
        assert!(!is_encrypted(
            b"Subject: -----BEGIN PGP MESSAGE-----\r\n\r\nplain\r\n"
        ));
        assert!(!is_encrypted(b"Content-Type: text/plain\r\n\r\nplain\r\n"));
    }

    #[test]
    fn canonical_line_ends() {
        assert_eq!(canonical_crlf(b"a\nb\r\nc\n"), b"a\r\nb\r\nc\r\n");
    }

    #[test]
    fn folded_fields_stay_whole() {
        let f = fields(b"Subject: a\r\n b\r\nTo: c\r\n");
        assert_eq!(f.len(), 2);
        assert_eq!(f[0].1, b"Subject: a\r\n b\r\n");
        assert_eq!(field_value(&f, "subject").as_deref(), Some("a b"));
    }
}
