//! FETCH and UID FETCH: flags, dates, sizes, ENVELOPE, BODY/BODYSTRUCTURE and body
//! sections sliced from the raw message with the offsets of the stored MIME tree. A body
//! item without `.PEEK` sets `\Seen` (in a read-write mailbox) before the data is sent.
//! CONDSTORE/QRESYNC: the MODSEQ item, `(CHANGEDSINCE n)` (only messages whose modseq is
//! above `n`, MODSEQ added) and, for UID FETCH, `VANISHED` (a `VANISHED (EARLIER)` of the
//! UIDs in the set expunged since `n`, before the FETCH responses).
//! BINARY items (decoded parts) are worked out in `binary.rs`.

use super::binary::{binary_data, binary_size, unknown_cte, unknown_cte_response};
use crate::convert::{body_structure, envelope, header_fields, internal_date};
use crate::error::Result;
use crate::qresync;
use crate::session::Session;
use crate::state::flag_list;
use sealpost_core::mime::Part;
use sealpost_core::{FetchedMessage, FlagOp, Flags};
use sealpost_imap_proto::{
    Data, FetchAttribute, FetchCommand, FetchItem, Section, SectionText, StatusResponse,
};
use std::borrow::Cow;
use std::collections::{HashMap, HashSet};

/// Messages loaded from the store at once.
pub(crate) const CHUNK: usize = 50;

/// What FETCH needs of one message besides its record.
pub(crate) struct Target {
    seq: u32,
    pub uid: u32,
    flags: Flags,
    size: i64,
    idate: i64,
    modseq: i64,
}

/// The bytes of a body section (`BODY[section]`), before any partial range: borrowed from
/// `raw` except for HEADER.FIELDS, which is built.
pub(crate) fn section_data<'a>(
    raw: &'a [u8],
    root: &Part,
    section: Option<&Section>,
) -> Cow<'a, [u8]> {
    let Some(section) = section else {
        return Cow::Borrowed(raw);
    };
    // The message whose HEADER/TEXT is asked for: the whole message, or the one enclosed in
    // a message/rfc822 part.
    let message = if section.part.is_empty() {
        Some(root)
    } else {
        let Some(part) = root.find_section(&section.part) else {
            return Cow::Borrowed(&[]);
        };
        match &section.text {
            None => return Cow::Borrowed(part.body(raw)),
            Some(SectionText::Mime) => return Cow::Borrowed(part.header(raw)),
            Some(_) => part.message.as_deref().map(|(_, inner)| inner),
        }
    };
    let Some(message) = message else {
        return Cow::Borrowed(&[]);
    };
    match &section.text {
        None => Cow::Borrowed(raw),
        Some(SectionText::Header) => Cow::Borrowed(message.header(raw)),
        Some(SectionText::HeaderFields(names)) => {
            Cow::Owned(header_fields(message.header(raw), names, true))
        }
        Some(SectionText::HeaderFieldsNot(names)) => {
            Cow::Owned(header_fields(message.header(raw), names, false))
        }
        Some(SectionText::Text) => Cow::Borrowed(message.body(raw)),
        // MIME of the whole message is not a valid section.
        Some(SectionText::Mime) => Cow::Borrowed(&[]),
    }
}

/// A top-level header section (`HEADER`, `HEADER.FIELDS`, `HEADER.FIELDS.NOT`) from the
/// header block alone.
fn header_section<'a>(header: &'a [u8], section: Option<&Section>) -> Cow<'a, [u8]> {
    match section.and_then(|s| s.text.as_ref()) {
        Some(SectionText::HeaderFields(names)) => Cow::Owned(header_fields(header, names, true)),
        Some(SectionText::HeaderFieldsNot(names)) => {
            Cow::Owned(header_fields(header, names, false))
        }
        _ => Cow::Borrowed(header),
    }
}

/// Whether the item is answered from the top-level header block alone.
fn is_top_header(a: &FetchAttribute) -> bool {
    match a {
        FetchAttribute::Rfc822Header => true,
        FetchAttribute::BodySection {
            section: Some(s), ..
        } => {
            s.part.is_empty()
                && matches!(
                    s.text,
                    Some(
                        SectionText::Header
                            | SectionText::HeaderFields(_)
                            | SectionText::HeaderFieldsNot(_)
                    )
                )
        }
        _ => false,
    }
}

