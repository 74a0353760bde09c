//! Resources (`/resources`), secrets (`/secrets/resource`), permissions
//! (`/permissions/resource`), sharing (`/share/...`), moves (`/move/resource`), favorites and
//! comments.

use super::auth::{id, read};
use super::envelope::{Reply, VaultFailure, VaultReply};
use super::query::{ListOptions, body};
use super::{Authed, VaultState, json};
use axum::Router;
use axum::extract::{Path, Request, State};
use axum::http::Uri;
use axum::routing::{get, post, put};
use sealpost_core::vault::{
    Aco, Aro, NewResource, PermissionRow, ResourceUpdate, SecretInput, ShareChange, VaultError,
    VaultId, VaultSession,
};
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};

pub fn routes() -> Router<VaultState> {
    Router::new()
        .route("/resources.json", get(list).post(create))
        .route("/resources/{id}", get(view).put(update).delete(delete))
        .route("/secrets/resource/{id}", get(secret))
        .route("/permissions/resource/{id}", get(permissions))
        .route("/share/resource/{id}", put(share))
        .route("/share/simulate/resource/{id}", post(simulate))
        .route("/share/folder/{id}", put(share_folder))
        .route(
            "/move/resource/{id}",
            post(move_resource).put(move_resource),
        )
        .route("/favorites/resource/{id}", post(add_favorite))
        .route("/favorites/{id}", axum::routing::delete(delete_favorite))
        .route("/comments/resource/{id}", get(comments).post(add_comment))
}

/// The highest permission row per object among `perms`.
pub fn best(perms: Vec<PermissionRow>) -> HashMap<VaultId, PermissionRow> {
    let mut out: HashMap<VaultId, PermissionRow> = HashMap::new();
    for p in perms {
        match out.get(&p.aco_foreign_key) {
            Some(q) if q.kind >= p.kind => {}
            _ => {
                out.insert(p.aco_foreign_key.clone(), p);
            }
        }
    }
    out
}

/// The `permissions` of an object, with users and groups when asked for.
pub async fn permissions_json(
    st: &VaultState,
    s: &VaultSession,
    aco: Aco,
    oid: &VaultId,
    o: &ListOptions,
) -> Result<Value, VaultFailure> {
    let perms = st.core.vault_list_permissions(s, aco, oid).await?;
    let with_user = o.contains("permissions.user.profile") || o.contains("permissions.user");
    let with_group = o.contains("permissions.group");
    let mut out = Vec::with_capacity(perms.len());
    for p in &perms {
        let mut v = json::permission(p);
        if with_user && p.aro == Aro::User {
            v["user"] = match st.core.vault_get_user(s, &p.aro_foreign_key).await {
                Ok(u) => json::user(&u.user, u.gpgkey.as_ref(), None),
                Err(_) => Value::Null,
            };
        }
        if with_group && p.aro == Aro::Group {
            v["group"] = match st.core.vault_get_group(&p.aro_foreign_key).await {
                Ok(g) => json::group(&g.group, &g.members),
                Err(_) => Value::Null,
            };
        }
        out.push(v);
    }
    Ok(Value::Array(out))
}

async fn user_brief(
    st: &VaultState,
    s: &VaultSession,
    uid: &VaultId,
    cache: &mut BTreeMap<VaultId, Value>,
) -> Value {
    if let Some(v) = cache.get(uid) {
        return v.clone();
    }
    let v = match st.core.vault_get_user(s, uid).await {
        Ok(u) => json::user(&u.user, None, None),
        Err(_) => Value::Null,
    };
    cache.insert(uid.clone(), v.clone());
    v
}

