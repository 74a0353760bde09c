//! The keys module (`/guard/keys/...`): the user's own key rings: `checkKeys`, `create`,
//! `delete`, `getKeys`, `getKey`, `downloadKey`, `setCurrentKey`, `upload`.

use super::error::{GuardError, GuardResult};
use super::params::Params;
use super::session::GuardSession;
use super::{GuardState, data, empty};
use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use sealpost_core::guard::{KeyRing, KeyType};
use serde::Serialize;
use serde_json::json;

pub fn routes() -> Router<GuardState> {
    Router::new()
        .route("/keys/checkKeys", any(check_keys))
        .route("/keys/create", post(create).put(create))
        .route("/keys/delete", post(delete).delete(delete).put(delete))
        .route("/keys/getKeys", get(get_keys))
        .route("/keys/getKey", get(get_key).post(get_key))
        .route("/keys/downloadKey", get(download_key).post(download_key))
        .route(
            "/keys/setCurrentKey",
            post(set_current).put(set_current).get(set_current),
        )
        .route("/keys/upload", post(upload).put(upload))
}

/// One key of a public ring, as Guard lists it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PublicKeyJson {
    pub id: i64,
    pub expired: bool,
    pub has_private_key: bool,
    pub finger_print: String,
    pub user_ids: Vec<String>,
    pub encryption_key: bool,
    pub master_key: bool,
    /// Seconds from creation to expiry; 0: never expires.
    pub valid_seconds: i64,
    pub revoked: bool,
    /// Milliseconds since the epoch.
    pub creation_time: i64,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PrivateKeyJson {
    pub id: i64,
    pub master_key: bool,
    pub expired: bool,
    pub user_ids: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct RingJson<K> {
    pub ring: String,
    pub keys: Vec<K>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct KeyRingJson {
    pub user_id: i64,
    pub context_id: i64,
    pub current: bool,
    pub public_ring: Option<RingJson<PublicKeyJson>>,
    pub private_ring: Option<RingJson<PrivateKeyJson>>,
}

/// The shape of a key ring. Only the primary key is listed in `keys`: the OpenPGP interface
/// reports facts about a certificate as a whole (`encryptionKey`: it has a usable
/// encryption subkey).
pub fn key_ring_json(k: KeyRing) -> KeyRingJson {
    let i = &k.info;
    let expires = i.expires.map(|e| e.saturating_sub(i.created) as i64);
    KeyRingJson {
        user_id: 0,
        context_id: 0,
        current: k.current,
        public_ring: k.public_ring.map(|ring| RingJson {
            ring,
            keys: vec![PublicKeyJson {
                id: k.key_id,
                expired: i.expired,
                has_private_key: k.has_private,
                finger_print: i.fingerprint.to_ascii_uppercase(),
                user_ids: i.user_ids.clone(),
                encryption_key: i.can_encrypt,
                master_key: true,
                valid_seconds: expires.unwrap_or(0),
                revoked: i.revoked,
                creation_time: (i.created as i64).saturating_mul(1000),
            }],
        }),
        private_ring: k.private_ring.map(|ring| RingJson {
            ring,
            keys: vec![PrivateKeyJson {
                id: k.key_id,
                master_key: true,
                expired: i.expired,
                user_ids: i.user_ids.clone(),
            }],
        }),
    }
}

fn key_type(params: &Params) -> GuardResult<KeyType> {
    match params.get("keyType") {
        None => Ok(KeyType::default()),
        Some(t) => KeyType::parse(t).ok_or_else(|| {
            GuardError::invalid("\"keyType\" must be one of public, private, public_private")
        }),
    }
}

fn required_key_id(params: &Params) -> GuardResult<i64> {
    params
        .key_id("keyid")?
        .ok_or_else(|| GuardError::invalid("\"keyid\" is required"))
}

/// `hasPrivateKey` / `hasPublicKey`.
async fn check_keys(State(s): State<GuardState>, session: GuardSession) -> GuardResult<Response> {
    let (private, public) = s.core.guard_key_status(&session.user).await?;
    Ok(data(
        json!({"hasPrivateKey": private, "hasPublicKey": public}),
    ))
}

async fn create(
    State(s): State<GuardState>,
    session: GuardSession,
    params: Params,
) -> GuardResult<Response> {
    let password = params.required_secret("password")?;
    let name = params.required("name")?;
    let ring = s
        .core
        .guard_create_keyring(&session.user, name, &password)
        .await?;
    Ok(data(key_ring_json(ring)))
}

async fn delete(
    State(s): State<GuardState>,
    session: GuardSession,
    params: Params,
) -> GuardResult<Response> {
    let key_id = required_key_id(&params)?;
    let auth = params.unlock()?;
    s.core
        .guard_delete_keyring(&session.user, key_id, &auth)
        .await?;
    Ok(empty())
}

async fn get_keys(State(s): State<GuardState>, session: GuardSession) -> GuardResult<Response> {
    let rings = s.core.guard_keyrings(&session.user).await?;
    let rings: Vec<KeyRingJson> = rings.into_iter().map(key_ring_json).collect();
    Ok(data(json!({ "keyRings": rings })))
}

async fn fetch(s: &GuardState, session: &GuardSession, params: &Params) -> GuardResult<KeyRing> {
    let key_id = params.key_id("keyid")?;
    let key_type = key_type(params)?;
    let auth = params.unlock().ok();
    Ok(s.core
        .guard_keyring(&session.user, key_id, key_type, auth.as_ref())
        .await?)
}

async fn get_key(
    State(s): State<GuardState>,
    session: GuardSession,
    params: Params,
) -> GuardResult<Response> {
    let ring = fetch(&s, &session, &params).await?;
    Ok(data(key_ring_json(ring)))
}

/// The armored key ring (public block first, then the protected secret block).
async fn download_key(
    State(s): State<GuardState>,
    session: GuardSession,
    params: Params,
) -> GuardResult<Response> {
    let ring = fetch(&s, &session, &params).await?;
    let mut text = String::new();
    for block in [ring.public_ring, ring.private_ring].into_iter().flatten() {
        text.push_str(&block);
        if !text.ends_with('\n') {
            text.push('\n');
        }
    }
    let name = format!(
        "attachment; filename=\"{}.asc\"",
        ring.info.fingerprint.to_ascii_uppercase()
    );
    Ok((
        [
            (header::CONTENT_TYPE, "application/pgp-keys".to_string()),
            (header::CONTENT_DISPOSITION, name),
        ],
        text,
    )
        .into_response())
}

async fn set_current(
    State(s): State<GuardState>,
    session: GuardSession,
    params: Params,
) -> GuardResult<Response> {
    let key_id = required_key_id(&params)?;
    s.core.guard_set_current(&session.user, key_id).await?;
    Ok(empty())
}

async fn upload(
    State(s): State<GuardState>,
    session: GuardSession,
    params: Params,
) -> GuardResult<Response> {
    let key = params.required("key")?;
    let key_password = params.secret("keyPassword");
    let new_password = params.secret("newPassword");
    s.core
        .guard_upload_keyring(
            &session.user,
            key,
            key_password.as_ref(),
            new_password.as_ref(),
        )
        .await?;
    Ok(empty())
}
