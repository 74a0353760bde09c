//! Vault users: every one is a mail user. Invitations (the CLI's `vault invite` and an
//! administrator's `POST /users.json`, delivered into the new user's INBOX), the setup that
//! registers the user's public key, listings and deletion.

use super::{
    GpgkeyRow, VaultError, VaultId, VaultResult, VaultSession, VaultUserRow, blocking, rules,
    token_hash,
};
use crate::Core;
use sealpost_pgp as pgp;
use sealpost_store::vault::{Aco, Aro};
use std::collections::{BTreeMap, HashSet};

/// A user with their key, as listings show them.
#[derive(Debug, Clone)]
pub struct VaultUserView {
    pub user: VaultUserRow,
    pub gpgkey: Option<GpgkeyRow>,
}

/// A new invitation: the user and the setup URL (shown once).
#[derive(Debug, Clone)]
pub struct Invitation {
    pub user: VaultUserRow,
    pub token: VaultId,
    pub url: String,
}

/// Largest armored public key accepted at setup.
const MAX_KEY: usize = 256 * 1024;

fn key_type(algorithm: &str) -> &'static str {
    let a = algorithm.to_ascii_uppercase();
    if a.starts_with("RSA") {
        "RSA"
    } else if a.starts_with("EDDSA") || a.starts_with("ED25519") || a.starts_with("ED448") {
        "EDDSA"
    } else if a.starts_with("ECDSA") {
        "ECDSA"
    } else if a.starts_with("ECDH") || a.starts_with("X25519") || a.starts_with("X448") {
        "ECDH"
    } else if a.starts_with("DSA") {
        "DSA"
    } else {
        "ELG"
    }
}

/// Checks an armored public key for `address` and makes its row: a valid public key, with
/// an encryption subkey, with a user id that holds the address.
fn key_row(user: &VaultId, address: &str, armored: &str, now: i64) -> VaultResult<GpgkeyRow> {
    let bad = |m: &str| VaultError::field("gpgkey.armored_key", "isParsableArmoredPublicKey", m);
    if armored.len() > MAX_KEY || !armored.contains("-----BEGIN PGP PUBLIC KEY BLOCK-----") {
        return Err(bad("The key should be a valid armored OpenPGP public key."));
    }
    let cert =
        pgp::parse_cert(armored.as_bytes()).map_err(|_| bad("The key could not be parsed."))?;
    let cert = cert.public();
    cert.encryption_check()
        .map_err(|e| bad(&format!("The key cannot be used: {e}.")))?;
    let info = cert.info();
    let wanted = address.to_ascii_lowercase();
    let has_uid = info.user_ids.iter().any(|u| {
        let u = u.to_ascii_lowercase();
        u == wanted || u.contains(&format!("<{wanted}>"))
    });
    if !has_uid {
        return Err(VaultError::field(
            "gpgkey.armored_key",
            "hasUserEmail",
            "The key should have a user id with the user's email address.",
        ));
    }
    let fingerprint = info.fingerprint.to_ascii_uppercase();
    Ok(GpgkeyRow {
        id: VaultId::new(),
        user: user.clone(),
        armored_key: cert.armored_public().map_err(|e| bad(&e.to_string()))?,
        key_id: fingerprint[fingerprint.len().saturating_sub(8)..].to_string(),
        fingerprint,
        bits: info.bits.and_then(|b| i64::try_from(b).ok()).unwrap_or(0),
        key_type: key_type(&info.algorithm).to_string(),
        uid: info.user_ids.first().cloned().unwrap_or_default(),
        key_created: i64::try_from(info.created)
            .unwrap_or(0)
            .saturating_mul(1000),
        expires: info
            .expires
            .and_then(|e| i64::try_from(e).ok())
            .map(|e| e.saturating_mul(1000)),
        created: now,
        modified: now,
    })
}

