//! `[pop3]`: the settings of the POP3 service besides its listeners (`[pop3] listen`,
//! `[pop3s] listen`), from the file and from `SEALPOST_POP3_*` variables.

use super::{ConfigError, ListenAddr, parse_count};
use sealpost_pop3::{PlaintextAuth, Pop3Config};
use serde::Deserialize;
use std::time::Duration;

/// Largest `maxMessages`: the deletions of one session are one statement's parameters.
pub const MAX_MAX_MESSAGES: u32 = 25_000;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(super) struct FilePop3 {
    pub(super) listen: Option<ListenAddr>,
    #[serde(alias = "allow_plaintext_auth")]
    allow_plaintext_auth: Option<String>,
    #[serde(alias = "max_messages")]
    max_messages: Option<u32>,
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
}

/// `[pop3]`: plain-text login, the listing cap, connection limits and the failed-login
/// throttle (the same meanings as `[imap]`'s).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pop3Options {
    /// `allowPlaintextAuth`: `never`, `loopback` (default) or `always`.
    pub allow_plaintext_auth: PlaintextAuth,
    /// `maxMessages`: how many of the newest INBOX messages a session lists.
    pub max_messages: u32,
    pub max_connections_per_ip: u32,
    pub max_connections_per_user: u32,
    pub max_auth_failures_per_ip: u32,
    pub max_auth_failures_per_user: u32,
    /// Seconds.
    pub auth_failure_window: u64,
}

impl Default for Pop3Options {
    fn default() -> Self {
        let d = Pop3Config::default();
        Pop3Options {
            allow_plaintext_auth: d.allow_plaintext_auth,
            max_messages: u32::try_from(d.max_messages).unwrap_or(MAX_MAX_MESSAGES),
            max_connections_per_ip: d.max_connections_per_ip,
            max_connections_per_user: d.max_connections_per_user,
            max_auth_failures_per_ip: d.max_auth_failures_per_ip,
            max_auth_failures_per_user: d.max_auth_failures_per_user,
            auth_failure_window: d.auth_failure_window.as_secs(),
        }
    }
}

impl Pop3Options {
    pub(super) fn apply_file(&mut self, f: FilePop3) -> Result<(), ConfigError> {
        if let Some(v) = f.allow_plaintext_auth {
            self.allow_plaintext_auth = v
                .parse()
                .map_err(|m| ConfigError::value("pop3.allowPlaintextAuth", m))?;
        }
        self.max_messages = f.max_messages.unwrap_or(self.max_messages);
        self.max_connections_per_ip = f
            .max_connections_per_ip
            .unwrap_or(self.max_connections_per_ip);
        self.max_connections_per_user = f
            .max_connections_per_user
            .unwrap_or(self.max_connections_per_user);
        self.max_auth_failures_per_ip = f
            .max_auth_failures_per_ip
            .unwrap_or(self.max_auth_failures_per_ip);
        self.max_auth_failures_per_user = f
            .max_auth_failures_per_user
            .unwrap_or(self.max_auth_failures_per_user);
        self.auth_failure_window = f.auth_failure_window.unwrap_or(self.auth_failure_window);
        Ok(())
    }

