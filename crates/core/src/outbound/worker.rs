//! The background sender: claims due rows, signs them (DKIM), sends them through the relay or
//! straight to the recipient domain's MX hosts (`direct.rs`, at most
//! `domain_concurrency` connections per domain), and settles each (sent, retried later, or
//! given up). A submitter hears of a given-up message, and once of one delayed past
//! `[outbound] delayWarning`, by a delivery status notification in its INBOX; the sender of
//! a given-up forwarded copy by one through the queue. Also purges old records of given-up
//! mail and of answered autoreply senders.

use super::config::{DirectConfig, RelayConfig, StartTls};
use super::direct::Direct;
use super::smtp::{Relay, SendError, SendReport};
use super::{Outbound, OutboundKind, OutboundMail, dsn};
use sealpost_store::Store;
use sealpost_store::model::Millis;
use sealpost_store::outbound::OutboundRow;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;
use tokio_rustls::rustls;

/// Rows claimed per round, and sent concurrently.
const BATCH: i64 = 8;
/// How long a claimed row is ours unless renewed: the sender renews it every `HEARTBEAT`
/// while it sends, so a node that dies (or is stopped) mid-send leaves its rows to the next
/// claim (its own after a restart, or another node's) within this time.
const LEASE: Duration = Duration::from_secs(30);
const HEARTBEAT: Duration = Duration::from_secs(10);
/// Longest one transaction may take, whatever the relay does.
const SEND_BUDGET: Duration = Duration::from_secs(540);
/// Longest sleep between looks at the queue (rows queued by other nodes, retries due).
const MAX_IDLE: Duration = Duration::from_secs(30);
/// Given-up rows are kept this long for inspection.
const KEEP_FAILED: Duration = Duration::from_secs(7 * 24 * 3600);
const HOUSEKEEPING_EVERY: Duration = Duration::from_secs(600);

/// CA bundles of common systems, tried in order when `[relay] caFile` is not set.
const SYSTEM_CA_BUNDLES: &[&str] = &[
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/cert.pem",
    "/etc/ssl/ca-bundle.pem",
];

/// Where queued mail goes.
pub(super) enum Route {
    Relay(RelayConfig),
    Direct(DirectConfig),
}

/// How the worker sends.
enum Sender {
    Relay(Relay),
    Direct {
        direct: Box<Direct>,
        concurrency: usize,
        /// One semaphore per recipient domain being sent to.
        domains: std::sync::Mutex<HashMap<String, Arc<Semaphore>>>,
    },
}

pub(super) fn spawn(core: crate::Core, route: Route) {
    let store = core.store.clone();
    let outbound = core.outbound.clone();
    let relay = match route {
        Route::Relay(relay) => relay,
        Route::Direct(direct) => {
            tracing::info!(
                port = direct.port,
                concurrency = direct.domain_concurrency,
                "outbound worker started: direct delivery to MX hosts"
            );
            let concurrency = direct.domain_concurrency.max(1);
            let worker = Worker {
                sender: Sender::Direct {
                    direct: Box::new(Direct::new(direct, core.dns().clone())),
                    concurrency,
                    domains: Default::default(),
                },
                core,
                store,
                outbound,
            };
            tokio::spawn(worker.run());
            return;
        }
    };
    tokio::spawn(async move {
        let tls = if relay.starttls == StartTls::Never {
            None
        } else {
            let ca = relay.ca_file.clone();
            match tokio::task::spawn_blocking(move || tls_config(ca.as_deref())).await {
                Ok(Ok(c)) => Some(c),
                Ok(Err(e)) => {
                    tracing::warn!(error = %e, "outbound relay: no TLS trust store; STARTTLS will fail");
                    None
                }
                Err(e) => {
                    tracing::warn!(error = %e, "outbound relay: loading the trust store failed");
                    None
                }
            }
        };
        tracing::info!(host = %relay.host, port = relay.port, starttls = ?relay.starttls,
            auth = relay.username.is_some(), "outbound relay worker started");
        let worker = Worker {
            core,
            store,
            outbound,
            sender: Sender::Relay(Relay::new(relay, tls)),
        };
        worker.run().await;
    });
}

