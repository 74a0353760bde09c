//! Capabilities (`account.capabilities.get|set`, `domain.capabilities.set`,
//! `mail.capabilities.get|set`): what a mail user may do, decided at three levels.
//!
//! Each level (account, domain, mail user) stores an *intent* per capability: `on`, `off`,
//! or nothing (`inherit`). A mail user's effective capability is its own intent, else its
//! domain's, else its account's, else on ([`effective`]: the one rule). Setting a
//! capability on an account or a domain applies it to everything below: the intents below
//! for that capability are cleared, except for the mail users named in `exceptions`, which
//! get the opposite intent of their own.
//!
//! What each capability means here:
//!
//! | capability | when off |
//! | --- | --- |
//! | `MAIL_IMAP`, `MAIL_POP3`, `MAIL_SMTP` | the user may not log in to IMAP, POP3, submission: WildDuck's `disabledScopes`, kept in step whenever an intent changes |
//! | `MAIL_SPAMPROTECTION` | `mail.spamprotect.set` is refused and the stored settings do not act at delivery |
//! | `MAIL_BLACKLIST` | `mail.blacklist.add` is refused (entries already there still act) |
//! | `MAIL_BACKUPRECOVER` | `mail.backup.import` is refused |
//! | `MAIL_OTP`, `MAIL_PASSWORDRESET_SMS` | stored and shown; no effect (2FA is set through the REST API; this server sends no SMS) |

use super::mail::MailTarget;
use super::{Principal, not_found};
use crate::{Core, Error, Result, UserUpdate};
use sealpost_store::provisioning::{AccountPatch, MailPatch, MailRow};
use std::collections::BTreeMap;

/// Every capability, with the login scope it governs (if any).
pub const CAPABILITIES: [(&str, Option<&str>); 8] = [
    ("MAIL_IMAP", Some("imap")),
    ("MAIL_POP3", Some("pop3")),
    ("MAIL_SMTP", Some("smtp")),
    ("MAIL_SPAMPROTECTION", None),
    ("MAIL_BLACKLIST", None),
    ("MAIL_BACKUPRECOVER", None),
    ("MAIL_OTP", None),
    ("MAIL_PASSWORDRESET_SMS", None),
];

/// The error of a call refused because a capability of the mail user is off.
pub const CAPABILITY_OFF_ERROR: &str = "CapabilityOff";

/// One level's intents: capability name → on (`true`) or off (`false`); absent: inherit.
pub type Intents = BTreeMap<String, bool>;

/// Parses stored intents (a JSON object of `"on"`/`"off"`); anything else is inherit.
pub fn parse_intents(json: &str) -> Intents {
    let map: BTreeMap<String, String> = serde_json::from_str(json).unwrap_or_default();
    map.into_iter()
        .filter_map(|(k, v)| match v.as_str() {
            "on" => Some((k, true)),
            "off" => Some((k, false)),
            _ => None,
        })
        .collect()
}

pub fn intents_json(i: &Intents) -> String {
    let map: BTreeMap<&str, &str> = i
        .iter()
        .map(|(k, v)| (k.as_str(), if *v { "on" } else { "off" }))
        .collect();
    serde_json::to_string(&map).unwrap_or_else(|_| "{}".into())
}

/// The rule: the mail user's own intent, else its domain's, else its account's, else on.
pub fn effective(name: &str, mail: &Intents, domain: &Intents, account: &Intents) -> bool {
    mail.get(name)
        .or_else(|| domain.get(name))
        .or_else(|| account.get(name))
        .copied()
        .unwrap_or(true)
}

/// A change as given (`name` → `on`|`off`|`inherit`): each name checked; `None` is inherit.
pub fn parse_change(given: &BTreeMap<String, String>) -> Result<Vec<(&'static str, Option<bool>)>> {
    let names: Vec<&str> = CAPABILITIES.iter().map(|(n, _)| *n).collect();
    given
        .iter()
        .map(|(name, intent)| {
            let Some((known, _)) = CAPABILITIES.iter().find(|(n, _)| *n == name.as_str()) else {
                return Err(Error::validation(
                    format!("unknown capability {name:?} (one of {})", names.join(", ")),
                    "capabilities",
                ));
            };
            let v = match intent.as_str() {
                "on" => Some(true),
                "off" => Some(false),
                "inherit" => None,
                _ => {
                    return Err(Error::validation(
                        format!("capability {name} must be on, off or inherit"),
                        "capabilities",
                    ));
                }
            };
            Ok((*known, v))
        })
        .collect()
}

