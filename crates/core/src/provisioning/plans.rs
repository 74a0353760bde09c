//! Plans: mailbox.org's plan names mapped to limits. Accounts: `basic`, `profi`, `profixl`,
//! `reseller` (how many domains and mail users); mail users: `light`, `standard`, `premium`
//! (quota, aliases). `[plans.<name>]` in the configuration changes them or adds plans.

use crate::{Error, Result};
use std::collections::BTreeMap;

/// Limits of an account plan; 0 = no limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AccountPlan {
    pub domains: u32,
    pub mails: u32,
}

/// Limits of a mail user plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MailPlan {
    /// Storage quota, bytes.
    pub quota: i64,
    /// Addresses besides the main one.
    pub aliases: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanConfig {
    pub accounts: BTreeMap<String, AccountPlan>,
    pub mails: BTreeMap<String, MailPlan>,
}

const GIB: i64 = 1 << 30;

impl Default for PlanConfig {
    fn default() -> Self {
        let a = |domains, mails| AccountPlan { domains, mails };
        let m = |gib: i64, aliases| MailPlan {
            quota: gib * GIB,
            aliases,
        };
        PlanConfig {
            accounts: [
                ("basic", a(5, 50)),
                ("profi", a(50, 500)),
                ("profixl", a(500, 5000)),
                ("reseller", a(0, 0)),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
            mails: [
                ("light", m(2, 5)),
                ("standard", m(10, 25)),
                ("premium", m(50, 50)),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
        }
    }
}

impl PlanConfig {
    pub fn account(&self, name: &str) -> Result<AccountPlan> {
        self.accounts.get(name).copied().ok_or_else(|| {
            Error::validation(
                format!(
                    "unknown account plan {name:?} (one of: {})",
                    self.accounts.keys().cloned().collect::<Vec<_>>().join(", ")
                ),
                "plan",
            )
        })
    }

    pub fn mail(&self, name: &str) -> Result<MailPlan> {
        self.mails.get(name).copied().ok_or_else(|| {
            Error::validation(
                format!(
                    "unknown mail plan {name:?} (one of: {})",
                    self.mails.keys().cloned().collect::<Vec<_>>().join(", ")
                ),
                "plan",
            )
        })
    }
}

/// Whether `count` more of something fits under `limit` (0 = no limit) given `have`.
pub(crate) fn fits(have: i64, more: i64, limit: u32) -> bool {
    limit == 0 || have.saturating_add(more) <= i64::from(limit)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_limits() {
        let p = PlanConfig::default();
        assert_eq!(p.mail("light").unwrap().quota, 2 * GIB);
        assert!(p.mail("basic").is_err());
        assert_eq!(p.account("reseller").unwrap().domains, 0);
        assert!(p.account("light").is_err());
        assert!(fits(4, 1, 5));
        assert!(!fits(5, 1, 5));
        assert!(fits(1_000_000, 1, 0));
    }
}
