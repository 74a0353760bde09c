//! Filter evaluation: a pure function from a user's filters and the facts of one incoming
//! message to what should happen to it, with WildDuck's semantics.
//!
//! - Filters run in creation order; disabled ones are skipped.
//! - A filter matches when every query it sets matches: `from` (From:, Sender:), `to` (To:,
//!   Cc:, Delivered-To:), `listId` (List-ID:) and `subject` are case-insensitive substrings of the decoded header
//!   values, `text` of the plain text body (whitespace collapsed), `ha` requires attachments
//!   (true) or none (false), `size` a raw size at least (positive) or at most (negative) the
//!   value.
//! - Of the matching filters' actions, the first filter to set `seen`, `flag`, `delete`,
//!   `spam` or `mailbox` decides it; later filters cannot change it. Forward addresses and
//!   upload URLs of all matching filters add up.

use sealpost_store::filters::FilterRecord;
use sealpost_store::model::ObjectId;

/// What the filters look at in a message.
#[derive(Debug, Clone, Copy)]
pub struct MessageFacts<'a> {
    /// Decoded header fields in order: (lower-case name, value).
    pub headers: &'a [(String, String)],
    /// Plain text body.
    pub text: &'a str,
    pub has_attachments: bool,
    /// Size of the raw message as stored, bytes.
    pub size: u64,
}

impl<'a> MessageFacts<'a> {
    pub fn of(parsed: &'a sealpost_mime::ParsedMessage) -> Self {
        MessageFacts {
            headers: &parsed.headers,
            text: &parsed.text,
            has_attachments: !parsed.attachments.is_empty(),
            size: parsed.size,
        }
    }
}

/// The combined actions of the matching filters. `None`: no matching filter said.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FilterOutcome {
    /// Ids of the matching filters, in order.
    pub matched: Vec<ObjectId>,
    pub seen: Option<bool>,
    pub flag: Option<bool>,
    pub delete: Option<bool>,
    pub spam: Option<bool>,
    pub mailbox: Option<ObjectId>,
    /// Forward addresses, without repeats, in order.
    pub forward: Vec<String>,
    /// Upload URLs, without repeats, in order.
    pub target_urls: Vec<String>,
}

/// Lower case with every run of whitespace made one space, as WildDuck compares.
pub fn fold(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut space = false;
    for c in s.chars() {
        if c.is_whitespace() {
            space = true;
            continue;
        }
        if space && !out.is_empty() {
            out.push(' ');
        }
        space = false;
        out.extend(c.to_lowercase());
    }
    out
}

/// Runs `filters` (in the order given: creation order) against a message.
pub fn evaluate(filters: &[FilterRecord], facts: &MessageFacts<'_>) -> FilterOutcome {
    let mut prepared = Prepared::default();
    let mut out = FilterOutcome::default();
    for f in filters.iter().filter(|f| !f.disabled) {
        if !matches(f, facts, &mut prepared) {
            continue;
        }
        out.matched.push(f.id.clone());
        first(&mut out.seen, f.action_seen);
        first(&mut out.flag, f.action_flag);
        first(&mut out.delete, f.action_delete);
        first(&mut out.spam, f.action_spam);
        first(&mut out.mailbox, f.action_mailbox.clone());
        for t in targets(f) {
            if is_url_target(&t) {
                add(&mut out.target_urls, Some(&t));
            } else {
                add(&mut out.forward, Some(&t));
            }
        }
    }
    out
}

/// Every target of a filter, without repeats: the older single forward address and upload
/// URL, then today's `action.targets`.
pub fn targets(f: &FilterRecord) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for t in f
        .action_forward
        .iter()
        .chain(f.action_target_url.iter())
        .chain(f.action_targets.iter())
    {
        if !out.iter().any(|x| x.eq_ignore_ascii_case(t)) {
            out.push(t.clone());
        }
    }
    out
}

/// An `action.targets` entry that is an upload URL rather than a forwarding address.
pub fn is_url_target(t: &str) -> bool {
    let lower = t.get(..8).unwrap_or(t).to_ascii_lowercase();
    lower.starts_with("http://") || lower.starts_with("https://")
}

fn first<T>(slot: &mut Option<T>, value: Option<T>) {
    if slot.is_none() {
        *slot = value;
    }
}

fn add(list: &mut Vec<String>, value: Option<&str>) {
    if let Some(v) = value
        && !list.iter().any(|x| x.eq_ignore_ascii_case(v))
    {
        list.push(v.to_string());
    }
}

/// Folded header values and text, computed once per message, when first needed.
#[derive(Default)]
struct Prepared {
    from: Option<Vec<String>>,
    to: Option<Vec<String>>,
    subject: Option<Vec<String>>,
    list_id: Option<Vec<String>>,
    text: Option<String>,
}

