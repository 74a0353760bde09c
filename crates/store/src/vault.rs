//! Rows of the password vault (passbolt API): vault users (each linked to a mail user), their
//! public OpenPGP keys, single-use tokens and sessions (stored as SHA-256 hashes), resources,
//! their per-user encrypted secrets, permissions, groups, folders, favorites and comments.
//!
//! The store only applies what `sealpost_core::vault` decided: who may see or change what is
//! never computed here. Both engines run the same statements (`$N`, `RETURNING`, `ON
//! CONFLICT`); ids are UUID strings ([`VaultId`]).

use crate::db::{read, write_tx};
use crate::direct::Arg;
use crate::model::Millis;
use crate::rows::Cols;
use crate::{Result, Store, conflict};
use std::fmt;

/// A vault object id: a lower-case UUID, as passbolt's clients expect.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct VaultId(String);

impl VaultId {
    /// A new random (version 4) UUID.
    pub fn new() -> Self {
        use rand::RngCore;
        let mut b = [0u8; 16];
        rand::thread_rng().fill_bytes(&mut b);
        b[6] = (b[6] & 0x0f) | 0x40;
        b[8] = (b[8] & 0x3f) | 0x80;
        let h = hex::encode(b);
        VaultId(format!(
            "{}-{}-{}-{}-{}",
            &h[..8],
            &h[8..12],
            &h[12..16],
            &h[16..20],
            &h[20..]
        ))
    }

    /// Parses a client-supplied UUID (any version, case-insensitive).
    pub fn parse(s: &str) -> Option<Self> {
        let b = s.as_bytes();
        let ok = b.len() == 36
            && b.iter().enumerate().all(|(i, c)| match i {
                8 | 13 | 18 | 23 => *c == b'-',
                _ => c.is_ascii_hexdigit(),
            });
        ok.then(|| VaultId(s.to_ascii_lowercase()))
    }

    /// Wraps an id read back from storage (or one of passbolt's fixed ids).
    pub fn from_stored(s: impl Into<String>) -> Self {
        VaultId(s.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for VaultId {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Display for VaultId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl serde::Serialize for VaultId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

fn vid(r: &impl Cols, c: &str) -> Result<VaultId> {
    Ok(VaultId(r.string(c)?))
}

fn opt_vid(r: &impl Cols, c: &str) -> Result<Option<VaultId>> {
    Ok(r.opt_string(c)?.map(VaultId))
}

/// A vault user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VaultUserRow {
    pub id: VaultId,
    pub mail_user: crate::model::ObjectId,
    pub username: String,
    /// `admin` or `user`.
    pub role: String,
    pub first_name: String,
    pub last_name: String,
    /// Set up (a key registered).
    pub active: bool,
    pub created: Millis,
    pub modified: Millis,
    pub created_by: Option<VaultId>,
    pub last_logged_in: Option<Millis>,
}

const USER_COLS: &str = "id, mail_user_id, username, role, first_name, last_name, active, created, modified, created_by, last_logged_in";

fn user_row(r: &impl Cols) -> Result<VaultUserRow> {
    Ok(VaultUserRow {
        id: vid(r, "id")?,
        mail_user: crate::rows::id(r, "mail_user_id")?,
        username: r.string("username")?,
        role: r.string("role")?,
        first_name: r.string("first_name")?,
        last_name: r.string("last_name")?,
        active: r.boolean("active")?,
        created: r.i64("created")?,
        modified: r.i64("modified")?,
        created_by: opt_vid(r, "created_by")?,
        last_logged_in: r.opt_i64("last_logged_in")?,
    })
}

/// A user's registered public key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GpgkeyRow {
    pub id: VaultId,
    pub user: VaultId,
    pub armored_key: String,
    /// Upper-case hex.
    pub fingerprint: String,
    /// The last 8 hex digits (upper case), as passbolt shows it.
    pub key_id: String,
    pub bits: i64,
    /// `RSA`, `ECDH`, `EDDSA`, ...
    pub key_type: String,
    pub uid: String,
    pub key_created: Millis,
    pub expires: Option<Millis>,
    pub created: Millis,
    pub modified: Millis,
}

const KEY_COLS: &str = "id, user_id, armored_key, fingerprint, key_id, bits, key_type, uid, key_created, expires, created, modified";

fn key_row(r: &impl Cols) -> Result<GpgkeyRow> {
    Ok(GpgkeyRow {
        id: vid(r, "id")?,
        user: vid(r, "user_id")?,
        armored_key: r.string("armored_key")?,
        fingerprint: r.string("fingerprint")?,
        key_id: r.string("key_id")?,
        bits: r.i64("bits")?,
        key_type: r.string("key_type")?,
        uid: r.string("uid")?,
        key_created: r.i64("key_created")?,
        expires: r.opt_i64("expires")?,
        created: r.i64("created")?,
        modified: r.i64("modified")?,
    })
}

/// A resource (v4 mode: its metadata in clear).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceRow {
    pub id: VaultId,
    pub name: String,
    pub username: Option<String>,
    pub uri: Option<String>,
    pub description: Option<String>,
    pub resource_type_id: VaultId,
    pub created: Millis,
    pub modified: Millis,
    pub created_by: VaultId,
    pub modified_by: VaultId,
}

const RESOURCE_COLS: &str = "r.id, r.name, r.username, r.uri, r.description, r.resource_type_id, r.created, r.modified, r.created_by, r.modified_by";

fn resource_row(r: &impl Cols) -> Result<ResourceRow> {
    Ok(ResourceRow {
        id: vid(r, "id")?,
        name: r.string("name")?,
        username: r.opt_string("username")?,
        uri: r.opt_string("uri")?,
        description: r.opt_string("description")?,
        resource_type_id: vid(r, "resource_type_id")?,
        created: r.i64("created")?,
        modified: r.i64("modified")?,
        created_by: vid(r, "created_by")?,
        modified_by: vid(r, "modified_by")?,
    })
}

/// What a resource listing reads besides the resources (passbolt's `contain[...]`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ListingWants {
    /// The caller's own permission rows (direct and through groups).
    pub mine: bool,
    /// Every permission on each resource.
    pub permissions: bool,
    /// The caller's favorite mark.
    pub favorite: bool,
    /// The caller's copy of the secret.
    pub secret: bool,
}

/// One resource of a listing, with the rows its [`ListingWants`] asked for.
#[derive(Debug, Clone)]
pub struct ListedResource {
    pub resource: ResourceRow,
    /// The highest permission type the caller holds on it.
    pub permission: i64,
    /// Where it is in the caller's tree.
    pub folder_parent_id: Option<VaultId>,
    /// Only one user has it.
    pub personal: bool,
    pub mine: Vec<PermissionRow>,
    pub permissions: Vec<PermissionRow>,
    pub favorite: Option<FavoriteRow>,
    pub secret: Option<SecretRow>,
}

/// One user's encrypted copy of a resource's secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretRow {
    pub id: VaultId,
    pub resource: VaultId,
    pub user: VaultId,
    /// An armored OpenPGP message.
    pub data: String,
    pub created: Millis,
    pub modified: Millis,
}

