//! Fixed and descriptive routes: `healthcheck`, `settings` (no `metadata` plugin: "v4
//! mode"), `roles`, `resource-types` (passbolt's default types with its fixed ids) and
//! `account/settings`.

use super::auth::id;
use super::envelope::{Reply, VaultFailure, VaultReply};
use super::{Authed, VaultState, json};
use axum::Router;
use axum::extract::{Path, State};
use axum::routing::get;
use sealpost_core::vault::{VaultError, iso};
use serde_json::{Value, json};

pub fn routes() -> Router<VaultState> {
    Router::new()
        .route("/healthcheck/status.json", get(status))
        .route("/settings.json", get(settings))
        .route("/roles.json", get(roles))
        .route("/resource-types.json", get(resource_types))
        .route("/resource-types/{id}", get(resource_type))
        .route("/account/settings.json", get(account_settings))
}

async fn status() -> VaultReply {
    Ok(Reply::ok(Value::String("OK".into())))
}

async fn settings(State(st): State<VaultState>) -> VaultReply {
    let base = st.core.config().vault.base_url.clone();
    Ok(Reply::ok(json!({
        "app": {
            "url": format!("{}/", base.trim_end_matches('/')),
            "locale": "en-UK",
            "version": {"number": "4.10.0", "name": "Sealpost"},
            "server_timezone": "UTC",
            "session_timeout": st.core.config().vault.session_ttl.as_secs() / 60,
        },
        "passbolt": {
            "edition": "ce",
            "plugins": {
                "folders": {"version": "2.0.0", "enabled": true},
                "tags": {"enabled": false},
                "multiFactorAuthentication": {"version": "1.1.0", "enabled": true},
                "previewPassword": {"enabled": true},
                "resourceTypes": {"version": "1.0.0", "enabled": true},
                "locale": {"options": [{"locale": "en-UK", "label": "English"}]},
                "rememberMe": {"options": {"300": "5 minutes", "900": "15 minutes", "1800": "30 minutes", "3600": "1 hour", "-1": "until I log out"}},
                "export": {"enabled": false},
                "import": {"enabled": false},
            },
        },
    })))
}

async fn roles(Authed(_): Authed) -> VaultReply {
    Ok(Reply::ok(json::roles()))
}

fn type_json(t: &(&str, &str, &str, &str, &str), definition_as_string: bool) -> Value {
    let definition: Value = if definition_as_string {
        Value::String(t.4.to_string())
    } else {
        serde_json::from_str(t.4).unwrap_or(Value::Null)
    };
    json!({
        "id": t.0,
        "slug": t.1,
        "name": t.2,
        "description": t.3,
        "definition": definition,
        "default": t.1 == "password-and-description",
        "deleted": null,
        "created": iso(1_577_836_800_000),
        "modified": iso(1_577_836_800_000),
    })
}

async fn resource_types(Authed(_): Authed) -> VaultReply {
    let list: Vec<Value> = sealpost_core::vault::RESOURCE_TYPES
        .iter()
        .map(|t| type_json(t, false))
        .collect();
    Ok(Reply::ok(Value::Array(list)))
}

async fn resource_type(Authed(_): Authed, Path(raw): Path<String>) -> VaultReply {
    let wanted = id(&raw, "resource type")?;
    sealpost_core::vault::RESOURCE_TYPES
        .iter()
        .find(|t| t.0 == wanted.as_str())
        .map(|t| Reply::ok(type_json(t, true)))
        .ok_or_else(|| VaultFailure(VaultError::not_found("resource type")))
}

async fn account_settings(Authed(_): Authed) -> VaultReply {
    Ok(Reply::ok(json!([])))
}
