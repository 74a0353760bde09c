//! Whole messages through `parse_message` and `attachment_content`.

use sealpost_mime::{
    Addr, Attachment, EnvAddr, Error, ParsedMessage, Part, attachment_content, message_bodies,
    normalize_subject, parse_message,
};

fn base64_wrapped(data: &[u8]) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    let mut wrapped = String::new();
    for (i, c) in out.chars().enumerate() {
        if i > 0 && i % 76 == 0 {
            wrapped.push_str("\r\n");
        }
        wrapped.push(c);
    }
    wrapped
}

fn png_bytes() -> Vec<u8> {
    let mut png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR".to_vec();
    png.extend((0..=255u8).cycle().take(700));
    png
}

fn slice(raw: &[u8], start: u64, end: u64) -> &[u8] {
    &raw[start as usize..end as usize]
}

fn parse(raw: &[u8]) -> ParsedMessage {
    let parsed = parse_message(raw).expect("parses");
    // The index is stored as JSON: it must survive the round trip, except the bodies
    // (text, html, search text), which are deliberately not stored in it.
    let json = serde_json::to_string(&parsed).expect("serialises");
    let back: ParsedMessage = serde_json::from_str(&json).expect("deserialises");
    let expected = ParsedMessage {
        text: String::new(),
        html: Vec::new(),
        search_text: String::new(),
        ..parsed.clone()
    };
    assert_eq!(back, expected);
    // HTML is not derived at indexing time.
    assert!(parsed.html.is_empty());
    parsed
}

/// The HTML bodies as read back: derived from the raw message and the stored structure,
/// with the same text as indexed.
fn html(raw: &[u8], m: &ParsedMessage) -> Vec<String> {
    let (text, html) = message_bodies(raw, &m.body);
    assert_eq!(text, m.text);
    html
}

const SIMPLE: &str = "Return-Path: <ann@example.com>\r\n\
From: Ann Example <ann@example.com>\r\n\
To: Bob <bob@example.org>, carol@example.net\r\n\
Cc: \"Dan, D.\" <dan@example.com>\r\n\
Subject: Re: [team] Lunch\r\n\x20plans\r\n\
Date: Tue, 1 Jul 2003 10:52:37 +0200\r\n\
Message-ID: <1234@local.machine.example>\r\n\
In-Reply-To: <1233@local.machine.example>\r\n\
References: <1232@local.machine.example>\r\n\t<1233@local.machine.example>\r\n\
X-Custom: =?UTF-8?B?SMOpbGxv?=\r\n\
\r\n\
Hello Bob,\r\n\
\r\n\
see you <there> at noon & bring   snacks.\r\n";

