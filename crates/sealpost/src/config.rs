//! Configuration of the `sealpost` binary: built-in defaults, then the TOML file (`--config`),
//! then `SEALPOST_*` environment variables, then command-line flags, each layer overriding
//! the one before. [`Config`] is the resolved result; it converts into the settings of the
//! crates it wires together ([`CoreConfig`], [`ApiSettings`]).
//!
//! The file uses WildDuck-style camelCase keys (`accessToken`, `maxMessageSize`); each also
//! has a snake_case spelling (`access_token`, `max_message_size`). Unknown sections and keys
//! are errors, so a typo never silently falls back to a default.

pub use pop3::Pop3Options;
use sealpost_api::ApiSettings;
use sealpost_core::CoreConfig;
use sealpost_imap::{ImapConfig, PlaintextAuth};
use sealpost_lmtp::{DeliveryConfig, Mode, QuotaReply};
use serde::Deserialize;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, ToSocketAddrs};
use std::path::{Path, PathBuf};

/// A configuration problem, worded for the operator. The binary exits with status 2 on it.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("invalid config file {path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("invalid value for {key}: {message}")]
    Value { key: String, message: String },
}

impl ConfigError {
    fn value(key: impl Into<String>, message: impl Into<String>) -> Self {
        ConfigError::Value {
            key: key.into(),
            message: message.into(),
        }
    }
}

/// A network service with a listener; `sealpost serve` starts every one of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    Api,
    Imap,
    Imaps,
    Pop3,
    Pop3s,
    Lmtp,
    Smtp,
    Submission,
    Submissions,
}

impl Service {
    pub const ALL: [Service; 9] = [
        Service::Api,
        Service::Imap,
        Service::Imaps,
        Service::Pop3,
        Service::Pop3s,
        Service::Lmtp,
        Service::Smtp,
        Service::Submission,
        Service::Submissions,
    ];

    /// The config section name (`[imap]`) and the lower-case name used in messages.
    pub fn name(self) -> &'static str {
        match self {
            Service::Api => "api",
            Service::Imap => "imap",
            Service::Imaps => "imaps",
            Service::Pop3 => "pop3",
            Service::Pop3s => "pop3s",
            Service::Lmtp => "lmtp",
            Service::Smtp => "smtp",
            Service::Submission => "submission",
            Service::Submissions => "submissions",
        }
    }

    pub fn default_port(self) -> u16 {
        match self {
            Service::Api => 8080,
            Service::Imap => 1143,
            Service::Imaps => 1993,
            Service::Pop3 => 1110,
            Service::Pop3s => 1995,
            Service::Lmtp => 2424,
            Service::Smtp => 2525,
            Service::Submission => 1587,
            Service::Submissions => 1465,
        }
    }

    /// `SEALPOST_<SERVICE>_LISTEN`.
    pub fn env_var(self) -> String {
        format!("SEALPOST_{}_LISTEN", self.name().to_ascii_uppercase())
    }

    fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for Service {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Parses a listen address `host:port`: an IP literal (`127.0.0.1:8080`, `[::1]:8080`) or a
/// host name that resolves locally (`localhost:8080`).
pub fn parse_listen(s: &str) -> Result<SocketAddr, String> {
    let s = s.trim();
    if let Ok(addr) = s.parse::<SocketAddr>() {
        return Ok(addr);
    }
    let Some((host, port)) = s.rsplit_once(':') else {
        return Err(format!("{s:?} is not host:port"));
    };
    if host.is_empty() {
        return Err(format!(
            "{s:?} has no host (use 127.0.0.1:{port} or 0.0.0.0:{port})"
        ));
    }
    let port: u16 = port
        .parse()
        .map_err(|_| format!("{s:?} has an invalid port {port:?}"))?;
    if host.eq_ignore_ascii_case("localhost") {
        return Ok(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port));
    }
    match (host, port).to_socket_addrs() {
        Ok(mut addrs) => addrs
            .next()
            .ok_or_else(|| format!("{host:?} resolves to no address")),
        Err(_) => Err(format!("{s:?} is not a valid listen address (host:port)")),
    }
}

// ---- the file, as written ----

/// Deserializes a listen address from its string form.
#[derive(Debug, Clone, Copy)]
struct ListenAddr(SocketAddr);

