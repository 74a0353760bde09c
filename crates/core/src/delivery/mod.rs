//! Final delivery of mail received over LMTP or SMTP: [`Core::resolve_recipient`] finds the
//! user behind a recipient address (at RCPT time), [`Core::deliver`] stores one message for
//! each accepted recipient.
//!
//! For every recipient the message gets its trace headers (`trace.rs`), is parsed once, and
//! goes through [`Core::plan_delivery`] (`plan.rs`: spam verdict, the user's filters) to the
//! group-commit writer, so that concurrent deliveries share their transactions and syncs; a
//! recipient's result is ready only once its message is durably committed. After that
//! [`Core::after_delivery`] (`after.rs`) runs the follow-ups (autoreply, forwarding, events).
//!
//! For a user whose mail is encrypted at rest, the stored form is made in `encrypt.rs`.
//!
//! Address normalisation (`address.rs`) follows WildDuck: case-insensitive, IDN domains in
//! either spelling, `user+tag@domain` to `user@domain`.

mod address;
mod after;
mod auth_results;
pub mod autocrypt;
mod encrypt;
mod plan;
mod spam;
mod trace;

pub(crate) use address::domain_spellings;
pub use address::{MAX_ADDRESS, NormalAddress};
pub use plan::{DeliveryInput, DeliveryPlan};
pub use spam::{SpamAction, SpamProtect, marked_by_mta, mta_score};
pub use trace::{received_header, trace_headers};

use crate::events::MessageEvent;
use crate::filters::{DeliveryFacts, delivery_events};
use crate::messages::{Analysed, check_keywords, stored};
use crate::{Core, Error, KeyUse, Result, Stored};
use sealpost_store::NewMessage;
use sealpost_store::model::{ObjectId, UserRecord};
use std::net::IpAddr;

/// How a message reached us, for the `with` clause of `Received:` (RFC 3848).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    Smtp,
    Esmtp,
    Esmtps,
    Lmtp,
    Lmtps,
    /// Submission with AUTH, without TLS (RFC 3848).
    Esmtpa,
    /// Submission with AUTH over TLS (RFC 3848).
    Esmtpsa,
    /// Made by this server (delivery status notifications to a submitter).
    Local,
}

impl Protocol {
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Smtp => "SMTP",
            Protocol::Esmtp => "ESMTP",
            Protocol::Esmtps => "ESMTPS",
            Protocol::Lmtp => "LMTP",
            Protocol::Lmtps => "LMTPS",
            Protocol::Esmtpa => "ESMTPA",
            Protocol::Esmtpsa => "ESMTPSA",
            Protocol::Local => "LOCAL",
        }
    }
}

/// The envelope of one mail transaction.
#[derive(Debug, Clone)]
pub struct Envelope {
    /// MAIL FROM reverse-path without brackets; empty for the null sender `<>`.
    pub mail_from: String,
    /// The name the client gave in HELO/EHLO/LHLO.
    pub helo: String,
    pub peer: IpAddr,
    pub protocol: Protocol,
    /// Transaction id, shown in `Received:` and logs.
    pub id: String,
    /// Our host name, the `by` of `Received:`.
    pub hostname: String,
    /// TLS version and cipher when the session is encrypted.
    pub tls: Option<String>,
    /// The authenticated user of a submission (its username), named in `Received:`.
    pub authenticated: Option<String>,
}

/// A recipient accepted at RCPT time.
#[derive(Debug, Clone)]
pub struct Recipient {
    /// The address as given in RCPT TO.
    pub address: String,
    pub user: UserRecord,
}

/// Error code of a disabled or suspended recipient.
pub const USER_DISABLED: &str = "UserDisabled";
/// Error code of a message refused by the recipient's spam protection (its kill level).
pub const SPAM_REJECTED: &str = "SpamRejected";

impl Core {
    /// The user an address delivers to: `Ok(None)` when there is none; `Error::OverQuota`
    /// when the user's storage is already full; `Error::Forbidden` ([`USER_DISABLED`]) when
    /// the account is disabled or suspended.
    pub async fn resolve_recipient(&self, address: &str) -> Result<Option<Recipient>> {
        let Some(norm) = self.normal_address(address).await? else {
            return Ok(None);
        };
        let Some(user) = self.store.find_recipient(&norm.candidates()).await? else {
            return Ok(None);
        };
        let refused = if user.disabled || user.suspended {
            Some(Error::Forbidden {
                message: "Mailbox disabled".into(),
                code: USER_DISABLED,
            })
        } else if user.quota_allowed > 0 && user.storage_used >= user.quota_allowed {
            Some(Error::OverQuota)
        } else {
            None
        };
        if let Some(e) = refused {
            crate::metrics::delivery_refused(crate::metrics::Stage::Rcpt, &e);
            return Err(e);
        }
        Ok(Some(Recipient {
            address: address.trim().to_string(),
            user,
        }))
    }