fn secret_row(r: &impl Cols) -> Result<SecretRow> {
    Ok(SecretRow {
        id: vid(r, "id")?,
        resource: vid(r, "resource_id")?,
        user: vid(r, "user_id")?,
        data: r.string("data")?,
        created: r.i64("created")?,
        modified: r.i64("modified")?,
    })
}

/// What a permission is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Aco {
    Resource,
    Folder,
}

impl Aco {
    pub fn as_str(self) -> &'static str {
        match self {
            Aco::Resource => "Resource",
            Aco::Folder => "Folder",
        }
    }
    fn column(self) -> &'static str {
        match self {
            Aco::Resource => "resource_id",
            Aco::Folder => "folder_id",
        }
    }
}

/// Who a permission is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Aro {
    User,
    Group,
}

impl Aro {
    pub fn as_str(self) -> &'static str {
        match self {
            Aro::User => "User",
            Aro::Group => "Group",
        }
    }
    pub fn parse(s: &str) -> Option<Aro> {
        match s {
            "User" => Some(Aro::User),
            "Group" => Some(Aro::Group),
            _ => None,
        }
    }
}

/// A permission row: `aro` (a user or a group) has `kind` (1, 7, 15) on `aco`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PermissionRow {
    pub id: VaultId,
    pub aco: Aco,
    pub aco_foreign_key: VaultId,
    pub aro: Aro,
    pub aro_foreign_key: VaultId,
    pub kind: i64,
    pub created: Millis,
    pub modified: Millis,
}

const PERM_COLS: &str =
    "id, aco, resource_id, folder_id, aro, user_id, group_id, type, created, modified";

fn perm_row(r: &impl Cols) -> Result<PermissionRow> {
    let aco = match r.string("aco")?.as_str() {
        "Folder" => Aco::Folder,
        _ => Aco::Resource,
    };
    let aro = Aro::parse(&r.string("aro")?).unwrap_or(Aro::User);
    let aco_key = match aco {
        Aco::Resource => r.opt_string("resource_id")?,
        Aco::Folder => r.opt_string("folder_id")?,
    };
    let aro_key = match aro {
        Aro::User => r.opt_string("user_id")?,
        Aro::Group => r.opt_string("group_id")?,
    };
    Ok(PermissionRow {
        id: vid(r, "id")?,
        aco,
        aco_foreign_key: VaultId(
            aco_key.ok_or_else(|| crate::rows::corrupt("permission without aco"))?,
        ),
        aro,
        aro_foreign_key: VaultId(
            aro_key.ok_or_else(|| crate::rows::corrupt("permission without aro"))?,
        ),
        kind: r.i64("type")?,
        created: r.i64("created")?,
        modified: r.i64("modified")?,
    })
}

/// A group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupRow {
    pub id: VaultId,
    pub name: String,
    pub created: Millis,
    pub modified: Millis,
    pub created_by: VaultId,
    pub modified_by: VaultId,
}

fn group_row(r: &impl Cols) -> Result<GroupRow> {
    Ok(GroupRow {
        id: vid(r, "id")?,
        name: r.string("name")?,
        created: r.i64("created")?,
        modified: r.i64("modified")?,
        created_by: vid(r, "created_by")?,
        modified_by: vid(r, "modified_by")?,
    })
}

/// A membership.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupUserRow {
    pub id: VaultId,
    pub group: VaultId,
    pub user: VaultId,
    pub is_admin: bool,
    pub created: Millis,
}

fn group_user_row(r: &impl Cols) -> Result<GroupUserRow> {
    Ok(GroupUserRow {
        id: vid(r, "id")?,
        group: vid(r, "group_id")?,
        user: vid(r, "user_id")?,
        is_admin: r.boolean("is_admin")?,
        created: r.i64("created")?,
    })
}

/// A folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FolderRow {
    pub id: VaultId,
    pub name: String,
    pub created: Millis,
    pub modified: Millis,
    pub created_by: VaultId,
    pub modified_by: VaultId,
}

fn folder_row(r: &impl Cols) -> Result<FolderRow> {
    Ok(FolderRow {
        id: vid(r, "id")?,
        name: r.string("name")?,
        created: r.i64("created")?,
        modified: r.i64("modified")?,
        created_by: vid(r, "created_by")?,
        modified_by: vid(r, "modified_by")?,
    })
}

/// One user's placement of a resource or folder in their own folder tree (passbolt's
/// `folders_relations`): every user with access to an item has one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelationRow {
    pub aco: Aco,
    pub item: VaultId,
    pub user: VaultId,
    /// `None`: at the root of the user's tree.
    pub folder_parent_id: Option<VaultId>,
    pub created: Millis,
    pub modified: Millis,
}

const RELATION_COLS: &str =
    "foreign_model, foreign_id, user_id, folder_parent_id, created, modified";

fn relation_row(r: &impl Cols) -> Result<RelationRow> {
    Ok(RelationRow {
        aco: if r.string("foreign_model")? == "Folder" {
            Aco::Folder
        } else {
            Aco::Resource
        },
        item: vid(r, "foreign_id")?,
        user: vid(r, "user_id")?,
        folder_parent_id: opt_vid(r, "folder_parent_id")?,
        created: r.i64("created")?,
        modified: r.i64("modified")?,
    })
}

/// Changes to the users' folder trees, as core computed them.
#[derive(Debug, Clone, Default)]
pub struct TreeChange {
    /// New placements (kept as they are when the user has the item already).
    pub add: Vec<RelationRow>,
    /// (item, user): the user no longer has the item; what was in it (a folder) goes to
    /// the root of their tree.
    pub remove: Vec<(VaultId, VaultId)>,
    /// (item, user, new parent).
    pub moves: Vec<(VaultId, VaultId, Option<VaultId>)>,
    /// When the moves happened.
    pub now: Millis,
}

/// A folder as one user sees it: their placement of it and whether it is personal.
#[derive(Debug, Clone)]
pub struct ListedFolder {
    pub folder: FolderRow,
    /// The highest permission type the user holds on it.
    pub permission: i64,
    pub folder_parent_id: Option<VaultId>,
    /// Only one user has it.
    pub personal: bool,
}

