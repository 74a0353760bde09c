//! `sealpost serve` and `sealpost migrate`: open the store, then (for `serve`) run the HTTP
//! API, IMAP (plain with STARTTLS, and IMAPS), POP3 (plain with STLS, and POP3S), LMTP,
//! inbound SMTP and submission (STARTTLS, and implicit TLS) until SIGTERM or SIGINT,
//! finishing requests in flight before exiting; `/metrics` on its own listener when
//! `[metrics] listen` is set; SIGHUP reloads the TLS certificate and the log level.

use crate::Failure;
use crate::config::{CliOverrides, Config, Service, redact_url};
use sealpost_core::Core;
use std::path::Path;
use std::time::Duration;

/// After the grace period, how long the API's own requests still get.
const API_AFTER_GRACE: Duration = Duration::from_secs(1);

/// Creates the data directory and opens (and migrates) the store.
pub async fn open_core(config: &Config) -> Result<Core, Failure> {
    prepare_private_dir(&config.data_dir, "data directory")?;
    if let Some(blobs) = &config.blob_dir {
        prepare_private_dir(blobs, "blob directory")?;
    }
    let database = match &config.database_url {
        Some(url) => redact_url(url),
        None => format!("sqlite in {}", config.data_dir.display()),
    };
    if config.database_url.is_none() {
        for name in ["sealpost.db", "sealpost.db-wal", "sealpost.db-shm"] {
            check_writable(&config.data_dir.join(name))?;
        }
    }
    tracing::info!(%database, data_dir = %config.data_dir.display(), "opening store");
    Core::open(config.core_config())
        .await
        .map_err(|e| Failure::Run(format!("cannot open the store ({database}): {e}")))
}

/// The uid that owns `path` and the uid of this process, for "permission denied" messages.
fn owners(path: &Path) -> String {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        // SAFETY: geteuid only reads this process's effective user id; it cannot fail.
        let me = unsafe { libc::geteuid() };
        match std::fs::metadata(path) {
            Ok(m) => format!(
                "it belongs to uid {}, this process runs as uid {me}; run sealpost as the user \
                 that owns the data directory (the CLI too), or chown -R the data directory",
                m.uid()
            ),
            Err(_) => format!("this process runs as uid {me}"),
        }
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        String::new()
    }
}

/// An existing file of the store that this process cannot open for writing (made by another
/// user, often root running the CLI) is named with its owner, instead of SQLite's
/// "unable to open database file".
fn check_writable(path: &Path) -> Result<(), Failure> {
    match std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
    {
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => Err(Failure::Run(format!(
            "permission denied: cannot open {} for reading and writing: {}",
            path.display(),
            owners(path)
        ))),
        _ => Ok(()),
    }
}

/// Creates `dir` if needed and makes it 0700: a data directory made by an older version, or
/// by hand under umask 022, is closed to other local users without walking its files.
fn prepare_private_dir(dir: &Path, what: &str) -> Result<(), Failure> {
    let denied = |e: &std::io::Error| {
        matches!(e.kind(), std::io::ErrorKind::PermissionDenied) || e.raw_os_error() == Some(1) // EPERM: chmod of a directory that is not ours
    };
    std::fs::create_dir_all(dir).map_err(|e| {
        if denied(&e) {
            Failure::Run(format!(
                "permission denied: cannot create {what} {}: {}",
                dir.display(),
                owners(dir.parent().unwrap_or(dir))
            ))
        } else {
            Failure::Run(format!("cannot create {what} {}: {e}", dir.display()))
        }
    })?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).map_err(|e| {
            if denied(&e) {
                Failure::Run(format!(
                    "permission denied: cannot make {what} {} private (chmod 0700): {}",
                    dir.display(),
                    owners(dir)
                ))
            } else {
                Failure::Run(format!(
                    "cannot make {what} {} private (chmod 0700): {e}",
                    dir.display()
                ))
            }
        })?;
    }
    // Creating and chmod-ing succeed for the owner; reading is what fails for anyone else
    // when the directory exists already (0700, another owner): say so now, not as SQLite's
    // "unable to open database file".
    if let Err(e) = std::fs::read_dir(dir)
        && denied(&e)
    {
        return Err(Failure::Run(format!(
            "permission denied: cannot read {what} {}: {}",
            dir.display(),
            owners(dir)
        )));
    }
    Ok(())
}

/// The file that holds the REST access token when `[api] accessToken` is not configured.
pub const TOKEN_FILE: &str = "api-token";

