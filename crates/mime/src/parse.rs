//! From raw bytes to [`ParsedMessage`]: the structure walk, then the decoded header fields,
//! bodies, attachments and search keys of the top-level message.

use mail_parser::HeaderValue;

use crate::address::decoded_addresses;
use crate::attachments::attachments;
use crate::bodies::Bodies;
use crate::headers::Headers;
use crate::structure::parse_structure;
use crate::subject::normalize_subject;
use crate::text::{body_html, body_text, intro, search_text, truncate};
use crate::{Error, ParsedMessage, Part};

/// At most this many header fields are indexed.
const MAX_INDEXED_HEADERS: usize = 200;
/// Indexed header values are cut to this many bytes.
const MAX_HEADER_VALUE: usize = 8 * 1024;
/// At most this many ids are kept from In-Reply-To and References.
const MAX_IDS: usize = 500;

/// Parses and indexes one message. Never panics; broken MIME is indexed as well as it can
/// be. Only empty input is an error.
///
/// `html` is left empty (it is not needed to index a message); [`message_bodies`] derives the
/// text and HTML bodies from the raw message and its stored [`ParsedMessage::body`].
pub fn parse_message(raw: &[u8]) -> Result<ParsedMessage, Error> {
    if raw.is_empty() {
        return Err(Error::Empty);
    }
    let (envelope, body, headers) = parse_structure(raw);
    let header_block = body.header(raw);

    let subject = headers
        .value("subject")
        .map(header_text)
        .unwrap_or_default()
        .trim()
        .to_string();
    let from = decoded_addresses(headers.value("from")).into_iter().next();
    let sender = decoded_addresses(headers.value("sender"))
        .into_iter()
        .next();
    let reply_to = decoded_addresses(headers.value("reply-to"));
    let to = decoded_addresses(headers.value("to"));
    let cc = decoded_addresses(headers.value("cc"));
    let bcc = decoded_addresses(headers.value("bcc"));
    let message_id = message_ids(headers.value("message-id")).into_iter().next();
    let in_reply_to = message_ids(headers.value("in-reply-to"));
    let references = message_ids(headers.value("references"));
    let date = headers
        .value("date")
        .and_then(|v| v.as_datetime())
        .filter(|d| d.is_valid())
        .and_then(|d| d.to_timestamp().checked_mul(1000));

    let (text, attachments) = {
        let bodies = Bodies::of(&body);
        (body_text(raw, &bodies), attachments(raw, &bodies))
    };

    let correspondents: Vec<_> = from.iter().chain(to.iter()).chain(cc.iter()).collect();
    let search_text = search_text(&subject, &correspondents, &text);

    Ok(ParsedMessage {
        size: raw.len() as u64,
        envelope,
        headers: header_index(header_block),
        thread_subject: normalize_subject(&subject),
        intro: intro(&text),
        search_text,
        body,
        subject,
        from,
        sender,
        reply_to,
        to,
        cc,
        bcc,
        message_id,
        in_reply_to,
        references,
        date,
        text,
        html: Vec::new(),
        attachments,
    })
}

/// The plain text body and the HTML bodies of the message `raw` whose root part (as indexed
/// by [`parse_message`], [`ParsedMessage::body`]) is `root`, bounded as documented on
/// [`ParsedMessage::text`] and [`ParsedMessage::html`]. Does not walk the raw structure again.
pub fn message_bodies(raw: &[u8], root: &Part) -> (String, Vec<String>) {
    let bodies = Bodies::of(root);
    (body_text(raw, &bodies), body_html(raw, &bodies))
}

/// A header value as text.
fn header_text(value: &HeaderValue<'_>) -> String {
    match value {
        HeaderValue::Text(text) => text.to_string(),
        HeaderValue::TextList(list) => list.join(", "),
        _ => String::new(),
    }
}

/// Message ids of an id header, with angle brackets.
fn message_ids(value: Option<&HeaderValue<'_>>) -> Vec<String> {
    let ids: Vec<&str> = match value {
        Some(HeaderValue::Text(id)) => vec![id.as_ref()],
        Some(HeaderValue::TextList(ids)) => ids.iter().map(|id| id.as_ref()).collect(),
        _ => Vec::new(),
    };
    ids.into_iter()
        .map(str::trim)
        .filter(|id| !id.is_empty())
        .take(MAX_IDS)
        .map(|id| format!("<{id}>"))
        .collect()
}

/// The decoded header index: lower-case names, values with encoded words decoded.
fn header_index(block: &[u8]) -> Vec<(String, String)> {
    let headers = Headers::parse_as_text(block);
    headers
        .fields()
        .iter()
        .take(MAX_INDEXED_HEADERS)
        .map(|field| {
            // Every field is parsed as unstructured text: a text value or empty.
            let mut value = header_text(field.value());
            truncate(&mut value, MAX_HEADER_VALUE);
            (field.name().to_ascii_lowercase(), value)
        })
        .collect()
}
