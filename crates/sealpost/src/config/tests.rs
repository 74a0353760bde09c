//! Configuration loading: layers, precedence, and the errors operators see.

use super::*;
use std::collections::HashMap;
use std::io::Write;

fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
    let map: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    move |k| map.get(k).cloned()
}

fn file(text: &str) -> tempfile_lite::TempFile {
    tempfile_lite::TempFile::new(text)
}

/// A tiny self-cleaning temporary file, to avoid a dev-dependency.
mod tempfile_lite {
    use super::*;
    pub struct TempFile(pub PathBuf);
    impl TempFile {
        pub fn new(text: &str) -> Self {
            use std::sync::atomic::{AtomicU32, Ordering};
            static N: AtomicU32 = AtomicU32::new(0);
            let path = std::env::temp_dir().join(format!(
                "sealpost-config-test-{}-{}.toml",
                std::process::id(),
                N.fetch_add(1, Ordering::Relaxed)
            ));
            std::fs::File::create(&path)
                .unwrap()
                .write_all(text.as_bytes())
                .unwrap();
            TempFile(path)
        }
    }
    impl Drop for TempFile {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }
}

fn load(
    text: Option<&str>,
    pairs: &[(&str, &str)],
    cli: &CliOverrides,
) -> Result<Config, ConfigError> {
    let f = text.map(file);
    Config::load(f.as_ref().map(|f| f.0.as_path()), env(pairs), cli)
}

#[test]
fn defaults() {
    let c = load(None, &[], &CliOverrides::default()).unwrap();
    let expect = [
        (Service::Api, 8080),
        (Service::Imap, 1143),
        (Service::Imaps, 1993),
        (Service::Pop3, 1110),
        (Service::Pop3s, 1995),
        (Service::Lmtp, 2424),
        (Service::Smtp, 2525),
    ];
    for (s, port) in expect {
        assert_eq!(c.listen(s), SocketAddr::from(([127, 0, 0, 1], port)), "{s}");
    }
    assert_eq!(c.data_dir, PathBuf::from("data"));
    assert_eq!(c.access_token, None);
    assert_eq!(c.database_url, None);
    assert_eq!(c.log_level, "info");
    let core = CoreConfig::default();
    assert_eq!(c.default_quota, core.default_quota);
    assert_eq!(c.max_message_size, core.max_message_size);
    assert!(c.check_api_exposure().is_ok());
}

#[test]
fn file_sets_every_section() {
    let text = r#"
        [api]
        listen = "127.0.0.1:9000"
        accessToken = "secret"
        maxBody = 5000000
        allowInsecure = true
        [imap]
        listen = "127.0.0.1:10143"
        [imaps]
        listen = "127.0.0.1:10993"
        [pop3]
        listen = "127.0.0.1:10110"
        [pop3s]
        listen = "127.0.0.1:10995"
        [lmtp]
        listen = "[::1]:10024"
        [smtp]
        listen = "localhost:10025"
        [storage]
        database = "postgres://u:pw@db/mail"
        blobs = "/srv/blobs"
        inlineMax = 1000
        [users]
        defaultQuota = 1000
        defaultRecipients = 10
        defaultForwards = 20
        domain = "example.com"
        [limits]
        maxMessageSize = 4096
        [log]
        level = "debug"
    "#;
    let c = load(Some(text), &[], &CliOverrides::default()).unwrap();
    assert_eq!(c.listen(Service::Api), "127.0.0.1:9000".parse().unwrap());
    assert_eq!(c.listen(Service::Imap), "127.0.0.1:10143".parse().unwrap());
    assert_eq!(c.listen(Service::Imaps), "127.0.0.1:10993".parse().unwrap());
    assert_eq!(c.listen(Service::Pop3), "127.0.0.1:10110".parse().unwrap());
    assert_eq!(c.listen(Service::Pop3s), "127.0.0.1:10995".parse().unwrap());
    assert_eq!(c.listen(Service::Lmtp), "[::1]:10024".parse().unwrap());
    assert_eq!(c.listen(Service::Smtp), "127.0.0.1:10025".parse().unwrap());
    assert_eq!(c.access_token.as_deref(), Some("secret"));
    assert_eq!(c.max_body, Some(5_000_000));
    assert!(c.allow_insecure);
    assert_eq!(c.database_url.as_deref(), Some("postgres://u:pw@db/mail"));
    assert_eq!(c.blob_dir, Some(PathBuf::from("/srv/blobs")));
    assert_eq!(c.inline_blob_max, 1000);
    assert_eq!(
        (c.default_quota, c.default_recipients, c.default_forwards),
        (1000, 10, 20)
    );
    assert_eq!(c.domain, "example.com");
    assert_eq!(c.max_message_size, 4096);
    assert_eq!(c.log_level, "debug");

    let core = c.core_config();
    assert_eq!(
        core.database_url.as_deref(),
        Some("postgres://u:pw@db/mail")
    );
    assert_eq!(core.default_quota, 1000);
    assert_eq!(core.domain, "example.com");
    assert_eq!(core.max_message_size, 4096);
    let api = c.api_settings();
    assert_eq!(api.access_token.as_deref(), Some("secret"));
    assert_eq!(api.max_body, 5_000_000);
}

