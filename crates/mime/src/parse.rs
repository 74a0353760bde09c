//! From raw bytes to [`ParsedMessage`] with `mail-parser`.
use crate::{Error, ParsedMessage, Attachment};

pub fn parse_message(raw: &[u8]) -> Result<ParsedMessage, Error> {
    let _ = raw;
    todo!()
}

pub fn attachment_content(raw: &[u8], attachment: &Attachment) -> Result<Vec<u8>, Error> {
    let _ = (raw, attachment);
    todo!()
}

pub fn normalize_subject(subject: &str) -> String {
    subject.to_lowercase()
}