/// `<origin.count>` applied to section data: the slice to send and the origin to echo.
fn partial(data: &[u8], range: Option<(u32, u32)>) -> (&[u8], Option<u32>) {
    match range {
        None => (data, None),
        Some((origin, count)) => {
            let start = usize::try_from(origin)
                .unwrap_or(usize::MAX)
                .min(data.len());
            let end = start
                .saturating_add(usize::try_from(count).unwrap_or(usize::MAX))
                .min(data.len());
            (data.get(start..end).unwrap_or_default(), Some(origin))
        }
    }
}

fn needs_parsed(a: &FetchAttribute) -> bool {
    match a {
        FetchAttribute::Envelope
        | FetchAttribute::BodyStructure
        | FetchAttribute::Body
        | FetchAttribute::Rfc822Header
        | FetchAttribute::Rfc822Text => true,
        FetchAttribute::BodySection { section, .. } => section.is_some(),
        FetchAttribute::Binary { section, .. } | FetchAttribute::BinarySize { section } => {
            !section.is_empty()
        }
        _ => false,
    }
}

fn needs_raw(a: &FetchAttribute) -> bool {
    matches!(
        a,
        FetchAttribute::BodySection { .. }
            | FetchAttribute::Binary { .. }
            | FetchAttribute::BinarySize { .. }
            | FetchAttribute::Rfc822
            | FetchAttribute::Rfc822Header
            | FetchAttribute::Rfc822Text
    )
}

fn sets_seen(a: &FetchAttribute) -> bool {
    matches!(
        a,
        FetchAttribute::BodySection { peek: false, .. }
            | FetchAttribute::Binary { peek: false, .. }
            | FetchAttribute::Rfc822
            | FetchAttribute::Rfc822Text
    )
}

fn item(
    attr: &FetchAttribute,
    target: &Target,
    fetched: Option<&FetchedMessage>,
    raw: Option<&[u8]>,
    header: Option<&[u8]>,
) -> Option<FetchItem> {
    let parsed = fetched.and_then(|f| f.parsed.as_ref());
    let root = parsed.map(|p| &p.body);
    let raw_or_empty = raw.unwrap_or_default();
    Some(match attr {
        FetchAttribute::Flags => FetchItem::Flags(flag_list(&target.flags)),
        FetchAttribute::Uid => FetchItem::Uid(target.uid),
        FetchAttribute::InternalDate => FetchItem::InternalDate(internal_date(target.idate)?),
        FetchAttribute::Rfc822Size => FetchItem::Rfc822Size(u64::try_from(target.size).ok()?),
        FetchAttribute::ModSeq => FetchItem::ModSeq(u64::try_from(target.modseq).ok()?),
        FetchAttribute::Envelope => FetchItem::Envelope(Box::new(envelope(&parsed?.envelope))),
        FetchAttribute::BodyStructure => FetchItem::BodyStructure(Box::new(body_structure(root?))),
        FetchAttribute::Body => FetchItem::Body(Box::new(body_structure(root?))),
        FetchAttribute::BodySection {
            section,
            partial: range,
            ..
        } => {
            let data = match (root, header) {
                (Some(root), _) => section_data(raw_or_empty, root, section.as_ref()),
                (None, Some(header)) => header_section(header, section.as_ref()),
                (None, None) => Cow::Borrowed(raw_or_empty),
            };
            let (data, origin) = partial(&data, *range);
            FetchItem::BodySection {
                section: section.clone(),
                origin,
                data: Some(data.to_vec()),
            }
        }
        FetchAttribute::Rfc822 => FetchItem::Rfc822(Some(raw_or_empty.to_vec())),
        FetchAttribute::Rfc822Header => FetchItem::Rfc822Header(Some(match header {
            Some(header) => header.to_vec(),
            None => root?.header(raw_or_empty).to_vec(),
        })),
        FetchAttribute::Rfc822Text => {
            FetchItem::Rfc822Text(Some(root?.body(raw_or_empty).to_vec()))
        }
        FetchAttribute::Binary {
            section,
            partial: range,
            ..
        } => {
            let data = match root {
                Some(root) => binary_data(raw_or_empty, root, section),
                None => Cow::Borrowed(raw_or_empty),
            };
            let (data, origin) = partial(&data, *range);
            FetchItem::Binary {
                section: section.clone(),
                origin,
                data: Some(data.to_vec()),
            }
        }
        FetchAttribute::BinarySize { section } => FetchItem::BinarySize {
            section: section.clone(),
            size: match root {
                Some(root) => binary_size(raw_or_empty, root, section),
                None => raw_or_empty.len() as u64,
            },
        },
    })
}

