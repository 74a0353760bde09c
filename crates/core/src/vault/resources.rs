//! Resources, their secrets and their sharing. Every operation names an object and checks
//! the caller's access to it with [`rules`] first; secrets are validated as OpenPGP messages
//! encrypted to the key of the user they are for.

use super::rules::{self, ShareChange};
use super::{
    MAX_DESCRIPTION, MAX_LIST, MAX_NAME, MAX_SECRET, MAX_URI, VaultError, VaultId, VaultResult,
    VaultSession, blocking,
};
use crate::Core;
use sealpost_pgp as pgp;
use sealpost_store::vault::{
    AccessChange, Aco, Aro, ListedResource, ListingWants, PermissionRow, RelationRow, ResourceRow,
    SecretRow, TreeChange,
};
use std::collections::{BTreeMap, BTreeSet, HashSet};

/// passbolt's default resource types ("v4 mode"), with its fixed ids: (id, slug, name,
/// description, definition).
pub const RESOURCE_TYPES: &[(&str, &str, &str, &str, &str)] = &[
    (
        "669f8c64-242a-59fb-92fc-81f660975fd3",
        "password-string",
        "Simple password",
        "The original passbolt resource type, where the secret is a non empty string.",
        r#"{"resource":{"type":"object","required":["name"],"properties":{"name":{"type":"string","maxLength":255},"username":{"anyOf":[{"type":"string","maxLength":255},{"type":"null"}]},"uri":{"anyOf":[{"type":"string","maxLength":1024},{"type":"null"}]},"description":{"anyOf":[{"type":"string","maxLength":10000},{"type":"null"}]}}},"secret":{"type":"string","maxLength":4096}}"#,
    ),
    (
        "a28a04cd-6f53-518a-967c-9963bf9cec51",
        "password-and-description",
        "Password with description",
        "A resource with the password and the description encrypted.",
        r#"{"resource":{"type":"object","required":["name"],"properties":{"name":{"type":"string","maxLength":255},"username":{"anyOf":[{"type":"string","maxLength":255},{"type":"null"}]},"uri":{"anyOf":[{"type":"string","maxLength":1024},{"type":"null"}]}}},"secret":{"type":"object","required":["password"],"properties":{"password":{"type":"string","maxLength":4096},"description":{"anyOf":[{"type":"string","maxLength":10000},{"type":"null"}]}}}}"#,
    ),
    (
        "1e8fcd45-ad85-53e9-bd5c-36de85b45d48",
        "password-description-totp",
        "Password, description and TOTP",
        "A resource with the password, the description and a TOTP secret encrypted.",
        r#"{"resource":{"type":"object","required":["name"],"properties":{"name":{"type":"string","maxLength":255},"username":{"anyOf":[{"type":"string","maxLength":255},{"type":"null"}]},"uri":{"anyOf":[{"type":"string","maxLength":1024},{"type":"null"}]}}},"secret":{"type":"object","required":["password","totp"],"properties":{"password":{"type":"string","maxLength":4096},"description":{"anyOf":[{"type":"string","maxLength":10000},{"type":"null"}]},"totp":{"type":"object","required":["secret_key","digits","algorithm"],"properties":{"algorithm":{"type":"string","minLength":4,"maxLength":6},"secret_key":{"type":"string","maxLength":1024},"digits":{"type":"number","minimum":6,"maximum":8},"period":{"type":"number"}}}}}}"#,
    ),
    (
        "b53ad4c9-e4d9-5e1c-9f1a-1e6c0fb0f1c5",
        "totp",
        "Standalone TOTP",
        "A resource with standalone TOTP fields.",
        r#"{"resource":{"type":"object","required":["name"],"properties":{"name":{"type":"string","maxLength":255},"uri":{"anyOf":[{"type":"string","maxLength":1024},{"type":"null"}]},"description":{"anyOf":[{"type":"string","maxLength":10000},{"type":"null"}]}}},"secret":{"type":"object","required":["totp"],"properties":{"totp":{"type":"object","required":["secret_key","digits","algorithm"],"properties":{"algorithm":{"type":"string","minLength":4,"maxLength":6},"secret_key":{"type":"string","maxLength":1024},"digits":{"type":"number","minimum":6,"maximum":8},"period":{"type":"number"}}}}}}"#,
    ),
];

