//! SASL PLAIN (RFC 4616) credentials, as IMAP AUTHENTICATE and POP3 AUTH receive them.

/// `authzid NUL authcid NUL password` (already base64-decoded) to the user name and
/// password. The authorization identity, when given, must be the authentication identity
/// (no proxy login); anything else is `None`.
pub fn plain_credentials(decoded: &[u8]) -> Option<(String, String)> {
    let mut fields = decoded.split(|&b| b == 0);
    let authz = fields.next()?;
    let authc = std::str::from_utf8(fields.next()?).ok()?;
    let password = std::str::from_utf8(fields.next()?).ok()?;
    if fields.next().is_some() || (!authz.is_empty() && authz != authc.as_bytes()) {
        return None;
    }
    Some((authc.to_string(), password.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain() {
        assert_eq!(
            plain_credentials(b"\0alice\0pw"),
            Some(("alice".into(), "pw".into()))
        );
        assert_eq!(
            plain_credentials(b"alice\0alice\0pw"),
            Some(("alice".into(), "pw".into()))
        );
        assert_eq!(plain_credentials(b"bob\0alice\0pw"), None);
        assert_eq!(plain_credentials(b"alice"), None);
        assert_eq!(plain_credentials(b"\0alice\0pw\0x"), None);
    }
}
