//! Corrupted messages: truncations, byte flips and splices of valid messages must parse
//! without panicking, with offsets that stay inside the input and nest properly.

use sealpost_mime::{Part, attachment_content, message_bodies, parse_message};

const SAMPLES: &[&[u8]] = &[
    b"From: \"A\" <a@example.com>\r\nTo: g: b@x.y, <c@z>;\r\nSubject: =?utf-8?B?w6k=?=\r\n\
Content-Type: multipart/mixed; boundary=\"o\"\r\n\r\npre\r\n--o\r\n\
Content-Type: multipart/alternative; boundary=i\r\n\r\n--i\r\n\
Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n\
caf=C3=A9 =\r\nsoft\r\n--i\r\nContent-Type: text/html\r\n\r\n<p>x</p>\r\n--i--\r\n--o\r\n\
Content-Type: message/rfc822\r\n\r\nSubject: in\r\nContent-Type: multipart/mixed; boundary=n\r\n\r\n\
--n\r\n\r\nnested\r\n--n\r\nContent-Type: image/png\r\nContent-Transfer-Encoding: base64\r\n\r\n\
iVBORw0KGgo=\r\n--n--\r\n--o\r\nContent-Type: application/pdf; name*=utf-8''%C3%A9.pdf\r\n\
Content-Disposition: attachment\r\nContent-Transfer-Encoding: base64\r\n\r\nJVBERi0=\r\n--o--\r\nepi\r\n",
    b"Subject: digest\nContent-Type: multipart/digest; boundary=d\n\n--d\n\nSubject: one\n\nbody\n\
--d\nContent-Type: text/plain\n\nplain\n--d--\n",
];

/// xorshift64*: deterministic, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn check_part(part: &Part, start: u64, end: u64) {
    assert!(start <= part.header_start, "{part:?}");
    assert!(part.header_start <= part.body_start, "{part:?}");
    assert!(part.body_start <= part.body_end, "{part:?}");
    assert!(part.body_end <= end, "{part:?}");
    assert_eq!(part.size, part.body_end - part.body_start);
    assert_eq!(part.content_type == "multipart", part.is_multipart());
    assert!(!part.content_type.is_empty() && !part.subtype.is_empty());
    for child in &part.parts {
        check_part(child, part.body_start, part.body_end);
    }
    if let Some(enclosed) = &part.message {
        check_part(&enclosed.1, part.body_start, part.body_end);
    }
}

fn check(raw: &[u8]) {
    let Ok(m) = parse_message(raw) else {
        assert!(raw.is_empty());
        return;
    };
    check_part(&m.body, 0, raw.len() as u64);
    assert_eq!(m.body.header_start, 0);
    for attachment in &m.attachments {
        attachment_content(raw, attachment).expect("listed attachments can be read");
    }
    // Bodies as read back never panic either, and agree with the indexed text.
    let (text, _html) = message_bodies(raw, &m.body);
    assert_eq!(text, m.text);
}

#[test]
fn mutated_messages_never_panic() {
    let mut rng = Rng(0x5EA1_9057);
    let specials: &[u8] = b"-\r\n:;<>\"()=?@,[] \t\x00\xff";
    for round in 0..3000 {
        let mut raw = SAMPLES[round % SAMPLES.len()].to_vec();
        for _ in 0..1 + rng.below(6) {
            match rng.below(5) {
                0 => raw.truncate(rng.below(raw.len() + 1)),
                1 => {
                    if !raw.is_empty() {
                        let at = rng.below(raw.len());
                        raw[at] = specials[rng.below(specials.len())];
                    }
                }
                2 => {
                    let at = rng.below(raw.len() + 1);
                    let from = rng.below(raw.len());
                    let len = rng.below(40).min(raw.len() - from.min(raw.len()));
                    let piece = raw[from..from + len].to_vec();
                    raw.splice(at..at, piece);
                }
                3 => {
                    if !raw.is_empty() {
                        let at = rng.below(raw.len());
                        let len = rng.below(20).min(raw.len() - at);
                        raw.drain(at..at + len);
                    }
                }
                _ => {
                    let at = rng.below(raw.len() + 1);
                    raw.insert(at, (rng.next() & 0xff) as u8);
                }
            }
        }
        check(&raw);
    }
    for sample in SAMPLES {
        for cut in 0..=sample.len() {
            check(&sample[..cut]);
        }
    }
}