impl<'de> Deserialize<'de> for ListenAddr {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        parse_listen(&s)
            .map(ListenAddr)
            .map_err(serde::de::Error::custom)
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    api: Option<FileApi>,
    imap: Option<FileImap>,
    imaps: Option<FileListener>,
    pop3: Option<pop3::FilePop3>,
    pop3s: Option<FileListener>,
    lmtp: Option<FileDelivery>,
    smtp: Option<FileDelivery>,
    submission: Option<FileDelivery>,
    submissions: Option<FileListener>,
    outbound: Option<submission::FileOutbound>,
    dkim: Option<submission::FileDkim>,
    storage: Option<FileStorage>,
    users: Option<FileUsers>,
    limits: Option<FileLimits>,
    log: Option<FileLog>,
    tls: Option<FileTls>,
    archive: Option<FileArchive>,
    retention: Option<FileRetention>,
    auth: Option<FileAuth>,
    relay: Option<relay::FileRelay>,
    autoreply: Option<relay::FileAutoreply>,
    guard: Option<guard::FileGuard>,
    vault: Option<vault::FileVault>,
    dns: Option<dns::FileDns>,
    server: Option<server::FileServer>,
    metrics: Option<observability::FileMetrics>,
    plans: Option<std::collections::BTreeMap<String, plans::FilePlan>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct FileApi {
    listen: Option<ListenAddr>,
    #[serde(alias = "access_token")]
    access_token: Option<String>,
    #[serde(alias = "max_body")]
    max_body: Option<u64>,
    #[serde(alias = "allow_insecure")]
    allow_insecure: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileListener {
    listen: Option<ListenAddr>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct FileImap {
    listen: Option<ListenAddr>,
    #[serde(alias = "allow_plaintext_auth")]
    allow_plaintext_auth: Option<String>,
    #[serde(alias = "max_connections_per_ip")]
    max_connections_per_ip: Option<u32>,
    #[serde(alias = "max_connections_per_user")]
    max_connections_per_user: Option<u32>,
    #[serde(alias = "max_auth_failures_per_ip")]
    max_auth_failures_per_ip: Option<u32>,
    #[serde(alias = "max_auth_failures_per_user")]
    max_auth_failures_per_user: Option<u32>,
    #[serde(alias = "auth_failure_window")]
    auth_failure_window: Option<u64>,
    #[serde(alias = "cache_size")]
    cache_size: Option<u64>,
}

/// `[lmtp]` and `[smtp]`: a delivery listener.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct FileDelivery {
    listen: Option<ListenAddr>,
    hostname: Option<String>,
    #[serde(alias = "max_recipients")]
    max_recipients: Option<usize>,
    #[serde(alias = "max_connections")]
    max_connections: Option<usize>,
    timeout: Option<u64>,
    #[serde(alias = "quota_reply")]
    quota_reply: Option<u16>,
    /// `[submission]` only: AUTH without TLS (`never`, `loopback`, `always`).
    #[serde(alias = "allow_plaintext_auth")]
    allow_plaintext_auth: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileTls {
    cert: Option<PathBuf>,
    key: Option<PathBuf>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct FileStorage {
    database: Option<String>,
    blobs: Option<PathBuf>,
    #[serde(alias = "inline_max")]
    inline_max: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct FileUsers {
    #[serde(alias = "default_quota")]
    default_quota: Option<i64>,
    #[serde(alias = "default_recipients")]
    default_recipients: Option<i64>,
    #[serde(alias = "default_forwards")]
    default_forwards: Option<i64>,
    domain: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct FileLimits {
    #[serde(alias = "max_message_size")]
    max_message_size: Option<u64>,
}

/// `[auth]`: failed authentications counted across protocols.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct FileAuth {
    #[serde(alias = "max_failures_per_ip")]
    max_failures_per_ip: Option<u32>,
    #[serde(alias = "max_failures_per_user")]
    max_failures_per_user: Option<u32>,
    #[serde(alias = "failure_window")]
    failure_window: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileArchive {
    days: Option<f64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileRetention {
    interval: Option<f64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileLog {
    level: Option<String>,
    /// `text` (default) or `json`.
    format: Option<String>,
}

// ---- the resolved configuration ----

/// Overrides given on the command line; they win over everything else.
#[derive(Debug, Clone, Default)]
pub struct CliOverrides {
    pub data_dir: Option<PathBuf>,
    pub api_listen: Option<SocketAddr>,
}

/// The resolved configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub data_dir: PathBuf,
    listen: [SocketAddr; 9],
    /// `[api] accessToken`. `None` after loading means "not configured": `serve` then uses
    /// the token of `<data-dir>/api-token`, made at first start (see `access_token_disabled`).
    pub access_token: Option<String>,
    /// `[api] accessToken = ""` (or an empty `SEALPOST_ACCESS_TOKEN`): the operator turned the
    /// token off explicitly, as WildDuck deployments behind a firewall do.
    pub access_token_disabled: bool,
    /// `[api] maxBody`; `None` means derived from the message size limit.
    pub max_body: Option<u64>,
    /// `[api] allowInsecure`: allow a non-loopback API listener without an access token.
    pub allow_insecure: bool,
    /// `[storage] database`: `sqlite://...` or `postgres://...`; `None` = SQLite in the data dir.
    pub database_url: Option<String>,
    /// `[storage] blobs`; `None` = `<data_dir>/blobs`.
    pub blob_dir: Option<PathBuf>,
    /// `[storage] inlineMax`: messages smaller than this (bytes) are kept in the database,
    /// not as blob files; 0 = always files.
    pub inline_blob_max: u64,
    pub default_quota: i64,
    pub default_recipients: i64,
    pub default_forwards: i64,
    pub domain: String,
    pub max_message_size: u64,
    /// `[log] level`: a tracing filter such as `info` or `sealpost_core=debug,info`.
    pub log_level: String,
    /// `[log] format`: text or one JSON object per line.
    pub log_format: observability::LogFormat,
    /// `[metrics] listen`: where `/metrics` is served; `None` = not at all.
    pub metrics_listen: Option<SocketAddr>,
    /// `[imap]` settings besides the listener.
    pub imap: ImapOptions,
    /// `[tls] cert` and `key`: PEM files; `None` = a self-signed pair in the data dir.
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    /// `[pop3]` settings besides the listener.
    pub pop3: Pop3Options,
    /// `[archive] days`: how long deleted messages stay restorable; 0 = not archived.
    pub archive_days: f64,
    /// `[auth]`: the failed-authentication throttle shared by every protocol.
    pub auth_throttle: sealpost_core::throttle::ThrottleConfig,
    /// `[retention] interval`: seconds between purge runs.
    pub retention_interval: f64,
    /// `[relay]` and `[autoreply]`: outbound mail.
    pub relay: relay::RelaySettings,
    /// `[guard]`: the Guard key-management API.
    pub guard: sealpost_core::guard::GuardConfig,
    /// `[vault]`: the password vault.
    pub vault: vault::VaultSettings,
    /// `[dns]`: the resolvers DNS lookups ask.
    pub dns: sealpost_core::dns::DnsConfig,
    /// `[server]`: the public host name and the shutdown grace period.
    pub server: server::ServerOptions,
    /// `[lmtp]` and `[smtp]` settings besides the listener.
    pub lmtp: DeliveryOptions,
    pub smtp: DeliveryOptions,
    /// `[submission]` (shared by `[submissions]`) settings besides the listener.
    pub submission: DeliveryOptions,
    /// `[outbound]`: direct delivery and delay warnings.
    pub outbound: submission::OutboundOptions,
    /// `[dkim]`: the secret DKIM private keys are sealed with.
    pub dkim: sealpost_core::dkim::DkimConfig,
    /// `[plans.<name>]`: the JSON-RPC API's plans.
    pub plans: sealpost_core::provisioning::PlanConfig,
}

/// `[lmtp]` / `[smtp]` / `[submission]`: the delivery listeners' bounds and replies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryOptions {
    /// `hostname`: our name in greetings and `Received:`; `None` = the system's host name.
    pub hostname: Option<String>,
    /// `maxRecipients`: RCPT accepted per transaction.
    pub max_recipients: usize,
    /// `maxConnections`: sessions at once.
    pub max_connections: usize,
    /// `timeout`: seconds allowed for each read and write.
    pub timeout: u64,
    /// `quotaReply`: 452 (temporary, default) or 552 (permanent) for a full mailbox.
    pub quota_reply: QuotaReply,
    /// `allowPlaintextAuth` (`[submission]` only): AUTH without TLS.
    pub allow_plaintext_auth: PlaintextAuth,
}

impl Default for DeliveryOptions {
    fn default() -> Self {
        let d = DeliveryConfig::new(Mode::Lmtp);
        DeliveryOptions {
            hostname: None,
            max_recipients: d.max_recipients,
            max_connections: d.max_connections,
            timeout: d.timeout.as_secs(),
            quota_reply: d.quota_reply,
            allow_plaintext_auth: d.allow_plaintext_auth,
        }
    }
}

/// The machine's host name, for greetings and `Received:` when none is configured.
fn system_hostname() -> Option<String> {
    let name = std::fs::read_to_string("/proc/sys/kernel/hostname").ok()?;
    let name = name.trim();
    (!name.is_empty()).then(|| name.to_string())
}

/// `[imap]`: plain-text login, connection limits and the failed-login throttle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImapOptions {
    /// `allowPlaintextAuth`: `never`, `loopback` (default) or `always`.
    pub allow_plaintext_auth: PlaintextAuth,
    /// `maxConnectionsPerIp`, `maxConnectionsPerUser`: 0 means no limit.
    pub max_connections_per_ip: u32,
    pub max_connections_per_user: u32,
    /// `maxAuthFailuresPerIp`, `maxAuthFailuresPerUser`: failed logins within
    /// `authFailureWindow` seconds after which logins are refused; 0 means never.
    pub max_auth_failures_per_ip: u32,
    pub max_auth_failures_per_user: u32,
    pub auth_failure_window: u64,
    /// `cacheSize`: bytes of message headers kept in memory for SEARCH and FETCH; 0 = none.
    pub cache_size: u64,
}

impl Default for ImapOptions {
    fn default() -> Self {
        let d = ImapConfig::default();
        ImapOptions {
            allow_plaintext_auth: d.allow_plaintext_auth,
            max_connections_per_ip: d.max_connections_per_ip,
            max_connections_per_user: d.max_connections_per_user,
            max_auth_failures_per_ip: d.max_auth_failures_per_ip,
            max_auth_failures_per_user: d.max_auth_failures_per_user,
            auth_failure_window: d.auth_failure_window.as_secs(),
            cache_size: CoreConfig::default().message_cache_bytes as u64,
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        let core = CoreConfig::default();
        Config {
            data_dir: PathBuf::from("data"),
            listen: Service::ALL
                .map(|s| SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), s.default_port())),
            access_token: None,
            access_token_disabled: false,
            max_body: None,
            allow_insecure: false,
            database_url: None,
            blob_dir: None,
            inline_blob_max: core.inline_blob_max,
            default_quota: core.default_quota,
            default_recipients: core.default_recipients,
            default_forwards: core.default_forwards,
            domain: core.domain,
            max_message_size: core.max_message_size,
            log_level: "info".into(),
            log_format: Default::default(),
            metrics_listen: None,
            imap: ImapOptions::default(),
            tls_cert: None,
            tls_key: None,
            pop3: Pop3Options::default(),
            archive_days: core.archive_for.as_secs_f64() / DAY,
            auth_throttle: core.auth_throttle.clone(),
            retention_interval: core.purge_interval.as_secs_f64(),
            relay: relay::RelaySettings::default(),
            guard: core.guard.clone(),
            vault: Default::default(),
            dns: core.dns.clone(),
            server: server::ServerOptions::default(),
            lmtp: DeliveryOptions::default(),
            smtp: DeliveryOptions::default(),
            submission: DeliveryOptions::default(),
            outbound: submission::OutboundOptions::default(),
            dkim: Default::default(),
            plans: core.plans.clone(),
        }
    }
}

/// Seconds in a day.
const DAY: f64 = 86_400.0;

impl Config {
    /// Loads defaults, then the file at `path` (if any), then the environment read through
    /// `env`, then `cli`; and validates the result.
    pub fn load(
        path: Option<&Path>,
        env: impl Fn(&str) -> Option<String>,
        cli: &CliOverrides,
    ) -> Result<Config, ConfigError> {
        let mut config = Config::default();
        if let Some(path) = path {
            let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                path: path.to_owned(),
                source,
            })?;
            config.apply_file_text(path, &text)?;
        }
        config.apply_env(env)?;
        config.apply_cli(cli);
        config.validate()?;
        Ok(config)
    }

    /// Loads from the process environment.
    pub fn load_from_process(
        path: Option<&Path>,
        cli: &CliOverrides,
    ) -> Result<Config, ConfigError> {
        Config::load(path, |k| std::env::var(k).ok(), cli)
    }

    pub fn listen(&self, service: Service) -> SocketAddr {
        self.listen[service.index()]
    }

    fn apply_file_text(&mut self, path: &Path, text: &str) -> Result<(), ConfigError> {
        let file: FileConfig = toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: path.to_owned(),
            message: e.to_string().trim_end().to_owned(),
        })?;
        if let Some(api) = file.api {
            if let Some(l) = api.listen {
                self.listen[Service::Api.index()] = l.0;
            }
            if let Some(t) = api.access_token {
                self.set_access_token(t);
            }
            if let Some(b) = api.max_body {
                self.max_body = Some(b);
            }
            if let Some(a) = api.allow_insecure {
                self.allow_insecure = a;
            }
        }
        if let Some(imap) = file.imap {
            if let Some(l) = imap.listen {
                self.listen[Service::Imap.index()] = l.0;
            }
            if let Some(v) = imap.allow_plaintext_auth {
                self.imap.allow_plaintext_auth = v
                    .parse()
                    .map_err(|m| ConfigError::value("imap.allowPlaintextAuth", m))?;
            }
            let o = &mut self.imap;
            o.max_connections_per_ip = imap
                .max_connections_per_ip
                .unwrap_or(o.max_connections_per_ip);
            o.max_connections_per_user = imap
                .max_connections_per_user
                .unwrap_or(o.max_connections_per_user);
            o.max_auth_failures_per_ip = imap
                .max_auth_failures_per_ip
                .unwrap_or(o.max_auth_failures_per_ip);
            o.max_auth_failures_per_user = imap
                .max_auth_failures_per_user
                .unwrap_or(o.max_auth_failures_per_user);
            o.auth_failure_window = imap.auth_failure_window.unwrap_or(o.auth_failure_window);
            o.cache_size = imap.cache_size.unwrap_or(o.cache_size);
        }
        if let Some(tls) = file.tls {
            if tls.cert.is_some() {
                self.tls_cert = tls.cert;
            }
            if tls.key.is_some() {
                self.tls_key = tls.key;
            }
        }
        if let Some(pop3) = file.pop3 {
            if let Some(l) = pop3.listen {
                self.listen[Service::Pop3.index()] = l.0;
            }
            self.pop3.apply_file(pop3)?;
        }
        let sections = [
            (Service::Lmtp, file.lmtp),
            (Service::Smtp, file.smtp),
            (Service::Submission, file.submission),
        ];
        for (service, section) in sections {
            let Some(f) = section else { continue };
            if let Some(v) = &f.allow_plaintext_auth {
                if service != Service::Submission {
                    return Err(ConfigError::value(
                        format!("{service}.allowPlaintextAuth"),
                        "only [submission] takes allowPlaintextAuth (there is no AUTH here)",
                    ));
                }
                self.submission.allow_plaintext_auth = v
                    .parse()
                    .map_err(|m| ConfigError::value("submission.allowPlaintextAuth", m))?;
            }
            if let Some(l) = f.listen {
                self.listen[service.index()] = l.0;
            }
            let o = self.delivery_mut(service);
            if f.hostname.is_some() {
                o.hostname = f.hostname;
            }
            o.max_recipients = f.max_recipients.unwrap_or(o.max_recipients);
            o.max_connections = f.max_connections.unwrap_or(o.max_connections);
            o.timeout = f.timeout.unwrap_or(o.timeout);
            if let Some(q) = f.quota_reply {
                o.quota_reply = q
                    .to_string()
                    .parse()
                    .map_err(|m| ConfigError::value(format!("{service}.quotaReply"), m))?;
            }
        }
        let listeners = [
            (Service::Imaps, file.imaps),
            (Service::Pop3s, file.pop3s),
            (Service::Submissions, file.submissions),
        ];
        for (service, section) in listeners {
            if let Some(l) = section.and_then(|s| s.listen) {
                self.listen[service.index()] = l.0;
            }
        }
        if let Some(storage) = file.storage {
            if storage.database.is_some() {
                self.database_url = storage.database;
            }
            if storage.blobs.is_some() {
                self.blob_dir = storage.blobs;
            }
            if let Some(n) = storage.inline_max {
                self.inline_blob_max = n;
            }
        }
        if let Some(users) = file.users {
            self.default_quota = users.default_quota.unwrap_or(self.default_quota);
            self.default_recipients = users.default_recipients.unwrap_or(self.default_recipients);
            self.default_forwards = users.default_forwards.unwrap_or(self.default_forwards);
            if let Some(d) = users.domain {
                self.domain = d;
            }
        }
        if let Some(m) = file.limits.and_then(|l| l.max_message_size) {
            self.max_message_size = m;
        }
        if let Some(log) = file.log {
            if let Some(level) = log.level {
                self.log_level = level;
            }
            if let Some(format) = log.format {
                self.log_format = format
                    .parse()
                    .map_err(|m| ConfigError::value("log.format", m))?;
            }
        }
        observability::apply_file(&mut self.metrics_listen, file.metrics);
        if let Some(auth) = file.auth {
            let t = &mut self.auth_throttle;
            t.max_failures_per_ip = auth.max_failures_per_ip.unwrap_or(t.max_failures_per_ip);
            t.max_failures_per_user = auth
                .max_failures_per_user
                .unwrap_or(t.max_failures_per_user);
            if let Some(secs) = auth.failure_window {
                t.window = std::time::Duration::from_secs(secs);
            }
        }
        if let Some(days) = file.archive.and_then(|a| a.days) {
            self.archive_days = days;
        }
        if let Some(interval) = file.retention.and_then(|r| r.interval) {
            self.retention_interval = interval;
        }
        self.relay.apply_file(file.relay, file.autoreply)?;
        guard::apply_file(&mut self.guard, file.guard);
        self.vault.apply_file(file.vault);
        dns::apply_file(&mut self.dns, file.dns)?;
        server::apply_file(&mut self.server, file.server);
        plans::apply_file(&mut self.plans, file.plans)?;
        submission::apply_file(&mut self.outbound, &mut self.dkim, file.outbound, file.dkim)?;
        Ok(())
    }

