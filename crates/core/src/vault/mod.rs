//! The password vault (passbolt API, "v4 mode") on the mail users' accounts: vault users
//! (every one a mail user), their public OpenPGP keys, the server key, GPGAuth login and
//! sessions, resources with one client-encrypted secret per user with access, permissions,
//! groups, folders, favorites and comments. The server never sees a plaintext secret or a
//! user's private key: it checks that what it stores is an OpenPGP message encrypted to the
//! right key, and who may see or change what ([`rules`]).

mod auth;
mod folders;
mod groups;
mod jwt;
mod resources;
pub mod rules;
mod server_key;
pub mod tree;
mod users;

pub use auth::{
    GpgAuthStep, LOGIN_TOKEN_TTL_MS, MFA_COOKIE, MFA_REMEMBER_MS, VaultSession, escape_header,
};
pub use folders::{FolderView, NewFolder};
pub use groups::{GroupMemberChange, GroupView};
pub use jwt::{ACCESS_TTL_SECS, JwtKey, JwtTokens};
pub use resources::{
    DEFAULT_RESOURCE_TYPE, NewResource, RESOURCE_TYPES, ResourceUpdate, ResourceView, SecretInput,
};
pub use rules::{OWNER, READ, ShareChange, UPDATE};
pub use sealpost_store::vault::{
    Aco, Aro, CommentRow, FavoriteRow, FolderRow, GpgkeyRow, GroupRow, GroupUserRow, ListedFolder,
    ListedResource, ListingWants, PermissionRow, RelationRow, ResourceRow, SecretRow, TreeChange,
    VaultId, VaultUserRow,
};
pub use server_key::ServerKey;
pub use users::{Invitation, VaultUserView};

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

/// `[vault]` settings.
#[derive(Debug, Clone)]
pub struct VaultConfig {
    /// The server's OpenPGP key (armored, unprotected, mode 0600); `None` =
    /// `<data_dir>/vault-server.key`, made at first start. Every node is given the same one.
    pub server_key_file: Option<PathBuf>,
    /// The base URL clients use (`http://HOST:PORT/vault`), for setup links.
    pub base_url: String,
    /// Lifetime of a session.
    pub session_ttl: Duration,
    /// Lifetime of a setup or recovery link.
    pub setup_ttl: Duration,
}

impl Default for VaultConfig {
    fn default() -> Self {
        VaultConfig {
            server_key_file: None,
            base_url: "http://127.0.0.1:8080/vault".into(),
            session_ttl: Duration::from_secs(24 * 3600),
            setup_ttl: Duration::from_secs(10 * 24 * 3600),
        }
    }
}

/// State shared by the vault operations: the server key, loaded at start.
#[derive(Default)]
pub(crate) struct VaultState {
    key: tokio::sync::OnceCell<ServerKey>,
    jwt: tokio::sync::OnceCell<jwt::JwtKey>,
}

/// The role ids passbolt's clients know (its default roles, fixed here).
pub const ROLE_ADMIN_ID: &str = "a58de6d3-f52c-5080-b79b-a601a647ac85";
pub const ROLE_USER_ID: &str = "b4f2a8ed-4a55-5d4a-9d1e-2c4bd1c8b0a7";
pub const ROLE_GUEST_ID: &str = "e61bac8f-0d38-5ac0-9a3c-6d08e6c5a3f6";

/// The role id of a role name.
pub fn role_id(role: &str) -> &'static str {
    if role == "admin" {
        ROLE_ADMIN_ID
    } else {
        ROLE_USER_ID
    }
}

/// An error of a vault operation, in the terms passbolt answers with.
#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    /// 400 with `body` = `{field: {rule: message}}`.
    #[error("{message}")]
    Validation {
        message: String,
        body: serde_json::Value,
    },
    /// 400 without field details.
    #[error("{0}")]
    BadRequest(String),
    /// 401: no (valid) session.
    #[error("Authentication is required to continue.")]
    Unauthenticated,
    /// 403.
    #[error("{0}")]
    Forbidden(String),
    /// 403: the session still has to pass MFA.
    #[error("MFA authentication is required.")]
    MfaRequired,
    /// 404.
    #[error("{0}")]
    NotFound(String),
    /// A GPGAuth failure: 400 with `X-GPGAuth-Error: true` and `debug` as `X-GPGAuth-Debug`.
    #[error("{message}")]
    GpgAuth { message: String, debug: String },
    /// 429: too many failed logins.
    #[error("Too many failed authentications; try again later.")]
    Throttled,
    /// 500: details are logged, not shown.
    #[error("internal error: {0}")]
    Internal(String),
}

impl VaultError {
    /// A validation error on one field: `path` is dotted (`permissions.0.type`).
    pub fn field(path: &str, rule: &str, message: &str) -> Self {
        let mut value = serde_json::json!({ rule: message });
        for part in path.rsplit('.') {
            value = serde_json::json!({ part: value });
        }
        VaultError::Validation {
            message: "Could not validate the data.".into(),
            body: value,
        }
    }

    /// Several field errors at once: `(field, rule, message)`.
    pub fn fields(errors: &[(&str, &str, &str)]) -> Self {
        let mut body: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
        for (f, r, m) in errors {
            body.entry(f.to_string())
                .or_default()
                .insert(r.to_string(), m.to_string());
        }
        VaultError::Validation {
            message: "Could not validate the data.".into(),
            body: serde_json::to_value(body).unwrap_or_default(),
        }
    }