#[test]
fn snake_case_aliases() {
    let text = "[api]\naccess_token = \"t\"\nmax_body = 10\n[users]\ndefault_quota = 5\n[limits]\nmax_message_size = 7\n";
    let c = load(Some(text), &[], &CliOverrides::default()).unwrap();
    assert_eq!(c.access_token.as_deref(), Some("t"));
    assert_eq!(c.max_body, Some(10));
    assert_eq!(c.default_quota, 5);
    assert_eq!(c.max_message_size, 7);
}

#[test]
fn precedence_defaults_file_env_cli() {
    let text = r#"
        [api]
        listen = "127.0.0.1:9000"
        accessToken = "from-file"
        [imap]
        listen = "127.0.0.1:9143"
        [users]
        defaultQuota = 1000
        domain = "file.example"
        [log]
        level = "warn"
    "#;
    // file over defaults
    let c = load(Some(text), &[], &CliOverrides::default()).unwrap();
    assert_eq!(c.listen(Service::Api).port(), 9000);
    assert_eq!(c.listen(Service::Pop3).port(), 1110);
    assert_eq!(c.domain, "file.example");

    // environment over file
    let vars = [
        ("SEALPOST_API_LISTEN", "127.0.0.1:9100"),
        ("SEALPOST_IMAP_LISTEN", "127.0.0.1:9243"),
        ("SEALPOST_SMTP_LISTEN", "127.0.0.1:9025"),
        ("SEALPOST_ACCESS_TOKEN", "from-env"),
        ("SEALPOST_DEFAULT_QUOTA", "2000"),
        ("SEALPOST_DOMAIN", "env.example"),
        ("SEALPOST_MAX_MESSAGE_SIZE", "12345"),
        ("SEALPOST_DATABASE_URL", "sqlite://elsewhere.db"),
        ("SEALPOST_BLOB_DIR", "/tmp/blobs"),
        ("SEALPOST_INLINE_MAX", "0"),
        ("SEALPOST_LOG", "debug"),
    ];
    let c = load(Some(text), &vars, &CliOverrides::default()).unwrap();
    assert_eq!(c.listen(Service::Api).port(), 9100);
    assert_eq!(c.listen(Service::Imap).port(), 9243);
    assert_eq!(c.listen(Service::Smtp).port(), 9025);
    assert_eq!(c.access_token.as_deref(), Some("from-env"));
    assert_eq!(c.default_quota, 2000);
    assert_eq!(c.domain, "env.example");
    assert_eq!(c.max_message_size, 12345);
    assert_eq!(c.database_url.as_deref(), Some("sqlite://elsewhere.db"));
    assert_eq!(c.blob_dir, Some(PathBuf::from("/tmp/blobs")));
    assert_eq!(c.inline_blob_max, 0);
    assert_eq!(c.log_level, "debug");

    // command line over environment
    let cli = CliOverrides {
        data_dir: Some(PathBuf::from("/var/lib/sealpost")),
        api_listen: Some("127.0.0.1:9200".parse().unwrap()),
    };
    let c = load(Some(text), &vars, &cli).unwrap();
    assert_eq!(c.listen(Service::Api).port(), 9200);
    assert_eq!(c.data_dir, PathBuf::from("/var/lib/sealpost"));
    assert_eq!(c.core_config().data_dir, PathBuf::from("/var/lib/sealpost"));
}

