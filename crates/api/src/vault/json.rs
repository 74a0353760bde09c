//! The JSON of vault objects with the fields passbolt's clients read (ids are UUIDs, times
//! ISO 8601 with `+00:00`).

use sealpost_core::vault::{
    CommentRow, FavoriteRow, GpgkeyRow, GroupRow, GroupUserRow, IsoTime, ListedFolder,
    ListedResource, PermissionRow, ROLE_ADMIN_ID, ROLE_GUEST_ID, ROLE_USER_ID, SecretRow, VaultId,
    VaultUserRow, iso, role_id,
};
use serde::Serialize;
use serde_json::{Value, json};

const EPOCH_ROLES: i64 = 1_577_836_800_000;

pub fn roles() -> Value {
    let r = |id: &str, name: &str, description: &str| {
        json!({"id": id, "name": name, "description": description,
               "created": iso(EPOCH_ROLES), "modified": iso(EPOCH_ROLES)})
    };
    json!([
        r(ROLE_ADMIN_ID, "admin", "Organization administrator"),
        r(ROLE_USER_ID, "user", "Logged in user"),
        r(ROLE_GUEST_ID, "guest", "Non logged in user"),
    ])
}

pub fn role(name: &str) -> Value {
    let description = if name == "admin" {
        "Organization administrator"
    } else {
        "Logged in user"
    };
    json!({"id": role_id(name), "name": name, "description": description,
           "created": iso(EPOCH_ROLES), "modified": iso(EPOCH_ROLES)})
}

pub fn gpgkey(k: &GpgkeyRow) -> Value {
    json!({
        "id": k.id,
        "user_id": k.user,
        "armored_key": k.armored_key,
        "bits": k.bits,
        "uid": k.uid,
        "key_id": k.key_id,
        "fingerprint": k.fingerprint,
        "type": k.key_type,
        "expires": k.expires.map(iso),
        "key_created": iso(k.key_created),
        "deleted": false,
        "created": iso(k.created),
        "modified": iso(k.modified),
    })
}

pub fn profile(u: &VaultUserRow) -> Value {
    json!({
        "id": u.id,
        "user_id": u.id,
        "first_name": u.first_name,
        "last_name": u.last_name,
        "created": iso(u.created),
        "modified": iso(u.modified),
        "avatar": {"url": {"medium": "img/avatar/user_medium.png", "small": "img/avatar/user.png"}},
    })
}

/// A user with profile, role, key (when known) and memberships (when given).
pub fn user(u: &VaultUserRow, key: Option<&GpgkeyRow>, groups: Option<&[GroupUserRow]>) -> Value {
    let mut v = json!({
        "id": u.id,
        "role_id": role_id(&u.role),
        "username": u.username,
        "active": u.active,
        "deleted": false,
        "disabled": null,
        "created": iso(u.created),
        "modified": iso(u.modified),
        "created_by": u.created_by,
        "modified_by": u.created_by,
        "last_logged_in": u.last_logged_in.map(iso),
        "is_mfa_enabled": false,
        "profile": profile(u),
        "role": role(&u.role),
        "gpgkey": key.map(gpgkey),
    });
    if let Some(g) = groups {
        v["groups_users"] = Value::Array(g.iter().map(group_user).collect());
    }
    v
}

pub fn group_user(m: &GroupUserRow) -> Value {
    json!({"id": m.id, "group_id": m.group, "user_id": m.user, "is_admin": m.is_admin, "created": iso(m.created)})
}

pub fn group(g: &GroupRow, members: &[GroupUserRow]) -> Value {
    json!({
        "id": g.id,
        "name": g.name,
        "deleted": false,
        "created": iso(g.created),
        "modified": iso(g.modified),
        "created_by": g.created_by,
        "modified_by": g.modified_by,
        "user_count": members.len(),
        "groups_users": members.iter().map(group_user).collect::<Vec<_>>(),
    })
}

/// A permission, serialised as passbolt's clients read it; `user` and `group` only when
/// the request asked for them.
#[derive(Serialize)]
pub struct PermissionJson<'a> {
    id: &'a VaultId,
    aco: &'static str,
    aco_foreign_key: &'a VaultId,
    aro: &'static str,
    aro_foreign_key: &'a VaultId,
    #[serde(rename = "type")]
    kind: i64,
    created: IsoTime,
    modified: IsoTime,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<&'a Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group: Option<&'a Value>,
}

impl<'a> PermissionJson<'a> {
    pub fn new(p: &'a PermissionRow) -> Self {
        PermissionJson {
            id: &p.id,
            aco: p.aco.as_str(),
            aco_foreign_key: &p.aco_foreign_key,
            aro: p.aro.as_str(),
            aro_foreign_key: &p.aro_foreign_key,
            kind: p.kind,
            created: IsoTime::new(p.created),
            modified: IsoTime::new(p.modified),
            user: None,
            group: None,
        }
    }
}

