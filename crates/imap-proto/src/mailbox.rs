//! Mailbox names: decoded once at the edge (modified UTF-7 or UTF-8), `INBOX` normalised.

use std::fmt;

use crate::utf7::decode_utf7;

/// A mailbox name (or LIST pattern) as Unicode text. `INBOX` in any case is stored as
/// `INBOX`; nothing else is changed (the hierarchy delimiter is the session's business).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MailboxName(String);

impl MailboxName {
    /// A name from Unicode text, normalising `INBOX`.
    pub fn new(name: impl Into<String>) -> Self {
        let name = name.into();
        if name.eq_ignore_ascii_case("INBOX") {
            MailboxName("INBOX".to_string())
        } else {
            MailboxName(name)
        }
    }

    /// Decodes a name as received: raw UTF-8 when it has 8-bit bytes or `utf8_accept` is on,
    /// modified UTF-7 otherwise. Names with control characters (after decoding) are refused.
    pub fn from_wire(raw: &[u8], utf8_accept: bool) -> Option<Self> {
        let text = if utf8_accept || !raw.is_ascii() {
            std::str::from_utf8(raw).ok()?.to_string()
        } else {
            decode_utf7(raw)?
        };
        if text.chars().any(char::is_control) {
            return None;
        }
        Some(MailboxName::new(text))
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether this is the INBOX.
    pub fn is_inbox(&self) -> bool {
        self.0 == "INBOX"
    }
}

impl fmt::Display for MailboxName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
