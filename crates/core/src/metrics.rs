//! The process's operational counters, gauges and histograms, exposed in the Prometheus text
//! format on the `[metrics]` listener (`/metrics`). Each one is moved where its rule lives:
//! deliveries in [`Core::deliver`] and [`Core::resolve_recipient`], logins in
//! [`Core::authenticate_from`], the outbound queue in its worker, store commits in the group
//! writer, connections in the listeners' accept loops and API requests in the router's
//! middleware (both through [`connection_opened`] and [`api_request`]).
//!
//! Every label value is a `&'static str` from a fixed set (or an HTTP status code), so the
//! number of series stays bounded whatever clients send. The metrics are process-wide (one
//! registry, however many [`Core`]s a test process opens); if the registry could not be built
//! (it cannot, with these static definitions: the unit test below builds it) every update is
//! a no-op and `/metrics` says why.

use crate::{Core, Error};
use prometheus::{
    Histogram, HistogramOpts, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry, TextEncoder,
};
use std::sync::LazyLock;
use std::time::{Duration, Instant, SystemTime};

/// The metric families and the registry that exports them.
struct Metrics {
    registry: Registry,
    deliveries: IntCounterVec,
    refusals: IntCounterVec,
    logins: IntCounterVec,
    connections_open: IntGaugeVec,
    connections: IntCounterVec,
    api_requests: IntCounterVec,
    outbound_sends: IntCounterVec,
    outbound_queue: IntGaugeVec,
    outbound_oldest: IntGauge,
    store_commit: Histogram,
    started: Instant,
    started_unix: f64,
}

fn counter(
    r: &Registry,
    name: &str,
    help: &str,
    labels: &[&str],
) -> prometheus::Result<IntCounterVec> {
    let c = IntCounterVec::new(Opts::new(name, help), labels)?;
    r.register(Box::new(c.clone()))?;
    Ok(c)
}

fn gauge(r: &Registry, name: &str, help: &str, labels: &[&str]) -> prometheus::Result<IntGaugeVec> {
    let g = IntGaugeVec::new(Opts::new(name, help), labels)?;
    r.register(Box::new(g.clone()))?;
    Ok(g)
}

impl Metrics {
    fn new() -> prometheus::Result<Metrics> {
        let r = Registry::new();
        let outbound_oldest = IntGauge::new(
            "sealpost_outbound_queue_oldest_age_seconds",
            "Age of the oldest message waiting in the outbound queue (0 when empty)",
        )?;
        r.register(Box::new(outbound_oldest.clone()))?;
        let store_commit = Histogram::with_opts(
            HistogramOpts::new(
                "sealpost_store_commit_seconds",
                "Time to commit one group-commit batch of new messages to the database",
            )
            .buckets(vec![
                0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
            ]),
        )?;
        r.register(Box::new(store_commit.clone()))?;
        let m = Metrics {
            deliveries: counter(
                &r,
                "sealpost_deliveries_total",
                "Messages delivered per recipient (LMTP, SMTP, submission to local users, local notices) by outcome",
                &["channel", "outcome"],
            )?,
            refusals: counter(
                &r,
                "sealpost_delivery_refusals_total",
                "Recipients refused, at RCPT time or when the message was stored, by reason",
                &["stage", "reason"],
            )?,
            logins: counter(
                &r,
                "sealpost_logins_total",
                "Password authentications by protocol scope (imap, pop3, smtp, master for the APIs) and outcome",
                &["protocol", "outcome"],
            )?,
            connections_open: gauge(
                &r,
                "sealpost_connections_open",
                "Client connections open now, by protocol",
                &["protocol"],
            )?,
            connections: counter(
                &r,
                "sealpost_connections_total",
                "Client connections accepted, by protocol",
                &["protocol"],
            )?,
            api_requests: counter(
                &r,
                "sealpost_api_requests_total",
                "HTTP API requests answered, by API (route class) and status code",
                &["api", "status"],
            )?,
            outbound_sends: counter(
                &r,
                "sealpost_outbound_sends_total",
                "Outbound send attempts of queued messages, by result",
                &["result"],
            )?,
            outbound_queue: gauge(
                &r,
                "sealpost_outbound_queue_messages",
                "Messages in the outbound queue, by status (queued: waiting to be sent; failed: given up, kept for inspection)",
                &["status"],
            )?,
            outbound_oldest,
            store_commit,
            registry: r,
            started: Instant::now(),
            started_unix: SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .map(|d| d.as_secs_f64())
                .unwrap_or(0.0),
        };
        m.zero_series();
        Ok(m)
    }