    fn apply_env(&mut self, env: impl Fn(&str) -> Option<String>) -> Result<(), ConfigError> {
        // An empty variable counts as unset, as shells make it easy to export one by accident.
        let get = |key: &str| env(key).filter(|v| !v.trim().is_empty());
        for service in Service::ALL {
            let key = service.env_var();
            if let Some(v) = get(&key) {
                self.listen[service.index()] =
                    parse_listen(&v).map_err(|m| ConfigError::value(key, m))?;
            }
        }
        if let Some(v) = get("SEALPOST_DATABASE_URL") {
            self.database_url = Some(v);
        }
        if let Some(v) = get("SEALPOST_BLOB_DIR") {
            self.blob_dir = Some(PathBuf::from(v));
        }
        if let Some(v) = get("SEALPOST_INLINE_MAX") {
            self.inline_blob_max = parse_int("SEALPOST_INLINE_MAX", &v)?;
        }
        // Not `get`: an empty value is meaningful here (the token turned off).
        if let Some(v) = env("SEALPOST_ACCESS_TOKEN") {
            self.set_access_token(v);
        }
        if let Some(v) = get("SEALPOST_DEFAULT_QUOTA") {
            self.default_quota = parse_int("SEALPOST_DEFAULT_QUOTA", &v)?;
        }
        if let Some(v) = get("SEALPOST_DOMAIN") {
            self.domain = v;
        }
        if let Some(v) = get("SEALPOST_MAX_MESSAGE_SIZE") {
            self.max_message_size = parse_int("SEALPOST_MAX_MESSAGE_SIZE", &v)?;
        }
        if let Some(v) = get("SEALPOST_LOG") {
            self.log_level = v;
        }
        if let Some(v) = get("SEALPOST_IMAP_ALLOW_PLAINTEXT_AUTH") {
            self.imap.allow_plaintext_auth = v
                .parse()
                .map_err(|m| ConfigError::value("SEALPOST_IMAP_ALLOW_PLAINTEXT_AUTH", m))?;
        }
        let counts: [(&str, &mut u32); 4] = [
            (
                "SEALPOST_IMAP_MAX_CONNECTIONS_PER_IP",
                &mut self.imap.max_connections_per_ip,
            ),
            (
                "SEALPOST_IMAP_MAX_CONNECTIONS_PER_USER",
                &mut self.imap.max_connections_per_user,
            ),
            (
                "SEALPOST_IMAP_MAX_AUTH_FAILURES_PER_IP",
                &mut self.imap.max_auth_failures_per_ip,
            ),
            (
                "SEALPOST_IMAP_MAX_AUTH_FAILURES_PER_USER",
                &mut self.imap.max_auth_failures_per_user,
            ),
        ];
        for (key, field) in counts {
            if let Some(v) = get(key) {
                *field = parse_count(key, &v)?;
            }
        }
        if let Some(v) = get("SEALPOST_IMAP_AUTH_FAILURE_WINDOW") {
            self.imap.auth_failure_window = parse_count("SEALPOST_IMAP_AUTH_FAILURE_WINDOW", &v)?;
        }
        if let Some(v) = get("SEALPOST_IMAP_CACHE_SIZE") {
            self.imap.cache_size = parse_int("SEALPOST_IMAP_CACHE_SIZE", &v)?;
        }
        self.pop3.apply_env(get)?;
        if let Some(v) = get("SEALPOST_SUBMISSION_ALLOW_PLAINTEXT_AUTH") {
            self.submission.allow_plaintext_auth = v
                .parse()
                .map_err(|m| ConfigError::value("SEALPOST_SUBMISSION_ALLOW_PLAINTEXT_AUTH", m))?;
        }
        for service in [Service::Lmtp, Service::Smtp, Service::Submission] {
            let prefix = format!("SEALPOST_{}_", service.name().to_ascii_uppercase());
            let key = |k: &str| format!("{prefix}{k}");
            if let Some(v) = get(&key("HOSTNAME")) {
                self.delivery_mut(service).hostname = Some(v.trim().to_string());
            }
            if let Some(v) = get(&key("MAX_RECIPIENTS")) {
                self.delivery_mut(service).max_recipients =
                    parse_count(&key("MAX_RECIPIENTS"), &v)?;
            }
            if let Some(v) = get(&key("MAX_CONNECTIONS")) {
                self.delivery_mut(service).max_connections =
                    parse_count(&key("MAX_CONNECTIONS"), &v)?;
            }
            if let Some(v) = get(&key("TIMEOUT")) {
                self.delivery_mut(service).timeout = parse_count(&key("TIMEOUT"), &v)?;
            }
            if let Some(v) = get(&key("QUOTA_REPLY")) {
                self.delivery_mut(service).quota_reply = v
                    .parse()
                    .map_err(|m| ConfigError::value(key("QUOTA_REPLY"), m))?;
            }
        }
        if let Some(v) = get("SEALPOST_TLS_CERT") {
            self.tls_cert = Some(PathBuf::from(v));
        }
        if let Some(v) = get("SEALPOST_TLS_KEY") {
            self.tls_key = Some(PathBuf::from(v));
        }
        if let Some(v) = get("SEALPOST_AUTH_MAX_FAILURES_PER_IP") {
            self.auth_throttle.max_failures_per_ip =
                parse_count("SEALPOST_AUTH_MAX_FAILURES_PER_IP", &v)?;
        }
        if let Some(v) = get("SEALPOST_AUTH_MAX_FAILURES_PER_USER") {
            self.auth_throttle.max_failures_per_user =
                parse_count("SEALPOST_AUTH_MAX_FAILURES_PER_USER", &v)?;
        }
        if let Some(v) = get("SEALPOST_AUTH_FAILURE_WINDOW") {
            self.auth_throttle.window =
                std::time::Duration::from_secs(parse_count("SEALPOST_AUTH_FAILURE_WINDOW", &v)?);
        }
        if let Some(v) = get("SEALPOST_ARCHIVE_DAYS") {
            self.archive_days = parse_number("SEALPOST_ARCHIVE_DAYS", &v)?;
        }
        if let Some(v) = get("SEALPOST_RETENTION_INTERVAL") {
            self.retention_interval = parse_number("SEALPOST_RETENTION_INTERVAL", &v)?;
        }
        self.relay.apply_env(get)?;
        guard::apply_env(&mut self.guard, get)?;
        server::apply_env(&mut self.server, get)?;
        observability::apply_env(&mut self.metrics_listen, &mut self.log_format, get)?;
        self.vault.apply_env(get)?;
        dns::apply_env(&mut self.dns, get)?;
        plans::apply_env(&mut self.plans, get)?;
        submission::apply_env(&mut self.outbound, &mut self.dkim, get)?;
        Ok(())
    }

