//! Validation and normalisation of client-supplied names: usernames, addresses, paths.

use crate::{Error, Result};

/// Usernames: 1..=128 of letters, digits and `.-_@+`, not starting with a symbol.
pub fn username(u: &str) -> Result<String> {
    // WildDuck's rule: 1 to 128 characters; no `*`, no leading, trailing or doubled dot, no
    // dot next to `@`, no control characters, spaces or characters 0x7f-0xff.
    let u = u.trim();
    let bad_char = |c: char| (c as u32) <= 0x20 || (0x7f..=0xff).contains(&(c as u32));
    let bad = u.is_empty()
        || u.chars().count() > 128
        || u.contains('*')
        || u.starts_with('.')
        || u.ends_with('.')
        || u.contains("..")
        || u.contains(".@")
        || u.contains("@.")
        || u.chars().any(bad_char);
    if bad {
        Err(Error::validation(
            format!(
                "\"username\" with value \"{}\" matches the inverted username pattern",
                u.escape_default()
            ),
            "username",
        ))
    } else {
        Ok(u.to_string())
    }
}

/// An e-mail address, internationalised ones included (RFC 6531: UTF-8 local part and
/// domain). Returns (address as given but trimmed, normalised form for lookups).
pub fn address(a: &str, field: &'static str) -> Result<(String, String)> {
    let a = a.trim();
    let bad = || Error::validation(format!("Invalid email address: {a}"), field);
    if a.len() > 254
        || a.chars().any(|c| {
            c.is_whitespace() || c.is_control() || matches!(c, '<' | '>' | ',' | ';' | '"')
        })
    {
        return Err(bad());
    }
    let (local, domain) = a.rsplit_once('@').ok_or_else(bad)?;
    if local.is_empty()
        || local.len() > 64
        || local.contains('@')
        || domain.is_empty()
        || domain.starts_with('.')
        || domain.ends_with('.')
        || domain.contains("..")
        || !domain.contains('.') && domain != "localhost"
    {
        return Err(bad());
    }
    Ok((a.to_string(), normalize_address(a)))
}

/// Lookup form of an address: Unicode lower case. (Dots and `+tags` are kept: they are
/// distinct addresses; subaddressing is resolved by delivery.)
pub fn normalize_address(a: &str) -> String {
    a.trim().to_lowercase()
}

/// A domain name as domain-wide settings store it (aliases, access lists): lower case, in
/// its Unicode form (an IDNA `xn--` spelling is converted), each label 1..=63 letters,
/// digits, `-` or `_` once in ASCII, at most 253 characters.
pub fn domain(d: &str, field: &'static str) -> Result<String> {
    let d = d.trim().trim_end_matches('.').to_lowercase();
    let bad = || Error::validation(format!("\"{field}\" must be a valid domain name"), field);
    let ascii = idna::domain_to_ascii(&d).map_err(|_| bad())?;
    let valid = !ascii.is_empty()
        && ascii.len() <= 253
        && ascii.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && l.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        });
    if !valid {
        return Err(bad());
    }
    let (unicode, ok) = idna::domain_to_unicode(&ascii);
    Ok(if ok.is_ok() {
        unicode.to_lowercase()
    } else {
        ascii
    })
}

/// A mailbox path: `/`-separated segments, each 1..=255 characters without control
/// characters; at most 1,024 bytes and 32 levels. `INBOX` is matched case-insensitively.
pub fn mailbox_path(p: &str) -> Result<String> {
    let p = p.trim_matches('/');
    let bad = |why: &str| Error::validation(format!("Invalid mailbox path: {why}"), "path");
    if p.is_empty() {
        return Err(bad("empty"));
    }
    if p.len() > 1024 {
        return Err(bad("longer than 1024 bytes"));
    }
    let segments: Vec<&str> = p.split('/').collect();
    if segments.len() > 32 {
        return Err(bad("more than 32 levels"));
    }
    for s in &segments {
        if s.is_empty()
            || s.chars().count() > 255
            || s.chars().any(char::is_control)
            || s.trim() != *s
        {
            return Err(bad(
                "empty, too long, or padded segment, or control characters",
            ));
        }
    }
    if segments[0].eq_ignore_ascii_case("INBOX") {
        let mut out = String::from("INBOX");
        for s in &segments[1..] {
            out.push('/');
            out.push_str(s);
        }
        return Ok(out);
    }
    Ok(p.to_string())
}