    pub fn not_found(what: &str) -> Self {
        VaultError::NotFound(format!("The {what} does not exist."))
    }
}

impl From<crate::Error> for VaultError {
    fn from(e: crate::Error) -> Self {
        match e {
            crate::Error::Validation { message, field } => match field {
                Some(f) => VaultError::field(f, "invalid", &message),
                None => VaultError::BadRequest(message),
            },
            crate::Error::NotFound(m) => VaultError::NotFound(m),
            crate::Error::Forbidden { message, .. } => VaultError::Forbidden(message),
            crate::Error::Conflict { message, .. } => VaultError::BadRequest(message),
            crate::Error::AuthFailed => VaultError::Unauthenticated,
            crate::Error::TooLarge(m) => VaultError::BadRequest(m),
            crate::Error::OverQuota => VaultError::BadRequest("Over quota".into()),
            crate::Error::Internal(m) => VaultError::Internal(m),
        }
    }
}

impl From<sealpost_store::Error> for VaultError {
    fn from(e: sealpost_store::Error) -> Self {
        crate::Error::from(e).into()
    }
}

pub type VaultResult<T> = std::result::Result<T, VaultError>;

/// A time as passbolt writes it: `2020-08-04T13:40:21+00:00`.
pub fn iso(ms: i64) -> String {
    IsoTime::new(ms).as_str().to_string()
}

/// [`iso`] without an allocation (listings write thousands of them): the 25 bytes on the
/// stack. Times outside years 0-9999 (or chrono's range) are written as the epoch.
#[derive(Clone, Copy)]
pub struct IsoTime([u8; 25]);

impl IsoTime {
    pub fn new(ms: i64) -> Self {
        use chrono::{Datelike, Timelike};
        let t = chrono::DateTime::from_timestamp_millis(ms)
            .filter(|t| (0..=9999).contains(&t.year()))
            .unwrap_or_default();
        let mut b = *b"0000-00-00T00:00:00+00:00";
        // In range by the filter above and by chrono's types (month 1-12, hour 0-23, ...).
        let year = t.year().unsigned_abs();
        let put = |b: &mut [u8; 25], at: usize, width: usize, mut v: u32| {
            for i in (at..at + width).rev() {
                b[i] = b'0' + u8::try_from(v % 10).unwrap_or(0);
                v /= 10;
            }
        };
        put(&mut b, 0, 4, year);
        put(&mut b, 5, 2, t.month());
        put(&mut b, 8, 2, t.day());
        put(&mut b, 11, 2, t.hour());
        put(&mut b, 14, 2, t.minute());
        put(&mut b, 17, 2, t.second());
        IsoTime(b)
    }

    pub fn as_str(&self) -> &str {
        // Only ASCII digits and punctuation are ever written.
        std::str::from_utf8(&self.0).unwrap_or("1970-01-01T00:00:00+00:00")
    }
}

impl serde::Serialize for IsoTime {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// Longest accepted name, username, URI; description; secret; comment.
pub const MAX_NAME: usize = 255;
pub const MAX_URI: usize = 1024;
pub const MAX_DESCRIPTION: usize = 10_000;
pub const MAX_SECRET: usize = 64 * 1024;
pub const MAX_COMMENT: usize = 255;
/// Most entries in one share, group change or list of secrets.
pub const MAX_LIST: usize = 1000;

/// SHA-256, hex: how tokens and sessions are stored.
fn token_hash(token: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(token.as_bytes()))
}

/// Runs CPU-bound OpenPGP work off the runtime.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> VaultResult<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| VaultError::Internal(format!("OpenPGP task failed: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_errors_nest() {
        let VaultError::Validation { body, .. } =
            VaultError::field("permissions.0.type", "inList", "bad")
        else {
            panic!("not a validation error")
        };
        assert_eq!(
            body,
            serde_json::json!({"permissions": {"0": {"type": {"inList": "bad"}}}})
        );
        let VaultError::Validation { body, .. } =
            VaultError::field("name", "_required", "A name is required.")
        else {
            panic!("not a validation error")
        };
        assert_eq!(
            body,
            serde_json::json!({"name": {"_required": "A name is required."}})
        );
    }

    #[test]
    fn iso_times() {
        assert_eq!(iso(0), "1970-01-01T00:00:00+00:00");
        assert_eq!(iso(1_596_548_421_000), "2020-08-04T13:40:21+00:00");
        assert_eq!(iso(1_596_548_421_999), "2020-08-04T13:40:21+00:00");
        assert_eq!(iso(-1_000), "1969-12-31T23:59:59+00:00");
        assert_eq!(iso(253_402_300_799_000), "9999-12-31T23:59:59+00:00");
        assert_eq!(iso(253_402_300_800_000), "1970-01-01T00:00:00+00:00");
        assert_eq!(iso(i64::MAX), "1970-01-01T00:00:00+00:00");
        for ms in [
            1_000_000_000_000_i64,
            1_709_251_199_000,
            1_709_251_200_000,
            4_102_444_800_000,
        ] {
            let want = chrono::DateTime::from_timestamp_millis(ms)
                .unwrap()
                .format("%Y-%m-%dT%H:%M:%S+00:00")
                .to_string();
            assert_eq!(iso(ms), want);
        }
    }
}
