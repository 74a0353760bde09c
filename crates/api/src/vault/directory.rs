//! Users (`/users`), keys (`/gpgkeys`), groups (`/groups`) and the share search
//! (`/share/search-aros`).

use super::auth::{id, read};
use super::envelope::{Reply, VaultFailure, VaultReply};
use super::query::{ListOptions, body};
use super::{Authed, VaultState, json};
use axum::Router;
use axum::extract::{Path, Request, State};
use axum::http::Uri;
use axum::routing::get;
use sealpost_core::vault::{
    GroupMemberChange, GroupUserRow, ROLE_ADMIN_ID, SecretInput, VaultError, VaultId, VaultUserView,
};
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::BTreeMap;

pub fn routes() -> Router<VaultState> {
    Router::new()
        .route("/users.json", get(list_users).post(add_user))
        .route("/users/me.json", get(me))
        .route(
            "/users/{id}",
            get(get_user)
                .put(update_user)
                .post(update_user)
                .delete(delete_user),
        )
        .route(
            "/users/{id}/dry-run.json",
            axum::routing::delete(delete_user_dry_run),
        )
        .route("/gpgkeys.json", get(list_keys))
        .route("/gpgkeys/{id}", get(get_key))
        .route("/groups.json", get(list_groups).post(add_group))
        .route(
            "/groups/{id}",
            get(get_group).put(update_group).delete(delete_group),
        )
        .route(
            "/groups/{id}/dry-run.json",
            axum::routing::put(update_group_dry_run).delete(delete_group_dry_run),
        )
        .route("/share/search-aros.json", get(search_aros))
}

fn by_user(members: &[GroupUserRow]) -> BTreeMap<VaultId, Vec<GroupUserRow>> {
    let mut m: BTreeMap<VaultId, Vec<GroupUserRow>> = BTreeMap::new();
    for g in members {
        m.entry(g.user.clone()).or_default().push(g.clone());
    }
    m
}

fn user_json(v: &VaultUserView, groups: &BTreeMap<VaultId, Vec<GroupUserRow>>) -> Value {
    let g = groups.get(&v.user.id).map(Vec::as_slice).unwrap_or(&[]);
    json::user(&v.user, v.gpgkey.as_ref(), Some(g))
}

fn matches_search(v: &VaultUserView, q: &str) -> bool {
    let q = q.to_lowercase();
    v.user.username.to_lowercase().contains(&q)
        || v.user.first_name.to_lowercase().contains(&q)
        || v.user.last_name.to_lowercase().contains(&q)
}

async fn list_users(State(st): State<VaultState>, Authed(s): Authed, uri: Uri) -> VaultReply {
    let o = ListOptions::parse(uri.query());
    let has_access = match o.filter_one("has-access") {
        Some(r) => Some(id(r, "resource")?),
        None => None,
    };
    let users = st.core.vault_list_users(&s, has_access.as_ref()).await?;
    let members = st.core.vault_memberships().await?;
    let groups = by_user(&members);
    let wanted_groups: Option<Vec<&String>> = o.filter("has-groups").map(|g| g.iter().collect());
    let list: Vec<Value> = users
        .iter()
        .filter(|v| o.filter_one("search").is_none_or(|q| matches_search(v, q)))
        .filter(|v| !o.filter_on("is-admin") || v.user.role == "admin")
        .filter(|v| {
            wanted_groups.as_ref().is_none_or(|wanted| {
                groups.get(&v.user.id).is_some_and(|g| {
                    g.iter()
                        .any(|m| wanted.iter().any(|w| w.as_str() == m.group.as_str()))
                })
            })
        })
        .map(|v| user_json(v, &groups))
        .collect();
    Ok(Reply::ok(Value::Array(list)))
}

async fn me(State(st): State<VaultState>, Authed(s): Authed) -> VaultReply {
    let v = st.core.vault_get_user(&s, &s.user.id).await?;
    let groups = by_user(&st.core.vault_memberships().await?);
    let flags = if st.core.config().vault.base_url.starts_with("https://") {
        "; Secure"
    } else {
        ""
    };
    Ok(Reply::ok(user_json(&v, &groups)).header(
        "set-cookie",
        format!("csrfToken={}; Path=/; SameSite=Lax{flags}", s.csrf),
    ))
}