/// `[api] accessToken` not configured (and not turned off with `""`): the admin API still
/// requires a token, the one in `<data-dir>/api-token`, made (0600) at first start. The
/// token itself is never printed or logged, only where it is.
fn ensure_access_token(config: &mut Config) -> Result<(), Failure> {
    if config.access_token.is_some() || config.access_token_disabled {
        return Ok(());
    }
    let path = config.data_dir.join(TOKEN_FILE);
    let read = |path: &Path| -> Result<String, Failure> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Failure::Run(format!("cannot read {}: {e}", path.display())))?;
        let token = text.trim();
        if token.is_empty() {
            return Err(Failure::Run(format!(
                "{} is empty: delete it to have a new token made, or set [api] accessToken",
                path.display()
            )));
        }
        Ok(token.to_string())
    };
    let token = if path.exists() {
        let token = read(&path)?;
        eprintln!("sealpost: api access token in {}", path.display());
        token
    } else {
        // Written aside and linked into place, so that two processes starting on one data
        // directory agree on one token and a crash never leaves half a token.
        let token = sealpost_core::random_token();
        let tmp = config
            .data_dir
            .join(format!(".{TOKEN_FILE}.{}", std::process::id()));
        crate::tls::write_private(&tmp, format!("{token}\n").as_bytes())
            .map_err(|e| Failure::Run(format!("cannot write {}: {e}", tmp.display())))?;
        let linked = std::fs::hard_link(&tmp, &path);
        let _ = std::fs::remove_file(&tmp);
        match linked {
            Ok(()) => {
                eprintln!(
                    "sealpost: made an api access token in {} (send it as X-Access-Token or ?accessToken=; \
                     [api] accessToken = \"\" turns the token off)",
                    path.display()
                );
                token
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => read(&path)?,
            Err(e) => {
                return Err(Failure::Run(format!(
                    "cannot write {}: {e}",
                    path.display()
                )));
            }
        }
    };
    config.access_token = Some(token);
    Ok(())
}

pub async fn migrate(config: Config) -> Result<(), Failure> {
    let _core = open_core(&config).await?;
    eprintln!("sealpost: store is up to date");
    Ok(())
}

/// What SIGHUP needs to read the configuration again and apply it.
pub struct Reload {
    pub config_path: Option<std::path::PathBuf>,
    pub overrides: CliOverrides,
    pub log: crate::logging::LogControl,
}