/// The type of resources created without one: passbolt's `password-string`.
pub const DEFAULT_RESOURCE_TYPE: &str = "669f8c64-242a-59fb-92fc-81f660975fd3";

/// One entry of a request's `secrets`.
#[derive(Debug, Clone)]
pub struct SecretInput {
    pub user_id: Option<VaultId>,
    pub data: String,
}

/// `POST /resources.json`.
#[derive(Debug, Clone, Default)]
pub struct NewResource {
    pub name: Option<String>,
    pub username: Option<String>,
    pub uri: Option<String>,
    pub description: Option<String>,
    pub resource_type_id: Option<String>,
    pub folder_parent_id: Option<VaultId>,
    pub secrets: Vec<SecretInput>,
}

/// `PUT /resources/{id}.json`: each `Some` replaces the field.
#[derive(Debug, Clone, Default)]
pub struct ResourceUpdate {
    pub name: Option<String>,
    pub username: Option<Option<String>>,
    pub uri: Option<Option<String>>,
    pub description: Option<Option<String>>,
    pub resource_type_id: Option<String>,
    pub secrets: Option<Vec<SecretInput>>,
}

/// A resource as the caller sees it: with their own permission type.
#[derive(Debug, Clone)]
pub struct ResourceView {
    pub resource: ResourceRow,
    pub permission: i64,
}

fn check_len(field: &str, v: &Option<String>, max: usize) -> VaultResult<()> {
    match v {
        Some(s) if s.chars().count() > max => Err(VaultError::field(
            field,
            "maxLength",
            &format!("The {field} length should be maximum {max} characters."),
        )),
        _ => Ok(()),
    }
}

fn resource_type(id: &str) -> VaultResult<VaultId> {
    RESOURCE_TYPES
        .iter()
        .find(|t| t.0 == id)
        .map(|t| VaultId::from_stored(t.0))
        .ok_or_else(|| {
            VaultError::field(
                "resource_type_id",
                "resourceTypeExists",
                "The resource type does not exist.",
            )
        })
}

impl Core {
    /// The groups of a user.
    pub(crate) async fn vault_group_set(&self, user: &VaultId) -> VaultResult<HashSet<VaultId>> {
        Ok(self
            .store
            .vault_groups_of(user)
            .await?
            .into_iter()
            .collect())
    }

    /// The permissions on an object, after checking that the caller has at least `need` on it
    /// (no access, or no such object: 404; too little: 403).
    pub(crate) async fn vault_checked(
        &self,
        by: &VaultSession,
        aco: Aco,
        id: &VaultId,
        need: i64,
    ) -> VaultResult<Vec<PermissionRow>> {
        let what = match aco {
            Aco::Resource => "resource",
            Aco::Folder => "folder",
        };
        let perms = self.store.vault_permissions(aco, id).await?;
        let groups = self.vault_group_set(&by.user.id).await?;
        rules::require(rules::access(&perms, &by.user.id, &groups), need, what)?;
        Ok(perms)
    }

    /// Every user who has access through `perms` (groups expanded).
    pub(crate) async fn vault_users_with_access(
        &self,
        perms: &[PermissionRow],
    ) -> VaultResult<BTreeSet<VaultId>> {
        let mut members: BTreeMap<VaultId, Vec<VaultId>> = BTreeMap::new();
        for p in perms.iter().filter(|p| p.aro == Aro::Group) {
            let m = self
                .store
                .vault_group_members(Some(&p.aro_foreign_key))
                .await?;
            members.insert(
                p.aro_foreign_key.clone(),
                m.into_iter().map(|m| m.user).collect(),
            );
        }
        Ok(rules::users_with_access(perms, &members))
    }