    /// Whether the domain of `address` is served here: the configured domain, or the domain
    /// of any address (in either IDN spelling), or an alias of one of those.
    pub async fn is_local_domain(&self, address: &str) -> Result<bool> {
        let Some(norm) = self.normal_address(address).await? else {
            return Ok(false);
        };
        let own = self.config.domain.to_lowercase();
        if norm.domains.contains(&own) || norm.alias_of.contains(&own) {
            return Ok(true);
        }
        if self.store.has_domain(&norm.domains).await? {
            return Ok(true);
        }
        Ok(self.store.has_domain(&norm.alias_of).await?)
    }

    /// Delivers `data` (the message as received) to every recipient. One result per
    /// recipient, in order: where it was stored (`None` when a filter dropped it), or why
    /// not. Returns once every stored message is durably committed.
    pub async fn deliver(
        &self,
        envelope: &Envelope,
        recipients: &[Recipient],
        data: &[u8],
    ) -> Vec<Result<Option<Stored>>> {
        let date = chrono::Utc::now().to_rfc2822();
        let mut prepared = Vec::with_capacity(recipients.len());
        for r in recipients {
            prepared.push(self.prepare_delivery(envelope, r, data, &date).await);
        }
        // Every row goes to the writer at once: they share a commit with each other and with
        // concurrent deliveries.
        let inserts = prepared.iter_mut().map(|p| {
            let row = p.as_mut().ok().and_then(|p| p.row.take());
            async move {
                match row {
                    Some(row) => Some(stored(self.writer.insert(row).await)),
                    None => None,
                }
            }
        });
        let results = futures_util::future::join_all(inserts).await;
        let out = self
            .finish_deliveries(envelope, recipients, prepared, results)
            .await;
        for result in &out {
            crate::metrics::delivery(envelope.protocol, result);
        }
        out
    }

    /// The follow-ups of each stored message, and each recipient's result.
    async fn finish_deliveries(
        &self,
        envelope: &Envelope,
        recipients: &[Recipient],
        prepared: Vec<Result<Prepared>>,
        results: Vec<Option<Result<Stored>>>,
    ) -> Vec<Result<Option<Stored>>> {
        let mut out = Vec::with_capacity(recipients.len());
        for ((r, p), result) in recipients.iter().zip(prepared).zip(results) {
            let p = match p {
                Ok(p) => p,
                Err(e) => {
                    out.push(Err(e));
                    continue;
                }
            };
            let stored = match result {
                Some(Ok(s)) => Some(s),
                Some(Err(e)) => {
                    out.push(Err(e));
                    continue;
                }
                None => None,
            };
            let input = DeliveryInput {
                envelope,
                recipient: &r.address,
                raw: &p.analysed.raw,
                parsed: &p.analysed.index,
            };
            self.after_delivery(&r.user, stored.as_ref(), &p.plan, envelope, &input)
                .await;
            out.push(Ok(stored));
        }
        out
    }

