//! The `sealpost` binary: parses the command line, resolves the configuration, and wires the
//! crates together (`core` for the domain, `api` for HTTP). No domain logic lives here.

mod check;
mod cli;
mod config;
mod jsonrpc_admin;
mod logging;
mod serve;
mod tls;
mod user;
mod vault;

use clap::Parser;
use cli::{Cli, Command};
use config::{CliOverrides, Config, ConfigError};
use std::process::ExitCode;

/// Exit status for configuration and usage errors (clap uses 2 for usage errors too).
const EXIT_CONFIG: u8 = 2;
/// Exit status for failures while running.
const EXIT_FAILURE: u8 = 1;

/// Why a command failed, deciding the exit status.
#[derive(Debug)]
pub enum Failure {
    /// Bad configuration or arguments: exit 2.
    Config(String),
    /// Anything else: exit 1.
    Run(String),
}

impl From<ConfigError> for Failure {
    fn from(e: ConfigError) -> Self {
        Failure::Config(e.to_string())
    }
}

impl From<sealpost_core::Error> for Failure {
    fn from(e: sealpost_core::Error) -> Self {
        Failure::Run(e.to_string())
    }
}

fn main() -> ExitCode {
    // The data directory holds password hashes, TOTP seeds, keys and mail: whatever the
    // caller's umask, everything this process creates is for its own user only (0700
    // directories, 0600 files; SQLite's -wal/-shm files follow the database file).
    #[cfg(unix)]
    // SAFETY: umask only sets this process's file mode creation mask; it has no failure mode.
    unsafe {
        libc::umask(0o077);
    }
    let cli = Cli::parse();
    let overrides = CliOverrides {
        data_dir: cli.data_dir.clone(),
        api_listen: match &cli.command {
            Command::Serve(args) => args.listen,
            _ => None,
        },
    };
    let config = match Config::load_from_process(cli.config.as_deref(), &overrides) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("sealpost: error: {e}");
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    let log = logging::init(&config.log_level, config.log_format);

    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("sealpost: error: cannot start the async runtime: {e}");
            return ExitCode::from(EXIT_FAILURE);
        }
    };
    let result = runtime.block_on(async move {
        match cli.command {
            Command::Serve(_) => {
                let reload = serve::Reload {
                    config_path: cli.config.clone(),
                    overrides,
                    log,
                };
                serve::run(config, reload).await
            }
            Command::Migrate => serve::migrate(config).await,
            Command::Check => check::run(config).await,
            Command::User(cmd) => user::run(config, cmd).await,
            Command::Vault(cmd) => vault::run(config, cmd).await,
            Command::JsonrpcAdmin(cmd) => jsonrpc_admin::run(config, cmd).await,
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Config(message)) => {
            if tracing::enabled!(tracing::Level::ERROR) {
                tracing::error!("{message}");
            } else {
                eprintln!("sealpost: error: {message}");
            }
            ExitCode::from(EXIT_CONFIG)
        }
        Err(Failure::Run(message)) => {
            eprintln!("sealpost: error: {message}");
            ExitCode::from(EXIT_FAILURE)
        }
    }
}
