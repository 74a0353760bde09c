//! The human-readable `query` and `action` tuples of a filter listing, worded as WildDuck
//! words them (`[["from", "(abc)"]]`, `[["flag it"]]`): the first element is a translatable
//! key, the rest are values; a client joins them into a sentence.

use sealpost_store::filters::FilterRecord;
use sealpost_store::model::MailboxRecord;
use serde_json::{Value, json};

/// `query` tuples: headers (from, to, subject), attachments, text, size.
pub fn query(f: &FilterRecord) -> Vec<Value> {
    let mut out = Vec::new();
    for (key, value) in [
        ("from", &f.query_from),
        ("to", &f.query_to),
        ("subject", &f.query_subject),
        ("list id", &f.query_list_id),
    ] {
        if let Some(v) = value {
            out.push(json!([key, format!("({v})")]));
        }
    }
    match f.query_ha {
        Some(true) => out.push(json!(["has attachment"])),
        Some(false) => out.push(json!(["no attachments"])),
        None => {}
    }
    if let Some(text) = &f.query_text {
        out.push(json!([false, format!("\"{text}\"")]));
    }
    if let Some(size) = f.query_size.filter(|s| *s != 0) {
        let key = if size > 0 { "larger" } else { "smaller" };
        out.push(json!([key, size_text(size.unsigned_abs())]));
    }
    out
}

/// "5MB", "20kB" or "1000B": the largest unit that divides the size evenly.
fn size_text(size: u64) -> String {
    const MB: u64 = 1024 * 1024;
    if size.is_multiple_of(MB) {
        format!("{}MB", size / MB)
    } else if size.is_multiple_of(1024) {
        format!("{}kB", size / 1024)
    } else {
        format!("{size}B")
    }
}

/// `action` tuples, in the order the actions are stored.
pub fn action(f: &FilterRecord, mailboxes: &[MailboxRecord]) -> Vec<Value> {
    let mut out = Vec::new();
    let mut flag = |value: Option<bool>, yes: &str, no: &str| match value {
        Some(true) => out.push(json!([yes])),
        Some(false) => out.push(json!([no])),
        None => {}
    };
    flag(f.action_seen, "mark as read", "do not mark as read");
    flag(f.action_flag, "flag it", "do not flag it");
    flag(f.action_delete, "delete it", "do not delete it");
    flag(f.action_spam, "mark it as spam", "do not mark it as spam");
    for t in super::engine::targets(f) {
        if super::engine::is_url_target(&t) {
            let host = url::Url::parse(&t)
                .ok()
                .and_then(|u| u.host_str().map(str::to_string))
                .unwrap_or_else(|| t.clone());
            out.push(json!(["upload to", host]));
        } else {
            out.push(json!(["forward to", t]));
        }
    }
    if let Some(id) = &f.action_mailbox {
        let target = mailboxes
            .iter()
            .find(|m| &m.id == id)
            .map(|m| format!("\"{}\"", m.path))
            .unwrap_or_else(|| "?".to_string());
        out.push(json!(["move to folder", target]));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use sealpost_store::model::ObjectId;

    #[test]
    fn query_tuples() {
        let f = FilterRecord {
            query_from: Some("abc".into()),
            query_to: Some("me@x.example".into()),
            query_subject: Some("hi there".into()),
            query_text: Some("words".into()),
            query_ha: Some(true),
            query_size: Some(5 * 1024 * 1024),
            ..Default::default()
        };
        assert_eq!(
            Value::Array(query(&f)),
            json!([
                ["from", "(abc)"],
                ["to", "(me@x.example)"],
                ["subject", "(hi there)"],
                ["has attachment"],
                [false, "\"words\""],
                ["larger", "5MB"]
            ])
        );
        let f = FilterRecord {
            query_ha: Some(false),
            query_size: Some(-2048),
            ..Default::default()
        };
        assert_eq!(
            Value::Array(query(&f)),
            json!([["no attachments"], ["smaller", "2kB"]])
        );
        let f = FilterRecord {
            query_size: Some(1000),
            ..Default::default()
        };
        assert_eq!(Value::Array(query(&f)), json!([["larger", "1000B"]]));
    }

    #[test]
    fn action_tuples() {
        let mailbox = MailboxRecord {
            id: ObjectId::from_stored("b".repeat(24)),
            user: ObjectId::from_stored("c".repeat(24)),
            path: "Lists/Rust".into(),
            special_use: None,
            subscribed: true,
            uid_validity: 1,
            uid_next: 1,
            modseq: 0,
            retention: 0,
            created: 0,
        };
        let f = FilterRecord {
            action_seen: Some(true),
            action_flag: Some(false),
            action_delete: Some(false),
            action_spam: Some(true),
            action_forward: Some("fwd@example.net".into()),
            action_target_url: Some("https://hooks.example:8443/in?x=1".into()),
            action_mailbox: Some(mailbox.id.clone()),
            ..Default::default()
        };
        assert_eq!(
            Value::Array(action(&f, std::slice::from_ref(&mailbox))),
            json!([
                ["mark as read"],
                ["do not flag it"],
                ["do not delete it"],
                ["mark it as spam"],
                ["forward to", "fwd@example.net"],
                ["upload to", "hooks.example"],
                ["move to folder", "\"Lists/Rust\""]
            ])
        );
        let f = FilterRecord {
            action_seen: Some(false),
            action_flag: Some(true),
            action_delete: Some(true),
            action_spam: Some(false),
            action_mailbox: Some(ObjectId::from_stored("d".repeat(24))),
            ..Default::default()
        };
        assert_eq!(
            Value::Array(action(&f, &[])),
            json!([
                ["do not mark as read"],
                ["flag it"],
                ["delete it"],
                ["do not mark it as spam"],
                ["move to folder", "?"]
            ])
        );
    }
}