/// Applies a [`TreeChange`] inside a `write_tx!` transaction `$tx`.
macro_rules! apply_tree {
    ($tx:ident, $c:expr) => {{
        let c: &TreeChange = $c;
        for (item, user) in &c.remove {
            sqlx::query("DELETE FROM vault_folders_relations WHERE foreign_id = $1 AND user_id = $2")
                .bind(item.as_str())
                .bind(user.as_str())
                .execute(&mut *$tx)
                .await?;
            sqlx::query("UPDATE vault_folders_relations SET folder_parent_id = NULL WHERE user_id = $2 AND folder_parent_id = $1")
                .bind(item.as_str())
                .bind(user.as_str())
                .execute(&mut *$tx)
                .await?;
        }
        for r in &c.add {
            sqlx::query(&format!(
                "INSERT INTO vault_folders_relations ({RELATION_COLS}) VALUES ($1,$2,$3,$4,$5,$6) \
                 ON CONFLICT (foreign_id, user_id) DO NOTHING"
            ))
            .bind(r.aco.as_str())
            .bind(r.item.as_str())
            .bind(r.user.as_str())
            .bind(r.folder_parent_id.as_ref().map(VaultId::as_str))
            .bind(r.created)
            .bind(r.modified)
            .execute(&mut *$tx)
            .await?;
        }
        for (item, user, parent) in &c.moves {
            sqlx::query("UPDATE vault_folders_relations SET folder_parent_id = $3, modified = $4 WHERE foreign_id = $1 AND user_id = $2")
                .bind(item.as_str())
                .bind(user.as_str())
                .bind(parent.as_ref().map(VaultId::as_str))
                .bind(c.now)
                .execute(&mut *$tx)
                .await?;
        }
    }};
}

/// A favorite mark.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FavoriteRow {
    pub id: VaultId,
    pub user: VaultId,
    pub resource: VaultId,
    pub created: Millis,
}

fn favorite_row(r: &impl Cols) -> Result<FavoriteRow> {
    Ok(FavoriteRow {
        id: vid(r, "id")?,
        user: vid(r, "user_id")?,
        resource: vid(r, "resource_id")?,
        created: r.i64("created")?,
    })
}

/// A comment on a resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommentRow {
    pub id: VaultId,
    pub resource: VaultId,
    pub parent_id: Option<VaultId>,
    pub content: String,
    pub created: Millis,
    pub modified: Millis,
    pub created_by: VaultId,
    pub modified_by: VaultId,
}

/// A session: its user, CSRF token, and whether MFA was passed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VaultSessionRow {
    pub user: VaultId,
    pub csrf: String,
    pub mfa_ok: bool,
    pub expires: Millis,
}

/// The complete new access list of a resource or folder, as core computed it: the
/// permissions to keep or add (all of them), and the secret copies to write and to remove.
#[derive(Debug, Clone, Default)]
pub struct AccessChange {
    pub permissions: Vec<PermissionRow>,
    /// Upserted by (resource, user).
    pub secrets: Vec<SecretRow>,
    pub remove_secrets_of: Vec<VaultId>,
    /// The trees of the users who gain or lose the object.
    pub tree: TreeChange,
}

/// A membership change of a group, as core computed it.
#[derive(Debug, Clone, Default)]
pub struct GroupChange {
    pub name: Option<String>,
    pub add: Vec<GroupUserRow>,
    /// Membership rows whose admin flag changes: (user, is_admin).
    pub set_admin: Vec<(VaultId, bool)>,
    pub remove: Vec<VaultId>,
    /// New secret copies for users who gain access.
    pub secrets: Vec<SecretRow>,
    /// (resource, user) copies to remove: users who lose access.
    pub remove_secrets: Vec<(VaultId, VaultId)>,
    /// The trees of the users who gain or lose resources and folders.
    pub tree: TreeChange,
}

impl Store {
    // ---- users ----

    pub async fn insert_vault_user(&self, u: &VaultUserRow) -> Result<()> {
        write_tx!(self, tx => {
            sqlx::query(&format!("INSERT INTO vault_users ({USER_COLS}) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11)"))
                .bind(u.id.as_str())
                .bind(u.mail_user.as_str())
                .bind(&u.username)
                .bind(&u.role)
                .bind(&u.first_name)
                .bind(&u.last_name)
                .bind(u.active)
                .bind(u.created)
                .bind(u.modified)
                .bind(u.created_by.as_ref().map(VaultId::as_str))
                .bind(u.last_logged_in)
                .execute(&mut *tx)
                .await
                .map_err(|e| conflict(e, "vault user"))?;
        });
        Ok(())
    }

    pub async fn vault_user(&self, id: &VaultId) -> Result<Option<VaultUserRow>> {
        read!(self, db => {
            sqlx::query(&format!("SELECT {USER_COLS} FROM vault_users WHERE id = $1"))
                .bind(id.as_str())
                .fetch_optional(db)
                .await?
                .map(|r| user_row(&r))
                .transpose()
        })
    }

    pub async fn vault_user_by_mail_user(
        &self,
        mail_user: &crate::model::ObjectId,
    ) -> Result<Option<VaultUserRow>> {
        read!(self, db => {
            sqlx::query(&format!("SELECT {USER_COLS} FROM vault_users WHERE mail_user_id = $1"))
                .bind(mail_user.as_str())
                .fetch_optional(db)
                .await?
                .map(|r| user_row(&r))
                .transpose()
        })
    }

    /// Every vault user, by username.
    pub async fn list_vault_users(&self) -> Result<Vec<VaultUserRow>> {
        read!(self, db => {
            sqlx::query(&format!("SELECT {USER_COLS} FROM vault_users ORDER BY username"))
                .fetch_all(db)
                .await?
                .iter()
                .map(user_row)
                .collect()
        })
    }

    /// Marks the user set up (and stores the key) in one transaction, consuming nothing.
    pub async fn activate_vault_user(&self, key: &GpgkeyRow, now: Millis) -> Result<()> {
        write_tx!(self, tx => {
            sqlx::query("DELETE FROM vault_gpgkeys WHERE user_id = $1")
                .bind(key.user.as_str())
                .execute(&mut *tx)
                .await?;
            sqlx::query(&format!("INSERT INTO vault_gpgkeys ({KEY_COLS}) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12)"))
                .bind(key.id.as_str())
                .bind(key.user.as_str())
                .bind(&key.armored_key)
                .bind(&key.fingerprint)
                .bind(&key.key_id)
                .bind(key.bits)
                .bind(&key.key_type)
                .bind(&key.uid)
                .bind(key.key_created)
                .bind(key.expires)
                .bind(key.created)
                .bind(key.modified)
                .execute(&mut *tx)
                .await
                .map_err(|e| conflict(e, "gpgkey"))?;
            sqlx::query("UPDATE vault_users SET active = TRUE, modified = $2 WHERE id = $1")
                .bind(key.user.as_str())
                .bind(now)
                .execute(&mut *tx)
                .await?;
        });
        Ok(())
    }

    pub async fn touch_vault_login(&self, user: &VaultId, now: Millis) -> Result<()> {
        write_tx!(self, tx => {
            sqlx::query("UPDATE vault_users SET last_logged_in = $2 WHERE id = $1")
                .bind(user.as_str())
                .bind(now)
                .execute(&mut *tx)
                .await?;
        });
        Ok(())
    }

    pub async fn update_vault_user(
        &self,
        user: &VaultId,
        first_name: &str,
        last_name: &str,
        role: &str,
        now: Millis,
    ) -> Result<()> {
        write_tx!(self, tx => {
            sqlx::query("UPDATE vault_users SET first_name = $2, last_name = $3, role = $4, modified = $5 WHERE id = $1")
                .bind(user.as_str())
                .bind(first_name)
                .bind(last_name)
                .bind(role)
                .bind(now)
                .execute(&mut *tx)
                .await?;
        });
        Ok(())
    }

