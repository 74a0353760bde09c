//! A mail user's spam protection (`mail.spamprotect.get|set`), stored per user and applied
//! at delivery by the one rule in `delivery/spam.rs` ([`SpamProtect::action`]) on the spam
//! score of the MTA in front of us: at or over `tag2level` a message goes to `route_to`
//! (Junk by default); with `killevel` `reject`, at or over the kill score (`kill_score`,
//! ours; by default `tag2level`) it is refused (LMTP/SMTP `550 5.7.1`). `greylist`, `rbl`,
//! `smtp_plausibility` and `bypass_banned_checks` are the MTA's: stored and shown only.
//! The settings act only while the mail user's `MAIL_SPAMPROTECTION` capability is on.

use super::Principal;
use crate::delivery::{SpamAction, SpamProtect, mta_score};
use crate::{Core, Error, Result, validate};
use sealpost_store::model::ObjectId;

/// `mail.spamprotect.set`: only `Some` fields change.
#[derive(Debug, Clone, Default)]
pub struct SpamProtectChange {
    pub greylist: Option<bool>,
    pub smtp_plausibility: Option<bool>,
    pub rbl: Option<bool>,
    pub bypass_banned_checks: Option<bool>,
    pub tag2level: Option<f64>,
    pub killevel: Option<String>,
    pub kill_score: Option<f64>,
    pub route_to: Option<String>,
}

/// Scores are bounded (SpamAssassin's and Rspamd's stay well inside).
const MAX_SCORE: f64 = 1000.0;

fn score(v: f64, field: &'static str) -> Result<f64> {
    if v.is_finite() && v.abs() <= MAX_SCORE {
        Ok((v * 10.0).round() / 10.0)
    } else {
        Err(Error::validation(
            format!("{field} must be a number from -{MAX_SCORE} to {MAX_SCORE}"),
            field,
        ))
    }
}

fn parse(json: Option<String>) -> SpamProtect {
    json.and_then(|j| serde_json::from_str(&j).ok())
        .unwrap_or_default()
}

impl Core {
    pub async fn rpc_spamprotect_get(&self, p: &Principal, mail: &str) -> Result<SpamProtect> {
        let t = self.owned_mail(p, mail).await?;
        Ok(parse(self.store.rpc_spamprotect(&t.row.user).await?))
    }

    /// Changes the settings; answers them as stored.
    pub async fn rpc_spamprotect_set(
        &self,
        p: &Principal,
        mail: &str,
        c: SpamProtectChange,
    ) -> Result<SpamProtect> {
        let t = self.owned_mail(p, mail).await?;
        Core::require_capability(&t, "MAIL_SPAMPROTECTION")?;
        let mut s = parse(self.store.rpc_spamprotect(&t.row.user).await?);
        if let Some(v) = c.tag2level {
            s.tag2level = score(v, "tag2level")?;
        }
        if let Some(v) = c.kill_score {
            s.kill_score = Some(score(v, "kill_score")?);
        }
        if let Some(k) = c.killevel {
            let k = k.trim().to_lowercase();
            if k != "reject" && k != "route" {
                return Err(Error::validation(
                    "killevel must be reject or route",
                    "killevel",
                ));
            }
            s.killevel = k;
        }
        if let Some(r) = c.route_to {
            let r = r.trim();
            s.route_to = if r.is_empty() {
                "Junk".to_string()
            } else {
                validate::mailbox_path(r).map_err(|_| {
                    Error::validation(format!("route_to is not a mailbox path: {r}"), "route_to")
                })?
            };
        }
        if let Some(k) = s.kill_score
            && k < s.tag2level
        {
            return Err(Error::validation(
                "kill_score is below tag2level",
                "kill_score",
            ));
        }
        s.greylist = c.greylist.unwrap_or(s.greylist);
        s.smtp_plausibility = c.smtp_plausibility.unwrap_or(s.smtp_plausibility);
        s.rbl = c.rbl.unwrap_or(s.rbl);
        s.bypass_banned_checks = c.bypass_banned_checks.unwrap_or(s.bypass_banned_checks);
        let json = serde_json::to_string(&s).map_err(|e| Error::Internal(e.to_string()))?;
        self.store.put_rpc_spamprotect(&t.row.user, &json).await?;
        Ok(s)
    }

    /// What the user's spam protection does with a message with these headers (the index:
    /// lower-case names). Read only when the MTA gave a score; a failure to read is logged
    /// and the message passes to the other rules.
    pub(crate) async fn spam_protect_action(
        &self,
        user: &ObjectId,
        headers: &[(String, String)],
    ) -> SpamAction {
        let Some(score) = mta_score(headers) else {
            return SpamAction::Pass;
        };
        match self.spam_protect_of(user).await {
            Ok(Some(s)) => s.action(Some(score)),
            Ok(None) => SpamAction::Pass,
            Err(e) => {
                tracing::warn!(user = %user, error = %e, "cannot read the spam protection settings");
                SpamAction::Pass
            }
        }
    }

    async fn spam_protect_of(&self, user: &ObjectId) -> Result<Option<SpamProtect>> {
        let Some(json) = self.store.rpc_spamprotect(user).await? else {
            return Ok(None);
        };
        let Some(row) = self.store.rpc_mail(user).await? else {
            return Ok(None);
        };
        match self.mail_target(row).await? {
            Some(t) if Core::capability_on(&t, "MAIL_SPAMPROTECTION") => {
                Ok(Some(parse(Some(json))))
            }
            _ => Ok(None),
        }
    }
}
