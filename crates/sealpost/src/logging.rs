//! Logging to stderr: the filter from `[log] level` / `SEALPOST_LOG` (already validated),
//! replaceable while the server runs (SIGHUP), and the line format from `[log] format` /
//! `SEALPOST_LOG_FORMAT`: text, or one JSON object per line (`timestamp`, `level`,
//! `target`, `fields`, and the `span` a session's lines are written in).

use crate::config::observability::LogFormat;
use std::io::IsTerminal;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Registry, reload};

/// Changes the log filter of the running process.
#[derive(Debug, Clone)]
pub struct LogControl {
    filter: reload::Handle<EnvFilter, Registry>,
}

impl LogControl {
    /// Applies `level` (a tracing filter) from now on.
    pub fn set_level(&self, level: &str) -> Result<(), String> {
        let filter = EnvFilter::try_new(level).map_err(|e| format!("{level:?}: {e}"))?;
        self.filter.reload(filter).map_err(|e| e.to_string())
    }
}

/// Installs the process's logger.
pub fn init(level: &str, format: LogFormat) -> LogControl {
    let filter = EnvFilter::try_new(level).unwrap_or_else(|_| EnvFilter::new("info"));
    let (filter, handle) = reload::Layer::new(filter);
    let registry = tracing_subscriber::registry().with(filter);
    match format {
        LogFormat::Text => registry
            .with(
                tracing_subscriber::fmt::layer()
                    .with_writer(std::io::stderr)
                    .with_ansi(std::io::stderr().is_terminal()),
            )
            .init(),
        LogFormat::Json => registry
            .with(
                tracing_subscriber::fmt::layer()
                    .json()
                    .with_current_span(true)
                    .with_span_list(false)
                    .with_writer(std::io::stderr),
            )
            .init(),
    }
    LogControl { filter: handle }
}
