//! `GET /users/{user}/updates`: the user's change journal as an EventSource stream. Each
//! event's `id:` is its journal id, so a client reconnecting with `Last-Event-ID` gets
//! everything after it. Core's change notifications wake the stream; a slow poll covers
//! changes made on other nodes; comments every 15 s keep proxies from closing it and find
//! out when the client has gone (the stream is dropped with the connection).
//!
//! On PostgreSQL journal ids are taken before commit order is known, so a row may become
//! visible after a row with a higher id: the stream re-reads rows younger than
//! [`SETTLE_MS`] and remembers which of them it sent, rather than stepping past them.

use super::AppState;
use super::error::{ApiError, ApiResult, ErrorBody};
use super::extract::PathArgs;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::stream::{Stream, StreamExt};
use sealpost_core::{Core, JournalEvent, MAX_EVENTS, ObjectId};
use serde_json::{Value, json};
use std::collections::{BTreeSet, VecDeque};
use std::convert::Infallible;
use std::time::Duration;
use tokio::sync::broadcast;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Rows younger than this are read again (PostgreSQL commit order, see above).
const SETTLE_MS: i64 = 10_000;
/// Ids remembered as sent; past this the stream steps past them anyway.
const MAX_REMEMBERED: usize = 10_000;
/// Poll for changes no notification announced.
const POLL: Duration = Duration::from_secs(10);
const HEARTBEAT: Duration = Duration::from_secs(15);

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(updates))
}

/// Where a stream is in the user's journal.
struct Follower {
    core: Core,
    user: ObjectId,
    /// Every row at or below this id was sent (or skipped as settled).
    low: i64,
    /// Rows above `low` already sent.
    sent: BTreeSet<i64>,
    /// Rows that may still appear out of id order (PostgreSQL).
    settle_ms: i64,
    queue: VecDeque<Event>,
    changes: broadcast::Receiver<()>,
}

fn flag_list(data: &Value) -> Vec<String> {
    let mut flags = Vec::new();
    for (key, flag) in [
        ("seen", "\\Seen"),
        ("answered", "\\Answered"),
        ("flagged", "\\Flagged"),
        ("deleted", "\\Deleted"),
        ("draft", "\\Draft"),
    ] {
        if data.get(key).and_then(Value::as_bool) == Some(true) {
            flags.push(flag.to_string());
        }
    }
    if let Some(k) = data.get("keywords").and_then(Value::as_array) {
        flags.extend(k.iter().filter_map(Value::as_str).map(str::to_string));
    }
    flags
}

/// The event's JSON, WildDuck style: `command`, `mailbox`, and what the command concerns.
fn event_data(e: &JournalEvent) -> Value {
    let data: Value = e
        .data
        .as_deref()
        .and_then(|d| serde_json::from_str(d).ok())
        .unwrap_or(Value::Null);
    let mut v = json!({ "command": e.command });
    if let Some(m) = &e.mailbox {
        v["mailbox"] = json!(m.to_string());
    }
    if let Some(uid) = e.uid {
        v["message"] = json!(uid);
        v["uid"] = json!(uid);
    }
    if let Some(modseq) = e.modseq {
        v["modseq"] = json!(modseq);
    }
    match e.command.as_str() {
        "FETCH" => v["flags"] = json!(flag_list(&data)),
        "CREATE" | "RENAME" => {
            if let Some(path) = data.get("path").and_then(Value::as_str) {
                v["path"] = json!(path);
                v["name"] = json!(path.rsplit('/').next().unwrap_or(path));
            }
            if let Some(old) = data.get("old").and_then(Value::as_str) {
                v["oldPath"] = json!(old);
            }
        }
        _ => {}
    }
    v
}

impl Follower {
    /// Reads what is new; false when nothing was.
    async fn fill(&mut self) -> sealpost_core::Result<bool> {
        let rows = self
            .core
            .journal_events_after(&self.user, self.low, MAX_EVENTS)
            .await?;
        let full = rows.len() as i64 >= MAX_EVENTS;
        let settled_before = chrono::Utc::now().timestamp_millis() - self.settle_ms;
        let mut added = false;
        let mut new_low = self.low;
        let mut settled = true;
        for row in &rows {
            if self.sent.insert(row.id) {
                let event = Event::default()
                    .id(row.id.to_string())
                    .data(event_data(row).to_string());
                self.queue.push_back(event);
                added = true;
            }
            settled &= row.created < settled_before;
            if settled {
                new_low = row.id;
            }
        }
        if (full && new_low == self.low) || self.sent.len() > MAX_REMEMBERED {
            // Cannot wait for older rows any longer: step past what was sent.
            new_low = self.sent.last().copied().unwrap_or(new_low).max(new_low);
        }
        self.low = new_low;
        self.sent = self.sent.split_off(&(new_low + 1));
        Ok(added)
    }

