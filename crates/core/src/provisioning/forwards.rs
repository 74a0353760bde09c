//! Forwarding targets of a mail user (`forwards`, `inboxsave`): one filter per target that
//! matches every message and forwards it, so that forwarding goes the way every filter
//! forward goes (the relay queue, SRS, the user's forward limit) and shows in
//! `GET /users/{user}/filters`. Without `inboxsave` the filters also drop the INBOX copy.

use crate::filters::{FilterChanges, MAX_FORWARD_TARGETS};
use crate::{Core, Error, Result, validate};
use sealpost_store::model::ObjectId;

/// The name of the filters that carry a mail user's forwarding targets.
pub const FORWARD_FILTER: &str = "JSON-RPC forward";

impl Core {
    /// The user's forwarding targets and whether a copy stays in the INBOX.
    pub(crate) async fn rpc_forwards(&self, user: &ObjectId) -> Result<(Vec<String>, bool)> {
        let mut targets = Vec::new();
        let mut keep = true;
        for f in self.store.list_filters(user).await? {
            if f.name.as_deref() == Some(FORWARD_FILTER)
                && let Some(t) = f.action_forward
            {
                keep &= f.action_delete != Some(true);
                targets.push(t);
            }
        }
        Ok((targets, keep))
    }

    /// Makes the user's forwarding targets exactly `targets`.
    pub(crate) async fn set_rpc_forwards(
        &self,
        user: &ObjectId,
        targets: &[String],
        inboxsave: bool,
    ) -> Result<()> {
        let mut wanted: Vec<String> = Vec::new();
        for t in targets {
            let (address, norm) = validate::address(t, "forwards")?;
            if !wanted
                .iter()
                .any(|w| validate::normalize_address(w) == norm)
            {
                wanted.push(address);
            }
        }
        if wanted.len() > MAX_FORWARD_TARGETS {
            return Err(Error::validation(
                format!("at most {MAX_FORWARD_TARGETS} forwarding targets"),
                "forwards",
            ));
        }
        for f in self.store.list_filters(user).await? {
            if f.name.as_deref() == Some(FORWARD_FILTER) {
                self.delete_filter(user, &f.id).await?;
            }
        }
        for target in wanted {
            let changes = FilterChanges {
                name: Some(Some(FORWARD_FILTER.to_string())),
                // Larger than 0 bytes: every message.
                query_size: Some(Some(1)),
                action_forward: Some(Some(target)),
                action_delete: (!inboxsave).then_some(Some(true)),
                ..FilterChanges::default()
            };
            self.create_filter(user, changes)
                .await
                .map_err(|e| match e {
                    Error::Validation { message, .. } => Error::validation(message, "forwards"),
                    other => other,
                })?;
        }
        Ok(())
    }
}
