//! Settings `core` needs; the binary fills them from the TOML file and the environment.

use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct CoreConfig {
    /// Data directory: SQLite database and blobs live here by default.
    pub data_dir: PathBuf,
    /// `sqlite://...` or `postgres://...`; `None` = SQLite in the data directory.
    pub database_url: Option<String>,
    /// Blob directory; `None` = `<data_dir>/blobs`.
    pub blob_dir: Option<PathBuf>,
    /// Default quota for new users, bytes.
    pub default_quota: i64,
    /// Default 24 h recipient and forward limits.
    pub default_recipients: i64,
    pub default_forwards: i64,
    /// Domain used for generated addresses (`username@domain`).
    pub domain: String,
    /// Largest accepted message, bytes.
    pub max_message_size: u64,
    /// Messages smaller than this many bytes are kept in the database rather than as blob
    /// files: one file (an inode, and its share of a filesystem sync) per small message is
    /// what bounded ingestion. 0 keeps every message in a file.
    pub inline_blob_max: u64,
    /// How long a message deleted by a user stays restorable in the archive; zero turns the
    /// archive off (deletions are final).
    pub archive_for: Duration,
    /// How often the purge task looks for messages whose retention or expiry has passed
    /// and archive entries whose time is up.
    pub purge_interval: Duration,
    /// Outbound relay, retries, SRS, autoreply interval.
    pub outbound: crate::outbound::OutboundConfig,
    /// Where mail clients reach this server (Apple configuration profiles of application
    /// specific passwords).
    pub client_setup: ClientSetup,
    /// Failed authentications counted across protocols (`[auth]`).
    pub auth_throttle: crate::throttle::ThrottleConfig,
    /// The Guard key-management API (`[guard]`).
    pub guard: crate::guard::GuardConfig,
    /// The password vault (`[vault]`).
    pub vault: crate::vault::VaultConfig,
    /// Bytes (estimated) the caches of message headers for IMAP SEARCH and FETCH may hold
    /// (see `message_cache.rs`): two thirds for SEARCH, one third for header blocks. 0 turns
    /// them off.
    pub message_cache_bytes: usize,
    /// The resolvers every DNS lookup asks (`[dns]`).
    pub dns: crate::dns::DnsConfig,
    /// The secret DKIM private keys are sealed with (`[dkim]`).
    pub dkim: crate::dkim::DkimConfig,
    /// Plans of the JSON-RPC provisioning API (`[plans.<name>]`).
    pub plans: crate::provisioning::PlanConfig,
}

/// The IMAP and SMTP endpoints mail clients are told to use.
#[derive(Debug, Clone)]
pub struct ClientSetup {
    pub imap_host: String,
    pub imap_port: u16,
    /// Implicit TLS (IMAPS).
    pub imap_tls: bool,
    pub smtp_host: String,
    pub smtp_port: u16,
    pub smtp_tls: bool,
    /// The plain IMAP port, where STARTTLS is offered.
    pub imap_starttls_port: u16,
    /// POP3S (implicit TLS).
    pub pop3_port: u16,
    /// Submission with STARTTLS (RFC 6409).
    pub submission_starttls_port: u16,
    /// The mail domain the server hosts by default (autoconfig's provider id).
    pub domain: String,
}

impl Default for ClientSetup {
    fn default() -> Self {
        ClientSetup {
            imap_host: "localhost".into(),
            imap_port: 1993,
            imap_tls: true,
            smtp_host: "localhost".into(),
            smtp_port: 2525,
            smtp_tls: false,
            imap_starttls_port: 1143,
            pop3_port: 1995,
            submission_starttls_port: 1587,
            domain: "localhost".into(),
        }
    }
}

impl Default for CoreConfig {
    fn default() -> Self {
        CoreConfig {
            data_dir: PathBuf::from("data"),
            database_url: None,
            blob_dir: None,
            default_quota: 1 << 30,
            default_recipients: 2000,
            default_forwards: 2000,
            domain: "localhost".into(),
            max_message_size: 64 << 20,
            inline_blob_max: 64 << 10,
            archive_for: Duration::from_secs(14 * 24 * 3600),
            purge_interval: Duration::from_secs(60),
            outbound: Default::default(),
            client_setup: ClientSetup::default(),
            auth_throttle: Default::default(),
            guard: Default::default(),
            vault: Default::default(),
            message_cache_bytes: 192 << 20,
            dns: Default::default(),
            dkim: Default::default(),
            plans: Default::default(),
        }
    }
}