#[test]
fn simple_text_message() {
    let raw = SIMPLE.as_bytes();
    let m = parse(raw);

    assert_eq!(m.size, raw.len() as u64);
    assert_eq!(m.subject, "Re: [team] Lunch plans");
    assert_eq!(m.thread_subject, "lunch plans");
    assert_eq!(
        m.from,
        Some(Addr {
            name: "Ann Example".into(),
            address: "ann@example.com".into()
        })
    );
    assert_eq!(m.sender, None);
    assert_eq!(m.to.len(), 2);
    assert_eq!(m.to[1].address, "carol@example.net");
    assert_eq!(m.cc[0].name, "Dan, D.");
    assert_eq!(
        m.message_id.as_deref(),
        Some("<1234@local.machine.example>")
    );
    assert_eq!(m.in_reply_to, vec!["<1233@local.machine.example>"]);
    assert_eq!(
        m.references,
        vec![
            "<1232@local.machine.example>",
            "<1233@local.machine.example>"
        ]
    );
    // 2003-07-01T08:52:37Z
    assert_eq!(m.date, Some(1_057_049_557_000));

    assert_eq!(
        m.envelope.subject.as_deref(),
        Some("Re: [team] Lunch plans")
    );
    assert_eq!(
        m.envelope.date.as_deref(),
        Some("Tue, 1 Jul 2003 10:52:37 +0200")
    );
    assert_eq!(m.envelope.from[0].name.as_deref(), Some("Ann Example"));
    assert_eq!(m.envelope.sender, m.envelope.from);
    assert_eq!(m.envelope.reply_to, m.envelope.from);
    assert_eq!(m.envelope.cc[0].name.as_deref(), Some("Dan, D."));
    assert_eq!(
        m.envelope.in_reply_to.as_deref(),
        Some("<1233@local.machine.example>")
    );

    assert_eq!(
        m.text,
        "Hello Bob,\n\nsee you <there> at noon & bring   snacks."
    );
    assert_eq!(
        html(raw, &m),
        vec!["<p>Hello Bob,</p><p>see you &lt;there&gt; at noon &amp; bring   snacks.</p>"]
    );
    assert_eq!(
        m.intro,
        "Hello Bob, see you <there> at noon & bring snacks."
    );
    assert!(m.attachments.is_empty());
    assert!(m.search_text.contains("Lunch plans"));
    assert!(m.search_text.contains("bob@example.org"));
    assert!(m.search_text.contains("Dan, D."));
    assert!(m.search_text.contains("bring"));

    assert_eq!(
        m.headers[0],
        ("return-path".into(), "<ann@example.com>".into())
    );
    assert!(m.headers.contains(&("x-custom".into(), "Héllo".into())));
    assert!(
        m.headers
            .contains(&("subject".into(), "Re: [team] Lunch plans".into()))
    );

    let body = &m.body;
    assert_eq!(
        (body.content_type.as_str(), body.subtype.as_str()),
        ("text", "plain")
    );
    assert_eq!(body.params, vec![("charset".into(), "us-ascii".into())]);
    assert_eq!(body.encoding, "7BIT");
    assert_eq!(body.header_start, 0);
    let header = slice(raw, body.header_start, body.body_start);
    assert!(header.ends_with(b"=?UTF-8?B?SMOpbGxv?=\r\n\r\n"));
    assert_eq!(body.body_end, raw.len() as u64);
    assert_eq!(
        slice(raw, body.body_start, body.body_end),
        b"Hello Bob,\r\n\r\nsee you <there> at noon & bring   snacks.\r\n"
    );
    assert_eq!(body.size, body.body_end - body.body_start);
    assert_eq!(body.lines, 3);
    // Section 1 of a non-multipart message is its body.
    assert_eq!(m.body.find_section(&[1]), Some(&m.body));
    assert_eq!(m.body.find_section(&[2]), None);
}

fn mixed_message() -> (Vec<u8>, Vec<u8>, &'static str) {
    let png = png_bytes();
    let notes = "Notes line 1\r\nNotes line 2 =é\r\n";
    let raw = format!(
        "From: a@example.com\r\n\
To: b@example.com\r\n\
Subject: Files\r\n\
MIME-Version: 1.0\r\n\
Content-Type: multipart/mixed; boundary=\"outer\"\r\n\
\r\n\
This is a multi-part message in MIME format.\r\n\
--outer\r\n\
Content-Type: text/plain; charset=utf-8\r\n\
Content-Transfer-Encoding: quoted-printable\r\n\
\r\n\
Here are the files, caf=C3=A9.\r\n\
--outer\r\n\
Content-Type: image/png; name=\"pic.png\"\r\n\
Content-Transfer-Encoding: base64\r\n\
Content-Disposition: attachment; filename=\"pic.png\"\r\n\
Content-ID: <pic1@example.com>\r\n\
Content-Description: A picture\r\n\
\r\n\
{}\r\n\
--outer\r\n\
Content-Type: text/plain; charset=utf-8; name=\"notes.txt\"\r\n\
Content-Disposition: attachment; filename=\"notes.txt\"\r\n\
Content-Transfer-Encoding: 8bit\r\n\
\r\n\
{}\r\n\
--outer--\r\n\
epilogue\r\n",
        base64_wrapped(&png),
        notes
    );
    (raw.into_bytes(), png, notes)
}

