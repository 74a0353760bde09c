//! Folders: a folder has its own permissions (as a resource has, without secrets); its
//! creator owns it. What is in it is placed by `folder_parent_id`; a user sees a parent only
//! when they have access to it.

use super::rules::{self, ShareChange};
use super::{MAX_LIST, MAX_NAME, VaultError, VaultId, VaultResult, VaultSession};
use crate::Core;
use sealpost_store::vault::{AccessChange, Aco, Aro, FolderRow, PermissionRow};

/// `POST /folders.json`.
#[derive(Debug, Clone)]
pub struct NewFolder {
    pub name: String,
    pub folder_parent_id: Option<VaultId>,
}

/// A folder as the caller sees it, with their permission type.
#[derive(Debug, Clone)]
pub struct FolderView {
    pub folder: FolderRow,
    pub permission: i64,
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

impl Core {
    pub async fn vault_list_folders(&self, by: &VaultSession) -> VaultResult<Vec<FolderView>> {
        Ok(self
            .store
            .vault_folders_of(&by.user.id)
            .await?
            .into_iter()
            .map(|(folder, permission)| FolderView { folder, permission })
            .collect())
    }

    pub async fn vault_get_folder(
        &self,
        by: &VaultSession,
        id: &VaultId,
    ) -> VaultResult<FolderView> {
        let perms = self.vault_checked(by, Aco::Folder, id, rules::READ).await?;
        let groups = self.vault_group_set(&by.user.id).await?;
        let folder = self
            .store
            .vault_folder(id)
            .await?
            .ok_or_else(|| VaultError::not_found("folder"))?;
        Ok(FolderView {
            folder,
            permission: rules::access(&perms, &by.user.id, &groups).unwrap_or(rules::READ),
        })
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
            folder_parent_id: new.folder_parent_id,
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
            ..Default::default()
        };
        self.store.insert_vault_folder(&folder, &access).await?;
        Ok(FolderView {
            folder,
            permission: rules::OWNER,
        })
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

    /// Deletes a folder (update permission); what was in it moves to its parent.
    pub async fn vault_delete_folder(&self, by: &VaultSession, id: &VaultId) -> VaultResult<()> {
        self.vault_checked(by, Aco::Folder, id, rules::UPDATE)
            .await?;
        self.store.delete_vault_folder(id).await?;
        Ok(())
    }

    /// `POST /move/folder/{id}.json`: under another folder (update permission on both) or to
    /// the root. A folder cannot go into itself or its own descendants.
    pub async fn vault_move_folder(
        &self,
        by: &VaultSession,
        id: &VaultId,
        parent: Option<&VaultId>,
    ) -> VaultResult<()> {
        self.vault_checked(by, Aco::Folder, id, rules::UPDATE)
            .await?;
        if let Some(p) = parent {
            self.vault_checked(by, Aco::Folder, p, rules::UPDATE)
                .await?;
            // Walk up from the new parent: meeting `id` would make a cycle.
            let mut at = Some(p.clone());
            let mut steps = 0;
            while let Some(cur) = at {
                if &cur == id {
                    return Err(VaultError::field(
                        "folder_parent_id",
                        "no_cycle",
                        "A folder cannot be moved into itself.",
                    ));
                }
                steps += 1;
                if steps > MAX_LIST {
                    break;
                }
                at = self
                    .store
                    .vault_folder(&cur)
                    .await?
                    .and_then(|f| f.folder_parent_id);
            }
        }
        let mut f = self
            .store
            .vault_folder(id)
            .await?
            .ok_or_else(|| VaultError::not_found("folder"))?;
        f.folder_parent_id = parent.cloned();
        f.modified = sealpost_store::now_ms();
        f.modified_by = by.user.id.clone();
        self.store.update_vault_folder(&f).await?;
        Ok(())
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
        let after =
            rules::apply_share(&current, changes, Aco::Folder, id, sealpost_store::now_ms())?;
        self.store
            .apply_vault_access(
                Aco::Folder,
                id,
                &AccessChange {
                    permissions: after,
                    ..Default::default()
                },
            )
            .await?;
        Ok(())
    }
}