pub async fn run(mut config: Config, reload: Reload) -> Result<(), Failure> {
    config.check_api_exposure()?;
    for service in Service::ALL.into_iter().filter(|s| {
        !matches!(
            s,
            Service::Api
                | Service::Imap
                | Service::Imaps
                | Service::Pop3
                | Service::Pop3s
                | Service::Lmtp
                | Service::Smtp
                | Service::Submission
                | Service::Submissions
        )
    }) {
        tracing::debug!(%service, listen = %config.listen(service), "listener reserved, not started yet");
    }
    let (tls, certificates) = crate::tls::server_config(&config)?;
    // Installed before anything listens: SIGHUP's default action would end the process.
    let hangups = hangup_signals()?;
    let core = open_core(&config).await?;
    ensure_access_token(&mut config)?;
    // SIGTERM flips it: listeners stop accepting, sessions end at their next safe point.
    let (switch, shutdown) = sealpost_net::Shutdown::new();
    let grace = config.server.shutdown_grace;
    // Retention, expiry and archive purge in the background.
    core.start_purge_task();
    // Filters' action_targetUrl uploads, from the persistent queue.
    core.start_upload_worker();
    core.start_outbound_worker();

    // IMAP: plain text with STARTTLS on one port, implicit TLS on the other; both share the
    // connection limits and the failed-login throttle.
    let imap_server =
        sealpost_imap::ImapServer::new(core.clone(), config.imap_config(), Some(tls.clone()))
            .with_shutdown(shutdown.clone());
    let imap_listener = bind(&config, Service::Imap).await?;
    let imaps_listener = bind(&config, Service::Imaps).await?;
    let mut imap = tokio::spawn({
        let server = imap_server.clone();
        async move {
            tokio::join!(
                server.serve(imap_listener, false),
                server.serve(imaps_listener, true)
            );
        }
    });

    // POP3 likewise: STLS on one port, implicit TLS on the other.
    let pop3_server =
        sealpost_pop3::Pop3Server::new(core.clone(), config.pop3.pop3_config(), Some(tls.clone()))
            .with_shutdown(shutdown.clone());
    let pop3_listener = bind(&config, Service::Pop3).await?;
    let pop3s_listener = bind(&config, Service::Pop3s).await?;
    let mut pop3 = tokio::spawn(async move {
        tokio::join!(
            pop3_server.serve(pop3_listener, false),
            pop3_server.serve(pop3s_listener, true)
        );
    });

    // Delivery: LMTP for an MTA in front of us, and inbound SMTP for local recipients; both
    // offer STARTTLS with the same certificate as IMAP.
    let lmtp_server = sealpost_lmtp::DeliveryServer::new(
        core.clone(),
        config.delivery_config(Service::Lmtp),
        Some(tls.clone()),
    )
    .with_shutdown(shutdown.clone());
    let smtp_server = sealpost_lmtp::DeliveryServer::new(
        core.clone(),
        config.delivery_config(Service::Smtp),
        Some(tls.clone()),
    )
    .with_shutdown(shutdown.clone());
    // Submission for our users: STARTTLS on one port, implicit TLS (RFC 8314) on the other,
    // sharing settings and connection count.
    let submission_server = sealpost_lmtp::DeliveryServer::new(
        core.clone(),
        config.delivery_config(Service::Submission),
        Some(tls.clone()),
    )
    .with_shutdown(shutdown.clone());
    let lmtp_listener = bind(&config, Service::Lmtp).await?;
    let smtp_listener = bind(&config, Service::Smtp).await?;
    let submission_listener = bind(&config, Service::Submission).await?;
    let submissions_listener = bind(&config, Service::Submissions).await?;
    let mut delivery = tokio::spawn(async move {
        tokio::join!(
            lmtp_server.serve(lmtp_listener),
            smtp_server.serve(smtp_listener),
            submission_server.serve(submission_listener),
            submission_server.serve_tls(submissions_listener)
        );
    });

    let mut metrics = match config.metrics_listen {
        Some(addr) => Some(serve_metrics(addr, core.clone(), shutdown.clone()).await?),
        None => None,
    };
    tokio::spawn(reload_on_hangup(hangups, reload, certificates));

    let mut settings = config.api_settings();
    settings.shutdown = shutdown.clone();
    let app = sealpost_api::router(core, settings);

    let addr = config.listen(Service::Api);
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| Failure::Run(format!("cannot listen on {addr} for the api: {e}")))?;
    let local = listener
        .local_addr()
        .map_err(|e| Failure::Run(e.to_string()))?;
    tracing::info!(listen = %local, token = config.access_token.is_some(), "api listening on {local}");

    let app = app.into_make_service_with_connect_info::<std::net::SocketAddr>();
    let api_stop = shutdown.clone();
    let server = axum::serve(listener, app).with_graceful_shutdown(async move {
        api_stop.stopped().await;
    });
    let mut server = tokio::spawn(async move { server.await });

    // Either listener stopping on its own is fatal: the process must not live on serving only
    // one of its protocols.
    tokio::select! {
        result = &mut server => {
            imap.abort();
            pop3.abort();
            delivery.abort();
            return match result {
                Ok(Ok(())) => Ok(()),
                Ok(Err(e)) => Err(Failure::Run(format!("api server failed: {e}"))),
                Err(e) => Err(Failure::Run(format!("api server task failed: {e}"))),
            };
        }
        result = &mut delivery => {
            imap.abort();
            switch.stop();
            let _ = tokio::time::timeout(grace, server).await;
            return Err(Failure::Run(match result {
                Ok(()) => "lmtp/smtp server stopped unexpectedly".to_string(),
                Err(e) => format!("lmtp/smtp server task failed: {e}"),
            }));
        }
        result = &mut imap => {
            delivery.abort();
            // `sealpost_imap::serve` only returns if its accept loop ends, which it should not.
            pop3.abort();
            switch.stop();
            let _ = tokio::time::timeout(grace, server).await;
            return Err(Failure::Run(match result {
                Ok(()) => "imap server stopped unexpectedly".to_string(),
                Err(e) => format!("imap server task failed: {e}"),
            }));
        }
        result = &mut pop3 => {
            imap.abort();
            switch.stop();
            let _ = tokio::time::timeout(grace, server).await;
            return Err(Failure::Run(match result {
                Ok(()) => "pop3 server stopped unexpectedly".to_string(),
                Err(e) => format!("pop3 server task failed: {e}"),
            }));
        }
        Some(result) = async {
            match metrics.as_mut() {
                Some(m) => Some(m.await),
                None => std::future::pending().await,
            }
        } => {
            imap.abort();
            pop3.abort();
            delivery.abort();
            switch.stop();
            let _ = tokio::time::timeout(grace, server).await;
            return Err(Failure::Run(match result {
                Ok(Ok(())) => "metrics server stopped unexpectedly".to_string(),
                Ok(Err(e)) => format!("metrics server failed: {e}"),
                Err(e) => format!("metrics server task failed: {e}"),
            }));
        }
        signal = shutdown_signal() => {
            tracing::info!(signal, "shutting down");
        }
    }
    // Graceful stop: every listener stops accepting; IMAP sessions get `* BYE`, POP3 `-ERR`
    // and LMTP/SMTP `421` at their next command boundary (or at once in IDLE), while what is
    // in flight (a DATA being received, an APPEND) finishes and is answered; event streams
    // end at once. Whatever is still running after `[server] shutdownGrace` is cut (a POP3
    // session cut deletes nothing: deletions happen at QUIT; an unanswered DATA is not
    // acknowledged, so the client sends it again).
    switch.stop();
    let drained = tokio::time::timeout(grace, async {
        let sessions = async {
            switch.drained().await;
            let _ = tokio::join!(&mut imap, &mut pop3, &mut delivery);
        };
        let _ = tokio::join!(sessions, &mut server);
    })
    .await;
    match drained {
        Ok(()) => tracing::info!("stopped"),
        Err(_) => {
            tracing::warn!(
                sessions = switch.live(),
                "sessions still running after {grace:?}; cutting them"
            );
            imap.abort();
            pop3.abort();
            delivery.abort();
            if !server.is_finished()
                && tokio::time::timeout(API_AFTER_GRACE, &mut server)
                    .await
                    .is_err()
            {
                tracing::warn!("api requests still running; exiting anyway");
            }
        }
    }
    Ok(())
}

