//! Users, authentication and addresses.

use crate::mailbox_names::default_mailboxes;
use crate::service::*;
use crate::{Core, CoreConfig, Error, Page, PageRequest, Result, password, validate};
use sealpost_store::model::*;
use sealpost_store::{NewUserRow, Store, UserFilter, UserPatch};
use std::sync::Arc;

fn user_not_found() -> Error {
    Error::not_found("This user does not exist")
}

fn check_nonneg(v: Option<i64>, field: &'static str) -> Result<()> {
    match v {
        Some(n) if n < 0 => Err(Error::validation(
            format!("{field} must be zero or positive"),
            field,
        )),
        _ => Ok(()),
    }
}

fn check_password(p: &str) -> Result<()> {
    if p.is_empty() || p.len() > password::MAX_PASSWORD_LEN {
        return Err(Error::validation(
            "Password must be 1 to 1024 bytes",
            "password",
        ));
    }
    Ok(())
}

fn check_language(l: &Option<String>) -> Result<()> {
    match l {
        Some(l)
            if l.len() > 20
                || !l
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') =>
        {
            Err(Error::validation("Invalid language code", "language"))
        }
        _ => Ok(()),
    }
}

const MAX_PUBKEY: usize = 64 * 1024;

impl Core {
    /// Opens (and migrates) the store described by `config` and starts the background tasks.
    pub async fn open(config: CoreConfig) -> Result<Core> {
        let mut store = Store::open(
            &config.data_dir,
            config.database_url.as_deref(),
            config.blob_dir.as_deref(),
        )
        .await
        .map_err(|e| Error::Internal(format!("cannot open storage: {e}")))?;
        store.set_archive_for(i64::try_from(config.archive_for.as_millis()).unwrap_or(i64::MAX));
        let config_outbound = config.outbound.clone();
        let cache_bytes = config.message_cache_bytes;
        let changes = crate::notify::Notifier::default();
        let writer = crate::writer::Writer::start(store.clone(), changes.clone());
        let gc = Arc::new(tokio::sync::Notify::new());
        let authlog = crate::authlog::AuthLog::start(store.clone());
        let auth_throttle = Arc::new(crate::throttle::AuthThrottle::new(&config.auth_throttle));
        let dns = crate::dns::Dns::new(&config.dns)?;
        let core = Core {
            authlog,
            auth_throttle,
            totp_checks: Default::default(),
            store,
            config: Arc::new(config),
            writer,
            gc,
            changes,
            views: crate::view_cache::ViewCache::new(crate::view_cache::MAX_CACHED_ROWS),
            search_cache: crate::message_cache::MessageCache::new(cache_bytes / 3 * 2),
            header_cache: crate::message_cache::MessageCache::new(cache_bytes / 3),
            uploads: Arc::new(tokio::sync::Notify::new()),
            outbound: crate::outbound::Outbound::new(config_outbound),
            guard: Default::default(),
            dns,
            dkim: Default::default(),
            vault: Default::default(),
        };
        core.spawn_blob_collector();
        // The vault's server key is made at first start (mode 0600).
        core.vault_server_key()
            .await
            .map_err(|e| Error::Internal(e.to_string()))?;
        if core.config.guard.recovery {
            // Made at first start (mode 0600), not when the first recovery copy is due.
            core.guard_master_key().await?;
        }
        Ok(core)
    }

    pub fn config(&self) -> &CoreConfig {
        &self.config
    }

    /// The server's DNS resolver (`[dns] servers`).
    pub fn dns(&self) -> &crate::dns::Dns {
        &self.dns
    }

