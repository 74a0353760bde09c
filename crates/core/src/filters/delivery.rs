//! Filters at delivery: running the user's filters on an incoming message and turning their
//! outcome, with the MTA's spam verdict, into a decision for the delivery plan; the events
//! the message is stored with; once it is stored (or dropped), queueing the uploads.

use super::engine::{FilterOutcome, MessageFacts, evaluate};
use crate::Core;
use crate::delivery::DeliveryPlan;
use crate::events::MessageEvent;
use sealpost_mime::ParsedMessage;
use sealpost_store::model::ObjectId;

/// What the filters decided for one delivery.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FilterDecision {
    /// Ids of the matching filters, in order.
    pub matched: Vec<ObjectId>,
    /// Store in Junk (a filter said spam, or the MTA did and no filter said "not spam").
    pub junk: bool,
    /// Store in this mailbox instead of INBOX (`None`: INBOX, or Junk when `junk`).
    pub mailbox: Option<ObjectId>,
    pub seen: bool,
    pub flagged: bool,
    /// Do not store (no bounce either); forwards and uploads still happen.
    pub drop: bool,
    /// Forward addresses; never for spam.
    pub forward_to: Vec<String>,
    /// Upload URLs; never for spam.
    pub target_urls: Vec<String>,
}

/// Resolves the filters' outcome against the MTA's spam verdict (`header_spam`): a filter
/// with `action_spam` decides either way; spam goes to Junk whatever mailbox a filter named
/// and is neither forwarded nor uploaded.
pub fn decide(outcome: FilterOutcome, header_spam: bool) -> FilterDecision {
    let junk = outcome.spam.unwrap_or(header_spam);
    FilterDecision {
        matched: outcome.matched,
        junk,
        mailbox: if junk { None } else { outcome.mailbox },
        seen: outcome.seen == Some(true),
        flagged: outcome.flag == Some(true),
        drop: outcome.delete == Some(true),
        forward_to: if junk { Vec::new() } else { outcome.forward },
        target_urls: if junk {
            Vec::new()
        } else {
            outcome.target_urls
        },
    }
}

/// How the message arrived, for its STORE event.
#[derive(Debug, Clone, Default)]
pub struct DeliveryFacts {
    /// "LMTP" or "MX".
    pub source: String,
    /// The client's host name or address.
    pub origin: Option<String>,
    /// Envelope sender ("" for the null sender).
    pub from: String,
    /// The recipient address this copy was delivered for.
    pub to: String,
    /// "LMTP", "ESMTP", "ESMTPS", ...
    pub transtype: Option<String>,
}

impl Core {
    /// Runs the user's filters on `parsed` (with the MTA's spam verdict). Filters are an
    /// addition to delivery, never a reason to refuse it: when they cannot be read the
    /// message is delivered as if there were none (and that is logged).
    pub async fn run_filters(
        &self,
        user: &ObjectId,
        parsed: &ParsedMessage,
        header_spam: bool,
    ) -> FilterDecision {
        let filters = match self.active_filters(user).await {
            Ok(f) => f,
            Err(e) => {
                tracing::warn!(%user, error = %e, "cannot read filters, delivering without them");
                return decide(FilterOutcome::default(), header_spam);
            }
        };
        if filters.is_empty() {
            return decide(FilterOutcome::default(), header_spam);
        }
        // A filter's mailbox that no longer exists means INBOX: delivery checks that.
        decide(evaluate(&filters, &MessageFacts::of(parsed)), header_spam)
    }

    /// After the message was stored (or dropped): queues the uploads. Failures are logged;
    /// the message is already delivered.
    pub async fn filters_after_delivery(&self, user: &ObjectId, plan: &DeliveryPlan, raw: &[u8]) {
        for url in &plan.target_urls {
            if let Err(e) = self.enqueue_upload(user, url, raw).await {
                tracing::warn!(%user, url, error = %e, "cannot queue upload");
            }
        }
    }
}

/// The events a delivered message is stored with: `STORE` (how it arrived), then `FILTER`
/// when filters matched (what they did). They go into the message's own transaction.
pub fn delivery_events(plan: &DeliveryPlan, facts: &DeliveryFacts) -> Vec<MessageEvent> {
    let mut store = MessageEvent::new("STORE")
        .with("source", facts.source.as_str())
        .with("from", facts.from.as_str())
        .with("to", vec![facts.to.clone()]);
    if let Some(origin) = &facts.origin {
        store = store.with("origin", origin.as_str());
    }
    if let Some(t) = &facts.transtype {
        store = store.with("transtype", t.as_str());
    }
    let mut events = vec![store];
    if !plan.filters_matched.is_empty() {
        let mut event = MessageEvent::new("FILTER").with(
            "filters",
            plan.filters_matched
                .iter()
                .map(|id| id.to_string())
                .collect::<Vec<_>>(),
        );
        if plan.spam {
            event = event.with("spam", true);
        }
        if plan.flags.seen {
            event = event.with("seen", true);
        }
        if plan.flags.flagged {
            event = event.with("flagged", true);
        }
        if let Some(m) = &plan.mailbox {
            event = event.with("mailbox", m.to_string());
        }
        if !plan.forward_to.is_empty() {
            event = event.with("forward", plan.forward_to.clone());
        }
        if !plan.target_urls.is_empty() {
            event = event.with("targetUrl", plan.target_urls.clone());
        }
        events.push(event);
    }
    events
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome() -> FilterOutcome {
        FilterOutcome {
            matched: vec![ObjectId::from_stored("1".repeat(24))],
            seen: Some(true),
            flag: Some(false),
            delete: None,
            spam: None,
            mailbox: Some(ObjectId::from_stored("a".repeat(24))),
            forward: vec!["f@example.net".into()],
            target_urls: vec!["http://h.example/".into()],
        }
    }

    #[test]
    fn no_filters_keep_the_mta_verdict() {
        assert_eq!(
            decide(FilterOutcome::default(), false),
            FilterDecision::default()
        );
        let d = decide(FilterOutcome::default(), true);
        assert!(d.junk && !d.drop && d.mailbox.is_none());
    }

    #[test]
    fn actions_carry_over() {
        let d = decide(outcome(), false);
        assert!(d.seen && !d.flagged && !d.drop && !d.junk);
        assert_eq!(d.mailbox, Some(ObjectId::from_stored("a".repeat(24))));
        assert_eq!(d.forward_to, vec!["f@example.net"]);
        assert_eq!(d.target_urls, vec!["http://h.example/"]);
        let d = decide(
            FilterOutcome {
                delete: Some(true),
                ..outcome()
            },
            false,
        );
        assert!(d.drop);
        assert_eq!(d.forward_to.len(), 1, "forwarding goes on when dropped");
    }

    #[test]
    fn spam_goes_to_junk_and_nowhere_else() {
        for (filter_spam, header_spam) in [(Some(true), false), (None, true)] {
            let d = decide(
                FilterOutcome {
                    spam: filter_spam,
                    ..outcome()
                },
                header_spam,
            );
            assert!(d.junk);
            assert_eq!(d.mailbox, None);
            assert!(d.forward_to.is_empty() && d.target_urls.is_empty());
        }
    }

    #[test]
    fn a_filter_can_clear_the_mta_spam_verdict() {
        let d = decide(
            FilterOutcome {
                spam: Some(false),
                ..outcome()
            },
            true,
        );
        assert!(!d.junk);
        assert!(d.mailbox.is_some());
    }
}