impl Core {
    /// Invites the mail user with `address` to the vault (a new vault user, or a new setup
    /// link for one who has not finished setting up).
    pub async fn vault_invite(
        &self,
        address: &str,
        admin: bool,
        names: Option<(String, String)>,
        by: Option<&VaultId>,
    ) -> VaultResult<Invitation> {
        let not_mail = || {
            VaultError::field(
                "username",
                "isMailUser",
                "The username should be the address of a mail user.",
            )
        };
        if address.trim().is_empty() || address.len() > 254 || !address.contains('@') {
            return Err(not_mail());
        }
        let mail_user = self.resolve_user(address).await?.ok_or_else(not_mail)?;
        let record = self.get_user(&mail_user).await?;
        let now = sealpost_store::now_ms();
        let user = match self.store.vault_user_by_mail_user(&mail_user).await? {
            Some(u) if u.active => {
                return Err(VaultError::field(
                    "username",
                    "uniqueUsername",
                    "The username is already in use.",
                ));
            }
            Some(u) => u,
            None => {
                let (first, last) = names.unwrap_or_else(|| {
                    let name = record.name.clone().unwrap_or_default();
                    let mut parts = name.splitn(2, ' ');
                    let first = parts.next().unwrap_or_default().to_string();
                    let last = parts.next().unwrap_or_default().to_string();
                    if first.is_empty() {
                        (record.username.clone(), String::new())
                    } else {
                        (first, last)
                    }
                });
                let u = VaultUserRow {
                    id: VaultId::new(),
                    mail_user: mail_user.clone(),
                    username: crate::validate::normalize_address(address),
                    role: if admin { "admin" } else { "user" }.into(),
                    first_name: first.chars().take(super::MAX_NAME).collect(),
                    last_name: last.chars().take(super::MAX_NAME).collect(),
                    active: false,
                    created: now,
                    modified: now,
                    created_by: by.cloned(),
                    last_logged_in: None,
                };
                self.store.insert_vault_user(&u).await?;
                u
            }
        };
        let token = VaultId::new();
        let ttl = i64::try_from(self.config.vault.setup_ttl.as_millis()).unwrap_or(i64::MAX);
        self.store
            .insert_vault_token(
                &token_hash(token.as_str()),
                &user.id,
                "register",
                now,
                now.saturating_add(ttl),
            )
            .await?;
        let url = format!(
            "{}/setup/start/{}/{}",
            self.config.vault.base_url.trim_end_matches('/'),
            user.id,
            token
        );
        Ok(Invitation { user, token, url })
    }

    /// An administrator's `POST /users.json`: the invitation, delivered into the new user's
    /// own INBOX.
    pub async fn vault_add_user(
        &self,
        by: &VaultSession,
        username: &str,
        first_name: &str,
        last_name: &str,
        admin: bool,
    ) -> VaultResult<Invitation> {
        if by.user.role != "admin" {
            return Err(VaultError::Forbidden(
                "You are not authorized to access that location.".into(),
            ));
        }
        let inv = self
            .vault_invite(
                username,
                admin,
                Some((first_name.into(), last_name.into())),
                Some(&by.user.id),
            )
            .await?;
        let text = format!(
            "{} {} invited you to the password vault.\n\nOpen this link to set up your account:\n{}\n",
            by.user.first_name, by.user.last_name, inv.url
        );
        let from = format!("postmaster@{}", self.config.domain);
        let raw = crate::outbound::compose::compose(&crate::outbound::compose::Composed {
            from_name: "Vault",
            from_address: &from,
            to_address: &inv.user.username,
            subject: "Your invitation to the password vault",
            extra_headers: vec![("Auto-Submitted", "auto-generated".into())],
            text: &text,
            domain: &self.config.domain,
            ..Default::default()
        });
        self.vault_deliver(&inv.user.username, &raw).await?;
        Ok(inv)
    }

