//! The attachment list (ids `ATT00001`... in document order) and attachment content.

use crate::bodies::{Bodies, filename};
use crate::decode::{decoded_len, transfer_decode};
use crate::structure::parse_structure;
use crate::{Attachment, Error};

/// At most this many attachments are listed.
pub(crate) const MAX_ATTACHMENTS: usize = 1000;

/// Every leaf that is not shown as body text: attachments proper, inline images and other
/// inline non-text parts, enclosed messages.
pub(crate) fn attachments(raw: &[u8], bodies: &Bodies<'_>) -> Vec<Attachment> {
    let is_body_text = bodies.body_text_flags();
    bodies
        .leaves
        .iter()
        .enumerate()
        .filter(|(index, _)| !is_body_text.get(*index).copied().unwrap_or(false))
        .take(MAX_ATTACHMENTS)
        .enumerate()
        .map(|(n, (_, leaf))| {
            let part = leaf.part;
            let disposition = match part.disposition.as_ref().map(|(kind, _)| kind.as_str()) {
                Some("inline") => "inline",
                Some("attachment") => "attachment",
                // Without a disposition, a part shown inline or referenced by a Content-ID
                // (an image of an HTML body) is inline.
                _ if leaf.inline || part.id.is_some() => "inline",
                _ => "attachment",
            };
            Attachment {
                id: format!("ATT{:05}", n + 1),
                filename: filename(part).map(str::to_string),
                content_type: format!("{}/{}", part.content_type, part.subtype),
                disposition: disposition.into(),
                transfer_encoding: part.encoding.to_ascii_lowercase(),
                cid: part.id.as_deref().map(|id| {
                    id.trim()
                        .trim_start_matches('<')
                        .trim_end_matches('>')
                        .trim()
                        .to_string()
                }),
                size: decoded_len(part.body(raw), &part.encoding),
                part: leaf.path.clone(),
            }
        })
        .collect()
}

/// The decoded content of the attachment at `attachment.part` in the message `raw`.
pub fn attachment_content(raw: &[u8], attachment: &Attachment) -> Result<Vec<u8>, Error> {
    let not_found = || Error::AttachmentNotFound(attachment.id.clone());
    if raw.is_empty() {
        return Err(not_found());
    }
    let (_, root, _) = parse_structure(raw);
    let part = root
        .find_section_str(&attachment.part)
        .filter(|part| !part.is_multipart())
        .ok_or_else(not_found)?;
    Ok(transfer_decode(part.body(raw), &part.encoding).into_owned())
}
