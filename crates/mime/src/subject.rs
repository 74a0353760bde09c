//! The threading key of a subject: roughly the RFC 5256 "base subject".

/// Reply and forward markers stripped from the front of a subject ("Re:", "Fwd:", and the
/// common German, Nordic, Dutch, Italian, Polish and French ones).
const REFWD: &[&str] = &[
    "antw", "fwd", "rif", "odp", "re", "fw", "aw", "sv", "wg", "vs", "tr",
];

/// Strips leading `Re:`/`Fwd:`/`Fw:`/`Aw:`/`Sv:` (with optional `[n]` counters),
/// `[list-tag]` blobs and `(fwd)`, trailing `(fwd)`, unwraps `[fwd: ...]`, collapses
/// whitespace and lower-cases.
pub fn normalize_subject(subject: &str) -> String {
    let mut s = subject.split_whitespace().collect::<Vec<_>>().join(" ");
    loop {
        let before = s.len();
        let mut current = s.as_str();
        loop {
            let trimmed = current.trim_end();
            match strip_suffix_ci(trimmed, "(fwd)") {
                Some(rest) => current = rest,
                None => {
                    current = trimmed;
                    break;
                }
            }
        }
        while let Some(rest) = strip_leader(current.trim_start()) {
            current = rest;
        }
        current = current.trim();
        if let Some(inner) =
            strip_prefix_ci(current, "[fwd:").and_then(|rest| rest.strip_suffix(']'))
        {
            current = inner.trim();
        }
        s = current.to_string();
        if s.len() == before {
            break;
        }
    }
    s.to_lowercase()
}

fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    if head.eq_ignore_ascii_case(prefix) {
        s.get(prefix.len()..)
    } else {
        None
    }
}

fn strip_suffix_ci<'a>(s: &'a str, suffix: &str) -> Option<&'a str> {
    let cut = s.len().checked_sub(suffix.len())?;
    let tail = s.get(cut..)?;
    if tail.eq_ignore_ascii_case(suffix) {
        s.get(..cut)
    } else {
        None
    }
}

/// One leading `(fwd)`, `[blob]` (when something follows it) or `re:`-like marker removed.
fn strip_leader(s: &str) -> Option<&str> {
    if let Some(rest) = strip_prefix_ci(s, "(fwd)") {
        return Some(rest.trim_start());
    }
    if s.starts_with('[') && !s.get(..5).is_some_and(|h| h.eq_ignore_ascii_case("[fwd:")) {
        let rest = skip_blob(s)?.trim_start();
        return if rest.is_empty() { None } else { Some(rest) };
    }
    for marker in REFWD {
        let Some(rest) = strip_prefix_ci(s, marker) else {
            continue;
        };
        let mut rest = rest.trim_start();
        if rest.starts_with('[') {
            rest = skip_blob(rest).unwrap_or(rest).trim_start();
        }
        if let Some(rest) = rest.strip_prefix(':').or_else(|| rest.strip_prefix('：')) {
            return Some(rest.trim_start());
        }
    }
    None
}

/// After a `[...]` blob (no nested brackets) at the start of `s`.
fn skip_blob(s: &str) -> Option<&str> {
    let inner = s.strip_prefix('[')?;
    let close = inner.find([']', '['])?;
    if inner.get(close..close + 1) != Some("]") {
        return None;
    }
    inner.get(close + 1..)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_subjects() {
        for (subject, base) in [
            ("Hello", "hello"),
            ("Re: Hello", "hello"),
            ("RE: re: Fwd: Hello", "hello"),
            ("Re[2]: Hello", "hello"),
            ("Re : Hello", "hello"),
            ("AW: SV: Fw: Hello", "hello"),
            ("[list] Re: [list] Hello  world", "hello world"),
            ("Hello (fwd)", "hello"),
            ("(fwd) Hello (FWD) (fwd)", "hello"),
            ("[Fwd: Re: Hello]", "hello"),
            ("[PATCH]", "[patch]"),
            ("Rerun: tests", "rerun: tests"),
            ("Re:", ""),
            ("", ""),
            ("  Ré:  Ünïcode  ", "ré: ünïcode"),
            ("Re: [unclosed", "[unclosed"),
        ] {
            assert_eq!(normalize_subject(subject), base, "{subject:?}");
        }
    }
}