    /// Delivers a message of ours into the INBOX of the user with address `to` (a local
    /// delivery through core: no relay needed).
    async fn vault_deliver(&self, to: &str, raw: &[u8]) -> VaultResult<()> {
        use crate::delivery::{Envelope, Protocol};
        let recipient = self
            .resolve_recipient(to)
            .await?
            .ok_or_else(|| VaultError::Internal(format!("no mailbox for {to}")))?;
        let envelope = Envelope {
            mail_from: String::new(),
            helo: "localhost".into(),
            peer: std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST),
            protocol: Protocol::Local,
            id: crate::random::hex(8),
            hostname: self.config.domain.clone(),
            tls: None,
            authenticated: None,
        };
        for r in self.deliver(&envelope, &[recipient], raw).await {
            r?;
        }
        Ok(())
    }

    /// `GET /setup/start/{user}/{token}.json`: the user a valid setup link is for.
    pub async fn vault_setup_start(
        &self,
        user: &VaultId,
        token: &VaultId,
    ) -> VaultResult<VaultUserRow> {
        let now = sealpost_store::now_ms();
        match self
            .store
            .vault_token(&token_hash(token.as_str()), "register", now)
            .await?
        {
            Some(owner) if &owner == user => {}
            _ => {
                return Err(VaultError::BadRequest(
                    "The authentication token is not valid or has expired.".into(),
                ));
            }
        }
        self.store
            .vault_user(user)
            .await?
            .filter(|u| !u.active)
            .ok_or_else(|| {
                VaultError::BadRequest("The user does not exist or is already active.".into())
            })
    }

    /// `POST /setup/complete/{user}.json`: registers the user's public key (single-use token).
    pub async fn vault_setup_complete(
        &self,
        user: &VaultId,
        token: &str,
        armored_key: &str,
    ) -> VaultResult<VaultUserRow> {
        let Some(token) = VaultId::parse(token.trim()) else {
            return Err(VaultError::field(
                "authentication_token.token",
                "uuid",
                "The token should be a valid UUID.",
            ));
        };
        let row = self
            .store
            .vault_user(user)
            .await?
            .filter(|u| !u.active)
            .ok_or_else(|| {
                VaultError::BadRequest("The user does not exist or is already active.".into())
            })?;
        let now = sealpost_store::now_ms();
        // Check the key before using the token, so that a mistake can be corrected.
        let (id, address, armored) = (
            row.id.clone(),
            row.username.clone(),
            armored_key.to_string(),
        );
        let key = blocking(move || key_row(&id, &address, &armored, now)).await??;
        if self
            .store
            .vault_gpgkey_by_fingerprint(&key.fingerprint)
            .await?
            .is_some()
        {
            return Err(VaultError::field(
                "gpgkey.fingerprint",
                "uniqueFingerprint",
                "The key is already in use.",
            ));
        }
        match self
            .store
            .take_vault_token(&token_hash(token.as_str()), "register", now)
            .await?
        {
            Some(owner) if owner == row.id => {}
            _ => {
                return Err(VaultError::BadRequest(
                    "The authentication token is not valid or has expired.".into(),
                ));
            }
        }
        self.store.activate_vault_user(&key, now).await?;
        Ok(VaultUserRow {
            active: true,
            ..row
        })
    }

    /// `POST /users/recover.json`: a recovery link for an active user, delivered into their
    /// INBOX. Answers nothing about whether the user exists.
    pub async fn vault_start_recovery(&self, username: &str) -> VaultResult<()> {
        let Some(mail_user) = self.resolve_user(username).await? else {
            return Ok(());
        };
        let Some(user) = self
            .store
            .vault_user_by_mail_user(&mail_user)
            .await?
            .filter(|u| u.active)
        else {
            return Ok(());
        };
        let token = VaultId::new();
        let now = sealpost_store::now_ms();
        let ttl = i64::try_from(self.config.vault.setup_ttl.as_millis()).unwrap_or(i64::MAX);
        self.store
            .insert_vault_token(
                &token_hash(token.as_str()),
                &user.id,
                "recover",
                now,
                now.saturating_add(ttl),
            )
            .await?;
        let url = format!(
            "{}/setup/recover/start/{}/{}",
            self.config.vault.base_url.trim_end_matches('/'),
            user.id,
            token
        );
        let text = format!(
            "Someone asked to recover your password vault account.\n\nOpen this link to recover it with your private key:\n{url}\n\nIf it was not you, ignore this message.\n"
        );
        let from = format!("postmaster@{}", self.config.domain);
        let raw = crate::outbound::compose::compose(&crate::outbound::compose::Composed {
            from_name: "Vault",
            from_address: &from,
            to_address: &user.username,
            subject: "Recover your password vault account",
            extra_headers: vec![("Auto-Submitted", "auto-generated".into())],
            text: &text,
            domain: &self.config.domain,
            ..Default::default()
        });
        self.vault_deliver(&user.username, &raw).await
    }

    /// `GET /setup/recover/start/{user}/{token}.json`: the user a valid recovery link is for.
    pub async fn vault_recover_start(
        &self,
        user: &VaultId,
        token: &VaultId,
    ) -> VaultResult<VaultUserRow> {
        let now = sealpost_store::now_ms();
        match self
            .store
            .vault_token(&token_hash(token.as_str()), "recover", now)
            .await?
        {
            Some(owner) if &owner == user => {}
            _ => {
                return Err(VaultError::BadRequest(
                    "The authentication token is not valid or has expired.".into(),
                ));
            }
        }
        self.store
            .vault_user(user)
            .await?
            .filter(|u| u.active)
            .ok_or_else(|| {
                VaultError::BadRequest("The user does not exist or is not active.".into())
            })
    }

    /// `POST /setup/recover/complete/{user}.json`: the user proves they still have their key
    /// (the armored public key must be the registered one); the token is used up.
    /// `POST /setup/recover/abort/{user}.json` (`armored_key` = `None`) only uses it up.
    pub async fn vault_recover_complete(
        &self,
        user: &VaultId,
        token: &str,
        armored_key: Option<&str>,
    ) -> VaultResult<VaultUserRow> {
        let token = VaultId::parse(token.trim()).ok_or_else(|| {
            VaultError::field(
                "authentication_token.token",
                "uuid",
                "The token should be a valid UUID.",
            )
        })?;
        let row = self
            .store
            .vault_user(user)
            .await?
            .filter(|u| u.active)
            .ok_or_else(|| {
                VaultError::BadRequest("The user does not exist or is not active.".into())
            })?;
        let now = sealpost_store::now_ms();
        if let Some(armored) = armored_key {
            let (id, address, armored) =
                (row.id.clone(), row.username.clone(), armored.to_string());
            let given = blocking(move || key_row(&id, &address, &armored, now)).await??;
            let current = self.store.vault_gpgkey_of(&row.id).await?;
            if current.is_none_or(|k| k.fingerprint != given.fingerprint) {
                return Err(VaultError::field(
                    "gpgkey.fingerprint",
                    "isMatchingKey",
                    "The key should be the one registered for this user.",
                ));
            }
        }
        match self
            .store
            .take_vault_token(&token_hash(token.as_str()), "recover", now)
            .await?
        {
            Some(owner) if owner == row.id => Ok(row),
            _ => Err(VaultError::BadRequest(
                "The authentication token is not valid or has expired.".into(),
            )),
        }
    }

    /// Every vault user with their key (`GET /users.json`); `has_access` keeps those with
    /// access to one resource (which the caller must be able to read).
    pub async fn vault_list_users(
        &self,
        by: &VaultSession,
        has_access: Option<&VaultId>,
    ) -> VaultResult<Vec<VaultUserView>> {
        let keep: Option<HashSet<VaultId>> = match has_access {
            Some(r) => {
                let perms = self
                    .vault_checked(by, Aco::Resource, r, rules::READ)
                    .await?;
                Some(
                    self.vault_users_with_access(&perms)
                        .await?
                        .into_iter()
                        .collect(),
                )
            }
            None => None,
        };
        let keys: BTreeMap<VaultId, GpgkeyRow> = self
            .store
            .list_vault_gpgkeys()
            .await?
            .into_iter()
            .map(|k| (k.user.clone(), k))
            .collect();
        let mut out = Vec::new();
        for user in self.store.list_vault_users().await? {
            if keep.as_ref().is_some_and(|k| !k.contains(&user.id)) {
                continue;
            }
            // Users who have not finished their setup are for administrators only.
            if !user.active && by.user.role != "admin" {
                continue;
            }
            out.push(VaultUserView {
                gpgkey: keys.get(&user.id).cloned(),
                user,
            });
        }
        Ok(out)
    }

    /// A user's registered key.
    pub async fn vault_gpgkey_of_user(&self, user: &VaultId) -> VaultResult<Option<GpgkeyRow>> {
        Ok(self.store.vault_gpgkey_of(user).await?)
    }

    /// Every registered key (`GET /gpgkeys.json`), or one.
    pub async fn vault_gpgkeys(&self) -> VaultResult<Vec<GpgkeyRow>> {
        Ok(self.store.list_vault_gpgkeys().await?)
    }

    pub async fn vault_gpgkey(&self, id: &VaultId) -> VaultResult<GpgkeyRow> {
        self.store
            .vault_gpgkey(id)
            .await?
            .ok_or_else(|| VaultError::not_found("key"))
    }

    /// Every membership (to show users' `groups_users`).
    pub async fn vault_memberships(&self) -> VaultResult<Vec<sealpost_store::vault::GroupUserRow>> {
        Ok(self.store.vault_group_members(None).await?)
    }

    /// One user with their key (`me` = the caller).
    pub async fn vault_get_user(
        &self,
        by: &VaultSession,
        id: &VaultId,
    ) -> VaultResult<VaultUserView> {
        let user = self
            .store
            .vault_user(id)
            .await?
            .filter(|u| u.active || by.user.role == "admin")
            .ok_or_else(|| VaultError::not_found("user"))?;
        Ok(VaultUserView {
            gpgkey: self.store.vault_gpgkey_of(&user.id).await?,
            user,
        })
    }

    /// Why a user cannot be deleted: the resources and groups they alone own that others
    /// share. Empty when they can be.
    pub async fn vault_user_delete_blockers(
        &self,
        id: &VaultId,
    ) -> VaultResult<(Vec<VaultId>, Vec<VaultId>)> {
        let mut resources = Vec::new();
        for p in self.store.vault_permissions_held_by(id).await? {
            if p.aco != Aco::Resource || p.kind != rules::OWNER {
                continue;
            }
            let all = self
                .store
                .vault_permissions(Aco::Resource, &p.aco_foreign_key)
                .await?;
            let other_owner = all.iter().any(|q| {
                q.kind == rules::OWNER && !(q.aro == Aro::User && &q.aro_foreign_key == id)
            });
            if !other_owner && all.len() > 1 {
                resources.push(p.aco_foreign_key.clone());
            }
        }
        let mut groups = Vec::new();
        for m in self.store.vault_group_members(None).await? {
            if m.user != *id || !m.is_admin {
                continue;
            }
            let members = self.store.vault_group_members(Some(&m.group)).await?;
            if members.len() > 1 && !members.iter().any(|o| o.user != *id && o.is_admin) {
                groups.push(m.group.clone());
            }
        }
        Ok((resources, groups))
    }

    /// `DELETE /users/{id}.json` (administrators; `dry_run` only tells whether it would work).
    /// Refused while the user is the sole owner of shared resources or the sole manager of a
    /// group with other members; the resources they alone hold go with them.
    pub async fn vault_delete_user(
        &self,
        by: &VaultSession,
        id: &VaultId,
        dry_run: bool,
    ) -> VaultResult<()> {
        if by.user.role != "admin" {
            return Err(VaultError::Forbidden(
                "You are not authorized to access that location.".into(),
            ));
        }
        if &by.user.id == id {
            return Err(VaultError::BadRequest(
                "You are not allowed to delete yourself.".into(),
            ));
        }
        self.store
            .vault_user(id)
            .await?
            .ok_or_else(|| VaultError::not_found("user"))?;
        let (resources, groups) = self.vault_user_delete_blockers(id).await?;
        if !resources.is_empty() || !groups.is_empty() {
            return Err(VaultError::Validation {
                message: "The user cannot be deleted. You need to transfer the user group manager role to other users before deleting this user.".into(),
                body: serde_json::json!({
                    "errors": {
                        "resources": {"sole_owner": resources.iter().map(|r| serde_json::json!({"id": r})).collect::<Vec<_>>()},
                        "groups": {"sole_manager": groups.iter().map(|g| serde_json::json!({"id": g})).collect::<Vec<_>>()},
                    }
                }),
            });
        }
        if dry_run {
            return Ok(());
        }
        // Resources only they had access to go with them.
        for p in self.store.vault_permissions_held_by(id).await? {
            if p.aco == Aco::Resource
                && self
                    .store
                    .vault_permissions(Aco::Resource, &p.aco_foreign_key)
                    .await?
                    .len()
                    == 1
            {
                self.store.delete_vault_resource(&p.aco_foreign_key).await?;
            }
        }
        self.store.delete_vault_user(id).await?;
        Ok(())
    }

    /// Changes a user's profile (themselves or an administrator) or role (administrators).
    pub async fn vault_update_user(
        &self,
        by: &VaultSession,
        id: &VaultId,
        first_name: Option<&str>,
        last_name: Option<&str>,
        role: Option<&str>,
    ) -> VaultResult<VaultUserView> {
        let admin = by.user.role == "admin";
        if !admin && &by.user.id != id {
            return Err(VaultError::Forbidden(
                "You are not authorized to access that location.".into(),
            ));
        }
        let user = self
            .store
            .vault_user(id)
            .await?
            .ok_or_else(|| VaultError::not_found("user"))?;
        let role = match role {
            Some(r) if !admin => {
                if r != user.role {
                    return Err(VaultError::Forbidden(
                        "Only administrators can change roles.".into(),
                    ));
                }
                user.role.clone()
            }
            Some(r) if r == "admin" || r == "user" => r.to_string(),
            Some(_) => {
                return Err(VaultError::field(
                    "role_id",
                    "inList",
                    "The role does not exist.",
                ));
            }
            None => user.role.clone(),
        };
        let check = |v: Option<&str>, field: &str, old: &str| -> VaultResult<String> {
            match v {
                Some(s) if s.trim().is_empty() || s.len() > super::MAX_NAME => {
                    Err(VaultError::field(
                        &format!("profile.{field}"),
                        "maxLength",
                        "The name should be 1 to 255 characters long.",
                    ))
                }
                Some(s) => Ok(s.trim().to_string()),
                None => Ok(old.to_string()),
            }
        };
        let first = check(first_name, "first_name", &user.first_name)?;
        let last = check(last_name, "last_name", &user.last_name)?;
        self.store
            .update_vault_user(id, &first, &last, &role, sealpost_store::now_ms())
            .await?;
        self.vault_get_user(by, id).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_types() {
        assert_eq!(key_type("RSA (Encrypt or Sign)"), "RSA");
        assert_eq!(key_type("EdDSA"), "EDDSA");
        assert_eq!(key_type("ECDSA"), "ECDSA");
        assert_eq!(key_type("ECDH"), "ECDH");
        assert_eq!(key_type("DSA"), "DSA");
        assert_eq!(key_type("ElGamal (Encrypt-Only)"), "ELG");
    }

    #[test]
    fn keys_are_checked() {
        let cert = pgp::generate(&pgp::KeySpec {
            name: "Ada".into(),
            email: "ada@example.test".into(),
            algorithm: pgp::KeyAlgorithm::Cv25519,
            passphrase: "pass phrase".into(),
            validity: None,
        })
        .unwrap();
        let armored = cert.armored_public().unwrap();
        let id = VaultId::new();
        let row = key_row(&id, "ada@example.test", &armored, 5).unwrap();
        assert_eq!(row.fingerprint, cert.fingerprint().to_ascii_uppercase());
        assert_eq!(row.key_id.len(), 8);
        assert_eq!(row.key_type, "EDDSA");
        assert!(
            key_row(&id, "bob@example.test", &armored, 5).is_err(),
            "wrong address"
        );
        assert!(key_row(&id, "ada@example.test", "junk", 5).is_err());
    }
}
