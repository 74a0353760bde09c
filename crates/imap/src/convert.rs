//! The stored message index (`sealpost_mime`) and flags as IMAP structures: ENVELOPE,
//! BODY/BODYSTRUCTURE, INTERNALDATE, flags; and the header-field filtering of
//! `BODY[HEADER.FIELDS (...)]`.

use sealpost_core::Flags;
use sealpost_core::mime::{EnvAddr, Envelope as MimeEnvelope, Part};
use sealpost_imap_proto::{
    Address, BodyFields, BodyStructure, DateTime, Disposition, Envelope, Flag,
};

fn addresses(list: &[EnvAddr]) -> Vec<Address> {
    list.iter()
        .map(|a| Address {
            name: a.name.clone(),
            adl: a.adl.clone(),
            mailbox: a.mailbox.clone(),
            host: a.host.clone(),
        })
        .collect()
}

pub(crate) fn envelope(e: &MimeEnvelope) -> Envelope {
    Envelope {
        date: e.date.clone(),
        subject: e.subject.clone(),
        from: addresses(&e.from),
        sender: addresses(&e.sender),
        reply_to: addresses(&e.reply_to),
        to: addresses(&e.to),
        cc: addresses(&e.cc),
        bcc: addresses(&e.bcc),
        in_reply_to: e.in_reply_to.clone(),
        message_id: e.message_id.clone(),
    }
}

/// The MIME tree as BODYSTRUCTURE (the encoder leaves out extension data for `BODY`).
pub(crate) fn body_structure(part: &Part) -> BodyStructure {
    let disposition = part.disposition.as_ref().map(|(kind, params)| Disposition {
        kind: kind.clone(),
        params: params.clone(),
    });
    if part.is_multipart() {
        return BodyStructure::Multipart {
            parts: part.parts.iter().map(body_structure).collect(),
            subtype: part.subtype.clone(),
            params: part.params.clone(),
            disposition,
            language: part.language.clone(),
            location: part.location.clone(),
        };
    }
    let is_text = part.content_type.eq_ignore_ascii_case("text");
    let message = part
        .message
        .as_deref()
        .map(|(env, root)| Box::new((envelope(env), body_structure(root), part.lines)));
    BodyStructure::Single {
        fields: BodyFields {
            media_type: part.content_type.clone(),
            media_subtype: part.subtype.clone(),
            params: part.params.clone(),
            id: part.id.clone(),
            description: part.description.clone(),
            encoding: part.encoding.clone(),
            size: part.size,
        },
        text_lines: is_text.then_some(part.lines),
        message,
        md5: part.md5.clone(),
        disposition,
        language: part.language.clone(),
        location: part.location.clone(),
    }
}

/// INTERNALDATE from milliseconds since the epoch (shown in UTC).
pub(crate) fn internal_date(ms: i64) -> Option<DateTime> {
    DateTime::from_timestamp(ms.div_euclid(1000), 0)
}

/// Flags given by the client. `\Recent` and unknown `\`-flags cannot be stored: `None`.
pub(crate) fn flags_from_wire(list: &[Flag]) -> Option<Flags> {
    let mut f = Flags::default();
    for flag in list {
        match flag {
            Flag::Seen => f.seen = true,
            Flag::Answered => f.answered = true,
            Flag::Flagged => f.flagged = true,
            Flag::Deleted => f.deleted = true,
            Flag::Draft => f.draft = true,
            Flag::Recent => {}
            Flag::Keyword(k) => {
                if !f.keywords.contains(k) {
                    f.keywords.push(k.clone());
                }
            }
            Flag::Extension(_) => return None,
        }
    }
    Some(f)
}

/// The fields of a header block whose names are (`keep`) or are not (`!keep`) in `names`,
/// followed by the empty line, as `BODY[HEADER.FIELDS (...)]` returns them.
pub(crate) fn header_fields(header: &[u8], names: &[String], keep: bool) -> Vec<u8> {
    let mut out = Vec::new();
    let mut include = false;
    for line in header.split_inclusive(|&b| b == b'\n') {
        if line == b"\r\n" || line == b"\n" {
            break;
        }
        let continuation = matches!(line.first(), Some(b' ' | b'\t'));
        if !continuation {
            let name = line
                .iter()
                .position(|&b| b == b':')
                .and_then(|i| line.get(..i))
                .unwrap_or_default();
            let name = name.trim_ascii();
            let listed = names
                .iter()
                .any(|n| n.as_bytes().eq_ignore_ascii_case(name));
            include = !name.is_empty() && listed == keep;
        }
        if include {
            out.extend_from_slice(line);
        }
    }
    out.extend_from_slice(b"\r\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_header_fields() {
        let h = b"From: a@b\r\nSubject: hi\r\n there\r\nTo: c@d\r\n\r\n";
        assert_eq!(
            header_fields(h, &["subject".into()], true),
            b"Subject: hi\r\n there\r\n\r\n".to_vec()
        );
        assert_eq!(
            header_fields(h, &["SUBJECT".into()], false),
            b"From: a@b\r\nTo: c@d\r\n\r\n".to_vec()
        );
        assert_eq!(header_fields(h, &["x".into()], true), b"\r\n".to_vec());
    }

    #[test]
    fn flags() {
        let f = flags_from_wire(&[Flag::Seen, Flag::Keyword("$Work".into())]).unwrap();
        assert!(f.seen && !f.deleted);
        assert_eq!(f.keywords, vec!["$Work".to_string()]);
        assert!(flags_from_wire(&[Flag::Extension("Foo".into())]).is_none());
    }
}