    /// The next event, waiting for changes; `None` ends the stream.
    async fn next(&mut self) -> Option<Event> {
        loop {
            if let Some(e) = self.queue.pop_front() {
                return Some(e);
            }
            match self.fill().await {
                Ok(true) => continue,
                Ok(false) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "updates stream: journal read failed");
                    return None;
                }
            }
            let wait = if self.sent.is_empty() {
                POLL
            } else {
                // Rows inside the settle window: look again soon.
                Duration::from_secs(1)
            };
            tokio::select! {
                r = self.changes.recv() => {
                    if let Err(broadcast::error::RecvError::Closed) = r {
                        tokio::time::sleep(wait).await;
                    }
                }
                _ = tokio::time::sleep(wait) => {}
            }
        }
    }
}

/// Stream the user's mailbox changes (text/event-stream).
#[utoipa::path(
    get,
    path = "/users/{user}/updates",
    tag = "Updates",
    params(
        ("user" = String, Path, description = "User id (24 hex)"),
        ("Last-Event-ID" = Option<String>, Header, description = "Resume after this event id"),
    ),
    responses(
        (status = 200, description = "EventSource stream of EXISTS, EXPUNGE, FETCH (flags), CREATE, RENAME and DELETE events", content_type = "text/event-stream", body = String),
        (status = 400, description = "Invalid id or Last-Event-ID", body = ErrorBody),
        (status = 404, description = "No such user", body = ErrorBody),
    )
)]
async fn updates(
    State(s): State<AppState>,
    path: PathArgs,
    headers: HeaderMap,
) -> ApiResult<Sse<impl Stream<Item = Result<Event, Infallible>>>> {
    let user = path.id("user")?;
    s.core.get_user(&user).await?;
    // Subscribed before the first read: nothing between the read and the wait is missed.
    let changes = s.core.subscribe_changes(&user);
    let low = match headers.get("last-event-id") {
        Some(v) => v
            .to_str()
            .ok()
            .map(str::trim)
            .and_then(|v| v.parse::<i64>().ok())
            .filter(|n| *n >= 0)
            .ok_or_else(|| {
                ApiError::invalid("Last-Event-ID", "\"Last-Event-ID\" must be an event id")
            })?,
        None => s.core.journal_head(&user).await?,
    };
    let settle_ms = if s.core.engine_name() == "postgres" {
        SETTLE_MS
    } else {
        // One writer: ids are in commit order.
        0
    };
    let follower = Follower {
        core: s.core.clone(),
        user,
        low,
        sent: BTreeSet::new(),
        settle_ms,
        queue: VecDeque::new(),
        changes,
    };
    let stream = futures_util::stream::unfold(follower, |mut f| async move {
        let event = f.next().await?;
        Some((Ok(event), f))
    });
    // A stopping server ends the stream at once rather than holding its exit.
    let shutdown = s.shutdown.clone();
    let stream = stream.take_until(async move { shutdown.stopped().await });
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(HEARTBEAT).text("heartbeat")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(command: &str, data: Option<&str>) -> JournalEvent {
        JournalEvent {
            id: 7,
            mailbox: Some(ObjectId::parse("596c9c37ef2213165daadc65").unwrap()),
            command: command.into(),
            uid: Some(3),
            modseq: Some(9),
            data: data.map(str::to_string),
            created: 0,
        }
    }

    #[test]
    fn event_shapes() {
        let v = event_data(&row("EXISTS", None));
        assert_eq!(
            v,
            json!({"command": "EXISTS", "mailbox": "596c9c37ef2213165daadc65", "message": 3, "uid": 3, "modseq": 9})
        );
        let v = event_data(&row(
            "FETCH",
            Some(
                r#"{"seen":true,"answered":false,"flagged":true,"deleted":false,"draft":false,"keywords":["$Label1"]}"#,
            ),
        ));
        assert_eq!(v["flags"], json!(["\\Seen", "\\Flagged", "$Label1"]));
        let v = event_data(&row("RENAME", Some(r#"{"path":"a/b","old":"c"}"#)));
        assert_eq!(
            (v["path"].as_str(), v["name"].as_str()),
            (Some("a/b"), Some("b"))
        );
        assert_eq!(v["oldPath"], "c");
    }
}
