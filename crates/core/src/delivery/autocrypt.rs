//! Autocrypt Level 1 on incoming mail: the key in a message's `Autocrypt:` header becomes
//! an external key of the receiving user for the sender's address.
//!
//! Following the Level 1 spec's header parsing and update process:
//! - the message has exactly one `From` address and is not `multipart/report`, and was not
//!   classified as spam (by the MTA or a filter);
//! - an `Autocrypt` header is valid when it has `addr` and `keydata` (base64, whitespace
//!   ignored), no unknown critical attribute (names not starting with `_`), and `addr` equals
//!   the `From` address (case-insensitively): a header for another address is ignored;
//!   `prefer-encrypt` is `mutual` or anything else meaning `nopreference`. More than one valid
//!   header counts as none;
//! - the key must be a valid public key (not expired, not revoked, with an encryption subkey)
//!   with a user id whose e-mail address is `addr`;
//! - the message's effective date is its `Date`, or the time of delivery when it has none or
//!   it is in the future; a message older than the one that brought the stored key for that
//!   address changes nothing (newest wins, per address);
//! - a key the user uploaded by hand for that address (or with that fingerprint) is never
//!   replaced or shadowed: the header is then ignored. A key the user deletes comes back with
//!   the next Autocrypt header, as Autocrypt intends.
//!
//! Parsing the key runs in `spawn_blocking`; a message without the header costs one scan of
//! its header block.

use crate::Core;
use crate::external_keys::{MAX_EXTERNAL_KEYS, check_public_cert, new_key};
use base64::Engine as _;
use sealpost_mime::ParsedMessage;
use sealpost_store::external_keys::AutocryptUpdate;
use sealpost_store::model::UserRecord;

/// Largest `Autocrypt` header value considered (keydata of big RSA keys fits).
const MAX_HEADER: usize = 64 * 1024;
/// Header fields of one message looked at for `Autocrypt`.
const MAX_FIELDS: usize = 1000;

/// A valid `Autocrypt` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AutocryptHeader {
    /// Lower-cased `addr`.
    pub addr: String,
    /// `mutual` or `nopreference`.
    pub prefer_encrypt: &'static str,
    /// Decoded keydata (binary OpenPGP).
    pub keydata: Vec<u8>,
}

/// Parses one `Autocrypt` header value; `None` when it is not valid.
pub fn parse_header(value: &str) -> Option<AutocryptHeader> {
    if value.len() > MAX_HEADER {
        return None;
    }
    let mut addr = None;
    let mut keydata = None;
    let mut prefer_encrypt = "nopreference";
    for attr in value.split(';') {
        let attr = attr.trim();
        if attr.is_empty() {
            continue;
        }
        let (name, val) = attr.split_once('=')?;
        let (name, val) = (name.trim().to_ascii_lowercase(), val.trim());
        match name.as_str() {
            "addr" if addr.is_none() => addr = Some(val.to_lowercase()),
            "keydata" if keydata.is_none() => {
                let clean: String = val.chars().filter(|c| !c.is_whitespace()).collect();
                keydata = Some(
                    base64::engine::general_purpose::STANDARD
                        .decode(clean)
                        .ok()?,
                );
            }
            "prefer-encrypt" => {
                if val.eq_ignore_ascii_case("mutual") {
                    prefer_encrypt = "mutual";
                }
            }
            n if n.starts_with('_') => {}
            // An unknown critical attribute, or a repeated one, makes the header invalid.
            _ => return None,
        }
    }
    let addr = addr.filter(|a| a.contains('@'))?;
    let keydata = keydata.filter(|k| !k.is_empty())?;
    Some(AutocryptHeader {
        addr,
        prefer_encrypt,
        keydata,
    })
}

/// The unfolded values of the top-level `Autocrypt` fields of `raw`.
fn autocrypt_fields(raw: &[u8]) -> Vec<String> {
    let Some(end) = sealpost_mime::header_len_in_prefix(raw, true) else {
        return Vec::new();
    };
    let block = String::from_utf8_lossy(raw.get(..end).unwrap_or_default());
    let mut fields: Vec<String> = Vec::new();
    let mut current: Option<String> = None;
    let mut seen = 0usize;
    for line in block.split('\n') {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.starts_with([' ', '\t']) {
            if let Some(c) = current.as_mut() {
                if c.len() + line.len() > MAX_HEADER {
                    // Too long to be a valid header: dropped.
                    current = None;
                    fields.pop();
                } else {
                    c.push_str(line);
                }
            }
            continue;
        }
        if let Some(c) = current.take() {
            fields.push(c);
        }
        seen += 1;
        if seen > MAX_FIELDS {
            break;
        }
        if let Some((name, value)) = line.split_once(':')
            && name.trim().eq_ignore_ascii_case("autocrypt")
        {
            current = Some(value.to_string());
        }
    }
    if let Some(c) = current {
        fields.push(c);
    }
    fields
}