    /// Deletes a vault user; permissions, memberships, secrets, keys and sessions go with it.
    pub async fn delete_vault_user(&self, user: &VaultId) -> Result<bool> {
        let found = write_tx!(self, tx => {
            sqlx::query("DELETE FROM vault_users WHERE id = $1")
                .bind(user.as_str())
                .execute(&mut *tx)
                .await?
                .rows_affected()
                > 0
        });
        Ok(found)
    }

    // ---- keys ----

    pub async fn vault_gpgkey_of(&self, user: &VaultId) -> Result<Option<GpgkeyRow>> {
        read!(self, db => {
            sqlx::query(&format!("SELECT {KEY_COLS} FROM vault_gpgkeys WHERE user_id = $1"))
                .bind(user.as_str())
                .fetch_optional(db)
                .await?
                .map(|r| key_row(&r))
                .transpose()
        })
    }

    pub async fn vault_gpgkey(&self, id: &VaultId) -> Result<Option<GpgkeyRow>> {
        read!(self, db => {
            sqlx::query(&format!("SELECT {KEY_COLS} FROM vault_gpgkeys WHERE id = $1"))
                .bind(id.as_str())
                .fetch_optional(db)
                .await?
                .map(|r| key_row(&r))
                .transpose()
        })
    }

    pub async fn vault_gpgkey_by_fingerprint(
        &self,
        fingerprint: &str,
    ) -> Result<Option<GpgkeyRow>> {
        read!(self, db => {
            sqlx::query(&format!("SELECT {KEY_COLS} FROM vault_gpgkeys WHERE fingerprint = $1"))
                .bind(fingerprint)
                .fetch_optional(db)
                .await?
                .map(|r| key_row(&r))
                .transpose()
        })
    }

    pub async fn list_vault_gpgkeys(&self) -> Result<Vec<GpgkeyRow>> {
        read!(self, db => {
            sqlx::query(&format!("SELECT {KEY_COLS} FROM vault_gpgkeys ORDER BY created, id"))
                .fetch_all(db)
                .await?
                .iter()
                .map(key_row)
                .collect()
        })
    }

    // ---- tokens ----

    /// Stores a single-use token (by its hash) and drops the user's expired ones.
    pub async fn insert_vault_token(
        &self,
        hash: &str,
        user: &VaultId,
        kind: &str,
        now: Millis,
        expires: Millis,
    ) -> Result<()> {
        write_tx!(self, tx => {
            sqlx::query("DELETE FROM vault_tokens WHERE user_id = $1 AND expires <= $2")
                .bind(user.as_str())
                .bind(now)
                .execute(&mut *tx)
                .await?;
            sqlx::query("INSERT INTO vault_tokens (token_hash, user_id, kind, created, expires) VALUES ($1,$2,$3,$4,$5)")
                .bind(hash)
                .bind(user.as_str())
                .bind(kind)
                .bind(now)
                .bind(expires)
                .execute(&mut *tx)
                .await?;
        });
        Ok(())
    }

    /// The user of an unexpired token of `kind`, without using it.
    pub async fn vault_token(
        &self,
        hash: &str,
        kind: &str,
        now: Millis,
    ) -> Result<Option<VaultId>> {
        read!(self, db => {
            sqlx::query("SELECT user_id FROM vault_tokens WHERE token_hash = $1 AND kind = $2 AND expires > $3")
                .bind(hash)
                .bind(kind)
                .bind(now)
                .fetch_optional(db)
                .await?
                .map(|r| vid(&r, "user_id"))
                .transpose()
        })
    }

    /// Uses a token: deletes it and answers its user when it was unexpired and of `kind`.
    /// Atomic, so a token works once even when presented twice at the same moment.
    pub async fn take_vault_token(
        &self,
        hash: &str,
        kind: &str,
        now: Millis,
    ) -> Result<Option<VaultId>> {
        let user = write_tx!(self, tx => {
            sqlx::query("DELETE FROM vault_tokens WHERE token_hash = $1 AND kind = $2 RETURNING user_id, expires")
                .bind(hash)
                .bind(kind)
                .fetch_optional(&mut *tx)
                .await?
                .map(|r| Ok::<_, crate::Error>((vid(&r, "user_id")?, r.i64("expires")?)))
                .transpose()?
        });
        Ok(user.filter(|(_, expires)| *expires > now).map(|(u, _)| u))
    }

    // ---- sessions ----

    pub async fn insert_vault_session(
        &self,
        hash: &str,
        user: &VaultId,
        csrf: &str,
        mfa_ok: bool,
        now: Millis,
        expires: Millis,
    ) -> Result<()> {
        write_tx!(self, tx => {
            sqlx::query("DELETE FROM vault_sessions WHERE user_id = $1 AND expires <= $2")
                .bind(user.as_str())
                .bind(now)
                .execute(&mut *tx)
                .await?;
            sqlx::query("INSERT INTO vault_sessions (token_hash, user_id, csrf, mfa_ok, created, expires) VALUES ($1,$2,$3,$4,$5,$6)")
                .bind(hash)
                .bind(user.as_str())
                .bind(csrf)
                .bind(mfa_ok)
                .bind(now)
                .bind(expires)
                .execute(&mut *tx)
                .await?;
        });
        Ok(())
    }

    pub async fn vault_session(&self, hash: &str, now: Millis) -> Result<Option<VaultSessionRow>> {
        read!(self, db => {
            sqlx::query("SELECT user_id, csrf, mfa_ok, expires FROM vault_sessions WHERE token_hash = $1 AND expires > $2")
                .bind(hash)
                .bind(now)
                .fetch_optional(db)
                .await?
                .map(|r| {
                    Ok(VaultSessionRow {
                        user: vid(&r, "user_id")?,
                        csrf: r.string("csrf")?,
                        mfa_ok: r.boolean("mfa_ok")?,
                        expires: r.i64("expires")?,
                    })
                })
                .transpose()
        })
    }

    pub async fn set_vault_session_mfa(&self, hash: &str) -> Result<()> {
        write_tx!(self, tx => {
            sqlx::query("UPDATE vault_sessions SET mfa_ok = TRUE WHERE token_hash = $1")
                .bind(hash)
                .execute(&mut *tx)
                .await?;
        });
        Ok(())
    }

    pub async fn delete_vault_session(&self, hash: &str) -> Result<()> {
        write_tx!(self, tx => {
            sqlx::query("DELETE FROM vault_sessions WHERE token_hash = $1")
                .bind(hash)
                .execute(&mut *tx)
                .await?;
        });
        Ok(())
    }

    // ---- access ----

    /// The groups the user is a member of.
    pub async fn vault_groups_of(&self, user: &VaultId) -> Result<Vec<VaultId>> {
        read!(self, db => {
            sqlx::query("SELECT group_id FROM vault_groups_users WHERE user_id = $1")
                .bind(user.as_str())
                .fetch_all(db)
                .await?
                .iter()
                .map(|r| vid(r, "group_id"))
                .collect()
        })
    }

