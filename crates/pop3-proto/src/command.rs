//! The typed commands a POP3 client sends.

/// A POP3 command. Message numbers are as sent (1-based); whether one names a message of
/// the maildrop is the session's business.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// `USER name` (RFC 1939 section 7).
    User(String),
    /// `PASS password`: the rest of the line, spaces included (RFC 1939 section 7).
    Pass(String),
    /// `AUTH [mechanism [initial-response]]` (RFC 5034). Without a mechanism, the client asks
    /// for the list of mechanisms. `initial_response` is the base64 text as sent (`=` stands
    /// for an empty response).
    Auth {
        mechanism: Option<String>,
        initial_response: Option<String>,
    },
    /// `CAPA` (RFC 2449).
    Capa,
    /// `STLS` (RFC 2595).
    Stls,
    Stat,
    List(Option<u32>),
    Retr(u32),
    Dele(u32),
    Rset,
    /// `TOP msg n`: the header and the first `n` lines of the body.
    Top(u32, u32),
    Uidl(Option<u32>),
    Noop,
    Quit,
}

impl Command {
    /// The command's name, for logs.
    pub fn name(&self) -> &'static str {
        match self {
            Command::User(_) => "USER",
            Command::Pass(_) => "PASS",
            Command::Auth { .. } => "AUTH",
            Command::Capa => "CAPA",
            Command::Stls => "STLS",
            Command::Stat => "STAT",
            Command::List(_) => "LIST",
            Command::Retr(_) => "RETR",
            Command::Dele(_) => "DELE",
            Command::Rset => "RSET",
            Command::Top(..) => "TOP",
            Command::Uidl(_) => "UIDL",
            Command::Noop => "NOOP",
            Command::Quit => "QUIT",
        }
    }
}
