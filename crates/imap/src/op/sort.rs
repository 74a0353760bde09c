//! SORT and UID SORT (RFC 5256), with the DISPLAYFROM/DISPLAYTO keys of SORT=DISPLAY
//! (RFC 5957). The messages are those SEARCH would find; the keys come from the session's
//! snapshot (ARRIVAL, SIZE) and from the stored message index (the others), never from the
//! raw messages. Strings compare with i;ascii-casemap, the RFC's default collation; messages
//! equal on every key stay in mailbox order.

use super::search::check_charset;
use crate::error::Result;
use crate::session::Session;
use crate::subject::base_subject;
use sealpost_core::SortFields;
use sealpost_core::mime::Addr;
use sealpost_imap_proto::{Data, SortCommand, SortKey, StatusResponse};
use std::cmp::Ordering;
use std::collections::HashMap;

/// Messages whose stored index is read at once (each index is a few KiB of JSON).
const FIELDS_CHUNK: usize = 500;

/// RFC 5256: the `addr-mailbox` (local part) of an address; empty when there is none.
fn mailbox_part(addr: Option<&Addr>) -> String {
    let Some(a) = addr else {
        return String::new();
    };
    let local = a
        .address
        .rsplit_once('@')
        .map_or(a.address.as_str(), |(l, _)| l);
    local.to_ascii_lowercase()
}

/// RFC 5957: the display name of the first address, or its addr-spec when the name is
/// empty; empty when there is no address.
fn display_part(addr: Option<&Addr>) -> String {
    let Some(a) = addr else {
        return String::new();
    };
    let name = a.name.trim();
    if name.is_empty() {
        a.address.to_ascii_lowercase()
    } else {
        name.to_ascii_lowercase()
    }
}

/// One message's keys as the criteria need them.
#[derive(Default)]
struct Keys {
    index: usize,
    arrival: i64,
    size: i64,
    date: i64,
    strings: Vec<String>,
}

impl Session {
    /// The stored sort fields of the messages at `indexes` of the snapshot, by UID; `index`
    /// reads the stored message index too (for To, Cc and the threading headers).
    pub(crate) async fn sort_fields(
        &self,
        indexes: &[usize],
        index: bool,
    ) -> Result<HashMap<u32, SortFields>> {
        let user = self.user_id()?;
        let Some(selected) = self.selected.as_ref() else {
            return Ok(HashMap::new());
        };
        let uids: Vec<i64> = indexes
            .iter()
            .filter_map(|&i| selected.messages.get(i).map(|m| i64::from(m.uid)))
            .collect();
        let mut out = HashMap::with_capacity(uids.len());
        for chunk in uids.chunks(FIELDS_CHUNK) {
            for f in self
                .core
                .sort_fields(&user, &selected.id, chunk, index)
                .await?
            {
                if let Ok(uid) = u32::try_from(f.uid) {
                    out.insert(uid, f);
                }
            }
        }
        Ok(out)
    }

    pub(crate) async fn op_sort(&mut self, tag: &str, cmd: SortCommand) -> Result<StatusResponse> {
        if let Some(refused) = check_charset(tag, Some(&cmd.charset)) {
            return Ok(refused);
        }
        let found = match self.search_indexes(tag, &cmd.search).await? {
            Ok(found) => found,
            Err(refused) => return Ok(refused),
        };
        let needs_fields = cmd
            .criteria
            .iter()
            .any(|c| !matches!(c.key, SortKey::Arrival | SortKey::Size));
        let needs_json = cmd
            .criteria
            .iter()
            .any(|c| matches!(c.key, SortKey::To | SortKey::Cc | SortKey::DisplayTo));
        let fields = if needs_fields {
            self.sort_fields(&found, needs_json).await?
        } else {
            HashMap::new()
        };
        let Some(selected) = self.selected.as_ref() else {
            return Ok(StatusResponse::bad(tag, "No mailbox selected"));
        };
        let mut keys: Vec<Keys> = found
            .iter()
            .filter_map(|&i| {
                let m = selected.messages.get(i)?;
                let f = fields.get(&m.uid);
                let mut k = Keys {
                    index: i,
                    arrival: m.idate,
                    size: m.size,
                    // A message whose index is missing sorts by its internal date.
                    date: f.map_or(m.idate, |f| f.sent),
                    strings: Vec::new(),
                };
                for c in &cmd.criteria {
                    let s = match c.key {
                        SortKey::Subject => {
                            f.map(|f| base_subject(&f.subject).key).unwrap_or_default()
                        }
                        SortKey::From => mailbox_part(f.and_then(|f| f.from.as_ref())),
                        SortKey::To => mailbox_part(f.and_then(|f| f.to.as_ref())),
                        SortKey::Cc => mailbox_part(f.and_then(|f| f.cc.as_ref())),
                        SortKey::DisplayFrom => display_part(f.and_then(|f| f.from.as_ref())),
                        SortKey::DisplayTo => display_part(f.and_then(|f| f.to.as_ref())),
                        SortKey::Arrival | SortKey::Date | SortKey::Size => continue,
                    };
                    k.strings.push(s);
                }
                Some(k)
            })
            .collect();
        keys.sort_by(|a, b| {
            let mut strings = 0;
            for c in &cmd.criteria {
                let ord = match c.key {
                    SortKey::Arrival => a.arrival.cmp(&b.arrival),
                    SortKey::Date => a.date.cmp(&b.date),
                    SortKey::Size => a.size.cmp(&b.size),
                    _ => {
                        let ord = a.strings.get(strings).cmp(&b.strings.get(strings));
                        strings += 1;
                        ord
                    }
                };
                let ord = if c.reverse { ord.reverse() } else { ord };
                if ord != Ordering::Equal {
                    return ord;
                }
            }
            a.index.cmp(&b.index)
        });
        let ids = keys
            .iter()
            .filter_map(|k| {
                if cmd.uid {
                    selected.messages.get(k.index).map(|m| m.uid)
                } else {
                    u32::try_from(k.index + 1).ok()
                }
            })
            .collect();
        self.push(Data::Sort { ids, modseq: None });
        Ok(StatusResponse::ok(tag, "SORT completed"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn address_keys() {
        let a = Addr {
            name: "Zoe Example".into(),
            address: "Alice@Example.org".into(),
        };
        assert_eq!(mailbox_part(Some(&a)), "alice");
        assert_eq!(display_part(Some(&a)), "zoe example");
        let bare = Addr {
            name: " ".into(),
            address: "bob@example.org".into(),
        };
        assert_eq!(display_part(Some(&bare)), "bob@example.org");
        assert_eq!(mailbox_part(None), "");
        assert_eq!(display_part(None), "");
    }
}