#[test]
fn multipart_mixed_with_attachments() {
    let (raw, png, notes) = mixed_message();
    let m = parse(&raw);

    assert_eq!(m.body.content_type, "multipart");
    assert_eq!(m.body.subtype, "mixed");
    assert_eq!(m.body.params, vec![("boundary".into(), "outer".into())]);
    assert_eq!(m.body.parts.len(), 3);
    assert_eq!(m.body.body_end, raw.len() as u64);
    assert_eq!(m.text, "Here are the files, café.");
    assert_eq!(html(&raw, &m), vec!["<p>Here are the files, café.</p>"]);

    // BODY[1] and BODY[1.MIME] by slicing.
    let part1 = m.body.find_section(&[1]).unwrap();
    assert_eq!(
        slice(&raw, part1.body_start, part1.body_end),
        b"Here are the files, caf=C3=A9."
    );
    assert_eq!(
        slice(&raw, part1.header_start, part1.body_start),
        b"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
    );
    assert_eq!(part1.encoding, "QUOTED-PRINTABLE");
    assert_eq!(part1.lines, 1);
    assert_eq!(part1.body(&raw), b"Here are the files, caf=C3=A9.");

    let image = m.body.find_section_str("2").unwrap();
    assert_eq!(
        (image.content_type.as_str(), image.subtype.as_str()),
        ("image", "png")
    );
    assert_eq!(image.id.as_deref(), Some("<pic1@example.com>"));
    assert_eq!(image.description.as_deref(), Some("A picture"));
    assert_eq!(image.encoding, "BASE64");
    assert_eq!(
        image.disposition,
        Some((
            "attachment".into(),
            vec![("filename".into(), "pic.png".into())]
        ))
    );
    assert_eq!(image.lines, 0);
    assert_eq!(image.size, image.body_end - image.body_start);

    assert_eq!(m.attachments.len(), 2);
    let a1 = &m.attachments[0];
    assert_eq!(a1.id, "ATT00001");
    assert_eq!(a1.part, "2");
    assert_eq!(a1.filename.as_deref(), Some("pic.png"));
    assert_eq!(a1.content_type, "image/png");
    assert_eq!(a1.disposition, "attachment");
    assert_eq!(a1.transfer_encoding, "base64");
    assert_eq!(a1.cid.as_deref(), Some("pic1@example.com"));
    assert_eq!(a1.size, png.len() as u64);
    assert_eq!(attachment_content(&raw, a1).unwrap(), png);

    let a2 = &m.attachments[1];
    assert_eq!(a2.id, "ATT00002");
    assert_eq!(a2.part, "3");
    assert_eq!(a2.filename.as_deref(), Some("notes.txt"));
    assert_eq!(a2.content_type, "text/plain");
    assert_eq!(a2.size, notes.len() as u64);
    assert_eq!(attachment_content(&raw, a2).unwrap(), notes.as_bytes());

    let missing = Attachment {
        id: "ATT00009".into(),
        part: "9".into(),
        ..Default::default()
    };
    assert!(matches!(
        attachment_content(&raw, &missing),
        Err(Error::AttachmentNotFound(id)) if id == "ATT00009"
    ));
    let bad_path = Attachment {
        part: "x.1".into(),
        ..Default::default()
    };
    assert!(attachment_content(&raw, &bad_path).is_err());
}

