//! Settings of outbound mail: the relay, the retry schedule, SRS and the autoreply interval.

use std::path::PathBuf;
use std::time::Duration;

/// A secret value (password, key): shown as `***` by `Debug` so that it never reaches a log.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Secret {
        Secret(s.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

/// `[relay] starttls`: `false`, `true` (when offered) or `"required"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StartTls {
    Never,
    #[default]
    Opportunistic,
    Required,
}

impl std::str::FromStr for StartTls {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "false" | "no" | "off" | "never" => Ok(StartTls::Never),
            "true" | "yes" | "on" | "opportunistic" => Ok(StartTls::Opportunistic),
            "required" => Ok(StartTls::Required),
            other => Err(format!("{other:?} is not one of false, true, \"required\"")),
        }
    }
}

/// The SMTP relay all outbound mail goes through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelayConfig {
    pub host: String,
    pub port: u16,
    pub starttls: StartTls,
    pub username: Option<String>,
    pub password: Option<Secret>,
    /// Per connect, read and write.
    pub timeout: Duration,
    /// Name given in EHLO.
    pub helo_name: String,
    /// PEM file of the CAs that may sign the relay's certificate; `None` = the system bundle.
    pub ca_file: Option<PathBuf>,
}

impl RelayConfig {
    /// True when the relay is this machine (credentials may then go without TLS).
    pub fn is_loopback(&self) -> bool {
        self.host.eq_ignore_ascii_case("localhost")
            || self
                .host
                .trim_start_matches('[')
                .trim_end_matches(']')
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback())
    }
}

/// Everything about outbound mail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboundConfig {
    /// `None`: no relay configured; forwards and autoreplies are not sent.
    pub relay: Option<RelayConfig>,
    /// First retry delay; doubles with each attempt up to `retry_max`.
    pub retry_base: Duration,
    pub retry_max: Duration,
    /// A message still not sent after this long is given up.
    pub max_age: Duration,
    /// SRS key; `None` = generated once into `<data_dir>/srs.secret`.
    pub srs_secret: Option<Secret>,
    /// Domain of SRS addresses; `None` = the server's domain.
    pub srs_domain: Option<String>,
    /// One autoreply per sender per this interval (WildDuck: 4 hours).
    pub autoreply_interval: Duration,
    /// `[outbound] direct`: without a relay, send straight to the recipient domains' MX
    /// hosts.
    pub direct: Option<DirectConfig>,
    /// `[outbound] delayWarning`: a submitter is told (RFC 3464 `delayed`) once when its
    /// message is still queued after this long; `None` = never.
    pub delay_warning: Option<Duration>,
}

/// Direct delivery to MX hosts (RFC 5321 section 5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirectConfig {
    /// The port MX hosts are contacted on (25; another only for tests and special setups).
    pub port: u16,
    /// Name given in EHLO.
    pub helo_name: String,
    /// Per connect, read and write.
    pub timeout: Duration,
    /// Connections to one recipient domain at once.
    pub domain_concurrency: usize,
}

impl Default for OutboundConfig {
    fn default() -> Self {
        OutboundConfig {
            relay: None,
            retry_base: Duration::from_secs(60),
            retry_max: Duration::from_secs(3600),
            max_age: Duration::from_secs(2 * 24 * 3600),
            srs_secret: None,
            srs_domain: None,
            autoreply_interval: Duration::from_secs(4 * 3600),
            direct: None,
            delay_warning: Some(Duration::from_secs(4 * 3600)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_do_not_print() {
        let c = RelayConfig {
            host: "relay".into(),
            port: 25,
            starttls: StartTls::Required,
            username: Some("u".into()),
            password: Some(Secret::new("hunter2")),
            timeout: Duration::from_secs(1),
            helo_name: "h".into(),
            ca_file: None,
        };
        assert!(!format!("{c:?}").contains("hunter2"));
    }

    #[test]
    fn starttls_values() {
        assert_eq!("false".parse(), Ok(StartTls::Never));
        assert_eq!("TRUE".parse(), Ok(StartTls::Opportunistic));
        assert_eq!("required".parse(), Ok(StartTls::Required));
        assert!("maybe".parse::<StartTls>().is_err());
    }

    #[test]
    fn loopback_relays() {
        let mut c = RelayConfig {
            host: "127.0.0.1".into(),
            port: 25,
            starttls: StartTls::Never,
            username: None,
            password: None,
            timeout: Duration::from_secs(1),
            helo_name: "h".into(),
            ca_file: None,
        };
        assert!(c.is_loopback());
        c.host = "[::1]".into();
        assert!(c.is_loopback());
        c.host = "smtp.example.com".into();
        assert!(!c.is_loopback());
    }
}
