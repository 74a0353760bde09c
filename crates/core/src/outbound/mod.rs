//! Outbound mail: the persistent queue of messages for the SMTP relay (forwarded copies,
//! autoreplies), the background worker that sends them with retries, and SRS.
//!
//! [`Core::enqueue_outbound`] stores a message durably (the caller may acknowledge what caused
//! it once it returns) and wakes the worker; [`Core::start_outbound_worker`] runs the worker,
//! which claims due rows with a lease (safe with several nodes on one PostgreSQL), sends
//! them, deletes them when the relay took them, reschedules them with exponential backoff on
//! 4xx replies and connection failures, and gives them up (kept as `failed` with the reason)
//! on 5xx or when they are older than `max_age`.

mod after;
pub mod compose;
pub mod config;
mod direct;
pub mod dsn;
pub mod smtp;
pub mod srs;
mod worker;

use crate::{Core, Error, Result};
pub use config::{DirectConfig, OutboundConfig, RelayConfig, Secret, StartTls};
use sealpost_store::model::ObjectId;
use sealpost_store::outbound::NewOutbound;
pub use sealpost_store::outbound::OutboundSummary;
use srs::Srs;
use std::sync::Arc;

/// The id of a queued message.
pub type QueueId = ObjectId;

/// Most recipients of one queued message.
pub const MAX_RECIPIENTS: usize = 100;
/// Longest address accepted in an envelope.
const MAX_ADDRESS: usize = 320;

/// Why a message is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutboundKind {
    Forward,
    Autoreply,
    /// A delivery status notification for a forwarded copy that was given up.
    Bounce,
    /// A Guard key password reset.
    PasswordReset,
    /// Mail a user submitted (the submission listeners).
    Submission,
}

impl OutboundKind {
    pub fn as_str(self) -> &'static str {
        match self {
            OutboundKind::Forward => "forward",
            OutboundKind::Autoreply => "autoreply",
            OutboundKind::Bounce => "bounce",
            OutboundKind::PasswordReset => "password-reset",
            OutboundKind::Submission => "submission",
        }
    }
}

/// A message to send through the relay.
#[derive(Debug, Clone)]
pub struct OutboundMail {
    /// Envelope sender; "" is the null sender `<>`.
    pub mail_from: String,
    pub recipients: Vec<String>,
    /// The whole message as it goes on the wire.
    pub raw: Vec<u8>,
    /// The user on whose behalf it is sent, if any.
    pub user: Option<ObjectId>,
    pub kind: OutboundKind,
}

/// State shared by the enqueuers and the worker.
pub(crate) struct Outbound {
    pub(crate) config: OutboundConfig,
    /// Loaded on first use (it may create the key file).
    srs: tokio::sync::OnceCell<Srs>,
    /// Wakes the worker when something was queued.
    pub(crate) wake: tokio::sync::Notify,
}

impl Outbound {
    pub(crate) fn new(config: OutboundConfig) -> Arc<Outbound> {
        Arc::new(Outbound {
            config,
            srs: tokio::sync::OnceCell::new(),
            wake: tokio::sync::Notify::new(),
        })
    }
}

/// An envelope address: `local@domain`, printable, bounded, no brackets or spaces.
pub fn valid_envelope_address(a: &str) -> bool {
    let Some((local, domain)) = a.rsplit_once('@') else {
        return false;
    };
    !local.is_empty()
        && !domain.is_empty()
        && a.len() <= MAX_ADDRESS
        && !a
            .chars()
            .any(|c| c.is_control() || c.is_whitespace() || matches!(c, '<' | '>' | '"' | '\\'))
}

