//! `[server]`: what the whole process shares: the public host name mail clients are pointed
//! at (autoconfig, autodiscover, Apple profiles) and the shutdown grace period, with their
//! `SEALPOST_PUBLIC_HOSTNAME` and `SEALPOST_SHUTDOWN_GRACE` environment variables.

use super::{ConfigError, parse_count};
use serde::Deserialize;
use std::time::Duration;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(super) struct FileServer {
    #[serde(alias = "public_hostname")]
    public_hostname: Option<String>,
    /// Seconds.
    #[serde(alias = "shutdown_grace")]
    shutdown_grace: Option<u64>,
}

#[derive(Debug, Clone)]
pub struct ServerOptions {
    /// `[server] publicHostname`; `None` = the mail domain (`[users] domain`).
    pub public_hostname: Option<String>,
    /// `[server] shutdownGrace`: how long a SIGTERM lets transactions in flight finish.
    pub shutdown_grace: Duration,
}

impl Default for ServerOptions {
    fn default() -> Self {
        ServerOptions {
            public_hostname: None,
            shutdown_grace: Duration::from_secs(30),
        }
    }
}

/// The longest grace period: a stop must not hang for hours.
const MAX_GRACE_SECS: u64 = 3600;

pub(super) fn apply_file(o: &mut ServerOptions, f: Option<FileServer>) {
    let Some(f) = f else { return };
    if let Some(h) = f.public_hostname {
        o.public_hostname = Some(h);
    }
    if let Some(g) = f.shutdown_grace {
        o.shutdown_grace = Duration::from_secs(g);
    }
}

pub(super) fn apply_env(
    o: &mut ServerOptions,
    get: impl Fn(&str) -> Option<String>,
) -> Result<(), ConfigError> {
    if let Some(v) = get("SEALPOST_PUBLIC_HOSTNAME") {
        o.public_hostname = Some(v);
    }
    if let Some(v) = get("SEALPOST_SHUTDOWN_GRACE") {
        o.shutdown_grace = Duration::from_secs(parse_count("SEALPOST_SHUTDOWN_GRACE", &v)?);
    }
    Ok(())
}

/// A DNS host name: labels of letters, digits and hyphens, at most 253 characters.
fn is_host_name(h: &str) -> bool {
    !h.is_empty()
        && h.len() <= 253
        && h.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

pub(super) fn validate(o: &mut ServerOptions) -> Result<(), ConfigError> {
    if let Some(h) = &mut o.public_hostname {
        *h = h.trim().trim_end_matches('.').to_ascii_lowercase();
        if !is_host_name(h) {
            return Err(ConfigError::value(
                "server.publicHostname",
                format!("{h:?} is not a host name (e.g. mail.example.com)"),
            ));
        }
    }
    if o.shutdown_grace.as_secs() > MAX_GRACE_SECS {
        return Err(ConfigError::value(
            "server.shutdownGrace",
            format!("at most {MAX_GRACE_SECS} seconds"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_env_and_validation() {
        let mut o = ServerOptions::default();
        let f: FileServer =
            toml::from_str("publicHostname = \"Mail.Example.COM.\"\nshutdownGrace = 5").unwrap();
        apply_file(&mut o, Some(f));
        validate(&mut o).unwrap();
        assert_eq!(o.public_hostname.as_deref(), Some("mail.example.com"));
        assert_eq!(o.shutdown_grace, Duration::from_secs(5));
        apply_env(&mut o, |k| {
            (k == "SEALPOST_SHUTDOWN_GRACE").then(|| "7".into())
        })
        .unwrap();
        assert_eq!(o.shutdown_grace, Duration::from_secs(7));
        for bad in ["", "a b", "-x.org", "x..org", "exa_mple.org"] {
            let mut o = ServerOptions {
                public_hostname: Some(bad.into()),
                ..ServerOptions::default()
            };
            assert!(validate(&mut o).is_err(), "{bad}");
        }
        let mut o = ServerOptions {
            shutdown_grace: Duration::from_secs(MAX_GRACE_SECS + 1),
            ..ServerOptions::default()
        };
        assert!(validate(&mut o).is_err());
        assert!(apply_env(&mut o, |_| Some("soon".into())).is_err());
    }
}
