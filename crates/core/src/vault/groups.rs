//! Groups: administrators create and delete them; administrators and the group's managers
//! change its members. A member who joins needs a copy of the secret of every resource the
//! group has access to (that they had not already); a member who leaves loses access, and
//! their copies of the secrets they no longer have access to.

use super::resources::SecretInput;
use super::tree;
use super::{MAX_LIST, MAX_NAME, VaultError, VaultId, VaultResult, VaultSession};
use crate::Core;
use sealpost_store::vault::{
    Aco, GroupChange, GroupRow, GroupUserRow, RelationRow, SecretRow, TreeChange,
};
use std::collections::{BTreeSet, HashMap, HashSet};

/// A group with its members.
#[derive(Debug, Clone)]
pub struct GroupView {
    pub group: GroupRow,
    pub members: Vec<GroupUserRow>,
}

/// One entry of `groups_users` in `PUT /groups/{id}.json`.
#[derive(Debug, Clone)]
pub struct GroupMemberChange {
    pub id: Option<VaultId>,
    pub user_id: Option<VaultId>,
    pub is_admin: Option<bool>,
    pub delete: bool,
}

/// A group secret copy: (resource, user, data).
pub type GroupSecret = (VaultId, SecretInput);

fn forbidden() -> VaultError {
    VaultError::Forbidden("You are not authorized to access that location.".into())
}

fn check_name(name: &str) -> VaultResult<String> {
    let n = name.trim();
    if n.is_empty() {
        return Err(VaultError::field(
            "name",
            "_required",
            "A name is required.",
        ));
    }
    if n.chars().count() > MAX_NAME {
        return Err(VaultError::field(
            "name",
            "maxLength",
            "The name length should be maximum 255 characters.",
        ));
    }
    Ok(n.to_string())
}

/// The (resource, user) secret copies among losses.
fn secret_losses(losses: Vec<(Aco, VaultId, VaultId)>) -> Vec<(VaultId, VaultId)> {
    losses
        .into_iter()
        .filter(|(aco, _, _)| *aco == Aco::Resource)
        .map(|(_, r, u)| (r, u))
        .collect()
}

impl Core {
    /// What a membership change does to the members' trees: the group's resources and
    /// folders join the trees of the members who join (placed as [`tree::add_for_user`]
    /// says), and `losses` leave them.
    async fn vault_group_tree(
        &self,
        group: &VaultId,
        joining: &[GroupUserRow],
        losses: &[(Aco, VaultId, VaultId)],
        operator: &VaultId,
        now: sealpost_store::model::Millis,
    ) -> VaultResult<TreeChange> {
        let mut change = TreeChange {
            remove: losses
                .iter()
                .map(|(_, item, user)| (item.clone(), user.clone()))
                .collect(),
            now,
            ..Default::default()
        };
        if joining.is_empty() {
            return Ok(change);
        }
        let mut items: Vec<(Aco, VaultId)> = self
            .store
            .vault_permissions_of_group(group)
            .await?
            .into_iter()
            .map(|p| (p.aco, p.aco_foreign_key))
            .collect();
        items.sort_by(|a, b| a.1.cmp(&b.1));
        items.dedup_by(|a, b| a.1 == b.1);
        let mut places: HashMap<VaultId, Vec<RelationRow>> = HashMap::new();
        for r in self.store.vault_relations_of_group_items(group).await? {
            places.entry(r.item.clone()).or_default().push(r);
        }
        for m in joining {
            let mine = self.store.vault_tree_of(&m.user).await?;
            let has: HashSet<&VaultId> = mine.iter().map(|r| &r.item).collect();
            let new: Vec<(Aco, VaultId)> = items
                .iter()
                .filter(|(_, i)| !has.contains(i))
                .cloned()
                .collect();
            let folders: HashSet<VaultId> = mine
                .iter()
                .filter(|r| r.aco == Aco::Folder)
                .map(|r| r.item.clone())
                .collect();
            tree::add_for_user(&mut change, &m.user, &new, &places, &folders, operator, now);
        }
        Ok(change)
    }

    pub async fn vault_list_groups(&self) -> VaultResult<Vec<GroupView>> {
        let members = self.store.vault_group_members(None).await?;
        Ok(self
            .store
            .list_vault_groups()
            .await?
            .into_iter()
            .map(|group| GroupView {
                members: members
                    .iter()
                    .filter(|m| m.group == group.id)
                    .cloned()
                    .collect(),
                group,
            })
            .collect())
    }

    pub async fn vault_get_group(&self, id: &VaultId) -> VaultResult<GroupView> {
        let group = self
            .store
            .vault_group(id)
            .await?
            .ok_or_else(|| VaultError::not_found("group"))?;
        Ok(GroupView {
            members: self.store.vault_group_members(Some(id)).await?,
            group,
        })
    }