#[test]
fn every_service_has_an_env_override() {
    for (i, s) in Service::ALL.into_iter().enumerate() {
        let port = (20000 + i).to_string();
        let addr = format!("127.0.0.1:{port}");
        let c = load(
            None,
            &[(s.env_var().as_str(), addr.as_str())],
            &CliOverrides::default(),
        )
        .unwrap();
        assert_eq!(c.listen(s), addr.parse().unwrap(), "{}", s.env_var());
    }
}

#[test]
fn empty_env_var_is_ignored() {
    let c = load(None, &[("SEALPOST_DOMAIN", " ")], &CliOverrides::default()).unwrap();
    assert_eq!(c.domain, CoreConfig::default().domain);
}

#[test]
fn access_token_unset_set_or_turned_off() {
    // Unset: `serve` uses the generated token file.
    let c = load(None, &[], &CliOverrides::default()).unwrap();
    assert_eq!(
        (c.access_token.as_deref(), c.access_token_disabled),
        (None, false)
    );
    // An empty value (file or environment) turns the token off explicitly.
    let c = load(
        None,
        &[("SEALPOST_ACCESS_TOKEN", "")],
        &CliOverrides::default(),
    )
    .unwrap();
    assert_eq!(
        (c.access_token.as_deref(), c.access_token_disabled),
        (None, true)
    );
    let c = load(
        Some("[api]\naccessToken = \"\"\n"),
        &[],
        &CliOverrides::default(),
    )
    .unwrap();
    assert_eq!(
        (c.access_token.as_deref(), c.access_token_disabled),
        (None, true)
    );
    // The environment wins over the file, both ways.
    let c = load(
        Some("[api]\naccessToken = \"\"\n"),
        &[("SEALPOST_ACCESS_TOKEN", "t")],
        &CliOverrides::default(),
    )
    .unwrap();
    assert_eq!(
        (c.access_token.as_deref(), c.access_token_disabled),
        (Some("t"), false)
    );
    let c = load(
        Some("[api]\naccessToken = \"t\"\n"),
        &[("SEALPOST_ACCESS_TOKEN", "")],
        &CliOverrides::default(),
    )
    .unwrap();
    assert_eq!(
        (c.access_token.as_deref(), c.access_token_disabled),
        (None, true)
    );
}

#[test]
fn unknown_key_is_named() {
    let err = load(
        Some("[api]\nlisten = \"127.0.0.1:1\"\nacessToken = \"x\"\n"),
        &[],
        &CliOverrides::default(),
    )
    .unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, ConfigError::Parse { .. }), "{msg}");
    assert!(msg.contains("acessToken"), "{msg}");

    let err = load(Some("[imap]\nport = 143\n"), &[], &CliOverrides::default()).unwrap_err();
    assert!(err.to_string().contains("port"), "{err}");
}

#[test]
fn unknown_section_is_named() {
    let err = load(
        Some("[webmail]\nlisten = \"127.0.0.1:1\"\n"),
        &[],
        &CliOverrides::default(),
    )
    .unwrap_err();
    assert!(err.to_string().contains("webmail"), "{err}");
}