    /// Every permission on one resource or folder.
    pub async fn vault_permissions(&self, aco: Aco, id: &VaultId) -> Result<Vec<PermissionRow>> {
        read!(self, db => {
            sqlx::query(&format!("SELECT {PERM_COLS} FROM vault_permissions WHERE {} = $1 ORDER BY created, id", aco.column()))
                .bind(id.as_str())
                .fetch_all(db)
                .await?
                .iter()
                .map(perm_row)
                .collect()
        })
    }

    /// The permissions `user` holds directly or through a group, on every object of `aco`.
    pub async fn vault_permissions_of_user(
        &self,
        aco: Aco,
        user: &VaultId,
    ) -> Result<Vec<PermissionRow>> {
        read!(self, db => {
            sqlx::query(&format!(
                "SELECT {PERM_COLS} FROM vault_permissions WHERE aco = $2 AND (user_id = $1 OR group_id IN \
                 (SELECT group_id FROM vault_groups_users WHERE user_id = $1))"
            ))
            .bind(user.as_str())
            .bind(aco.as_str())
            .fetch_all(db)
            .await?
            .iter()
            .map(perm_row)
            .collect()
        })
    }

    /// The permissions of one group, on everything.
    pub async fn vault_permissions_of_group(&self, group: &VaultId) -> Result<Vec<PermissionRow>> {
        read!(self, db => {
            sqlx::query(&format!("SELECT {PERM_COLS} FROM vault_permissions WHERE group_id = $1"))
                .bind(group.as_str())
                .fetch_all(db)
                .await?
                .iter()
                .map(perm_row)
                .collect()
        })
    }

    /// Every permission held directly by one user.
    pub async fn vault_permissions_held_by(&self, user: &VaultId) -> Result<Vec<PermissionRow>> {
        read!(self, db => {
            sqlx::query(&format!("SELECT {PERM_COLS} FROM vault_permissions WHERE user_id = $1"))
                .bind(user.as_str())
                .fetch_all(db)
                .await?
                .iter()
                .map(perm_row)
                .collect()
        })
    }

    /// Replaces the access list of a resource or folder with `change` in one transaction.
    pub async fn apply_vault_access(
        &self,
        aco: Aco,
        id: &VaultId,
        change: &AccessChange,
    ) -> Result<()> {
        write_tx!(self, tx => {
            sqlx::query(&format!("DELETE FROM vault_permissions WHERE {} = $1", aco.column()))
                .bind(id.as_str())
                .execute(&mut *tx)
                .await?;
            for p in &change.permissions {
                let (res, fol) = match p.aco {
                    Aco::Resource => (Some(p.aco_foreign_key.as_str()), None),
                    Aco::Folder => (None, Some(p.aco_foreign_key.as_str())),
                };
                let (usr, grp) = match p.aro {
                    Aro::User => (Some(p.aro_foreign_key.as_str()), None),
                    Aro::Group => (None, Some(p.aro_foreign_key.as_str())),
                };
                sqlx::query(&format!("INSERT INTO vault_permissions ({PERM_COLS}) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10)"))
                    .bind(p.id.as_str())
                    .bind(p.aco.as_str())
                    .bind(res)
                    .bind(fol)
                    .bind(p.aro.as_str())
                    .bind(usr)
                    .bind(grp)
                    .bind(p.kind)
                    .bind(p.created)
                    .bind(p.modified)
                    .execute(&mut *tx)
                    .await?;
            }
            for u in &change.remove_secrets_of {
                sqlx::query("DELETE FROM vault_secrets WHERE resource_id = $1 AND user_id = $2")
                    .bind(id.as_str())
                    .bind(u.as_str())
                    .execute(&mut *tx)
                    .await?;
            }
            apply_tree!(tx, &change.tree);
            for s in &change.secrets {
                sqlx::query(
                    "INSERT INTO vault_secrets (id, resource_id, user_id, data, created, modified) VALUES ($1,$2,$3,$4,$5,$6) \
                     ON CONFLICT (resource_id, user_id) DO UPDATE SET data = excluded.data, modified = excluded.modified",
                )
                .bind(s.id.as_str())
                .bind(s.resource.as_str())
                .bind(s.user.as_str())
                .bind(&s.data)
                .bind(s.created)
                .bind(s.modified)
                .execute(&mut *tx)
                .await?;
            }
        });
        Ok(())
    }

    // ---- resources ----

    /// Creates a resource with its permissions and secrets in one transaction.
    pub async fn insert_vault_resource(
        &self,
        r: &ResourceRow,
        access: &AccessChange,
    ) -> Result<()> {
        write_tx!(self, tx => {
            sqlx::query(
                "INSERT INTO vault_resources (id, name, username, uri, description, resource_type_id, \
                 created, modified, created_by, modified_by) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10)",
            )
            .bind(r.id.as_str())
            .bind(&r.name)
            .bind(&r.username)
            .bind(&r.uri)
            .bind(&r.description)
            .bind(r.resource_type_id.as_str())
            .bind(r.created)
            .bind(r.modified)
            .bind(r.created_by.as_str())
            .bind(r.modified_by.as_str())
            .execute(&mut *tx)
            .await?;
        });
        self.apply_vault_access(Aco::Resource, &r.id, access).await
    }

    /// Writes the resource's fields (and, when given, the new copies of its secret).
    pub async fn update_vault_resource(
        &self,
        r: &ResourceRow,
        secrets: Option<&[SecretRow]>,
    ) -> Result<()> {
        write_tx!(self, tx => {
            sqlx::query(
                "UPDATE vault_resources SET name = $2, username = $3, uri = $4, description = $5, resource_type_id = $6, \
                 modified = $7, modified_by = $8 WHERE id = $1",
            )
            .bind(r.id.as_str())
            .bind(&r.name)
            .bind(&r.username)
            .bind(&r.uri)
            .bind(&r.description)
            .bind(r.resource_type_id.as_str())
            .bind(r.modified)
            .bind(r.modified_by.as_str())
            .execute(&mut *tx)
            .await?;
            if let Some(secrets) = secrets {
                sqlx::query("DELETE FROM vault_secrets WHERE resource_id = $1")
                    .bind(r.id.as_str())
                    .execute(&mut *tx)
                    .await?;
                for s in secrets {
                    sqlx::query("INSERT INTO vault_secrets (id, resource_id, user_id, data, created, modified) VALUES ($1,$2,$3,$4,$5,$6)")
                        .bind(s.id.as_str())
                        .bind(s.resource.as_str())
                        .bind(s.user.as_str())
                        .bind(&s.data)
                        .bind(s.created)
                        .bind(s.modified)
                        .execute(&mut *tx)
                        .await?;
                }
            }
        });
        Ok(())
    }

    pub async fn vault_resource(&self, id: &VaultId) -> Result<Option<ResourceRow>> {
        read!(self, db => {
            sqlx::query(&format!("SELECT {RESOURCE_COLS} FROM vault_resources r WHERE r.id = $1"))
                .bind(id.as_str())
                .fetch_optional(db)
                .await?
                .map(|r| resource_row(&r))
                .transpose()
        })
    }

