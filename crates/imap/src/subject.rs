//! The base subject of RFC 5256 §2.1, which SORT SUBJECT and both THREAD algorithms compare.
//!
//! This follows the RFC's grammar exactly: only `re`, `fw` and `fwd` are reply/forward
//! markers. `sealpost_mime::normalize_subject` (the REST API's thread key) also strips
//! localised markers such as `Aw:` and `Sv:`, which common practice does; IMAP clients
//! compare SORT and THREAD results against the RFC's definition, so it is not reused here.

/// A subject reduced to its base, compared with i;ascii-casemap (the RFC's default).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BaseSubject {
    /// The base subject with ASCII letters lower-cased: equal keys are the same subject.
    pub key: String,
    /// Extraction removed a reply or forward marker (`Re:`, `Fwd:`, `(fwd)`, `[fwd: ...]`):
    /// THREAD=REFERENCES uses this when grouping threads by subject.
    pub reply: bool,
}

fn starts_with_ci(s: &str, prefix: &str) -> bool {
    s.as_bytes()
        .get(..prefix.len())
        .is_some_and(|h| h.eq_ignore_ascii_case(prefix.as_bytes()))
}

/// `subj-blob = "[" *BLOBCHAR "]" *WSP`: the text after it, or `None`.
fn strip_blob(s: &str) -> Option<&str> {
    let rest = s.strip_prefix('[')?;
    let end = rest.find(['[', ']'])?;
    let after = rest.strip_prefix(rest.get(..end)?)?.strip_prefix(']')?;
    Some(after.trim_start_matches(' '))
}

/// `*subj-blob subj-refwd` with `subj-refwd = ("re" / ("fw" ["d"])) *WSP [subj-blob] ":"`.
fn strip_refwd(s: &str) -> Option<&str> {
    let mut p = s;
    while let Some(rest) = strip_blob(p) {
        p = rest;
    }
    let marker = ["fwd", "fw", "re"]
        .into_iter()
        .find(|m| starts_with_ci(p, m))?;
    let mut rest = p.get(marker.len()..)?.trim_start_matches(' ');
    if let Some(after) = strip_blob(rest) {
        rest = after;
    }
    rest.strip_prefix(':')
}

/// Extracts the base subject of a decoded subject (RFC 5256 §2.1 steps 1 to 7).
pub(crate) fn base_subject(subject: &str) -> BaseSubject {
    // (1) Whitespace runs (tabs, folding) become one space.
    let collapsed = subject
        .split([' ', '\t', '\r', '\n'])
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    let mut s = collapsed.as_str();
    let mut reply = false;
    loop {
        // (2) Trailing "(fwd)" and whitespace.
        loop {
            s = s.trim_end_matches(' ');
            let cut = s.len().saturating_sub(5);
            match s.get(cut..) {
                Some(tail) if tail.eq_ignore_ascii_case("(fwd)") => {
                    s = s.get(..cut).unwrap_or_default();
                    reply = true;
                }
                _ => break,
            }
        }
        // (3)-(5) Leaders, then one blob when something remains after it, until stable.
        loop {
            let before = s.len();
            loop {
                if let Some(rest) = s.strip_prefix(' ') {
                    s = rest;
                } else if let Some(rest) = strip_refwd(s) {
                    s = rest;
                    reply = true;
                } else {
                    break;
                }
            }
            if let Some(rest) = strip_blob(s)
                && !rest.is_empty()
            {
                s = rest;
            }
            if s.len() == before {
                break;
            }
        }
        // (6) "[fwd: ...]" is unwrapped and the whole extraction repeated.
        if starts_with_ci(s, "[fwd:") && s.ends_with(']') {
            s = s.get(5..s.len() - 1).unwrap_or_default();
            reply = true;
            continue;
        }
        break;
    }
    BaseSubject {
        key: s.to_ascii_lowercase(),
        reply,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(s: &str) -> String {
        base_subject(s).key
    }

    #[test]
    fn strips_rfc5256_markers() {
        assert_eq!(key("Hello"), "hello");
        assert_eq!(key("Re: Hello"), "hello");
        assert_eq!(key("RE: re: Fwd: FW: hello  world"), "hello world");
        assert_eq!(key("Re [2]: Hello"), "hello");
        assert_eq!(key("[list] Re: Hello"), "hello");
        assert_eq!(key("[list] [x] Hello"), "hello");
        assert_eq!(key("Re: [list] Re: Hello (fwd)"), "hello");
        assert_eq!(key("[Fwd: Re: Hello]"), "hello");
        assert_eq!(key("Re: [fwd: [list] hello] (fwd)"), "hello");
        assert_eq!(key("\tHello\r\n  there "), "hello there");
        // A blob alone is the subject; localised markers are not RFC 5256 markers.
        assert_eq!(key("[only]"), "[only]");
        assert_eq!(key("AW: Hallo"), "aw: hallo");
        assert_eq!(key("Reply: x"), "reply: x");
        assert_eq!(key(""), "");
        assert_eq!(key("Re:"), "");
        // Non-ASCII text is kept; only ASCII letters are folded (i;ascii-casemap).
        assert_eq!(key("Re: Ärger (fwd)"), "Ärger");
    }

    #[test]
    fn reports_replies() {
        assert!(!base_subject("Hello").reply);
        assert!(!base_subject("[list] Hello").reply);
        assert!(base_subject("Re: Hello").reply);
        assert!(base_subject("Hello (fwd)").reply);
        assert!(base_subject("[Fwd: Hello]").reply);
    }
}