impl Session {
    pub(crate) async fn op_fetch(
        &mut self,
        tag: &str,
        cmd: FetchCommand,
    ) -> Result<StatusResponse> {
        if cmd.vanished && !self.qresync {
            return Ok(StatusResponse::bad(
                tag,
                "VANISHED modifier without ENABLE QRESYNC",
            ));
        }
        // CHANGEDSINCE and the MODSEQ item enable CONDSTORE (RFC 7162 3.1).
        if cmd.changed_since.is_some() || cmd.attributes.contains(&FetchAttribute::ModSeq) {
            self.enable_condstore();
        }
        let user = self.user_id()?;
        if let (Some(since), true) = (cmd.changed_since, cmd.vanished)
            && let Some(selected) = self.selected.as_ref()
        {
            // `*` names the highest UID ever possible here: expunged UIDs above the
            // highest one left are what the client asks about.
            let ranges = qresync::merge(&cmd.sequence_set, u32::MAX);
            if let Some(uids) =
                qresync::vanished(&self.core, &user, selected, since, &ranges).await?
            {
                self.push(Data::Vanished {
                    earlier: true,
                    uids,
                });
            }
        }
        let Some(selected) = self.selected.as_ref() else {
            return Ok(StatusResponse::bad(tag, "No mailbox selected"));
        };
        let mailbox = selected.id.clone();
        let read_only = selected.read_only;
        let condstore = self.condstore;
        let changed_since = cmd.changed_since;
        let mut targets: Vec<Target> = selected
            .resolve(&cmd.sequence_set, cmd.uid)
            .into_iter()
            .filter_map(|i| {
                let m = selected.messages.get(i)?;
                let changed = changed_since
                    .is_none_or(|since| u64::try_from(m.modseq).is_ok_and(|ms| ms > since));
                (!m.expunged && changed).then(|| Target {
                    seq: u32::try_from(i + 1).unwrap_or(u32::MAX),
                    uid: m.uid,
                    flags: m.flags.clone(),
                    size: m.size,
                    idate: m.idate,
                    modseq: m.modseq,
                })
            })
            .collect();

        let mut attributes = cmd.attributes;
        if cmd.uid && !attributes.contains(&FetchAttribute::Uid) {
            attributes.insert(0, FetchAttribute::Uid);
        }
        if changed_since.is_some() && !attributes.contains(&FetchAttribute::ModSeq) {
            attributes.push(FetchAttribute::ModSeq);
        }
        // Header sections of the message itself (what clients list mailboxes with) need only
        // the header block: no parsed MIME tree, no whole message.
        let header_only = attributes
            .iter()
            .filter(|a| needs_parsed(a) || needs_raw(a))
            .all(is_top_header)
            && attributes.iter().any(is_top_header);
        let want_parsed = !header_only && attributes.iter().any(needs_parsed);
        let want_raw = !header_only && attributes.iter().any(needs_raw);
        // Header fields alone come from the header block cache, without the records.
        let want_records = want_parsed || want_raw;

        // A BINARY that will fail must not set \Seen first: its parts are checked up front.
        if !read_only
            && attributes.iter().any(|a| {
                matches!(a, FetchAttribute::Binary { peek: false, section, .. } if !section.is_empty())
            })
            && self.binary_fails(&mailbox, &targets, &attributes).await?
        {
            return Ok(unknown_cte_response(tag));
        }

        // \Seen is set first, so that FLAGS in this response already shows it.
        let mut newly_seen = HashSet::new();
        if !read_only && attributes.iter().any(sets_seen) {
            let unseen: Vec<i64> = targets
                .iter()
                .filter(|t| !t.flags.seen)
                .map(|t| i64::from(t.uid))
                .collect();
            if !unseen.is_empty() {
                let seen = Flags {
                    seen: true,
                    ..Flags::default()
                };
                let changed = self
                    .core
                    .store_flags(&user, &mailbox, &unseen, FlagOp::Add, &seen)
                    .await?;
                for c in changed {
                    let Ok(uid) = u32::try_from(c.uid) else {
                        continue;
                    };
                    newly_seen.insert(uid);
                    // Targets are sorted by UID.
                    if let Ok(i) = targets.binary_search_by_key(&uid, |t| t.uid)
                        && let Some(t) = targets.get_mut(i)
                    {
                        t.flags = c.flags.clone();
                        t.modseq = c.modseq;
                    }
                    if let Some(selected) = self.selected.as_mut()
                        && let Some(i) = selected.index_of(uid)
                        && let Some(m) = selected.messages.get_mut(i)
                    {
                        m.flags = c.flags;
                        m.modseq = c.modseq;
                    }
                }
            }
        }
        let flags_asked = attributes.contains(&FetchAttribute::Flags);

        for chunk in targets.chunks(CHUNK) {
            let records: HashMap<u32, FetchedMessage> = if want_records {
                let uids: Vec<i64> = chunk.iter().map(|t| i64::from(t.uid)).collect();
                self.core
                    .fetch_messages(&user, &mailbox, &uids, want_parsed)
                    .await?
                    .into_iter()
                    .filter_map(|f| Some((u32::try_from(f.record.uid).ok()?, f)))
                    .collect()
            } else {
                HashMap::new()
            };
            let headers = if header_only {
                let uids: Vec<i64> = chunk.iter().map(|t| i64::from(t.uid)).collect();
                self.core.header_blocks(&user, &mailbox, &uids).await?
            } else {
                HashMap::new()
            };
            for target in chunk {
                let fetched = records.get(&target.uid);
                let header = headers.get(&i64::from(target.uid)).map(|h| &h[..]);
                if (want_records && fetched.is_none()) || (header_only && header.is_none()) {
                    // Expunged in the meantime: nothing to show.
                    continue;
                }
                if let Some(root) = fetched.and_then(|f| f.parsed.as_ref()).map(|p| &p.body)
                    && unknown_cte(&attributes, root)
                {
                    return Ok(unknown_cte_response(tag));
                }
                let raw = match (want_raw, fetched) {
                    (true, Some(f)) => Some(self.core.message_bytes(&f.record).await?),
                    _ => None,
                };
                let mut items: Vec<FetchItem> = attributes
                    .iter()
                    .filter_map(|a| item(a, target, fetched, raw.as_deref(), header))
                    .collect();
                if newly_seen.contains(&target.uid) {
                    if !flags_asked {
                        items.push(FetchItem::Flags(flag_list(&target.flags)));
                    }
                    // A flag change the client did not ask for: with CONDSTORE it comes
                    // with UID and MODSEQ like any other (RFC 7162 3.1).
                    if condstore {
                        if !attributes.contains(&FetchAttribute::Uid) {
                            items.push(FetchItem::Uid(target.uid));
                        }
                        if !attributes.contains(&FetchAttribute::ModSeq) {
                            items
                                .push(FetchItem::ModSeq(u64::try_from(target.modseq).unwrap_or(0)));
                        }
                    }
                }
                self.push(Data::Fetch {
                    seq: target.seq,
                    items,
                });
                self.flush_if_full().await?;
            }
        }
        Ok(StatusResponse::ok(tag, "FETCH completed"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partial_ranges() {
        assert_eq!(partial(b"0123456789", Some((2, 3))), (&b"234"[..], Some(2)));
        assert_eq!(partial(b"0123", Some((2, 10))), (&b"23"[..], Some(2)));
        assert_eq!(partial(b"0123", Some((9, 1))), (&b""[..], Some(9)));
        assert_eq!(partial(b"0123", None), (&b"0123"[..], None));
    }

    #[test]
    fn sections_of_a_multipart() {
        let raw = b"Subject: x\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\none\r\n--b\r\nContent-Type: text/html\r\n\r\n<p>two</p>\r\n--b--\r\n";
        let parsed = sealpost_core::mime::parse_message(raw).unwrap();
        let root = &parsed.body;
        let sec = |part: Vec<u32>, text| Section { part, text };
        assert_eq!(
            section_data(raw, root, Some(&sec(vec![1], None))),
            b"one".to_vec()
        );
        assert_eq!(
            section_data(raw, root, Some(&sec(vec![2], None))),
            b"<p>two</p>".to_vec()
        );
        assert_eq!(
            section_data(raw, root, Some(&sec(vec![1], Some(SectionText::Mime)))),
            b"Content-Type: text/plain\r\n\r\n".to_vec()
        );
        assert_eq!(
            section_data(
                raw,
                root,
                Some(&sec(
                    vec![],
                    Some(SectionText::HeaderFields(vec!["subject".into()]))
                ))
            ),
            b"Subject: x\r\n\r\n".to_vec()
        );
        assert!(section_data(raw, root, Some(&sec(vec![3], None))).is_empty());
    }
}
