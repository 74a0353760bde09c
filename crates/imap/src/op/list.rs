//! LIST and LSUB: mailbox names matched against a pattern (`*` any, `%` any but the
//! delimiter), with \HasChildren/\HasNoChildren and the special-use attributes.

use crate::error::Result;
use crate::session::Session;
use sealpost_core::MailboxInfo;
use sealpost_imap_proto::{
    Data, ListAttribute, ListCommand, ListItem, ListReturn, ListSelection, MailboxName,
    StatusResponse,
};

const DELIMITER: char = '/';

/// Longest LIST pattern considered (mailbox paths are at most 1,024 bytes).
const MAX_PATTERN: usize = 1024;

/// Whether `name` matches the LIST pattern (`*` and `%` wildcards). Linear memory; time
/// bounded by pattern length × name length (runs of wildcards count once).
pub(crate) fn matches(pattern: &str, name: &str) -> bool {
    let mut p: Vec<char> = Vec::with_capacity(pattern.len());
    for c in pattern.chars() {
        match (p.last(), c) {
            (Some('*'), '*' | '%') => {}
            (Some('%'), '*') => {
                p.pop();
                p.push('*');
            }
            (Some('%'), '%') => {}
            _ => p.push(c),
        }
    }
    let n: Vec<char> = name.chars().collect();
    // reach[j]: the pattern prefix handled so far matches the name prefix of length j.
    let mut reach = vec![false; n.len() + 1];
    if let Some(first) = reach.first_mut() {
        *first = true;
    }
    for &pc in &p {
        let mut next = vec![false; n.len() + 1];
        match pc {
            '*' | '%' => {
                let mut on = false;
                for (j, slot) in next.iter_mut().enumerate() {
                    if reach.get(j) == Some(&true) {
                        on = true;
                    }
                    *slot = on;
                    if pc == '%' && n.get(j) == Some(&DELIMITER) {
                        on = false;
                    }
                }
            }
            c => {
                for (j, &nc) in n.iter().enumerate() {
                    if reach.get(j) == Some(&true)
                        && nc == c
                        && let Some(slot) = next.get_mut(j + 1)
                    {
                        *slot = true;
                    }
                }
            }
        }
        reach = next;
        if !reach.contains(&true) {
            return false;
        }
    }
    reach.last() == Some(&true)
}

/// The full pattern: reference and pattern joined; `INBOX` at the start is case-insensitive.
fn full_pattern(reference: &str, pattern: &str) -> String {
    let joined = if reference.is_empty() || pattern.starts_with(DELIMITER) {
        pattern.to_string()
    } else if reference.ends_with(DELIMITER) {
        format!("{reference}{pattern}")
    } else {
        format!("{reference}{DELIMITER}{pattern}")
    };
    match joined.get(..5) {
        Some(head) if head.eq_ignore_ascii_case("INBOX") => {
            format!("INBOX{}", joined.get(5..).unwrap_or_default())
        }
        _ => joined,
    }
}

fn special_use(attr: &str) -> Option<ListAttribute> {
    Some(
        match attr.trim_start_matches('\\').to_ascii_lowercase().as_str() {
            "sent" => ListAttribute::Sent,
            "drafts" => ListAttribute::Drafts,
            "trash" => ListAttribute::Trash,
            "junk" => ListAttribute::Junk,
            "archive" => ListAttribute::Archive,
            "all" => ListAttribute::All,
            "flagged" => ListAttribute::Flagged,
            _ => return None,
        },
    )
}

struct Options {
    subscribed_only: bool,
    special_use_only: bool,
    show_subscribed: bool,
}