/// The folded values of the headers a query key looks at.
fn header_values<'p>(
    slot: &'p mut Option<Vec<String>>,
    facts: &MessageFacts<'_>,
    names: &[&str],
) -> &'p [String] {
    slot.get_or_insert_with(|| {
        facts
            .headers
            .iter()
            .filter(|(name, _)| names.contains(&name.as_str()))
            .map(|(_, value)| fold(value))
            .collect()
    })
}

fn contains_any(values: &[String], needle: &str) -> bool {
    values.iter().any(|v| v.contains(needle))
}

fn matches(f: &FilterRecord, facts: &MessageFacts<'_>, p: &mut Prepared) -> bool {
    if let Some(q) = f.query_from.as_deref().map(fold).filter(|q| !q.is_empty())
        && !contains_any(header_values(&mut p.from, facts, &["from", "sender"]), &q)
    {
        return false;
    }
    if let Some(q) = f.query_to.as_deref().map(fold).filter(|q| !q.is_empty())
        && !contains_any(
            header_values(&mut p.to, facts, &["to", "cc", "delivered-to"]),
            &q,
        )
    {
        return false;
    }
    if let Some(q) = f
        .query_subject
        .as_deref()
        .map(fold)
        .filter(|q| !q.is_empty())
        && !contains_any(header_values(&mut p.subject, facts, &["subject"]), &q)
    {
        return false;
    }
    if let Some(q) = f
        .query_list_id
        .as_deref()
        .map(fold)
        .filter(|q| !q.is_empty())
        && !contains_any(header_values(&mut p.list_id, facts, &["list-id"]), &q)
    {
        return false;
    }
    if let Some(ha) = f.query_ha
        && ha != facts.has_attachments
    {
        return false;
    }
    if let Some(size) = f.query_size.filter(|s| *s != 0) {
        let limit = size.unsigned_abs();
        if size < 0 && facts.size > limit {
            return false;
        }
        if size > 0 && facts.size < limit {
            return false;
        }
    }
    if let Some(q) = f.query_text.as_deref().map(fold).filter(|q| !q.is_empty()) {
        let text = p.text.get_or_insert_with(|| fold(facts.text));
        if !text.contains(&q) {
            return false;
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filter(n: u8) -> FilterRecord {
        FilterRecord {
            id: ObjectId::from_stored(format!("{n:024x}")),
            user: ObjectId::from_stored("0".repeat(24)),
            created: n as i64,
            ..Default::default()
        }
    }

    fn headers() -> Vec<(String, String)> {
        [
            ("delivered-to", "rcpt@example.com"),
            ("from", "Mäger Jüri <juri@Sender.example>"),
            ("sender", "list-owner@lists.example"),
            ("to", "Alice <alice@example.com>"),
            ("cc", "Bob  Builder <bob@example.org>"),
            ("subject", "Quarterly   REPORT\r\n due"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    }

    fn run(filters: &[FilterRecord], has_attachments: bool, size: u64) -> FilterOutcome {
        let h = headers();
        let facts = MessageFacts {
            headers: &h,
            text: "Hello there,\n\nthe  NUMBERS are\tin.\n",
            has_attachments,
            size,
        };
        evaluate(filters, &facts)
    }

    fn matched(f: FilterRecord) -> bool {
        !run(&[f], false, 1000).matched.is_empty()
    }

    #[test]
    fn fold_lowercases_and_collapses_whitespace() {
        assert_eq!(fold("  A\t B\r\n  c "), "a b c");
        assert_eq!(fold("MÄGER"), "mäger");
        assert_eq!(fold(""), "");
    }

    #[test]
    fn query_from_matches_from_and_sender() {
        let with = |q: &str| FilterRecord {
            query_from: Some(q.into()),
            ..filter(1)
        };
        assert!(matched(with("mäger")));
        assert!(matched(with("SENDER.EXAMPLE")));
        assert!(matched(with("list-owner")));
        assert!(!matched(with("alice")));
        assert!(!matched(with("nobody")));
    }

    #[test]
    fn query_to_matches_to_cc_and_delivered_to() {
        let with = |q: &str| FilterRecord {
            query_to: Some(q.into()),
            ..filter(1)
        };
        assert!(matched(with("ALICE@")));
        assert!(matched(with("bob builder")));
        assert!(matched(with("rcpt@example.com")));
        assert!(!matched(with("juri")));
    }

    #[test]
    fn query_subject_is_a_folded_substring() {
        let with = |q: &str| FilterRecord {
            query_subject: Some(q.into()),
            ..filter(1)
        };
        assert!(matched(with("quarterly report")));
        assert!(matched(with("report due")));
        assert!(!matched(with("annual")));
    }

    #[test]
    fn query_text_searches_the_body() {
        let with = |q: &str| FilterRecord {
            query_text: Some(q.into()),
            ..filter(1)
        };
        assert!(matched(with("the numbers are in")));
        assert!(matched(with("HELLO")));
        assert!(!matched(with("goodbye")));
        // The subject is not the body.
        assert!(!matched(with("quarterly")));
    }

    #[test]
    fn query_ha_requires_attachments_or_none() {
        let yes = FilterRecord {
            query_ha: Some(true),
            ..filter(1)
        };
        let no = FilterRecord {
            query_ha: Some(false),
            ..filter(2)
        };
        assert_eq!(run(std::slice::from_ref(&yes), true, 10).matched.len(), 1);
        assert!(run(&[yes], false, 10).matched.is_empty());
        assert_eq!(run(std::slice::from_ref(&no), false, 10).matched.len(), 1);
        assert!(run(&[no], true, 10).matched.is_empty());
    }

    #[test]
    fn query_size_larger_and_smaller() {
        let larger = FilterRecord {
            query_size: Some(1000),
            ..filter(1)
        };
        let smaller = FilterRecord {
            query_size: Some(-1000),
            ..filter(2)
        };
        assert_eq!(
            run(std::slice::from_ref(&larger), false, 1000)
                .matched
                .len(),
            1
        );
        assert_eq!(
            run(std::slice::from_ref(&larger), false, 5000)
                .matched
                .len(),
            1
        );
        assert!(run(&[larger], false, 999).matched.is_empty());
        assert_eq!(
            run(std::slice::from_ref(&smaller), false, 1000)
                .matched
                .len(),
            1
        );
        assert_eq!(
            run(std::slice::from_ref(&smaller), false, 10).matched.len(),
            1
        );
        assert!(run(&[smaller], false, 1001).matched.is_empty());
    }

    #[test]
    fn every_query_must_match() {
        let f = FilterRecord {
            query_from: Some("juri".into()),
            query_subject: Some("report".into()),
            ..filter(1)
        };
        assert!(matched(f.clone()));
        assert!(!matched(FilterRecord {
            query_to: Some("carol".into()),
            ..f
        }));
    }

    #[test]
    fn disabled_filters_are_skipped() {
        let f = FilterRecord {
            query_from: Some("juri".into()),
            action_seen: Some(true),
            disabled: true,
            ..filter(1)
        };
        assert_eq!(run(&[f], false, 10), FilterOutcome::default());
    }

    #[test]
    fn each_action_is_reported() {
        let mailbox = ObjectId::from_stored("a".repeat(24));
        let f = FilterRecord {
            query_from: Some("juri".into()),
            action_seen: Some(true),
            action_flag: Some(true),
            action_delete: Some(true),
            action_spam: Some(true),
            action_mailbox: Some(mailbox.clone()),
            action_forward: Some("fwd@example.net".into()),
            action_target_url: Some("https://hooks.example/in".into()),
            ..filter(1)
        };
        let out = run(std::slice::from_ref(&f), false, 10);
        assert_eq!(
            out,
            FilterOutcome {
                matched: vec![f.id],
                seen: Some(true),
                flag: Some(true),
                delete: Some(true),
                spam: Some(true),
                mailbox: Some(mailbox),
                forward: vec!["fwd@example.net".into()],
                target_urls: vec!["https://hooks.example/in".into()],
            }
        );
    }

    #[test]
    fn first_matching_filter_decides_and_targets_add_up() {
        let a = FilterRecord {
            query_from: Some("juri".into()),
            action_seen: Some(false),
            action_forward: Some("one@example.net".into()),
            ..filter(1)
        };
        let miss = FilterRecord {
            query_from: Some("nobody".into()),
            action_flag: Some(true),
            ..filter(2)
        };
        let b = FilterRecord {
            query_to: Some("alice".into()),
            action_seen: Some(true),
            action_spam: Some(false),
            action_forward: Some("two@example.net".into()),
            action_target_url: Some("http://h.example/".into()),
            ..filter(3)
        };
        let c = FilterRecord {
            query_subject: Some("report".into()),
            action_spam: Some(true),
            action_forward: Some("ONE@example.net".into()),
            ..filter(4)
        };
        let out = run(&[a.clone(), miss, b.clone(), c.clone()], false, 10);
        assert_eq!(out.matched, vec![a.id, b.id, c.id]);
        assert_eq!(out.seen, Some(false));
        assert_eq!(out.flag, None);
        assert_eq!(out.spam, Some(false));
        assert_eq!(out.forward, vec!["one@example.net", "two@example.net"]);
        assert_eq!(out.target_urls, vec!["http://h.example/"]);
    }
}
