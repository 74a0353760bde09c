//! LIST and LSUB: mailbox names matched against patterns (`*` any, `%` any but the
//! delimiter), with \HasChildren/\HasNoChildren and the special-use attributes; the
//! LIST-EXTENDED selection and return options (RFC 5258), SPECIAL-USE selection (RFC 6154)
//! and LIST-STATUS (RFC 5819).

use crate::error::Result;
use crate::session::Session;
use sealpost_core::MailboxInfo;
use sealpost_imap_proto::{
    Data, ListAttribute, ListCommand, ListItem, ListReturn, ListSelection, MailboxName, StatusItem,
    StatusResponse,
};
use std::collections::HashSet;

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
            "important" => ListAttribute::Other("Important".into()),
            _ => return None,
        },
    )
}

/// What a LIST or LSUB asks for, after the RFC 5258 rules are applied.
#[derive(Default)]
struct Options {
    /// Selection SUBSCRIBED (and LSUB): only subscribed mailboxes.
    subscribed_only: bool,
    /// Selection SPECIAL-USE (RFC 6154): only mailboxes with a special use.
    special_use_only: bool,
    /// RECURSIVEMATCH: also parents whose descendants match the selection (with CHILDINFO).
    recursive: bool,
    /// Send `\Subscribed`.
    show_subscribed: bool,
    /// LIST-STATUS items (RFC 5819), sent as STATUS after each selectable mailbox.
    status: Option<Vec<StatusItem>>,
    /// LSUB rather than LIST responses.
    lsub: bool,
}

/// Every ancestor path (`a`, `a/b` for `a/b/c`) of the given paths.
fn ancestors<'a>(paths: impl Iterator<Item = &'a str>) -> HashSet<&'a str> {
    let mut set = HashSet::new();
    for path in paths {
        for (i, c) in path.char_indices() {
            if c == DELIMITER
                && let Some(parent) = path.get(..i)
            {
                set.insert(parent);
            }
        }
    }
    set
}

