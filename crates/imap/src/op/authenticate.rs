//! AUTHENTICATE PLAIN (RFC 4616), with the initial response on the command line (SASL-IR)
//! or after an empty challenge.

use crate::error::Result;
use crate::session::{Session, User, capabilities};
use base64::Engine;
use sealpost_core::Scope;
use sealpost_imap_proto::{
    Code, ParseError, Response, SaslResponse, StatusResponse, parse_sasl_response,
};

/// `authzid NUL authcid NUL password`; the authorization identity, when given, must be the
/// authentication identity (no proxy login).
fn plain_credentials(decoded: &[u8]) -> Option<(String, String)> {
    let mut fields = decoded.split(|&b| b == 0);
    let authz = fields.next()?;
    let authc = std::str::from_utf8(fields.next()?).ok()?;
    let password = std::str::from_utf8(fields.next()?).ok()?;
    if fields.next().is_some() || (!authz.is_empty() && authz != authc.as_bytes()) {
        return None;
    }
    Some((authc.to_string(), password.to_string()))
}

impl Session {
    pub(crate) async fn op_authenticate(
        &mut self,
        tag: &str,
        mechanism: &str,
        initial_response: Option<String>,
    ) -> Result<StatusResponse> {
        if !mechanism.eq_ignore_ascii_case("PLAIN") {
            return Ok(
                StatusResponse::no(tag, "Unsupported authentication mechanism")
                    .with_code(Code::Cannot),
            );
        }
        let data = match initial_response {
            Some(data) => data,
            None => {
                self.push(Response::SaslChallenge(Vec::new()));
                self.flush().await?;
                let limits = self.limits();
                loop {
                    match parse_sasl_response(&self.buf, &limits) {
                        Ok((response, used)) => {
                            self.buf.drain(..used);
                            match response {
                                SaslResponse::Cancel => {
                                    return Ok(StatusResponse::bad(
                                        tag,
                                        "Authentication cancelled",
                                    ));
                                }
                                SaslResponse::Data(data) => break data,
                            }
                        }
                        Err(ParseError::Incomplete) => {
                            self.read_more().await?;
                        }
                        Err(e) => {
                            let skip = self
                                .buf
                                .iter()
                                .position(|&b| b == b'\n')
                                .map(|p| p + 1)
                                .unwrap_or(self.buf.len());
                            self.buf.drain(..skip);
                            return Ok(StatusResponse::bad(tag, e.to_string()));
                        }
                    }
                }
            }
        };
        let decoded = if data == "=" {
            Vec::new()
        } else {
            match base64::engine::general_purpose::STANDARD.decode(data.as_bytes()) {
                Ok(d) => d,
                Err(_) => return Ok(StatusResponse::bad(tag, "Invalid base64")),
            }
        };
        let Some((username, password)) = plain_credentials(&decoded) else {
            return Ok(self.auth_failure(tag).await);
        };
        match self
            .core
            .authenticate(&username, &password, Scope::Imap)
            .await
        {
            Ok(auth) => {
                self.user = Some(User { id: auth.id });
                Ok(StatusResponse::ok(tag, "Authenticated")
                    .with_code(Code::Capability(capabilities())))
            }
            Err(sealpost_core::Error::AuthFailed) => Ok(self.auth_failure(tag).await),
            Err(e) => Err(e.into()),
        }
    }
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
    }
}