/// The one valid header of a message from `from`; `None` when there is none or several.
pub fn header_for(raw: &[u8], from: &str) -> Option<AutocryptHeader> {
    let from = from.trim().to_lowercase();
    let mut valid = autocrypt_fields(raw)
        .into_iter()
        .filter_map(|v| parse_header(&v))
        .filter(|h| h.addr == from);
    let first = valid.next()?;
    valid.next().is_none().then_some(first)
}

/// The effective date of a message (ms): its `Date`, unless missing or in the future.
fn effective_date(parsed: &ParsedMessage, now: i64) -> i64 {
    parsed.date.filter(|d| *d <= now).unwrap_or(now)
}

impl Core {
    /// Stores the key of a valid `Autocrypt` header of a delivered message for `user`.
    /// Never fails the delivery: problems are logged.
    pub(crate) async fn autocrypt_after_delivery(
        &self,
        user: &UserRecord,
        spam: bool,
        raw: &[u8],
        parsed: &ParsedMessage,
    ) {
        if spam
            || parsed.envelope.from.len() != 1
            || (parsed.body.content_type.eq_ignore_ascii_case("multipart")
                && parsed.body.subtype.eq_ignore_ascii_case("report"))
        {
            return;
        }
        let Some(from) = parsed.from.as_ref().map(|a| a.address.clone()) else {
            return;
        };
        let Some(header) = header_for(raw, &from) else {
            return;
        };
        let date = effective_date(parsed, sealpost_store::now_ms());
        let addr = header.addr.clone();
        let checked = tokio::task::spawn_blocking(move || {
            let certs = sealpost_pgp::parse_certs(&header.keydata).ok()?;
            let [cert] = certs.as_slice() else {
                return None;
            };
            check_public_cert(cert).ok()?;
            let key = new_key(cert).ok()?;
            key.addresses
                .contains(&header.addr)
                .then_some((key, header.prefer_encrypt))
        })
        .await;
        let Ok(Some((key, prefer_encrypt))) = checked else {
            tracing::debug!(user = %user.id, addr, "Autocrypt header ignored: key not usable for its address");
            return;
        };
        let update = AutocryptUpdate {
            addr: &addr,
            prefer_encrypt,
            date,
        };
        match self
            .store
            .autocrypt_update(&user.id, &key, &update, MAX_EXTERNAL_KEYS)
            .await
        {
            Ok(outcome) => {
                tracing::debug!(user = %user.id, addr, fingerprint = key.fingerprint, ?outcome, "Autocrypt")
            }
            Err(e) => {
                tracing::warn!(user = %user.id, addr, error = %e, "Autocrypt key not stored")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_attributes() {
        let h = parse_header("addr=Bob@Example.org; prefer-encrypt=mutual; keydata=QUJD\r\n REVG")
            .unwrap();
        assert_eq!(h.addr, "bob@example.org");
        assert_eq!(h.prefer_encrypt, "mutual");
        assert_eq!(h.keydata, b"ABCDEF");
        let h = parse_header("addr=a@b.c; _extra=1; keydata=QUJD").unwrap();
        assert_eq!(h.prefer_encrypt, "nopreference");
        // Unknown critical attribute, missing parts, bad base64, repeats.
        assert!(parse_header("addr=a@b.c; type=2; keydata=QUJD").is_none());
        assert!(parse_header("addr=a@b.c").is_none());
        assert!(parse_header("keydata=QUJD").is_none());
        assert!(parse_header("addr=a@b.c; keydata=!!!").is_none());
        assert!(parse_header("addr=a@b.c; addr=d@e.f; keydata=QUJD").is_none());
    }

    #[test]
    fn header_must_name_the_sender_and_be_single() {
        let one = b"From: Bob <bob@example.org>\r\nAutocrypt: addr=bob@example.org;\r\n keydata=QUJD\r\nSubject: x\r\n\r\nAutocrypt: addr=bob@example.org; keydata=RUZH\r\n";
        let h = header_for(one, "Bob@example.org").unwrap();
        assert_eq!(h.keydata, b"ABC");
        assert!(header_for(one, "eve@example.org").is_none());
        let two = b"Autocrypt: addr=bob@example.org; keydata=QUJD\r\nAutocrypt: addr=bob@example.org; keydata=RUZH\r\n\r\n";
        assert!(header_for(two, "bob@example.org").is_none());
        let other = b"Autocrypt: addr=eve@example.org; keydata=QUJD\r\nAutocrypt: addr=bob@example.org; keydata=RUZH\r\n\r\n";
        assert_eq!(
            header_for(other, "bob@example.org").unwrap().keydata,
            b"EFG"
        );
    }

    #[test]
    fn future_dates_count_as_now() {
        let mut p = ParsedMessage::default();
        assert_eq!(effective_date(&p, 1000), 1000);
        p.date = Some(5000);
        assert_eq!(effective_date(&p, 1000), 1000);
        p.date = Some(500);
        assert_eq!(effective_date(&p, 1000), 500);
    }
}