/// Serves `/metrics` (Prometheus text format) on `addr` until `shutdown` stops. No access
/// token: it says nothing about users or mail, and the listener is loopback unless the
/// operator chose otherwise.
async fn serve_metrics(
    addr: std::net::SocketAddr,
    core: Core,
    shutdown: sealpost_net::Shutdown,
) -> Result<tokio::task::JoinHandle<std::io::Result<()>>, Failure> {
    use axum::routing::get;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| Failure::Run(format!("cannot listen on {addr} for metrics: {e}")))?;
    let local = listener
        .local_addr()
        .map_err(|e| Failure::Run(e.to_string()))?;
    tracing::info!(listen = %local, "metrics listening on {local}");
    let app = axum::Router::new()
        .route(
            "/metrics",
            get(
                |axum::extract::State(core): axum::extract::State<Core>| async move {
                    (
                        [(
                            axum::http::header::CONTENT_TYPE,
                            "text/plain; version=0.0.4; charset=utf-8",
                        )],
                        core.render_metrics().await,
                    )
                },
            ),
        )
        .with_state(core);
    let server = axum::serve(listener, app).with_graceful_shutdown(async move {
        shutdown.stopped().await;
    });
    Ok(tokio::spawn(async move { server.await }))
}

#[cfg(unix)]
type Hangups = tokio::signal::unix::Signal;
#[cfg(not(unix))]
type Hangups = ();

fn hangup_signals() -> Result<Hangups, Failure> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        signal(SignalKind::hangup())
            .map_err(|e| Failure::Run(format!("cannot listen for SIGHUP: {e}")))
    }
    #[cfg(not(unix))]
    Ok(())
}

/// On each SIGHUP: reads the configuration again (file and environment) and applies what can
/// change without a restart: the log level and the TLS certificate (new handshakes get the
/// new one; connections open stay as they are). A configuration that does not load, or a
/// certificate that does not, leaves everything as it was and says why.
#[cfg_attr(not(unix), allow(unused_variables, unused_mut))]
async fn reload_on_hangup(
    mut hangups: Hangups,
    reload: Reload,
    certificates: std::sync::Arc<crate::tls::Certificates>,
) {
    #[cfg(unix)]
    while hangups.recv().await.is_some() {
        let config =
            match Config::load_from_process(reload.config_path.as_deref(), &reload.overrides) {
                Ok(c) => c,
                Err(e) => {
                    tracing::error!(error = %e, "SIGHUP: configuration not reloaded");
                    continue;
                }
            };
        match reload.log.set_level(&config.log_level) {
            Ok(()) => tracing::info!(level = %config.log_level, "SIGHUP: log level set"),
            Err(e) => tracing::error!(error = %e, "SIGHUP: log level not changed"),
        }
        match certificates.reload(&config) {
            Ok(cert) => tracing::info!(cert = %cert.display(), "SIGHUP: TLS certificate reloaded"),
            Err(Failure::Config(e) | Failure::Run(e)) => {
                tracing::error!(error = %e, "SIGHUP: TLS certificate not reloaded; the old one stays");
            }
        }
    }
}

/// Binds the listener of `service` and says where it listens.
async fn bind(config: &Config, service: Service) -> Result<tokio::net::TcpListener, Failure> {
    let addr = config.listen(service);
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| Failure::Run(format!("cannot listen on {addr} for {service}: {e}")))?;
    let local = listener
        .local_addr()
        .map_err(|e| Failure::Run(e.to_string()))?;
    tracing::info!(listen = %local, "{service} listening on {local}");
    Ok(listener)
}

/// Resolves on SIGTERM or SIGINT with the signal's name.
async fn shutdown_signal() -> &'static str {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
        ) {
            (Ok(mut term), Ok(mut int)) => tokio::select! {
                _ = term.recv() => "SIGTERM",
                _ = int.recv() => "SIGINT",
            },
            _ => {
                let _ = tokio::signal::ctrl_c().await;
                "SIGINT"
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
        "ctrl-c"
    }
}
