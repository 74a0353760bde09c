//! Folders: a folder has its own permissions (as a resource has, without secrets); its
//! creator owns it. Where a resource or folder is, is each user's own: every user with access
//! places it in their own tree ([`super::tree`]), as passbolt's `folders_relations`.

use super::rules::{self, ShareChange};
use super::tree;
use super::{MAX_LIST, MAX_NAME, VaultError, VaultId, VaultResult, VaultSession};
use crate::Core;
use sealpost_store::model::Millis;
use sealpost_store::vault::{
    AccessChange, Aco, Aro, FolderRow, ListedFolder, PermissionRow, RelationRow, TreeChange,
};
use std::collections::{HashMap, HashSet};

/// `POST /folders.json`.
#[derive(Debug, Clone)]
pub struct NewFolder {
    pub name: String,
    pub folder_parent_id: Option<VaultId>,
}

/// A folder as the caller sees it: their permission type, where it is in their tree, and
/// whether only one user has it.
pub type FolderView = ListedFolder;

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

fn move_refused(rule: &str, message: &str) -> VaultError {
    VaultError::field("folder_parent_id", rule, message)
}

impl Core {
    /// The folders the caller may see, by name.
    pub async fn vault_list_folders(&self, by: &VaultSession) -> VaultResult<Vec<FolderView>> {
        Ok(self.store.vault_folders_of(&by.user.id, None).await?)
    }

