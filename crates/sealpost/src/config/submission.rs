//! `[outbound]` (direct delivery to MX hosts, delay warnings) and `[dkim]` (the secret DKIM
//! private keys are sealed with), and their `SEALPOST_OUTBOUND_*` / `SEALPOST_DKIM_*`
//! environment variables. The DKIM secret is a [`Secret`]: never in `Debug` output or logs.

use super::relay::RelaySettings;
use super::{ConfigError, parse_count};
use sealpost_core::dkim::DkimConfig;
use sealpost_core::outbound::{DirectConfig, OutboundConfig, Secret};
use serde::Deserialize;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(super) struct FileOutbound {
    direct: Option<bool>,
    #[serde(alias = "delay_warning")]
    delay_warning: Option<u64>,
    port: Option<u16>,
    #[serde(alias = "domain_concurrency")]
    domain_concurrency: Option<usize>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(super) struct FileDkim {
    secret: Option<String>,
    #[serde(alias = "secret_file")]
    secret_file: Option<PathBuf>,
}

/// The resolved `[outbound]` settings (times in seconds).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboundOptions {
    /// Without `[relay] host`, send straight to the recipients' MX hosts.
    pub direct: bool,
    /// Seconds after which a submitter hears that its message is delayed; 0 = never.
    pub delay_warning: u64,
    /// The port of MX hosts.
    pub port: u16,
    /// Connections to one recipient domain at once.
    pub domain_concurrency: usize,
}

impl Default for OutboundOptions {
    fn default() -> Self {
        OutboundOptions {
            direct: false,
            delay_warning: OutboundConfig::default()
                .delay_warning
                .map_or(0, |d| d.as_secs()),
            port: 25,
            domain_concurrency: 5,
        }
    }
}

impl OutboundOptions {
    /// `base` (from `[relay]`) with direct delivery and the delay warning.
    pub fn apply(
        &self,
        mut base: OutboundConfig,
        relay: &RelaySettings,
        domain: &str,
    ) -> OutboundConfig {
        base.delay_warning =
            (self.delay_warning > 0).then(|| Duration::from_secs(self.delay_warning));
        base.direct = self.direct.then(|| DirectConfig {
            port: self.port,
            helo_name: relay
                .helo_name
                .clone()
                .unwrap_or_else(|| domain.to_string()),
            timeout: Duration::from_secs(relay.timeout),
            domain_concurrency: self.domain_concurrency,
        });
        base
    }
}

fn parse_bool(key: &str, v: &str) -> Result<bool, ConfigError> {
    match v.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Ok(true),
        "false" | "0" | "no" | "off" => Ok(false),
        other => Err(ConfigError::value(
            key,
            format!("{other:?} is not true or false"),
        )),
    }
}

pub(super) fn apply_file(
    o: &mut OutboundOptions,
    d: &mut DkimConfig,
    outbound: Option<FileOutbound>,
    dkim: Option<FileDkim>,
) -> Result<(), ConfigError> {
    if let Some(f) = outbound {
        o.direct = f.direct.unwrap_or(o.direct);
        o.delay_warning = f.delay_warning.unwrap_or(o.delay_warning);
        o.port = f.port.unwrap_or(o.port);
        o.domain_concurrency = f.domain_concurrency.unwrap_or(o.domain_concurrency);
    }
    if let Some(f) = dkim {
        if let Some(s) = f.secret {
            d.secret = Some(Secret::new(s));
        }
        if f.secret_file.is_some() {
            d.secret_file = f.secret_file;
        }
    }
    Ok(())
}

pub(super) fn apply_env(
    o: &mut OutboundOptions,
    d: &mut DkimConfig,
    get: impl Fn(&str) -> Option<String>,
) -> Result<(), ConfigError> {
    if let Some(v) = get("SEALPOST_OUTBOUND_DIRECT") {
        o.direct = parse_bool("SEALPOST_OUTBOUND_DIRECT", &v)?;
    }
    if let Some(v) = get("SEALPOST_OUTBOUND_DELAY_WARNING") {
        o.delay_warning = parse_count("SEALPOST_OUTBOUND_DELAY_WARNING", &v)?;
    }
    if let Some(v) = get("SEALPOST_OUTBOUND_PORT") {
        o.port = parse_count("SEALPOST_OUTBOUND_PORT", &v)?;
    }
    if let Some(v) = get("SEALPOST_OUTBOUND_DOMAIN_CONCURRENCY") {
        o.domain_concurrency = parse_count("SEALPOST_OUTBOUND_DOMAIN_CONCURRENCY", &v)?;
    }
    if let Some(v) = get("SEALPOST_DKIM_SECRET") {
        d.secret = Some(Secret::new(v));
    }
    if let Some(v) = get("SEALPOST_DKIM_SECRET_FILE") {
        d.secret_file = Some(PathBuf::from(v));
    }
    Ok(())
}

pub(super) fn validate(o: &OutboundOptions, d: &DkimConfig) -> Result<(), ConfigError> {
    if o.port == 0 {
        return Err(ConfigError::value("outbound.port", "must be at least 1"));
    }
    if !(1..=100).contains(&o.domain_concurrency) {
        return Err(ConfigError::value(
            "outbound.domainConcurrency",
            "must be from 1 to 100",
        ));
    }
    if d.secret.as_ref().is_some_and(|s| s.expose().len() < 32) {
        return Err(ConfigError::value(
            "dkim.secret",
            "must be at least 32 characters",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::config::{CliOverrides, Config, Service};
    use std::collections::HashMap;

    fn load(vars: &[(&str, &str)]) -> Result<Config, crate::config::ConfigError> {
        let env: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::load(None, |k| env.get(k).cloned(), &CliOverrides::default())
    }

    #[test]
    fn submission_defaults_and_environment() {
        let c = load(&[]).unwrap();
        assert_eq!(
            c.listen(Service::Submission),
            "127.0.0.1:1587".parse().unwrap()
        );
        assert_eq!(
            c.listen(Service::Submissions),
            "127.0.0.1:1465".parse().unwrap()
        );
        let core = c.core_config();
        assert!(core.outbound.direct.is_none());
        assert_eq!(core.client_setup.smtp_port, 1465);
        assert!(core.client_setup.smtp_tls);
        let c = load(&[
            ("SEALPOST_SUBMISSION_LISTEN", "127.0.0.1:2587"),
            ("SEALPOST_SUBMISSION_ALLOW_PLAINTEXT_AUTH", "never"),
            ("SEALPOST_OUTBOUND_DIRECT", "true"),
            ("SEALPOST_OUTBOUND_PORT", "2526"),
            ("SEALPOST_OUTBOUND_DELAY_WARNING", "0"),
            ("SEALPOST_DKIM_SECRET", "0123456789abcdef0123456789abcdef"),
        ])
        .unwrap();
        let d = c.delivery_config(Service::Submission);
        assert_eq!(d.allow_plaintext_auth, sealpost_lmtp::PlaintextAuth::Never);
        let core = c.core_config();
        assert_eq!(core.outbound.direct.as_ref().map(|d| d.port), Some(2526));
        assert_eq!(core.outbound.delay_warning, None);
        assert!(!format!("{:?}", core.dkim).contains("0123456789abcdef"));
        assert!(load(&[("SEALPOST_DKIM_SECRET", "short")]).is_err());
        assert!(load(&[("SEALPOST_OUTBOUND_DIRECT", "maybe")]).is_err());
        assert!(load(&[("SEALPOST_SUBMISSION_LISTEN", "127.0.0.1:2525")]).is_err());
    }
}