    fn apply_cli(&mut self, cli: &CliOverrides) {
        if let Some(d) = &cli.data_dir {
            self.data_dir = d.clone();
        }
        if let Some(l) = cli.api_listen {
            self.listen[Service::Api.index()] = l;
        }
    }

    /// A configured token; an empty one turns the token off explicitly.
    fn set_access_token(&mut self, token: String) {
        if token.trim().is_empty() {
            self.access_token = None;
            self.access_token_disabled = true;
        } else {
            self.access_token = Some(token);
            self.access_token_disabled = false;
        }
    }

    fn validate(&mut self) -> Result<(), ConfigError> {
        if let Some(url) = &self.database_url {
            let known = ["sqlite:", "postgres://", "postgresql://"];
            if !known.iter().any(|p| url.starts_with(p)) {
                return Err(ConfigError::value(
                    "storage.database",
                    format!(
                        "unsupported database URL {:?} (use sqlite://PATH or postgres://...)",
                        redact_url(url)
                    ),
                ));
            }
        }
        if self.default_quota < 0 {
            return Err(ConfigError::value(
                "users.defaultQuota",
                "must not be negative",
            ));
        }
        if self.default_recipients < 0 {
            return Err(ConfigError::value(
                "users.defaultRecipients",
                "must not be negative",
            ));
        }
        if self.default_forwards < 0 {
            return Err(ConfigError::value(
                "users.defaultForwards",
                "must not be negative",
            ));
        }
        if self.max_message_size == 0 {
            return Err(ConfigError::value(
                "limits.maxMessageSize",
                "must be at least 1",
            ));
        }
        if self.max_body == Some(0) {
            return Err(ConfigError::value("api.maxBody", "must be at least 1"));
        }
        let domain = self.domain.trim();
        if domain.is_empty() || domain.contains(|c: char| c.is_whitespace() || c == '@' || c == '/')
        {
            return Err(ConfigError::value(
                "users.domain",
                format!("{:?} is not a domain name", self.domain),
            ));
        }
        if self.imap.auth_failure_window == 0 {
            return Err(ConfigError::value(
                "imap.authFailureWindow",
                "must be at least 1 (seconds)",
            ));
        }
        self.pop3.validate()?;
        if self.tls_cert.is_some() != self.tls_key.is_some() {
            return Err(ConfigError::value(
                if self.tls_cert.is_some() {
                    "tls.key"
                } else {
                    "tls.cert"
                },
                "[tls] cert and key go together: set both, or neither for a self-signed certificate",
            ));
        }
        if self.auth_throttle.window.is_zero() {
            return Err(ConfigError::value(
                "auth.failureWindow",
                "must be at least 1 second",
            ));
        }
        // At most ten years: a longer archive is no archive but a second mailbox.
        if !(0.0..=3650.0).contains(&self.archive_days) {
            return Err(ConfigError::value(
                "archive.days",
                "must be a number of days from 0 (no archive) to 3650",
            ));
        }
        if !(0.01..=86_400.0).contains(&self.retention_interval) {
            return Err(ConfigError::value(
                "retention.interval",
                "must be a number of seconds from 0.01 to 86400",
            ));
        }
        self.relay.validate()?;
        guard::validate(&self.guard)?;
        self.vault.validate()?;
        dns::validate(&self.dns)?;
        server::validate(&mut self.server)?;
        submission::validate(&self.outbound, &self.dkim)?;
        for service in [Service::Lmtp, Service::Smtp, Service::Submission] {
            let o = self.delivery_mut(service);
            let checks = [
                ("maxRecipients", o.max_recipients as u64),
                ("maxConnections", o.max_connections as u64),
                ("timeout", o.timeout),
            ];
            for (name, value) in checks {
                if value == 0 {
                    return Err(ConfigError::value(
                        format!("{service}.{name}"),
                        "must be at least 1",
                    ));
                }
            }
            if o.hostname.as_deref().is_some_and(|h| {
                h.is_empty()
                    || h.len() > 255
                    || h.contains(|c: char| c.is_whitespace() || c.is_control())
            }) {
                return Err(ConfigError::value(
                    format!("{service}.hostname"),
                    "must be a host name without spaces",
                ));
            }
        }
        tracing_subscriber::EnvFilter::try_new(&self.log_level)
            .map_err(|e| ConfigError::value("log.level", format!("{:?}: {e}", self.log_level)))?;
        for (i, a) in Service::ALL.iter().enumerate() {
            for b in &Service::ALL[i + 1..] {
                if self.listen(*a) == self.listen(*b) && self.listen(*a).port() != 0 {
                    return Err(ConfigError::value(
                        format!("{b}.listen"),
                        format!("{} is also the {a} listen address", self.listen(*b)),
                    ));
                }
            }
            if let Some(m) = self.metrics_listen
                && m == self.listen(*a)
                && m.port() != 0
            {
                return Err(ConfigError::value(
                    "metrics.listen",
                    format!("{m} is also the {a} listen address"),
                ));
            }
        }
        Ok(())
    }