#[test]
fn multipart_alternative_with_related_inline_image() {
    let raw = b"From: a@example.com\r\n\
Subject: Alt\r\n\
Content-Type: multipart/alternative; boundary=alt\r\n\
\r\n\
--alt\r\n\
Content-Type: text/plain; charset=us-ascii\r\n\
\r\n\
Plain version\r\n\
--alt\r\n\
Content-Type: multipart/related; boundary=rel\r\n\
\r\n\
--rel\r\n\
Content-Type: text/html; charset=us-ascii\r\n\
\r\n\
<html><body><p>HTML <b>version</b></p><img src=\"cid:logo\"></body></html>\r\n\
--rel\r\n\
Content-Type: image/gif\r\n\
Content-ID: <logo>\r\n\
Content-Transfer-Encoding: base64\r\n\
\r\n\
R0lGODlhAQABAAAAACw=\r\n\
--rel--\r\n\
\r\n\
--alt--\r\n";
    let m = parse(raw);
    assert_eq!(m.body.subtype, "alternative");
    assert_eq!(m.body.parts.len(), 2);
    assert_eq!(m.body.parts[1].subtype, "related");
    assert_eq!(m.text, "Plain version");
    let bodies = html(raw, &m);
    assert_eq!(bodies.len(), 1);
    assert!(bodies[0].starts_with("<html><body><p>HTML <b>version</b>"));
    assert_eq!(m.attachments.len(), 1);
    let logo = &m.attachments[0];
    assert_eq!(logo.part, "2.2");
    assert_eq!(logo.disposition, "inline");
    assert_eq!(logo.cid.as_deref(), Some("logo"));
    assert_eq!(logo.content_type, "image/gif");
    assert_eq!(
        attachment_content(raw, logo).unwrap(),
        b"GIF89a\x01\x00\x01\x00\x00\x00\x00,"
    );
    // The related multipart's body runs to the line break before the outer delimiter.
    let related = m.body.find_section(&[2]).unwrap();
    assert!(slice(raw, related.body_start, related.body_end).ends_with(b"--rel--\r\n"));
    let html = m.body.find_section(&[2, 1]).unwrap();
    assert!(slice(raw, html.body_start, html.body_end).ends_with(b"</html>"));
}

#[test]
fn html_only_message_gets_text() {
    let raw = b"Subject: html\r\nContent-Type: text/html; charset=utf-8\r\n\r\n\
<html><head><style>p{color:red}</style></head><body><p>Hello <i>there</i></p><p>World</p></body></html>\r\n";
    let m = parse(raw);
    assert_eq!(html(raw, &m).len(), 1);
    assert!(m.text.contains("Hello there"));
    assert!(m.text.contains("World"));
    assert!(!m.text.contains("color"));
    assert!(!m.text.contains('<'));
    assert!(m.attachments.is_empty());
}

