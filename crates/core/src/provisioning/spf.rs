//! `domain.validate.spf`: looks the domain's SPF record up (TXT, through the server's
//! resolvers, `[dns] servers`) and says whether it lets this server send for the domain:
//! exactly one `v=spf1` record, naming `include:<[users] domain>` (or `a:`/`mx:` of it).

use super::Principal;
use crate::{Core, Error, Result};
use serde::Serialize;

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct SpfCheck {
    pub domain: String,
    /// The SPF record found (the first one when there are several).
    pub record: Option<String>,
    pub valid: bool,
    /// What the record must name for this server.
    pub expected: String,
    /// Why it is not valid (empty when it is).
    pub errors: Vec<String>,
}

/// The verdict on the TXT records of a domain.
pub(crate) fn judge(domain: &str, txt: &[String], ours: &str) -> SpfCheck {
    let spf: Vec<&String> = txt
        .iter()
        .filter(|t| {
            let t = t.trim().to_ascii_lowercase();
            t == "v=spf1" || t.starts_with("v=spf1 ")
        })
        .collect();
    let ours = ours.to_ascii_lowercase();
    let expected = format!("include:{ours}");
    let mut errors = Vec::new();
    match spf.len() {
        0 => errors.push("no SPF record (TXT v=spf1 ...)".to_string()),
        1 => {}
        n => errors.push(format!(
            "{n} SPF records: there must be exactly one (RFC 7208 4.5)"
        )),
    }
    if let Some(r) = spf.first() {
        let names_us = r.split_whitespace().skip(1).any(|term| {
            let t = term
                .trim_start_matches(['+', '?', '~'])
                .to_ascii_lowercase();
            t == expected || t == format!("a:{ours}") || t == format!("mx:{ours}")
        });
        if !names_us {
            errors.push(format!("the record does not name {expected}"));
        }
    }
    SpfCheck {
        domain: domain.to_string(),
        record: spf.first().map(|r| r.to_string()),
        valid: errors.is_empty(),
        expected,
        errors,
    }
}

impl Core {
    pub async fn rpc_domain_validate_spf(&self, p: &Principal, name: &str) -> Result<SpfCheck> {
        let (_, d) = self.owned_domain(p, name).await?;
        let txt = match self.dns.txt(&d.name).await {
            Ok(t) => t,
            Err(e) if e.is_not_found() => Vec::new(),
            Err(e) => {
                return Err(Error::Forbidden {
                    message: e.to_string(),
                    code: super::DNS_ERROR,
                });
            }
        };
        Ok(judge(&d.name, &txt, &self.config.domain))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdicts() {
        let v = |t: &[&str]| {
            judge(
                "a.example",
                &t.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
                "mail.test",
            )
        };
        assert!(v(&["v=spf1 include:mail.test -all"]).valid);
        assert!(v(&["other", "v=spf1 mx +a:MAIL.test ~all"]).valid);
        let c = v(&["v=spf1 include:elsewhere.example -all"]);
        assert!(!c.valid && c.errors.len() == 1);
        assert_eq!(
            c.record.as_deref(),
            Some("v=spf1 include:elsewhere.example -all")
        );
        let c = v(&["v=spf1 include:mail.test", "v=spf1 -all"]);
        assert!(!c.valid);
        let c = v(&[]);
        assert!(!c.valid && c.record.is_none());
        assert!(!v(&["v=spf10 include:mail.test"]).valid);
    }
}