pub fn permission(p: &PermissionRow) -> Value {
    to_value(&PermissionJson::new(p))
}

/// A resource, serialised as passbolt's clients read it, with the `contain[...]` parts the
/// request asked for (absent otherwise).
#[derive(Serialize)]
pub struct ResourceJson<'a> {
    id: &'a VaultId,
    name: &'a str,
    username: Option<&'a str>,
    uri: Option<&'a str>,
    description: Option<&'a str>,
    deleted: bool,
    created: IsoTime,
    modified: IsoTime,
    created_by: &'a VaultId,
    modified_by: &'a VaultId,
    resource_type_id: &'a VaultId,
    folder_parent_id: Option<&'a VaultId>,
    personal: bool,
    expired: Option<()>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub permission: Option<Option<PermissionJson<'a>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub favorite: Option<Option<FavoriteJson<'a>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub creator: Option<&'a Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub modifier: Option<&'a Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub permissions: Option<Vec<PermissionJson<'a>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secrets: Option<Vec<SecretJson<'a>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tags: Option<[(); 0]>,
}

impl<'a> ResourceJson<'a> {
    /// A resource as the listing's user sees it (their placement of it).
    pub fn new(l: &'a ListedResource) -> Self {
        let r = &l.resource;
        ResourceJson {
            id: &r.id,
            name: &r.name,
            username: r.username.as_deref(),
            uri: r.uri.as_deref(),
            description: r.description.as_deref(),
            deleted: false,
            created: IsoTime::new(r.created),
            modified: IsoTime::new(r.modified),
            created_by: &r.created_by,
            modified_by: &r.modified_by,
            resource_type_id: &r.resource_type_id,
            folder_parent_id: l.folder_parent_id.as_ref(),
            personal: l.personal,
            expired: None,
            permission: None,
            favorite: None,
            creator: None,
            modifier: None,
            permissions: None,
            secrets: None,
            tags: None,
        }
    }
}

pub fn resource(l: &ListedResource) -> Value {
    to_value(&ResourceJson::new(l))
}

/// A favorite mark.
#[derive(Serialize)]
pub struct FavoriteJson<'a> {
    id: &'a VaultId,
    user_id: &'a VaultId,
    foreign_key: &'a VaultId,
    foreign_model: &'static str,
    created: IsoTime,
    modified: IsoTime,
}

impl<'a> FavoriteJson<'a> {
    pub fn new(f: &'a FavoriteRow) -> Self {
        FavoriteJson {
            id: &f.id,
            user_id: &f.user,
            foreign_key: &f.resource,
            foreign_model: "Resource",
            created: IsoTime::new(f.created),
            modified: IsoTime::new(f.created),
        }
    }
}

pub fn favorite(f: &FavoriteRow) -> Value {
    to_value(&FavoriteJson::new(f))
}

/// One user's copy of a secret.
#[derive(Serialize)]
pub struct SecretJson<'a> {
    id: &'a VaultId,
    user_id: &'a VaultId,
    resource_id: &'a VaultId,
    data: &'a str,
    created: IsoTime,
    modified: IsoTime,
}

impl<'a> SecretJson<'a> {
    pub fn new(s: &'a SecretRow) -> Self {
        SecretJson {
            id: &s.id,
            user_id: &s.user,
            resource_id: &s.resource,
            data: &s.data,
            created: IsoTime::new(s.created),
            modified: IsoTime::new(s.modified),
        }
    }
}

pub fn secret(s: &SecretRow) -> Value {
    to_value(&SecretJson::new(s))
}

/// Our own serialisable types as a `Value` (their serialisation cannot fail: string keys).
fn to_value<T: Serialize>(v: &T) -> Value {
    serde_json::to_value(v).unwrap_or(Value::Null)
}

/// A folder as its user sees it (their placement of it).
pub fn folder(v: &ListedFolder) -> Value {
    let f = &v.folder;
    json!({
        "id": f.id,
        "name": f.name,
        "created": iso(f.created),
        "modified": iso(f.modified),
        "created_by": f.created_by,
        "modified_by": f.modified_by,
        "folder_parent_id": v.folder_parent_id,
        "personal": v.personal,
    })
}

pub fn comment(c: &CommentRow) -> Value {
    json!({
        "id": c.id,
        "parent_id": c.parent_id,
        "foreign_key": c.resource,
        "foreign_model": "Resource",
        "content": c.content,
        "created": iso(c.created),
        "modified": iso(c.modified),
        "created_by": c.created_by,
        "modified_by": c.modified_by,
        "user_id": c.created_by,
    })
}