    pub(super) fn apply_env(
        &mut self,
        get: impl Fn(&str) -> Option<String>,
    ) -> Result<(), ConfigError> {
        if let Some(v) = get("SEALPOST_POP3_ALLOW_PLAINTEXT_AUTH") {
            self.allow_plaintext_auth = v
                .parse()
                .map_err(|m| ConfigError::value("SEALPOST_POP3_ALLOW_PLAINTEXT_AUTH", m))?;
        }
        let counts: [(&str, &mut u32); 5] = [
            ("SEALPOST_POP3_MAX_MESSAGES", &mut self.max_messages),
            (
                "SEALPOST_POP3_MAX_CONNECTIONS_PER_IP",
                &mut self.max_connections_per_ip,
            ),
            (
                "SEALPOST_POP3_MAX_CONNECTIONS_PER_USER",
                &mut self.max_connections_per_user,
            ),
            (
                "SEALPOST_POP3_MAX_AUTH_FAILURES_PER_IP",
                &mut self.max_auth_failures_per_ip,
            ),
            (
                "SEALPOST_POP3_MAX_AUTH_FAILURES_PER_USER",
                &mut self.max_auth_failures_per_user,
            ),
        ];
        for (key, field) in counts {
            if let Some(v) = get(key) {
                *field = parse_count(key, &v)?;
            }
        }
        if let Some(v) = get("SEALPOST_POP3_AUTH_FAILURE_WINDOW") {
            self.auth_failure_window = parse_count("SEALPOST_POP3_AUTH_FAILURE_WINDOW", &v)?;
        }
        Ok(())
    }

    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        if !(1..=MAX_MAX_MESSAGES).contains(&self.max_messages) {
            return Err(ConfigError::value(
                "pop3.maxMessages",
                format!("must be between 1 and {MAX_MAX_MESSAGES}"),
            ));
        }
        if self.auth_failure_window == 0 {
            return Err(ConfigError::value(
                "pop3.authFailureWindow",
                "must be at least 1 (seconds)",
            ));
        }
        Ok(())
    }

    /// The POP3 service's settings.
    pub fn pop3_config(&self) -> Pop3Config {
        Pop3Config {
            max_messages: self.max_messages as usize,
            allow_plaintext_auth: self.allow_plaintext_auth,
            max_connections_per_ip: self.max_connections_per_ip,
            max_connections_per_user: self.max_connections_per_user,
            max_auth_failures_per_ip: self.max_auth_failures_per_ip,
            max_auth_failures_per_user: self.max_auth_failures_per_user,
            auth_failure_window: Duration::from_secs(self.auth_failure_window),
            ..Pop3Config::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Config, Service};
    use std::collections::HashMap;

    /// The file text, then the variables, as `Config::load` applies them.
    fn load_for_test(text: Option<&str>, pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let mut c = Config::default();
        if let Some(text) = text {
            c.apply_file_text(std::path::Path::new("test.toml"), text)?;
        }
        let vars: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        c.apply_env(|k| vars.get(k).cloned())?;
        c.validate()?;
        Ok(c)
    }

    #[test]
    fn pop3_settings() {
        let c = load_for_test(None, &[]).unwrap();
        assert_eq!(c.pop3, Pop3Options::default());
        assert_eq!(c.pop3.max_messages, 250);
        assert_eq!(c.listen(Service::Pop3), "127.0.0.1:1110".parse().unwrap());
        assert_eq!(c.listen(Service::Pop3s), "127.0.0.1:1995".parse().unwrap());

        let text = r#"
            [pop3]
            listen = "127.0.0.1:10110"
            allowPlaintextAuth = "never"
            maxMessages = 10
            maxConnectionsPerIp = 7
            max_connections_per_user = 3
            maxAuthFailuresPerIp = 0
            maxAuthFailuresPerUser = 4
            authFailureWindow = 60
            [pop3s]
            listen = "127.0.0.1:10995"
        "#;
        let c = load_for_test(Some(text), &[]).unwrap();
        assert_eq!(c.listen(Service::Pop3), "127.0.0.1:10110".parse().unwrap());
        assert_eq!(c.listen(Service::Pop3s), "127.0.0.1:10995".parse().unwrap());
        let p = c.pop3.pop3_config();
        assert_eq!(p.allow_plaintext_auth, PlaintextAuth::Never);
        assert_eq!(p.max_messages, 10);
        assert_eq!(
            (
                p.max_connections_per_ip,
                p.max_connections_per_user,
                p.max_auth_failures_per_ip,
                p.max_auth_failures_per_user
            ),
            (7, 3, 0, 4)
        );
        assert_eq!(p.auth_failure_window, Duration::from_secs(60));

        // The environment wins over the file.
        let c = load_for_test(
            Some(text),
            &[
                ("SEALPOST_POP3_ALLOW_PLAINTEXT_AUTH", "always"),
                ("SEALPOST_POP3_MAX_MESSAGES", "2"),
                ("SEALPOST_POP3_MAX_CONNECTIONS_PER_USER", "0"),
                ("SEALPOST_POP3_LISTEN", "127.0.0.1:11110"),
            ],
        )
        .unwrap();
        assert_eq!(c.pop3.allow_plaintext_auth, PlaintextAuth::Always);
        assert_eq!(c.pop3.max_messages, 2);
        assert_eq!(c.pop3.max_connections_per_user, 0);
        assert_eq!(c.pop3.max_connections_per_ip, 7);
        assert_eq!(c.listen(Service::Pop3), "127.0.0.1:11110".parse().unwrap());
    }

    #[test]
    fn bad_pop3_settings() {
        let e = load_for_test(Some("[pop3]\nallowPlaintextAuth = \"maybe\"\n"), &[]).unwrap_err();
        assert!(e.to_string().contains("pop3.allowPlaintextAuth"), "{e}");
        let e = load_for_test(Some("[pop3]\nmaxMessages = 0\n"), &[]).unwrap_err();
        assert!(e.to_string().contains("pop3.maxMessages"), "{e}");
        let e = load_for_test(None, &[("SEALPOST_POP3_MAX_MESSAGES", "25001")]).unwrap_err();
        assert!(e.to_string().contains("pop3.maxMessages"), "{e}");
        let e = load_for_test(None, &[("SEALPOST_POP3_MAX_MESSAGES", "many")]).unwrap_err();
        assert!(e.to_string().contains("SEALPOST_POP3_MAX_MESSAGES"), "{e}");
        let e = load_for_test(Some("[pop3]\nauthFailureWindow = 0\n"), &[]).unwrap_err();
        assert!(e.to_string().contains("pop3.authFailureWindow"), "{e}");
        let e = load_for_test(Some("[pop3]\nmaxMessage = 3\n"), &[]).unwrap_err();
        assert!(e.to_string().contains("maxMessage"), "{e}");
    }
}