    /// Checks that each (user, data) is an OpenPGP message encrypted to that user's key.
    pub(crate) async fn vault_check_ciphertexts(
        &self,
        secrets: &[(VaultId, String)],
    ) -> VaultResult<()> {
        let mut jobs = Vec::with_capacity(secrets.len());
        for (i, (user, data)) in secrets.iter().enumerate() {
            if data.len() > MAX_SECRET {
                return Err(VaultError::field(
                    &format!("secrets.{i}.data"),
                    "maxLength",
                    "The secret is too large.",
                ));
            }
            let key = self.store.vault_gpgkey_of(user).await?.ok_or_else(|| {
                VaultError::field(
                    &format!("secrets.{i}.user_id"),
                    "hasKey",
                    "The user has no key.",
                )
            })?;
            jobs.push((i, key.armored_key, data.clone()));
        }
        let bad = blocking(move || {
            for (i, key, data) in jobs {
                let ok = pgp::parse_cert(key.as_bytes())
                    .and_then(|cert| pgp::encrypted_to(&cert, data.as_bytes()))
                    .unwrap_or(false);
                if !ok {
                    return Some(i);
                }
            }
            None
        })
        .await?;
        match bad {
            Some(i) => Err(VaultError::field(
                &format!("secrets.{i}.data"),
                "isValidEncryptedMessage",
                "The secret should be a valid OpenPGP message encrypted to the user's key.",
            )),
            None => Ok(()),
        }
    }

    /// `GET /resources.json`, and one resource's view (`only`): the resources the caller may
    /// read, by name, with what the request's `contain[...]` asks for, in one read whatever
    /// their number. `only` naming a resource the caller cannot read: 404.
    pub async fn vault_resource_listing(
        &self,
        by: &VaultSession,
        only: Option<&VaultId>,
        want: ListingWants,
    ) -> VaultResult<Vec<ListedResource>> {
        let list = self
            .store
            .vault_resource_listing(&by.user.id, only, want)
            .await?;
        if only.is_some() && list.is_empty() {
            return Err(VaultError::not_found("resource"));
        }
        Ok(list)
    }

    /// Every permission the caller holds (directly or through a group) on objects of `aco`.
    pub async fn vault_my_permissions(
        &self,
        by: &VaultSession,
        aco: Aco,
    ) -> VaultResult<Vec<PermissionRow>> {
        Ok(self
            .store
            .vault_permissions_of_user(aco, &by.user.id)
            .await?)
    }

    /// `GET /resources/{id}.json`.
    pub async fn vault_get_resource(
        &self,
        by: &VaultSession,
        id: &VaultId,
    ) -> VaultResult<ResourceView> {
        let perms = self
            .vault_checked(by, Aco::Resource, id, rules::READ)
            .await?;
        let groups = self.vault_group_set(&by.user.id).await?;
        let resource = self
            .store
            .vault_resource(id)
            .await?
            .ok_or_else(|| VaultError::not_found("resource"))?;
        Ok(ResourceView {
            resource,
            permission: rules::access(&perms, &by.user.id, &groups).unwrap_or(rules::READ),
        })
    }