    /// "sqlite" or "postgres".
    pub fn engine_name(&self) -> &'static str {
        self.store.engine_name()
    }

    /// Whether every change to the mailboxes is made by this process, and so announced by
    /// its change notifications ([`Core::subscribe_changes`]): SQLite, whose database only
    /// this server writes to mailboxes. On PostgreSQL other nodes may share the database,
    /// and only the journal tells what they did.
    pub fn changes_all_local(&self) -> bool {
        self.store.engine_name() == "sqlite"
    }

    fn spawn_blob_collector(&self) {
        // Only the store and the wake-up: holding a whole `Core` would keep the writer open.
        let (store, gc) = (self.store.clone(), self.gc.clone());
        tokio::spawn(async move {
            loop {
                let _ =
                    tokio::time::timeout(std::time::Duration::from_secs(60), gc.notified()).await;
                match crate::deleted_users::purge_expired(&store).await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(users = n, "deleted users removed for good"),
                    Err(e) => tracing::warn!(error = %e, "removing deleted users failed"),
                }
                if let Err(e) = collect_unreferenced(&store).await {
                    tracing::warn!(error = %e, "blob collection failed");
                }
            }
        });
    }

    /// Removes unreferenced blobs now (also runs in the background every minute).
    pub async fn collect_garbage(&self) -> Result<usize> {
        Ok(collect_unreferenced(&self.store).await?)
    }

    pub async fn list_users(
        &self,
        query: &UserQuery,
        page: &PageRequest,
    ) -> Result<Page<UserRecord>> {
        let filter = UserFilter {
            query: query
                .query
                .as_deref()
                .map(str::trim)
                .filter(|q| !q.is_empty())
                .map(str::to_lowercase),
            any_tags: validate::tags(&query.tags)?,
            all_tags: validate::tags(&query.required_tags)?,
        };
        if let Some(q) = &filter.query {
            validate::text(q, "query")?;
        }
        if filter.query.as_ref().is_some_and(|q| q.len() > 256) {
            return Err(Error::validation("query is too long", "query"));
        }
        let (total, rows) = self
            .store
            .list_users(&filter, &page.seek::<String>()?, page.fetch_limit())
            .await?;
        Ok(page.finish(total, rows, |u| u.id.to_string()))
    }

    pub async fn get_user(&self, id: &ObjectId) -> Result<UserRecord> {
        self.store.get_user(id).await?.ok_or_else(user_not_found)
    }

    pub async fn create_user(&self, new: NewUser) -> Result<ObjectId> {
        let username = validate::username(&new.username)?;
        check_nonneg(new.quota, "quota")?;
        check_nonneg(new.retention, "retention")?;
        check_nonneg(new.recipients, "recipients")?;
        check_nonneg(new.forwards, "forwards")?;
        check_language(&new.language)?;
        let tags = validate::tags(&new.tags)?;
        let profile = crate::user_profile::check_profile(new.profile.clone())?;
        let disabled_scopes = parse_disabled_scopes(&new.disabled_scopes)?;
        let from_whitelist = crate::submission::parse_from_whitelist(&new.from_whitelist)?;
        if let Some(n) = &new.name {
            validate::text(n, "name")?;
        }
        if let Some(k) = &new.pub_key {
            validate::text(k, "pubKey")?;
        }
        if new.name.as_ref().is_some_and(|n| n.chars().count() > 256) {
            return Err(Error::validation("name is too long", "name"));
        }
        if new.pub_key.as_ref().is_some_and(|k| k.len() > MAX_PUBKEY) {
            return Err(Error::validation("pubKey is too large", "pubKey"));
        }
        if let Some(k) = &new.pub_key {
            self.check_pub_key(k).await?;
        }
        let password_hash = match (&new.password, &new.hashed_password) {
            (Some(_), Some(_)) => {
                return Err(Error::validation(
                    "Use either password or hashedPassword",
                    "password",
                ));
            }
            (Some(p), None) => {
                check_password(p)?;
                Some(password::hash(p).await?)
            }
            (None, Some(h)) => {
                if password::scheme(h).is_none() {
                    return Err(Error::validation(
                        "Unsupported password hash (accepted: Argon2, bcrypt, PBKDF2 PHC, crypt DES, MD5 $1$, SHA-256 $5$, SHA-512 $6$)",
                        "hashedPassword",
                    ));
                }
                if !password::cost_within_limits(h) {
                    return Err(Error::validation(
                        "Password hash cost too high (at most bcrypt cost 14, 1,000,000 SHA-crypt rounds or PBKDF2 iterations, Argon2 m=65536 t=10 p=16)",
                        "hashedPassword",
                    ));
                }
                Some(h.trim().to_string())
            }
            (None, None) => None,
        };
        let address = if new.empty_address {
            None
        } else {
            let given = match &new.address {
                Some(a) => a.clone(),
                None if username.contains('@') => username.clone(),
                None => format!("{}@{}", username.to_lowercase(), self.config.domain),
            };
            Some(validate::address(&given, "address")?)
        };
        let id = ObjectId::new();
        let user = UserRecord {
            id: id.clone(),
            username: username.clone(),
            name: new.name.clone(),
            address: address.as_ref().map(|(a, _)| a.clone()),
            language: new.language.clone(),
            quota_allowed: new
                .quota
                .filter(|q| *q > 0)
                .unwrap_or(self.config.default_quota),
            storage_used: 0,
            retention: new.retention.unwrap_or(0),
            recipients: new
                .recipients
                .filter(|n| *n > 0)
                .unwrap_or(self.config.default_recipients),
            forwards: new
                .forwards
                .filter(|n| *n > 0)
                .unwrap_or(self.config.default_forwards),
            tags,
            encrypt_messages: new.encrypt_messages,
            encrypt_forwarded: new.encrypt_forwarded,
            pub_key: new.pub_key.clone().unwrap_or_default(),
            has_password: password_hash.is_some(),
            activated: true,
            disabled: false,
            suspended: false,
            require_password_change: new.require_password_change,
            created: sealpost_store::now_ms(),
            disabled_scopes,
            from_whitelist,
            profile,
        };
        let row = NewUserRow {
            user,
            password_hash,
            address: address.map(|(a, n)| (ObjectId::new(), a, n)),
            mailboxes: named_mailboxes(
                default_mailboxes(new.language.as_deref()),
                &new.mailbox_names,
            )?,
        };
        self.store.insert_user(&row).await.map_err(|e| match e {
            sealpost_store::Error::Conflict(m) if m.contains("username") => Error::Conflict {
                message: m,
                code: "UserExistsError",
            },
            sealpost_store::Error::Conflict(m) if m.contains("address") => Error::Conflict {
                message: m,
                code: "AddressExistsError",
            },
            other => other.into(),
        })?;
        Ok(id)
    }

    pub async fn update_user(&self, id: &ObjectId, update: UserUpdate) -> Result<()> {
        check_nonneg(update.quota, "quota")?;
        check_nonneg(update.retention, "retention")?;
        check_nonneg(update.recipients, "recipients")?;
        check_nonneg(update.forwards, "forwards")?;
        check_language(&update.language)?;
        if update
            .pub_key
            .as_ref()
            .is_some_and(|k| k.len() > MAX_PUBKEY)
        {
            return Err(Error::validation("pubKey is too large", "pubKey"));
        }
        if let Some(Some(name)) = &update.name {
            validate::text(name, "name")?;
        }
        if let Some(k) = &update.pub_key {
            validate::text(k, "pubKey")?;
        }
        if let Some(k) = update.pub_key.as_ref().filter(|k| !k.trim().is_empty()) {
            if k.len() > MAX_PUBKEY {
                return Err(Error::validation("pubKey is too large", "pubKey"));
            }
            self.check_pub_key(k).await?;
        }
        if let Some(Some(name)) = &update.name
            && name.chars().count() > 256
        {
            return Err(Error::validation("name is too long", "name"));
        }
        let tags = update.tags.as_deref().map(validate::tags).transpose()?;
        let disabled_scopes = update
            .disabled_scopes
            .as_deref()
            .map(parse_disabled_scopes)
            .transpose()?;
        let from_whitelist = update
            .from_whitelist
            .as_deref()
            .map(crate::submission::parse_from_whitelist)
            .transpose()?;
        let stored_hash = self
            .store
            .password_hash(id)
            .await?
            .ok_or_else(user_not_found)?;
        let profile = if update.profile.is_empty() {
            None
        } else {
            let current = self.get_user(id).await?.profile;
            Some(crate::user_profile::check_profile(
                update.profile.clone().apply(current),
            )?)
        };
        if let Some(existing) = &update.existing_password
            && !password::verify(existing, stored_hash.as_deref()).await
        {
            return Err(Error::AuthFailed);
        }
        let password_hash = match &update.password {
            Some(p) => {
                check_password(p)?;
                Some(password::hash(p).await?)
            }
            None => None,
        };
        let patch = UserPatch {
            name: update.name,
            require_password_change: update
                .require_password_change
                .or(password_hash.as_ref().map(|_| false)),
            password_hash,
            quota_allowed: update.quota,
            retention: update.retention,
            language: update.language,
            recipients: update.recipients,
            forwards: update.forwards,
            tags,
            pub_key: update.pub_key,
            encrypt_messages: update.encrypt_messages,
            encrypt_forwarded: update.encrypt_forwarded,
            disabled: update.disabled,
            suspended: update.suspended,
            disabled_scopes,
            from_whitelist,
            profile,
        };
        let password_changed = patch.password_hash.is_some();
        let locked = patch.disabled == Some(true) || patch.suspended == Some(true);
        if !self.store.update_user(id, &patch).await? {
            return Err(user_not_found());
        }
        if password_changed {
            self.record_auth_event(
                id,
                "password change",
                true,
                &update.meta,
                Default::default(),
            );
        }
        if locked {
            self.changes.log_out(id, "Account disabled");
        }
        Ok(())
    }

    pub async fn delete_user(&self, id: &ObjectId) -> Result<()> {
        if !self.store.delete_user(id).await? {
            return Err(user_not_found());
        }
        self.changes.log_out(id, "Account was deleted");
        self.gc.notify_one();
        Ok(())
    }

    /// Finds a user by username or by any of its addresses.
    pub async fn resolve_user(&self, username_or_address: &str) -> Result<Option<ObjectId>> {
        if username_or_address.contains('\0') || username_or_address.len() > 256 {
            return Ok(None);
        }
        let found = self
            .store
            .find_login(
                &username_or_address.trim().to_lowercase(),
                &self.login_address(username_or_address).await?,
            )
            .await?;
        Ok(found.map(|(id, _)| id))
    }

    pub async fn reset_quota(&self, user: &ObjectId) -> Result<i64> {
        self.store
            .recalculate_quota(user)
            .await?
            .ok_or_else(user_not_found)
    }

    // ---- addresses ----

    pub async fn search_addresses(
        &self,
        query: Option<&str>,
        page: &PageRequest,
    ) -> Result<Page<AddressRecord>> {
        let like = match query.map(str::trim).filter(|q| !q.is_empty()) {
            Some(q) if q.len() > 256 => {
                return Err(Error::validation("query is too long", "query"));
            }
            Some(q) => Some(format!(
                "%{}%",
                sealpost_store::like_escape(&validate::normalize_address(q))
            )),
            None => None,
        };
        let (total, rows) = self
            .store
            .search_addresses(like.as_deref(), &page.seek::<String>()?, page.fetch_limit())
            .await?;
        Ok(page.finish(total, rows, |a| a.id.to_string()))
    }

    pub async fn list_addresses(&self, user: &ObjectId) -> Result<Vec<AddressRecord>> {
        self.get_user(user).await?;
        Ok(self.store.list_addresses(user).await?)
    }

    pub async fn get_address(&self, user: &ObjectId, id: &ObjectId) -> Result<AddressRecord> {
        self.store
            .get_address(user, id)
            .await?
            .ok_or_else(|| Error::not_found("Invalid or unknown address"))
    }

    pub async fn create_address(
        &self,
        user: &ObjectId,
        address: &str,
        main: bool,
    ) -> Result<ObjectId> {
        let (address, norm) = validate::address(address, "address")?;
        let id = ObjectId::new();
        let ok = self
            .store
            .insert_address(user, &id, &address, &norm, main)
            .await
            .map_err(|e| match e {
                sealpost_store::Error::Conflict(m) => Error::Conflict {
                    message: m,
                    code: "AddressExistsError",
                },
                other => other.into(),
            })?;
        if ok { Ok(id) } else { Err(user_not_found()) }
    }

    pub async fn set_main_address(&self, user: &ObjectId, id: &ObjectId) -> Result<()> {
        if self.store.set_main_address(user, id).await? {
            Ok(())
        } else {
            Err(Error::not_found("Invalid or unknown address"))
        }
    }

    pub async fn delete_address(&self, user: &ObjectId, id: &ObjectId) -> Result<()> {
        let addr = self.get_address(user, id).await?;
        if addr.main {
            return Err(Error::Forbidden {
                message: "Trying to delete main address. Set a new main address first".into(),
                code: "MainAddressError",
            });
        }
        if self.store.delete_address(user, id).await? {
            Ok(())
        } else {
            Err(Error::not_found("Invalid or unknown address"))
        }
    }
}

