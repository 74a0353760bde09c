//! The outbound part of what follows a delivery: forwarding the copies the plan asks for
//! (within the user's `forwards` limit) and the user's autoreply. Neither ever fails the
//! delivery, which is already committed: a refusal is logged (and recorded as an event when
//! events exist).

use crate::delivery::{DeliveryInput, DeliveryPlan, Envelope};
use crate::{Core, MessageEvent, Stored};
use sealpost_store::model::UserRecord;

impl Core {
    pub(crate) async fn outbound_after_delivery(
        &self,
        user: &UserRecord,
        stored: Option<&Stored>,
        plan: &DeliveryPlan,
        envelope: &Envelope,
        msg: &DeliveryInput<'_>,
    ) {
        if !plan.forward_to.is_empty() {
            match self
                .forward_copy(user, &envelope.mail_from, &plan.forward_to, msg.raw)
                .await
            {
                Ok(id) => {
                    tracing::debug!(user = %user.id, queue = %id, "forwarded");
                    if let Some(s) = stored {
                        let event = MessageEvent::new("FORWARD")
                            .with("from", envelope.mail_from.as_str())
                            .with("to", plan.forward_to.clone())
                            .with("queueId", id.to_string());
                        if let Err(e) = self.record_event(&user.id, &s.mailbox, s.uid, event).await
                        {
                            tracing::warn!(user = %user.id, error = %e, "cannot record the FORWARD event");
                        }
                    }
                }
                Err(e) => tracing::warn!(user = %user.id, to = ?plan.forward_to, error = %e,
                    "forward not sent"),
            }
        }
        if plan.drop {
            return;
        }
        match self
            .autoreply_after_delivery(
                user,
                msg.recipient,
                &envelope.mail_from,
                msg.parsed,
                plan.spam,
            )
            .await
        {
            Ok(Ok(id)) => {
                if let Some(s) = stored {
                    let event = MessageEvent::new("AUTOREPLY")
                        .with("from", msg.recipient)
                        .with("to", vec![envelope.mail_from.clone()])
                        .with("queueId", id.to_string());
                    if let Err(e) = self.record_event(&user.id, &s.mailbox, s.uid, event).await {
                        tracing::warn!(user = %user.id, error = %e, "cannot record the AUTOREPLY event");
                    }
                }
            }
            Ok(Err(reason)) => {
                tracing::debug!(user = %user.id, ?reason, "no autoreply");
            }
            Err(e) => tracing::warn!(user = %user.id, error = %e, "autoreply not sent"),
        }
    }
}
