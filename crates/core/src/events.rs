//! Message events: the timeline of one stored message (`STORE` at delivery, `FILTER` when
//! filters matched, `FORWARD`, `AUTOREPLY`, ...) as `GET .../messages/{message}/events`
//! shows it. Events live with the message and go with it; each message keeps its newest
//! [`MAX_EVENTS_PER_MESSAGE`].

use crate::{Core, Error, Result};
use sealpost_store::model::ObjectId;
use serde_json::{Map, Value};

/// Events kept per message (the oldest go first).
pub const MAX_EVENTS_PER_MESSAGE: i64 = 100;
/// Largest stored event (its fields as JSON), bytes.
const MAX_EVENT_BYTES: usize = 16 * 1024;

/// One event: an upper-case action and its fields (`source`, `origin`, `from`, `to`,
/// `transtype`, `filters`, ...), shown as given next to `id`, `action` and `time`.
#[derive(Debug, Clone, PartialEq)]
pub struct MessageEvent {
    pub action: String,
    pub fields: Map<String, Value>,
}

impl MessageEvent {
    pub fn new(action: &str) -> Self {
        MessageEvent {
            action: action.to_string(),
            fields: Map::new(),
        }
    }

    /// Adds a field (`id`, `action` and `time` are set by the store and cannot be given).
    pub fn with(mut self, key: &str, value: impl Into<Value>) -> Self {
        if !matches!(key, "id" | "action" | "time") {
            self.fields.insert(key.to_string(), value.into());
        }
        self
    }

    /// The action and the fields as stored (a JSON object); refused when too large.
    pub(crate) fn encode(self) -> Result<(String, String)> {
        let data = Value::Object(self.fields).to_string();
        if data.len() > MAX_EVENT_BYTES {
            return Err(Error::TooLarge("The event is too large".into()));
        }
        Ok((self.action, data))
    }
}

/// The id shown for a message in the events listing: its storage row as 24 hex digits.
pub fn message_event_id(row: i64) -> String {
    format!("{row:024x}")
}

impl Core {
    /// Records an event for the message `uid` of `mailbox`.
    pub async fn record_event(
        &self,
        user: &ObjectId,
        mailbox: &ObjectId,
        uid: i64,
        event: MessageEvent,
    ) -> Result<()> {
        let (action, data) = event.encode()?;
        let ok = self
            .store
            .insert_event(user, mailbox, uid, &action, &data, MAX_EVENTS_PER_MESSAGE)
            .await?;
        if ok {
            Ok(())
        } else {
            Err(Error::not_found("This message does not exist"))
        }
    }

    /// The message's id and its events, oldest first, each a JSON object with `id`,
    /// `action`, the event's fields and `time` (ISO 8601).
    pub async fn message_events(
        &self,
        user: &ObjectId,
        mailbox: &ObjectId,
        uid: i64,
    ) -> Result<(String, Vec<Value>)> {
        let row = match self.store.message_row(user, mailbox, uid).await? {
            Some(row) => row,
            None => {
                self.mailbox_record(user, mailbox).await?;
                return Err(Error::not_found("This message does not exist"));
            }
        };
        let events = self.store.list_events(row).await?;
        let list = events
            .into_iter()
            .map(|e| {
                let mut out = Map::new();
                out.insert(
                    "id".into(),
                    format!("{:x}{:06x}", e.created, e.id & 0xff_ffff).into(),
                );
                out.insert("action".into(), e.action.into());
                if let Ok(Value::Object(fields)) = serde_json::from_str::<Value>(&e.data) {
                    for (k, v) in fields {
                        out.entry(k).or_insert(v);
                    }
                }
                out.insert("time".into(), iso_time(e.created).into());
                Value::Object(out)
            })
            .collect();
        Ok((message_event_id(row), list))
    }
}

fn iso_time(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .format("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reserved_fields_cannot_be_set() {
        let e = MessageEvent::new("STORE")
            .with("source", "LMTP")
            .with("id", "x")
            .with("time", 1)
            .with("to", vec!["a@example.com"]);
        assert_eq!(e.fields.len(), 2);
        assert_eq!(e.fields["to"], serde_json::json!(["a@example.com"]));
    }

    #[test]
    fn ids_and_times() {
        assert_eq!(message_event_id(255), "0000000000000000000000ff");
        assert_eq!(iso_time(1_508_499_372_481), "2017-10-20T11:36:12.481Z");
    }
}
