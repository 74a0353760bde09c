//! Direct delivery (`[outbound] direct = true` without a relay): a queued row (one
//! recipient domain) goes straight to that domain's mail exchangers, RFC 5321 section 5:
//! the MX records by preference (ties in random order), or, when the domain has none, the
//! domain's own A/AAAA records as an implicit MX; a null MX (RFC 7505) refuses for good.
//! Every address of a host is tried in turn until one answers; a 5xx ends the attempt, a
//! 4xx or connection failure moves on to the next address or host. STARTTLS is used when
//! offered, without certificate checks (RFC 7435 opportunistic security: MX hosts carry no
//! certificate we could check without MTA-STS or DANE, which may come later); a failed
//! handshake is retried once in plain text, as Postfix's `may` level does.

use super::config::{DirectConfig, RelayConfig, StartTls};
use super::smtp::{Relay, SendError, SendReport, TLS_FAILED};
use crate::dns::{Dns, DnsError};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use tokio_rustls::rustls;

/// MX hosts tried per attempt at most, and addresses per host.
const MAX_HOSTS: usize = 8;
const MAX_ADDRESSES: usize = 4;

/// The sender for direct delivery.
pub(super) struct Direct {
    config: DirectConfig,
    dns: Dns,
    /// `None` when no TLS client could be set up: plain text only.
    tls: Option<Arc<rustls::ClientConfig>>,
}

impl Direct {
    pub(super) fn new(config: DirectConfig, dns: Dns) -> Direct {
        Direct {
            config,
            dns,
            tls: opportunistic_tls(),
        }
    }

    /// The hosts to try for `domain`, most preferred first.
    async fn exchangers(&self, domain: &str) -> Result<Vec<String>, SendError> {
        match self.dns.mx(domain).await {
            Ok(mxs) => {
                if mxs.iter().any(|m| m.host.is_empty()) {
                    return Err(SendError::Permanent(format!(
                        "556 5.1.10 {domain} does not accept mail (null MX, RFC 7505)"
                    )));
                }
                let mut hosts: Vec<(u16, u32, String)> = mxs
                    .into_iter()
                    .map(|m| (m.preference, rand::random::<u32>(), m.host))
                    .collect();
                hosts.sort();
                let mut out: Vec<String> = Vec::new();
                for (_, _, h) in hosts {
                    if !out.contains(&h) {
                        out.push(h);
                    }
                }
                out.truncate(MAX_HOSTS);
                Ok(out)
            }
            // No MX: the domain itself is the implicit MX (RFC 5321 section 5.1).
            Err(e) if e.is_not_found() => Ok(vec![domain.to_string()]),
            Err(DnsError::BadName(_)) => Err(SendError::Permanent(format!(
                "553 5.1.2 {domain:?} is not a valid domain"
            ))),
            Err(e) => Err(SendError::Temporary(e.to_string())),
        }
    }

    /// Sends one row (all its recipients are in `domain`).
    pub(super) async fn send(
        &self,
        domain: &str,
        from: &str,
        rcpts: &[String],
        raw: &[u8],
    ) -> Result<SendReport, SendError> {
        let hosts = self.exchangers(domain).await?;
        let mut last = SendError::Temporary(format!("no mail exchanger of {domain} answered"));
        let mut any_address = false;
        for host in &hosts {
            let ips: Vec<IpAddr> = match self.dns.ips(host).await {
                Ok(ips) => ips,
                Err(e) => {
                    last = SendError::Temporary(e.to_string());
                    continue;
                }
            };
            for ip in ips.into_iter().take(MAX_ADDRESSES) {
                any_address = true;
                let addr = SocketAddr::new(ip, self.config.port);
                match self.send_to_host(host, addr, from, rcpts, raw).await {
                    Ok(report) => return Ok(report),
                    Err(e @ SendError::Permanent(_)) => return Err(e),
                    Err(e) => {
                        tracing::info!(domain, host, %addr, error = %e, "mail exchanger failed; trying the next");
                        last = e;
                    }
                }
            }
        }
        if !any_address && hosts == [domain.to_string()] {
            // Neither MX nor address records: nothing will ever take this mail.
            return Err(SendError::Permanent(format!(
                "550 5.1.2 {domain} has no mail exchanger (no MX, A or AAAA record)"
            )));
        }
        Err(last)
    }

    async fn send_to_host(
        &self,
        host: &str,
        addr: SocketAddr,
        from: &str,
        rcpts: &[String],
        raw: &[u8],
    ) -> Result<SendReport, SendError> {
        let starttls = if self.tls.is_some() {
            StartTls::Opportunistic
        } else {
            StartTls::Never
        };
        let relay = |starttls| {
            Relay::new(
                RelayConfig {
                    host: host.to_string(),
                    port: self.config.port,
                    starttls,
                    username: None,
                    password: None,
                    timeout: self.config.timeout,
                    helo_name: self.config.helo_name.clone(),
                    ca_file: None,
                },
                self.tls.clone(),
            )
        };
        match relay(starttls).send_at(addr, from, rcpts, raw).await {
            Err(SendError::Temporary(e)) if e.starts_with(TLS_FAILED) => {
                tracing::info!(host, %addr, error = %e, "STARTTLS failed; trying again without TLS");
                relay(StartTls::Never).send_at(addr, from, rcpts, raw).await
            }
            other => other,
        }
    }
}

/// TLS that encrypts without checking who is at the other end (RFC 7435): the handshake's
/// signatures are still verified, so the session key is the peer's.
fn opportunistic_tls() -> Option<Arc<rustls::ClientConfig>> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = Arc::new(AnyCertificate(provider.clone()));
    match rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
    {
        Ok(b) => Some(Arc::new(
            b.dangerous()
                .with_custom_certificate_verifier(verifier)
                .with_no_client_auth(),
        )),
        Err(e) => {
            tracing::warn!(error = %e, "direct delivery: no TLS client; sending in plain text");
            None
        }
    }
}

#[derive(Debug)]
struct AnyCertificate(Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &rustls::pki_types::CertificateDer<'_>,
        _intermediates: &[rustls::pki_types::CertificateDer<'_>],
        _server_name: &rustls::pki_types::ServerName<'_>,
        _ocsp_response: &[u8],
        _now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
