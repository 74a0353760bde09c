//! External recipients' public keys (`/guard/keys/...`, or `/guard/keys?action=...`): the
//! public keys of other people a user uploads, or that came in `Autocrypt:` headers.
//!
//! - `uploadExternalPublicKey` — `key`: ASCII-armored public key(s). An empty response.
//! - `getExternalPublicKeys` — `{"data": {"externalPublicKeyRings": [...]}}`: the user's own
//!   keys (`shareLevel` 0), then keys other users of the domain shared (`shareLevel` 1,
//!   read-only). With `email`, only the keys for that address (own first).
//! - `deleteExternalPublicKey` — `ids`: key ids (16 hex digits), fingerprints or our row ids,
//!   separated by commas or spaces. An empty response.
//! - `shareExternalPublicKey` — `ids`, `share` (true/false). An empty response.
//! - `inlineExternalPublicKey` — `ids`, `inline` (true/false). An empty response.
//!
//! Each ring entry: `ids` (the primary key id), `shareLevel`, `inline`, `shared`, and
//! `publicRing` (`ring`: the armored key; `keys`: as in the user's own key rings), plus our
//! `id`, `source` (`upload` or `autocrypt`) and, for Autocrypt keys, `preferEncrypt`.

use super::error::GuardResult;
use super::keys::{PublicKeyJson, RingJson};
use super::params::Params;
use super::session::GuardSession;
use super::{GuardState, data, empty};
use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::any;
use sealpost_core::external_keys::{ExternalKey, KeySource};
use serde_json::{Value, json};

pub fn routes() -> Router<GuardState> {
    Router::new()
        .route("/keys/uploadExternalPublicKey", any(upload))
        .route("/keys/getExternalPublicKeys", any(list))
        .route("/keys/deleteExternalPublicKey", any(delete))
        .route("/keys/shareExternalPublicKey", any(share))
        .route("/keys/inlineExternalPublicKey", any(inline))
}

async fn upload(
    State(s): State<GuardState>,
    session: GuardSession,
    params: Params,
) -> GuardResult<Response> {
    let key = params.required("key")?;
    s.core.upload_external_keys(&session.user, key).await?;
    Ok(empty())
}

async fn list(
    State(s): State<GuardState>,
    session: GuardSession,
    params: Params,
) -> GuardResult<Response> {
    let keys = match params.get("email") {
        Some(email) => {
            s.core
                .external_keys_for_address(&session.user, email)
                .await?
        }
        None => s.core.external_keys(&session.user).await?,
    };
    let rings: Vec<Value> = keys.iter().map(ring_json).collect();
    Ok(data(json!({ "externalPublicKeyRings": rings })))
}

/// The `ids` parameter: names separated by commas or white space.
fn ids(params: &Params) -> GuardResult<Vec<String>> {
    Ok(params
        .required("ids")?
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect())
}

async fn delete(
    State(s): State<GuardState>,
    session: GuardSession,
    params: Params,
) -> GuardResult<Response> {
    s.core
        .delete_external_keys(&session.user, &ids(&params)?)
        .await?;
    Ok(empty())
}

async fn share(
    State(s): State<GuardState>,
    session: GuardSession,
    params: Params,
) -> GuardResult<Response> {
    let share = bool_param(&params, "share")?;
    s.core
        .share_external_keys(&session.user, &ids(&params)?, share)
        .await?;
    Ok(empty())
}

async fn inline(
    State(s): State<GuardState>,
    session: GuardSession,
    params: Params,
) -> GuardResult<Response> {
    let inline = bool_param(&params, "inline")?;
    s.core
        .set_external_keys_inline(&session.user, &ids(&params)?, inline)
        .await?;
    Ok(empty())
}

/// A required `true`/`false` parameter.
fn bool_param(params: &Params, name: &str) -> GuardResult<bool> {
    match params.required(name)? {
        "true" | "1" => Ok(true),
        "false" | "0" => Ok(false),
        _ => Err(super::error::GuardError::invalid(format!(
            "\"{name}\" must be true or false"
        ))),
    }
}

/// One entry of `externalPublicKeyRings`: `publicRing` as in the user's own key rings.
fn ring_json(k: &ExternalKey) -> Value {
    let r = &k.record;
    let key = PublicKeyJson {
        id: key_id_number(&r.key_id),
        expired: k.info.as_ref().is_some_and(|i| i.expired),
        has_private_key: false,
        finger_print: r.fingerprint.clone(),
        user_ids: r.user_ids.clone(),
        encryption_key: k.info.as_ref().is_some_and(|i| i.can_encrypt),
        master_key: true,
        valid_seconds: k
            .info
            .as_ref()
            .and_then(|i| i.expires.map(|e| e.saturating_sub(i.created) as i64))
            .unwrap_or(0),
        revoked: k.info.as_ref().is_some_and(|i| i.revoked),
        creation_time: k
            .info
            .as_ref()
            .map_or(0, |i| (i.created as i64).saturating_mul(1000)),
    };
    let mut ring = json!({
        "id": r.id.as_str(),
        "ids": r.key_id,
        "shareLevel": k.share_level,
        "inline": r.inline,
        "shared": k.shared(),
        "source": r.source.as_str(),
        "publicRing": RingJson { ring: r.armored.clone(), keys: vec![key] },
    });
    if r.source == KeySource::Autocrypt
        && let Value::Object(map) = &mut ring
    {
        map.insert("preferEncrypt".into(), r.prefer_encrypt.clone().into());
    }
    ring
}

/// Guard's numeric key id: the 64-bit key id as a signed integer.
fn key_id_number(hex: &str) -> i64 {
    u64::from_str_radix(hex, 16).map_or(0, |n| n as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numeric_key_ids() {
        assert_eq!(key_id_number("0000000000000010"), 16);
        assert_eq!(key_id_number("FFFFFFFFFFFFFFFF"), -1);
        assert_eq!(key_id_number("zz"), 0);
    }
}
