//! Replies: a three-digit code, an enhanced status code (RFC 3463/2034) and text lines.

/// One reply, possibly multi-line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub code: u16,
    /// Class, subject, detail: `(5, 1, 1)` is `5.1.1`. `None` for the greeting and the
    /// EHLO/LHLO list, which carry none.
    pub status: Option<(u8, u16, u16)>,
    pub lines: Vec<String>,
}

impl Reply {
    pub fn new(code: u16, status: (u8, u16, u16), text: impl Into<String>) -> Reply {
        Reply {
            code,
            status: Some(status),
            lines: vec![text.into()],
        }
    }

    /// A reply without an enhanced status code.
    pub fn plain(code: u16, lines: Vec<String>) -> Reply {
        Reply {
            code,
            status: None,
            lines,
        }
    }

    /// A positive completion (2xx) or intermediate (3xx) reply.
    pub fn is_positive(&self) -> bool {
        self.code < 400
    }

    /// Appends the wire form: `250-...` for every line but the last, `250 ...` for the last.
    /// CR and LF in the text are replaced, so a reply can never become two.
    pub fn write_to(&self, out: &mut Vec<u8>) {
        let empty = [String::new()];
        let lines: &[String] = if self.lines.is_empty() {
            &empty
        } else {
            &self.lines
        };
        for (i, line) in lines.iter().enumerate() {
            let sep = if i + 1 == lines.len() { ' ' } else { '-' };
            out.extend_from_slice(format!("{}{sep}", self.code).as_bytes());
            if let Some((c, s, d)) = self.status {
                out.extend_from_slice(format!("{c}.{s}.{d} ").as_bytes());
            }
            out.extend(
                line.bytes()
                    .map(|b| if b == b'\r' || b == b'\n' { b' ' } else { b }),
            );
            out.extend_from_slice(b"\r\n");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wire(r: &Reply) -> String {
        let mut out = Vec::new();
        r.write_to(&mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn single_and_multi_line() {
        assert_eq!(
            wire(&Reply::new(550, (5, 1, 1), "No such user")),
            "550 5.1.1 No such user\r\n"
        );
        assert_eq!(
            wire(&Reply::plain(
                250,
                vec![
                    "mx greets you".into(),
                    "PIPELINING".into(),
                    "SIZE 10".into()
                ]
            )),
            "250-mx greets you\r\n250-PIPELINING\r\n250 SIZE 10\r\n"
        );
        assert_eq!(
            wire(&Reply::new(214, (2, 0, 0), "a\r\nb")),
            "214 2.0.0 a  b\r\n"
        );
        assert!(Reply::new(354, (2, 0, 0), "go").is_positive());
        assert!(!Reply::new(452, (4, 2, 2), "full").is_positive());
    }
}
