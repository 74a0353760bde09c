//! Bounds on what one command may make the parser read and allocate.

/// Limits applied by [`parse_command`](crate::parse_command), plus the one session switch
/// that changes the grammar (UTF8=ACCEPT).
///
/// The parser never allocates more than a small constant times the bytes actually received,
/// and never more than these limits allow, whatever sizes the client announces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Maximum length of the command text, CRLFs included and literal data excluded,
    /// summed over all lines of the command. Default 64 KiB.
    pub max_line_length: usize,
    /// Maximum size of one literal. Default 64 MiB (APPEND); lower it before login.
    pub max_literal_size: u64,
    /// Maximum sum of literal sizes in one command (MULTIAPPEND). Default 256 MiB.
    pub max_command_literal_bytes: u64,
    /// Maximum size of one non-synchronising literal (`{n+}`, `{n-}`): 4096 when the server
    /// advertises LITERAL- (RFC 7888), `max_literal_size` (the default) with LITERAL+.
    pub max_non_sync_literal_size: u64,
    /// Maximum nesting of parenthesised lists and of SEARCH keys (OR/NOT/parens). Default 64.
    pub max_depth: usize,
    /// Maximum number of ranges in one sequence set. Default 10,000.
    pub max_sequence_ranges: usize,
    /// UTF8=ACCEPT is enabled: mailbox names are raw UTF-8, not modified UTF-7.
    pub utf8_accept: bool,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_line_length: 64 * 1024,
            max_literal_size: 64 * 1024 * 1024,
            max_command_literal_bytes: 256 * 1024 * 1024,
            max_non_sync_literal_size: 64 * 1024 * 1024,
            max_depth: 64,
            max_sequence_ranges: 10_000,
            utf8_accept: false,
        }
    }
}
