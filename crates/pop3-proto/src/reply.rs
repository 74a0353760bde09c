//! Status lines: `+OK text` and `-ERR [CODE] text`, and the end of a multi-line response.

/// The line that ends a multi-line response.
pub const END: &[u8] = b".\r\n";

/// Extended response codes (RFC 2449 section 8, RFC 3206), sent in brackets after `-ERR`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Code {
    /// The credentials were fine but the maildrop cannot be opened now (RFC 2449 8.1.2).
    InUse,
    /// A temporary problem of the server: try again later (RFC 3206 4).
    SysTemp,
    /// A permanent problem of the server (RFC 3206 4).
    SysPerm,
    /// A problem with the credentials or the way they were sent (RFC 3206 5).
    Auth,
}

impl Code {
    pub fn as_str(self) -> &'static str {
        match self {
            Code::InUse => "IN-USE",
            Code::SysTemp => "SYS/TEMP",
            Code::SysPerm => "SYS/PERM",
            Code::Auth => "AUTH",
        }
    }
}

/// A status line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub ok: bool,
    pub code: Option<Code>,
    pub text: String,
}

impl Reply {
    pub fn ok(text: impl Into<String>) -> Reply {
        Reply {
            ok: true,
            code: None,
            text: text.into(),
        }
    }

    pub fn err(text: impl Into<String>) -> Reply {
        Reply {
            ok: false,
            code: None,
            text: text.into(),
        }
    }

    pub fn with_code(mut self, code: Code) -> Reply {
        self.code = Some(code);
        self
    }

    /// Appends the line to `out`. Line ends and other control characters in the text are
    /// replaced by spaces, so a reply is always one line.
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(if self.ok { b"+OK" } else { b"-ERR" });
        if let Some(code) = self.code {
            out.extend_from_slice(b" [");
            out.extend_from_slice(code.as_str().as_bytes());
            out.push(b']');
        }
        if !self.text.is_empty() {
            out.push(b' ');
            out.extend(
                self.text
                    .bytes()
                    .map(|b| if b.is_ascii_control() { b' ' } else { b }),
            );
        }
        out.extend_from_slice(b"\r\n");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode(r: Reply) -> String {
        let mut out = Vec::new();
        r.encode_into(&mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn lines() {
        assert_eq!(encode(Reply::ok("2 320")), "+OK 2 320\r\n");
        assert_eq!(encode(Reply::ok("")), "+OK\r\n");
        assert_eq!(
            encode(Reply::err("Authentication failed").with_code(Code::Auth)),
            "-ERR [AUTH] Authentication failed\r\n"
        );
        assert_eq!(
            encode(Reply::err("busy").with_code(Code::InUse)),
            "-ERR [IN-USE] busy\r\n"
        );
        assert_eq!(encode(Reply::err("a\r\nb")), "-ERR a  b\r\n");
    }
}