    /// The rule for an API without an access token: loopback only, unless the operator
    /// explicitly allows otherwise with `[api] allowInsecure = true`.
    pub fn check_api_exposure(&self) -> Result<(), ConfigError> {
        let listen = self.listen(Service::Api);
        if self.access_token.is_none()
            && self.access_token_disabled
            && !listen.ip().is_loopback()
            && !self.allow_insecure
        {
            return Err(ConfigError::value(
                "api.listen",
                format!(
                    "refusing to serve the API on non-loopback address {listen} without an access token; \
                     set [api] accessToken (or SEALPOST_ACCESS_TOKEN), or [api] allowInsecure = true"
                ),
            ));
        }
        Ok(())
    }

    /// Largest accepted HTTP body: `[api] maxBody`, or the message size limit with room for
    /// ordinary JSON requests when the message limit is tiny.
    pub fn effective_max_body(&self) -> usize {
        let bytes = self
            .max_body
            .unwrap_or_else(|| self.max_message_size.max(1 << 20));
        usize::try_from(bytes).unwrap_or(usize::MAX)
    }

    pub fn core_config(&self) -> CoreConfig {
        CoreConfig {
            data_dir: self.data_dir.clone(),
            database_url: self.database_url.clone(),
            blob_dir: self.blob_dir.clone(),
            inline_blob_max: self.inline_blob_max,
            default_quota: self.default_quota,
            default_recipients: self.default_recipients,
            default_forwards: self.default_forwards,
            domain: self.domain.trim().to_owned(),
            max_message_size: self.max_message_size,
            archive_for: std::time::Duration::from_secs_f64(self.archive_days * DAY),
            purge_interval: std::time::Duration::from_secs_f64(self.retention_interval),
            outbound: self.outbound.apply(
                self.relay.outbound_config(self.domain.trim()),
                &self.relay,
                self.domain.trim(),
            ),
            client_setup: self.client_setup(),
            auth_throttle: self.auth_throttle.clone(),
            guard: self.guard.clone(),
            vault: self.vault.core(self.listen[Service::Api.index()]),
            message_cache_bytes: usize::try_from(self.imap.cache_size).unwrap_or(usize::MAX),
            dns: self.dns.clone(),
            dkim: self.dkim.clone(),
            plans: self.plans.clone(),
        }
    }