#[test]
fn bad_listen_address_in_file() {
    for bad in [
        "\"nonsense\"",
        "\"127.0.0.1:99999\"",
        "\"127.0.0.1\"",
        "\":8080\"",
        "8080",
    ] {
        let text = format!("[api]\nlisten = {bad}\n");
        let err = load(Some(&text), &[], &CliOverrides::default()).unwrap_err();
        let msg = err.to_string();
        assert!(matches!(err, ConfigError::Parse { .. }), "{bad}: {msg}");
        assert!(msg.contains("listen"), "{bad}: {msg}");
    }
}

#[test]
fn bad_listen_address_in_env() {
    let err = load(
        None,
        &[("SEALPOST_POP3_LISTEN", "pop3.invalid:abc")],
        &CliOverrides::default(),
    )
    .unwrap_err();
    assert!(err.to_string().contains("SEALPOST_POP3_LISTEN"), "{err}");
}

#[test]
fn bad_values() {
    // (file text, environment, text the error must contain)
    type Case<'a> = (Option<&'a str>, &'a [(&'a str, &'a str)], &'a str);
    let cases: &[Case] = &[
        (
            None,
            &[("SEALPOST_DEFAULT_QUOTA", "lots")],
            "SEALPOST_DEFAULT_QUOTA",
        ),
        (
            None,
            &[("SEALPOST_MAX_MESSAGE_SIZE", "-1")],
            "SEALPOST_MAX_MESSAGE_SIZE",
        ),
        (
            None,
            &[("SEALPOST_MAX_MESSAGE_SIZE", "0")],
            "maxMessageSize",
        ),
        (
            None,
            &[("SEALPOST_DATABASE_URL", "mysql://x/y")],
            "storage.database",
        ),
        (None, &[("SEALPOST_LOG", "info,=[")], "log.level"),
        (None, &[("SEALPOST_DOMAIN", "a b")], "users.domain"),
        (Some("[users]\ndefaultQuota = -5\n"), &[], "defaultQuota"),
        (
            Some("[users]\ndefaultQuota = \"big\"\n"),
            &[],
            "defaultQuota",
        ),
        (
            Some("[api]\nallowInsecure = \"perhaps\"\n"),
            &[],
            "allowInsecure",
        ),
        (Some("[api\n"), &[], "invalid config file"),
    ];
    for (text, vars, needle) in cases {
        let err = load(*text, vars, &CliOverrides::default()).unwrap_err();
        assert!(
            err.to_string().contains(needle),
            "expected {needle:?} in {err}"
        );
    }
}

#[test]
fn duplicate_listen_addresses_are_refused() {
    let err = load(
        None,
        &[("SEALPOST_IMAP_LISTEN", "127.0.0.1:8080")],
        &CliOverrides::default(),
    )
    .unwrap_err();
    assert!(err.to_string().contains("imap.listen"), "{err}");
}

#[test]
fn missing_file_is_an_error() {
    let err = Config::load(
        Some(Path::new("/nonexistent/sealpost.toml")),
        env(&[]),
        &CliOverrides::default(),
    )
    .unwrap_err();
    assert!(matches!(err, ConfigError::Read { .. }), "{err}");
}