    /// `POST /groups.json` (administrators): a new group with at least one manager.
    pub async fn vault_create_group(
        &self,
        by: &VaultSession,
        name: &str,
        members: &[(VaultId, bool)],
    ) -> VaultResult<GroupView> {
        if by.user.role != "admin" {
            return Err(forbidden());
        }
        let name = check_name(name)?;
        if members.is_empty()
            || members.len() > MAX_LIST
            || !members.iter().any(|(_, admin)| *admin)
        {
            return Err(VaultError::field(
                "groups_users",
                "atLeastOneAdmin",
                "A group manager should be provided.",
            ));
        }
        let now = sealpost_store::now_ms();
        let group = GroupRow {
            id: VaultId::new(),
            name,
            created: now,
            modified: now,
            created_by: by.user.id.clone(),
            modified_by: by.user.id.clone(),
        };
        let mut rows = Vec::new();
        let mut seen = BTreeSet::new();
        for (i, (user, admin)) in members.iter().enumerate() {
            if !self.store.vault_user(user).await?.is_some_and(|u| u.active)
                || !seen.insert(user.clone())
            {
                return Err(VaultError::field(
                    &format!("groups_users.{i}.user_id"),
                    "user_exists",
                    "The user does not exist or is listed twice.",
                ));
            }
            rows.push(GroupUserRow {
                id: VaultId::new(),
                group: group.id.clone(),
                user: user.clone(),
                is_admin: *admin,
                created: now,
            });
        }
        self.store
            .insert_vault_group(&group, &rows)
            .await
            .map_err(|e| match e {
                sealpost_store::Error::Conflict(_) => VaultError::field(
                    "name",
                    "group_unique",
                    "The name is already used by another group.",
                ),
                other => other.into(),
            })?;
        self.vault_get_group(&group.id).await
    }

    /// The (kind, item, user) of `users` who would have no access left to the group's
    /// resources and folders once they are no longer members (or, `without_group`, once it
    /// is gone).
    async fn vault_losses(
        &self,
        group: &VaultId,
        users: &[VaultId],
        without_group: bool,
    ) -> VaultResult<Vec<(Aco, VaultId, VaultId)>> {
        let mut out = Vec::new();
        for p in self.store.vault_permissions_of_group(group).await? {
            let perms: Vec<_> = self
                .store
                .vault_permissions(p.aco, &p.aco_foreign_key)
                .await?
                .into_iter()
                .filter(|q| !(without_group && q.aro_foreign_key == *group))
                .collect();
            for u in users {
                let mut groups = self.vault_group_set(u).await?;
                groups.remove(group);
                if super::rules::access(&perms, u, &groups).is_none() {
                    out.push((p.aco, p.aco_foreign_key.clone(), u.clone()));
                }
            }
        }
        Ok(out)
    }

