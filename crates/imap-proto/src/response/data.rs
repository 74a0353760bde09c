//! Untagged data responses (`* ...`) other than FETCH items: mailbox state, LIST/LSUB,
//! STATUS, SEARCH/ESEARCH/SORT/THREAD, ENABLED, NAMESPACE, ID, QUOTA.

use super::{FetchItem, Writer};
use crate::command::StatusItem;
use crate::flag::Flag;
use crate::mailbox::MailboxName;
use crate::sequence::SequenceSet;

/// Untagged data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Data {
    /// `CAPABILITY caps`
    Capability(Vec<String>),
    /// `ENABLED caps`
    Enabled(Vec<String>),
    /// `FLAGS (flags)`
    Flags(Vec<Flag>),
    /// `n EXISTS`
    Exists(u32),
    /// `n RECENT`
    Recent(u32),
    /// `n EXPUNGE`
    Expunge(u32),
    /// `VANISHED [(EARLIER)] uids` (QRESYNC)
    Vanished {
        /// Reply to a SELECT/FETCH resync rather than a live expunge.
        earlier: bool,
        /// The expunged UIDs.
        uids: SequenceSet,
    },
    /// `n FETCH (items)`
    Fetch {
        /// Message sequence number.
        seq: u32,
        /// The items.
        items: Vec<FetchItem>,
    },
    /// `LIST (attrs) delim name [ext]`
    List(ListItem),
    /// `LSUB (attrs) delim name`
    Lsub(ListItem),
    /// `STATUS name (item value ...)`
    Status {
        /// The mailbox.
        mailbox: MailboxName,
        /// Items and values.
        items: Vec<StatusValue>,
    },
    /// `SEARCH ids [(MODSEQ n)]`
    Search {
        /// Matching numbers.
        ids: Vec<u32>,
        /// CONDSTORE: highest mod-sequence of the matches.
        modseq: Option<u64>,
    },
    /// `ESEARCH ...`
    Esearch(EsearchResult),
    /// `SORT ids [(MODSEQ n)]`
    Sort {
        /// Numbers in sort order.
        ids: Vec<u32>,
        /// CONDSTORE: highest mod-sequence of the matches.
        modseq: Option<u64>,
    },
    /// `THREAD (...)...`
    Thread(Vec<Thread>),
    /// `NAMESPACE personal other shared`
    Namespace {
        /// Personal namespaces (NIL when empty).
        personal: Vec<NamespaceEntry>,
        /// Other users' namespaces.
        other: Vec<NamespaceEntry>,
        /// Shared namespaces.
        shared: Vec<NamespaceEntry>,
    },
    /// `ID (field value ...)` or `ID NIL`
    Id(Option<Vec<(String, Option<String>)>>),
    /// `QUOTA root (resource usage limit ...)`
    Quota {
        /// Quota root name.
        root: String,
        /// Resources.
        resources: Vec<QuotaResource>,
    },
    /// `QUOTAROOT mailbox root...`
    QuotaRoot {
        /// The mailbox asked about.
        mailbox: MailboxName,
        /// Its quota roots.
        roots: Vec<String>,
    },
}

/// One `STATUS` item and its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatusValue {
    /// The item.
    pub item: StatusItem,
    /// Its value.
    pub value: u64,
}

/// A LIST or LSUB entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListItem {
    /// Attributes (`\HasChildren`, `\Sent`...).
    pub attributes: Vec<ListAttribute>,
    /// Hierarchy delimiter, `None` for a flat name space.
    pub delimiter: Option<char>,
    /// The mailbox.
    pub mailbox: MailboxName,
    /// LIST-EXTENDED `CHILDINFO ("SUBSCRIBED")`.
    pub child_info_subscribed: bool,
    /// `OLDNAME` extended item (after a RENAME under UTF8=ACCEPT).
    pub old_name: Option<MailboxName>,
}