#[test]
fn nested_message_rfc822() {
    let inner = "From: Inner <inner@example.com>\r\n\
Subject: =?utf-8?q?Inner_subj=C3=A9ct?=\r\n\
Message-ID: <inner@example.com>\r\n\
Content-Type: multipart/mixed; boundary=in\r\n\
\r\n\
--in\r\n\
\r\n\
inner text\r\n\
--in\r\n\
Content-Type: application/pdf; name=doc.pdf\r\n\
\r\n\
%PDF\r\n\
--in--\r\n";
    let raw = format!(
        "From: outer@example.com\r\n\
Subject: Fwd: Inner\r\n\
Content-Type: multipart/mixed; boundary=out\r\n\
\r\n\
--out\r\n\
Content-Type: text/plain\r\n\
\r\n\
See below.\r\n\
--out\r\n\
Content-Type: message/rfc822\r\n\
\r\n\
{inner}\r\n\
--out--\r\n"
    );
    let raw = raw.as_bytes();
    let m = parse(raw);
    assert_eq!(m.text, "See below.");

    let part = m.body.find_section(&[2]).unwrap();
    assert_eq!(
        (part.content_type.as_str(), part.subtype.as_str()),
        ("message", "rfc822")
    );
    assert_eq!(slice(raw, part.body_start, part.body_end), inner.as_bytes());
    assert_eq!(part.lines, 13);
    let (envelope, enclosed) = part.message.as_deref().unwrap();
    assert_eq!(
        envelope.subject.as_deref(),
        Some("=?utf-8?q?Inner_subj=C3=A9ct?=")
    );
    assert_eq!(envelope.message_id.as_deref(), Some("<inner@example.com>"));
    assert_eq!(envelope.from[0].mailbox.as_deref(), Some("inner"));
    assert_eq!(enclosed.header_start, part.body_start);
    assert_eq!(enclosed.subtype, "mixed");
    assert_eq!(enclosed.parts.len(), 2);
    // BODY[2.1] is the first part of the enclosed message, BODY[2.2] its PDF.
    let inner_text = m.body.find_section(&[2, 1]).unwrap();
    assert_eq!(
        slice(raw, inner_text.body_start, inner_text.body_end),
        b"inner text"
    );
    assert_eq!(
        inner_text.params,
        vec![("charset".into(), "us-ascii".into())]
    );
    let pdf = m.body.find_section_str("2.2").unwrap();
    assert_eq!(pdf.subtype, "pdf");
    assert_eq!(slice(raw, pdf.body_start, pdf.body_end), b"%PDF");
    assert_eq!(m.body.find_section(&[2, 3]), None);
    // 2.HEADER and 2.TEXT slice the enclosed message.
    assert!(enclosed.header(raw).starts_with(b"From: Inner"));
    assert!(enclosed.body(raw).starts_with(b"--in\r\n"));

    // The enclosed message is one attachment; its parts are not the outer message's.
    assert_eq!(m.attachments.len(), 1);
    let forwarded = &m.attachments[0];
    assert_eq!(forwarded.content_type, "message/rfc822");
    assert_eq!(forwarded.part, "2");
    assert_eq!(
        attachment_content(raw, forwarded).unwrap(),
        inner.as_bytes()
    );
}

#[test]
fn encoded_word_subjects() {
    for (header, decoded) in [
        ("=?UTF-8?B?8J+YgCBzbWlsZQ==?=", "😀 smile"),
        (
            "=?utf-8?Q?Gr=C3=BC=C3=9Fe_aus_K=C3=B6ln?=",
            "Grüße aus Köln",
        ),
        ("=?ISO-8859-1?Q?Caf=E9_cr=E8me?=", "Café crème"),
        (
            "=?iso-8859-1?b?Q2Fm6Q==?= =?iso-8859-1?q?_au_lait?=",
            "Café au lait",
        ),
        ("Re: =?unknown-charset?Q?abc?=", "Re: abc"),
    ] {
        let raw = format!("Subject: {header}\r\nFrom: x@y.z\r\n\r\nbody\r\n");
        let m = parse(raw.as_bytes());
        assert_eq!(m.subject, decoded, "{header}");
        assert_eq!(m.envelope.subject.as_deref(), Some(header));
    }
    let raw = "From: =?utf-8?q?J=C3=BCrgen_M=C3=BCller?= <jm@example.de>\r\n\r\nx";
    let m = parse(raw.as_bytes());
    assert_eq!(m.from.as_ref().unwrap().name, "Jürgen Müller");
    assert_eq!(
        m.envelope.from[0].name.as_deref(),
        Some("=?utf-8?q?J=C3=BCrgen_M=C3=BCller?=")
    );
    assert!(m.search_text.contains("Jürgen Müller"));
}

