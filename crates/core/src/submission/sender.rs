//! The sender rule of submission, in one place: an authenticated user may send as one of its
//! own addresses (found the way delivery finds recipients: case-insensitive, either IDN
//! spelling, `+tag`), or as an address its `fromWhitelist` allows (`*` matches any run of
//! characters, as WildDuck's). An address at a domain alias (WildDuck's `/domainaliases`) is
//! the user's when the same address at the alias target is ([`Core::normal_address`]).

use crate::{Core, Error, Result};
use sealpost_store::model::UserRecord;

/// Entries of a `fromWhitelist` at most.
pub const MAX_FROM_WHITELIST: usize = 1000;
/// Longest entry (WildDuck: 128).
const MAX_ENTRY: usize = 128;

/// Validates and normalises `fromWhitelist`: lower-case, trimmed, no duplicates; an entry is
/// printable, without spaces or commas, at most 128 characters.
pub fn parse_from_whitelist(given: &[String]) -> Result<Vec<String>> {
    if given.len() > MAX_FROM_WHITELIST {
        return Err(Error::validation(
            format!("\"fromWhitelist\" may have at most {MAX_FROM_WHITELIST} entries"),
            "fromWhitelist",
        ));
    }
    let mut out: Vec<String> = Vec::new();
    for entry in given {
        let e = entry.trim().to_lowercase();
        if e.is_empty() {
            continue;
        }
        if e.chars().count() > MAX_ENTRY
            || e.chars()
                .any(|c| c.is_control() || c.is_whitespace() || c == ',')
        {
            return Err(Error::validation(
                format!(
                    "\"fromWhitelist\" entries must be addresses (\"*\" allowed) of at most {MAX_ENTRY} characters"
                ),
                "fromWhitelist",
            ));
        }
        if !out.contains(&e) {
            out.push(e);
        }
    }
    Ok(out)
}

/// Whether `pattern` (`*` = any run of characters) matches all of `text`.
fn glob(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    // Iterative matching with one backtrack point: linear in practice, never exponential.
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if pi < p.len() && p[pi] == t[ti] {
            pi += 1;
            ti += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

/// Whether an address is allowed by a whitelist.
pub(crate) fn whitelisted(whitelist: &[String], address: &str) -> bool {
    let a = address.trim().to_lowercase();
    whitelist.iter().any(|pattern| glob(pattern, &a))
}

impl Core {
    /// Whether `user` may send mail as `address` (envelope sender or `From:`).
    pub async fn may_send_as(&self, user: &UserRecord, address: &str) -> Result<bool> {
        if whitelisted(&user.from_whitelist, address) {
            return Ok(true);
        }
        let Some(norm) = self.normal_address(address).await? else {
            return Ok(false);
        };
        let owner = self.store.find_recipient(&norm.candidates()).await?;
        Ok(owner.is_some_and(|o| o.id == user.id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whitelist_entries_are_checked() {
        let v = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            parse_from_whitelist(&v(&[" A@Example.com", "*@x.test", "a@example.com", ""])).unwrap(),
            v(&["a@example.com", "*@x.test"])
        );
        assert!(parse_from_whitelist(&v(&["a b@x"])).is_err());
        assert!(parse_from_whitelist(&v(&["a,b@x"])).is_err());
        assert!(parse_from_whitelist(&v(&[&"a".repeat(129)])).is_err());
        assert!(parse_from_whitelist(&vec!["a@x".to_string(); 1001]).is_err());
    }

    #[test]
    fn wildcards_match_whole_addresses() {
        let w = vec![
            "*@lists.example.com".to_string(),
            "news*@example.org".to_string(),
        ];
        assert!(whitelisted(&w, "Team@Lists.Example.com"));
        assert!(whitelisted(&w, "news-2024@example.org"));
        assert!(!whitelisted(&w, "team@lists.example.com.evil"));
        assert!(!whitelisted(&w, "a@example.org"));
        assert!(glob("*", ""));
        assert!(glob("a*b*c", "aXbYbc"));
        assert!(!glob("a*b", "ab c"));
        assert!(glob("exact@x", "exact@x"));
        // Many stars against a long text stays fast (no exponential backtracking).
        assert!(!glob(&"*a".repeat(50), &"a".repeat(49)));
    }
}