/// Mailbox attributes of LIST, LIST-EXTENDED, CHILDREN and SPECIAL-USE.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum ListAttribute {
    NoInferiors,
    NoSelect,
    Marked,
    Unmarked,
    HasChildren,
    HasNoChildren,
    NonExistent,
    Subscribed,
    Remote,
    All,
    Archive,
    Drafts,
    Flagged,
    Junk,
    Sent,
    Trash,
    /// Another attribute, without the backslash.
    Other(String),
}

impl ListAttribute {
    /// The wire form with the backslash.
    pub fn to_wire(&self) -> String {
        let name = match self {
            ListAttribute::NoInferiors => "Noinferiors",
            ListAttribute::NoSelect => "Noselect",
            ListAttribute::Marked => "Marked",
            ListAttribute::Unmarked => "Unmarked",
            ListAttribute::HasChildren => "HasChildren",
            ListAttribute::HasNoChildren => "HasNoChildren",
            ListAttribute::NonExistent => "NonExistent",
            ListAttribute::Subscribed => "Subscribed",
            ListAttribute::Remote => "Remote",
            ListAttribute::All => "All",
            ListAttribute::Archive => "Archive",
            ListAttribute::Drafts => "Drafts",
            ListAttribute::Flagged => "Flagged",
            ListAttribute::Junk => "Junk",
            ListAttribute::Sent => "Sent",
            ListAttribute::Trash => "Trash",
            ListAttribute::Other(other) => other,
        };
        format!("\\{name}")
    }
}

/// A namespace: prefix and delimiter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamespaceEntry {
    /// Prefix (`""`, `"Other Users/"`).
    pub prefix: String,
    /// Hierarchy delimiter.
    pub delimiter: Option<char>,
}

/// A QUOTA resource: name (`STORAGE` in KiB, `MESSAGE`...), usage and limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuotaResource {
    /// Resource name.
    pub name: String,
    /// Current usage.
    pub usage: u64,
    /// Limit.
    pub limit: u64,
}

/// An ESEARCH response (RFC 4731).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct EsearchResult {
    /// The command's tag (`(TAG "a1")`).
    pub tag: Option<String>,
    /// Numbers are UIDs.
    pub uid: bool,
    /// `MIN n`
    pub min: Option<u32>,
    /// `MAX n`
    pub max: Option<u32>,
    /// `ALL set` (omitted when nothing matched)
    pub all: Option<SequenceSet>,
    /// `COUNT n`
    pub count: Option<u32>,
    /// `MODSEQ n`
    pub modseq: Option<u64>,
}

/// A THREAD tree: a chain of messages, then branches (two or more), which are threads too.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Thread {
    /// Messages one after the other (may be empty for a missing root).
    pub ids: Vec<u32>,
    /// Replies branching after the last message of `ids`.
    pub children: Vec<Thread>,
}

impl Drop for Thread {
    /// Drops without recursion: thread depth comes from message headers. (Clone, Debug and
    /// PartialEq are recursive; the encoder is not.)
    fn drop(&mut self) {
        let mut stack = std::mem::take(&mut self.children);
        while let Some(mut thread) = stack.pop() {
            stack.append(&mut thread.children);
        }
    }
}

fn delimiter(w: &mut Writer<'_>, delimiter: Option<char>) {
    match delimiter {
        Some(c) => {
            let mut buf = [0u8; 4];
            w.string(c.encode_utf8(&mut buf).as_bytes());
        }
        None => w.str("NIL"),
    }
}

fn namespaces(w: &mut Writer<'_>, entries: &[NamespaceEntry]) {
    if entries.is_empty() {
        w.str("NIL");
        return;
    }
    w.raw(b"(");
    for entry in entries {
        w.raw(b"(");
        if w.utf8 {
            w.string(entry.prefix.as_bytes());
        } else {
            w.string(crate::utf7::encode_utf7(&entry.prefix).as_bytes());
        }
        w.sp();
        delimiter(w, entry.delimiter);
        w.raw(b")");
    }
    w.raw(b")");
}

fn ids_with_modseq(w: &mut Writer<'_>, name: &str, ids: &[u32], modseq: Option<u64>) {
    w.str(name);
    for id in ids {
        w.sp();
        w.number(id);
    }
    if let Some(modseq) = modseq {
        w.str(&format!(" (MODSEQ {modseq})"));
    }
}

