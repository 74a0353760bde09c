//! Message flags: the system flags of RFC 3501 and keywords.

use std::fmt;

/// A message flag as it appears on the wire.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Flag {
    /// `\Seen`
    Seen,
    /// `\Answered`
    Answered,
    /// `\Flagged`
    Flagged,
    /// `\Deleted`
    Deleted,
    /// `\Draft`
    Draft,
    /// `\Recent` (IMAP4rev1 only; never stored by the client)
    Recent,
    /// A keyword such as `$Forwarded` or `Work` (case kept as sent).
    Keyword(String),
    /// Another `\`-flag (an unknown system flag), without the backslash.
    Extension(String),
}

impl Flag {
    /// The flag for `name` as written on the wire (`\Seen`, `$Junk`, ...). System flags are
    /// case-insensitive.
    pub fn from_wire(name: &str) -> Flag {
        match name.strip_prefix('\\') {
            Some(system) => match system.to_ascii_lowercase().as_str() {
                "seen" => Flag::Seen,
                "answered" => Flag::Answered,
                "flagged" => Flag::Flagged,
                "deleted" => Flag::Deleted,
                "draft" => Flag::Draft,
                "recent" => Flag::Recent,
                _ => Flag::Extension(system.to_string()),
            },
            None => Flag::Keyword(name.to_string()),
        }
    }
}

impl fmt::Display for Flag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Flag::Seen => f.write_str("\\Seen"),
            Flag::Answered => f.write_str("\\Answered"),
            Flag::Flagged => f.write_str("\\Flagged"),
            Flag::Deleted => f.write_str("\\Deleted"),
            Flag::Draft => f.write_str("\\Draft"),
            Flag::Recent => f.write_str("\\Recent"),
            Flag::Keyword(k) => f.write_str(k),
            Flag::Extension(e) => write!(f, "\\{e}"),
        }
    }
}
