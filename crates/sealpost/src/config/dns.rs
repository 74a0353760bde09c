//! `[dns]` (the resolvers every DNS lookup asks: SPF checks, MX lookups, DKIM/SPF/DMARC
//! verification) and its `SEALPOST_DNS_*` environment variables.

use super::{ConfigError, parse_count};
use sealpost_core::dns::DnsConfig;
use serde::Deserialize;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FileDns {
    /// "ip" (port 53) or "ip:port" / "[v6]:port".
    servers: Option<Vec<String>>,
    /// Seconds one query may take.
    timeout: Option<u64>,
    attempts: Option<usize>,
}

/// Resolvers at most.
const MAX_SERVERS: usize = 8;

/// One resolver address: an IP literal with an optional port (53 by default).
fn parse_server(key: &str, s: &str) -> Result<SocketAddr, ConfigError> {
    let s = s.trim();
    if let Ok(addr) = s.parse::<SocketAddr>() {
        return Ok(addr);
    }
    if let Ok(ip) = s.trim_matches(|c| c == '[' || c == ']').parse::<IpAddr>() {
        return Ok(SocketAddr::new(ip, 53));
    }
    Err(ConfigError::value(
        key,
        format!("{s:?} is not an IP address with an optional port (e.g. 127.0.0.1:53)"),
    ))
}

fn parse_servers<'a>(
    key: &str,
    list: impl IntoIterator<Item = &'a str>,
) -> Result<Vec<SocketAddr>, ConfigError> {
    let servers = list
        .into_iter()
        .filter(|s| !s.trim().is_empty())
        .map(|s| parse_server(key, s))
        .collect::<Result<Vec<_>, _>>()?;
    if servers.len() > MAX_SERVERS {
        return Err(ConfigError::value(
            key,
            format!("at most {MAX_SERVERS} servers"),
        ));
    }
    Ok(servers)
}

pub(super) fn apply_file(c: &mut DnsConfig, f: Option<FileDns>) -> Result<(), ConfigError> {
    let Some(f) = f else { return Ok(()) };
    if let Some(list) = f.servers {
        c.servers = parse_servers("dns.servers", list.iter().map(String::as_str))?;
    }
    if let Some(t) = f.timeout {
        c.timeout = Duration::from_secs(t);
    }
    if let Some(a) = f.attempts {
        c.attempts = a;
    }
    Ok(())
}

pub(super) fn apply_env(
    c: &mut DnsConfig,
    get: impl Fn(&str) -> Option<String>,
) -> Result<(), ConfigError> {
    if let Some(v) = get("SEALPOST_DNS_SERVERS") {
        c.servers = parse_servers("SEALPOST_DNS_SERVERS", v.split(','))?;
    }
    if let Some(v) = get("SEALPOST_DNS_TIMEOUT") {
        c.timeout = Duration::from_secs(parse_count("SEALPOST_DNS_TIMEOUT", &v)?);
    }
    if let Some(v) = get("SEALPOST_DNS_ATTEMPTS") {
        c.attempts = parse_count("SEALPOST_DNS_ATTEMPTS", &v)?;
    }
    Ok(())
}

pub(super) fn validate(c: &DnsConfig) -> Result<(), ConfigError> {
    if !(1..=60).contains(&c.timeout.as_secs()) {
        return Err(ConfigError::value("dns.timeout", "must be 1 to 60 seconds"));
    }
    if !(1..=5).contains(&c.attempts) {
        return Err(ConfigError::value("dns.attempts", "must be 1 to 5"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_env_and_validation() {
        let mut c = DnsConfig::default();
        let f: FileDns =
            toml::from_str("servers = [\"127.0.0.1:5353\", \"::1\", \"[::1]:54\"]\ntimeout = 2")
                .unwrap();
        apply_file(&mut c, Some(f)).unwrap();
        assert_eq!(
            c.servers,
            vec![
                "127.0.0.1:5353".parse().unwrap(),
                "[::1]:53".parse().unwrap(),
                "[::1]:54".parse().unwrap()
            ]
        );
        assert_eq!(c.timeout, Duration::from_secs(2));
        let env =
            |k: &str| (k == "SEALPOST_DNS_SERVERS").then(|| "10.0.0.1, 10.0.0.2:5300".to_string());
        apply_env(&mut c, env).unwrap();
        assert_eq!(c.servers.len(), 2);
        assert_eq!(c.servers[1].port(), 5300);
        assert!(validate(&c).is_ok());
        let bad = |k: &str| (k == "SEALPOST_DNS_SERVERS").then(|| "dns.example".to_string());
        assert!(apply_env(&mut c, bad).is_err());
        c.timeout = Duration::ZERO;
        assert!(validate(&c).is_err());
        assert!(toml::from_str::<FileDns>("unknown = 1").is_err());
    }
}