#[test]
fn api_exposure_rule() {
    // Unset: the generated token protects a public listener.
    let public = [("SEALPOST_API_LISTEN", "0.0.0.0:8080")];
    let c = load(None, &public, &CliOverrides::default()).unwrap();
    assert!(c.check_api_exposure().is_ok());
    // Turned off: refused unless allowed.
    let open = [
        ("SEALPOST_API_LISTEN", "0.0.0.0:8080"),
        ("SEALPOST_ACCESS_TOKEN", ""),
    ];
    let c = load(None, &open, &CliOverrides::default()).unwrap();
    let err = c.check_api_exposure().unwrap_err();
    assert!(err.to_string().contains("accessToken"), "{err}");

    let with_token = [
        ("SEALPOST_API_LISTEN", "0.0.0.0:8080"),
        ("SEALPOST_ACCESS_TOKEN", "t"),
    ];
    assert!(
        load(None, &with_token, &CliOverrides::default())
            .unwrap()
            .check_api_exposure()
            .is_ok()
    );

    let c = load(
        Some("[api]\nallowInsecure = true\n"),
        &open,
        &CliOverrides::default(),
    )
    .unwrap();
    assert!(c.check_api_exposure().is_ok());

    let c = load(
        None,
        &[("SEALPOST_API_LISTEN", "[::1]:8080")],
        &CliOverrides::default(),
    )
    .unwrap();
    assert!(c.check_api_exposure().is_ok());

    // An empty token in the file turns it off.
    let c = load(
        Some("[api]\naccessToken = \"\"\n"),
        &public,
        &CliOverrides::default(),
    )
    .unwrap();
    assert!(c.check_api_exposure().is_err());
}

#[test]
fn max_body_follows_message_size() {
    let c = load(
        None,
        &[("SEALPOST_MAX_MESSAGE_SIZE", "100000000")],
        &CliOverrides::default(),
    )
    .unwrap();
    assert_eq!(c.effective_max_body(), 100_000_000);
    let c = load(
        None,
        &[("SEALPOST_MAX_MESSAGE_SIZE", "1000")],
        &CliOverrides::default(),
    )
    .unwrap();
    assert_eq!(c.effective_max_body(), 1 << 20);
}

#[test]
fn redacts_passwords() {
    assert_eq!(
        redact_url("postgres://u:secret@h:5432/db"),
        "postgres://u:***@h:5432/db"
    );
    assert_eq!(redact_url("postgres://u@h/db"), "postgres://u@h/db");
    assert_eq!(redact_url("sqlite://data/x.db"), "sqlite://data/x.db");
}

#[test]
fn imap_and_tls_settings() {
    let c = load(None, &[], &CliOverrides::default()).unwrap();
    assert_eq!(c.imap, ImapOptions::default());
    assert_eq!(c.imap.allow_plaintext_auth, PlaintextAuth::Loopback);
    assert_eq!((c.tls_cert.clone(), c.tls_key.clone()), (None, None));

    let text = r#"
        [imap]
        listen = "127.0.0.1:10143"
        allowPlaintextAuth = "never"
        maxConnectionsPerIp = 7
        max_connections_per_user = 3
        maxAuthFailuresPerIp = 0
        maxAuthFailuresPerUser = 4
        authFailureWindow = 60
        cacheSize = 1000000
        [tls]
        cert = "/etc/c.pem"
        key = "/etc/k.pem"
    "#;
    let c = load(Some(text), &[], &CliOverrides::default()).unwrap();
    assert_eq!(c.listen(Service::Imap), "127.0.0.1:10143".parse().unwrap());
    let imap = c.imap_config();
    assert_eq!(imap.allow_plaintext_auth, PlaintextAuth::Never);
    assert_eq!(
        (
            imap.max_connections_per_ip,
            imap.max_connections_per_user,
            imap.max_auth_failures_per_ip,
            imap.max_auth_failures_per_user
        ),
        (7, 3, 0, 4)
    );
    assert_eq!(imap.auth_failure_window, std::time::Duration::from_secs(60));
    assert_eq!(imap.max_literal_size, c.max_message_size);
    assert_eq!(c.core_config().message_cache_bytes, 1_000_000);
    assert_eq!(c.tls_cert, Some(PathBuf::from("/etc/c.pem")));

    // The environment wins over the file.
    let c = load(
        Some(text),
        &[
            ("SEALPOST_IMAP_ALLOW_PLAINTEXT_AUTH", "Always"),
            ("SEALPOST_IMAP_MAX_CONNECTIONS_PER_IP", "0"),
            ("SEALPOST_IMAP_MAX_AUTH_FAILURES_PER_USER", "9"),
            ("SEALPOST_TLS_KEY", "/run/k.pem"),
            ("SEALPOST_IMAP_CACHE_SIZE", "0"),
        ],
        &CliOverrides::default(),
    )
    .unwrap();
    assert_eq!(c.core_config().message_cache_bytes, 0);
    assert_eq!(c.imap.allow_plaintext_auth, PlaintextAuth::Always);
    assert_eq!(c.imap.max_connections_per_ip, 0);
    assert_eq!(c.imap.max_connections_per_user, 3);
    assert_eq!(c.imap.max_auth_failures_per_user, 9);
    assert_eq!(c.tls_key, Some(PathBuf::from("/run/k.pem")));
}

