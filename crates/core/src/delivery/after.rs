//! What happens after a message is stored (or dropped by a filter) for one user: the hook
//! for autoreplies, forwarding and `targetUrl` posts, and their message events (`STORE` and
//! `FILTER` were committed with the message). It never fails a delivery that is already
//! committed: its own failures are logged.

use super::{DeliveryInput, DeliveryPlan, Envelope};
use crate::{Core, Stored};
use sealpost_store::model::UserRecord;

impl Core {
    /// Runs the follow-ups of one delivery. `stored` is `None` when the plan dropped the
    /// message.
    pub(crate) async fn after_delivery(
        &self,
        user: &UserRecord,
        stored: Option<&Stored>,
        plan: &DeliveryPlan,
        envelope: &Envelope,
        msg: &DeliveryInput<'_>,
    ) {
        tracing::debug!(
            user = %user.id,
            id = %envelope.id,
            recipient = msg.recipient,
            mailbox = ?stored.map(|s| &s.mailbox),
            uid = ?stored.map(|s| s.uid),
            dropped = plan.drop,
            spam = plan.spam,
            "delivered"
        );
        self.filters_after_delivery(&user.id, plan, msg.raw).await;
        // A key in an `Autocrypt:` header (`autocrypt.rs`).
        self.autocrypt_after_delivery(user, plan.spam, msg.raw, msg.parsed)
            .await;
        // Forward copies and the autoreply (`outbound/after.rs`).
        self.outbound_after_delivery(user, stored, plan, envelope, msg)
            .await;
    }
}