    /// One folder (404 without read access).
    pub async fn vault_get_folder(
        &self,
        by: &VaultSession,
        id: &VaultId,
    ) -> VaultResult<FolderView> {
        self.store
            .vault_folders_of(&by.user.id, Some(id))
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| VaultError::not_found("folder"))
    }

    pub async fn vault_create_folder(
        &self,
        by: &VaultSession,
        new: NewFolder,
    ) -> VaultResult<FolderView> {
        let name = check_name(&new.name)?;
        if let Some(p) = &new.folder_parent_id {
            self.vault_checked(by, Aco::Folder, p, rules::UPDATE)
                .await?;
        }
        let now = sealpost_store::now_ms();
        let folder = FolderRow {
            id: VaultId::new(),
            name,
            created: now,
            modified: now,
            created_by: by.user.id.clone(),
            modified_by: by.user.id.clone(),
        };
        let access = AccessChange {
            permissions: vec![PermissionRow {
                id: VaultId::new(),
                aco: Aco::Folder,
                aco_foreign_key: folder.id.clone(),
                aro: Aro::User,
                aro_foreign_key: by.user.id.clone(),
                kind: rules::OWNER,
                created: now,
                modified: now,
            }],
            tree: TreeChange {
                add: vec![RelationRow {
                    aco: Aco::Folder,
                    item: folder.id.clone(),
                    user: by.user.id.clone(),
                    folder_parent_id: new.folder_parent_id,
                    created: now,
                    modified: now,
                }],
                now,
                ..Default::default()
            },
            ..Default::default()
        };
        self.store.insert_vault_folder(&folder, &access).await?;
        self.vault_get_folder(by, &folder.id).await
    }

    /// Renames a folder (update permission).
    pub async fn vault_update_folder(
        &self,
        by: &VaultSession,
        id: &VaultId,
        name: &str,
    ) -> VaultResult<FolderView> {
        self.vault_checked(by, Aco::Folder, id, rules::UPDATE)
            .await?;
        let mut f = self
            .store
            .vault_folder(id)
            .await?
            .ok_or_else(|| VaultError::not_found("folder"))?;
        f.name = check_name(name)?;
        f.modified = sealpost_store::now_ms();
        f.modified_by = by.user.id.clone();
        self.store.update_vault_folder(&f).await?;
        self.vault_get_folder(by, id).await
    }

    /// Deletes a folder (update permission); what was in it goes to the root of every tree
    /// it was in, as passbolt's (without `cascade`).
    pub async fn vault_delete_folder(&self, by: &VaultSession, id: &VaultId) -> VaultResult<()> {
        self.vault_checked(by, Aco::Folder, id, rules::UPDATE)
            .await?;
        self.store.delete_vault_folder(id).await?;
        Ok(())
    }

    /// `POST /move/folder/{id}.json`: into another folder or to the root of the caller's
    /// tree, as [`Core::vault_move_item`] says.
    pub async fn vault_move_folder(
        &self,
        by: &VaultSession,
        id: &VaultId,
        parent: Option<&VaultId>,
    ) -> VaultResult<()> {
        self.vault_move_item(by, Aco::Folder, id, parent).await
    }

    /// Whether only one user has `item` in their tree.
    async fn vault_personal(&self, item: &VaultId) -> VaultResult<bool> {
        Ok(self.store.vault_relations_of(item).await?.len() == 1)
    }

    /// A move in the caller's tree, as passbolt's: the item must be in their tree (else 404)
    /// and so must the target folder (else 400). Out of a shared folder, and into one, needs
    /// update permission on that folder and on the item (a personal folder needs none). The
    /// other users' trees follow ([`tree::move_changes`]); a folder cannot go into itself or
    /// its descendants (400), and where the move would close a loop in another user's tree
    /// the folder goes to that user's root.
    pub(crate) async fn vault_move_item(
        &self,
        by: &VaultSession,
        aco: Aco,
        id: &VaultId,
        target: Option<&VaultId>,
    ) -> VaultResult<()> {
        let what = match aco {
            Aco::Resource => "resource",
            Aco::Folder => "folder",
        };
        let relations = self.store.vault_relations_of(id).await?;
        let Some(mine) = relations
            .iter()
            .find(|r| r.user == by.user.id && r.aco == aco)
        else {
            return Err(VaultError::not_found(what));
        };
        let original = mine.folder_parent_id.clone();
        if let Some(t) = target {
            let in_tree = self
                .store
                .vault_relations_of(t)
                .await?
                .iter()
                .any(|r| r.user == by.user.id && r.aco == Aco::Folder);
            if !in_tree || t == id {
                return Err(move_refused(
                    "folder_exists",
                    "The folder parent does not exist.",
                ));
            }
        }
        let groups = self.vault_group_set(&by.user.id).await?;
        let item_perms = self.store.vault_permissions(aco, id).await?;
        let can_update_item =
            rules::access(&item_perms, &by.user.id, &groups).is_some_and(|t| t >= rules::UPDATE);
        for (folder, rule, message) in [
            (
                original.as_ref(),
                "You are not allowed to move this item out of its parent folder.",
                "You are not allowed to move this item.",
            ),
            (
                target,
                "You are not allowed to create content into the parent folder.",
                "You are not allowed to move an item in read only into the parent folder.",
            ),
        ] {
            let Some(f) = folder else { continue };
            if self.vault_personal(f).await? {
                continue;
            }
            let perms = self.store.vault_permissions(Aco::Folder, f).await?;
            if rules::access(&perms, &by.user.id, &groups).is_none_or(|t| t < rules::UPDATE) {
                return Err(move_refused("has_folder_access", rule));
            }
            if !can_update_item {
                return Err(move_refused("has_access", message));
            }
        }
        let with_target: HashSet<VaultId> = match target {
            Some(t) => self
                .store
                .vault_relations_of(t)
                .await?
                .into_iter()
                .map(|r| r.user)
                .collect(),
            None => HashSet::new(),
        };
        let mut moves = tree::move_changes(id, &relations, original.as_ref(), target, &with_target);
        if aco == Aco::Folder {
            // No loop in any tree the move changes: refused for the caller, the root for others.
            let mut keep = Vec::with_capacity(moves.len());
            for (item, user, parent) in moves {
                let mut parents: HashMap<VaultId, Option<VaultId>> = self
                    .store
                    .vault_tree_of(&user)
                    .await?
                    .into_iter()
                    .filter(|r| r.aco == Aco::Folder)
                    .map(|r| (r.item, r.folder_parent_id))
                    .collect();
                parents.insert(item.clone(), parent.clone());
                if tree::on_cycle(&parents).contains(&item) {
                    if user == by.user.id {
                        return Err(move_refused(
                            "cycle",
                            "The folder cannot be moved into one of its descendants.",
                        ));
                    }
                    keep.push((item, user, None));
                } else {
                    keep.push((item, user, parent));
                }
            }
            moves = keep;
        }
        self.store
            .apply_vault_tree(&TreeChange {
                moves,
                now: sealpost_store::now_ms(),
                ..Default::default()
            })
            .await?;
        Ok(())
    }

    /// What an access change of `item` does to trees: the users who gain it place it
    /// ([`tree::add_for_user`]), those who lose it lose it (and, a folder, its content goes
    /// to their root).
    pub(crate) async fn vault_tree_for_access(
        &self,
        aco: Aco,
        item: &VaultId,
        added: &[VaultId],
        removed: &[VaultId],
        operator: &VaultId,
        now: Millis,
    ) -> VaultResult<TreeChange> {
        let mut change = TreeChange {
            remove: removed.iter().map(|u| (item.clone(), u.clone())).collect(),
            now,
            ..Default::default()
        };
        if added.is_empty() {
            return Ok(change);
        }
        let places: HashMap<VaultId, Vec<RelationRow>> =
            [(item.clone(), self.store.vault_relations_of(item).await?)].into();
        for u in added {
            let folders: HashSet<VaultId> = self
                .store
                .vault_tree_of(u)
                .await?
                .into_iter()
                .filter(|r| r.aco == Aco::Folder)
                .map(|r| r.item)
                .collect();
            tree::add_for_user(
                &mut change,
                u,
                &[(aco, item.clone())],
                &places,
                &folders,
                operator,
                now,
            );
        }
        Ok(change)
    }

    /// `PUT /share/folder/{id}.json` (owner): folders carry no secrets.
    pub async fn vault_share_folder(
        &self,
        by: &VaultSession,
        id: &VaultId,
        changes: &[ShareChange],
    ) -> VaultResult<()> {
        if changes.len() > MAX_LIST {
            return Err(VaultError::field(
                "permissions",
                "maxCount",
                "Too many permissions.",
            ));
        }
        let current = self
            .vault_checked(by, Aco::Folder, id, rules::OWNER)
            .await?;
        self.vault_check_aros(changes).await?;
        let now = sealpost_store::now_ms();
        let after = rules::apply_share(&current, changes, Aco::Folder, id, now)?;
        let before_users = self.vault_users_with_access(&current).await?;
        let after_users = self.vault_users_with_access(&after).await?;
        let (added, removed) = rules::access_diff(&before_users, &after_users);
        let tree = self
            .vault_tree_for_access(Aco::Folder, id, &added, &removed, &by.user.id, now)
            .await?;
        self.store
            .apply_vault_access(
                Aco::Folder,
                id,
                &AccessChange {
                    permissions: after,
                    tree,
                    ..Default::default()
                },
            )
            .await?;
        Ok(())
    }
}