    /// Where Apple configuration profiles and autoconfig point mail clients: `[server]
    /// publicHostname` (default: the mail domain), with the IMAPS and submissions (implicit
    /// TLS, RFC 8314) listen ports first, and the STARTTLS ones.
    fn client_setup(&self) -> sealpost_core::ClientSetup {
        let domain = self.domain.trim().to_owned();
        let host = self
            .server
            .public_hostname
            .clone()
            .unwrap_or_else(|| domain.clone());
        sealpost_core::ClientSetup {
            imap_host: host.clone(),
            imap_port: self.listen[Service::Imaps.index()].port(),
            imap_tls: true,
            smtp_host: host,
            smtp_port: self.listen[Service::Submissions.index()].port(),
            smtp_tls: true,
            imap_starttls_port: self.listen[Service::Imap.index()].port(),
            pop3_port: self.listen[Service::Pop3s.index()].port(),
            submission_starttls_port: self.listen[Service::Submission.index()].port(),
            domain,
        }
    }

    /// The IMAP service's settings.
    pub fn imap_config(&self) -> ImapConfig {
        let o = &self.imap;
        ImapConfig {
            max_literal_size: self.max_message_size,
            allow_plaintext_auth: o.allow_plaintext_auth,
            max_connections_per_ip: o.max_connections_per_ip,
            max_connections_per_user: o.max_connections_per_user,
            max_auth_failures_per_ip: o.max_auth_failures_per_ip,
            max_auth_failures_per_user: o.max_auth_failures_per_user,
            auth_failure_window: std::time::Duration::from_secs(o.auth_failure_window),
            ..ImapConfig::default()
        }
    }

