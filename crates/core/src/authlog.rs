//! The authentication log: what happened to an account's security (logins on every
//! protocol, password changes, application passwords, 2FA), who (`ip`, `sess`) and how it
//! ended. Entries are queued and written in batches by one background task, so that a
//! login never waits for a log write; a listing first waits until everything queued before
//! it is written. Entries expire after 30 days: listings leave them out and the task
//! deletes them in bounded batches.

use crate::{Core, Page, PageRequest, Result, validate};
use sealpost_store::model::ObjectId;
use sealpost_store::{AuthLogEntry, AuthLogFilter, Store};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

/// How long entries are kept.
pub const RETENTION_MS: i64 = 30 * 24 * 3600 * 1000;
/// Entries waiting to be written; past this, new ones are dropped (and counted in the log).
const QUEUE: usize = 10_000;
/// Entries written per transaction.
const BATCH: usize = 500;
/// Expired entries deleted per statement, and how often the task looks for them.
const PURGE_BATCH: i64 = 1000;
const PURGE_EVERY: Duration = Duration::from_secs(600);
/// Longest `sess`, `ip` or `protocol` kept.
const MAX_FIELD: usize = 256;

/// Where an authentication or a change was asked from (all optional, for the log only).
#[derive(Debug, Clone, Default)]
pub struct AuthMeta {
    /// "IMAP", "POP3", "SMTP", "API", ...
    pub protocol: Option<String>,
    pub sess: Option<String>,
    pub ip: Option<String>,
}

impl AuthMeta {
    pub fn new(protocol: &str, sess: Option<String>, ip: Option<String>) -> Self {
        AuthMeta {
            protocol: Some(protocol.to_string()),
            sess,
            ip,
        }
    }
}

/// `GET /users/{user}/authlog` filters.
#[derive(Debug, Clone, Default)]
pub struct AuthLogQuery {
    pub action: Option<String>,
    pub sess: Option<String>,
    pub ip: Option<String>,
}

enum Msg {
    Entry(Box<AuthLogEntry>),
    Flush(oneshot::Sender<()>),
}

/// The queue into the writer task. Cheap to clone.
#[derive(Clone)]
pub(crate) struct AuthLog {
    tx: mpsc::Sender<Msg>,
}

fn clip(v: Option<&str>) -> Option<String> {
    v.map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.chars().take(MAX_FIELD).collect())
}

impl AuthLog {
    /// Starts the writer task (it ends when the last `AuthLog` is dropped).
    pub(crate) fn start(store: Store) -> AuthLog {
        let (tx, rx) = mpsc::channel(QUEUE);
        tokio::spawn(run(store, rx));
        AuthLog { tx }
    }

    fn push(&self, entry: AuthLogEntry) {
        if self.tx.try_send(Msg::Entry(Box::new(entry))).is_err() {
            tracing::warn!("authentication log queue full; entry dropped");
        }
    }

    async fn flush(&self) {
        let (tx, rx) = oneshot::channel();
        if self.tx.send(Msg::Flush(tx)).await.is_ok() {
            let _ = rx.await;
        }
    }
}

async fn run(store: Store, mut rx: mpsc::Receiver<Msg>) {
    let mut last_purge: Option<tokio::time::Instant> = None;
    loop {
        let first = match tokio::time::timeout(PURGE_EVERY, rx.recv()).await {
            Ok(Some(m)) => Some(m),
            Ok(None) => return,
            Err(_) => None,
        };
        let mut entries = Vec::new();
        let mut flushes = Vec::new();
        let mut next = first;
        while let Some(m) = next {
            match m {
                Msg::Entry(e) => entries.push(*e),
                Msg::Flush(f) => flushes.push(f),
            }
            if entries.len() >= BATCH {
                break;
            }
            next = rx.try_recv().ok();
        }
        if let Err(e) = store.insert_authlog(&entries).await {
            tracing::warn!(error = %e, n = entries.len(), "authentication log write failed");
        }
        for f in flushes {
            let _ = f.send(());
        }
        if last_purge.is_none_or(|t| t.elapsed() >= PURGE_EVERY) {
            last_purge = Some(tokio::time::Instant::now());
            purge(&store).await;
        }
    }
}