    /// A listing of the resources `user` may see (only `only` when given), by name, with
    /// what `want` asks for, read on one connection with one statement per kind of row,
    /// whatever the number of resources.
    pub async fn vault_resource_listing(
        &self,
        user: &VaultId,
        only: Option<&VaultId>,
        want: ListingWants,
    ) -> Result<Vec<ListedResource>> {
        // The caller's resources: directly or through a group.
        const MINE: &str = "SELECT resource_id FROM vault_permissions WHERE resource_id IS NOT NULL AND \
             (user_id = $1 OR group_id IN (SELECT group_id FROM vault_groups_users WHERE user_id = $1))";
        let only_sql = if only.is_some() { " AND r.id = $2" } else { "" };
        let mut args: Vec<Arg<'_>> = vec![user.as_str().into()];
        if let Some(o) = only {
            args.push(o.as_str().into());
        }
        self.read(async |tx| {
            let sql = format!(
                "SELECT {RESOURCE_COLS}, a.perm, t.folder_parent_id, \
                 (SELECT COUNT(*) FROM vault_folders_relations c WHERE c.foreign_id = r.id) AS users \
                 FROM vault_resources r JOIN \
                 (SELECT resource_id, MAX(type) AS perm FROM vault_permissions WHERE resource_id IS NOT NULL AND \
                  (user_id = $1 OR group_id IN (SELECT group_id FROM vault_groups_users WHERE user_id = $1)) \
                  GROUP BY resource_id) a ON a.resource_id = r.id \
                 LEFT JOIN vault_folders_relations t ON t.foreign_id = r.id AND t.user_id = $1 \
                 WHERE TRUE{only_sql} ORDER BY r.name, r.id"
            );
            let mut out = tx
                .all(&sql, &args, |r| {
                    Ok(ListedResource {
                        resource: resource_row(r)?,
                        permission: r.i64("perm")?,
                        folder_parent_id: opt_vid(r, "folder_parent_id")?,
                        personal: r.i64("users")? == 1,
                        mine: Vec::new(),
                        permissions: Vec::new(),
                        favorite: None,
                        secret: None,
                    })
                })
                .await?;
            if out.is_empty() {
                return Ok(out);
            }
            let index: std::collections::HashMap<String, usize> = out
                .iter()
                .enumerate()
                .map(|(i, l)| (l.resource.id.as_str().to_owned(), i))
                .collect();
            let only_p = if only.is_some() { " AND resource_id = $2" } else { "" };
            if want.mine {
                let sql = format!(
                    "SELECT {PERM_COLS} FROM vault_permissions WHERE resource_id IS NOT NULL{only_p} AND \
                     (user_id = $1 OR group_id IN (SELECT group_id FROM vault_groups_users WHERE user_id = $1))"
                );
                for p in tx.all(&sql, &args, |r| perm_row(r)).await? {
                    if let Some(&i) = index.get(p.aco_foreign_key.as_str()) {
                        out[i].mine.push(p);
                    }
                }
            }
            if want.permissions {
                let sql = format!(
                    "SELECT {PERM_COLS} FROM vault_permissions WHERE resource_id IN ({MINE}){only_p} ORDER BY created, id"
                );
                for p in tx.all(&sql, &args, |r| perm_row(r)).await? {
                    if let Some(&i) = index.get(p.aco_foreign_key.as_str()) {
                        out[i].permissions.push(p);
                    }
                }
            }
            if want.favorite {
                let sql = format!(
                    "SELECT id, user_id, resource_id, created FROM vault_favorites WHERE user_id = $1{only_p}"
                );
                for f in tx.all(&sql, &args, |r| favorite_row(r)).await? {
                    if let Some(&i) = index.get(f.resource.as_str()) {
                        out[i].favorite = Some(f);
                    }
                }
            }
            if want.secret {
                let sql = format!(
                    "SELECT id, resource_id, user_id, data, created, modified FROM vault_secrets WHERE user_id = $1{only_p}"
                );
                for s in tx.all(&sql, &args, |r| secret_row(r)).await? {
                    if let Some(&i) = index.get(s.resource.as_str()) {
                        out[i].secret = Some(s);
                    }
                }
            }
            Ok(out)
        })
        .await
    }

    /// Deletes a resource (and every user's placement of it).
    pub async fn delete_vault_resource(&self, id: &VaultId) -> Result<bool> {
        let found = write_tx!(self, tx => {
            sqlx::query("DELETE FROM vault_folders_relations WHERE foreign_id = $1")
                .bind(id.as_str())
                .execute(&mut *tx)
                .await?;
            sqlx::query("DELETE FROM vault_resources WHERE id = $1")
                .bind(id.as_str())
                .execute(&mut *tx)
                .await?
                .rows_affected()
                > 0
        });
        Ok(found)
    }

    /// One user's copy of a resource's secret.
    pub async fn vault_secret(
        &self,
        resource: &VaultId,
        user: &VaultId,
    ) -> Result<Option<SecretRow>> {
        read!(self, db => {
            sqlx::query("SELECT id, resource_id, user_id, data, created, modified FROM vault_secrets WHERE resource_id = $1 AND user_id = $2")
                .bind(resource.as_str())
                .bind(user.as_str())
                .fetch_optional(db)
                .await?
                .map(|r| secret_row(&r))
                .transpose()
        })
    }

    /// The users holding a copy of the resource's secret.
    pub async fn vault_secret_holders(&self, resource: &VaultId) -> Result<Vec<VaultId>> {
        read!(self, db => {
            sqlx::query("SELECT user_id FROM vault_secrets WHERE resource_id = $1")
                .bind(resource.as_str())
                .fetch_all(db)
                .await?
                .iter()
                .map(|r| vid(r, "user_id"))
                .collect()
        })
    }

    // ---- groups ----

    pub async fn insert_vault_group(&self, g: &GroupRow, members: &[GroupUserRow]) -> Result<()> {
        write_tx!(self, tx => {
            sqlx::query("INSERT INTO vault_groups (id, name, created, modified, created_by, modified_by) VALUES ($1,$2,$3,$4,$5,$6)")
                .bind(g.id.as_str())
                .bind(&g.name)
                .bind(g.created)
                .bind(g.modified)
                .bind(g.created_by.as_str())
                .bind(g.modified_by.as_str())
                .execute(&mut *tx)
                .await
                .map_err(|e| conflict(e, "group"))?;
            for m in members {
                sqlx::query("INSERT INTO vault_groups_users (id, group_id, user_id, is_admin, created) VALUES ($1,$2,$3,$4,$5)")
                    .bind(m.id.as_str())
                    .bind(m.group.as_str())
                    .bind(m.user.as_str())
                    .bind(m.is_admin)
                    .bind(m.created)
                    .execute(&mut *tx)
                    .await?;
            }
        });
        Ok(())
    }

    pub async fn vault_group(&self, id: &VaultId) -> Result<Option<GroupRow>> {
        read!(self, db => {
            sqlx::query("SELECT id, name, created, modified, created_by, modified_by FROM vault_groups WHERE id = $1")
                .bind(id.as_str())
                .fetch_optional(db)
                .await?
                .map(|r| group_row(&r))
                .transpose()
        })
    }

