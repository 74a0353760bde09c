//! `[relay]` (the outbound SMTP relay, retries, SRS) and `[autoreply]` settings, and their
//! `SEALPOST_RELAY_*` / `SEALPOST_AUTOREPLY_*` environment variables. The relay password and
//! the SRS secret are [`Secret`]s: they never appear in `Debug` output or logs.

use super::{ConfigError, parse_count};
use sealpost_core::outbound::{OutboundConfig, RelayConfig, Secret, StartTls};
use serde::Deserialize;
use std::path::PathBuf;
use std::time::Duration;

/// `starttls = true | false | "required"`.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(super) enum FileStartTls {
    Bool(bool),
    Text(String),
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(super) struct FileRelay {
    host: Option<String>,
    port: Option<u16>,
    starttls: Option<FileStartTls>,
    #[serde(alias = "user")]
    username: Option<String>,
    password: Option<String>,
    timeout: Option<u64>,
    #[serde(alias = "helo_name", alias = "helo")]
    helo_name: Option<String>,
    #[serde(alias = "ca_file")]
    ca_file: Option<PathBuf>,
    #[serde(alias = "retry_base")]
    retry_base: Option<u64>,
    #[serde(alias = "retry_max")]
    retry_max: Option<u64>,
    #[serde(alias = "max_age")]
    max_age: Option<u64>,
    #[serde(alias = "srs_secret")]
    srs_secret: Option<String>,
    #[serde(alias = "srs_domain")]
    srs_domain: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FileAutoreply {
    interval: Option<u64>,
}

/// The resolved `[relay]` and `[autoreply]` settings (times in seconds).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelaySettings {
    /// No host: no relay, so no forwards or autoreplies are sent.
    pub host: Option<String>,
    pub port: u16,
    pub starttls: StartTls,
    pub username: Option<String>,
    pub password: Option<Secret>,
    pub timeout: u64,
    /// `None`: the server's domain.
    pub helo_name: Option<String>,
    pub ca_file: Option<PathBuf>,
    pub retry_base: u64,
    pub retry_max: u64,
    pub max_age: u64,
    pub srs_secret: Option<Secret>,
    pub srs_domain: Option<String>,
    pub autoreply_interval: u64,
}

impl Default for RelaySettings {
    fn default() -> Self {
        let d = OutboundConfig::default();
        RelaySettings {
            host: None,
            port: 25,
            starttls: StartTls::default(),
            username: None,
            password: None,
            timeout: 60,
            helo_name: None,
            ca_file: None,
            retry_base: d.retry_base.as_secs(),
            retry_max: d.retry_max.as_secs(),
            max_age: d.max_age.as_secs(),
            srs_secret: None,
            srs_domain: None,
            autoreply_interval: d.autoreply_interval.as_secs(),
        }
    }
}

fn non_empty(s: String) -> Option<String> {
    let t = s.trim();
    (!t.is_empty()).then(|| t.to_string())
}

impl RelaySettings {
    pub(super) fn apply_file(
        &mut self,
        relay: Option<FileRelay>,
        autoreply: Option<FileAutoreply>,
    ) -> Result<(), ConfigError> {
        if let Some(r) = relay {
            if let Some(h) = r.host {
                self.host = non_empty(h);
            }
            if let Some(p) = r.port {
                self.port = p;
            }
            match r.starttls {
                Some(FileStartTls::Bool(true)) => self.starttls = StartTls::Opportunistic,
                Some(FileStartTls::Bool(false)) => self.starttls = StartTls::Never,
                Some(FileStartTls::Text(t)) => {
                    self.starttls = t
                        .parse()
                        .map_err(|m| ConfigError::value("relay.starttls", m))?;
                }
                None => {}
            }
            if let Some(u) = r.username {
                self.username = non_empty(u);
            }
            if let Some(p) = r.password {
                self.password = Some(Secret::new(p));
            }
            self.timeout = r.timeout.unwrap_or(self.timeout);
            if let Some(h) = r.helo_name {
                self.helo_name = non_empty(h);
            }
            if r.ca_file.is_some() {
                self.ca_file = r.ca_file;
            }
            self.retry_base = r.retry_base.unwrap_or(self.retry_base);
            self.retry_max = r.retry_max.unwrap_or(self.retry_max);
            self.max_age = r.max_age.unwrap_or(self.max_age);
            if let Some(s) = r.srs_secret {
                self.srs_secret = Some(Secret::new(s));
            }
            if let Some(d) = r.srs_domain {
                self.srs_domain = non_empty(d);
            }
        }
        if let Some(i) = autoreply.and_then(|a| a.interval) {
            self.autoreply_interval = i;
        }
        Ok(())
    }

