//! Autoreplies: the per-user setting (`/users/{user}/autoreply`) and the decision, at
//! delivery, to answer a message, following RFC 3834 and WildDuck: only while enabled and
//! within start/end; never to automatic or list mail, to null or robot senders, or to the
//! user's own addresses; one reply per sender per interval; the reply is `Auto-Submitted:
//! auto-replied`, answers the message (`In-Reply-To`, `References`), comes from the address
//! the mail was sent to, and leaves with the null envelope sender (RFC 3834 §3.3).

use crate::outbound::compose::{Composed, compose};
use crate::outbound::{OutboundKind, OutboundMail, QueueId};
use crate::{Core, Error, Result};
use sealpost_mime::ParsedMessage;
use sealpost_store::autoreplies::AutoreplyRecord;
use sealpost_store::model::*;

pub use sealpost_store::autoreplies::AutoreplyRecord as Autoreply;

/// Longest name and subject (characters), and text/HTML body (bytes), as WildDuck.
pub const MAX_NAME: usize = 128;
pub const MAX_BODY: usize = 128 * 1024;

/// `PUT /users/{user}/autoreply`: only `Some` fields change; `Some(None)` clears a date.
#[derive(Debug, Clone, Default)]
pub struct AutoreplyUpdate {
    pub status: Option<bool>,
    pub name: Option<String>,
    pub subject: Option<String>,
    pub text: Option<String>,
    pub html: Option<String>,
    pub start: Option<Option<Millis>>,
    pub end: Option<Option<Millis>>,
}

/// Why an autoreply was not sent (for logs and tests of the rules).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Suppressed {
    Disabled,
    OutsideWindow,
    NullSender,
    RobotSender,
    OwnAddress,
    AutoSubmitted,
    Precedence,
    MailingList,
    SuppressHeader,
    Spam,
    AlreadyAnswered,
}

fn check_len(value: &str, max_chars: usize, field: &'static str) -> Result<()> {
    if value.chars().count() > max_chars {
        return Err(Error::validation(
            format!("\"{field}\" must be at most {max_chars} characters"),
            field,
        ));
    }
    crate::validate::text(value, field)?;
    Ok(())
}

/// A robot or list address (RFC 3834 §2 and the usual MTA names): never answered.
pub fn is_robot_sender(address: &str) -> bool {
    let lower = address.to_lowercase();
    let local = lower.rsplit_once('@').map_or(lower.as_str(), |(l, _)| l);
    const NAMES: &[&str] = &[
        "mailer-daemon",
        "postmaster",
        "listserv",
        "majordomo",
        "mailman",
        "bounce",
        "bounces",
    ];
    NAMES.contains(&local)
        || local.starts_with("owner-")
        || local.ends_with("-request")
        || local.ends_with("-owner")
        || local.starts_with("bounce-")
        || local.starts_with("bounces+")
        || local.contains("mailer-daemon")
        || local.contains("noreply")
        || local.contains("no-reply")
        || local.starts_with("srs0=")
        || local.starts_with("srs1=")
}

/// The header rules: the first reason not to answer a message with these headers.
pub fn header_suppression(headers: &[(String, String)]) -> Option<Suppressed> {
    for (name, value) in headers {
        let value = value.trim().to_ascii_lowercase();
        match name.as_str() {
            "auto-submitted" if !value.is_empty() && value != "no" => {
                return Some(Suppressed::AutoSubmitted);
            }
            "precedence" if matches!(value.as_str(), "bulk" | "list" | "junk") => {
                return Some(Suppressed::Precedence);
            }
            "x-auto-response-suppress"
                if value.contains("oof") || value.contains("autoreply") || value == "all" =>
            {
                return Some(Suppressed::SuppressHeader);
            }
            n if n.starts_with("list-") => return Some(Suppressed::MailingList),
            "feedback-id" | "x-autoreply" | "x-autorespond" => {
                return Some(Suppressed::AutoSubmitted);
            }
            _ => {}
        }
    }
    None
}

