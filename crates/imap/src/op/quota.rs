//! QUOTA (RFC 9208): one quota root, `""`, per user, holding the STORAGE resource from the
//! user's quota in the store (the same figures as the REST API's `limits.quota`). A user
//! without a quota limit has no quota root. Quotas are set by the administrator through the
//! REST API: SETQUOTA is refused (QUOTASET is not advertised).

use crate::error::Result;
use crate::session::Session;
use sealpost_imap_proto::{Code, Data, MailboxName, QuotaResource, StatusResponse};

/// The name of the user's quota root.
const ROOT: &str = "";

impl Session {
    /// The user's quota resources; `None` when the storage is unlimited.
    async fn quota_resources(&self) -> Result<Option<Vec<QuotaResource>>> {
        let user = self.core.get_user(&self.user_id()?).await?;
        if user.quota_allowed <= 0 {
            return Ok(None);
        }
        let used = u64::try_from(user.storage_used).unwrap_or(0);
        let allowed = u64::try_from(user.quota_allowed).unwrap_or(0);
        // STORAGE is in units of 1024 octets: usage rounded up (a byte used shows), the limit
        // rounded down (never promise more than is allowed).
        Ok(Some(vec![QuotaResource {
            name: "STORAGE".into(),
            usage: used.div_ceil(1024),
            limit: allowed / 1024,
        }]))
    }

    pub(crate) async fn op_getquota(&mut self, tag: &str, root: &str) -> Result<StatusResponse> {
        match self.quota_resources().await? {
            Some(resources) if root == ROOT => {
                self.push(Data::Quota {
                    root: ROOT.into(),
                    resources,
                });
                Ok(StatusResponse::ok(tag, "GETQUOTA completed"))
            }
            _ => Ok(StatusResponse::no(tag, "No such quota root").with_code(Code::NonExistent)),
        }
    }

    pub(crate) async fn op_getquotaroot(
        &mut self,
        tag: &str,
        name: &MailboxName,
    ) -> Result<StatusResponse> {
        if self.find_mailbox(name).await?.is_none() {
            return Ok(
                StatusResponse::no(tag, "Mailbox does not exist").with_code(Code::NonExistent)
            );
        }
        let resources = self.quota_resources().await?;
        self.push(Data::QuotaRoot {
            mailbox: name.clone(),
            roots: resources.iter().map(|_| ROOT.to_string()).collect(),
        });
        if let Some(resources) = resources {
            self.push(Data::Quota {
                root: ROOT.into(),
                resources,
            });
        }
        Ok(StatusResponse::ok(tag, "GETQUOTAROOT completed"))
    }

    pub(crate) fn op_setquota(&mut self, tag: &str) -> Result<StatusResponse> {
        Ok(StatusResponse::no(tag, "Quotas are set by the administrator").with_code(Code::NoPerm))
    }
}
