//! Resources (`/resources`), secrets (`/secrets/resource`), permissions
//! (`/permissions/resource`), sharing (`/share/...`), moves (`/move/resource`), favorites and
//! comments.

use super::auth::{id, read};
use super::envelope::{Reply, VaultFailure, VaultReply};
use super::json::ResourceJson;
use super::query::{ListOptions, body};
use super::{Authed, VaultState, json};
use axum::Router;
use axum::extract::{Path, Request, State};
use axum::http::Uri;
use axum::routing::{get, post, put};
use sealpost_core::vault::{
    Aco, Aro, ListedResource, ListingWants, NewResource, PermissionRow, ResourceUpdate,
    SecretInput, ShareChange, VaultError, VaultId, VaultSession, rules,
};
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::{BTreeSet, HashMap};

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

/// The `contain[...]` parts of a resource listing.
#[derive(Debug, Clone, Copy)]
struct Contains {
    permission: bool,
    favorite: bool,
    creator: bool,
    modifier: bool,
    permissions: bool,
    permissions_user: bool,
    permissions_group: bool,
    secret: bool,
    tag: bool,
}

impl Contains {
    fn of(o: &ListOptions) -> Self {
        let permissions_user =
            o.contains("permissions.user.profile") || o.contains("permissions.user");
        let permissions_group = o.contains("permissions.group");
        Contains {
            permission: o.contains("permission"),
            favorite: o.contains("favorite"),
            creator: o.contains("creator"),
            modifier: o.contains("modifier"),
            permissions: o.contains("permissions") || permissions_user || permissions_group,
            permissions_user,
            permissions_group,
            secret: o.contains("secret"),
            tag: o.contains("tag") || o.contains("tags"),
        }
    }

    fn wants(&self) -> ListingWants {
        ListingWants {
            mine: self.permission,
            permissions: self.permissions,
            // The favorite filter needs them too.
            favorite: true,
            secret: self.secret,
        }
    }
}

static NULL: Value = Value::Null;

/// The users and groups a listing embeds (creators, modifiers, permission holders), each
/// looked up once: a handful for thousands of resources.
#[derive(Default)]
struct Embedded {
    users: HashMap<VaultId, Value>,
    groups: HashMap<VaultId, Value>,
}

impl Embedded {
    async fn load(
        st: &VaultState,
        s: &VaultSession,
        list: &[ListedResource],
        c: &Contains,
    ) -> Result<Self, VaultFailure> {
        let mut users: BTreeSet<&VaultId> = BTreeSet::new();
        let mut groups: BTreeSet<&VaultId> = BTreeSet::new();
        for l in list {
            if c.creator {
                users.insert(&l.resource.created_by);
            }
            if c.modifier {
                users.insert(&l.resource.modified_by);
            }
            for p in &l.permissions {
                match p.aro {
                    Aro::User if c.permissions_user => {
                        users.insert(&p.aro_foreign_key);
                    }
                    Aro::Group if c.permissions_group => {
                        groups.insert(&p.aro_foreign_key);
                    }
                    _ => {}
                }
            }
        }
        let mut e = Embedded::default();
        for u in users {
            if let Ok(v) = st.core.vault_get_user(s, u).await {
                e.users.insert(u.clone(), json::user(&v.user, None, None));
            }
        }
        for g in groups {
            if let Ok(v) = st.core.vault_get_group(g).await {
                e.groups
                    .insert(g.clone(), json::group(&v.group, &v.members));
            }
        }
        Ok(e)
    }

    fn user(&self, id: &VaultId) -> &Value {
        self.users.get(id).unwrap_or(&NULL)
    }
}