#[test]
fn group_addresses_in_envelope() {
    let raw = b"From: Boss <boss@example.com>\r\n\
To: A Group: Ed <ed@example.com>, fay@example.com;, gil@example.com\r\n\
Cc: undisclosed-recipients:;\r\n\
Bcc: =?utf-8?q?Gr=C3=BCppe?=: h@example.com;\r\n\
\r\n\
body\r\n";
    let m = parse(raw);
    let marker = |name: &str| EnvAddr {
        mailbox: Some(name.into()),
        ..Default::default()
    };
    let mailbox = |name: Option<&str>, mailbox: &str, host: &str| EnvAddr {
        name: name.map(str::to_string),
        adl: None,
        mailbox: Some(mailbox.into()),
        host: Some(host.into()),
    };
    assert_eq!(
        m.envelope.to,
        vec![
            marker("A Group"),
            mailbox(Some("Ed"), "ed", "example.com"),
            mailbox(None, "fay", "example.com"),
            EnvAddr::default(),
            mailbox(None, "gil", "example.com"),
        ]
    );
    assert_eq!(
        m.envelope.cc,
        vec![marker("undisclosed-recipients"), EnvAddr::default()]
    );
    assert_eq!(m.envelope.bcc[0], marker("=?utf-8?q?Gr=C3=BCppe?="));
    // Decoded lists flatten groups.
    let to: Vec<_> = m.to.iter().map(|a| a.address.as_str()).collect();
    assert_eq!(
        to,
        vec!["ed@example.com", "fay@example.com", "gil@example.com"]
    );
    assert!(m.cc.is_empty());
    assert_eq!(m.bcc.len(), 1);
}

#[test]
fn unterminated_boundary_and_bad_base64() {
    let raw = b"Subject: broken\r\n\
Content-Type: multipart/mixed; boundary=\"b1\"\r\n\
\r\n\
--b1\r\n\
Content-Type: text/plain; charset=utf-8\r\n\
Content-Transfer-Encoding: base64\r\n\
\r\n\
SGVsbG8g!!!d29y*bGQ\r\n\
--b1\r\n\
Content-Type: application/octet-stream; name=a.bin\r\n\
Content-Transfer-Encoding: base64\r\n\
\r\n\
AAEC%%%AwQF\r\n\
and the message just stops here";
    let m = parse(raw);
    assert_eq!(m.body.parts.len(), 2);
    assert_eq!(m.text, "Hello world");
    let last = &m.body.parts[1];
    assert_eq!(last.body_end, raw.len() as u64);
    assert_eq!(m.attachments.len(), 1);
    let content = attachment_content(raw, &m.attachments[0]).unwrap();
    assert!(content.starts_with(&[0, 1, 2, 3, 4, 5]));
}

#[test]
fn multipart_without_usable_boundary_is_text() {
    for raw in [
        &b"Content-Type: multipart/mixed\r\n\r\nno boundary here\r\n"[..],
        &b"Content-Type: multipart/mixed; boundary=zzz\r\n\r\nboundary never appears\r\n"[..],
    ] {
        let m = parse(raw);
        assert!(!m.body.is_multipart());
        assert_eq!(m.body.content_type, "text");
        assert_eq!(m.body.subtype, "plain");
        assert!(m.body.params.iter().all(|(name, _)| name != "boundary"));
        assert!(!m.text.is_empty());
    }
}

#[test]
fn lf_only_line_endings() {
    let raw = SIMPLE.replace("\r\n", "\n");
    let raw = raw.as_bytes();
    let m = parse(raw);
    assert_eq!(m.subject, "Re: [team] Lunch plans");
    assert_eq!(
        m.text,
        "Hello Bob,\n\nsee you <there> at noon & bring   snacks."
    );
    assert_eq!(
        slice(raw, m.body.body_start, m.body.body_end),
        b"Hello Bob,\n\nsee you <there> at noon & bring   snacks.\n"
    );
    assert_eq!(m.body.lines, 3);

    let (mixed, png, _) = mixed_message();
    let mixed = String::from_utf8(mixed).unwrap().replace("\r\n", "\n");
    let mixed = mixed.as_bytes();
    let m = parse(mixed);
    assert_eq!(m.body.parts.len(), 3);
    let part1 = m.body.find_section(&[1]).unwrap();
    assert_eq!(
        slice(mixed, part1.body_start, part1.body_end),
        b"Here are the files, caf=C3=A9."
    );
    assert_eq!(attachment_content(mixed, &m.attachments[0]).unwrap(), png);
}