    pub async fn list_vault_groups(&self) -> Result<Vec<GroupRow>> {
        read!(self, db => {
            sqlx::query("SELECT id, name, created, modified, created_by, modified_by FROM vault_groups ORDER BY name")
                .fetch_all(db)
                .await?
                .iter()
                .map(group_row)
                .collect()
        })
    }

    /// Memberships of one group, or of every group when `group` is `None`.
    pub async fn vault_group_members(&self, group: Option<&VaultId>) -> Result<Vec<GroupUserRow>> {
        read!(self, db => {
            let q = match group {
                Some(g) => sqlx::query("SELECT id, group_id, user_id, is_admin, created FROM vault_groups_users WHERE group_id = $1 ORDER BY created, id").bind(g.as_str()),
                None => sqlx::query("SELECT id, group_id, user_id, is_admin, created FROM vault_groups_users ORDER BY created, id"),
            };
            q.fetch_all(db).await?.iter().map(group_user_row).collect()
        })
    }

    /// Applies a membership change (and the secret copies it adds or removes) atomically.
    pub async fn apply_vault_group_change(
        &self,
        group: &VaultId,
        c: &GroupChange,
        by: &VaultId,
        now: Millis,
    ) -> Result<()> {
        write_tx!(self, tx => {
            if let Some(name) = &c.name {
                sqlx::query("UPDATE vault_groups SET name = $2 WHERE id = $1")
                    .bind(group.as_str())
                    .bind(name)
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| conflict(e, "group"))?;
            }
            sqlx::query("UPDATE vault_groups SET modified = $2, modified_by = $3 WHERE id = $1")
                .bind(group.as_str())
                .bind(now)
                .bind(by.as_str())
                .execute(&mut *tx)
                .await?;
            for u in &c.remove {
                sqlx::query("DELETE FROM vault_groups_users WHERE group_id = $1 AND user_id = $2")
                    .bind(group.as_str())
                    .bind(u.as_str())
                    .execute(&mut *tx)
                    .await?;
            }
            for (u, admin) in &c.set_admin {
                sqlx::query("UPDATE vault_groups_users SET is_admin = $3 WHERE group_id = $1 AND user_id = $2")
                    .bind(group.as_str())
                    .bind(u.as_str())
                    .bind(*admin)
                    .execute(&mut *tx)
                    .await?;
            }
            for m in &c.add {
                sqlx::query("INSERT INTO vault_groups_users (id, group_id, user_id, is_admin, created) VALUES ($1,$2,$3,$4,$5)")
                    .bind(m.id.as_str())
                    .bind(m.group.as_str())
                    .bind(m.user.as_str())
                    .bind(m.is_admin)
                    .bind(m.created)
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| conflict(e, "group membership"))?;
            }
            for (r, u) in &c.remove_secrets {
                sqlx::query("DELETE FROM vault_secrets WHERE resource_id = $1 AND user_id = $2")
                    .bind(r.as_str())
                    .bind(u.as_str())
                    .execute(&mut *tx)
                    .await?;
            }
            apply_tree!(tx, &c.tree);
            for s in &c.secrets {
                sqlx::query(
                    "INSERT INTO vault_secrets (id, resource_id, user_id, data, created, modified) VALUES ($1,$2,$3,$4,$5,$6) \
                     ON CONFLICT (resource_id, user_id) DO UPDATE SET data = excluded.data, modified = excluded.modified",
                )
                .bind(s.id.as_str())
                .bind(s.resource.as_str())
                .bind(s.user.as_str())
                .bind(&s.data)
                .bind(s.created)
                .bind(s.modified)
                .execute(&mut *tx)
                .await?;
            }
        });
        Ok(())
    }

    /// Deletes a group; `remove_secrets` are the (resource, user) copies of members who lose
    /// access with it, `tree` what leaves their trees.
    pub async fn delete_vault_group(
        &self,
        group: &VaultId,
        remove_secrets: &[(VaultId, VaultId)],
        tree: &TreeChange,
    ) -> Result<bool> {
        let found = write_tx!(self, tx => {
            apply_tree!(tx, tree);
            for (r, u) in remove_secrets {
                sqlx::query("DELETE FROM vault_secrets WHERE resource_id = $1 AND user_id = $2")
                    .bind(r.as_str())
                    .bind(u.as_str())
                    .execute(&mut *tx)
                    .await?;
            }
            sqlx::query("DELETE FROM vault_groups WHERE id = $1")
                .bind(group.as_str())
                .execute(&mut *tx)
                .await?
                .rows_affected()
                > 0
        });
        Ok(found)
    }

    // ---- folders ----

    pub async fn insert_vault_folder(&self, f: &FolderRow, access: &AccessChange) -> Result<()> {
        write_tx!(self, tx => {
            sqlx::query("INSERT INTO vault_folders (id, name, created, modified, created_by, modified_by) VALUES ($1,$2,$3,$4,$5,$6)")
                .bind(f.id.as_str())
                .bind(&f.name)
                .bind(f.created)
                .bind(f.modified)
                .bind(f.created_by.as_str())
                .bind(f.modified_by.as_str())
                .execute(&mut *tx)
                .await?;
        });
        self.apply_vault_access(Aco::Folder, &f.id, access).await
    }

    pub async fn update_vault_folder(&self, f: &FolderRow) -> Result<()> {
        write_tx!(self, tx => {
            sqlx::query("UPDATE vault_folders SET name = $2, modified = $3, modified_by = $4 WHERE id = $1")
                .bind(f.id.as_str())
                .bind(&f.name)
                .bind(f.modified)
                .bind(f.modified_by.as_str())
                .execute(&mut *tx)
                .await?;
        });
        Ok(())
    }

    pub async fn vault_folder(&self, id: &VaultId) -> Result<Option<FolderRow>> {
        read!(self, db => {
            sqlx::query("SELECT id, name, created, modified, created_by, modified_by FROM vault_folders WHERE id = $1")
                .bind(id.as_str())
                .fetch_optional(db)
                .await?
                .map(|r| folder_row(&r))
                .transpose()
        })
    }

    /// The folders `user` may see (only `only` when given), by name, with the highest
    /// permission type held on each, where each is in their tree and whether it is personal.
    pub async fn vault_folders_of(
        &self,
        user: &VaultId,
        only: Option<&VaultId>,
    ) -> Result<Vec<ListedFolder>> {
        let mut args: Vec<Arg<'_>> = vec![user.as_str().into()];
        if let Some(o) = only {
            args.push(o.as_str().into());
        }
        let only_sql = if only.is_some() { " AND f.id = $2" } else { "" };
        let sql = format!(
            "SELECT f.id, f.name, f.created, f.modified, f.created_by, f.modified_by, a.perm, t.folder_parent_id, \
             (SELECT COUNT(*) FROM vault_folders_relations c WHERE c.foreign_id = f.id) AS users \
             FROM vault_folders f JOIN \
             (SELECT folder_id, MAX(type) AS perm FROM vault_permissions WHERE folder_id IS NOT NULL AND \
              (user_id = $1 OR group_id IN (SELECT group_id FROM vault_groups_users WHERE user_id = $1)) \
              GROUP BY folder_id) a ON a.folder_id = f.id \
             LEFT JOIN vault_folders_relations t ON t.foreign_id = f.id AND t.user_id = $1 \
             WHERE TRUE{only_sql} ORDER BY f.name, f.id"
        );
        self.read(async |tx| {
            tx.all(&sql, &args, |r| {
                Ok(ListedFolder {
                    folder: folder_row(r)?,
                    permission: r.i64("perm")?,
                    folder_parent_id: opt_vid(r, "folder_parent_id")?,
                    personal: r.i64("users")? == 1,
                })
            })
            .await
        })
        .await
    }

    /// Deletes a folder: what was in it goes to the root of every tree it was in.
    pub async fn delete_vault_folder(&self, id: &VaultId) -> Result<bool> {
        let found = write_tx!(self, tx => {
            sqlx::query("UPDATE vault_folders_relations SET folder_parent_id = NULL WHERE folder_parent_id = $1")
                .bind(id.as_str())
                .execute(&mut *tx)
                .await?;
            sqlx::query("DELETE FROM vault_folders_relations WHERE foreign_id = $1")
                .bind(id.as_str())
                .execute(&mut *tx)
                .await?;
            sqlx::query("DELETE FROM vault_folders WHERE id = $1")
                .bind(id.as_str())
                .execute(&mut *tx)
                .await?
                .rows_affected()
                > 0
        });
        Ok(found)
    }

    // ---- folder trees ----

    /// Every placement in one user's tree.
    pub async fn vault_tree_of(&self, user: &VaultId) -> Result<Vec<RelationRow>> {
        let sql = format!("SELECT {RELATION_COLS} FROM vault_folders_relations WHERE user_id = $1");
        self.read(async |tx| {
            tx.all(&sql, &[user.as_str().into()], |r| relation_row(r))
                .await
        })
        .await
    }

    /// Every user's placement of one item.
    pub async fn vault_relations_of(&self, item: &VaultId) -> Result<Vec<RelationRow>> {
        let sql =
            format!("SELECT {RELATION_COLS} FROM vault_folders_relations WHERE foreign_id = $1");
        self.read(async |tx| {
            tx.all(&sql, &[item.as_str().into()], |r| relation_row(r))
                .await
        })
        .await
    }

    /// Every user's placements of the items a group has permissions on.
    pub async fn vault_relations_of_group_items(
        &self,
        group: &VaultId,
    ) -> Result<Vec<RelationRow>> {
        let sql = format!(
            "SELECT {RELATION_COLS} FROM vault_folders_relations WHERE foreign_id IN \
             (SELECT COALESCE(resource_id, folder_id) FROM vault_permissions WHERE group_id = $1)"
        );
        self.read(async |tx| {
            tx.all(&sql, &[group.as_str().into()], |r| relation_row(r))
                .await
        })
        .await
    }

    /// Applies a change of the trees on its own (a move).
    pub async fn apply_vault_tree(&self, change: &TreeChange) -> Result<()> {
        write_tx!(self, tx => {
            apply_tree!(tx, change);
        });
        Ok(())
    }

    // ---- favorites ----

    pub async fn insert_vault_favorite(&self, f: &FavoriteRow) -> Result<()> {
        write_tx!(self, tx => {
            sqlx::query("INSERT INTO vault_favorites (id, user_id, resource_id, created) VALUES ($1,$2,$3,$4)")
                .bind(f.id.as_str())
                .bind(f.user.as_str())
                .bind(f.resource.as_str())
                .bind(f.created)
                .execute(&mut *tx)
                .await
                .map_err(|e| conflict(e, "favorite"))?;
        });
        Ok(())
    }

    pub async fn vault_favorites_of(&self, user: &VaultId) -> Result<Vec<FavoriteRow>> {
        read!(self, db => {
            sqlx::query("SELECT id, user_id, resource_id, created FROM vault_favorites WHERE user_id = $1")
                .bind(user.as_str())
                .fetch_all(db)
                .await?
                .iter()
                .map(favorite_row)
                .collect()
        })
    }

    /// Deletes one of `user`'s favorites; false when there was none.
    pub async fn delete_vault_favorite(&self, user: &VaultId, id: &VaultId) -> Result<bool> {
        let found = write_tx!(self, tx => {
            sqlx::query("DELETE FROM vault_favorites WHERE id = $1 AND user_id = $2")
                .bind(id.as_str())
                .bind(user.as_str())
                .execute(&mut *tx)
                .await?
                .rows_affected()
                > 0
        });
        Ok(found)
    }

    // ---- comments ----

    pub async fn insert_vault_comment(&self, c: &CommentRow) -> Result<()> {
        write_tx!(self, tx => {
            sqlx::query("INSERT INTO vault_comments (id, resource_id, parent_id, content, created, modified, created_by, modified_by) VALUES ($1,$2,$3,$4,$5,$6,$7,$8)")
                .bind(c.id.as_str())
                .bind(c.resource.as_str())
                .bind(c.parent_id.as_ref().map(VaultId::as_str))
                .bind(&c.content)
                .bind(c.created)
                .bind(c.modified)
                .bind(c.created_by.as_str())
                .bind(c.modified_by.as_str())
                .execute(&mut *tx)
                .await?;
        });
        Ok(())
    }

    pub async fn vault_comments(&self, resource: &VaultId) -> Result<Vec<CommentRow>> {
        read!(self, db => {
            sqlx::query("SELECT id, resource_id, parent_id, content, created, modified, created_by, modified_by FROM vault_comments WHERE resource_id = $1 ORDER BY created, id")
                .bind(resource.as_str())
                .fetch_all(db)
                .await?
                .iter()
                .map(|r| {
                    Ok(CommentRow {
                        id: vid(r, "id")?,
                        resource: vid(r, "resource_id")?,
                        parent_id: opt_vid(r, "parent_id")?,
                        content: r.string("content")?,
                        created: r.i64("created")?,
                        modified: r.i64("modified")?,
                        created_by: vid(r, "created_by")?,
                        modified_by: vid(r, "modified_by")?,
                    })
                })
                .collect()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuid_shape() {
        let id = VaultId::new();
        assert!(VaultId::parse(id.as_str()).is_some());
        assert_eq!(id.as_str().as_bytes()[14], b'4');
        assert!(VaultId::parse("not-a-uuid").is_none());
        assert!(VaultId::parse("669f8c64-242a-59fb-92fc-81f660975fd3").is_some());
        assert!(VaultId::parse("669f8c64x242a-59fb-92fc-81f660975fd3").is_none());
        assert_eq!(
            VaultId::parse("669F8C64-242A-59FB-92FC-81F660975FD3")
                .unwrap()
                .as_str(),
            "669f8c64-242a-59fb-92fc-81f660975fd3"
        );
    }
}