    pub(super) fn apply_env(
        &mut self,
        get: impl Fn(&str) -> Option<String>,
    ) -> Result<(), ConfigError> {
        if let Some(v) = get("SEALPOST_RELAY_HOST") {
            self.host = non_empty(v);
        }
        if let Some(v) = get("SEALPOST_RELAY_PORT") {
            self.port = parse_count("SEALPOST_RELAY_PORT", &v)?;
        }
        if let Some(v) = get("SEALPOST_RELAY_STARTTLS") {
            self.starttls = v
                .parse()
                .map_err(|m| ConfigError::value("SEALPOST_RELAY_STARTTLS", m))?;
        }
        if let Some(v) = get("SEALPOST_RELAY_USERNAME") {
            self.username = non_empty(v);
        }
        if let Some(v) = get("SEALPOST_RELAY_PASSWORD") {
            self.password = Some(Secret::new(v));
        }
        if let Some(v) = get("SEALPOST_RELAY_HELO_NAME") {
            self.helo_name = non_empty(v);
        }
        if let Some(v) = get("SEALPOST_RELAY_CA_FILE") {
            self.ca_file = Some(PathBuf::from(v));
        }
        if let Some(v) = get("SEALPOST_RELAY_SRS_SECRET") {
            self.srs_secret = Some(Secret::new(v));
        }
        if let Some(v) = get("SEALPOST_RELAY_SRS_DOMAIN") {
            self.srs_domain = non_empty(v);
        }
        let seconds: [(&str, &mut u64); 5] = [
            ("SEALPOST_RELAY_TIMEOUT", &mut self.timeout),
            ("SEALPOST_RELAY_RETRY_BASE", &mut self.retry_base),
            ("SEALPOST_RELAY_RETRY_MAX", &mut self.retry_max),
            ("SEALPOST_RELAY_MAX_AGE", &mut self.max_age),
            ("SEALPOST_AUTOREPLY_INTERVAL", &mut self.autoreply_interval),
        ];
        for (key, field) in seconds {
            if let Some(v) = get(key) {
                *field = parse_count(key, &v)?;
            }
        }
        Ok(())
    }

    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        let positive = [
            ("relay.port", u64::from(self.port)),
            ("relay.timeout", self.timeout),
            ("relay.retryBase", self.retry_base),
            ("relay.retryMax", self.retry_max),
            ("relay.maxAge", self.max_age),
            ("autoreply.interval", self.autoreply_interval),
        ];
        for (key, v) in positive {
            if v == 0 {
                return Err(ConfigError::value(key, "must be at least 1"));
            }
        }
        if self.retry_max < self.retry_base {
            return Err(ConfigError::value(
                "relay.retryMax",
                "must not be less than relay.retryBase",
            ));
        }
        if self.password.is_some() && self.username.is_none() {
            return Err(ConfigError::value(
                "relay.password",
                "is set without relay.username",
            ));
        }
        if let Some(h) = &self.host
            && h.contains(|c: char| c.is_whitespace() || c == '/' || c == '@')
        {
            return Err(ConfigError::value(
                "relay.host",
                format!("{h:?} is not a host name or address"),
            ));
        }
        if self
            .srs_secret
            .as_ref()
            .is_some_and(|s| s.expose().len() < 16)
        {
            return Err(ConfigError::value(
                "relay.srsSecret",
                "must be at least 16 characters",
            ));
        }
        Ok(())
    }

    /// The settings `core` takes; `domain` is the server's default domain.
    pub fn outbound_config(&self, domain: &str) -> OutboundConfig {
        let relay = self.host.as_ref().map(|host| RelayConfig {
            host: host.clone(),
            port: self.port,
            starttls: self.starttls,
            username: self.username.clone(),
            password: self.password.clone(),
            timeout: Duration::from_secs(self.timeout),
            helo_name: self.helo_name.clone().unwrap_or_else(|| domain.to_string()),
            ca_file: self.ca_file.clone(),
        });
        OutboundConfig {
            relay,
            retry_base: Duration::from_secs(self.retry_base),
            retry_max: Duration::from_secs(self.retry_max),
            max_age: Duration::from_secs(self.max_age),
            srs_secret: self.srs_secret.clone(),
            srs_domain: self.srs_domain.clone(),
            autoreply_interval: Duration::from_secs(self.autoreply_interval),
            ..OutboundConfig::default()
        }
    }
}
