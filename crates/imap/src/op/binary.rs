//! BINARY (RFC 3516): body parts with their Content-Transfer-Encoding undone, for FETCH
//! `BINARY[part]<partial>`, `BINARY.PEEK` and `BINARY.SIZE`. Base64 and quoted-printable
//! are decoded; 7bit, 8bit and binary are sent as stored; any other encoding makes the
//! FETCH fail with `NO [UNKNOWN-CTE]`.

use super::fetch::{CHUNK, Target};
use crate::error::Result;
use crate::session::Session;
use sealpost_core::ObjectId;
use sealpost_core::mime::{Part, decoded_len, transfer_decode};
use sealpost_imap_proto::{Code, FetchAttribute, StatusResponse};
use std::borrow::Cow;

/// Encodings this server can undo (upper-case, as in [`Part::encoding`]).
const KNOWN: [&str; 5] = ["7BIT", "8BIT", "BINARY", "BASE64", "QUOTED-PRINTABLE"];

/// The part a BINARY section names; `None` when it does not exist. An empty section is
/// the whole message.
fn target<'p>(root: &'p Part, section: &[u32]) -> Option<&'p Part> {
    if section.is_empty() {
        Some(root)
    } else {
        root.find_section(section)
    }
}

/// Whether one of the BINARY items asks for a part in an encoding this server can not undo.
pub(crate) fn unknown_cte(attributes: &[FetchAttribute], root: &Part) -> bool {
    attributes.iter().any(|a| {
        let section = match a {
            FetchAttribute::Binary { section, .. } | FetchAttribute::BinarySize { section } => {
                section
            }
            _ => return false,
        };
        // The whole message has no transfer encoding of its own.
        !section.is_empty()
            && target(root, section).is_some_and(|p| !KNOWN.contains(&p.encoding.as_str()))
    })
}

/// The answer to a BINARY of a part in an unknown encoding (RFC 3516 4.3).
pub(crate) fn unknown_cte_response(tag: &str) -> StatusResponse {
    StatusResponse::no(tag, "Unknown Content-Transfer-Encoding: use BODY[]")
        .with_code(Code::UnknownCte)
}

impl Session {
    /// Whether a BINARY item of `attributes` names a part in an unknown encoding in one of
    /// the `targets` (read ahead of a FETCH that would otherwise set `\Seen` first).
    pub(crate) async fn binary_fails(
        &self,
        mailbox: &ObjectId,
        targets: &[Target],
        attributes: &[FetchAttribute],
    ) -> Result<bool> {
        let user = self.user_id()?;
        for chunk in targets.chunks(CHUNK) {
            let uids: Vec<i64> = chunk.iter().map(|t| i64::from(t.uid)).collect();
            let fetched = self
                .core
                .fetch_messages(&user, mailbox, &uids, true)
                .await?;
            if fetched.iter().any(|f| {
                f.parsed
                    .as_ref()
                    .is_some_and(|p| unknown_cte(attributes, &p.body))
            }) {
                return Ok(true);
            }
        }
        Ok(false)
    }
}

/// The decoded content of a section (empty when the part does not exist).
pub(crate) fn binary_data<'a>(raw: &'a [u8], root: &Part, section: &[u32]) -> Cow<'a, [u8]> {
    if section.is_empty() {
        return Cow::Borrowed(raw);
    }
    match target(root, section) {
        Some(part) => transfer_decode(part.body(raw), &part.encoding),
        None => Cow::Borrowed(&[]),
    }
}

/// The decoded size of a section, without decoding it.
pub(crate) fn binary_size(raw: &[u8], root: &Part, section: &[u32]) -> u64 {
    if section.is_empty() {
        return raw.len() as u64;
    }
    target(root, section).map_or(0, |part| decoded_len(part.body(raw), &part.encoding))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_parts() {
        let raw = b"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\ncaf=C3=A9 =\r\nau lait\r\n--b\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\nAAECA/8=\r\n--b\r\nContent-Type: application/x-odd\r\nContent-Transfer-Encoding: x-uuencode\r\n\r\nbegin\r\n--b--\r\n";
        let parsed = sealpost_core::mime::parse_message(raw).unwrap();
        let root = &parsed.body;
        assert_eq!(
            binary_data(raw, root, &[1]).as_ref(),
            "café au lait".as_bytes()
        );
        assert_eq!(binary_data(raw, root, &[2]).as_ref(), &[0u8, 1, 2, 3, 255]);
        assert_eq!(binary_size(raw, root, &[2]), 5);
        assert_eq!(binary_size(raw, root, &[1]), "café au lait".len() as u64);
        assert!(binary_data(raw, root, &[9]).is_empty());
        let binary = |section: Vec<u32>| FetchAttribute::Binary {
            peek: true,
            section,
            partial: None,
        };
        assert!(!unknown_cte(&[binary(vec![1]), binary(vec![2])], root));
        assert!(unknown_cte(&[binary(vec![3])], root));
        assert!(unknown_cte(
            &[FetchAttribute::BinarySize { section: vec![3] }],
            root
        ));
        assert!(!unknown_cte(&[binary(vec![])], root));
    }
}