async fn list(State(st): State<VaultState>, Authed(s): Authed, uri: Uri) -> VaultReply {
    let o = ListOptions::parse(uri.query());
    let mut views = st.core.vault_list_resources(&s).await?;
    let favorites: HashMap<VaultId, sealpost_core::vault::FavoriteRow> = st
        .core
        .vault_favorites(&s)
        .await?
        .into_iter()
        .map(|f| (f.resource.clone(), f))
        .collect();
    if let Some(ids) = o.filter("has-id") {
        views.retain(|v| {
            ids.iter()
                .any(|i| i.eq_ignore_ascii_case(v.resource.id.as_str()))
        });
    }
    if let Some(parents) = o.filter("has-parent") {
        views.retain(|v| {
            parents.iter().any(|p| match &v.resource.folder_parent_id {
                Some(f) => p.eq_ignore_ascii_case(f.as_str()),
                None => p.is_empty() || p == "null",
            })
        });
    }
    if o.filter_on("is-favorite") {
        views.retain(|v| favorites.contains_key(&v.resource.id));
    }
    if o.filter_on("is-owned-by-me") {
        views.retain(|v| v.permission == sealpost_core::vault::OWNER);
    }
    if o.filter_on("is-shared-with-me") {
        views.retain(|v| v.permission != sealpost_core::vault::OWNER);
    }
    if let Some(q) = o.filter_one("search") {
        let q = q.to_lowercase();
        views.retain(|v| v.resource.name.to_lowercase().contains(&q));
    }
    let mine = if o.contains("permission") {
        Some(best(st.core.vault_my_permissions(&s, Aco::Resource).await?))
    } else {
        None
    };
    if let Some(g) = o.filter_one("is-shared-with-group") {
        let gid = id(g, "group")?;
        let mut keep = Vec::new();
        for v in views {
            let perms = st
                .core
                .vault_list_permissions(&s, Aco::Resource, &v.resource.id)
                .await?;
            if perms
                .iter()
                .any(|p| p.aro == Aro::Group && p.aro_foreign_key == gid)
            {
                keep.push(v);
            }
        }
        views = keep;
    }
    let mut users = BTreeMap::new();
    let mut out = Vec::with_capacity(views.len());
    for v in &views {
        let mut j = json::resource(&v.resource);
        if let Some(m) = &mine {
            j["permission"] = m
                .get(&v.resource.id)
                .map(json::permission)
                .unwrap_or(Value::Null);
        }
        if o.contains("favorite") {
            j["favorite"] = favorites
                .get(&v.resource.id)
                .map(favorite_json)
                .unwrap_or(Value::Null);
        }
        if o.contains("creator") {
            j["creator"] = user_brief(&st, &s, &v.resource.created_by, &mut users).await;
        }
        if o.contains("modifier") {
            j["modifier"] = user_brief(&st, &s, &v.resource.modified_by, &mut users).await;
        }
        if o.contains("permissions")
            || o.contains("permissions.user.profile")
            || o.contains("permissions.group")
        {
            j["permissions"] = permissions_json(&st, &s, Aco::Resource, &v.resource.id, &o).await?;
        }
        if o.contains("secret") {
            j["secrets"] = match st.core.vault_get_secret(&s, &v.resource.id).await {
                Ok(sec) => json!([json::secret(&sec)]),
                Err(_) => json!([]),
            };
        }
        out.push(j);
    }
    Ok(Reply::ok(Value::Array(out)))
}

fn favorite_json(f: &sealpost_core::vault::FavoriteRow) -> Value {
    json!({"id": f.id, "user_id": f.user, "foreign_key": f.resource, "foreign_model": "Resource",
           "created": sealpost_core::vault::iso(f.created), "modified": sealpost_core::vault::iso(f.created)})
}