impl Session {
    async fn list_items(
        &mut self,
        reference: &MailboxName,
        patterns: &[MailboxName],
        options: Options,
    ) -> Result<()> {
        let user = self.user_id()?;
        let counters = options.status.is_some();
        let mailboxes: Vec<MailboxInfo> = self.core.list_mailboxes(&user, counters).await?;
        let selected = |m: &MailboxInfo| {
            (!options.subscribed_only || m.mailbox.subscribed)
                && (!options.special_use_only || m.mailbox.special_use.is_some())
        };
        let with_children = ancestors(mailboxes.iter().map(|m| m.mailbox.path.as_str()));
        // Parents of a mailbox that meets the selection: listed with RECURSIVEMATCH, and
        // marked with CHILDINFO. Only SUBSCRIBED has a CHILDINFO value (RFC 5258 3.5;
        // RFC 6154 defines none for SPECIAL-USE), so only it lists such parents.
        let with_selected_children = if options.recursive && options.subscribed_only {
            ancestors(
                mailboxes
                    .iter()
                    .filter(|m| selected(m))
                    .map(|m| m.mailbox.path.as_str()),
            )
        } else {
            HashSet::new()
        };
        let mut listed: HashSet<&str> = HashSet::new();
        let mut items: Vec<(ListItem, Option<&MailboxInfo>)> = Vec::new();
        for pattern in patterns {
            if pattern.as_str().is_empty() {
                // The delimiter and the root (RFC 3501 6.3.8).
                if listed.insert("") {
                    let item = ListItem {
                        attributes: vec![ListAttribute::NoSelect],
                        delimiter: Some(DELIMITER),
                        mailbox: MailboxName::new(""),
                        child_info_subscribed: false,
                        old_name: None,
                    };
                    items.push((item, None));
                }
                continue;
            }
            let pattern = full_pattern(reference.as_str(), pattern.as_str());
            if pattern.len() > MAX_PATTERN {
                continue;
            }
            for info in &mailboxes {
                let m = &info.mailbox;
                let path = m.path.as_str();
                let child_match = with_selected_children.contains(path);
                if (!selected(info) && !child_match)
                    || listed.contains(path)
                    || !matches(&pattern, path)
                {
                    continue;
                }
                listed.insert(path);
                let mut attributes = vec![if with_children.contains(path) {
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
                let item = ListItem {
                    attributes,
                    delimiter: Some(DELIMITER),
                    mailbox: MailboxName::new(m.path.clone()),
                    child_info_subscribed: child_match,
                    old_name: None,
                };
                items.push((item, Some(info)));
            }
        }
        for (item, info) in items {
            let mailbox = item.mailbox.clone();
            self.push(if options.lsub {
                Data::Lsub(item)
            } else {
                Data::List(item)
            });
            if let (Some(items), Some(info)) = (&options.status, info) {
                let values = self.status_values(&user, info, items).await?;
                self.push(Data::Status {
                    mailbox,
                    items: values,
                });
                self.flush_if_full().await?;
            }
        }
        Ok(())
    }

    /// The LIST response of one mailbox, by its exact path (IMAP4rev2 SELECT).
    pub(crate) async fn list_one(&mut self, path: &str) -> Result<()> {
        let user = self.user_id()?;
        let mailboxes = self.core.list_mailboxes(&user, false).await?;
        let with_children = ancestors(mailboxes.iter().map(|m| m.mailbox.path.as_str()));
        let Some(info) = mailboxes.iter().find(|m| m.mailbox.path == path) else {
            return Ok(());
        };
        let mut attributes = vec![if with_children.contains(path) {
            ListAttribute::HasChildren
        } else {
            ListAttribute::HasNoChildren
        }];
        if info.mailbox.subscribed {
            attributes.push(ListAttribute::Subscribed);
        }
        if let Some(attr) = info.mailbox.special_use.as_deref().and_then(special_use) {
            attributes.push(attr);
        }
        self.push(Data::List(ListItem {
            attributes,
            delimiter: Some(DELIMITER),
            mailbox: MailboxName::new(path),
            child_info_subscribed: false,
            old_name: None,
        }));
        Ok(())
    }

    pub(crate) async fn op_list(&mut self, tag: &str, list: ListCommand) -> Result<StatusResponse> {
        let mut options = Options::default();
        for selection in &list.selection {
            match selection {
                ListSelection::Subscribed => options.subscribed_only = true,
                ListSelection::SpecialUse => options.special_use_only = true,
                ListSelection::RecursiveMatch => options.recursive = true,
                // No remote mailboxes: REMOTE changes nothing.
                ListSelection::Remote => {}
                ListSelection::Other(name) => {
                    return Ok(StatusResponse::bad(
                        tag,
                        format!("Unknown LIST selection option {name}"),
                    ));
                }
            }
        }
        // RFC 5258 3.1: RECURSIVEMATCH alone (or with REMOTE only) is a syntax error.
        if options.recursive && !options.subscribed_only && !options.special_use_only {
            return Ok(StatusResponse::bad(
                tag,
                "RECURSIVEMATCH needs another selection option",
            ));
        }
        // The SUBSCRIBED selection implies the SUBSCRIBED return option (RFC 5258 3.1).
        options.show_subscribed = options.subscribed_only;
        for ret in list.returns {
            match ret {
                ListReturn::Subscribed => options.show_subscribed = true,
                // \HasChildren/\HasNoChildren and special-use attributes are always sent
                // (CHILDREN, RFC 6154 2), so these ask for nothing more.
                ListReturn::Children | ListReturn::SpecialUse => {}
                ListReturn::Status(items) => options.status = Some(items),
                ListReturn::Other(name) => {
                    return Ok(StatusResponse::bad(
                        tag,
                        format!("Unknown LIST return option {name}"),
                    ));
                }
            }
        }
        self.list_items(&list.reference, &list.patterns, options)
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
            lsub: true,
            ..Options::default()
        };
        self.list_items(&reference, &[pattern], options).await?;
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