    /// `PUT /groups/{id}.json` (administrators and the group's managers; only administrators
    /// rename). With `dry_run`, answers the (resource, user) secrets the change needs.
    pub async fn vault_update_group(
        &self,
        by: &VaultSession,
        id: &VaultId,
        name: Option<&str>,
        changes: &[GroupMemberChange],
        secrets: &[GroupSecret],
        dry_run: bool,
    ) -> VaultResult<Vec<(VaultId, VaultId)>> {
        let view = self.vault_get_group(id).await?;
        let manager = view
            .members
            .iter()
            .any(|m| m.user == by.user.id && m.is_admin);
        if by.user.role != "admin" && !manager {
            return Err(forbidden());
        }
        if changes.len() > MAX_LIST || secrets.len() > MAX_LIST {
            return Err(VaultError::field(
                "groups_users",
                "maxCount",
                "Too many changes.",
            ));
        }
        let name = match name {
            Some(n) if by.user.role == "admin" => Some(check_name(n)?),
            Some(n) if n.trim() == view.group.name => None,
            Some(_) => return Err(forbidden()),
            None => None,
        };
        let now = sealpost_store::now_ms();
        let mut change = GroupChange {
            name,
            ..Default::default()
        };
        let mut members: Vec<(VaultId, bool)> = view
            .members
            .iter()
            .map(|m| (m.user.clone(), m.is_admin))
            .collect();
        for (i, c) in changes.iter().enumerate() {
            let existing = match (&c.id, &c.user_id) {
                (Some(mid), _) => Some(
                    view.members
                        .iter()
                        .find(|m| &m.id == mid)
                        .ok_or_else(|| {
                            VaultError::field(
                                &format!("groups_users.{i}.id"),
                                "exists",
                                "The membership does not exist.",
                            )
                        })?
                        .user
                        .clone(),
                ),
                (None, Some(u)) => view
                    .members
                    .iter()
                    .find(|m| &m.user == u)
                    .map(|m| m.user.clone()),
                (None, None) => {
                    return Err(VaultError::field(
                        &format!("groups_users.{i}.user_id"),
                        "_required",
                        "A user id is required.",
                    ));
                }
            };
            match existing {
                Some(u) if c.delete => {
                    members.retain(|(m, _)| m != &u);
                    change.remove.push(u);
                }
                Some(u) => {
                    if let Some(admin) = c.is_admin {
                        for m in members.iter_mut().filter(|(m, _)| m == &u) {
                            m.1 = admin;
                        }
                        change.set_admin.push((u, admin));
                    }
                }
                None if c.delete => {}
                None => {
                    let Some(u) = c.user_id.clone() else { continue };
                    if !self.store.vault_user(&u).await?.is_some_and(|x| x.active)
                        || members.iter().any(|(m, _)| m == &u)
                    {
                        return Err(VaultError::field(
                            &format!("groups_users.{i}.user_id"),
                            "user_exists",
                            "The user does not exist or is listed twice.",
                        ));
                    }
                    members.push((u.clone(), c.is_admin.unwrap_or(false)));
                    change.add.push(GroupUserRow {
                        id: VaultId::new(),
                        group: id.clone(),
                        user: u,
                        is_admin: c.is_admin.unwrap_or(false),
                        created: now,
                    });
                }
            }
        }
        if !members.iter().any(|(_, admin)| *admin) {
            return Err(VaultError::field(
                "groups_users",
                "atLeastOneAdmin",
                "A group manager should be provided.",
            ));
        }
        // Secrets the new members need: every resource of the group they cannot read yet.
        let mut needed = Vec::new();
        for p in self.store.vault_permissions_of_group(id).await? {
            if p.aco != Aco::Resource {
                continue;
            }
            for m in &change.add {
                if self
                    .store
                    .vault_secret(&p.aco_foreign_key, &m.user)
                    .await?
                    .is_none()
                {
                    needed.push((p.aco_foreign_key.clone(), m.user.clone()));
                }
            }
        }
        if dry_run {
            return Ok(needed);
        }
        let mut given = Vec::new();
        for (i, (resource, s)) in secrets.iter().enumerate() {
            let Some(user) = s.user_id.clone() else {
                return Err(VaultError::field(
                    &format!("secrets.{i}.user_id"),
                    "_required",
                    "A user id is required.",
                ));
            };
            if !needed.iter().any(|(r, u)| r == resource && u == &user) {
                return Err(VaultError::field(
                    &format!("secrets.{i}.resource_id"),
                    "needed",
                    "This secret is not needed.",
                ));
            }
            given.push((resource.clone(), user, s.data.clone()));
        }
        if let Some((r, u)) = needed
            .iter()
            .find(|(r, u)| !given.iter().any(|(gr, gu, _)| gr == r && gu == u))
        {
            return Err(VaultError::field(
                "secrets",
                "secrets_provided",
                &format!("A secret is required for the user {u} on the resource {r}."),
            ));
        }
        let check: Vec<(VaultId, String)> = given
            .iter()
            .map(|(_, u, d)| (u.clone(), d.clone()))
            .collect();
        self.vault_check_ciphertexts(&check).await?;
        change.secrets = given
            .into_iter()
            .map(|(resource, user, data)| SecretRow {
                id: VaultId::new(),
                resource,
                user,
                data,
                created: now,
                modified: now,
            })
            .collect();
        let losses = self.vault_losses(id, &change.remove, false).await?;
        change.tree = self
            .vault_group_tree(id, &change.add, &losses, &by.user.id, now)
            .await?;
        change.remove_secrets = secret_losses(losses);
        self.store
            .apply_vault_group_change(id, &change, &by.user.id, now)
            .await?;
        Ok(Vec::new())
    }

    /// `DELETE /groups/{id}.json` (administrators; `dry_run` only checks). Refused while the
    /// group is the sole owner of a resource.
    pub async fn vault_delete_group(
        &self,
        by: &VaultSession,
        id: &VaultId,
        dry_run: bool,
    ) -> VaultResult<()> {
        if by.user.role != "admin" {
            return Err(forbidden());
        }
        let view = self.vault_get_group(id).await?;
        let mut sole = Vec::new();
        for p in self.store.vault_permissions_of_group(id).await? {
            if p.aco != Aco::Resource || p.kind != super::rules::OWNER {
                continue;
            }
            let all = self
                .store
                .vault_permissions(Aco::Resource, &p.aco_foreign_key)
                .await?;
            if !all
                .iter()
                .any(|q| q.kind == super::rules::OWNER && q.aro_foreign_key != *id)
            {
                sole.push(p.aco_foreign_key.clone());
            }
        }
        if !sole.is_empty() {
            return Err(VaultError::Validation {
                message: "The group cannot be deleted. You need to transfer the ownership of the group's resources first.".into(),
                body: serde_json::json!({"errors": {"resources": {"sole_owner": sole.iter().map(|r| serde_json::json!({"id": r})).collect::<Vec<_>>()}}}),
            });
        }
        if dry_run {
            return Ok(());
        }
        let users: Vec<VaultId> = view.members.iter().map(|m| m.user.clone()).collect();
        let losses = self.vault_losses(id, &users, true).await?;
        let tree = self
            .vault_group_tree(id, &[], &losses, &by.user.id, sealpost_store::now_ms())
            .await?;
        self.store
            .delete_vault_group(id, &secret_losses(losses), &tree)
            .await?;
        Ok(())
    }
}
