//! Delivery status notifications (RFC 3464): the bounce that tells a sender that queued mail
//! (a forwarded copy) could not be delivered and was given up. A `multipart/report` with a
//! human-readable part, the `message/delivery-status` part (one block per failed recipient)
//! and the original header block as `text/rfc822-headers` (not the whole message: a bounce
//! should not carry a large body back).

use crate::random::hex as random_hex;

/// Most bytes of the original header block returned.
const MAX_HEADERS: usize = 32 * 1024;
/// Longest diagnostic text kept per recipient.
const MAX_DIAGNOSTIC: usize = 512;

/// A recipient the message could not reach, and why.
#[derive(Debug, Clone)]
pub struct Failed {
    pub recipient: String,
    /// The relay's answer or our reason, as text.
    pub diagnostic: String,
    /// The give-up was because the message stayed too long in the queue (temporary errors
    /// only): `Status: 4.4.7`; otherwise the enhanced code in the diagnostic, or 5.0.0.
    pub expired: bool,
}

/// What a notification says.
#[derive(Debug, Clone)]
pub struct Notification<'a> {
    /// Host name of this server (`Reporting-MTA`, `From: MAILER-DAEMON@...`).
    pub hostname: &'a str,
    /// Where the notification goes (the original envelope sender).
    pub to: &'a str,
    /// When the original entered the queue (ms since the epoch).
    pub arrived_ms: i64,
    pub failed: &'a [Failed],
    /// The original message (only its header block is returned).
    pub original: &'a [u8],
    /// A warning that delivery is delayed and still being tried (RFC 3464 `Action:
    /// delayed`), rather than a failure.
    pub delayed: bool,
}

/// The first `d.d.d` enhanced status code (RFC 3463) in `text`, if any.
fn enhanced_code(text: &str) -> Option<String> {
    text.split(|c: char| !(c.is_ascii_digit() || c == '.'))
        .find(|w| {
            let parts: Vec<&str> = w.split('.').collect();
            parts.len() == 3
                && matches!(parts[0], "2" | "4" | "5")
                && (1..=3).contains(&parts[1].len())
                && (1..=3).contains(&parts[2].len())
                && parts[1..]
                    .iter()
                    .all(|p| p.bytes().all(|b| b.is_ascii_digit()))
        })
        .map(str::to_string)
}

/// The status of a failed recipient: a 5.x.x code from the diagnostic, 4.4.7 when it
/// expired in the queue, 5.0.0 otherwise (a failure is never reported as success).
fn status(f: &Failed, delayed: bool) -> String {
    if delayed {
        return match enhanced_code(&f.diagnostic) {
            Some(code) if code.starts_with('4') => code,
            _ => "4.0.0".into(),
        };
    }
    if f.expired {
        return "4.4.7".into();
    }
    match enhanced_code(&f.diagnostic) {
        Some(code) if code.starts_with('5') => code,
        _ => "5.0.0".into(),
    }
}

/// One line of printable ASCII, at most `max` bytes.
fn one_line(text: &str, max: usize) -> String {
    let mut s: String = text
        .chars()
        .map(|c| {
            if c.is_ascii() && !c.is_control() {
                c
            } else {
                ' '
            }
        })
        .collect();
    s.truncate(max);
    s
}

/// The original's header block (up to the first empty line), bounded, CRLF line ends.
fn header_block(raw: &[u8]) -> Vec<u8> {
    let end = sealpost_mime::header_len_in_prefix(raw, true).unwrap_or(raw.len());
    let head = raw.get(..end.min(MAX_HEADERS)).unwrap_or_default();
    let mut out = Vec::with_capacity(head.len() + 64);
    for line in head.split(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            continue;
        }
        out.extend_from_slice(line);
        out.extend_from_slice(b"\r\n");
    }
    out
}

fn rfc2822(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap_or_else(chrono::Utc::now)
        .to_rfc2822()
}

