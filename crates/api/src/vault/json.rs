//! The JSON of vault objects with the fields passbolt's clients read (ids are UUIDs, times
//! ISO 8601 with `+00:00`).

use sealpost_core::vault::{
    CommentRow, FolderRow, GpgkeyRow, GroupRow, GroupUserRow, PermissionRow, ROLE_ADMIN_ID,
    ROLE_GUEST_ID, ROLE_USER_ID, ResourceRow, SecretRow, VaultUserRow, iso, role_id,
};
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

pub fn permission(p: &PermissionRow) -> Value {
    json!({
        "id": p.id,
        "aco": p.aco.as_str(),
        "aco_foreign_key": p.aco_foreign_key,
        "aro": p.aro.as_str(),
        "aro_foreign_key": p.aro_foreign_key,
        "type": p.kind,
        "created": iso(p.created),
        "modified": iso(p.modified),
    })
}

pub fn resource(r: &ResourceRow) -> Value {
    json!({
        "id": r.id,
        "name": r.name,
        "username": r.username,
        "uri": r.uri,
        "description": r.description,
        "deleted": false,
        "created": iso(r.created),
        "modified": iso(r.modified),
        "created_by": r.created_by,
        "modified_by": r.modified_by,
        "resource_type_id": r.resource_type_id,
        "folder_parent_id": r.folder_parent_id,
        "personal": false,
        "expired": null,
    })
}

pub fn secret(s: &SecretRow) -> Value {
    json!({
        "id": s.id,
        "user_id": s.user,
        "resource_id": s.resource,
        "data": s.data,
        "created": iso(s.created),
        "modified": iso(s.modified),
    })
}

pub fn folder(f: &FolderRow) -> Value {
    json!({
        "id": f.id,
        "name": f.name,
        "created": iso(f.created),
        "modified": iso(f.modified),
        "created_by": f.created_by,
        "modified_by": f.modified_by,
        "folder_parent_id": f.folder_parent_id,
        "personal": false,
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