/// Writes threads without recursion (thread depth comes from message headers).
fn threads(w: &mut Writer<'_>, threads: &[Thread]) {
    enum Step<'t> {
        Body(&'t Thread),
        Text(&'static [u8]),
    }
    let mut stack: Vec<Step<'_>> = Vec::new();
    for thread in threads.iter().rev() {
        stack.extend([Step::Text(b")"), Step::Body(thread), Step::Text(b"(")]);
    }
    while let Some(step) = stack.pop() {
        match step {
            Step::Text(text) => w.raw(text),
            Step::Body(mut thread) => {
                let mut first = true;
                loop {
                    for id in &thread.ids {
                        if !first {
                            w.sp();
                        }
                        w.number(id);
                        first = false;
                    }
                    match thread.children.as_slice() {
                        [only] => thread = only,
                        _ => break,
                    }
                }
                if thread.children.len() > 1 {
                    if !first {
                        w.sp();
                    }
                    for child in thread.children.iter().rev() {
                        stack.extend([Step::Text(b")"), Step::Body(child), Step::Text(b"(")]);
                    }
                }
            }
        }
    }
}

impl Data {
    pub(crate) fn write(&self, w: &mut Writer<'_>) {
        match self {
            Data::Capability(caps) | Data::Enabled(caps) => {
                w.str(if matches!(self, Data::Capability(_)) {
                    "CAPABILITY"
                } else {
                    "ENABLED"
                });
                for cap in caps {
                    w.sp();
                    w.str(cap);
                }
            }
            Data::Flags(flags) => {
                w.str("FLAGS ");
                w.list(flags, |w, f| w.str(&f.to_string()));
            }
            Data::Exists(n) => w.str(&format!("{n} EXISTS")),
            Data::Recent(n) => w.str(&format!("{n} RECENT")),
            Data::Expunge(n) => w.str(&format!("{n} EXPUNGE")),
            Data::Vanished { earlier, uids } => {
                w.str(if *earlier {
                    "VANISHED (EARLIER) "
                } else {
                    "VANISHED "
                });
                w.str(&uids.to_string());
            }
            Data::Fetch { seq, items } => {
                w.str(&format!("{seq} FETCH "));
                w.list(items, |w, item| item.write(w));
            }
            Data::List(item) => list_item(w, "LIST", item),
            Data::Lsub(item) => list_item(w, "LSUB", item),
            Data::Status { mailbox, items } => {
                w.str("STATUS ");
                w.mailbox(mailbox.as_str());
                w.sp();
                w.list(items, |w, v| {
                    w.str(&format!("{} {}", v.item.as_str(), v.value))
                });
            }
            Data::Search { ids, modseq } => ids_with_modseq(w, "SEARCH", ids, *modseq),
            Data::Sort { ids, modseq } => ids_with_modseq(w, "SORT", ids, *modseq),
            Data::Esearch(result) => {
                w.str("ESEARCH");
                if let Some(tag) = &result.tag {
                    w.str(" (TAG ");
                    w.string(tag.as_bytes());
                    w.str(")");
                }
                if result.uid {
                    w.str(" UID");
                }
                if let Some(min) = result.min {
                    w.str(&format!(" MIN {min}"));
                }
                if let Some(max) = result.max {
                    w.str(&format!(" MAX {max}"));
                }
                if let Some(all) = &result.all {
                    w.str(&format!(" ALL {all}"));
                }
                if let Some(count) = result.count {
                    w.str(&format!(" COUNT {count}"));
                }
                if let Some(modseq) = result.modseq {
                    w.str(&format!(" MODSEQ {modseq}"));
                }
            }
            Data::Thread(list) => {
                w.str("THREAD");
                if !list.is_empty() {
                    w.sp();
                    threads(w, list);
                }
            }
            Data::Namespace {
                personal,
                other,
                shared,
            } => {
                w.str("NAMESPACE ");
                namespaces(w, personal);
                w.sp();
                namespaces(w, other);
                w.sp();
                namespaces(w, shared);
            }
            Data::Id(fields) => {
                w.str("ID ");
                match fields {
                    Some(fields) if !fields.is_empty() => w.list(fields, |w, (name, value)| {
                        w.string(name.as_bytes());
                        w.sp();
                        w.nstring(value.as_deref().map(str::as_bytes));
                    }),
                    _ => w.str("NIL"),
                }
            }
            Data::Quota { root, resources } => {
                w.str("QUOTA ");
                w.astring(root);
                w.sp();
                w.list(resources, |w, r| {
                    w.str(&format!("{} {} {}", r.name, r.usage, r.limit));
                });
            }
            Data::QuotaRoot { mailbox, roots } => {
                w.str("QUOTAROOT ");
                w.mailbox(mailbox.as_str());
                for root in roots {
                    w.sp();
                    w.astring(root);
                }
            }
        }
    }
}

fn list_item(w: &mut Writer<'_>, name: &str, item: &ListItem) {
    w.str(name);
    w.sp();
    w.list(&item.attributes, |w, a| w.str(&a.to_wire()));
    w.sp();
    delimiter(w, item.delimiter);
    w.sp();
    w.mailbox(item.mailbox.as_str());
    if !item.child_info_subscribed && item.old_name.is_none() {
        return;
    }
    w.str(" (");
    let mut first = true;
    if item.child_info_subscribed {
        w.str("\"CHILDINFO\" (\"SUBSCRIBED\")");
        first = false;
    }
    if let Some(old) = &item.old_name {
        if !first {
            w.sp();
        }
        w.str("\"OLDNAME\" (");
        w.mailbox(old.as_str());
        w.str(")");
    }
    w.str(")");
}

#[cfg(test)]
mod tests {
    use crate::response::test_support::*;
    use crate::*;

    #[test]
    fn mailbox_state_data() {
        assert_eq!(encode(Data::Exists(172)), "* 172 EXISTS\r\n");
        assert_eq!(encode(Data::Recent(1)), "* 1 RECENT\r\n");
        assert_eq!(encode(Data::Expunge(3)), "* 3 EXPUNGE\r\n");
        assert_eq!(
            encode(Data::Flags(vec![
                Flag::Answered,
                Flag::Keyword("$Forwarded".into())
            ])),
            "* FLAGS (\\Answered $Forwarded)\r\n"
        );
        assert_eq!(
            encode(Data::Vanished {
                earlier: true,
                uids: SequenceSet::from_ids([41, 43, 44, 45]).unwrap()
            }),
            "* VANISHED (EARLIER) 41,43:45\r\n"
        );
        assert_eq!(
            encode(Data::Vanished {
                earlier: false,
                uids: SequenceSet::single(5)
            }),
            "* VANISHED 5\r\n"
        );
        assert_eq!(
            encode(Data::Capability(vec![
                "IMAP4rev1".into(),
                "IMAP4rev2".into()
            ])),
            "* CAPABILITY IMAP4rev1 IMAP4rev2\r\n"
        );
        assert_eq!(
            encode(Data::Enabled(vec!["QRESYNC".into()])),
            "* ENABLED QRESYNC\r\n"
        );
    }

    #[test]
    fn list_and_status_with_mailbox_encoding() {
        let item = ListItem {
            attributes: vec![ListAttribute::HasNoChildren, ListAttribute::Drafts],
            delimiter: Some('/'),
            mailbox: MailboxName::new("Entwürfe"),
            child_info_subscribed: false,
            old_name: None,
        };
        assert_eq!(
            encode(Data::List(item.clone())),
            "* LIST (\\HasNoChildren \\Drafts) \"/\" \"Entw&APw-rfe\"\r\n"
        );
        assert_eq!(
            encode_utf8(Data::List(item)),
            "* LIST (\\HasNoChildren \\Drafts) \"/\" \"Entwürfe\"\r\n"
        );
        let item = ListItem {
            attributes: vec![],
            delimiter: None,
            mailbox: MailboxName::new("inbox"),
            child_info_subscribed: true,
            old_name: None,
        };
        assert_eq!(
            encode(Data::Lsub(item)),
            "* LSUB () NIL INBOX (\"CHILDINFO\" (\"SUBSCRIBED\"))\r\n"
        );
        assert_eq!(
            encode(Data::Status {
                mailbox: MailboxName::new("日本語"),
                items: vec![
                    StatusValue {
                        item: StatusItem::Messages,
                        value: 231
                    },
                    StatusValue {
                        item: StatusItem::UidNext,
                        value: 44292
                    },
                ],
            }),
            "* STATUS \"&ZeVnLIqe-\" (MESSAGES 231 UIDNEXT 44292)\r\n"
        );
        assert_eq!(
            encode(Data::QuotaRoot {
                mailbox: MailboxName::new("INBOX"),
                roots: vec!["".into()]
            }),
            "* QUOTAROOT INBOX \"\"\r\n"
        );
        assert_eq!(
            encode(Data::Quota {
                root: String::new(),
                resources: vec![QuotaResource {
                    name: "STORAGE".into(),
                    usage: 10,
                    limit: 512
                }],
            }),
            "* QUOTA \"\" (STORAGE 10 512)\r\n"
        );
        assert_eq!(
            encode(Data::Namespace {
                personal: vec![NamespaceEntry {
                    prefix: String::new(),
                    delimiter: Some('/')
                }],
                other: vec![],
                shared: vec![
                    NamespaceEntry {
                        prefix: "Shared/".into(),
                        delimiter: Some('/')
                    },
                    NamespaceEntry {
                        prefix: "Öffentlich/".into(),
                        delimiter: None
                    },
                ],
            }),
            "* NAMESPACE ((\"\" \"/\")) NIL ((\"Shared/\" \"/\")(\"&ANY-ffentlich/\" NIL))\r\n"
        );
    }

    #[test]
    fn search_sort_thread() {
        assert_eq!(
            encode(Data::Search {
                ids: vec![2, 84, 882],
                modseq: None
            }),
            "* SEARCH 2 84 882\r\n"
        );
        assert_eq!(
            encode(Data::Search {
                ids: vec![],
                modseq: None
            }),
            "* SEARCH\r\n"
        );
        assert_eq!(
            encode(Data::Sort {
                ids: vec![5, 3],
                modseq: Some(917162500)
            }),
            "* SORT 5 3 (MODSEQ 917162500)\r\n"
        );
        assert_eq!(
            encode(Data::Esearch(EsearchResult {
                tag: Some("A282".into()),
                uid: true,
                min: Some(2),
                max: Some(47),
                all: SequenceSet::from_ids([2, 10, 11, 12, 47]),
                count: Some(5),
                modseq: None,
            })),
            "* ESEARCH (TAG \"A282\") UID MIN 2 MAX 47 ALL 2,10:12,47 COUNT 5\r\n"
        );
        // RFC 5256 example: (2)(3 6 (4 23)(44 7 96))
        let thread = vec![
            Thread {
                ids: vec![2],
                children: vec![],
            },
            Thread {
                ids: vec![3, 6],
                children: vec![
                    Thread {
                        ids: vec![4, 23],
                        children: vec![],
                    },
                    Thread {
                        ids: vec![44],
                        children: vec![Thread {
                            ids: vec![7, 96],
                            children: vec![],
                        }],
                    },
                ],
            },
        ];
        assert_eq!(
            encode(Data::Thread(thread)),
            "* THREAD (2)(3 6 (4 23)(44 7 96))\r\n"
        );
        assert_eq!(encode(Data::Thread(vec![])), "* THREAD\r\n");
        // A deep chain of branches is written without recursion.
        let mut deep = Thread {
            ids: vec![1],
            children: vec![],
        };
        for i in 2..20_000 {
            deep = Thread {
                ids: vec![],
                children: vec![
                    deep,
                    Thread {
                        ids: vec![i],
                        children: vec![],
                    },
                ],
            };
        }
        assert!(encode(Data::Thread(vec![deep])).starts_with("* THREAD (((("));
    }
}