fn tls_config(ca_file: Option<&std::path::Path>) -> Result<Arc<rustls::ClientConfig>, String> {
    use rustls::pki_types::{CertificateDer, pem::PemObject};
    let path = match ca_file {
        Some(p) => p.to_path_buf(),
        None => SYSTEM_CA_BUNDLES
            .iter()
            .map(std::path::PathBuf::from)
            .find(|p| p.is_file())
            .ok_or("no system CA bundle found (set [relay] caFile)")?,
    };
    let mut roots = rustls::RootCertStore::empty();
    let certs = CertificateDer::pem_file_iter(&path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    for cert in certs.flatten() {
        let _ = roots.add(cert);
    }
    if roots.is_empty() {
        return Err(format!("no CA certificates in {}", path.display()));
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

struct Worker {
    /// For bounces: SRS reversal and queueing the notification.
    core: crate::Core,
    store: Store,
    outbound: Arc<Outbound>,
    sender: Sender,
}

fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

impl Worker {
    async fn run(self) {
        let this = Arc::new(self);
        let mut last_housekeeping: Option<tokio::time::Instant> = None;
        loop {
            if last_housekeeping.is_none_or(|t| t.elapsed() >= HOUSEKEEPING_EVERY) {
                this.housekeeping().await;
                last_housekeeping = Some(tokio::time::Instant::now());
            }
            let now = sealpost_store::now_ms();
            match this.store.claim_outbound(now, ms(LEASE), BATCH).await {
                Ok(rows) if !rows.is_empty() => {
                    let mut set = tokio::task::JoinSet::new();
                    for row in rows {
                        let w = this.clone();
                        set.spawn(async move { w.deliver(row).await });
                    }
                    while set.join_next().await.is_some() {}
                    continue;
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "outbound queue: cannot claim messages");
                    tokio::time::sleep(Duration::from_secs(5)).await;
                    continue;
                }
            }
            let wait = match this.store.next_outbound_due().await {
                Ok(Some(due)) => Duration::from_millis(
                    u64::try_from(due - sealpost_store::now_ms()).unwrap_or(0),
                )
                .min(MAX_IDLE),
                _ => MAX_IDLE,
            };
            if !wait.is_zero() {
                let _ = tokio::time::timeout(wait, this.outbound.wake.notified()).await;
            }
        }
    }

    async fn housekeeping(&self) {
        let now = sealpost_store::now_ms();
        if let Err(e) = self
            .store
            .purge_failed_outbound(now - ms(KEEP_FAILED))
            .await
        {
            tracing::warn!(error = %e, "outbound queue: purge failed");
        }
        let interval = ms(self.outbound.config.autoreply_interval);
        if let Err(e) = self.store.purge_autoreply_sent(now - interval).await {
            tracing::warn!(error = %e, "autoreply records: purge failed");
        }
    }

    /// Sends signed `raw` for `row` the configured way.
    async fn send(&self, row: &OutboundRow, raw: &[u8]) -> Result<SendReport, SendError> {
        match &self.sender {
            Sender::Relay(relay) => relay.send(&row.mail_from, &row.recipients, raw).await,
            Sender::Direct {
                direct,
                concurrency,
                domains,
            } => {
                let domain = row
                    .recipients
                    .first()
                    .and_then(|r| r.rsplit_once('@'))
                    .map(|(_, d)| d.to_lowercase())
                    .unwrap_or_default();
                let gate = {
                    let mut map = domains.lock().unwrap_or_else(|e| e.into_inner());
                    if map.len() > 10_000 {
                        map.retain(|_, s| Arc::strong_count(s) > 1);
                    }
                    map.entry(domain.clone())
                        .or_insert_with(|| Arc::new(Semaphore::new(*concurrency)))
                        .clone()
                };
                let _permit = gate
                    .acquire_owned()
                    .await
                    .map_err(|_| SendError::Temporary("worker shutting down".into()))?;
                direct
                    .send(&domain, &row.mail_from, &row.recipients, raw)
                    .await
            }
        }
    }

    /// Sends one claimed row and settles it.
    async fn deliver(&self, row: OutboundRow) {
        // Every message leaving the queue is signed for its From: domain (see dkim/).
        let raw = self.core.dkim_sign(&row.raw, &row.mail_from).await;
        let send = self.send(&row, &raw);
        tokio::pin!(send);
        let budget = tokio::time::sleep(SEND_BUDGET);
        tokio::pin!(budget);
        let mut beat = tokio::time::interval_at(tokio::time::Instant::now() + HEARTBEAT, HEARTBEAT);
        let result = loop {
            tokio::select! {
                r = &mut send => break r,
                _ = &mut budget => break Err(SendError::Temporary("sending took too long".into())),
                _ = beat.tick() => {
                    let until = sealpost_store::now_ms() + ms(LEASE);
                    if let Err(e) = self.store.extend_outbound_lease(&row.id, until).await {
                        tracing::warn!(id = %row.id, error = %e, "outbound queue: cannot renew the lease");
                    }
                }
            }
        };
        crate::metrics::outbound_send(match &result {
            Ok(r) if r.deferred.is_empty() && r.rejected.is_empty() => "sent",
            Ok(r) if !r.deferred.is_empty() => "deferred",
            Ok(_) => "failed",
            Err(SendError::Temporary(_)) => "deferred",
            Err(SendError::Permanent(_)) => "failed",
        });
        let settled = match result {
            Ok(report) => self.settle(&row, report).await,
            Err(SendError::Temporary(e)) => self.retry(&row, &row.recipients, &e).await,
            Err(SendError::Permanent(e)) => self.give_up(&row, &row.recipients, &e, false).await,
        };
        if let Err(e) = settled {
            // The lease runs out and the row is tried again: at worst sent twice, never lost.
            tracing::warn!(id = %row.id, error = %e, "outbound queue: cannot record the outcome");
        }
    }

    async fn settle(&self, row: &OutboundRow, report: SendReport) -> sealpost_store::Result<()> {
        if !report.sent.is_empty() {
            tracing::info!(id = %row.id, kind = %row.kind, from = %row.mail_from,
                to = ?report.sent, attempts = row.attempts, "outbound message sent");
        }
        let rejected: Vec<String> = report.rejected.iter().map(|(r, _)| r.clone()).collect();
        let rejected_why = report
            .rejected
            .iter()
            .map(|(r, e)| format!("{r}: {e}"))
            .collect::<Vec<_>>()
            .join("; ");
        if !report.deferred.is_empty() {
            let deferred: Vec<String> = report.deferred.iter().map(|(r, _)| r.clone()).collect();
            let mut why = report
                .deferred
                .iter()
                .map(|(r, e)| format!("{r}: {e}"))
                .collect::<Vec<_>>()
                .join("; ");
            if !rejected.is_empty() {
                tracing::warn!(id = %row.id, rejected = %rejected_why, "outbound recipients refused");
                why = format!("{why}; refused for good: {rejected_why}");
            }
            return self.retry(row, &deferred, &why).await;
        }
        if rejected.is_empty() {
            self.store.delete_outbound(&row.id).await
        } else {
            self.give_up(row, &rejected, &rejected_why, false).await
        }
    }

    async fn retry(
        &self,
        row: &OutboundRow,
        recipients: &[String],
        error: &str,
    ) -> sealpost_store::Result<()> {
        let now = sealpost_store::now_ms();
        let c = &self.outbound.config;
        if now - row.created >= ms(c.max_age) {
            let why = format!("gave up after {} attempts: {error}", row.attempts);
            return self.give_up(row, recipients, &why, true).await;
        }
        let next = now + backoff(c.retry_base, c.retry_max, row.attempts);
        tracing::info!(id = %row.id, attempts = row.attempts, retry_in_ms = next - now,
            error, "outbound message deferred");
        if let Some(after) = c.delay_warning
            && !row.warned
            && row.kind == OutboundKind::Submission.as_str()
            && now - row.created >= ms(after)
        {
            let notice = self.notice(row, recipients, error, false, true);
            if self.notify_submitter(row, &notice).await {
                self.store.mark_outbound_warned(&row.id).await?;
            }
        }
        self.store
            .reschedule_outbound(&row.id, recipients, next, error)
            .await
    }

    async fn give_up(
        &self,
        row: &OutboundRow,
        recipients: &[String],
        error: &str,
        expired: bool,
    ) -> sealpost_store::Result<()> {
        tracing::warn!(id = %row.id, kind = %row.kind, from = %row.mail_from, to = ?recipients,
            error, "outbound message given up");
        self.bounce(row, recipients, error, expired).await;
        self.store.fail_outbound(&row.id, recipients, error).await
    }

    /// The notification of `row` for `recipients`, addressed to `to`.
    fn compose_notice(
        &self,
        row: &OutboundRow,
        to: &str,
        recipients: &[String],
        error: &str,
        expired: bool,
        delayed: bool,
    ) -> Vec<u8> {
        let failed: Vec<dsn::Failed> = recipients
            .iter()
            .map(|r| dsn::Failed {
                recipient: r.clone(),
                diagnostic: diagnostic_for(r, error),
                expired,
            })
            .collect();
        let c = &self.core.outbound.config;
        let hostname = c
            .relay
            .as_ref()
            .map(|r| r.helo_name.clone())
            .or_else(|| c.direct.as_ref().map(|d| d.helo_name.clone()))
            .unwrap_or_else(|| self.core.config().domain.clone());
        dsn::compose(&dsn::Notification {
            hostname: &hostname,
            to,
            arrived_ms: row.created,
            failed: &failed,
            original: &row.raw,
            delayed,
        })
    }

    /// A notification to the submitter of `row` (its envelope sender).
    fn notice(
        &self,
        row: &OutboundRow,
        recipients: &[String],
        error: &str,
        expired: bool,
        delayed: bool,
    ) -> Vec<u8> {
        self.compose_notice(row, &row.mail_from, recipients, error, expired, delayed)
    }

    /// Stores a notification in the INBOX of the user who submitted `row` (through core's
    /// delivery, so filters and encryption at rest apply). False when it could not be.
    async fn notify_submitter(&self, row: &OutboundRow, raw: &[u8]) -> bool {
        let Some(user) = &row.user else {
            return false;
        };
        let user = match self.core.get_user(user).await {
            Ok(u) => u,
            Err(e) => {
                tracing::warn!(id = %row.id, error = %e, "notification: the submitter is gone");
                return false;
            }
        };
        let address = user
            .address
            .clone()
            .unwrap_or_else(|| user.username.clone());
        let envelope = crate::delivery::Envelope {
            mail_from: String::new(),
            helo: "localhost".into(),
            peer: std::net::IpAddr::V6(std::net::Ipv6Addr::LOCALHOST),
            protocol: crate::delivery::Protocol::Local,
            id: sealpost_store::model::ObjectId::new().to_string(),
            hostname: self.core.config().domain.clone(),
            tls: None,
            authenticated: None,
        };
        let rcpt = crate::delivery::Recipient { address, user };
        let results = self.core.deliver(&envelope, &[rcpt], raw).await;
        match results.into_iter().next() {
            Some(Ok(_)) => {
                tracing::info!(id = %row.id, user = ?row.user, "delivery status notification stored");
                true
            }
            Some(Err(e)) => {
                tracing::warn!(id = %row.id, error = %e, "cannot store a delivery status notification");
                false
            }
            None => false,
        }
    }

    /// Tells the sender of a given-up message: a submitter by a notification in its INBOX;
    /// the original sender of a forwarded copy by one queued to it (an SRS sender is
    /// reversed here rather than sent round through the relay). None for other kinds
    /// (autoreplies and bounces go from the null sender, RFC 5321 section 4.5.5; password
    /// resets from ourselves). A notification that cannot be made is logged; the given-up
    /// row stays inspectable.
    async fn bounce(&self, row: &OutboundRow, recipients: &[String], error: &str, expired: bool) {
        if recipients.is_empty() {
            return;
        }
        if row.kind == OutboundKind::Submission.as_str() {
            let notice = self.notice(row, recipients, error, expired, false);
            self.notify_submitter(row, &notice).await;
            return;
        }
        if row.mail_from.is_empty() || row.kind != OutboundKind::Forward.as_str() {
            return;
        }
        let to = match self.core.srs_reverse(&row.mail_from).await {
            Ok(Some(original)) => original,
            _ => row.mail_from.clone(),
        };
        let raw = self.compose_notice(row, &to, recipients, error, expired, false);
        let mail = OutboundMail {
            mail_from: String::new(),
            recipients: vec![to.clone()],
            raw,
            user: row.user.clone(),
            kind: OutboundKind::Bounce,
        };
        match self.core.enqueue_outbound(mail).await {
            Ok(id) => tracing::info!(id = %row.id, bounce = %id, to = %to, "bounce queued"),
            Err(e) => tracing::warn!(id = %row.id, to = %to, error = %e, "cannot queue a bounce"),
        }
    }
}

/// Delay before attempt `attempts + 1`: `base * 2^(attempts-1)`, at most `max`.
fn backoff(base: Duration, max: Duration, attempts: i64) -> Millis {
    let exp = u32::try_from(attempts.saturating_sub(1).clamp(0, 30)).unwrap_or(30);
    let d = base.saturating_mul(2u32.saturating_pow(exp)).min(max);
    ms(d).max(0)
}

/// The part of a `"rcpt: why; rcpt2: why2"` summary that concerns `recipient`, else all of it.
fn diagnostic_for(recipient: &str, error: &str) -> String {
    error
        .split("; ")
        .find_map(|part| {
            part.strip_prefix(recipient)
                .and_then(|r| r.strip_prefix(": "))
        })
        .unwrap_or(error)
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let (b, m) = (Duration::from_secs(60), Duration::from_secs(3600));
        assert_eq!(backoff(b, m, 1), 60_000);
        assert_eq!(backoff(b, m, 2), 120_000);
        assert_eq!(backoff(b, m, 3), 240_000);
        assert_eq!(backoff(b, m, 20), 3_600_000);
        assert_eq!(backoff(b, m, i64::MAX), 3_600_000);
    }
}