#[test]
fn empty_input_is_the_only_error() {
    assert!(matches!(parse_message(b""), Err(Error::Empty)));
    for raw in [
        &b"\r\n"[..],
        b"\n",
        b"x",
        b":",
        b"Subject: header only, no separator",
        b"just a body line without any colon\nand another",
        b"\xff\xfe\x00garbage\x80\x81: \xc3\x28\r\n\r\n\xff\xff",
        b"Content-Type: text/plain; charset=x-no-such-charset\r\n\r\n\xe9t\xe9\r\n",
        b"Content-Type: message/rfc822\r\n\r\n",
        b"Content-Type: multipart/digest; boundary=d\r\n\r\n--d\r\n\r\nSubject: in digest\r\n\r\nhi\r\n--d--",
        b"Content-Type: /\r\nContent-Disposition: ;;;\r\nContent-Transfer-Encoding:\r\n\r\nx",
    ] {
        let m = parse(raw);
        assert_eq!(m.size, raw.len() as u64);
        assert!(m.body.body_end as usize <= raw.len());
        assert!(m.body.header_start <= m.body.body_start);
        assert!(m.body.body_start <= m.body.body_end);
    }
}

#[test]
fn input_without_separator() {
    let m = parse(b"Subject: only headers\r\nFrom: a@b.c\r\n");
    assert_eq!(m.subject, "only headers");
    assert_eq!(m.body.body_start, m.size);
    assert_eq!(m.text, "");

    let raw = b"no header at all\r\njust text\r\n";
    let m = parse(raw);
    assert_eq!(m.body.body_start, 0);
    assert_eq!(m.subject, "");
    assert_eq!(m.text, "no header at all\njust text");
}

#[test]
fn unknown_charset_and_eight_bit_text() {
    let raw = b"Content-Type: text/plain; charset=x-unknown\r\n\r\nna\xefve \xff caf\xc3\xa9\r\n";
    let m = parse(raw);
    assert!(m.text.contains("caf\u{e9}"));
    let raw = b"Content-Type: text/plain; charset=iso-8859-1\r\n\r\nna\xefve\r\n";
    assert_eq!(parse(raw).text, "na\u{ef}ve");
}

#[test]
fn digest_parts_default_to_message_rfc822() {
    let raw = b"Content-Type: multipart/digest; boundary=d\r\n\r\n\
--d\r\n\r\nSubject: first\r\nFrom: one@example.com\r\n\r\nfirst body\r\n\
--d\r\n\r\nSubject: second\r\n\r\nsecond body\r\n--d--\r\n";
    let m = parse(raw);
    assert_eq!(m.body.parts.len(), 2);
    let first = &m.body.parts[0];
    assert_eq!(
        (first.content_type.as_str(), first.subtype.as_str()),
        ("message", "rfc822")
    );
    let (envelope, body) = first.message.as_deref().unwrap();
    assert_eq!(envelope.subject.as_deref(), Some("first"));
    assert_eq!(body.body(raw), b"first body");
    assert_eq!(m.attachments.len(), 2);
}

/// `depth` levels of multipart, each with its own boundary, around one text part.
fn deep_multipart(depth: usize) -> Vec<u8> {
    let mut raw = String::from("Subject: deep\r\n");
    for level in 0..depth {
        raw.push_str(&format!(
            "Content-Type: multipart/mixed; boundary=\"b{level}\"\r\n\r\n--b{level}\r\n"
        ));
    }
    raw.push_str("Content-Type: text/plain\r\n\r\ndeepest\r\n");
    for level in (0..depth).rev() {
        raw.push_str(&format!("--b{level}--\r\n"));
    }
    raw.into_bytes()
}

fn depth_of(part: &Part) -> usize {
    let children = part
        .parts
        .iter()
        .map(depth_of)
        .chain(part.message.iter().map(|m| depth_of(&m.1)))
        .max()
        .unwrap_or(0);
    1 + children
}