async fn get_user(
    State(st): State<VaultState>,
    Authed(s): Authed,
    Path(raw): Path<String>,
) -> VaultReply {
    let uid = id(&raw, "user")?;
    let v = st.core.vault_get_user(&s, &uid).await?;
    let groups = by_user(&st.core.vault_memberships().await?);
    Ok(Reply::ok(user_json(&v, &groups)))
}

#[derive(Debug, Default, Deserialize)]
struct ProfileBody {
    first_name: Option<String>,
    last_name: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct UserBody {
    username: Option<String>,
    #[serde(default)]
    profile: ProfileBody,
    role_id: Option<String>,
}

async fn add_user(State(st): State<VaultState>, Authed(s): Authed, req: Request) -> VaultReply {
    let (parts, bytes) = read(req).await?;
    let b: UserBody = body(&parts.headers, &bytes)?;
    let Some(username) = b.username.filter(|u| !u.trim().is_empty()) else {
        return Err(VaultFailure(VaultError::field(
            "username",
            "_required",
            "A username is required.",
        )));
    };
    let first = b.profile.first_name.unwrap_or_default();
    let last = b.profile.last_name.unwrap_or_default();
    if first.trim().is_empty() || last.trim().is_empty() {
        return Err(VaultFailure(VaultError::fields(&[(
            "profile",
            "_required",
            "A first name and a last name are required.",
        )])));
    }
    let admin = b.role_id.as_deref() == Some(ROLE_ADMIN_ID);
    let inv = st
        .core
        .vault_add_user(&s, username.trim(), first.trim(), last.trim(), admin)
        .await?;
    Ok(Reply::ok(json::user(&inv.user, None, Some(&[])))
        .message("The user was successfully added. This user now need to complete the setup."))
}

async fn update_user(
    State(st): State<VaultState>,
    Authed(s): Authed,
    Path(raw): Path<String>,
    req: Request,
) -> VaultReply {
    let uid = id(&raw, "user")?;
    let (parts, bytes) = read(req).await?;
    let b: UserBody = body(&parts.headers, &bytes)?;
    let role = match b.role_id.as_deref() {
        None => None,
        Some(r) if r == ROLE_ADMIN_ID => Some("admin"),
        Some(r) if r == sealpost_core::vault::ROLE_USER_ID => Some("user"),
        Some(_) => {
            return Err(VaultFailure(VaultError::field(
                "role_id",
                "inList",
                "The role does not exist.",
            )));
        }
    };
    let v = st
        .core
        .vault_update_user(
            &s,
            &uid,
            b.profile.first_name.as_deref(),
            b.profile.last_name.as_deref(),
            role,
        )
        .await?;
    let groups = by_user(&st.core.vault_memberships().await?);
    Ok(Reply::ok(user_json(&v, &groups)).message("The user has been updated successfully."))
}

async fn delete_user(
    State(st): State<VaultState>,
    Authed(s): Authed,
    Path(raw): Path<String>,
) -> VaultReply {
    let uid = id(&raw, "user")?;
    st.core.vault_delete_user(&s, &uid, false).await?;
    Ok(Reply::ok(Value::Null).message("The user has been deleted successfully."))
}

async fn delete_user_dry_run(
    State(st): State<VaultState>,
    Authed(s): Authed,
    Path(raw): Path<String>,
) -> VaultReply {
    let uid = id(&raw, "user")?;
    st.core.vault_delete_user(&s, &uid, true).await?;
    Ok(Reply::ok(Value::Null).message("The user can be deleted."))
}

async fn list_keys(State(st): State<VaultState>, Authed(_): Authed) -> VaultReply {
    let keys = st.core.vault_gpgkeys().await?;
    Ok(Reply::ok(Value::Array(
        keys.iter().map(json::gpgkey).collect(),
    )))
}

async fn get_key(
    State(st): State<VaultState>,
    Authed(_): Authed,
    Path(raw): Path<String>,
) -> VaultReply {
    let kid = id(&raw, "key")?;
    Ok(Reply::ok(json::gpgkey(&st.core.vault_gpgkey(&kid).await?)))
}

async fn list_groups(State(st): State<VaultState>, Authed(s): Authed, uri: Uri) -> VaultReply {
    let o = ListOptions::parse(uri.query());
    let groups = st.core.vault_list_groups().await?;
    let list: Vec<Value> = groups
        .iter()
        .filter(|g| !o.filter_on("has-managers") || g.members.iter().any(|m| m.is_admin))
        .filter(|g| {
            o.filter("has-users").is_none_or(|us| {
                us.iter()
                    .all(|u| g.members.iter().any(|m| m.user.as_str() == u.as_str()))
            })
        })
        .map(|g| {
            let mut v = json::group(&g.group, &g.members);
            if let Some(mine) = g.members.iter().find(|m| m.user == s.user.id) {
                v["my_group_user"] = json::group_user(mine);
            } else {
                v["my_group_user"] = Value::Null;
            }
            v
        })
        .collect();
    Ok(Reply::ok(Value::Array(list)))
}

async fn get_group(
    State(st): State<VaultState>,
    Authed(_): Authed,
    Path(raw): Path<String>,
) -> VaultReply {
    let gid = id(&raw, "group")?;
    let g = st.core.vault_get_group(&gid).await?;
    Ok(Reply::ok(json::group(&g.group, &g.members)))
}

#[derive(Debug, Default, Deserialize)]
struct MemberBody {
    id: Option<String>,
    user_id: Option<String>,
    is_admin: Option<bool>,
    #[serde(default)]
    delete: bool,
}

#[derive(Debug, Default, Deserialize)]
struct GroupSecretBody {
    resource_id: Option<String>,
    user_id: Option<String>,
    data: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct GroupBody {
    name: Option<String>,
    #[serde(default)]
    groups_users: Vec<MemberBody>,
    #[serde(default)]
    secrets: Vec<GroupSecretBody>,
}

async fn add_group(State(st): State<VaultState>, Authed(s): Authed, req: Request) -> VaultReply {
    let (parts, bytes) = read(req).await?;
    let b: GroupBody = body(&parts.headers, &bytes)?;
    let mut members = Vec::new();
    for (i, m) in b.groups_users.iter().enumerate() {
        let u = m
            .user_id
            .as_deref()
            .and_then(VaultId::parse)
            .ok_or_else(|| {
                VaultFailure(VaultError::field(
                    &format!("groups_users.{i}.user_id"),
                    "uuid",
                    "The user id should be a valid UUID.",
                ))
            })?;
        members.push((u, m.is_admin.unwrap_or(false)));
    }
    let g = st
        .core
        .vault_create_group(&s, b.name.as_deref().unwrap_or_default(), &members)
        .await?;
    Ok(Reply::ok(json::group(&g.group, &g.members))
        .message("The group has been added successfully."))
}

fn member_changes(b: &GroupBody) -> Result<Vec<GroupMemberChange>, VaultFailure> {
    b.groups_users
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let parse = |v: &Option<String>, f: &str| -> Result<Option<VaultId>, VaultFailure> {
                match v {
                    None => Ok(None),
                    Some(s) => VaultId::parse(s).map(Some).ok_or_else(|| {
                        VaultFailure(VaultError::field(
                            &format!("groups_users.{i}.{f}"),
                            "uuid",
                            "Not a valid UUID.",
                        ))
                    }),
                }
            };
            Ok(GroupMemberChange {
                id: parse(&m.id, "id")?,
                user_id: parse(&m.user_id, "user_id")?,
                is_admin: m.is_admin,
                delete: m.delete,
            })
        })
        .collect()
}