#[test]
fn bad_imap_and_tls_settings() {
    let cli = CliOverrides::default();
    let e = load(Some("[imap]\nallowPlaintextAuth = \"maybe\"\n"), &[], &cli).unwrap_err();
    assert!(e.to_string().contains("imap.allowPlaintextAuth"), "{e}");
    let e = load(
        None,
        &[("SEALPOST_IMAP_MAX_CONNECTIONS_PER_USER", "-1")],
        &cli,
    )
    .unwrap_err();
    assert!(
        e.to_string()
            .contains("SEALPOST_IMAP_MAX_CONNECTIONS_PER_USER"),
        "{e}"
    );
    let e = load(Some("[imap]\nauthFailureWindow = 0\n"), &[], &cli).unwrap_err();
    assert!(e.to_string().contains("imap.authFailureWindow"), "{e}");
    let e = load(Some("[tls]\ncert = \"/c.pem\"\n"), &[], &cli).unwrap_err();
    assert!(e.to_string().contains("tls.key"), "{e}");
    let e = load(None, &[("SEALPOST_TLS_KEY", "/k.pem")], &cli).unwrap_err();
    assert!(e.to_string().contains("tls.cert"), "{e}");
    let e = load(Some("[tls]\ncertificate = \"/c.pem\"\n"), &[], &cli).unwrap_err();
    assert!(e.to_string().contains("certificate"), "{e}");
}

#[test]
fn archive_and_retention_settings() {
    let cli = CliOverrides::default();
    let c = load(None, &[], &cli).unwrap();
    assert_eq!(c.archive_days, 14.0);
    let core = c.core_config();
    assert_eq!(core.archive_for.as_secs(), 14 * 86_400);
    assert_eq!(core.purge_interval.as_secs(), 60);
    // Whole numbers and fractions, from the file and the environment (which wins).
    let c = load(
        Some("[archive]\ndays = 2\n[retention]\ninterval = 0.5\n"),
        &[],
        &cli,
    )
    .unwrap();
    assert_eq!(c.core_config().archive_for.as_secs(), 2 * 86_400);
    assert_eq!(c.core_config().purge_interval.as_millis(), 500);
    let c = load(
        Some("[archive]\ndays = 2\n"),
        &[
            ("SEALPOST_ARCHIVE_DAYS", "0"),
            ("SEALPOST_RETENTION_INTERVAL", "0.2"),
        ],
        &cli,
    )
    .unwrap();
    assert!(c.core_config().archive_for.is_zero());
    assert_eq!(c.core_config().purge_interval.as_millis(), 200);
    for (key, value) in [
        ("SEALPOST_ARCHIVE_DAYS", "-1"),
        ("SEALPOST_ARCHIVE_DAYS", "NaN"),
        ("SEALPOST_RETENTION_INTERVAL", "soon"),
    ] {
        let e = load(None, &[(key, value)], &cli).unwrap_err();
        assert!(e.to_string().contains(key), "{e}");
    }
    let e = load(Some("[archive]\ndays = 99999\n"), &[], &cli).unwrap_err();
    assert!(e.to_string().contains("archive.days"), "{e}");
    let e = load(Some("[retention]\ninterval = 0\n"), &[], &cli).unwrap_err();
    assert!(e.to_string().contains("retention.interval"), "{e}");
    let e = load(Some("[archive]\nweeks = 2\n"), &[], &cli).unwrap_err();
    assert!(e.to_string().contains("weeks"), "{e}");
}

