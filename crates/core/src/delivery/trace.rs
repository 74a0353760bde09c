//! The trace header fields final delivery prepends (RFC 5321 section 4.4): `Return-Path:`
//! from MAIL FROM, `Delivered-To:` with the recipient, and a `Received:` line naming the
//! client, this server, the protocol (RFC 3848 `with` keywords), an id, the recipient and the
//! time.

use super::Envelope;

/// Keeps only printable ASCII (and UTF-8 letters) of a client-supplied token, bounded, so a
/// header value can never be broken by it.
fn clean(s: &str, max: usize) -> String {
    let s: String = s
        .chars()
        .filter(|c| !c.is_control() && !matches!(c, '(' | ')' | '<' | '>' | ';' | '\\'))
        .take(max)
        .collect();
    if s.trim().is_empty() {
        "unknown".into()
    } else {
        s.trim().to_string()
    }
}

/// The header block to put in front of the message for `recipient`, ending with CRLF.
pub fn trace_headers(envelope: &Envelope, recipient: &str, date: &str) -> Vec<u8> {
    let from = envelope
        .mail_from
        .chars()
        .filter(|c| !c.is_control() && *c != '<' && *c != '>')
        .take(256)
        .collect::<String>();
    let rcpt = clean(recipient, 256);
    let mut out = format!("Return-Path: <{from}>\r\nDelivered-To: {rcpt}\r\n").into_bytes();
    out.extend_from_slice(&received_header(envelope, Some(recipient), date));
    out
}

/// The `Received:` field (with its CRLF) naming the client, this server, the protocol
/// (RFC 3848 `with`), the authenticated user of a submission, an id, and the recipient when
/// there is one (never for a copy with several, which would show one to the others).
pub fn received_header(envelope: &Envelope, recipient: Option<&str>, date: &str) -> Vec<u8> {
    let helo = clean(&envelope.helo, 255);
    let by = clean(&envelope.hostname, 255);
    let mut tls = String::new();
    if let Some(cipher) = &envelope.tls {
        tls = format!("\r\n\t(using {})", clean(cipher, 100));
    }
    let mut auth = String::new();
    if let Some(user) = &envelope.authenticated {
        auth = format!("\r\n\t(authenticated as {})", clean(user, 256));
    }
    let rcpt = recipient
        .map(|r| format!("\r\n\tfor <{}>", clean(r, 256)))
        .unwrap_or_default();
    format!(
        "Received: from {helo} ([{ip}]){tls}{auth}\r\n\
         \tby {by} (Sealpost) with {proto} id {id}{rcpt}; {date}\r\n",
        ip = envelope.peer,
        proto = envelope.protocol.as_str(),
        id = clean(&envelope.id, 64),
    )
    .into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::delivery::Protocol;

    #[test]
    fn received_has_the_rfc_5321_shape() {
        let env = Envelope {
            mail_from: "alice@example.org".into(),
            helo: "mx.example.org".into(),
            peer: "192.0.2.1".parse().unwrap(),
            protocol: Protocol::Lmtp,
            id: "abc123".into(),
            hostname: "mail.example.test".into(),
            tls: None,
            authenticated: None,
        };
        let h = trace_headers(&env, "bob@example.test", "Mon, 23 Nov 2026 22:00:00 +0000");
        assert_eq!(
            String::from_utf8(h).unwrap(),
            "Return-Path: <alice@example.org>\r\n\
             Delivered-To: bob@example.test\r\n\
             Received: from mx.example.org ([192.0.2.1])\r\n\
             \tby mail.example.test (Sealpost) with LMTP id abc123\r\n\
             \tfor <bob@example.test>; Mon, 23 Nov 2026 22:00:00 +0000\r\n"
        );
    }

    #[test]
    fn null_sender_and_hostile_helo() {
        let env = Envelope {
            mail_from: String::new(),
            helo: "evil\r\nX-Injected: 1".into(),
            peer: "::1".parse().unwrap(),
            protocol: Protocol::Esmtps,
            id: "x".into(),
            hostname: "h".into(),
            tls: Some("TLS1.3".into()),
            authenticated: None,
        };
        let h = String::from_utf8(trace_headers(&env, "b@x.test", "d")).unwrap();
        assert!(h.starts_with("Return-Path: <>\r\n"));
        assert!(h.contains("from evilX-Injected: 1 ([::1])\r\n\t(using TLS1.3)\r\n"));
        assert!(h.contains("with ESMTPS id x"));
        assert_eq!(h.matches("\r\n").count(), 6);
    }

    #[test]
    fn submission_names_the_user_and_no_recipient() {
        let env = Envelope {
            mail_from: "alice@example.test".into(),
            helo: "laptop".into(),
            peer: "192.0.2.7".parse().unwrap(),
            protocol: Protocol::Esmtpsa,
            id: "q1".into(),
            hostname: "mail.example.test".into(),
            tls: Some("TLSv1.3 with cipher X".into()),
            authenticated: Some("alice\r\nX: y".into()),
        };
        let h = String::from_utf8(received_header(&env, None, "d")).unwrap();
        assert_eq!(
            h,
            "Received: from laptop ([192.0.2.7])\r\n\t(using TLSv1.3 with cipher X)\r\n\
             \t(authenticated as aliceX: y)\r\n\tby mail.example.test (Sealpost) with ESMTPSA id q1; d\r\n"
        );
    }
}