    /// Every series of a fixed label set exists from the start at 0, so that a scrape shows
    /// the families and `rate()` sees the first increase.
    fn zero_series(&self) {
        for channel in ["lmtp", "smtp", "submission", "local"] {
            for outcome in ["stored", "discarded", "refused"] {
                self.deliveries.with_label_values(&[channel, outcome]);
            }
        }
        for stage in [Stage::Rcpt, Stage::Data] {
            for reason in REFUSAL_REASONS {
                self.refusals.with_label_values(&[stage.as_str(), reason]);
            }
        }
        for scope in ["imap", "pop3", "smtp", "master"] {
            for outcome in ["success", "failure", "throttled", "error"] {
                self.logins.with_label_values(&[scope, outcome]);
            }
        }
        for protocol in ["imap", "pop3", "lmtp", "smtp", "submission"] {
            self.connections.with_label_values(&[protocol]);
            self.connections_open.with_label_values(&[protocol]);
        }
        for result in ["sent", "deferred", "failed"] {
            self.outbound_sends.with_label_values(&[result]);
        }
        for status in ["queued", "failed"] {
            self.outbound_queue.with_label_values(&[status]);
        }
    }
}

/// Every `reason` label of a refused recipient.
const REFUSAL_REASONS: [&str; 6] = [
    "unknown_recipient",
    "over_quota",
    "too_large",
    "disabled",
    "rejected_content",
    "temporary_failure",
];

static METRICS: LazyLock<Result<Metrics, String>> =
    LazyLock::new(|| Metrics::new().map_err(|e| e.to_string()));

fn metrics() -> Option<&'static Metrics> {
    METRICS.as_ref().ok()
}

/// Where a delivered message came from (the `channel` label).
fn channel(p: crate::delivery::Protocol) -> &'static str {
    use crate::delivery::Protocol as P;
    match p {
        P::Lmtp | P::Lmtps => "lmtp",
        P::Smtp | P::Esmtp | P::Esmtps => "smtp",
        P::Esmtpa | P::Esmtpsa => "submission",
        P::Local => "local",
    }
}

/// The `reason` label of a refused recipient, from the error that refused it.
fn refusal_reason(e: &Error) -> &'static str {
    match e {
        Error::NotFound(_) => "unknown_recipient",
        Error::OverQuota => "over_quota",
        Error::TooLarge(_) => "too_large",
        Error::Forbidden { code, .. } if *code == crate::delivery::USER_DISABLED => "disabled",
        Error::Validation { .. } => "rejected_content",
        _ => "temporary_failure",
    }
}

/// At what point a recipient was refused (the `stage` label).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// RCPT TO: the address was looked up.
    Rcpt,
    /// The message was received and could not be stored.
    Data,
}

impl Stage {
    fn as_str(self) -> &'static str {
        match self {
            Stage::Rcpt => "rcpt",
            Stage::Data => "data",
        }
    }
}

/// A recipient refused at `stage` because of `e`.
pub(crate) fn delivery_refused(stage: Stage, e: &Error) {
    if let Some(m) = metrics() {
        m.refusals
            .with_label_values(&[stage.as_str(), refusal_reason(e)])
            .inc();
    }
}

/// An address that names no user, alias or forward here (the front end decides, after the
/// last lookup): counted as refused at RCPT time.
pub fn unknown_recipient() {
    delivery_refused(Stage::Rcpt, &Error::NotFound(String::new()));
}

/// One recipient's result in [`Core::deliver`]: stored, discarded by a filter, or refused.
pub(crate) fn delivery(
    protocol: crate::delivery::Protocol,
    result: &crate::Result<Option<crate::Stored>>,
) {
    let Some(m) = metrics() else { return };
    let outcome = match result {
        Ok(Some(_)) => "stored",
        Ok(None) => "discarded",
        Err(e) => {
            delivery_refused(Stage::Data, e);
            "refused"
        }
    };
    m.deliveries
        .with_label_values(&[channel(protocol), outcome])
        .inc();
}

/// The error code of an authentication refused by the failed-login throttle.
pub(crate) const RATE_LIMITED: &str = "RateLimitedError";

/// One password authentication's result for `scope`.
pub(crate) fn login(scope: crate::Scope, result: &crate::Result<crate::AuthResult>) {
    let Some(m) = metrics() else { return };
    let outcome = match result {
        Ok(_) => "success",
        Err(Error::AuthFailed) => "failure",
        Err(Error::Forbidden { code, .. }) if *code == RATE_LIMITED => "throttled",
        Err(_) => "error",
    };
    m.logins.with_label_values(&[scope.as_str(), outcome]).inc();
}

/// One claimed outbound message's send attempt: `sent`, `deferred` (tried again later) or
/// `failed` (given up).
pub(crate) fn outbound_send(result: &'static str) {
    if let Some(m) = metrics() {
        m.outbound_sends.with_label_values(&[result]).inc();
    }
}

/// One group-commit batch took `elapsed`.
pub(crate) fn store_commit(elapsed: Duration) {
    if let Some(m) = metrics() {
        m.store_commit.observe(elapsed.as_secs_f64());
    }
}