fn group_secrets(b: &GroupBody) -> Result<Vec<(VaultId, SecretInput)>, VaultFailure> {
    b.secrets
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let r = s.resource_id.as_deref().and_then(VaultId::parse);
            let u = s.user_id.as_deref().and_then(VaultId::parse);
            match (r, u, &s.data) {
                (Some(r), Some(u), Some(d)) => Ok((
                    r,
                    SecretInput {
                        user_id: Some(u),
                        data: d.clone(),
                    },
                )),
                _ => Err(VaultFailure(VaultError::field(
                    &format!("secrets.{i}"),
                    "_required",
                    "A secret needs a resource id, a user id and data.",
                ))),
            }
        })
        .collect()
}

async fn update_group_common(
    st: &VaultState,
    s: &sealpost_core::vault::VaultSession,
    raw: &str,
    req: Request,
    dry_run: bool,
) -> VaultReply {
    let gid = id(raw, "group")?;
    let (parts, bytes) = read(req).await?;
    let b: GroupBody = body(&parts.headers, &bytes)?;
    let changes = member_changes(&b)?;
    let secrets = group_secrets(&b)?;
    let needed = st
        .core
        .vault_update_group(s, &gid, b.name.as_deref(), &changes, &secrets, dry_run)
        .await?;
    if dry_run {
        let mut mine = Vec::new();
        for (r, _) in &needed {
            if let Ok(secret) = st.core.vault_get_secret(s, r).await
                && !mine
                    .iter()
                    .any(|m: &Value| m["Secret"]["resource_id"] == json!(r))
            {
                mine.push(json!({"Secret": json::secret(&secret)}));
            }
        }
        return Ok(Reply::ok(json!({"dry-run": {
            "SecretsNeeded": needed.iter().map(|(r, u)| json!({"Secret": {"resource_id": r, "user_id": u}})).collect::<Vec<_>>(),
            "Secrets": mine,
        }})));
    }
    let g = st.core.vault_get_group(&gid).await?;
    Ok(Reply::ok(json::group(&g.group, &g.members))
        .message("The group has been updated successfully."))
}

