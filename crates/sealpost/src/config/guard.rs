//! `[guard]` (the Guard key-management API: recovery, the master key, token lifetimes) and its
//! `SEALPOST_GUARD_*` environment variables. The master key is a [`Secret`]: it never appears
//! in `Debug` output or logs.

use super::{ConfigError, parse_count};
use sealpost_core::guard::GuardConfig;
use sealpost_core::outbound::Secret;
use serde::Deserialize;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(super) struct FileGuard {
    recovery: Option<bool>,
    #[serde(alias = "master_key")]
    master_key: Option<String>,
    #[serde(alias = "master_key_file")]
    master_key_file: Option<PathBuf>,
    #[serde(alias = "session_ttl")]
    session_ttl: Option<u64>,
    #[serde(alias = "auth_ttl")]
    auth_ttl: Option<u64>,
    #[serde(alias = "min_password_length")]
    min_password_length: Option<usize>,
    #[serde(alias = "max_key_rings")]
    max_key_rings: Option<i64>,
    #[serde(alias = "max_key_size")]
    max_key_size: Option<usize>,
}

/// Shortest accepted master key.
const MIN_MASTER_KEY: usize = 32;

pub(super) fn apply_file(c: &mut GuardConfig, f: Option<FileGuard>) {
    let Some(f) = f else { return };
    if let Some(v) = f.recovery {
        c.recovery = v;
    }
    if let Some(v) = f.master_key {
        c.master_key = Some(Secret::new(v));
    }
    if let Some(v) = f.master_key_file {
        c.master_key_file = Some(v);
    }
    if let Some(v) = f.session_ttl {
        c.session_ttl = Duration::from_secs(v);
    }
    if let Some(v) = f.auth_ttl {
        c.auth_ttl = Duration::from_secs(v);
    }
    if let Some(v) = f.min_password_length {
        c.min_password_length = v;
    }
    if let Some(v) = f.max_key_rings {
        c.max_key_rings = v;
    }
    if let Some(v) = f.max_key_size {
        c.max_key_size = v;
    }
}

pub(super) fn apply_env(
    c: &mut GuardConfig,
    get: impl Fn(&str) -> Option<String>,
) -> Result<(), ConfigError> {
    if let Some(v) = get("SEALPOST_GUARD_RECOVERY") {
        c.recovery = match v.trim().to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" => true,
            "false" | "0" | "no" => false,
            _ => {
                return Err(ConfigError::value(
                    "SEALPOST_GUARD_RECOVERY",
                    format!("{v:?} is not true or false"),
                ));
            }
        };
    }
    if let Some(v) = get("SEALPOST_GUARD_MASTER_KEY") {
        c.master_key = Some(Secret::new(v));
    }
    if let Some(v) = get("SEALPOST_GUARD_MASTER_KEY_FILE") {
        c.master_key_file = Some(PathBuf::from(v));
    }
    if let Some(v) = get("SEALPOST_GUARD_SESSION_TTL") {
        c.session_ttl = Duration::from_secs(parse_count("SEALPOST_GUARD_SESSION_TTL", &v)?);
    }
    if let Some(v) = get("SEALPOST_GUARD_AUTH_TTL") {
        c.auth_ttl = Duration::from_secs(parse_count("SEALPOST_GUARD_AUTH_TTL", &v)?);
    }
    Ok(())
}

pub(super) fn validate(c: &GuardConfig) -> Result<(), ConfigError> {
    if c.master_key
        .as_ref()
        .is_some_and(|k| k.expose().trim().len() < MIN_MASTER_KEY)
    {
        return Err(ConfigError::value(
            "[guard] masterKey",
            format!("must be at least {MIN_MASTER_KEY} characters"),
        ));
    }
    if c.session_ttl.is_zero() || c.auth_ttl.is_zero() {
        return Err(ConfigError::value(
            "[guard] sessionTtl/authTtl",
            "must be at least one second",
        ));
    }
    if c.max_key_rings < 1 || c.max_key_size < 1024 {
        return Err(ConfigError::value(
            "[guard] maxKeyRings/maxKeySize",
            "at least one ring of at least 1024 bytes",
        ));
    }
    Ok(())
}