/// An open client connection, counted in `sealpost_connections_open` until dropped.
#[derive(Debug)]
pub struct ConnectionGuard(Option<IntGauge>);

impl Drop for ConnectionGuard {
    fn drop(&mut self) {
        if let Some(g) = &self.0 {
            g.dec();
        }
    }
}

/// A connection of `protocol` (`imap`, `pop3`, `lmtp`, `smtp`, `submission`) was accepted.
pub fn connection_opened(protocol: &'static str) -> ConnectionGuard {
    let Some(m) = metrics() else {
        return ConnectionGuard(None);
    };
    m.connections.with_label_values(&[protocol]).inc();
    let open = m.connections_open.with_label_values(&[protocol]);
    open.inc();
    ConnectionGuard(Some(open))
}

/// An HTTP request to `api` (the route class: `wildduck`, `guard`, `vault`, `jsonrpc`, ...)
/// was answered with `status`.
pub fn api_request(api: &'static str, status: u16) {
    if let Some(m) = metrics() {
        let status = status.to_string();
        m.api_requests
            .with_label_values(&[api, status.as_str()])
            .inc();
    }
}

/// Resident set size of this process in bytes, from `VmRSS` in `/proc/self/status` (Linux).
fn resident_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib.saturating_mul(1024))
}

impl Core {
    /// The metrics in the Prometheus text exposition format (version 0.0.4), with the
    /// outbound queue's depth read from the store now.
    pub async fn render_metrics(&self) -> String {
        let Some(m) = metrics() else {
            let why = METRICS.as_ref().err().cloned().unwrap_or_default();
            return format!("# metrics unavailable: {why}\n");
        };
        match self.store.outbound_depth().await {
            Ok(depth) => {
                m.outbound_queue
                    .with_label_values(&["queued"])
                    .set(depth.queued);
                m.outbound_queue
                    .with_label_values(&["failed"])
                    .set(depth.failed);
                let age = depth
                    .oldest_queued
                    .map(|created| (sealpost_store::now_ms() - created).max(0) / 1000)
                    .unwrap_or(0);
                m.outbound_oldest.set(age);
            }
            Err(e) => tracing::warn!(error = %e, "metrics: cannot read the outbound queue"),
        }
        let mut text = match TextEncoder::new().encode_to_string(&m.registry.gather()) {
            Ok(text) => text,
            Err(e) => return format!("# metrics unavailable: {e}\n"),
        };
        process_metrics(m, &mut text);
        text
    }
}

/// The process figures every Prometheus exporter has, under their usual names.
fn process_metrics(m: &Metrics, out: &mut String) {
    use std::fmt::Write;
    let _ = writeln!(
        out,
        "# HELP process_start_time_seconds Start time of the process since the Unix epoch in seconds.\n\
         # TYPE process_start_time_seconds gauge\nprocess_start_time_seconds {}",
        m.started_unix
    );
    let _ = writeln!(
        out,
        "# HELP sealpost_uptime_seconds Seconds since the process started.\n\
         # TYPE sealpost_uptime_seconds gauge\nsealpost_uptime_seconds {}",
        m.started.elapsed().as_secs_f64()
    );
    if let Some(rss) = resident_bytes() {
        let _ = writeln!(
            out,
            "# HELP process_resident_memory_bytes Resident memory size in bytes.\n\
             # TYPE process_resident_memory_bytes gauge\nprocess_resident_memory_bytes {rss}"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_builds_and_renders() {
        let m = metrics().unwrap();
        let _open = connection_opened("imap");
        api_request("wildduck", 200);
        outbound_send("sent");
        store_commit(Duration::from_millis(3));
        delivery_refused(Stage::Rcpt, &Error::OverQuota);
        let mut text = TextEncoder::new()
            .encode_to_string(&m.registry.gather())
            .unwrap();
        process_metrics(m, &mut text);
        assert!(text.contains("sealpost_connections_open{protocol=\"imap\"} "));
        assert!(text.contains("sealpost_api_requests_total{api=\"wildduck\",status=\"200\"} "));
        assert!(
            text.contains(
                "sealpost_delivery_refusals_total{reason=\"over_quota\",stage=\"rcpt\"} "
            )
        );
        assert!(text.contains("sealpost_store_commit_seconds_bucket"));
        assert!(text.contains("sealpost_uptime_seconds "));
    }

    #[test]
    fn refusal_reasons() {
        assert_eq!(refusal_reason(&Error::OverQuota), "over_quota");
        assert_eq!(
            refusal_reason(&Error::NotFound("x".into())),
            "unknown_recipient"
        );
        assert_eq!(
            refusal_reason(&Error::Forbidden {
                message: String::new(),
                code: crate::delivery::USER_DISABLED
            }),
            "disabled"
        );
        assert_eq!(
            refusal_reason(&Error::Internal("x".into())),
            "temporary_failure"
        );
    }
}