    /// Trace headers, parse, plan, target mailbox and quota for one recipient.
    async fn prepare_delivery(
        &self,
        envelope: &Envelope,
        r: &Recipient,
        data: &[u8],
        date: &str,
    ) -> Result<Prepared> {
        self.check_size(data.len())?;
        let mut raw = trace_headers(envelope, &r.address, date);
        raw.extend_from_slice(data);
        let size = raw.len() as i64;
        // Encrypted at rest: filters see the plaintext, whose blob is never written. The
        // mailboxes are read while the message is parsed (on a blocking thread).
        let key = self.encryption_key_for(&r.user, KeyUse::Storage).await;
        let (analysed, mailboxes) = tokio::join!(
            self.analyse_with(raw, key.is_none()),
            self.store.delivery_mailboxes(&r.user.id)
        );
        let mut analysed = analysed?;
        let input = DeliveryInput {
            envelope,
            recipient: &r.address,
            raw: &analysed.raw,
            parsed: &analysed.index,
        };
        let mut plan = self.plan_delivery(&r.user, &input).await?;
        if plan.drop {
            return Ok(Prepared {
                analysed,
                plan,
                row: None,
            });
        }
        check_keywords(&plan.flags.keywords)?;
        let user = &r.user;
        if user.quota_allowed > 0 && user.storage_used + size > user.quota_allowed {
            return Err(Error::OverQuota);
        }
        let mailbox = self.target_mailbox(&user.id, mailboxes?, &mut plan).await?;
        let mut row = match &key {
            Some(key) => {
                let mut stored = self.encrypted_delivery(user, key, &analysed).await?;
                delivery_row(&user.id, &mailbox, &mut stored, &plan)
            }
            None => delivery_row(&user.id, &mailbox, &mut analysed, &plan),
        };
        // STORE and FILTER are committed with the message, not in a transaction of their own.
        row.events = delivery_events(&plan, &delivery_facts(envelope, &r.address))
            .into_iter()
            .map(MessageEvent::encode)
            .collect::<Result<_>>()?;
        Ok(Prepared {
            analysed,
            plan,
            row: Some(row),
        })
    }

    /// Junk for spam, else the plan's mailbox if it still exists, else INBOX (`mailboxes`:
    /// the user's INBOX and Junk). The plan is updated to name the mailbox chosen.
    async fn target_mailbox(
        &self,
        user: &ObjectId,
        (inbox, junk): (Option<ObjectId>, Option<ObjectId>),
        plan: &mut DeliveryPlan,
    ) -> Result<ObjectId> {
        if plan.spam
            && let Some(junk) = junk
        {
            plan.mailbox = Some(junk.clone());
            return Ok(junk);
        }
        if let Some(m) = &plan.mailbox
            && self.store.get_mailbox(user, m).await?.is_some()
        {
            return Ok(m.clone());
        }
        let inbox = inbox.ok_or_else(|| Error::Internal(format!("user {user} has no INBOX")))?;
        plan.mailbox = Some(inbox.clone());
        Ok(inbox)
    }
}

/// One recipient's message between planning and commit.
struct Prepared {
    analysed: Analysed,
    plan: DeliveryPlan,
    /// The row for the writer; `None` when dropped, or once handed over.
    row: Option<NewMessage>,
}

/// The row to store; the index stays whole for `after_delivery` (only the full-text, which
/// nothing after the insert needs, is moved).
fn delivery_row(
    user: &ObjectId,
    mailbox: &ObjectId,
    a: &mut Analysed,
    plan: &DeliveryPlan,
) -> NewMessage {
    let index = &mut a.index;
    let idate = sealpost_store::now_ms();
    let mut references = index.references.clone();
    for r in &index.in_reply_to {
        if !references.contains(r) {
            references.push(r.clone());
        }
    }
    let from = index.from.clone().unwrap_or_default();
    NewMessage {
        user: user.clone(),
        mailbox: mailbox.clone(),
        raw: a.raw.clone(),
        blob: a.hash.clone(),
        blob_written: a.blob_written,
        inline: a.inline,
        parsed_json: std::mem::take(&mut a.parsed_json),
        header_index_json: std::mem::take(&mut a.header_index_json),
        idate,
        hdate: index.date.unwrap_or(idate),
        subject: index.subject.clone(),
        from_name: from.name,
        from_address: from.address,
        message_id: index.message_id.clone().unwrap_or_default(),
        references,
        thread_subject: index.thread_subject.clone(),
        intro: index.intro.clone(),
        has_attachments: !index.attachments.is_empty(),
        flags: plan.flags.clone(),
        expires: None,
        search_text: std::mem::take(&mut index.search_text),
        events: Vec::new(),
    }
}

/// How the message arrived, for its `STORE` event.
fn delivery_facts(envelope: &Envelope, recipient: &str) -> DeliveryFacts {
    DeliveryFacts {
        source: match envelope.protocol {
            Protocol::Lmtp | Protocol::Lmtps => "LMTP",
            Protocol::Esmtpa | Protocol::Esmtpsa => "MSA",
            Protocol::Local => "LOCAL",
            _ => "MX",
        }
        .to_string(),
        origin: Some(envelope.peer.to_string()),
        from: envelope.mail_from.clone(),
        to: recipient.to_string(),
        transtype: Some(envelope.protocol.as_str().to_string()),
    }
}