/// One listed resource as JSON, with what `c` asks for.
fn listed_json<'a>(l: &'a ListedResource, c: &Contains, e: &'a Embedded) -> ResourceJson<'a> {
    let mut j = ResourceJson::new(l);
    if c.permission {
        j.permission = Some(rules::best_permission(&l.mine).map(json::PermissionJson::new));
    }
    if c.favorite {
        j.favorite = Some(l.favorite.as_ref().map(json::FavoriteJson::new));
    }
    if c.creator {
        j.creator = Some(e.user(&l.resource.created_by));
    }
    if c.modifier {
        j.modifier = Some(e.user(&l.resource.modified_by));
    }
    if c.permissions {
        j.permissions = Some(
            l.permissions
                .iter()
                .map(|p| {
                    let mut pj = json::PermissionJson::new(p);
                    match p.aro {
                        Aro::User if c.permissions_user => {
                            pj.user = Some(e.user(&p.aro_foreign_key))
                        }
                        Aro::Group if c.permissions_group => {
                            pj.group = Some(e.groups.get(&p.aro_foreign_key).unwrap_or(&NULL));
                        }
                        _ => {}
                    }
                    pj
                })
                .collect(),
        );
    }
    if c.secret {
        j.secrets = Some(l.secret.iter().map(json::SecretJson::new).collect());
    }
    if c.tag {
        j.tags = Some([]);
    }
    j
}

async fn list(State(st): State<VaultState>, Authed(s): Authed, uri: Uri) -> VaultReply {
    let o = ListOptions::parse(uri.query());
    let c = Contains::of(&o);
    let mut wants = c.wants();
    let by_group = match o.filter_one("is-shared-with-group") {
        Some(g) => {
            wants.permissions = true;
            Some(id(g, "group")?)
        }
        None => None,
    };
    let mut list = st.core.vault_resource_listing(&s, None, wants).await?;
    if let Some(ids) = o.filter("has-id") {
        list.retain(|v| {
            ids.iter()
                .any(|i| i.eq_ignore_ascii_case(v.resource.id.as_str()))
        });
    }
    if let Some(parents) = o.filter("has-parent") {
        list.retain(|v| {
            parents.iter().any(|p| match &v.folder_parent_id {
                Some(f) => p.eq_ignore_ascii_case(f.as_str()),
                None => p.is_empty() || p == "null",
            })
        });
    }
    if o.filter_on("is-favorite") {
        list.retain(|v| v.favorite.is_some());
    }
    if o.filter_on("is-owned-by-me") {
        list.retain(|v| v.permission == sealpost_core::vault::OWNER);
    }
    if o.filter_on("is-shared-with-me") {
        list.retain(|v| v.permission != sealpost_core::vault::OWNER);
    }
    if let Some(q) = o.filter_one("search") {
        let q = q.to_lowercase();
        list.retain(|v| v.resource.name.to_lowercase().contains(&q));
    }
    if let Some(gid) = &by_group {
        list.retain(|v| {
            v.permissions
                .iter()
                .any(|p| p.aro == Aro::Group && &p.aro_foreign_key == gid)
        });
    }
    let e = Embedded::load(&st, &s, &list, &c).await?;
    let out: Vec<ResourceJson<'_>> = list.iter().map(|l| listed_json(l, &c, &e)).collect();
    Ok(Reply::json(&out))
}

/// One resource as the caller sees it (404 without read access), with what `o` asks for.
async fn one(
    st: &VaultState,
    s: &VaultSession,
    rid: &VaultId,
    o: &ListOptions,
) -> Result<Reply, VaultFailure> {
    let mut c = Contains::of(o);
    // A single resource always carries the caller's permission.
    c.permission = true;
    let list = st
        .core
        .vault_resource_listing(s, Some(rid), c.wants())
        .await?;
    let e = Embedded::load(st, s, &list, &c).await?;
    match list.first() {
        Some(l) => Ok(Reply::json(&listed_json(l, &c, &e))),
        None => Err(VaultFailure(VaultError::not_found("resource"))),
    }
}

async fn view(
    State(st): State<VaultState>,
    Authed(s): Authed,
    Path(raw): Path<String>,
    uri: Uri,
) -> VaultReply {
    let rid = id(&raw, "resource")?;
    let o = ListOptions::parse(uri.query());
    one(&st, &s, &rid, &o).await
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
    Ok(one(&st, &s, &v.resource.id, &o)
        .await?
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
    Ok(one(&st, &s, &rid, &o)
        .await?
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
    Ok(one(&st, &s, &rid, &o)
        .await?
        .message("The resource has been moved successfully."))
}

async fn add_favorite(
    State(st): State<VaultState>,
    Authed(s): Authed,
    Path(raw): Path<String>,
) -> VaultReply {
    let rid = id(&raw, "resource")?;
    let f = st.core.vault_add_favorite(&s, &rid).await?;
    Ok(Reply::ok(json::favorite(&f)).message("The resource was marked as favorite."))
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
