//! IMAP ENVELOPE (RFC 3501 7.4.2) from one header block: raw values, unfolded, encoded words
//! kept, address lists with group markers.

use crate::Envelope;
use crate::address::envelope_addresses;
use crate::headers::Headers;

/// The ENVELOPE of the message whose header is `headers`.
pub(crate) fn envelope(headers: &Headers<'_>) -> Envelope {
    let addresses = |name: &str| {
        headers
            .raw(name)
            .map(|raw| envelope_addresses(&raw))
            .unwrap_or_default()
    };
    let from = addresses("from");
    // RFC 3501: an absent or empty Sender or Reply-To is reported as From.
    let mut sender = addresses("sender");
    if sender.is_empty() {
        sender = from.clone();
    }
    let mut reply_to = addresses("reply-to");
    if reply_to.is_empty() {
        reply_to = from.clone();
    }
    Envelope {
        date: headers.raw("date"),
        subject: headers.raw("subject"),
        from,
        sender,
        reply_to,
        to: addresses("to"),
        cc: addresses("cc"),
        bcc: addresses("bcc"),
        in_reply_to: headers.raw("in-reply-to").filter(|v| !v.is_empty()),
        message_id: headers.raw("message-id").filter(|v| !v.is_empty()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::EnvAddr;

    #[test]
    fn envelope_keeps_raw_values() {
        let block = b"Date: Mon, 7 Feb 1994 21:52:25 -0800 (PST)\r\n\
Subject: =?ISO-8859-1?Q?Caf=E9?=\r\n\x20again\r\n\
From: \"Fred Foobar\" <foobar@Blurdybloop.example>\r\n\
To: mooch@owatagu.example\r\n\
Message-Id: <B27397-0100000@Blurdybloop.example>\r\n\r\n";
        let env = envelope(&Headers::parse(block));
        assert_eq!(
            env.date.as_deref(),
            Some("Mon, 7 Feb 1994 21:52:25 -0800 (PST)")
        );
        assert_eq!(
            env.subject.as_deref(),
            Some("=?ISO-8859-1?Q?Caf=E9?= again")
        );
        assert_eq!(
            env.from,
            vec![EnvAddr {
                name: Some("Fred Foobar".into()),
                adl: None,
                mailbox: Some("foobar".into()),
                host: Some("Blurdybloop.example".into()),
            }]
        );
        assert_eq!(env.sender, env.from);
        assert_eq!(env.reply_to, env.from);
        assert!(env.cc.is_empty());
        assert_eq!(
            env.message_id.as_deref(),
            Some("<B27397-0100000@Blurdybloop.example>")
        );
        assert_eq!(env.in_reply_to, None);
    }
}