/// The notification as it goes on the wire (CRLF line ends).
pub fn compose(n: &Notification<'_>) -> Vec<u8> {
    let boundary = format!("----=_sealpost_report_{}", random_hex(8));
    let host = one_line(n.hostname, 255);
    let mut m = String::new();
    m.push_str(&format!(
        "From: Mail Delivery System <MAILER-DAEMON@{host}>\r\n"
    ));
    m.push_str(&format!("To: <{}>\r\n", one_line(n.to, 320)));
    m.push_str(if n.delayed {
        "Subject: Delayed Mail (still being retried)\r\n"
    } else {
        "Subject: Undelivered Mail Returned to Sender\r\n"
    });
    m.push_str(&format!("Date: {}\r\n", chrono::Utc::now().to_rfc2822()));
    m.push_str(&format!("Message-ID: <{}@{host}>\r\n", random_hex(12)));
    m.push_str("Auto-Submitted: auto-replied\r\n");
    m.push_str("MIME-Version: 1.0\r\n");
    m.push_str(&format!(
        "Content-Type: multipart/report; report-type=delivery-status;\r\n\tboundary=\"{boundary}\"\r\n\r\n"
    ));
    m.push_str("This is a delivery status notification (RFC 3464).\r\n\r\n");

    m.push_str(&format!("--{boundary}\r\n"));
    m.push_str("Content-Type: text/plain; charset=us-ascii\r\n\r\n");
    m.push_str(&if n.delayed {
        format!(
            "This is the mail system at {host}.\r\n\r\nYour message has not been delivered yet to the following recipients. It is\r\nstill being tried; you need not send it again:\r\n\r\n"
        )
    } else {
        format!(
            "This is the mail system at {host}.\r\n\r\nYour message could not be delivered to the following recipients and has been\r\ngiven up:\r\n\r\n"
        )
    });
    for f in n.failed {
        m.push_str(&format!(
            "<{}>: {}\r\n",
            one_line(&f.recipient, 320),
            one_line(&f.diagnostic, MAX_DIAGNOSTIC)
        ));
    }
    m.push_str("\r\n");

    m.push_str(&format!("--{boundary}\r\n"));
    m.push_str("Content-Type: message/delivery-status\r\n\r\n");
    m.push_str(&format!("Reporting-MTA: dns; {host}\r\n"));
    m.push_str(&format!("Arrival-Date: {}\r\n", rfc2822(n.arrived_ms)));
    for f in n.failed {
        m.push_str("\r\n");
        m.push_str(&format!(
            "Final-Recipient: rfc822; {}\r\n",
            one_line(&f.recipient, 320)
        ));
        m.push_str(if n.delayed {
            "Action: delayed\r\n"
        } else {
            "Action: failed\r\n"
        });
        m.push_str(&format!("Status: {}\r\n", status(f, n.delayed)));
        m.push_str(&format!(
            "Diagnostic-Code: smtp; {}\r\n",
            one_line(&f.diagnostic, MAX_DIAGNOSTIC)
        ));
    }
    m.push_str("\r\n");

    m.push_str(&format!("--{boundary}\r\n"));
    m.push_str("Content-Type: text/rfc822-headers\r\n\r\n");
    let mut out = m.into_bytes();
    out.extend_from_slice(&header_block(n.original));
    out.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes() {
        assert_eq!(
            enhanced_code("550 5.1.1 No such user").as_deref(),
            Some("5.1.1")
        );
        assert_eq!(enhanced_code("timeout after 1.5 s"), None);
        assert_eq!(
            enhanced_code("refused: 421 4.7.0 busy").as_deref(),
            Some("4.7.0")
        );
        let f = |d: &str, expired| Failed {
            recipient: "a@b".into(),
            diagnostic: d.into(),
            expired,
        };
        assert_eq!(status(&f("550 5.1.1 unknown", false), false), "5.1.1");
        assert_eq!(status(&f("452 4.2.2 full", false), false), "5.0.0");
        assert_eq!(status(&f("452 4.2.2 full", true), false), "4.4.7");
        assert_eq!(status(&f("452 4.2.2 full", false), true), "4.2.2");
        assert_eq!(status(&f("timeout", false), true), "4.0.0");
    }

    #[test]
    fn report_shape() {
        let original = b"From: a@remote.test\r\nSubject: hi\r\n\r\nsecret body\r\n";
        let raw = compose(&Notification {
            hostname: "mx.example.test",
            to: "a@remote.test",
            arrived_ms: 1_700_000_000_000,
            failed: &[Failed {
                recipient: "x@elsewhere.test".into(),
                diagnostic: "550 5.1.1 <x@elsewhere.test>: unknown\r\nBcc: injected".into(),
                expired: false,
            }],
            original,
            delayed: false,
        });
        let s = String::from_utf8(raw).unwrap();
        assert!(s.contains("report-type=delivery-status"));
        assert!(s.contains(
            "\r\nFinal-Recipient: rfc822; x@elsewhere.test\r\nAction: failed\r\nStatus: 5.1.1\r\n"
        ));
        assert!(s.contains("\r\nSubject: hi\r\n"));
        assert!(!s.contains("secret body"));
        assert!(!s.contains("\r\nBcc: injected"));
        assert!(!s.replace("\r\n", "").contains('\n'));
        let parsed = sealpost_mime::parse_message(s.as_bytes()).unwrap();
        assert_eq!(parsed.subject, "Undelivered Mail Returned to Sender");
    }
}
