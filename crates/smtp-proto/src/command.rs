//! Typed SMTP/LMTP commands.

/// `BODY=` of MAIL FROM (RFC 6152).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Body {
    SevenBit,
    EightBitMime,
}

/// The MAIL FROM parameters we serve.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MailParams {
    /// `SIZE=n` (RFC 1870).
    pub size: Option<u64>,
    /// `BODY=7BIT|8BITMIME`.
    pub body: Option<Body>,
    /// `SMTPUTF8` (RFC 6531).
    pub smtputf8: bool,
    /// `AUTH=` (RFC 4954 section 5): the identity the client says submitted the message,
    /// `<>` when unknown, xtext-decoded. Kept for logs; a submission server trusts the
    /// authenticated user, not this.
    pub auth: Option<String>,
}

/// One command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Helo(String),
    Ehlo(String),
    Lhlo(String),
    /// MAIL FROM; `from` is empty for the null reverse-path `<>`.
    Mail {
        from: String,
        params: MailParams,
    },
    /// RCPT TO; `to` is the forward-path without brackets (`postmaster` alone allowed).
    Rcpt {
        to: String,
    },
    Data,
    /// BDAT `size` [LAST] (RFC 3030): `size` octets of message follow the command line.
    Bdat {
        size: u64,
        last: bool,
    },
    Rset,
    Noop,
    Quit,
    Vrfy(String),
    Expn(String),
    Help(Option<String>),
    StartTls,
    /// AUTH `mechanism` [`initial`] (RFC 4954): the mechanism upper-cased; the initial
    /// response as sent (base64, or `=` for an empty one).
    Auth {
        mechanism: String,
        initial: Option<String>,
    },
}

impl Command {
    /// The verb, for logs.
    pub fn verb(&self) -> &'static str {
        match self {
            Command::Helo(_) => "HELO",
            Command::Ehlo(_) => "EHLO",
            Command::Lhlo(_) => "LHLO",
            Command::Mail { .. } => "MAIL",
            Command::Rcpt { .. } => "RCPT",
            Command::Data => "DATA",
            Command::Bdat { .. } => "BDAT",
            Command::Rset => "RSET",
            Command::Noop => "NOOP",
            Command::Quit => "QUIT",
            Command::Vrfy(_) => "VRFY",
            Command::Expn(_) => "EXPN",
            Command::Help(_) => "HELP",
            Command::StartTls => "STARTTLS",
            Command::Auth { .. } => "AUTH",
        }
    }
}