    /// `POST /resources.json`: a new resource owned by the caller, with the caller's secret.
    pub async fn vault_create_resource(
        &self,
        by: &VaultSession,
        new: NewResource,
    ) -> VaultResult<ResourceView> {
        let name = new
            .name
            .as_deref()
            .map(str::trim)
            .unwrap_or_default()
            .to_string();
        if name.is_empty() {
            return Err(VaultError::field(
                "name",
                "_required",
                "A name is required.",
            ));
        }
        check_len("name", &Some(name.clone()), MAX_NAME)?;
        check_len("username", &new.username, MAX_NAME)?;
        check_len("uri", &new.uri, MAX_URI)?;
        check_len("description", &new.description, MAX_DESCRIPTION)?;
        let type_id = resource_type(
            new.resource_type_id
                .as_deref()
                .unwrap_or(DEFAULT_RESOURCE_TYPE),
        )?;
        if new.secrets.len() != 1 {
            return Err(VaultError::field(
                "secrets",
                "hasAtMostOneSecret",
                "Exactly one secret, for yourself, is required.",
            ));
        }
        let secret = &new.secrets[0];
        if secret.user_id.as_ref().is_some_and(|u| u != &by.user.id) {
            return Err(VaultError::field(
                "secrets.0.user_id",
                "isOwner",
                "The secret should be for yourself.",
            ));
        }
        if let Some(folder) = &new.folder_parent_id {
            self.vault_checked(by, Aco::Folder, folder, rules::UPDATE)
                .await?;
        }
        self.vault_check_ciphertexts(&[(by.user.id.clone(), secret.data.clone())])
            .await?;
        let now = sealpost_store::now_ms();
        let resource = ResourceRow {
            id: VaultId::new(),
            name,
            username: new.username,
            uri: new.uri,
            description: new.description,
            resource_type_id: type_id,
            created: now,
            modified: now,
            created_by: by.user.id.clone(),
            modified_by: by.user.id.clone(),
        };
        let access = AccessChange {
            permissions: vec![PermissionRow {
                id: VaultId::new(),
                aco: Aco::Resource,
                aco_foreign_key: resource.id.clone(),
                aro: Aro::User,
                aro_foreign_key: by.user.id.clone(),
                kind: rules::OWNER,
                created: now,
                modified: now,
            }],
            secrets: vec![SecretRow {
                id: VaultId::new(),
                resource: resource.id.clone(),
                user: by.user.id.clone(),
                data: secret.data.clone(),
                created: now,
                modified: now,
            }],
            remove_secrets_of: Vec::new(),
            tree: TreeChange {
                add: vec![RelationRow {
                    aco: Aco::Resource,
                    item: resource.id.clone(),
                    user: by.user.id.clone(),
                    folder_parent_id: new.folder_parent_id,
                    created: now,
                    modified: now,
                }],
                now,
                ..Default::default()
            },
        };
        self.store.insert_vault_resource(&resource, &access).await?;
        Ok(ResourceView {
            resource,
            permission: rules::OWNER,
        })
    }

    /// `PUT /resources/{id}.json` (update permission). New secrets must be one for each user
    /// with access, each encrypted to that user's key.
    pub async fn vault_update_resource(
        &self,
        by: &VaultSession,
        id: &VaultId,
        upd: ResourceUpdate,
    ) -> VaultResult<ResourceView> {
        let perms = self
            .vault_checked(by, Aco::Resource, id, rules::UPDATE)
            .await?;
        let mut r = self
            .store
            .vault_resource(id)
            .await?
            .ok_or_else(|| VaultError::not_found("resource"))?;
        if let Some(name) = upd.name {
            let name = name.trim().to_string();
            if name.is_empty() {
                return Err(VaultError::field(
                    "name",
                    "_empty",
                    "The name should not be empty.",
                ));
            }
            check_len("name", &Some(name.clone()), MAX_NAME)?;
            r.name = name;
        }
        if let Some(v) = upd.username {
            check_len("username", &v, MAX_NAME)?;
            r.username = v;
        }
        if let Some(v) = upd.uri {
            check_len("uri", &v, MAX_URI)?;
            r.uri = v;
        }
        if let Some(v) = upd.description {
            check_len("description", &v, MAX_DESCRIPTION)?;
            r.description = v;
        }
        if let Some(t) = upd.resource_type_id {
            r.resource_type_id = resource_type(&t)?;
        }
        let now = sealpost_store::now_ms();
        let secrets = match upd.secrets {
            None => None,
            Some(list) => {
                if list.len() > MAX_LIST {
                    return Err(VaultError::field(
                        "secrets",
                        "maxCount",
                        "Too many secrets.",
                    ));
                }
                let given: Vec<(VaultId, String)> = list
                    .iter()
                    .enumerate()
                    .map(|(i, s)| {
                        s.user_id
                            .clone()
                            .ok_or_else(|| {
                                VaultError::field(
                                    &format!("secrets.{i}.user_id"),
                                    "_required",
                                    "A user id is required.",
                                )
                            })
                            .map(|u| (u, s.data.clone()))
                    })
                    .collect::<VaultResult<_>>()?;
                let required = self.vault_users_with_access(&perms).await?;
                rules::exact_secrets(&required, &given)?;
                self.vault_check_ciphertexts(&given).await?;
                Some(
                    given
                        .into_iter()
                        .map(|(user, data)| SecretRow {
                            id: VaultId::new(),
                            resource: id.clone(),
                            user,
                            data,
                            created: now,
                            modified: now,
                        })
                        .collect::<Vec<_>>(),
                )
            }
        };
        r.modified = now;
        r.modified_by = by.user.id.clone();
        self.store
            .update_vault_resource(&r, secrets.as_deref())
            .await?;
        self.vault_get_resource(by, id).await
    }