impl Core {
    /// Queues `mail` for the relay: stored durably when this returns, then sent by the
    /// worker. Fails when no relay is configured or the envelope is invalid.
    pub async fn enqueue_outbound(&self, mail: OutboundMail) -> Result<QueueId> {
        self.require_relay()?;
        if !mail.mail_from.is_empty() && !valid_envelope_address(&mail.mail_from) {
            return Err(Error::validation("Invalid envelope sender", "from"));
        }
        if mail.recipients.is_empty() || mail.recipients.len() > MAX_RECIPIENTS {
            return Err(Error::validation(
                format!("A message needs 1 to {MAX_RECIPIENTS} recipients"),
                "to",
            ));
        }
        if let Some(bad) = mail.recipients.iter().find(|r| !valid_envelope_address(r)) {
            return Err(Error::validation(
                format!("Invalid recipient address {bad:?}"),
                "to",
            ));
        }
        if mail.raw.is_empty() {
            return Err(Error::validation("The message is empty", "raw"));
        }
        if mail.raw.len() as u64 > self.config.max_message_size {
            return Err(Error::TooLarge("The message is too large to send".into()));
        }
        let now = sealpost_store::now_ms();
        // Straight to MX hosts, one row per recipient domain: each domain is tried, retried
        // and given up on its own. Through a relay, one row for all.
        let groups =
            if self.outbound.config.relay.is_none() && self.outbound.config.direct.is_some() {
                by_domain(mail.recipients)
            } else {
                vec![mail.recipients]
            };
        let first = ObjectId::new();
        let mut id = Some(first.clone());
        for recipients in groups {
            self.store
                .insert_outbound(&NewOutbound {
                    id: id.take().unwrap_or_default(),
                    user: mail.user.clone(),
                    kind: mail.kind.as_str().into(),
                    mail_from: mail.mail_from.clone(),
                    recipients,
                    raw: mail.raw.clone(),
                    created: now,
                    next_attempt: now,
                })
                .await?;
        }
        self.outbound.wake.notify_one();
        Ok(first)
    }

    /// Fails when mail cannot leave: no relay configured and no direct delivery; nothing
    /// could ever send what would be queued.
    pub fn require_relay(&self) -> Result<()> {
        let c = &self.outbound.config;
        if c.relay.is_some() || c.direct.is_some() {
            return Ok(());
        }
        Err(Error::Forbidden {
            message: "No outbound relay is configured ([relay] host, or [outbound] direct = true)"
                .into(),
            code: "RelayNotConfigured",
        })
    }

    /// Starts the worker that sends queued mail (only `serve` does; a no-op without a
    /// relay or direct delivery).
    pub fn start_outbound_worker(&self) {
        let c = &self.outbound.config;
        let route = match (&c.relay, &c.direct) {
            (Some(relay), _) => worker::Route::Relay(relay.clone()),
            (None, Some(direct)) => worker::Route::Direct(direct.clone()),
            (None, None) => return,
        };
        worker::spawn(self.clone(), route);
    }

    /// The queue without message bodies, oldest first (at most `limit` entries).
    pub async fn outbound_queue(&self, limit: i64) -> Result<Vec<OutboundSummary>> {
        Ok(self.store.list_outbound(limit.clamp(1, 1000)).await?)
    }

    /// The SRS rewriter, loading (or creating) its key on first use.
    pub(crate) async fn srs(&self) -> Result<&Srs> {
        self.outbound
            .srs
            .get_or_try_init(|| async {
                let domain = self
                    .outbound
                    .config
                    .srs_domain
                    .clone()
                    .unwrap_or_else(|| self.config.domain.clone());
                let key = match &self.outbound.config.srs_secret {
                    Some(s) => s.expose().as_bytes().to_vec(),
                    None => {
                        let path = self.config.data_dir.join("srs.secret");
                        tokio::task::spawn_blocking(move || load_or_create_key(&path))
                            .await
                            .map_err(|e| Error::Internal(e.to_string()))??
                    }
                };
                Ok(Srs::new(key, domain))
            })
            .await
    }

    /// The envelope sender a forwarded copy of mail from `sender` leaves with.
    pub async fn srs_forward_sender(&self, sender: &str) -> Result<String> {
        let now = sealpost_store::now_ms().max(0) as u64 / 1000;
        Ok(self.srs().await?.forward(sender, now))
    }

