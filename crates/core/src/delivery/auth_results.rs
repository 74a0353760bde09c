//! `Authentication-Results:` (RFC 8601) for mail arriving over inbound SMTP: the DKIM
//! signatures, SPF (MAIL FROM, or HELO for the null sender) and DMARC, checked with
//! `mail-auth` through the server's DNS settings (`[dns]`). Fields in the message that claim
//! to come from us (our authserv-id) are removed first (RFC 8601 section 5): only ours may
//! say what we found. LMTP mail is left alone: the MTA in front of us authenticates it.

use super::Envelope;
use crate::Core;
use mail_auth::common::headers::HeaderWriter;
use mail_auth::dmarc::verify::DmarcParameters;
use mail_auth::spf::verify::SpfParameters;
use mail_auth::{AuthenticatedMessage, AuthenticationResults, MessageAuthenticator};

/// Longest time the checks of one message may take; past it the message gets
/// `temperror`-free results of what finished (none) rather than wait.
const CHECK_BUDGET: std::time::Duration = std::time::Duration::from_secs(30);

impl Core {
    /// The authenticator, made on first use from the same resolver settings as `dns()`.
    fn authenticator(&self) -> Option<&MessageAuthenticator> {
        self.dkim
            .authenticator
            .get_or_init(|| {
                let (config, opts) = self.dns.resolver_config();
                match MessageAuthenticator::new(config, opts) {
                    Ok(a) => Some(a),
                    Err(e) => {
                        tracing::warn!(error = %e, "cannot set up DKIM/SPF/DMARC checks");
                        None
                    }
                }
            })
            .as_ref()
    }

    /// `raw` with our `Authentication-Results:` in front (and without fields that claim
    /// our name). `raw` unchanged when the checks cannot be set up.
    pub async fn authenticate_inbound(&self, envelope: &Envelope, raw: &[u8]) -> Vec<u8> {
        let Some(auth) = self.authenticator() else {
            return raw.to_vec();
        };
        let host = envelope.hostname.as_str();
        let cleaned = strip_our_results(raw, host);
        let header = tokio::time::timeout(CHECK_BUDGET, results(auth, envelope, &cleaned)).await;
        let header = match header {
            Ok(Some(h)) => h,
            Ok(None) => format!("Authentication-Results: {host}; none\r\n"),
            Err(_) => {
                tracing::info!(id = %envelope.id, "authentication checks took too long");
                format!(
                    "Authentication-Results: {host};\r\n\tdkim=temperror;\r\n\tspf=temperror;\r\n\tdmarc=temperror\r\n"
                )
            }
        };
        let mut out = Vec::with_capacity(header.len() + cleaned.len());
        out.extend_from_slice(header.as_bytes());
        out.extend_from_slice(&cleaned);
        out
    }
}

async fn results(auth: &MessageAuthenticator, envelope: &Envelope, raw: &[u8]) -> Option<String> {
    let message = AuthenticatedMessage::parse(raw)?;
    let host = envelope.hostname.as_str();
    let helo = envelope.helo.as_str();
    let ip = envelope.peer;
    let dkim = auth.verify_dkim(&message).await;
    let mail_from = envelope.mail_from.as_str();
    let spf = if mail_from.is_empty() {
        auth.verify_spf(SpfParameters::verify_ehlo(ip, helo, host))
            .await
    } else {
        auth.verify_spf(SpfParameters::verify_mail_from(ip, helo, host, mail_from))
            .await
    };
    let from_domain = if mail_from.is_empty() {
        helo
    } else {
        mail_from.rsplit_once('@').map_or(helo, |(_, d)| d)
    };
    let dmarc = auth
        .verify_dmarc(DmarcParameters::new(&message, &dkim, from_domain, &spf))
        .await;
    let mut header = AuthenticationResults::new(host).with_dkim_results(&dkim, message.from());
    header = if mail_from.is_empty() {
        header.with_spf_ehlo_result(&spf, ip, helo)
    } else {
        header.with_spf_mailfrom_result(&spf, ip, mail_from, helo)
    };
    Some(header.with_dmarc_result(&dmarc).to_header())
}

/// `raw` without the `Authentication-Results:` fields whose authserv-id is `host`.
fn strip_our_results(raw: &[u8], host: &str) -> Vec<u8> {
    let header_end = sealpost_mime::header_len_in_prefix(raw, true).unwrap_or(raw.len());
    let (head, body) = raw.split_at(header_end.min(raw.len()));
    let mut out = Vec::with_capacity(raw.len());
    let mut skipping = false;
    for line in head.split_inclusive(|&b| b == b'\n') {
        let continuation = matches!(line.first(), Some(b' ' | b'\t'));
        if !continuation {
            skipping = is_ours(line, host);
        }
        if !skipping {
            out.extend_from_slice(line);
        }
    }
    out.extend_from_slice(body);
    out
}

fn is_ours(line: &[u8], host: &str) -> bool {
    const NAME: &[u8] = b"authentication-results:";
    if line.len() < NAME.len() || !line[..NAME.len()].eq_ignore_ascii_case(NAME) {
        return false;
    }
    let value = String::from_utf8_lossy(&line[NAME.len()..]);
    let id = value
        .trim_start()
        .split(|c: char| c == ';' || c.is_whitespace())
        .next()
        .unwrap_or("");
    id.eq_ignore_ascii_case(host)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forged_results_with_our_name_are_removed() {
        let raw = b"Authentication-Results: mx.example.test;\r\n\tdkim=pass\r\nAuthentication-Results: other.example; spf=fail\r\nSubject: x\r\n\r\nAuthentication-Results: mx.example.test; in the body\r\n";
        let out = String::from_utf8(strip_our_results(raw, "MX.example.test")).unwrap();
        assert_eq!(
            out,
            "Authentication-Results: other.example; spf=fail\r\nSubject: x\r\n\r\nAuthentication-Results: mx.example.test; in the body\r\n"
        );
    }
}
