//! Mail submitted by an authenticated user (RFC 6409), whatever door it came through (the
//! submission listeners): the sender rule (`sender.rs`), the user's 24 h `recipients` limit,
//! what a submission server changes in the message (`message.rs`: `Bcc:` removed,
//! `Message-ID:` and `Date:` added, `Received:` with RFC 3848 `ESMTPSA`), delivery of local
//! recipients through core (filters, encryption at rest, autoreplies, as for LMTP) and remote
//! ones through the durable outbound queue. [`Core::submit`] returns only once every copy is
//! committed: stored for local recipients, queued for remote ones.

mod message;
mod sender;

pub use sender::{MAX_FROM_WHITELIST, parse_from_whitelist};

use crate::delivery::{Envelope, Recipient};
use crate::forward::LIMIT_WINDOW_MS;
use crate::outbound::{OutboundKind, OutboundMail, QueueId};
use crate::{Core, Error, Result};
use sealpost_store::counters::CounterState;
use sealpost_store::model::{ObjectId, UserRecord};

/// The rate counter of submitted recipients.
const RECIPIENTS: &str = "recipients";

/// Error code of a sender the user may not use (`550 5.7.1`).
pub const SENDER_NOT_ALLOWED: &str = "SenderNotAllowed";
/// Error code of a submission over the `recipients` limit (`451 4.7.1`).
pub const SENDING_LIMIT: &str = "SendingLimitReached";

/// One submitted message.
#[derive(Debug, Clone, Copy)]
pub struct Submission<'a> {
    /// The authenticated user.
    pub user: &'a UserRecord,
    pub envelope: &'a Envelope,
    /// Recipients that are users here (found at RCPT time).
    pub local: &'a [Recipient],
    /// Everyone else.
    pub remote: &'a [String],
    /// The message as the client sent it.
    pub data: &'a [u8],
}

/// Where a submitted message went.
#[derive(Debug, Clone)]
pub struct Submitted {
    /// Local recipients it was stored for (a filter may have dropped some copies).
    pub delivered: usize,
    /// The outbound queue entry of the remote recipients.
    pub queued: Option<QueueId>,
}

fn not_allowed(address: &str) -> Error {
    Error::Forbidden {
        message: format!(
            "Sender address rejected: not owned by the authenticated user ({address})"
        ),
        code: SENDER_NOT_ALLOWED,
    }
}

impl Core {
    /// How much of the user's 24 h recipient allowance is used, and when it resets.
    pub async fn recipient_limit(&self, user: &ObjectId) -> Result<CounterState> {
        Ok(self
            .store
            .counter(user, RECIPIENTS, LIMIT_WINDOW_MS, sealpost_store::now_ms())
            .await?)
    }

    /// Refuses (`SendingLimitReached`) when `n` more recipients would go over the user's
    /// 24 h allowance; nothing is counted (see [`Core::submit`]).
    pub async fn check_recipient_allowance(&self, user: &UserRecord, n: usize) -> Result<()> {
        let used = self.recipient_limit(&user.id).await?.used;
        if used.saturating_add(n as i64) > user.recipients {
            return Err(over_limit(user));
        }
        Ok(())
    }

    /// Refuses an envelope sender the user may not use. The null sender is allowed (a
    /// client's notifications are sent from it).
    pub async fn check_envelope_sender(&self, user: &UserRecord, mail_from: &str) -> Result<()> {
        if mail_from.is_empty() || self.may_send_as(user, mail_from).await? {
            Ok(())
        } else {
            Err(not_allowed(mail_from))
        }
    }

    /// Sends a submitted message: checks its `From:` against the sender rule, counts its
    /// recipients against the user's 24 h limit, prepares it, stores the local copies and
    /// queues the remote ones. Returns once all of that is durable.
    pub async fn submit(&self, s: Submission<'_>) -> Result<Submitted> {
        self.check_size(s.data.len())?;
        let user = s.user;
        self.check_envelope_sender(user, &s.envelope.mail_from)
            .await?;
        let froms = header_from(s.data);
        if froms.is_empty() {
            return Err(Error::validation(
                "The message has no From: address",
                "from",
            ));
        }
        for from in &froms {
            if !self.may_send_as(user, from).await? {
                return Err(not_allowed(from));
            }
        }
        let n = (s.local.len() + s.remote.len()) as i64;
        let take = self
            .store
            .take_counter(
                &user.id,
                RECIPIENTS,
                n,
                user.recipients,
                LIMIT_WINDOW_MS,
                sealpost_store::now_ms(),
            )
            .await?;
        if !take.allowed {
            tracing::warn!(user = %user.id, limit = user.recipients, used = take.state.used,
                "submission refused: over the 24 h recipients limit");
            return Err(over_limit(user));
        }
        let domain = froms[0]
            .rsplit_once('@')
            .map(|(_, d)| d.to_string())
            .unwrap_or_else(|| self.config.domain.clone());
        let message_id = format!("{}@{}", crate::random::hex(16), domain);
        let date = chrono::Utc::now().to_rfc2822();
        let prepared = message::prepare(s.data, &message_id, &date);
        let mut delivered = 0;
        if !s.local.is_empty() {
            // Signed here as the queue signs what leaves (RFC 6376: the signer is the
            // domain's MSA), so that a local recipient sees the same signature.
            let signed = self.dkim_sign(&prepared, &s.envelope.mail_from).await;
            for result in self.deliver(s.envelope, s.local, &signed).await {
                if result?.is_some() {
                    delivered += 1;
                }
            }
        }
        let queued = if s.remote.is_empty() {
            None
        } else {
            let mut raw = crate::delivery::received_header(s.envelope, None, &date);
            raw.extend_from_slice(&prepared);
            Some(
                self.enqueue_outbound(OutboundMail {
                    mail_from: s.envelope.mail_from.clone(),
                    recipients: s.remote.to_vec(),
                    raw,
                    user: Some(user.id.clone()),
                    kind: OutboundKind::Submission,
                })
                .await?,
            )
        };
        Ok(Submitted { delivered, queued })
    }
}

fn over_limit(user: &UserRecord) -> Error {
    Error::Forbidden {
        message: format!(
            "Sending limit reached ({} recipients per 24 hours); try again later",
            user.recipients
        ),
        code: SENDING_LIMIT,
    }
}

/// The addresses of the `From:` field(s) of a message.
fn header_from(raw: &[u8]) -> Vec<String> {
    let Some(message) = mail_parser::MessageParser::new().parse_headers(raw) else {
        return Vec::new();
    };
    message
        .header_values("From")
        .filter_map(|v| v.as_address())
        .flat_map(|a| a.iter())
        .filter_map(|a| a.address().map(str::to_string))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_addresses() {
        assert_eq!(
            header_from(b"From: A <a@x.test>, b@y.test\r\nSubject: s\r\n\r\n"),
            vec!["a@x.test", "b@y.test"]
        );
        assert!(header_from(b"Subject: s\r\n\r\nFrom: a@x.test\r\n").is_empty());
    }
}
