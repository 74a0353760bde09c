//! Forwarding delivered mail to other addresses through the outbound relay: the per-user
//! 24 h `forwards` limit (counted per target address, as WildDuck does) and the envelope
//! sender of the copy (SRS, so that the next hop's SPF check sees our domain and a bounce can
//! find its way back).

use crate::outbound::{MAX_RECIPIENTS, OutboundKind, OutboundMail, QueueId};
use crate::{Core, Error, Result};
use sealpost_store::counters::CounterState;
use sealpost_store::model::*;

/// The window of the `forwards` and `recipients` limits.
pub const LIMIT_WINDOW_MS: i64 = 24 * 3600 * 1000;
const FORWARDS: &str = "forwards";
/// A message that has passed this many hops is not forwarded again (a loop, RFC 5321 §6.3).
pub(crate) const MAX_HOPS: usize = 50;

impl Core {
    /// How much of the user's 24 h forward allowance is used, and when it resets.
    pub async fn forward_limit(&self, user: &ObjectId) -> Result<CounterState> {
        Ok(self
            .store
            .counter(user, FORWARDS, LIMIT_WINDOW_MS, sealpost_store::now_ms())
            .await?)
    }

    /// Forwards a copy of `raw` (a message delivered to `user`, sent by envelope sender
    /// `mail_from`) to `targets`. Counts against the user's `forwards` limit; over it the
    /// forward is refused (`Forbidden`, code `RateLimitedError`) and nothing is queued.
    pub async fn forward_copy(
        &self,
        user: &UserRecord,
        mail_from: &str,
        targets: &[String],
        raw: &[u8],
    ) -> Result<QueueId> {
        let mut targets: Vec<String> = targets.iter().map(|t| t.trim().to_string()).collect();
        targets.sort_by_key(|t| t.to_lowercase());
        targets.dedup_by(|a, b| a.eq_ignore_ascii_case(b));
        if targets.is_empty() || targets.len() > MAX_RECIPIENTS {
            return Err(Error::validation(
                format!("A forward needs 1 to {MAX_RECIPIENTS} targets"),
                "targets",
            ));
        }
        self.require_relay()?;
        if received_count(raw) > MAX_HOPS {
            return Err(Error::Forbidden {
                message: "Message has too many Received headers (mail loop)".into(),
                code: "MailLoop",
            });
        }
        let take = self
            .store
            .take_counter(
                &user.id,
                FORWARDS,
                targets.len() as i64,
                user.forwards,
                LIMIT_WINDOW_MS,
                sealpost_store::now_ms(),
            )
            .await?;
        if !take.allowed {
            tracing::warn!(user = %user.id, limit = user.forwards, used = take.state.used,
                "forward refused: over the 24 h forwards limit");
            return Err(Error::Forbidden {
                message: format!("Forwarding limit reached ({} per 24 hours)", user.forwards),
                code: "RateLimitedError",
            });
        }
        let sender = self.srs_forward_sender(mail_from.trim()).await?;
        let raw = self.forwarded_form(user, raw).await;
        let id = self
            .enqueue_outbound(OutboundMail {
                mail_from: sender,
                recipients: targets.clone(),
                raw,
                user: Some(user.id.clone()),
                kind: OutboundKind::Forward,
            })
            .await?;
        tracing::info!(user = %user.id, to = ?targets, queue = %id, "forward queued");
        Ok(id)
    }
}

/// How many `Received:` fields the header of `raw` has.
pub(crate) fn received_count(raw: &[u8]) -> usize {
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .or_else(|| raw.windows(2).position(|w| w == b"\n\n"))
        .unwrap_or(raw.len());
    raw[..end]
        .split(|&b| b == b'\n')
        .filter(|l| l.len() >= 9 && l[..9].eq_ignore_ascii_case(b"received:"))
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_received_in_the_header_only() {
        let raw = b"Received: a\r\nreceived: b\r\nSubject: x\r\n\r\nReceived: body\r\n";
        assert_eq!(received_count(raw), 2);
        assert_eq!(received_count(b"Subject: x\n\nReceived: y\n"), 0);
    }
}