/// Whether `a` is active at `now`.
pub fn in_window(a: &AutoreplyRecord, now: Millis) -> bool {
    a.start.is_none_or(|s| now >= s) && a.end.is_none_or(|e| now <= e)
}

/// Why `a` does not answer a message from `sender` at `now` (RFC 3834's rules that need no
/// lookup), or `None` when it may.
pub(crate) fn suppressed(
    a: &AutoreplyRecord,
    now: Millis,
    sender: &str,
    message: &ParsedMessage,
    spam: bool,
) -> Option<Suppressed> {
    if sender.is_empty() {
        return Some(Suppressed::NullSender);
    }
    if !a.status {
        return Some(Suppressed::Disabled);
    }
    if !in_window(a, now) {
        return Some(Suppressed::OutsideWindow);
    }
    if spam {
        return Some(Suppressed::Spam);
    }
    if is_robot_sender(sender) {
        return Some(Suppressed::RobotSender);
    }
    header_suppression(&message.headers)
}

/// Checks the fields of an autoreply update.
pub(crate) fn check_update(u: &AutoreplyUpdate) -> Result<()> {
    if let Some(n) = &u.name {
        check_len(n, MAX_NAME, "name")?;
    }
    if let Some(s) = &u.subject {
        check_len(s, MAX_NAME, "subject")?;
    }
    for (v, field) in [(&u.text, "text"), (&u.html, "html")] {
        if let Some(v) = v {
            if v.len() > MAX_BODY {
                return Err(Error::validation(
                    format!("\"{field}\" must be at most {MAX_BODY} bytes"),
                    field,
                ));
            }
            crate::validate::text(v, field)?;
        }
    }
    Ok(())
}

/// Applies a checked update to a setting.
pub(crate) fn apply_update(a: &mut AutoreplyRecord, u: AutoreplyUpdate) {
    if let Some(v) = u.status {
        a.status = v;
    }
    if let Some(v) = u.name {
        a.name = v.trim().to_string();
    }
    if let Some(v) = u.subject {
        a.subject = v.trim().to_string();
    }
    if let Some(v) = u.text {
        a.text = v.trim().to_string();
    }
    if let Some(v) = u.html {
        a.html = v.trim().to_string();
    }
    if let Some(v) = u.start {
        a.start = v;
    }
    if let Some(v) = u.end {
        a.end = v;
    }
}

impl Core {
    /// The reply `a` sends from `recipient` (the address written to) to `sender`, answering
    /// `message`; `default_name` is the From name when `a` has none.
    pub(crate) fn autoreply_message(
        &self,
        a: &AutoreplyRecord,
        default_name: &str,
        recipient: &str,
        sender: &str,
        message: &ParsedMessage,
    ) -> Vec<u8> {
        let subject = if a.subject.is_empty() {
            format!("Auto: Re: {}", message.subject)
        } else {
            format!("Auto: {}", a.subject)
        };
        let mut references = message.references.clone();
        if let Some(id) = &message.message_id {
            references.push(id.clone());
        }
        // Bounded: the last 20 ids are enough for threading.
        let skip = references.len().saturating_sub(20);
        let references = references.split_off(skip);
        let name = if a.name.is_empty() {
            default_name
        } else {
            a.name.as_str()
        };
        let domain = recipient
            .rsplit_once('@')
            .map_or(self.config.domain.as_str(), |(_, d)| d);
        compose(&Composed {
            from_name: name,
            from_address: recipient,
            to_address: sender,
            subject: &subject,
            in_reply_to: message.message_id.as_deref(),
            references,
            extra_headers: vec![("Auto-Submitted", "auto-replied".to_string())],
            text: &a.text,
            html: &a.html,
            domain,
        })
    }

    pub async fn get_autoreply(&self, user: &ObjectId) -> Result<AutoreplyRecord> {
        self.get_user(user).await?;
        Ok(self.store.get_autoreply(user).await?.unwrap_or_default())
    }

    pub async fn update_autoreply(&self, user: &ObjectId, u: AutoreplyUpdate) -> Result<()> {
        check_update(&u)?;
        self.get_user(user).await?;
        let mut a = self.store.get_autoreply(user).await?.unwrap_or_default();
        apply_update(&mut a, u);
        self.store.put_autoreply(user, &a).await?;
        Ok(())
    }

