//! The one planning step of a delivery: where a message goes and what else happens to it.
//! `plan_delivery` starts from the MTA's spam verdict; the user's filters extend it (they
//! may choose a mailbox, set flags, drop the message, mark it spam, forward it or post it to
//! a URL).

use super::spam::{self, SpamAction};
use super::{Envelope, SPAM_REJECTED};
use crate::domains::Access;
use crate::{Core, Error, Result};
use sealpost_mime::ParsedMessage;
use sealpost_store::model::{Flags, ObjectId, UserRecord};

/// What a delivery does with one message for one user.
#[derive(Debug, Clone, Default)]
pub struct DeliveryPlan {
    /// Target mailbox; `None` is INBOX (Junk when `spam`). A mailbox that no longer exists
    /// falls back to INBOX.
    pub mailbox: Option<ObjectId>,
    /// Flags the message is stored with.
    pub flags: Flags,
    /// Do not store the message (it is still acknowledged).
    pub drop: bool,
    /// Store it in Junk.
    pub spam: bool,
    /// Addresses to forward a copy to.
    pub forward_to: Vec<String>,
    /// URLs to POST the message to.
    pub target_urls: Vec<String>,
    /// Filters that matched, in order.
    pub filters_matched: Vec<ObjectId>,
}

/// One message on its way to one user: the envelope, the recipient as given, the raw bytes
/// (with the trace headers prepended) and the parsed index of those bytes.
pub struct DeliveryInput<'a> {
    pub envelope: &'a Envelope,
    /// The recipient address as given in RCPT TO.
    pub recipient: &'a str,
    pub raw: &'a [u8],
    pub parsed: &'a ParsedMessage,
}

/// The first `From:` address of a message.
fn from_address(raw: &[u8]) -> Option<String> {
    let message = mail_parser::MessageParser::new().parse_headers(raw)?;
    Some(message.from()?.first()?.address()?.to_string())
}

impl Core {
    /// Decides what to do with `msg` for `user`.
    pub(crate) async fn plan_delivery(
        &self,
        user: &UserRecord,
        msg: &DeliveryInput<'_>,
    ) -> Result<DeliveryPlan> {
        // The user's domain access lists overrule the MTA's verdict (and the spam level).
        let mta_spam = || {
            crate::user_profile::is_spam(
                user.profile.spam_level,
                spam::marked_by_mta(&msg.parsed.headers),
            )
        };
        let from = from_address(msg.raw);
        let senders = [
            msg.envelope.mail_from.as_str(),
            from.as_deref().unwrap_or(""),
        ];
        let access = match self.sender_access(user, &senders).await {
            Ok(a) => a,
            Err(e) => {
                tracing::warn!(user = %user.id, error = %e, "cannot read domain access lists");
                None
            }
        };
        // The user's spam protection acts on the MTA's score, unless an access list spoke.
        let protect = match access {
            None => {
                self.spam_protect_action(&user.id, &msg.parsed.headers)
                    .await
            }
            Some(_) => SpamAction::Pass,
        };
        if protect == SpamAction::Reject {
            return Err(Error::Forbidden {
                message: "Message refused as spam".into(),
                code: SPAM_REJECTED,
            });
        }
        let header_spam = match access {
            Some(Access::Allow) => false,
            Some(Access::Block) => true,
            None => mta_spam() || matches!(protect, SpamAction::Route(_)),
        };
        let filters = self.run_filters(&user.id, msg.parsed, header_spam).await;
        let mut plan = DeliveryPlan {
            mailbox: filters.mailbox,
            drop: filters.drop,
            spam: filters.junk,
            forward_to: filters.forward_to,
            target_urls: filters.target_urls,
            filters_matched: filters.matched,
            ..DeliveryPlan::default()
        };
        // The user's own forwarding targets (WildDuck's `targets`), besides the filters'.
        let (addresses, urls) = crate::user_profile::split_targets(&user.profile);
        for a in addresses {
            if !plan.forward_to.iter().any(|f| f.eq_ignore_ascii_case(&a)) {
                plan.forward_to.push(a);
            }
        }
        for u in urls {
            if !plan.target_urls.contains(&u) {
                plan.target_urls.push(u);
            }
        }
        // Spam routed to a mailbox of the user's choosing (Junk when it is not there).
        if let SpamAction::Route(path) = &protect
            && plan.spam
            && let Ok(Some(m)) = self.find_mailbox(&user.id, path).await
            && m.special_use.as_deref() != Some("\\Junk")
        {
            plan.spam = false;
            plan.mailbox = Some(m.id);
        }
        plan.flags.seen = filters.seen;
        plan.flags.flagged = filters.flagged;
        Ok(plan)
    }
}