#[test]
fn delivery_settings() {
    let c = load(None, &[], &CliOverrides::default()).unwrap();
    let lmtp = c.delivery_config(Service::Lmtp);
    assert_eq!(lmtp.mode, Mode::Lmtp);
    assert_eq!(lmtp.max_recipients, 100);
    assert_eq!(lmtp.quota_reply, QuotaReply::Temporary);
    assert_eq!(lmtp.max_message_size, c.max_message_size);
    assert!(!lmtp.hostname.is_empty());
    assert_eq!(c.delivery_config(Service::Smtp).mode, Mode::Smtp);

    let text = "[lmtp]\nlisten = \"127.0.0.1:3424\"\nhostname = \"mx.example.com\"\nmaxRecipients = 7\nquotaReply = 552\ntimeout = 9\n\
                [smtp]\nmax_connections = 3\nquota_reply = 452\n";
    let c = load(
        Some(text),
        &[
            ("SEALPOST_SMTP_MAX_RECIPIENTS", "11"),
            ("SEALPOST_LMTP_MAX_CONNECTIONS", "5"),
        ],
        &CliOverrides::default(),
    )
    .unwrap();
    let lmtp = c.delivery_config(Service::Lmtp);
    assert_eq!(c.listen(Service::Lmtp).port(), 3424);
    assert_eq!(lmtp.hostname, "mx.example.com");
    assert_eq!(
        (
            lmtp.max_recipients,
            lmtp.max_connections,
            lmtp.timeout.as_secs()
        ),
        (7, 5, 9)
    );
    assert_eq!(lmtp.quota_reply, QuotaReply::Permanent);
    let smtp = c.delivery_config(Service::Smtp);
    assert_eq!((smtp.max_recipients, smtp.max_connections), (11, 3));
    assert_eq!(smtp.quota_reply, QuotaReply::Temporary);
}

#[test]
fn bad_delivery_settings() {
    for (text, key) in [
        ("[lmtp]\nquotaReply = 550\n", "lmtp.quotaReply"),
        ("[smtp]\nmaxRecipients = 0\n", "smtp.maxRecipients"),
        ("[lmtp]\ntimeout = 0\n", "lmtp.timeout"),
        ("[smtp]\nhostname = \"a b\"\n", "smtp.hostname"),
    ] {
        let e = load(Some(text), &[], &CliOverrides::default()).unwrap_err();
        assert!(e.to_string().contains(key), "{text}: {e}");
    }
    let e = load(
        None,
        &[("SEALPOST_LMTP_QUOTA_REPLY", "451")],
        &CliOverrides::default(),
    )
    .unwrap_err();
    assert!(e.to_string().contains("SEALPOST_LMTP_QUOTA_REPLY"), "{e}");
}

