//! Builds the RFC 5322 messages Sealpost sends itself (autoreplies): header encoding
//! (RFC 2047 for non-ASCII text), text and HTML bodies, CRLF line endings throughout.

use crate::random::hex as random_hex;
use base64::Engine as _;

/// Longest header or body line we write, before folding or encoding.
const MAX_LINE: usize = 76;

/// A message to compose.
#[derive(Debug, Clone, Default)]
pub struct Composed<'a> {
    pub from_name: &'a str,
    pub from_address: &'a str,
    pub to_address: &'a str,
    pub subject: &'a str,
    /// Message-ID of the message answered, with angle brackets.
    pub in_reply_to: Option<&'a str>,
    /// References of the answer (oldest first), with angle brackets.
    pub references: Vec<String>,
    /// Extra header fields, already valid ASCII.
    pub extra_headers: Vec<(&'a str, String)>,
    pub text: &'a str,
    pub html: &'a str,
    /// Domain for the generated Message-ID.
    pub domain: &'a str,
}

/// An unstructured header value: as is when plain printable ASCII, else RFC 2047 encoded
/// words of UTF-8, folded.
pub fn encode_text(value: &str) -> String {
    let clean: String = value
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if clean.is_ascii() && !clean.contains("=?") {
        return clean;
    }
    let mut words = Vec::new();
    let mut chunk = String::new();
    for c in clean.chars() {
        // 45 bytes of UTF-8 make 60 base64 characters: a word within 75.
        if chunk.len() + c.len_utf8() > 45 {
            words.push(std::mem::take(&mut chunk));
        }
        chunk.push(c);
    }
    if !chunk.is_empty() {
        words.push(chunk);
    }
    words
        .iter()
        .map(|w| {
            format!(
                "=?UTF-8?B?{}?=",
                base64::engine::general_purpose::STANDARD.encode(w.as_bytes())
            )
        })
        .collect::<Vec<_>>()
        .join("\r\n ")
}

/// `Name <address>` with the name quoted or encoded as needed.
pub fn mailbox(name: &str, address: &str) -> String {
    let name = name.trim();
    if name.is_empty() {
        return format!("<{address}>");
    }
    if name.is_ascii() && !name.chars().any(|c| c.is_control()) {
        let escaped = name.replace('\\', "\\\\").replace('"', "\\\"");
        format!("\"{escaped}\" <{address}>")
    } else {
        format!("{} <{address}>", encode_text(name))
    }
}

/// A text part body with its transfer encoding: 7bit when plain short-lined ASCII, else
/// base64 (folded at 76).
fn body_part(content_type: &str, body: &str) -> String {
    let body = body.replace("\r\n", "\n");
    let plain = body.is_ascii() && body.lines().all(|l| l.len() <= 998);
    if plain {
        format!(
            "Content-Type: {content_type}; charset=utf-8\r\nContent-Transfer-Encoding: 7bit\r\n\r\n{}\r\n",
            body.replace('\n', "\r\n")
        )
    } else {
        let encoded = base64::engine::general_purpose::STANDARD.encode(body.as_bytes());
        let lines: Vec<&str> = encoded
            .as_bytes()
            .chunks(MAX_LINE)
            .map(|c| std::str::from_utf8(c).unwrap_or(""))
            .collect();
        format!(
            "Content-Type: {content_type}; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n{}\r\n",
            lines.join("\r\n")
        )
    }
}

/// The message, CRLF-terminated lines.
pub fn compose(m: &Composed<'_>) -> Vec<u8> {
    let mut h = String::new();
    h.push_str(&format!(
        "From: {}\r\n",
        mailbox(m.from_name, m.from_address)
    ));
    h.push_str(&format!("To: <{}>\r\n", m.to_address));
    h.push_str(&format!("Subject: {}\r\n", encode_text(m.subject)));
    h.push_str(&format!("Date: {}\r\n", chrono::Utc::now().to_rfc2822()));
    h.push_str(&format!(
        "Message-ID: <{}@{}>\r\n",
        random_hex(12),
        m.domain
    ));
    if let Some(id) = m.in_reply_to {
        h.push_str(&format!("In-Reply-To: {id}\r\n"));
    }
    if !m.references.is_empty() {
        h.push_str(&format!("References: {}\r\n", m.references.join("\r\n ")));
    }
    for (name, value) in &m.extra_headers {
        h.push_str(&format!("{name}: {value}\r\n"));
    }
    h.push_str("MIME-Version: 1.0\r\n");
    if m.html.trim().is_empty() {
        h.push_str(&body_part("text/plain", m.text));
    } else {
        let boundary = format!("----=_sealpost_{}", random_hex(8));
        h.push_str(&format!(
            "Content-Type: multipart/alternative; boundary=\"{boundary}\"\r\n\r\n"
        ));
        h.push_str(&format!("--{boundary}\r\n"));
        h.push_str(&body_part("text/plain", m.text));
        h.push_str(&format!("--{boundary}\r\n"));
        h.push_str(&body_part("text/html", m.html));
        h.push_str(&format!("--{boundary}--\r\n"));
    }
    h.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ascii_text_is_kept_and_unicode_encoded() {
        assert_eq!(encode_text("Out of office"), "Out of office");
        let e = encode_text("Hors du bureau – été");
        assert!(e.starts_with("=?UTF-8?B?") && e.is_ascii(), "{e}");
        let long = encode_text(&"é".repeat(100));
        assert!(long.split("\r\n ").all(|w| w.len() <= 75), "{long}");
        assert_eq!(encode_text("a\r\nBcc: x"), "a  Bcc: x");
    }

    #[test]
    fn mailboxes() {
        assert_eq!(mailbox("", "a@b"), "<a@b>");
        assert_eq!(mailbox("A \"B\"", "a@b"), "\"A \\\"B\\\"\" <a@b>");
        assert!(mailbox("Jürgen", "a@b").starts_with("=?UTF-8?B?"));
    }

    #[test]
    fn message_shape() {
        let raw = compose(&Composed {
            from_name: "Ann",
            from_address: "ann@example.test",
            to_address: "bob@remote.test",
            subject: "Auto: away",
            in_reply_to: Some("<m1@remote.test>"),
            references: vec!["<m0@remote.test>".into(), "<m1@remote.test>".into()],
            extra_headers: vec![("Auto-Submitted", "auto-replied".into())],
            text: "Away\nback soon",
            html: "<p>Away</p>",
            domain: "example.test",
        });
        let s = String::from_utf8(raw).unwrap();
        assert!(s.contains("\r\nAuto-Submitted: auto-replied\r\n"));
        assert!(s.contains("\r\nIn-Reply-To: <m1@remote.test>\r\n"));
        assert!(s.contains("multipart/alternative"));
        assert!(s.contains("Away\r\nback soon\r\n"));
        assert!(!s.replace("\r\n", "").contains('\n'));
        let parsed = sealpost_mime::parse_message(s.as_bytes()).unwrap();
        assert_eq!(parsed.subject, "Auto: away");
    }
}