/// Deletes expired entries, a bounded batch at a time (at most 100 batches per run).
async fn purge(store: &Store) {
    // Temporary application passwords past their expiry go with the log's old entries.
    if let Err(e) = store
        .purge_expired_asps(sealpost_store::now_ms(), PURGE_BATCH)
        .await
    {
        tracing::warn!(error = %e, "purging expired application passwords failed");
    }
    let before = sealpost_store::now_ms() - RETENTION_MS;
    for _ in 0..100 {
        match store.purge_authlog(before, PURGE_BATCH).await {
            Ok(n) if n < PURGE_BATCH as u64 => return,
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(error = %e, "authentication log purge failed");
                return;
            }
        }
    }
}

impl Core {
    /// Queues an authentication log entry for `user`.
    pub fn record_auth_event(
        &self,
        user: &ObjectId,
        action: &str,
        success: bool,
        meta: &AuthMeta,
        extra: AuthEventExtra,
    ) -> ObjectId {
        let result = if success { "success" } else { "fail" };
        self.record_auth_result(user, action, result, meta, extra)
    }

    /// Queues a log entry with any result (`success`, `fail`, `throttled`).
    pub fn record_auth_result(
        &self,
        user: &ObjectId,
        action: &str,
        result: &str,
        meta: &AuthMeta,
        extra: AuthEventExtra,
    ) -> ObjectId {
        let id = ObjectId::new();
        self.authlog.push(AuthLogEntry {
            seq: 0,
            id: id.clone(),
            user: user.clone(),
            action: action.to_string(),
            result: result.to_string(),
            protocol: clip(meta.protocol.as_deref()),
            sess: clip(meta.sess.as_deref()),
            ip: clip(meta.ip.as_deref()),
            asp: extra.asp,
            scope: extra.scope.map(str::to_string),
            created: sealpost_store::now_ms(),
        });
        id
    }

    /// One entry of the user's log (of the last 30 days).
    pub async fn get_authlog_event(
        &self,
        user: &ObjectId,
        event: &ObjectId,
    ) -> Result<AuthLogEntry> {
        self.get_user(user).await?;
        self.authlog.flush().await;
        let since = sealpost_store::now_ms() - RETENTION_MS;
        self.store
            .get_authlog(user, event, since)
            .await?
            .ok_or_else(|| crate::Error::not_found("Event was not found"))
    }

    /// The user's log entries of the last 30 days, newest first.
    pub async fn list_authlog(
        &self,
        user: &ObjectId,
        query: &AuthLogQuery,
        page: &PageRequest,
    ) -> Result<Page<AuthLogEntry>> {
        self.get_user(user).await?;
        let check = |v: &Option<String>, field: &'static str| -> Result<Option<String>> {
            match clip(v.as_deref()) {
                Some(s) => {
                    validate::text(&s, field)?;
                    Ok(Some(s))
                }
                None => Ok(None),
            }
        };
        let filter = AuthLogFilter {
            action: check(&query.action, "action")?,
            sess: check(&query.sess, "sess")?,
            ip: check(&query.ip, "ip")?,
            since: sealpost_store::now_ms() - RETENTION_MS,
        };
        self.authlog.flush().await;
        let (total, rows) = self
            .store
            .list_authlog(user, &filter, &page.seek::<i64>()?, page.fetch_limit())
            .await?;
        Ok(page.finish(total, rows, |e| e.seq))
    }
}

/// Optional details of a log entry.
#[derive(Debug, Clone, Default)]
pub struct AuthEventExtra {
    /// The application specific password concerned.
    pub asp: Option<ObjectId>,
    /// The scope asked for (authentications).
    pub scope: Option<&'static str>,
}