/// The default mailboxes with the special ones renamed as `names` asks (WildDuck's
/// `mailboxes` at creation). A name is one level: no `/`, not INBOX, 1 to 512 characters.
fn named_mailboxes(
    mut boxes: Vec<(String, Option<String>)>,
    names: &SpecialMailboxNames,
) -> Result<Vec<(String, Option<String>)>> {
    for (special, name, field) in [
        ("\\Sent", &names.sent, "mailboxes.sent"),
        ("\\Trash", &names.trash, "mailboxes.trash"),
        ("\\Junk", &names.junk, "mailboxes.junk"),
        ("\\Drafts", &names.drafts, "mailboxes.drafts"),
    ] {
        let Some(name) = name.as_deref().map(str::trim).filter(|n| !n.is_empty()) else {
            continue;
        };
        validate::text(name, field)?;
        if name.contains('/') || name.eq_ignore_ascii_case("INBOX") || name.chars().count() > 512 {
            return Err(Error::validation(
                format!("Invalid mailbox name: {name}"),
                field,
            ));
        }
        if boxes
            .iter()
            .any(|(p, s)| p == name && s.as_deref() != Some(special))
        {
            return Err(Error::validation(
                format!("Duplicate mailbox name: {name}"),
                field,
            ));
        }
        for (path, s) in boxes.iter_mut() {
            if s.as_deref() == Some(special) {
                *path = name.to_string();
            }
        }
    }
    Ok(boxes)
}

/// Removes every unreferenced blob, in batches of 500.
async fn collect_unreferenced(store: &Store) -> sealpost_store::Result<usize> {
    let mut total = 0;
    loop {
        let n = store.collect_blobs(500).await?;
        total += n;
        if n < 500 {
            return Ok(total);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn special_mailbox_names() {
        let names = SpecialMailboxNames {
            sent: Some("Outbox".into()),
            ..Default::default()
        };
        let boxes = named_mailboxes(default_mailboxes(None), &names).unwrap();
        assert!(boxes.contains(&("Outbox".to_string(), Some("\\Sent".to_string()))));
        assert!(boxes.contains(&("Trash".to_string(), Some("\\Trash".to_string()))));
        for bad in ["a/b", "INBOX", "Trash"] {
            let names = SpecialMailboxNames {
                sent: Some(bad.into()),
                ..Default::default()
            };
            assert!(
                named_mailboxes(default_mailboxes(None), &names).is_err(),
                "{bad}"
            );
        }
    }
}