/// Applies a change to one level's intents.
fn apply(i: &mut Intents, change: &[(&'static str, Option<bool>)]) {
    for (name, v) in change {
        match v {
            Some(b) => i.insert(name.to_string(), *b),
            None => i.remove(*name),
        };
    }
}

/// `disabledScopes` after the effective login capabilities: the scopes of capabilities that
/// are off, and whatever other scopes were there.
pub fn scopes_with(current: &[String], off: &[&str]) -> Vec<String> {
    let governed: Vec<&str> = CAPABILITIES.iter().filter_map(|(_, s)| *s).collect();
    let mut out: Vec<String> = current
        .iter()
        .filter(|s| !governed.contains(&s.as_str()))
        .cloned()
        .collect();
    out.extend(off.iter().map(|s| s.to_string()));
    out
}

/// `exceptions` (capability → mail addresses) as given to an account or domain set.
pub type Exceptions = BTreeMap<String, Vec<String>>;

/// Most mail users one capability set may name as exceptions (each is looked up).
pub const MAX_EXCEPTIONS: usize = 1000;

impl Core {
    /// The effective capabilities of a mail user, by name: `on` or `off`.
    pub async fn rpc_mail_capabilities_get(
        &self,
        p: &Principal,
        mail: &str,
    ) -> Result<BTreeMap<&'static str, &'static str>> {
        let t = self.owned_mail(p, mail).await?;
        let (m, d, a) = levels(&t);
        Ok(CAPABILITIES
            .iter()
            .map(|(n, _)| (*n, on_off(effective(n, &m, &d, &a))))
            .collect())
    }

    /// `capabilities`: name → `on`, `off` or `inherit`, the mail user's own intents.
    pub async fn rpc_mail_capabilities_set(
        &self,
        p: &Principal,
        mail: &str,
        capabilities: &BTreeMap<String, String>,
    ) -> Result<()> {
        let change = parse_change(capabilities)?;
        let mut t = self.owned_mail(p, mail).await?;
        let mut own = parse_intents(&t.row.capabilities);
        apply(&mut own, &change);
        t.row.capabilities = intents_json(&own);
        self.store_mail_intents(&t.row).await?;
        self.sync_scopes(&t).await
    }

    /// The account's own intents, every capability shown (`on` where it sets nothing).
    pub async fn rpc_account_capabilities_get(
        &self,
        p: &Principal,
        account: &str,
    ) -> Result<BTreeMap<&'static str, &'static str>> {
        let a = self.owned_account(p, account).await?;
        let i = parse_intents(&a.capabilities);
        Ok(CAPABILITIES
            .iter()
            .map(|(n, _)| (*n, on_off(i.get(*n).copied().unwrap_or(true))))
            .collect())
    }

    /// Sets the account's intents and applies them to all its domains and mail users.
    pub async fn rpc_account_capabilities_set(
        &self,
        p: &Principal,
        account: &str,
        capabilities: &BTreeMap<String, String>,
        exceptions: &Exceptions,
    ) -> Result<()> {
        let change = parse_change(capabilities)?;
        let a = self.owned_account(p, account).await?;
        let exempt = self
            .exempt_users(p, &change, exceptions, |t| t.account.id == a.id)
            .await?;
        let mut i = parse_intents(&a.capabilities);
        apply(&mut i, &change);
        let patch = AccountPatch {
            capabilities: Some(intents_json(&i)),
            ..AccountPatch::default()
        };
        if !self.store.update_rpc_account(&a.id, &patch).await? {
            return Err(not_found("account", &a.name));
        }
        let names: Vec<&str> = change.iter().map(|(n, _)| *n).collect();
        for (d, _) in self
            .store
            .list_rpc_domains(&a.id, None, super::domains::MAX_LISTED)
            .await?
        {
            let mut di = parse_intents(&d.capabilities);
            let mut changed = false;
            for n in &names {
                changed |= di.remove(*n).is_some();
            }
            if changed {
                self.store
                    .update_rpc_domain(&d.id, None, None, Some(&intents_json(&di)))
                    .await?;
            }
            self.apply_below(&d.id, &names, &exempt).await?;
        }
        Ok(())
    }

    /// Sets the domain's intents and applies them to all its mail users.
    pub async fn rpc_domain_capabilities_set(
        &self,
        p: &Principal,
        domain: &str,
        capabilities: &BTreeMap<String, String>,
        exceptions: &Exceptions,
    ) -> Result<()> {
        let change = parse_change(capabilities)?;
        let (_, d) = self.owned_domain(p, domain).await?;
        let exempt = self
            .exempt_users(p, &change, exceptions, |t| t.domain.id == d.id)
            .await?;
        let mut i = parse_intents(&d.capabilities);
        apply(&mut i, &change);
        if !self
            .store
            .update_rpc_domain(&d.id, None, None, Some(&intents_json(&i)))
            .await?
        {
            return Err(not_found("domain", &d.name));
        }
        let names: Vec<&str> = change.iter().map(|(n, _)| *n).collect();
        self.apply_below(&d.id, &names, &exempt).await
    }

    /// Whether `capability` is on for the mail user `t`.
    pub(crate) fn capability_on(t: &MailTarget, capability: &str) -> bool {
        let (m, d, a) = levels(t);
        effective(capability, &m, &d, &a)
    }

    /// Refuses a call that needs `capability` when it is off for the mail user `t`.
    pub(crate) fn require_capability(t: &MailTarget, capability: &str) -> Result<()> {
        if Core::capability_on(t, capability) {
            Ok(())
        } else {
            Err(Error::Forbidden {
                message: format!("the capability {capability} is off for {}", t.row.mail),
                code: CAPABILITY_OFF_ERROR,
            })
        }
    }

    /// The mail users named in `exceptions`, each with the intents it gets: the opposite of
    /// the change for each capability it is an exception of. They must be below the level
    /// being set (`below`).
    async fn exempt_users(
        &self,
        p: &Principal,
        change: &[(&'static str, Option<bool>)],
        exceptions: &Exceptions,
        below: impl Fn(&MailTarget) -> bool,
    ) -> Result<BTreeMap<String, Vec<(&'static str, Option<bool>)>>> {
        let mut out: BTreeMap<String, Vec<(&'static str, Option<bool>)>> = BTreeMap::new();
        if exceptions.values().map(Vec::len).sum::<usize>() > MAX_EXCEPTIONS {
            return Err(Error::validation(
                format!("exceptions may name at most {MAX_EXCEPTIONS} mail users"),
                "exceptions",
            ));
        }
        for (cap, mails) in exceptions {
            let Some((name, v)) = change.iter().find(|(n, _)| *n == cap.as_str()) else {
                return Err(Error::validation(
                    format!("exceptions name {cap:?}, which capabilities does not set"),
                    "exceptions",
                ));
            };
            for m in mails {
                let t = self.owned_mail(p, m).await?;
                if !below(&t) {
                    return Err(Error::validation(
                        format!("{} is not below the level set", t.row.mail),
                        "exceptions",
                    ));
                }
                out.entry(t.row.mail.clone())
                    .or_default()
                    .push((*name, v.map(|b| !b)));
            }
        }
        Ok(out)
    }

    /// After a domain (or its account) set `names`: the mail users of the domain lose their
    /// own intents for them, the exceptions get theirs, and every login scope follows.
    async fn apply_below(
        &self,
        domain: &sealpost_store::provisioning::DomainId,
        names: &[&str],
        exempt: &BTreeMap<String, Vec<(&'static str, Option<bool>)>>,
    ) -> Result<()> {
        for row in self.store.rpc_domain_users(domain).await? {
            if row.mail.starts_with("!deleted:") {
                continue;
            }
            let mut own = parse_intents(&row.capabilities);
            for n in names {
                own.remove(*n);
            }
            if let Some(ex) = exempt.get(&row.mail) {
                apply(&mut own, ex);
            }
            let row = MailRow {
                capabilities: intents_json(&own),
                ..row
            };
            self.store_mail_intents(&row).await?;
            if let Some(t) = self.mail_target(row).await? {
                self.sync_scopes(&t).await?;
            }
        }
        Ok(())
    }

    async fn store_mail_intents(&self, row: &MailRow) -> Result<()> {
        let patch = MailPatch {
            capabilities: Some(row.capabilities.clone()),
            ..MailPatch::default()
        };
        self.store.update_rpc_mail(&row.user, &patch).await?;
        Ok(())
    }

    /// Makes the user's `disabledScopes` follow its effective login capabilities.
    async fn sync_scopes(&self, t: &MailTarget) -> Result<()> {
        let (m, d, a) = levels(t);
        let off: Vec<&str> = CAPABILITIES
            .iter()
            .filter_map(|(n, s)| s.filter(|_| !effective(n, &m, &d, &a)))
            .collect();
        let u = self.get_user(&t.row.user).await?;
        let wanted = scopes_with(&u.disabled_scopes, &off);
        if wanted == u.disabled_scopes {
            return Ok(());
        }
        self.update_user(
            &t.row.user,
            UserUpdate {
                disabled_scopes: Some(wanted),
                ..UserUpdate::default()
            },
        )
        .await
    }
}

fn levels(t: &MailTarget) -> (Intents, Intents, Intents) {
    (
        parse_intents(&t.row.capabilities),
        parse_intents(&t.domain.capabilities),
        parse_intents(&t.account.capabilities),
    )
}

fn on_off(b: bool) -> &'static str {
    if b { "on" } else { "off" }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn i(pairs: &[(&str, bool)]) -> Intents {
        pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
    }

    #[test]
    fn the_most_specific_intent_wins() {
        let none = Intents::new();
        assert!(effective("MAIL_IMAP", &none, &none, &none));
        let acc_off = i(&[("MAIL_IMAP", false)]);
        assert!(!effective("MAIL_IMAP", &none, &none, &acc_off));
        assert!(effective(
            "MAIL_IMAP",
            &none,
            &i(&[("MAIL_IMAP", true)]),
            &acc_off
        ));
        assert!(!effective(
            "MAIL_IMAP",
            &i(&[("MAIL_IMAP", false)]),
            &i(&[("MAIL_IMAP", true)]),
            &none
        ));
        assert!(effective("MAIL_POP3", &none, &none, &acc_off));
    }

    #[test]
    fn intents_round_trip_and_changes() {
        let stored = parse_intents(r#"{"MAIL_IMAP":"off","MAIL_POP3":"on","X":"maybe"}"#);
        assert_eq!(stored, i(&[("MAIL_IMAP", false), ("MAIL_POP3", true)]));
        assert_eq!(parse_intents(&intents_json(&stored)), stored);
        assert_eq!(parse_intents("not json"), Intents::new());
        let mut given = BTreeMap::new();
        given.insert("MAIL_IMAP".to_string(), "inherit".to_string());
        given.insert("MAIL_SMTP".to_string(), "off".to_string());
        let change = parse_change(&given).unwrap();
        let mut s = stored.clone();
        apply(&mut s, &change);
        assert_eq!(s, i(&[("MAIL_POP3", true), ("MAIL_SMTP", false)]));
        given.insert("MAIL_TELEPATHY".to_string(), "on".to_string());
        assert!(parse_change(&given).is_err());
        let mut bad = BTreeMap::new();
        bad.insert("MAIL_IMAP".to_string(), "yes".to_string());
        assert!(parse_change(&bad).is_err());
    }

    #[test]
    fn scopes_follow_the_login_capabilities() {
        let cur = vec!["imap".to_string(), "master".to_string()];
        assert_eq!(scopes_with(&cur, &["pop3"]), vec!["master", "pop3"]);
        assert_eq!(scopes_with(&cur, &[]), vec!["master"]);
    }
}