#[test]
fn relay_from_file_and_env() {
    let c = load(
        Some(
            r#"
[relay]
host = "smtp.example.net"
port = 587
starttls = "required"
username = "sealpost"
password = "file-secret"
timeout = 20
heloName = "mx.example.test"
retryBase = 5
retryMax = 50
maxAge = 3600
srsSecret = "0123456789abcdef0123"
srsDomain = "srs.example.test"

[autoreply]
interval = 60
"#,
        ),
        &[
            ("SEALPOST_RELAY_PORT", "2525"),
            ("SEALPOST_RELAY_PASSWORD", "env-secret"),
        ],
        &CliOverrides::default(),
    )
    .unwrap();
    let o = c.core_config().outbound;
    let relay = o.relay.as_ref().unwrap();
    assert_eq!(relay.host, "smtp.example.net");
    assert_eq!(relay.port, 2525);
    assert_eq!(relay.starttls, sealpost_core::outbound::StartTls::Required);
    assert_eq!(relay.username.as_deref(), Some("sealpost"));
    assert_eq!(relay.password.as_ref().unwrap().expose(), "env-secret");
    assert_eq!(relay.timeout, std::time::Duration::from_secs(20));
    assert_eq!(relay.helo_name, "mx.example.test");
    assert_eq!(o.retry_base.as_secs(), 5);
    assert_eq!(o.retry_max.as_secs(), 50);
    assert_eq!(o.max_age.as_secs(), 3600);
    assert_eq!(o.srs_domain.as_deref(), Some("srs.example.test"));
    assert_eq!(o.autoreply_interval.as_secs(), 60);
    // Secrets never show in the configuration's debug output.
    let debug = format!("{c:?}");
    assert!(!debug.contains("env-secret") && !debug.contains("0123456789abcdef0123"));
}

#[test]
fn relay_defaults_and_errors() {
    let c = load(None, &[], &CliOverrides::default()).unwrap();
    assert!(c.core_config().outbound.relay.is_none());
    let c = load(
        Some("[relay]\nhost = \"relay.test\"\nstarttls = false\n"),
        &[],
        &CliOverrides::default(),
    )
    .unwrap();
    let o = c.core_config().outbound;
    let relay = o.relay.unwrap();
    assert_eq!(relay.port, 25);
    assert_eq!(relay.starttls, sealpost_core::outbound::StartTls::Never);
    assert_eq!(relay.helo_name, "localhost");
    for (text, key) in [
        ("[relay]\nstarttls = \"sometimes\"\n", "relay.starttls"),
        ("[relay]\ntimeout = 0\n", "relay.timeout"),
        ("[relay]\npassword = \"x\"\n", "relay.password"),
        ("[relay]\nsrsSecret = \"short\"\n", "relay.srsSecret"),
        ("[relay]\nretryBase = 10\nretryMax = 5\n", "relay.retryMax"),
        ("[autoreply]\ninterval = 0\n", "autoreply.interval"),
    ] {
        let e = load(Some(text), &[], &CliOverrides::default()).unwrap_err();
        assert!(e.to_string().contains(key), "{text}: {e}");
    }
    let e = load(
        Some("[relay]\nhots = \"x\"\n"),
        &[],
        &CliOverrides::default(),
    )
    .unwrap_err();
    assert!(e.to_string().contains("hots"), "{e}");
}

#[test]
fn auth_throttle_settings() {
    let cli = CliOverrides::default();
    let c = load(None, &[], &cli).unwrap();
    let t = c.core_config().auth_throttle;
    assert_eq!((t.max_failures_per_ip, t.max_failures_per_user), (100, 20));
    assert_eq!(t.window.as_secs(), 900);
    let c = load(
        Some("[auth]\nmaxFailuresPerIp = 7\nfailureWindow = 60\n"),
        &[("SEALPOST_AUTH_MAX_FAILURES_PER_USER", "3")],
        &cli,
    )
    .unwrap();
    let t = c.core_config().auth_throttle;
    assert_eq!(
        (
            t.max_failures_per_ip,
            t.max_failures_per_user,
            t.window.as_secs()
        ),
        (7, 3, 60)
    );
    let e = load(Some("[auth]\nfailureWindow = 0\n"), &[], &cli).unwrap_err();
    assert!(e.to_string().contains("auth.failureWindow"), "{e}");
    let e = load(None, &[("SEALPOST_AUTH_MAX_FAILURES_PER_IP", "many")], &cli).unwrap_err();
    assert!(
        e.to_string().contains("SEALPOST_AUTH_MAX_FAILURES_PER_IP"),
        "{e}"
    );
}