impl Session {
    async fn list_items(
        &mut self,
        reference: &MailboxName,
        patterns: &[MailboxName],
        options: Options,
        lsub: bool,
    ) -> Result<()> {
        let user = self.user_id()?;
        let mailboxes: Vec<MailboxInfo> = self.core.list_mailboxes(&user, false).await?;
        let paths: Vec<&str> = mailboxes.iter().map(|m| m.mailbox.path.as_str()).collect();
        let mut items = Vec::new();
        for pattern in patterns {
            if pattern.as_str().is_empty() {
                // The delimiter and the root (RFC 3501 6.3.8).
                items.push(ListItem {
                    attributes: vec![ListAttribute::NoSelect],
                    delimiter: Some(DELIMITER),
                    mailbox: MailboxName::new(""),
                    child_info_subscribed: false,
                    old_name: None,
                });
                continue;
            }
            let pattern = full_pattern(reference.as_str(), pattern.as_str());
            if pattern.len() > MAX_PATTERN {
                continue;
            }
            for info in &mailboxes {
                let m = &info.mailbox;
                if !matches(&pattern, &m.path)
                    || ((options.subscribed_only || lsub) && !m.subscribed)
                    || (options.special_use_only && m.special_use.is_none())
                    || items
                        .iter()
                        .any(|i: &ListItem| i.mailbox.as_str() == m.path)
                {
                    continue;
                }
                let prefix = format!("{}{DELIMITER}", m.path);
                let children = paths.iter().any(|p| p.starts_with(&prefix));
                let mut attributes = vec![if children {
                    ListAttribute::HasChildren
                } else {
                    ListAttribute::HasNoChildren
                }];
                if options.show_subscribed && m.subscribed {
                    attributes.push(ListAttribute::Subscribed);
                }
                if let Some(attr) = m.special_use.as_deref().and_then(special_use) {
                    attributes.push(attr);
                }
                items.push(ListItem {
                    attributes,
                    delimiter: Some(DELIMITER),
                    mailbox: MailboxName::new(m.path.clone()),
                    child_info_subscribed: false,
                    old_name: None,
                });
            }
        }
        for item in items {
            self.push(if lsub {
                Data::Lsub(item)
            } else {
                Data::List(item)
            });
        }
        Ok(())
    }

    pub(crate) async fn op_list(&mut self, tag: &str, list: ListCommand) -> Result<StatusResponse> {
        let subscribed_only = list.selection.contains(&ListSelection::Subscribed);
        let options = Options {
            subscribed_only,
            special_use_only: list.selection.contains(&ListSelection::SpecialUse),
            show_subscribed: subscribed_only || list.returns.contains(&ListReturn::Subscribed),
        };
        self.list_items(&list.reference, &list.patterns, options, false)
            .await?;
        Ok(StatusResponse::ok(tag, "LIST completed"))
    }

    pub(crate) async fn op_lsub(
        &mut self,
        tag: &str,
        reference: MailboxName,
        pattern: MailboxName,
    ) -> Result<StatusResponse> {
        let options = Options {
            subscribed_only: true,
            special_use_only: false,
            show_subscribed: false,
        };
        self.list_items(&reference, &[pattern], options, true)
            .await?;
        Ok(StatusResponse::ok(tag, "LSUB completed"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards() {
        assert!(matches("*", "INBOX"));
        assert!(matches("*", "a/b/c"));
        assert!(matches("%", "Sent"));
        assert!(!matches("%", "a/b"));
        assert!(matches("a/%", "a/b"));
        assert!(!matches("a/%", "a/b/c"));
        assert!(matches("a/*", "a/b/c"));
        assert!(matches("S*t", "Sent"));
        assert!(!matches("S*t", "Sen"));
        assert!(matches("%/%", "a/b"));
        assert!(!matches("INBOX", "INBOX/x"));
        assert!(matches("a%*%b", "a/x/b"));
        assert!(matches("a**%%c", "abc"));
        assert!(!matches("a%%", "a/b"));
        assert_eq!(full_pattern("", "inbox"), "INBOX");
        assert_eq!(full_pattern("a", "%"), "a/%");
        assert_eq!(full_pattern("a/", "%"), "a/%");
    }
}