async fn one(
    st: &VaultState,
    s: &VaultSession,
    rid: &VaultId,
    o: &ListOptions,
) -> Result<Value, VaultFailure> {
    let v = st.core.vault_get_resource(s, rid).await?;
    let mut j = json::resource(&v.resource);
    let mine = best(
        st.core
            .vault_list_permissions(s, Aco::Resource, rid)
            .await?
            .into_iter()
            .filter(|p| p.kind == v.permission)
            .collect(),
    );
    j["permission"] = mine.get(rid).map(json::permission).unwrap_or(Value::Null);
    let mut users = BTreeMap::new();
    if o.contains("creator") {
        j["creator"] = user_brief(st, s, &v.resource.created_by, &mut users).await;
    }
    if o.contains("modifier") {
        j["modifier"] = user_brief(st, s, &v.resource.modified_by, &mut users).await;
    }
    if o.contains("favorite") {
        j["favorite"] = st
            .core
            .vault_favorites(s)
            .await?
            .iter()
            .find(|f| &f.resource == rid)
            .map(favorite_json)
            .unwrap_or(Value::Null);
    }
    if o.contains("permissions")
        || o.contains("permissions.user.profile")
        || o.contains("permissions.group")
    {
        j["permissions"] = permissions_json(st, s, Aco::Resource, rid, o).await?;
    }
    if o.contains("secret") {
        j["secrets"] = json!([json::secret(&st.core.vault_get_secret(s, rid).await?)]);
    }
    Ok(j)
}

async fn view(
    State(st): State<VaultState>,
    Authed(s): Authed,
    Path(raw): Path<String>,
    uri: Uri,
) -> VaultReply {
    let rid = id(&raw, "resource")?;
    let o = ListOptions::parse(uri.query());
    Ok(Reply::ok(one(&st, &s, &rid, &o).await?))
}

#[derive(Debug, Default, Deserialize)]
struct SecretBody {
    user_id: Option<String>,
    data: Option<String>,
}

fn secrets(list: &[SecretBody]) -> Result<Vec<SecretInput>, VaultFailure> {
    list.iter()
        .enumerate()
        .map(|(i, s)| {
            let user_id = match &s.user_id {
                None => None,
                Some(u) => Some(VaultId::parse(u).ok_or_else(|| {
                    VaultFailure(VaultError::field(
                        &format!("secrets.{i}.user_id"),
                        "uuid",
                        "The user id should be a valid UUID.",
                    ))
                })?),
            };
            let data = s.data.clone().ok_or_else(|| {
                VaultFailure(VaultError::field(
                    &format!("secrets.{i}.data"),
                    "_required",
                    "A secret is required.",
                ))
            })?;
            Ok(SecretInput { user_id, data })
        })
        .collect()
}

#[derive(Debug, Default, Deserialize)]
struct ResourceBody {
    name: Option<String>,
    username: Option<Option<String>>,
    uri: Option<Option<String>>,
    description: Option<Option<String>>,
    resource_type_id: Option<String>,
    folder_parent_id: Option<String>,
    secrets: Option<Vec<SecretBody>>,
}

async fn create(
    State(st): State<VaultState>,
    Authed(s): Authed,
    uri: Uri,
    req: Request,
) -> VaultReply {
    let (parts, bytes) = read(req).await?;
    let b: ResourceBody = body(&parts.headers, &bytes)?;
    let folder = match b.folder_parent_id.as_deref().filter(|f| !f.is_empty()) {
        Some(f) => Some(id(f, "folder")?),
        None => None,
    };
    let Some(list) = b.secrets.as_deref() else {
        return Err(VaultFailure(VaultError::field(
            "secrets",
            "_required",
            "A secret is required.",
        )));
    };
    let new = NewResource {
        name: b.name,
        username: b.username.flatten(),
        uri: b.uri.flatten(),
        description: b.description.flatten(),
        resource_type_id: b.resource_type_id,
        folder_parent_id: folder,
        secrets: secrets(list)?,
    };
    let v = st.core.vault_create_resource(&s, new).await?;
    let o = ListOptions::parse(uri.query());
    Ok(Reply::ok(one(&st, &s, &v.resource.id, &o).await?)
        .message("The resource has been added successfully."))
}

async fn update(
    State(st): State<VaultState>,
    Authed(s): Authed,
    Path(raw): Path<String>,
    uri: Uri,
    req: Request,
) -> VaultReply {
    let rid = id(&raw, "resource")?;
    let (parts, bytes) = read(req).await?;
    let b: ResourceBody = body(&parts.headers, &bytes)?;
    let upd = ResourceUpdate {
        name: b.name,
        username: b.username,
        uri: b.uri,
        description: b.description,
        resource_type_id: b.resource_type_id,
        secrets: match b.secrets.as_deref() {
            Some(l) => Some(secrets(l)?),
            None => None,
        },
    };
    st.core.vault_update_resource(&s, &rid, upd).await?;
    let o = ListOptions::parse(uri.query());
    Ok(Reply::ok(one(&st, &s, &rid, &o).await?)
        .message("The resource has been updated successfully."))
}

