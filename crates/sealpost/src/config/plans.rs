//! `[plans.<name>]`: the limits of the JSON-RPC API's plans. A built-in account plan
//! (`basic`, `profi`, `profixl`, `reseller`) takes `domains` and `mails`; a built-in mail
//! plan (`light`, `standard`, `premium`) takes `quota` (bytes) and `aliases`; another name
//! adds an account plan (with `domains`/`mails`) or a mail plan (with `quota`/`aliases`).
//! `SEALPOST_PLANS_<NAME>_<KEY>` (e.g. `SEALPOST_PLANS_LIGHT_QUOTA`) overrides a key of an
//! existing plan.

use super::{ConfigError, parse_count, parse_int};
use sealpost_core::provisioning::{AccountPlan, MailPlan, PlanConfig};
use serde::Deserialize;
use std::collections::BTreeMap;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FilePlan {
    quota: Option<i64>,
    aliases: Option<u32>,
    domains: Option<u32>,
    mails: Option<u32>,
}

/// Plans at most.
const MAX_PLANS: usize = 64;

fn set_account(key: &str, p: &mut AccountPlan, f: &FilePlan) -> Result<(), ConfigError> {
    if f.quota.is_some() || f.aliases.is_some() {
        return Err(ConfigError::value(
            key,
            "an account plan takes domains and mails",
        ));
    }
    p.domains = f.domains.unwrap_or(p.domains);
    p.mails = f.mails.unwrap_or(p.mails);
    Ok(())
}

fn set_mail(key: &str, p: &mut MailPlan, f: &FilePlan) -> Result<(), ConfigError> {
    if f.domains.is_some() || f.mails.is_some() {
        return Err(ConfigError::value(
            key,
            "a mail plan takes quota and aliases",
        ));
    }
    if let Some(q) = f.quota {
        if q <= 0 {
            return Err(ConfigError::value(key, "quota must be positive (bytes)"));
        }
        p.quota = q;
    }
    p.aliases = f.aliases.unwrap_or(p.aliases);
    Ok(())
}

pub(super) fn apply_file(
    c: &mut PlanConfig,
    f: Option<BTreeMap<String, FilePlan>>,
) -> Result<(), ConfigError> {
    let Some(f) = f else { return Ok(()) };
    for (name, plan) in f {
        let key = format!("plans.{name}");
        let valid = !name.is_empty()
            && name.len() <= 32
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        if !valid {
            return Err(ConfigError::value(
                key,
                "a plan name is 1 to 32 lower-case letters, digits and _",
            ));
        }
        if let Some(p) = c.accounts.get_mut(&name) {
            set_account(&key, p, &plan)?;
        } else if let Some(p) = c.mails.get_mut(&name) {
            set_mail(&key, p, &plan)?;
        } else if plan.domains.is_some() || plan.mails.is_some() {
            let mut p = AccountPlan {
                domains: 0,
                mails: 0,
            };
            set_account(&key, &mut p, &plan)?;
            c.accounts.insert(name, p);
        } else {
            let mut p = MailPlan {
                quota: 1 << 30,
                aliases: 0,
            };
            set_mail(&key, &mut p, &plan)?;
            c.mails.insert(name, p);
        }
    }
    if c.accounts.len() + c.mails.len() > MAX_PLANS {
        return Err(ConfigError::value(
            "plans",
            format!("at most {MAX_PLANS} plans"),
        ));
    }
    Ok(())
}

pub(super) fn apply_env(
    c: &mut PlanConfig,
    get: impl Fn(&str) -> Option<String>,
) -> Result<(), ConfigError> {
    for (name, p) in c.accounts.iter_mut() {
        let up = name.to_ascii_uppercase();
        for (k, slot) in [("DOMAINS", &mut p.domains), ("MAILS", &mut p.mails)] {
            let var = format!("SEALPOST_PLANS_{up}_{k}");
            if let Some(v) = get(&var) {
                *slot = parse_count(&var, &v)?;
            }
        }
    }
    for (name, p) in c.mails.iter_mut() {
        let up = name.to_ascii_uppercase();
        let var = format!("SEALPOST_PLANS_{up}_QUOTA");
        if let Some(v) = get(&var) {
            p.quota = parse_int(&var, &v)?;
        }
        let var = format!("SEALPOST_PLANS_{up}_ALIASES");
        if let Some(v) = get(&var) {
            p.aliases = parse_count(&var, &v)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_and_env() {
        let mut c = PlanConfig::default();
        let f: BTreeMap<String, FilePlan> = toml::from_str(
            "[light]\nquota = 1000\n[basic]\ndomains = 2\n[gold]\nmails = 9\n[tiny]\naliases = 1",
        )
        .unwrap();
        apply_file(&mut c, Some(f)).unwrap();
        assert_eq!(c.mails["light"].quota, 1000);
        assert_eq!(c.accounts["basic"].domains, 2);
        assert_eq!(c.accounts["gold"].mails, 9);
        assert_eq!(c.mails["tiny"].aliases, 1);
        let bad: BTreeMap<String, FilePlan> = toml::from_str("[light]\ndomains = 2").unwrap();
        assert!(apply_file(&mut c, Some(bad)).is_err());
        let env = |k: &str| (k == "SEALPOST_PLANS_PREMIUM_ALIASES").then(|| "7".to_string());
        apply_env(&mut c, env).unwrap();
        assert_eq!(c.mails["premium"].aliases, 7);
        assert!(toml::from_str::<FilePlan>("unknown = 1").is_err());
    }
}
