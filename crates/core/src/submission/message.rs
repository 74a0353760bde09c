//! What an MSA changes in a submitted message (RFC 6409 section 8): `Bcc:` fields removed
//! (RFC 5322 section 3.6.3: the recipients are in the envelope), `Message-ID:` and `Date:`
//! added when missing. Everything else is left byte for byte as the client sent it (a
//! signature the client made must still verify).

/// Header fields and body of a message, split at the first empty line.
struct Split<'a> {
    /// Each field with its folded lines and line ends.
    fields: Vec<&'a [u8]>,
    /// From the empty line on (empty when the message has no body).
    rest: &'a [u8],
}

fn split(raw: &[u8]) -> Split<'_> {
    let mut fields: Vec<&[u8]> = Vec::new();
    let mut at = 0;
    let mut field_start: Option<usize> = None;
    while at < raw.len() {
        let end = raw[at..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(raw.len(), |i| at + i + 1);
        let line = &raw[at..end];
        let content = line
            .strip_suffix(b"\n")
            .unwrap_or(line)
            .strip_suffix(b"\r")
            .unwrap_or(line.strip_suffix(b"\n").unwrap_or(line));
        if content.is_empty() {
            break;
        }
        let continuation = matches!(line.first(), Some(b' ' | b'\t'));
        if !continuation {
            if let Some(s) = field_start {
                fields.push(&raw[s..at]);
            }
            field_start = Some(at);
        } else if field_start.is_none() {
            // A continuation before any field: keep it as a field of its own.
            field_start = Some(at);
        }
        at = end;
    }
    if let Some(s) = field_start {
        fields.push(&raw[s..at]);
    }
    Split {
        fields,
        rest: &raw[at..],
    }
}

fn name_is(field: &[u8], name: &str) -> bool {
    field.len() > name.len()
        && field[..name.len()].eq_ignore_ascii_case(name.as_bytes())
        && matches!(
            field[name.len()..]
                .iter()
                .find(|b| !matches!(b, b' ' | b'\t')),
            Some(b':')
        )
}

/// The message as it is sent on: Bcc removed, Message-ID and Date added when missing
/// (`message_id` is used then, without its angle brackets).
pub(crate) fn prepare(raw: &[u8], message_id: &str, date: &str) -> Vec<u8> {
    let s = split(raw);
    let mut out = Vec::with_capacity(raw.len() + 128);
    let mut has_id = false;
    let mut has_date = false;
    for f in &s.fields {
        if name_is(f, "bcc") {
            continue;
        }
        has_id |= name_is(f, "message-id");
        has_date |= name_is(f, "date");
        out.extend_from_slice(f);
        if !f.ends_with(b"\n") {
            out.extend_from_slice(b"\r\n");
        }
    }
    if !has_id {
        out.extend_from_slice(format!("Message-ID: <{message_id}>\r\n").as_bytes());
    }
    if !has_date {
        out.extend_from_slice(format!("Date: {date}\r\n").as_bytes());
    }
    if s.rest.is_empty() {
        out.extend_from_slice(b"\r\n");
    } else {
        out.extend_from_slice(s.rest);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bcc_goes_and_missing_fields_come() {
        let raw = b"From: a@x.test\r\nBcc: secret@y.test,\r\n other@y.test\r\nTo: b@y.test\r\nBCC : z@y.test\r\nSubject: hi\r\n\r\nbody\r\nBcc: stays in the body\r\n";
        let out =
            String::from_utf8(prepare(raw, "id@x.test", "Mon, 1 Jan 2024 00:00:00 +0000")).unwrap();
        assert!(!out.contains("secret@") && !out.contains("other@") && !out.contains("z@y"));
        assert!(out.contains(
            "Message-ID: <id@x.test>\r\nDate: Mon, 1 Jan 2024 00:00:00 +0000\r\n\r\nbody\r\n"
        ));
        assert!(out.contains("\r\nBcc: stays in the body\r\n"));
        assert!(out.starts_with("From: a@x.test\r\nTo: b@y.test\r\nSubject: hi\r\n"));
    }

    #[test]
    fn present_fields_are_kept_as_they_are() {
        let raw = b"Message-ID: <keep@x>\nDate: Tue, 2 Jan 2024 00:00:00 +0000\nFrom: a@x\n\nbody";
        let out = prepare(raw, "new@x", "now");
        assert_eq!(out, raw.to_vec());
        // No body at all, and a message of only a header.
        assert_eq!(
            prepare(b"From: a@x\r\n", "i@x", "d"),
            b"From: a@x\r\nMessage-ID: <i@x>\r\nDate: d\r\n\r\n".to_vec()
        );
        assert_eq!(
            prepare(b"From: a@x", "i@x", "d"),
            b"From: a@x\r\nMessage-ID: <i@x>\r\nDate: d\r\n\r\n".to_vec()
        );
    }
}
