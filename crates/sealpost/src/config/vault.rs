//! `[vault]` (the password vault: the server key file, the base URL of setup links, the
//! session lifetime) and its `SEALPOST_VAULT_*` environment variables.

use super::{ConfigError, parse_count};
use sealpost_core::vault::VaultConfig;
use serde::Deserialize;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(super) struct FileVault {
    #[serde(alias = "server_key_file")]
    server_key_file: Option<PathBuf>,
    #[serde(alias = "base_url")]
    base_url: Option<String>,
    #[serde(alias = "session_ttl")]
    session_ttl: Option<u64>,
}

/// `[vault]` as configured; the base URL defaults to the REST API's listen address.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VaultSettings {
    pub server_key_file: Option<PathBuf>,
    pub base_url: Option<String>,
    pub session_ttl: Option<u64>,
}

impl VaultSettings {
    pub(super) fn apply_file(&mut self, f: Option<FileVault>) {
        let Some(f) = f else { return };
        if f.server_key_file.is_some() {
            self.server_key_file = f.server_key_file;
        }
        if f.base_url.is_some() {
            self.base_url = f.base_url;
        }
        if f.session_ttl.is_some() {
            self.session_ttl = f.session_ttl;
        }
    }

    pub(super) fn apply_env(
        &mut self,
        get: impl Fn(&str) -> Option<String>,
    ) -> Result<(), ConfigError> {
        if let Some(v) = get("SEALPOST_VAULT_SERVER_KEY_FILE") {
            self.server_key_file = Some(PathBuf::from(v));
        }
        if let Some(v) = get("SEALPOST_VAULT_BASE_URL") {
            self.base_url = Some(v);
        }
        if let Some(v) = get("SEALPOST_VAULT_SESSION_TTL") {
            self.session_ttl = Some(parse_count("SEALPOST_VAULT_SESSION_TTL", &v)?);
        }
        Ok(())
    }

    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        if self.session_ttl == Some(0) {
            return Err(ConfigError::value(
                "[vault] sessionTtl",
                "must be at least one second",
            ));
        }
        if let Some(u) = &self.base_url
            && !(u.starts_with("http://") || u.starts_with("https://"))
        {
            return Err(ConfigError::value(
                "[vault] baseUrl",
                "must be an http:// or https:// URL",
            ));
        }
        Ok(())
    }

    /// The core's settings; `api` is the REST API's listen address.
    pub fn core(&self, api: std::net::SocketAddr) -> VaultConfig {
        let d = VaultConfig::default();
        VaultConfig {
            server_key_file: self.server_key_file.clone(),
            base_url: self
                .base_url
                .clone()
                .unwrap_or_else(|| format!("http://{api}/vault")),
            session_ttl: self
                .session_ttl
                .map(Duration::from_secs)
                .unwrap_or(d.session_ttl),
            setup_ttl: d.setup_ttl,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_env_and_defaults() {
        let mut v = VaultSettings::default();
        let f: FileVault = toml::from_str("serverKeyFile = \"/k\"\nsessionTtl = 60").unwrap();
        v.apply_file(Some(f));
        let api: std::net::SocketAddr = "127.0.0.1:8080".parse().unwrap();
        let c = v.core(api);
        assert_eq!(
            c.server_key_file.as_deref(),
            Some(std::path::Path::new("/k"))
        );
        assert_eq!(c.session_ttl, Duration::from_secs(60));
        assert_eq!(c.base_url, "http://127.0.0.1:8080/vault");
        let env = |k: &str| {
            (k == "SEALPOST_VAULT_BASE_URL").then(|| "https://v.example/vault".to_string())
        };
        v.apply_env(env).unwrap();
        assert_eq!(v.core(api).base_url, "https://v.example/vault");
        assert!(v.validate().is_ok());
        v.base_url = Some("ftp://x".into());
        assert!(v.validate().is_err());
        assert!(toml::from_str::<FileVault>("unknown = 1").is_err());
    }
}
