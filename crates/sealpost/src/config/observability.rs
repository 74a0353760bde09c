//! `[metrics]` and `[log] format`: where Prometheus scrapes `/metrics` (off unless
//! `[metrics] listen` / `SEALPOST_METRICS_LISTEN` is set; e.g. `127.0.0.1:9090`) and whether
//! logs are text for people or one JSON object per line for a collector (`SEALPOST_LOG_FORMAT`).

use super::{ConfigError, ListenAddr, parse_listen};
use serde::Deserialize;
use std::net::SocketAddr;
use std::str::FromStr;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FileMetrics {
    listen: Option<ListenAddr>,
}

/// How log lines are written to stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogFormat {
    /// Human-readable lines (coloured on a terminal).
    #[default]
    Text,
    /// One JSON object per line: `timestamp`, `level`, `target`, `fields`, and the `span`
    /// (session) it was written in.
    Json,
}

impl FromStr for LogFormat {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "text" => Ok(LogFormat::Text),
            "json" => Ok(LogFormat::Json),
            _ => Err(format!("{s:?} is not \"text\" or \"json\"")),
        }
    }
}

pub(super) fn apply_file(metrics: &mut Option<SocketAddr>, f: Option<FileMetrics>) {
    if let Some(l) = f.and_then(|f| f.listen) {
        *metrics = Some(l.0);
    }
}

pub(super) fn apply_env(
    metrics: &mut Option<SocketAddr>,
    format: &mut LogFormat,
    get: impl Fn(&str) -> Option<String>,
) -> Result<(), ConfigError> {
    if let Some(v) = get("SEALPOST_METRICS_LISTEN") {
        *metrics =
            Some(parse_listen(&v).map_err(|m| ConfigError::value("SEALPOST_METRICS_LISTEN", m))?);
    }
    if let Some(v) = get("SEALPOST_LOG_FORMAT") {
        *format = v
            .parse()
            .map_err(|m| ConfigError::value("SEALPOST_LOG_FORMAT", m))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_listen_and_log_format() {
        let mut listen = None;
        apply_file(&mut listen, Some(toml::from_str("").unwrap()));
        assert_eq!(listen, None);
        let f: FileMetrics = toml::from_str("listen = \"127.0.0.1:9090\"").unwrap();
        apply_file(&mut listen, Some(f));
        assert_eq!(listen, Some("127.0.0.1:9090".parse().unwrap()));
        let mut format = LogFormat::default();
        apply_env(&mut listen, &mut format, |k| match k {
            "SEALPOST_METRICS_LISTEN" => Some("localhost:9191".into()),
            "SEALPOST_LOG_FORMAT" => Some(" JSON ".into()),
            _ => None,
        })
        .unwrap();
        assert_eq!(listen, Some("127.0.0.1:9191".parse().unwrap()));
        assert_eq!(format, LogFormat::Json);
        assert!(
            apply_env(&mut listen, &mut format, |k| {
                (k == "SEALPOST_LOG_FORMAT").then(|| "xml".into())
            })
            .is_err()
        );
        assert!(toml::from_str::<FileMetrics>("port = 1").is_err());
    }
}