    /// `DELETE /resources/{id}.json` (update permission).
    pub async fn vault_delete_resource(&self, by: &VaultSession, id: &VaultId) -> VaultResult<()> {
        self.vault_checked(by, Aco::Resource, id, rules::UPDATE)
            .await?;
        self.store.delete_vault_resource(id).await?;
        Ok(())
    }

    /// `GET /secrets/resource/{id}.json`: the caller's own copy (read permission).
    pub async fn vault_get_secret(
        &self,
        by: &VaultSession,
        id: &VaultId,
    ) -> VaultResult<SecretRow> {
        self.vault_checked(by, Aco::Resource, id, rules::READ)
            .await?;
        self.store
            .vault_secret(id, &by.user.id)
            .await?
            .ok_or_else(|| VaultError::not_found("secret"))
    }

    /// `GET /permissions/resource/{id}.json` (read permission).
    pub async fn vault_list_permissions(
        &self,
        by: &VaultSession,
        aco: Aco,
        id: &VaultId,
    ) -> VaultResult<Vec<PermissionRow>> {
        self.vault_checked(by, aco, id, rules::READ).await
    }

    /// Checks that every aro a share names exists (an active user, or a group).
    pub(crate) async fn vault_check_aros(&self, changes: &[ShareChange]) -> VaultResult<()> {
        for (i, c) in changes.iter().enumerate() {
            let (Some(aro), Some(key)) = (c.aro, &c.aro_foreign_key) else {
                continue;
            };
            let exists = match aro {
                Aro::User => self.store.vault_user(key).await?.is_some_and(|u| u.active),
                Aro::Group => self.store.vault_group(key).await?.is_some(),
            };
            if !exists && !c.delete {
                return Err(VaultError::field(
                    &format!("permissions.{i}.aro_foreign_key"),
                    "aro_exists",
                    "The user or group does not exist.",
                ));
            }
        }
        Ok(())
    }

    /// `PUT /share/resource/{id}.json` (owner), or its simulation (`dry_run`): the users who
    /// gain and who lose access. Every user who gains access needs a secret in `secrets`;
    /// secrets for users who keep access replace theirs; those who lose it lose their copy.
    pub async fn vault_share_resource(
        &self,
        by: &VaultSession,
        id: &VaultId,
        changes: &[ShareChange],
        secrets: &[SecretInput],
        dry_run: bool,
    ) -> VaultResult<(Vec<VaultId>, Vec<VaultId>)> {
        if changes.len() > MAX_LIST || secrets.len() > MAX_LIST {
            return Err(VaultError::field(
                "permissions",
                "maxCount",
                "Too many permissions or secrets.",
            ));
        }
        let current = self
            .vault_checked(by, Aco::Resource, id, rules::OWNER)
            .await?;
        self.vault_check_aros(changes).await?;
        let now = sealpost_store::now_ms();
        let after = rules::apply_share(&current, changes, Aco::Resource, id, now)?;
        let before_users = self.vault_users_with_access(&current).await?;
        let after_users = self.vault_users_with_access(&after).await?;
        let (added, removed) = rules::access_diff(&before_users, &after_users);
        if dry_run {
            return Ok((added, removed));
        }
        let given: Vec<(VaultId, String)> = secrets
            .iter()
            .enumerate()
            .map(|(i, s)| {
                s.user_id
                    .clone()
                    .ok_or_else(|| {
                        VaultError::field(
                            &format!("secrets.{i}.user_id"),
                            "_required",
                            "A user id is required.",
                        )
                    })
                    .map(|u| (u, s.data.clone()))
            })
            .collect::<VaultResult<_>>()?;
        // Secrets for everyone who gains access; those given for users who keep it are
        // accepted (and replace their copy); none for anyone without access afterwards.
        let mut seen = BTreeSet::new();
        for (i, (u, _)) in given.iter().enumerate() {
            if !after_users.contains(u) {
                return Err(VaultError::field(
                    &format!("secrets.{i}.user_id"),
                    "has_access",
                    "The user does not have access to the resource.",
                ));
            }
            if !seen.insert(u.clone()) {
                return Err(VaultError::field(
                    &format!("secrets.{i}.user_id"),
                    "unique",
                    "A secret is given twice for the same user.",
                ));
            }
        }
        if let Some(missing) = added.iter().find(|u| !seen.contains(*u)) {
            return Err(VaultError::field(
                "secrets",
                "secrets_provided",
                &format!("A secret is required for the user {missing}, who gains access."),
            ));
        }
        self.vault_check_ciphertexts(&given).await?;
        let tree = self
            .vault_tree_for_access(Aco::Resource, id, &added, &removed, &by.user.id, now)
            .await?;
        let change = AccessChange {
            tree,
            permissions: after,
            secrets: given
                .into_iter()
                .map(|(user, data)| SecretRow {
                    id: VaultId::new(),
                    resource: id.clone(),
                    user,
                    data,
                    created: now,
                    modified: now,
                })
                .collect(),
            remove_secrets_of: removed.clone(),
        };
        self.store
            .apply_vault_access(Aco::Resource, id, &change)
            .await?;
        Ok((added, removed))
    }