#[test]
fn deep_nesting_is_bounded() {
    let raw = deep_multipart(2000);
    let m = parse(&raw);
    assert_eq!(depth_of(&m.body), 32);

    let mut nested = String::new();
    for _ in 0..2000 {
        nested.push_str("Content-Type: message/rfc822\r\n\r\n");
    }
    nested.push_str("Subject: bottom\r\n\r\nbottom\r\n");
    let m = parse(nested.as_bytes());
    assert_eq!(depth_of(&m.body), 32);

    // The same boundary at every level must not confuse the walk either.
    let mut same = String::new();
    for _ in 0..2000 {
        same.push_str("Content-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\n");
    }
    let m = parse(same.as_bytes());
    assert!(depth_of(&m.body) <= 32);

    // Within the limit, the structure is complete.
    let m = parse(&deep_multipart(10));
    assert_eq!(depth_of(&m.body), 11);
    assert_eq!(m.text, "deepest");
}

#[test]
fn many_parts_are_bounded() {
    let mut raw = String::from("Content-Type: multipart/mixed; boundary=p\r\n\r\n");
    for i in 0..12_000 {
        raw.push_str(&format!(
            "--p\r\nContent-Type: application/octet-stream; name=f{i}\r\n\r\nx\r\n"
        ));
    }
    raw.push_str("--p--\r\n");
    let m = parse(raw.as_bytes());
    assert!(m.body.parts.len() < 10_000);
    assert_eq!(m.attachments.len(), 1000);
    assert_eq!(m.attachments[999].id, "ATT01000");
    assert_eq!(m.attachments[999].part, "1000");
}

#[test]
fn big_message_is_parsed_and_bounded() {
    let line = "The quick brown fox jumps over the lazy dog, again and again and again.\r\n";
    let mut raw = String::from(
        "From: big@example.com\r\nSubject: big\r\nContent-Type: multipart/mixed; boundary=big\r\n\r\n--big\r\nContent-Type: text/plain\r\n\r\n",
    );
    while raw.len() < 10 * 1024 * 1024 {
        raw.push_str(line);
    }
    raw.push_str("--big\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n");
    let chunk = "QUJDRA==".repeat(9) + "\r\n";
    while raw.len() < 20 * 1024 * 1024 {
        raw.push_str(&chunk);
    }
    raw.push_str("--big--\r\n");
    let raw = raw.into_bytes();
    let m = parse(&raw);
    assert_eq!(m.body.parts.len(), 2);
    assert!(m.text.len() <= 1024 * 1024);
    assert!(m.text.len() > 1000 * 1024);
    assert!(html(&raw, &m).iter().all(|h| h.len() <= 1024 * 1024));
    assert!(m.search_text.len() <= 256 * 1024);
    assert!(m.intro.ends_with('…'));
    let text_part = &m.body.parts[0];
    assert!(text_part.lines > 100_000);
    assert_eq!(m.attachments.len(), 1);
    assert!(m.attachments[0].size > 5 * 1024 * 1024);
}

#[test]
fn header_index_is_bounded() {
    let mut raw = String::new();
    for i in 0..300 {
        raw.push_str(&format!("X-Header-{i}: value {i}\r\n"));
    }
    raw.push_str(&format!("X-Long: {}\r\n", "é".repeat(10_000)));
    raw.push_str("\r\nbody");
    let m = parse(raw.as_bytes());
    assert_eq!(m.headers.len(), 200);
    assert_eq!(m.headers[0], ("x-header-0".into(), "value 0".into()));

    let raw = format!("X-Long: {}\r\n\r\nbody", "é".repeat(10_000));
    let m = parse(raw.as_bytes());
    assert!(m.headers[0].1.len() <= 8 * 1024);
    assert!(m.headers[0].1.chars().all(|c| c == 'é'));
}

#[test]
fn normalize_subject_is_public() {
    assert_eq!(
        normalize_subject("Fwd: Re: [dev] Release  1.0 (fwd)"),
        "release 1.0"
    );
}