async fn delete(
    State(st): State<VaultState>,
    Authed(s): Authed,
    Path(raw): Path<String>,
) -> VaultReply {
    let rid = id(&raw, "resource")?;
    st.core.vault_delete_resource(&s, &rid).await?;
    Ok(Reply::ok(Value::Null).message("The resource has been deleted successfully."))
}

async fn secret(
    State(st): State<VaultState>,
    Authed(s): Authed,
    Path(raw): Path<String>,
) -> VaultReply {
    let rid = id(&raw, "resource")?;
    Ok(Reply::ok(json::secret(
        &st.core.vault_get_secret(&s, &rid).await?,
    )))
}

async fn permissions(
    State(st): State<VaultState>,
    Authed(s): Authed,
    Path(raw): Path<String>,
    uri: Uri,
) -> VaultReply {
    let rid = id(&raw, "resource")?;
    let o = ListOptions::parse(uri.query());
    Ok(Reply::ok(
        permissions_json(&st, &s, Aco::Resource, &rid, &o).await?,
    ))
}

#[derive(Debug, Default, Deserialize)]
struct PermissionBody {
    id: Option<String>,
    aro: Option<String>,
    aro_foreign_key: Option<String>,
    #[serde(rename = "type")]
    kind: Option<i64>,
    #[serde(default)]
    delete: bool,
}

#[derive(Debug, Default, Deserialize)]
struct ShareBody {
    #[serde(default)]
    permissions: Vec<PermissionBody>,
    #[serde(default)]
    secrets: Vec<SecretBody>,
}

fn share_changes(b: &ShareBody) -> Result<Vec<ShareChange>, VaultFailure> {
    b.permissions
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let bad = |f: &str, m: &str| {
                VaultFailure(VaultError::field(
                    &format!("permissions.{i}.{f}"),
                    "invalid",
                    m,
                ))
            };
            let pid = match &p.id {
                Some(x) => Some(
                    VaultId::parse(x)
                        .ok_or_else(|| bad("id", "The permission id should be a valid UUID."))?,
                ),
                None => None,
            };
            let aro = match &p.aro {
                Some(a) => Some(
                    Aro::parse(a).ok_or_else(|| bad("aro", "The aro should be User or Group."))?,
                ),
                None => None,
            };
            let key = match &p.aro_foreign_key {
                Some(k) => Some(VaultId::parse(k).ok_or_else(|| {
                    bad(
                        "aro_foreign_key",
                        "The aro foreign key should be a valid UUID.",
                    )
                })?),
                None => None,
            };
            Ok(ShareChange {
                id: pid,
                aro,
                aro_foreign_key: key,
                kind: p.kind,
                delete: p.delete,
            })
        })
        .collect()
}

fn changes_json(added: &[VaultId], removed: &[VaultId]) -> Value {
    let one = |u: &VaultId| json!({"User": {"id": u}});
    json!({"changes": {"added": added.iter().map(one).collect::<Vec<_>>(), "removed": removed.iter().map(one).collect::<Vec<_>>()}})
}

async fn share_common(
    st: &VaultState,
    s: &VaultSession,
    raw: &str,
    req: Request,
    dry_run: bool,
) -> VaultReply {
    let rid = id(raw, "resource")?;
    let (parts, bytes) = read(req).await?;
    let b: ShareBody = body(&parts.headers, &bytes)?;
    let changes = share_changes(&b)?;
    let secrets = secrets(&b.secrets)?;
    let (added, removed) = st
        .core
        .vault_share_resource(s, &rid, &changes, &secrets, dry_run)
        .await?;
    if dry_run {
        return Ok(Reply::ok(changes_json(&added, &removed)));
    }
    Ok(Reply::ok(Value::Null).message("The operation was successful."))
}

