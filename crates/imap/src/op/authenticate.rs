//! AUTHENTICATE PLAIN (RFC 4616), with the initial response on the command line (SASL-IR)
//! or after an empty challenge.

use crate::error::Result;
use crate::session::Session;
use base64::Engine;
use sealpost_imap_proto::{
    Code, ParseError, Response, SaslResponse, StatusResponse, parse_sasl_response,
};
use sealpost_net::plain_credentials;

impl Session {
    pub(crate) async fn op_authenticate(
        &mut self,
        tag: &str,
        mechanism: &str,
        initial_response: Option<String>,
    ) -> Result<StatusResponse> {
        if let Some(refusal) = self.auth_refusal(tag) {
            return Ok(refusal);
        }
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
                            self.skip_line();
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
            return Ok(self.auth_failure(tag, "").await);
        };
        self.check_login(tag, &username, &password, "Authenticated")
            .await
    }
}