    fn delivery_mut(&mut self, service: Service) -> &mut DeliveryOptions {
        match service {
            Service::Smtp => &mut self.smtp,
            Service::Submission | Service::Submissions => &mut self.submission,
            _ => &mut self.lmtp,
        }
    }

    /// The settings of the LMTP ([`Service::Lmtp`]), inbound SMTP or submission listener.
    pub fn delivery_config(&self, service: Service) -> DeliveryConfig {
        let (o, mode) = match service {
            Service::Smtp => (&self.smtp, Mode::Smtp),
            Service::Submission | Service::Submissions => (&self.submission, Mode::Submission),
            _ => (&self.lmtp, Mode::Lmtp),
        };
        DeliveryConfig {
            hostname: o
                .hostname
                .clone()
                .or_else(system_hostname)
                .unwrap_or_else(|| self.domain.trim().to_owned()),
            max_recipients: o.max_recipients,
            max_message_size: self.max_message_size,
            timeout: std::time::Duration::from_secs(o.timeout),
            max_connections: o.max_connections,
            quota_reply: o.quota_reply,
            allow_plaintext_auth: o.allow_plaintext_auth,
            ..DeliveryConfig::new(mode)
        }
    }

    pub fn api_settings(&self) -> ApiSettings {
        ApiSettings {
            access_token: self.access_token.clone(),
            max_body: self.effective_max_body(),
            shutdown: sealpost_net::Shutdown::never(),
        }
    }
}