    /// `POST /move/resource/{id}.json`: into a folder or to the root (`None`) of the caller's
    /// tree, as [`Core::vault_move_item`] says.
    pub async fn vault_move_resource(
        &self,
        by: &VaultSession,
        id: &VaultId,
        folder: Option<&VaultId>,
    ) -> VaultResult<()> {
        self.vault_move_item(by, Aco::Resource, id, folder).await
    }

    /// Favorites: mark (read permission), list, unmark.
    pub async fn vault_add_favorite(
        &self,
        by: &VaultSession,
        id: &VaultId,
    ) -> VaultResult<sealpost_store::vault::FavoriteRow> {
        self.vault_checked(by, Aco::Resource, id, rules::READ)
            .await?;
        let f = sealpost_store::vault::FavoriteRow {
            id: VaultId::new(),
            user: by.user.id.clone(),
            resource: id.clone(),
            created: sealpost_store::now_ms(),
        };
        self.store
            .insert_vault_favorite(&f)
            .await
            .map_err(|e| match e {
                sealpost_store::Error::Conflict(_) => {
                    VaultError::BadRequest("This record is already selected as favorite.".into())
                }
                other => other.into(),
            })?;
        Ok(f)
    }

    pub async fn vault_favorites(
        &self,
        by: &VaultSession,
    ) -> VaultResult<Vec<sealpost_store::vault::FavoriteRow>> {
        Ok(self.store.vault_favorites_of(&by.user.id).await?)
    }

    pub async fn vault_delete_favorite(&self, by: &VaultSession, id: &VaultId) -> VaultResult<()> {
        if self.store.delete_vault_favorite(&by.user.id, id).await? {
            Ok(())
        } else {
            Err(VaultError::not_found("favorite"))
        }
    }

    /// Comments on a resource (read permission to list and to add).
    pub async fn vault_comments(
        &self,
        by: &VaultSession,
        id: &VaultId,
    ) -> VaultResult<Vec<sealpost_store::vault::CommentRow>> {
        self.vault_checked(by, Aco::Resource, id, rules::READ)
            .await?;
        Ok(self.store.vault_comments(id).await?)
    }

    pub async fn vault_add_comment(
        &self,
        by: &VaultSession,
        id: &VaultId,
        content: &str,
        parent: Option<VaultId>,
    ) -> VaultResult<sealpost_store::vault::CommentRow> {
        self.vault_checked(by, Aco::Resource, id, rules::READ)
            .await?;
        let content = content.trim();
        if content.is_empty() || content.chars().count() > super::MAX_COMMENT {
            return Err(VaultError::field(
                "content",
                "lengthBetween",
                "The comment should be 1 to 255 characters long.",
            ));
        }
        let now = sealpost_store::now_ms();
        let c = sealpost_store::vault::CommentRow {
            id: VaultId::new(),
            resource: id.clone(),
            parent_id: parent,
            content: content.to_string(),
            created: now,
            modified: now,
            created_by: by.user.id.clone(),
            modified_by: by.user.id.clone(),
        };
        self.store.insert_vault_comment(&c).await?;
        Ok(c)
    }
}