/// The ancestors of a path, outermost first: "a/b/c" → ["a", "a/b"].
pub fn parents(path: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut acc = String::new();
    let segments: Vec<&str> = path.split('/').collect();
    for s in &segments[..segments.len().saturating_sub(1)] {
        if !acc.is_empty() {
            acc.push('/');
        }
        acc.push_str(s);
        out.push(acc.clone());
    }
    out
}

/// Free text from a client (names, queries, keys): no NUL or other control characters
/// except tab and line breaks (PostgreSQL cannot store NUL; neither engine should differ).
pub fn text(s: &str, field: &'static str) -> Result<()> {
    if s.chars()
        .any(|c| c.is_control() && !matches!(c, '\t' | '\r' | '\n'))
    {
        return Err(Error::validation(
            format!("{field} contains control characters"),
            field,
        ));
    }
    Ok(())
}

/// Tags: trimmed, lower-cased, deduplicated; at most 100 of at most 64 characters.
pub fn tags(list: &[String]) -> Result<Vec<String>> {
    let mut out: Vec<String> = Vec::new();
    for t in list {
        let t = t.trim().to_lowercase();
        if t.is_empty() {
            continue;
        }
        if t.chars().count() > 64 || t.contains(',') || t.chars().any(char::is_control) {
            return Err(Error::validation(
                "Invalid tag: at most 64 characters, no commas",
                "tags",
            ));
        }
        if !out.contains(&t) {
            out.push(t);
        }
    }
    if out.len() > 100 {
        return Err(Error::validation("Too many tags (at most 100)", "tags"));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses() {
        assert_eq!(
            address(" User@Example.com ", "a").unwrap(),
            ("User@Example.com".into(), "user@example.com".into())
        );
        assert_eq!(
            address("андрис@уайлддак.орг", "a").unwrap().1,
            "андрис@уайлддак.орг"
        );
        for bad in [
            "", "a", "@b.c", "a@", "a b@c.d", "a@b", "a@@b.c", "a@.b.c", "a@b..c", "<a@b.c>",
        ] {
            assert!(address(bad, "a").is_err(), "{bad}");
        }
    }

    #[test]
    fn domains() {
        assert_eq!(domain(" Example.COM. ", "d").unwrap(), "example.com");
        assert_eq!(
            domain("xn--bcher-kva.example", "d").unwrap(),
            "bücher.example"
        );
        assert_eq!(domain("BÜCHER.example", "d").unwrap(), "bücher.example");
        for bad in ["", "a b.example", "a..b", "a@b.example", &"a".repeat(64)] {
            assert!(domain(bad, "d").is_err(), "{bad}");
        }
    }

    #[test]
    fn paths() {
        assert_eq!(mailbox_path("inbox/Sub").unwrap(), "INBOX/Sub");
        assert_eq!(mailbox_path("/A/B/").unwrap(), "A/B");
        assert!(mailbox_path("A//B").is_err());
        assert!(mailbox_path("").is_err());
        assert!(mailbox_path("a\u{0}b").is_err());
        assert_eq!(parents("a/b/c"), vec!["a".to_string(), "a/b".to_string()]);
        assert!(parents("a").is_empty());
    }

    #[test]
    fn usernames_and_tags() {
        assert!(username("john.doe").is_ok());
        assert!(username(".john").is_err());
        assert!(username("a b").is_err());
        for bad in [
            "",
            "john.",
            "jo..hn",
            "jo.@x",
            "jo@.x",
            "a*b",
            "ab\u{7f}",
            "caf\u{e9}",
        ] {
            assert!(username(bad).is_err(), "{bad}");
        }
        for good in ["john", "john.doe@example.com", "-x_y+z", "\u{444}\u{451}"] {
            assert!(username(good).is_ok(), "{good}");
        }
        assert!(username(&"a".repeat(129)).is_err());
        assert_eq!(
            tags(&["Red".into(), "red".into(), " ".into()]).unwrap(),
            vec!["red".to_string()]
        );
    }
}