async fn share(
    State(st): State<VaultState>,
    Authed(s): Authed,
    Path(raw): Path<String>,
    req: Request,
) -> VaultReply {
    share_common(&st, &s, &raw, req, false).await
}

async fn simulate(
    State(st): State<VaultState>,
    Authed(s): Authed,
    Path(raw): Path<String>,
    req: Request,
) -> VaultReply {
    share_common(&st, &s, &raw, req, true).await
}

async fn share_folder(
    State(st): State<VaultState>,
    Authed(s): Authed,
    Path(raw): Path<String>,
    req: Request,
) -> VaultReply {
    let fid = id(&raw, "folder")?;
    let (parts, bytes) = read(req).await?;
    let b: ShareBody = body(&parts.headers, &bytes)?;
    let changes = share_changes(&b)?;
    st.core.vault_share_folder(&s, &fid, &changes).await?;
    Ok(Reply::ok(Value::Null))
}

#[derive(Debug, Default, Deserialize)]
pub struct MoveBody {
    pub folder_parent_id: Option<String>,
}

pub fn move_target(b: &MoveBody) -> Result<Option<VaultId>, VaultFailure> {
    match b
        .folder_parent_id
        .as_deref()
        .filter(|f| !f.is_empty() && *f != "null")
    {
        Some(f) => Ok(Some(id(f, "folder")?)),
        None => Ok(None),
    }
}

async fn move_resource(
    State(st): State<VaultState>,
    Authed(s): Authed,
    Path(raw): Path<String>,
    req: Request,
) -> VaultReply {
    let rid = id(&raw, "resource")?;
    let (parts, bytes) = read(req).await?;
    let b: MoveBody = body(&parts.headers, &bytes)?;
    let target = move_target(&b)?;
    st.core
        .vault_move_resource(&s, &rid, target.as_ref())
        .await?;
    let o = ListOptions::default();
    Ok(Reply::ok(one(&st, &s, &rid, &o).await?)
        .message("The resource has been moved successfully."))
}

async fn add_favorite(
    State(st): State<VaultState>,
    Authed(s): Authed,
    Path(raw): Path<String>,
) -> VaultReply {
    let rid = id(&raw, "resource")?;
    let f = st.core.vault_add_favorite(&s, &rid).await?;
    Ok(Reply::ok(favorite_json(&f)).message("The resource was marked as favorite."))
}

async fn delete_favorite(
    State(st): State<VaultState>,
    Authed(s): Authed,
    Path(raw): Path<String>,
) -> VaultReply {
    let fid = id(&raw, "favorite")?;
    st.core.vault_delete_favorite(&s, &fid).await?;
    Ok(Reply::ok(Value::Null).message("The favorite was deleted."))
}

async fn comments(
    State(st): State<VaultState>,
    Authed(s): Authed,
    Path(raw): Path<String>,
) -> VaultReply {
    let rid = id(&raw, "resource")?;
    let list = st.core.vault_comments(&s, &rid).await?;
    Ok(Reply::ok(Value::Array(
        list.iter().map(json::comment).collect(),
    )))
}

#[derive(Debug, Default, Deserialize)]
struct CommentBody {
    content: Option<String>,
    parent_id: Option<String>,
}

async fn add_comment(
    State(st): State<VaultState>,
    Authed(s): Authed,
    Path(raw): Path<String>,
    req: Request,
) -> VaultReply {
    let rid = id(&raw, "resource")?;
    let (parts, bytes) = read(req).await?;
    let b: CommentBody = body(&parts.headers, &bytes)?;
    let parent = b.parent_id.as_deref().and_then(VaultId::parse);
    let c = st
        .core
        .vault_add_comment(&s, &rid, b.content.as_deref().unwrap_or_default(), parent)
        .await?;
    Ok(Reply::ok(json::comment(&c)).message("The comment was successfully added."))
}
