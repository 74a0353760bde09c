//! Folders (`/folders`) and folder moves (`/move/folder`).

use super::auth::{id, read};
use super::envelope::{Reply, VaultReply};
use super::query::{ListOptions, body};
use super::resources::{MoveBody, best, move_target, permissions_json};
use super::{Authed, VaultState, json};
use axum::Router;
use axum::extract::{Path, Request, State};
use axum::http::Uri;
use axum::routing::{get, post};
use sealpost_core::vault::{Aco, FolderView, ListingWants, NewFolder, VaultId, VaultSession};
use serde::Deserialize;
use serde_json::Value;
use std::collections::HashMap;

pub fn routes() -> Router<VaultState> {
    Router::new()
        .route("/folders.json", get(list).post(create))
        .route("/folders/{id}", get(view).put(update).delete(delete))
        .route("/move/folder/{id}", post(move_folder).put(move_folder))
}

async fn shape(
    st: &VaultState,
    s: &VaultSession,
    folders: &[FolderView],
    o: &ListOptions,
) -> Result<Vec<Value>, super::VaultFailure> {
    let resources = if o.contains("children_resources") {
        st.core
            .vault_resource_listing(s, None, ListingWants::default())
            .await?
    } else {
        Vec::new()
    };
    let mine: HashMap<VaultId, sealpost_core::vault::PermissionRow> = if o.contains("permission") {
        best(st.core.vault_my_permissions(s, Aco::Folder).await?)
    } else {
        HashMap::new()
    };
    let all = if o.contains("children_folders") {
        st.core.vault_list_folders(s).await?
    } else {
        Vec::new()
    };
    let mut out = Vec::with_capacity(folders.len());
    for f in folders {
        let mut j = json::folder(f);
        if o.contains("permission") {
            j["permission"] = mine
                .get(&f.folder.id)
                .map(json::permission)
                .unwrap_or(Value::Null);
        }
        if o.contains("children_resources") {
            j["children_resources"] = Value::Array(
                resources
                    .iter()
                    .filter(|r| r.folder_parent_id.as_ref() == Some(&f.folder.id))
                    .map(json::resource)
                    .collect(),
            );
        }
        if o.contains("children_folders") {
            j["children_folders"] = Value::Array(
                all.iter()
                    .filter(|c| c.folder_parent_id.as_ref() == Some(&f.folder.id))
                    .map(json::folder)
                    .collect(),
            );
        }
        if o.contains("permissions")
            || o.contains("permissions.user.profile")
            || o.contains("permissions.group")
        {
            j["permissions"] = permissions_json(st, s, Aco::Folder, &f.folder.id, o).await?;
        }
        out.push(j);
    }
    Ok(out)
}

async fn list(State(st): State<VaultState>, Authed(s): Authed, uri: Uri) -> VaultReply {
    let o = ListOptions::parse(uri.query());
    let mut folders = st.core.vault_list_folders(&s).await?;
    if let Some(ids) = o.filter("has-id") {
        folders.retain(|f| {
            ids.iter()
                .any(|i| i.eq_ignore_ascii_case(f.folder.id.as_str()))
        });
    }
    if let Some(parents) = o.filter("has-parent") {
        folders.retain(|f| {
            parents.iter().any(|p| match &f.folder_parent_id {
                Some(x) => p.eq_ignore_ascii_case(x.as_str()),
                None => p.is_empty() || p == "null",
            })
        });
    }
    if let Some(q) = o.filter_one("search") {
        let q = q.to_lowercase();
        folders.retain(|f| f.folder.name.to_lowercase().contains(&q));
    }
    Ok(Reply::ok(Value::Array(shape(&st, &s, &folders, &o).await?)))
}

async fn view(
    State(st): State<VaultState>,
    Authed(s): Authed,
    Path(raw): Path<String>,
    uri: Uri,
) -> VaultReply {
    let fid = id(&raw, "folder")?;
    let o = ListOptions::parse(uri.query());
    let f = st.core.vault_get_folder(&s, &fid).await?;
    let mut list = shape(&st, &s, &[f], &o).await?;
    Ok(Reply::ok(list.pop().unwrap_or(Value::Null)))
}

#[derive(Debug, Default, Deserialize)]
struct FolderBody {
    name: Option<String>,
    folder_parent_id: Option<String>,
}

async fn create(State(st): State<VaultState>, Authed(s): Authed, req: Request) -> VaultReply {
    let (parts, bytes) = read(req).await?;
    let b: FolderBody = body(&parts.headers, &bytes)?;
    let parent = move_target(&MoveBody {
        folder_parent_id: b.folder_parent_id,
    })?;
    let f = st
        .core
        .vault_create_folder(
            &s,
            NewFolder {
                name: b.name.unwrap_or_default(),
                folder_parent_id: parent,
            },
        )
        .await?;
    let o = ListOptions::parse(Some("contain[permission]=1"));
    let mut list = shape(&st, &s, &[f], &o).await?;
    Ok(Reply::ok(list.pop().unwrap_or(Value::Null))
        .message("The folder has been added successfully."))
}

async fn update(
    State(st): State<VaultState>,
    Authed(s): Authed,
    Path(raw): Path<String>,
    req: Request,
) -> VaultReply {
    let fid = id(&raw, "folder")?;
    let (parts, bytes) = read(req).await?;
    let b: FolderBody = body(&parts.headers, &bytes)?;
    let f = st
        .core
        .vault_update_folder(&s, &fid, b.name.as_deref().unwrap_or_default())
        .await?;
    let mut list = shape(&st, &s, &[f], &ListOptions::default()).await?;
    Ok(Reply::ok(list.pop().unwrap_or(Value::Null))
        .message("The folder has been updated successfully."))
}

async fn delete(
    State(st): State<VaultState>,
    Authed(s): Authed,
    Path(raw): Path<String>,
) -> VaultReply {
    let fid = id(&raw, "folder")?;
    st.core.vault_delete_folder(&s, &fid).await?;
    Ok(Reply::ok(Value::Null).message("The folder has been deleted successfully."))
}

async fn move_folder(
    State(st): State<VaultState>,
    Authed(s): Authed,
    Path(raw): Path<String>,
    req: Request,
) -> VaultReply {
    let fid = id(&raw, "folder")?;
    let (parts, bytes) = read(req).await?;
    let b: MoveBody = body(&parts.headers, &bytes)?;
    let target = move_target(&b)?;
    st.core.vault_move_folder(&s, &fid, target.as_ref()).await?;
    Ok(Reply::ok(Value::Null).message("The folder has been moved successfully."))
}