async fn update_group(
    State(st): State<VaultState>,
    Authed(s): Authed,
    Path(raw): Path<String>,
    req: Request,
) -> VaultReply {
    update_group_common(&st, &s, &raw, req, false).await
}

async fn update_group_dry_run(
    State(st): State<VaultState>,
    Authed(s): Authed,
    Path(raw): Path<String>,
    req: Request,
) -> VaultReply {
    update_group_common(&st, &s, &raw, req, true).await
}

async fn delete_group(
    State(st): State<VaultState>,
    Authed(s): Authed,
    Path(raw): Path<String>,
) -> VaultReply {
    let gid = id(&raw, "group")?;
    st.core.vault_delete_group(&s, &gid, false).await?;
    Ok(Reply::ok(Value::Null).message("The group was deleted successfully."))
}

async fn delete_group_dry_run(
    State(st): State<VaultState>,
    Authed(s): Authed,
    Path(raw): Path<String>,
) -> VaultReply {
    let gid = id(&raw, "group")?;
    st.core.vault_delete_group(&s, &gid, true).await?;
    Ok(Reply::ok(Value::Null).message("The group can be deleted."))
}

async fn search_aros(State(st): State<VaultState>, Authed(s): Authed, uri: Uri) -> VaultReply {
    let o = ListOptions::parse(uri.query());
    let q = o.filter_one("search").unwrap_or_default().to_lowercase();
    let members = st.core.vault_memberships().await?;
    let groups_by_user = by_user(&members);
    let mut out: Vec<Value> = st
        .core
        .vault_list_users(&s, None)
        .await?
        .iter()
        .filter(|v| v.user.active && (q.is_empty() || matches_search(v, &q)))
        .map(|v| user_json(v, &groups_by_user))
        .collect();
    for g in st.core.vault_list_groups().await? {
        if q.is_empty() || g.group.name.to_lowercase().contains(&q) {
            out.push(json::group(&g.group, &g.members));
        }
    }
    Ok(Reply::ok(Value::Array(out)))
}