/// Parses a non-negative integer from an environment variable.
fn parse_int<T: std::str::FromStr>(key: &str, value: &str) -> Result<T, ConfigError> {
    value.trim().parse().map_err(|_| {
        ConfigError::value(
            key,
            format!("{value:?} is not a non-negative integer (bytes)"),
        )
    })
}

/// Parses a non-negative count (connections, failures, seconds) from an environment variable.
fn parse_count<T: std::str::FromStr>(key: &str, value: &str) -> Result<T, ConfigError> {
    value
        .trim()
        .parse()
        .map_err(|_| ConfigError::value(key, format!("{value:?} is not a non-negative integer")))
}

/// Parses a non-negative number (fractions allowed) from an environment variable.
fn parse_number(key: &str, value: &str) -> Result<f64, ConfigError> {
    value
        .trim()
        .parse::<f64>()
        .ok()
        .filter(|n| n.is_finite() && *n >= 0.0)
        .ok_or_else(|| ConfigError::value(key, format!("{value:?} is not a non-negative number")))
}

/// A database URL with any password replaced, fit for messages and logs.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let (authority, tail) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    match authority.rsplit_once('@') {
        Some((userinfo, host)) if userinfo.contains(':') => {
            let user = userinfo.split(':').next().unwrap_or("");
            format!("{scheme}://{user}:***@{host}{tail}")
        }
        _ => url.to_owned(),
    }
}

mod dns;
mod guard;
pub mod observability;
mod plans;
mod pop3;
mod relay;
pub mod server;
mod submission;
#[cfg(test)]
mod tests;
mod vault;
