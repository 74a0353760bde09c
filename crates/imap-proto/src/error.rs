//! The one error type of the crate: why [`parse_command`](crate::parse_command) could not
//! return a command yet (more input, a continuation to send) or at all (limits, syntax).

/// Outcome of a failed [`parse_command`](crate::parse_command) call.
///
/// `Incomplete` and `NeedsContinuation` are not errors of the client: the session reads more
/// bytes (after answering `+ ` for a continuation) and parses again from the start of the
/// same command. The other variants are answered with a tagged `BAD` (or `NO`) when the tag
/// is known, an untagged `* BAD` otherwise.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// The command is not complete yet: read more bytes and parse again.
    #[error("incomplete command: more input is needed")]
    Incomplete,
    /// The input ends right after a synchronising literal announcement `{n}`: the server
    /// answers `+ ` (or refuses the command) and parses again once more bytes arrived. The
    /// part of the command before the literal is already known to be valid.
    #[error("synchronising literal of {literal_size} bytes: a continuation is needed")]
    NeedsContinuation {
        /// Announced size of the literal.
        literal_size: u64,
    },
    /// A literal larger than [`Limits::max_literal_size`](crate::Limits::max_literal_size),
    /// or literals adding up to more than
    /// [`Limits::max_command_literal_bytes`](crate::Limits::max_command_literal_bytes).
    /// Nothing of it has been read: for a synchronising literal the session answers the tag
    /// and skips the line; for a non-synchronising one it must close the connection (or
    /// discard `size` bytes).
    #[error("literal of {size} bytes exceeds the limit of {limit} bytes")]
    LiteralTooLarge {
        /// The command's tag, when it could be read.
        tag: Option<String>,
        /// Announced size of the literal (saturated at `u64::MAX`).
        size: u64,
        /// The limit that was exceeded.
        limit: u64,
        /// Whether the offending literal is synchronising (`{n}`): the client then waits
        /// for `+ ` and sends nothing after a refusal. A non-synchronising one (`{n+}`,
        /// `{n-}`) is already on its way.
        sync: bool,
    },
    /// The command text (literal data excluded) is longer than
    /// [`Limits::max_line_length`](crate::Limits::max_line_length).
    #[error("command line longer than {limit} bytes")]
    LineTooLong {
        /// The command's tag, when it could be read.
        tag: Option<String>,
        /// The limit that was exceeded.
        limit: usize,
    },
    /// Syntax error: the session answers `<tag> BAD <message>` (or `* BAD` without a tag) and
    /// skips the command: [`command_len`](crate::command_len) gives its length when it is
    /// complete, otherwise skip to the end of the current line.
    #[error("{message}")]
    Bad {
        /// The command's tag, when it could be read.
        tag: Option<String>,
        /// Human-readable reason, safe to send to the client.
        message: String,
    },
    /// A well-formed command naming something the server refuses (a mailbox name that is
    /// not valid modified UTF-7, RFC 3501 5.1.3): `<tag> NO <message>`; the session skips
    /// the command as for `Bad`, but it is not a protocol error of the client.
    #[error("{message}")]
    Refused {
        /// The command's tag, when it could be read.
        tag: Option<String>,
        /// Human-readable reason, safe to send to the client.
        message: String,
    },
}

impl ParseError {
    /// The response the session sends for this error, `None` for `Incomplete` and
    /// `NeedsContinuation` (which are not errors). Syntax errors and overlong lines get
    /// `BAD`; a literal over the limits gets `NO [TOOBIG]` (RFC 7889), which for a
    /// synchronising literal means the client does not send the data.
    pub fn response(&self) -> Option<crate::StatusResponse> {
        use crate::{Code, Status, StatusResponse};
        let build = |tag: &Option<String>, status, text: String| StatusResponse {
            tag: tag.clone(),
            status,
            code: None,
            text,
        };
        match self {
            ParseError::Incomplete | ParseError::NeedsContinuation { .. } => None,
            ParseError::Bad { tag, message } => Some(build(tag, Status::Bad, message.clone())),
            ParseError::Refused { tag, message } => Some(build(tag, Status::No, message.clone())),
            ParseError::LineTooLong { tag, .. } => {
                Some(build(tag, Status::Bad, "Command line too long".into()))
            }
            ParseError::LiteralTooLarge { tag, .. } => {
                Some(build(tag, Status::No, "Literal too large".into()).with_code(Code::TooBig))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::*;

    #[test]
    fn errors_map_to_responses() {
        let encode = |e: ParseError| {
            e.response()
                .map(|r| Response::from(r).encode(EncodeOptions::default()))
        };
        assert_eq!(encode(ParseError::Incomplete), None);
        assert_eq!(
            encode(ParseError::Bad {
                tag: Some("a1".into()),
                message: "unknown command FROB".into()
            }),
            Some(b"a1 BAD unknown command FROB\r\n".to_vec())
        );
        assert_eq!(
            encode(ParseError::LineTooLong {
                tag: None,
                limit: 10
            }),
            Some(b"* BAD Command line too long\r\n".to_vec())
        );
        assert_eq!(
            encode(ParseError::LiteralTooLarge {
                tag: Some("a2".into()),
                size: 9,
                limit: 1,
                sync: true
            }),
            Some(b"a2 NO [TOOBIG] Literal too large\r\n".to_vec())
        );
    }
}