    pub async fn delete_autoreply(&self, user: &ObjectId) -> Result<()> {
        self.get_user(user).await?;
        self.store.delete_autoreply(user).await?;
        Ok(())
    }

    /// After `message` was delivered to `user` at `recipient` (the address it was sent to)
    /// from envelope sender `mail_from`: sends the user's autoreply if the rules allow.
    /// `Ok(Err(reason))` says why not.
    pub async fn autoreply_after_delivery(
        &self,
        user: &UserRecord,
        recipient: &str,
        mail_from: &str,
        message: &ParsedMessage,
        spam: bool,
    ) -> Result<std::result::Result<QueueId, Suppressed>> {
        let sender = mail_from.trim();
        let Some(a) = self.store.get_autoreply(&user.id).await? else {
            return Ok(Err(Suppressed::Disabled));
        };
        let now = sealpost_store::now_ms();
        if let Some(reason) = suppressed(&a, now, sender, message, spam) {
            return Ok(Err(reason));
        }
        let own = self.store.list_addresses(&user.id).await?;
        let sender_norm = sender.to_lowercase();
        if own
            .iter()
            .any(|addr| addr.address.to_lowercase() == sender_norm)
            || recipient.eq_ignore_ascii_case(sender)
        {
            return Ok(Err(Suppressed::OwnAddress));
        }
        let interval =
            i64::try_from(self.outbound.config.autoreply_interval.as_millis()).unwrap_or(i64::MAX);
        if !self
            .store
            .claim_autoreply_slot(&user.id, &sender_norm, now, interval)
            .await?
        {
            return Ok(Err(Suppressed::AlreadyAnswered));
        }
        let name = user.name.clone().unwrap_or_default();
        let raw = self.autoreply_message(&a, &name, recipient, sender, message);
        let id = self
            .enqueue_outbound(OutboundMail {
                mail_from: String::new(),
                recipients: vec![sender.to_string()],
                raw,
                user: Some(user.id.clone()),
                kind: OutboundKind::Autoreply,
            })
            .await?;
        tracing::info!(user = %user.id, to = sender, queue = %id, "autoreply queued");
        Ok(Ok(id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn header_rules() {
        assert_eq!(header_suppression(&h(&[("subject", "hi")])), None);
        assert_eq!(header_suppression(&h(&[("auto-submitted", "no")])), None);
        assert_eq!(
            header_suppression(&h(&[("auto-submitted", "auto-generated")])),
            Some(Suppressed::AutoSubmitted)
        );
        for p in ["bulk", "List", "junk"] {
            assert_eq!(
                header_suppression(&h(&[("precedence", p)])),
                Some(Suppressed::Precedence)
            );
        }
        assert_eq!(
            header_suppression(&h(&[("precedence", "first-class")])),
            None
        );
        assert_eq!(
            header_suppression(&h(&[("list-id", "<x.example>")])),
            Some(Suppressed::MailingList)
        );
        assert_eq!(
            header_suppression(&h(&[("x-auto-response-suppress", "OOF, AutoReply")])),
            Some(Suppressed::SuppressHeader)
        );
    }

    #[test]
    fn robot_senders() {
        for a in [
            "MAILER-DAEMON@x.test",
            "postmaster@x.test",
            "owner-list@x.test",
            "list-request@x.test",
            "noreply@x.test",
            "no-reply@x.test",
            "SRS0=abc=de=x.test=y@z.test",
        ] {
            assert!(is_robot_sender(a), "{a}");
        }
        assert!(!is_robot_sender("alice@x.test"));
    }

    #[test]
    fn windows() {
        let mut a = AutoreplyRecord {
            status: true,
            ..Default::default()
        };
        assert!(in_window(&a, 1000));
        a.start = Some(2000);
        assert!(!in_window(&a, 1000));
        assert!(in_window(&a, 2000));
        a.end = Some(3000);
        assert!(in_window(&a, 3000));
        assert!(!in_window(&a, 3001));
    }
}
