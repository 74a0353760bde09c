//! A mail user's blacklist (`mail.blacklist.*`): senders whose mail goes to Junk at
//! delivery. Each entry is a filter named [`BLACKLIST_FILTER`] matching the sender
//! (`query_from`, as every filter matches From and Sender) with the spam action, so it acts
//! where every filter acts and shows in `GET /users/{user}/filters`.

use super::Principal;
use crate::filters::FilterChanges;
use crate::{Core, Error, Result, validate};
use sealpost_store::model::ObjectId;

pub const BLACKLIST_FILTER: &str = "JSON-RPC blacklist";
/// Entries one mail user may have.
pub const MAX_BLACKLIST: usize = 200;

impl Core {
    async fn blacklist_of(&self, user: &ObjectId) -> Result<Vec<(ObjectId, String)>> {
        Ok(self
            .store
            .list_filters(user)
            .await?
            .into_iter()
            .filter(|f| f.name.as_deref() == Some(BLACKLIST_FILTER))
            .filter_map(|f| Some((f.id, f.query_from?)))
            .collect())
    }

    pub async fn rpc_blacklist_list(&self, p: &Principal, mail: &str) -> Result<Vec<String>> {
        let user = self.rpc_mail_user(p, mail).await?;
        Ok(self
            .blacklist_of(&user)
            .await?
            .into_iter()
            .map(|(_, a)| a)
            .collect())
    }

    /// Adds a sender (an address, or a domain as `@domain`); answers the whole list.
    pub async fn rpc_blacklist_add(
        &self,
        p: &Principal,
        mail: &str,
        address: &str,
    ) -> Result<Vec<String>> {
        let t = self.owned_mail(p, mail).await?;
        Core::require_capability(&t, "MAIL_BLACKLIST")?;
        let user = t.row.user;
        let entry = address.trim().to_lowercase();
        let ok = match entry.strip_prefix('@') {
            Some(domain) => super::domains::domain_name(domain, "add_address").is_ok(),
            None => validate::address(&entry, "add_address").is_ok(),
        };
        if !ok {
            return Err(Error::validation(
                format!("add_address must be an address or @domain: {entry}"),
                "add_address",
            ));
        }
        let have = self.blacklist_of(&user).await?;
        if !have.iter().any(|(_, a)| *a == entry) {
            if have.len() >= MAX_BLACKLIST {
                return Err(Error::validation(
                    format!("at most {MAX_BLACKLIST} blacklist entries"),
                    "add_address",
                ));
            }
            let changes = FilterChanges {
                name: Some(Some(BLACKLIST_FILTER.to_string())),
                query_from: Some(Some(entry)),
                action_spam: Some(Some(true)),
                ..FilterChanges::default()
            };
            self.create_filter(&user, changes).await?;
        }
        self.rpc_blacklist_list(p, mail).await
    }

    pub async fn rpc_blacklist_del(
        &self,
        p: &Principal,
        mail: &str,
        address: &str,
    ) -> Result<Vec<String>> {
        let user = self.rpc_mail_user(p, mail).await?;
        let entry = address.trim().to_lowercase();
        let mut found = false;
        for (id, a) in self.blacklist_of(&user).await? {
            if a == entry {
                self.delete_filter(&user, &id).await?;
                found = true;
            }
        }
        if !found {
            return Err(Error::not_found(format!(
                "{entry:?} is not on the blacklist"
            )));
        }
        self.rpc_blacklist_list(p, mail).await
    }
}