    /// The original sender behind one of our SRS addresses (for routing a bounce back).
    pub async fn srs_reverse(&self, address: &str) -> Result<Option<String>> {
        let now = sealpost_store::now_ms().max(0) as u64 / 1000;
        Ok(self.srs().await?.reverse(address, now))
    }

    /// Where mail to `address` goes back to when `address` is a valid, unexpired SRS address
    /// of ours (a bounce or reply to a forwarded copy): `None` when it is not, or when no
    /// relay is configured (nothing could send it on).
    pub async fn srs_return_address(&self, address: &str) -> Result<Option<String>> {
        if self.require_relay().is_err() {
            return Ok(None);
        }
        self.srs_reverse(address).await
    }

    /// Queues mail that arrived for SRS addresses on to the addresses they reverse to. The
    /// null sender of a bounce is kept (so it cannot bounce again); any other sender leaves
    /// SRS-rewritten, as a forwarded copy does.
    pub async fn return_to_sender(
        &self,
        mail_from: &str,
        recipients: Vec<String>,
        raw: &[u8],
    ) -> Result<QueueId> {
        let mail_from = if mail_from.is_empty() {
            String::new()
        } else {
            self.srs_forward_sender(mail_from).await?
        };
        self.enqueue_outbound(OutboundMail {
            mail_from,
            recipients,
            raw: raw.to_vec(),
            user: None,
            kind: OutboundKind::Bounce,
        })
        .await
    }
}

/// Recipients grouped by domain (case-insensitive), in the order first seen.
fn by_domain(recipients: Vec<String>) -> Vec<Vec<String>> {
    let mut groups: Vec<(String, Vec<String>)> = Vec::new();
    for r in recipients {
        let domain = r
            .rsplit_once('@')
            .map(|(_, d)| d.to_lowercase())
            .unwrap_or_default();
        match groups.iter_mut().find(|(d, _)| *d == domain) {
            Some((_, list)) => list.push(r),
            None => groups.push((domain, vec![r])),
        }
    }
    groups.into_iter().map(|(_, list)| list).collect()
}

/// Reads a key file (the SRS key, the Guard master key), or creates it (32 random bytes, hex,
/// mode 0600).
pub(crate) fn load_or_create_key(path: &std::path::Path) -> Result<Vec<u8>> {
    let io = |e: std::io::Error| Error::Internal(format!("key file {}: {e}", path.display()));
    match std::fs::read_to_string(path) {
        Ok(s) if !s.trim().is_empty() => return Ok(s.trim().as_bytes().to_vec()),
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(io(e)),
    }
    let key = crate::random::hex(32);
    let tmp = path.with_extension("tmp");
    {
        use std::io::Write;
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        let mut f = opts.open(&tmp).map_err(io)?;
        f.write_all(key.as_bytes()).map_err(io)?;
        f.sync_all().map_err(io)?;
    }
    // Two starts racing: the first rename wins and both read the same file afterwards.
    if std::fs::hard_link(&tmp, path).is_err() && !path.exists() {
        std::fs::rename(&tmp, path).map_err(io)?;
    }
    let _ = std::fs::remove_file(&tmp);
    let s = std::fs::read_to_string(path).map_err(io)?;
    Ok(s.trim().as_bytes().to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelope_addresses() {
        assert!(valid_envelope_address("a@b.test"));
        assert!(valid_envelope_address("jürgen@bücher.test"));
        for bad in ["", "a", "@b", "a@", "a b@c", "a@b>", "<a@b>", "a\r\n@b"] {
            assert!(!valid_envelope_address(bad), "{bad:?}");
        }
    }

    #[test]
    fn recipients_group_by_domain() {
        let v = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            by_domain(v(&["a@x.test", "b@Y.test", "c@X.TEST", "d@y.test"])),
            vec![v(&["a@x.test", "c@X.TEST"]), v(&["b@Y.test", "d@y.test"])]
        );
    }

    #[test]
    fn key_file_is_created_once() {
        let dir = std::env::temp_dir().join(format!("sealpost-srs-{}", ObjectId::new()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("srs.secret");
        let a = load_or_create_key(&path).unwrap();
        let b = load_or_create_key(&path).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.len(), 64);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
