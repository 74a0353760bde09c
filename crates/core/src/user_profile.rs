//! The rules of today's WildDuck user settings kept in [`UserProfile`]: what values are
//! accepted (`targets`, `spamLevel`, the limits, `metaData`/`internalData`), and what they
//! mean at delivery (`targets` forwarded, `spamLevel` applied to the MTA's verdict).

use crate::{Error, Result, validate};
use sealpost_store::model::UserProfile;

/// Most forwarding targets a user may have.
pub const MAX_TARGETS: usize = 256;
/// Largest `metaData` / `internalData` object, serialised (WildDuck: 1 MiB).
pub const MAX_META_BYTES: usize = 1024 * 1024;

/// One forwarding target, sorted by how it is delivered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A copy goes out through the outbound queue (within the `forwards` limit).
    Address(String),
    /// The message is POSTed there, as a filter's `targetUrl`.
    Url(String),
}

/// Parses one target as WildDuck accepts it: an address or an `http(s)://` URL. `smtp(s)://`
/// relay URLs are refused: we forward through our own outbound queue only.
pub fn parse_target(t: &str) -> Result<Target> {
    let t = t.trim();
    let lower = t.to_ascii_lowercase();
    if lower.starts_with("http://") || lower.starts_with("https://") {
        let host = t.split_once("://").map(|(_, rest)| rest).unwrap_or("");
        if host.is_empty()
            || t.len() > 2048
            || t.chars().any(|c| c.is_whitespace() || c.is_control())
        {
            return Err(Error::validation(
                format!("Invalid target URL: {t}"),
                "targets",
            ));
        }
        return Ok(Target::Url(t.to_string()));
    }
    if lower.starts_with("smtp://") || lower.starts_with("smtps://") {
        return Err(Error::validation(
            "SMTP relay targets are not supported; use an address or an http(s) URL",
            "targets",
        ));
    }
    let (address, _) = validate::address(t, "targets")?;
    Ok(Target::Address(address))
}

fn check_range(v: i64, field: &'static str, max: i64) -> Result<()> {
    if (0..=max).contains(&v) {
        Ok(())
    } else {
        Err(Error::validation(
            format!("{field} must be between 0 and {max}"),
            field,
        ))
    }
}

fn check_meta(m: &serde_json::Map<String, serde_json::Value>, field: &'static str) -> Result<()> {
    let size = serde_json::to_string(m)
        .map(|s| s.len())
        .unwrap_or(usize::MAX);
    if size > MAX_META_BYTES {
        return Err(Error::validation(format!("{field} is too large"), field));
    }
    Ok(())
}

/// Checks a whole profile (after an update was applied) and returns it with its targets in
/// their canonical form, duplicates removed.
pub fn check_profile(mut p: UserProfile) -> Result<UserProfile> {
    if p.targets.len() > MAX_TARGETS {
        return Err(Error::validation(
            format!("At most {MAX_TARGETS} targets are allowed"),
            "targets",
        ));
    }
    let mut targets: Vec<String> = Vec::with_capacity(p.targets.len());
    for t in &p.targets {
        let canonical = match parse_target(t)? {
            Target::Address(a) | Target::Url(a) => a,
        };
        if !targets.iter().any(|x| x.eq_ignore_ascii_case(&canonical)) {
            targets.push(canonical);
        }
    }
    p.targets = targets;
    check_range(p.spam_level, "spamLevel", 100)?;
    for (v, field) in [
        (p.filters, "filters"),
        (p.imap_max_upload, "imapMaxUpload"),
        (p.imap_max_download, "imapMaxDownload"),
        (p.imap_max_connections, "imapMaxConnections"),
        (p.pop3_max_download, "pop3MaxDownload"),
        (p.pop3_max_messages, "pop3MaxMessages"),
        (p.received_max, "receivedMax"),
    ] {
        check_range(v, field, i64::MAX)?;
    }
    if let Some(r) = &p.mta_relay {
        let lower = r.to_ascii_lowercase();
        if !(lower.starts_with("smtp://") || lower.starts_with("smtps://")) || r.len() > 1024 {
            return Err(Error::validation(
                "mtaRelay must be an smtp:// or smtps:// URL",
                "mtaRelay",
            ));
        }
    }
    check_meta(&p.meta_data, "metaData")?;
    check_meta(&p.internal_data, "internalData")?;
    Ok(p)
}

/// The spam verdict for a user with `spam_level` when the MTA said `marked`: 0 takes every
/// message as spam, 100 none, anything between follows the MTA.
pub fn is_spam(spam_level: i64, marked: bool) -> bool {
    match spam_level {
        i64::MIN..=0 => true,
        100.. => false,
        _ => marked,
    }
}

/// The user's targets split by how they are delivered: (addresses, URLs).
pub fn split_targets(p: &UserProfile) -> (Vec<String>, Vec<String>) {
    let (mut addresses, mut urls) = (Vec::new(), Vec::new());
    for t in &p.targets {
        match parse_target(t) {
            Ok(Target::Address(a)) => addresses.push(a),
            Ok(Target::Url(u)) => urls.push(u),
            Err(_) => {}
        }
    }
    (addresses, urls)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets() {
        assert_eq!(
            parse_target(" a@example.com ").unwrap(),
            Target::Address("a@example.com".into())
        );
        assert_eq!(
            parse_target("https://example.com/hook").unwrap(),
            Target::Url("https://example.com/hook".into())
        );
        assert!(parse_target("smtp://mx.example.com:25").is_err());
        assert!(parse_target("https://").is_err());
        assert!(parse_target("not an address").is_err());
        let p = check_profile(UserProfile {
            targets: vec![
                "a@example.com".into(),
                "A@example.com".into(),
                "https://x.test/".into(),
            ],
            ..UserProfile::default()
        })
        .unwrap();
        assert_eq!(p.targets, vec!["a@example.com", "https://x.test/"]);
        assert_eq!(
            split_targets(&p),
            (
                vec!["a@example.com".to_string()],
                vec!["https://x.test/".to_string()]
            )
        );
    }

    #[test]
    fn ranges_and_meta() {
        assert!(
            check_profile(UserProfile {
                spam_level: 101,
                ..Default::default()
            })
            .is_err()
        );
        assert!(
            check_profile(UserProfile {
                spam_level: -1,
                ..Default::default()
            })
            .is_err()
        );
        assert!(
            check_profile(UserProfile {
                received_max: -5,
                ..Default::default()
            })
            .is_err()
        );
        assert!(
            check_profile(UserProfile {
                mta_relay: Some("http://x".into()),
                ..Default::default()
            })
            .is_err()
        );
        let mut big = serde_json::Map::new();
        big.insert(
            "k".into(),
            serde_json::Value::String("x".repeat(MAX_META_BYTES)),
        );
        assert!(
            check_profile(UserProfile {
                meta_data: big,
                ..Default::default()
            })
            .is_err()
        );
        assert!(check_profile(UserProfile::default()).is_ok());
    }

    #[test]
    fn spam_level() {
        assert!(is_spam(0, false));
        assert!(!is_spam(100, true));
        assert!(is_spam(50, true));
        assert!(!is_spam(50, false));
    }
}
