//! Authentication routes: the server key (`/auth/verify.json`), GPGAuth (`/auth/login.json`),
//! logout, `is-authenticated`, MFA (`/mfa/verify/totp.json`), the account setup
//! (`/setup/start|complete`), account recovery (`/users/recover.json`,
//! `/setup/recover/start|complete|abort`) and the JWT login (`/auth/jwt/...`).

use super::envelope::{Reply, VaultFailure, VaultReply};
use super::json;
use super::query::body;
use super::{Authed, AuthedNoMfa, SESSION_COOKIE, VaultState, client_ip};
use axum::Router;
use axum::extract::{Path, Request, State};
use axum::http::request::Parts;
use axum::routing::{get, post};
use sealpost_core::AuthMeta;
use sealpost_core::vault::{GpgAuthStep, MFA_COOKIE, MFA_REMEMBER_MS, VaultError, VaultId};
use serde::Deserialize;

/// Largest vault request body.
pub const MAX_BODY: usize = 16 << 20;

pub fn routes() -> Router<VaultState> {
    Router::new()
        .route("/auth/verify.json", get(server_key).post(verify))
        .route("/auth/login.json", post(login))
        .route("/auth/logout.json", get(logout).post(logout))
        .route("/auth/logout", get(logout).post(logout))
        .route("/auth/is-authenticated.json", get(is_authenticated))
        .route("/mfa/verify/totp.json", post(mfa_totp))
        .route("/mfa/verify/error.json", get(mfa_error))
        .route("/setup/start/{user}/{token}", get(setup_start))
        .route("/setup/complete/{user}", post(setup_complete))
        .route("/users/recover.json", post(recover))
        .route("/setup/recover/start/{user}/{token}", get(recover_start))
        .route("/setup/recover/complete/{user}", post(recover_complete))
        .route("/setup/recover/abort/{user}", post(recover_abort))
        .route("/auth/jwt/rsa.json", get(jwt_rsa))
        .route("/auth/jwt/jwks.json", get(jwt_jwks))
        .route("/auth/jwt/login.json", post(jwt_login))
        .route("/auth/jwt/refresh.json", post(jwt_refresh))
        .route("/auth/jwt/logout.json", post(jwt_logout))
}

/// Splits a request into its parts and its (bounded) body.
pub async fn read(req: Request) -> Result<(Parts, bytes::Bytes), VaultFailure> {
    let (parts, b) = req.into_parts();
    let bytes = axum::body::to_bytes(b, MAX_BODY).await.map_err(|_| {
        VaultFailure(VaultError::BadRequest(
            "The request body is too large.".into(),
        ))
    })?;
    Ok((parts, bytes))
}

/// A path id: a UUID, with or without the `.json` suffix.
pub fn id(s: &str, what: &str) -> Result<VaultId, VaultFailure> {
    VaultId::parse(s.strip_suffix(".json").unwrap_or(s)).ok_or_else(|| {
        VaultFailure(VaultError::BadRequest(format!(
            "The {what} identifier should be a valid UUID."
        )))
    })
}

fn meta(parts: &Parts) -> AuthMeta {
    AuthMeta::new("VAULT", None, client_ip(parts))
}

/// `Secure` only when the clients' base URL is https.
fn cookie_flags(st: &VaultState) -> &'static str {
    if st.core.config().vault.base_url.starts_with("https://") {
        "; Secure"
    } else {
        ""
    }
}

async fn server_key(State(st): State<VaultState>) -> VaultReply {
    let key = st.core.vault_server_key().await?;
    Ok(Reply::ok(serde_json::json!({
        "fingerprint": key.fingerprint,
        "keydata": key.armored_public,
    })))
}

#[derive(Debug, Default, Deserialize)]
struct GpgAuthBody {
    #[serde(default)]
    gpg_auth: GpgAuthFields,
}

#[derive(Debug, Default, Deserialize)]
struct GpgAuthFields {
    keyid: Option<String>,
    server_verify_token: Option<String>,
    user_token_result: Option<String>,
}

async fn verify(State(st): State<VaultState>, req: Request) -> VaultReply {
    let (parts, bytes) = read(req).await?;
    let b: GpgAuthBody = body(&parts.headers, &bytes)?;
    let Some(token) = b.gpg_auth.server_verify_token else {
        return Err(VaultFailure(VaultError::GpgAuth {
            message: "The server verify token is missing.".into(),
            debug: "No server_verify_token given.".into(),
        }));
    };
    let plain = st
        .core
        .vault_verify_server(b.gpg_auth.keyid.as_deref(), &token)
        .await?;
    Ok(Reply::ok(serde_json::Value::Null)
        .message("The server key was verified.")
        .header("x-gpgauth-authenticated", "false")
        .header("x-gpgauth-progress", "stage0")
        .header("x-gpgauth-verify-response", plain))
}

async fn login(State(st): State<VaultState>, req: Request) -> VaultReply {
    let (parts, bytes) = read(req).await?;
    let b: GpgAuthBody = body(&parts.headers, &bytes)?;
    let Some(keyid) = b.gpg_auth.keyid else {
        return Err(VaultFailure(VaultError::GpgAuth {
            message: "The key id is missing.".into(),
            debug: "No key id set.".into(),
        }));
    };
    let step = st
        .core
        .vault_login(
            &keyid,
            b.gpg_auth.user_token_result.as_deref(),
            super::cookie(&parts.headers, MFA_COOKIE).as_deref(),
            &meta(&parts),
        )
        .await?;
    match step {
        GpgAuthStep::Challenge { header } => Ok(Reply::ok(serde_json::Value::Null)
            .message("Please decrypt this token and send it back.")
            .header("x-gpgauth-authenticated", "false")
            .header("x-gpgauth-progress", "stage1")
            .header("x-gpgauth-user-auth-token", header)),
        GpgAuthStep::Authenticated {
            session,
            csrf,
            user,
            mfa_required,
        } => {
            let flags = cookie_flags(&st);
            let key = st.core.vault_gpgkey_of_user(&user.id).await?;
            let mut r = Reply::ok(json::user(&user, key.as_ref(), None))
                .message("You are successfully logged in.")
                .header("x-gpgauth-authenticated", "true")
                .header("x-gpgauth-progress", "complete")
                .header("x-gpgauth-refer", "/vault/")
                .header(
                    "set-cookie",
                    format!("{SESSION_COOKIE}={session}; Path=/; HttpOnly; SameSite=Lax{flags}"),
                )
                .header(
                    "set-cookie",
                    format!("csrfToken={csrf}; Path=/; SameSite=Lax{flags}"),
                );
            if mfa_required {
                r = r.header("x-passbolt-mfa", "1");
            }
            Ok(r)
        }
    }
}

async fn logout(State(st): State<VaultState>, req: Request) -> VaultReply {
    let (parts, _) = read(req).await?;
    if let Some(token) = super::cookie(&parts.headers, SESSION_COOKIE)
        && let Ok(s) = st.core.vault_session(&token).await
    {
        st.core.vault_logout(&s).await?;
    }
    Ok(Reply::ok(serde_json::Value::Null)
        .message("You are successfully logged out.")
        .header(
            "set-cookie",
            format!("{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0"),
        ))
}

async fn is_authenticated(Authed(_): Authed) -> VaultReply {
    Ok(Reply::ok(serde_json::Value::Null).message("You are authenticated."))
}

#[derive(Debug, Deserialize)]
struct TotpBody {
    totp: Option<String>,
    /// `true`, `1`, `"1"`...: keep the proof for a month.
    #[serde(default)]
    remember: serde_json::Value,
}

async fn mfa_totp(
    State(st): State<VaultState>,
    AuthedNoMfa(s): AuthedNoMfa,
    req: Request,
) -> VaultReply {
    let (parts, bytes) = read(req).await?;
    let b: TotpBody = body(&parts.headers, &bytes)?;
    let code = b.totp.unwrap_or_default();
    let remember = match &b.remember {
        serde_json::Value::Bool(v) => *v,
        serde_json::Value::Number(n) => n.as_i64() == Some(1),
        serde_json::Value::String(v) => matches!(v.trim(), "1" | "true" | "True"),
        _ => false,
    };
    let proof = st
        .core
        .vault_verify_totp(&s, code.trim(), remember, &meta(&parts))
        .await?;
    let max_age = if remember {
        format!("; Max-Age={}", MFA_REMEMBER_MS / 1000)
    } else {
        String::new()
    };
    Ok(Reply::ok(serde_json::Value::Null)
        .message("The multi-factor authentication was a success.")
        .header(
            "set-cookie",
            format!(
                "{MFA_COOKIE}={proof}; Path=/; HttpOnly; SameSite=Strict{max_age}{}",
                cookie_flags(&st)
            ),
        ))
}

async fn mfa_error(AuthedNoMfa(s): AuthedNoMfa) -> VaultReply {
    if s.mfa_ok {
        return Ok(Reply::ok(serde_json::Value::Null));
    }
    Err(VaultFailure(VaultError::MfaRequired))
}

async fn setup_start(
    State(st): State<VaultState>,
    Path((user, token)): Path<(String, String)>,
) -> VaultReply {
    let user = id(&user, "user")?;
    let token = id(&token, "token")?;
    let u = st.core.vault_setup_start(&user, &token).await?;
    Ok(Reply::ok(
        serde_json::json!({ "user": json::user(&u, None, None) }),
    ))
}

#[derive(Debug, Default, Deserialize)]
struct SetupBody {
    #[serde(default)]
    authentication_token: TokenField,
    #[serde(default)]
    gpgkey: KeyField,
}

#[derive(Debug, Default, Deserialize)]
struct TokenField {
    token: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct KeyField {
    armored_key: Option<String>,
}

async fn setup_complete(
    State(st): State<VaultState>,
    Path(user): Path<String>,
    req: Request,
) -> VaultReply {
    let user = id(&user, "user")?;
    let (parts, bytes) = read(req).await?;
    let b: SetupBody = body(&parts.headers, &bytes)?;
    let Some(token) = b.authentication_token.token else {
        return Err(VaultFailure(VaultError::field(
            "authentication_token.token",
            "_required",
            "An authentication token is required.",
        )));
    };
    let Some(key) = b.gpgkey.armored_key else {
        return Err(VaultFailure(VaultError::field(
            "gpgkey.armored_key",
            "_required",
            "An armored key is required.",
        )));
    };
    let u = st.core.vault_setup_complete(&user, &token, &key).await?;
    Ok(Reply::ok(json::user(&u, None, None)).message("The setup was completed successfully."))
}

#[derive(Debug, Default, Deserialize)]
struct RecoverBody {
    username: Option<String>,
}

async fn recover(State(st): State<VaultState>, req: Request) -> VaultReply {
    let (parts, bytes) = read(req).await?;
    let b: RecoverBody = body(&parts.headers, &bytes)?;
    let Some(username) = b.username.filter(|u| !u.trim().is_empty()) else {
        return Err(VaultFailure(VaultError::field(
            "username",
            "_required",
            "A username is required.",
        )));
    };
    st.core.vault_start_recovery(username.trim()).await?;
    Ok(Reply::ok(serde_json::Value::Null).message("Recovery process started, check your email."))
}

async fn recover_start(
    State(st): State<VaultState>,
    Path((user, token)): Path<(String, String)>,
) -> VaultReply {
    let user = id(&user, "user")?;
    let token = id(&token, "token")?;
    let u = st.core.vault_recover_start(&user, &token).await?;
    let key = st.core.vault_gpgkey_of_user(&u.id).await?;
    Ok(Reply::ok(
        serde_json::json!({ "user": json::user(&u, key.as_ref(), None) }),
    ))
}

async fn recover_complete(
    State(st): State<VaultState>,
    Path(user): Path<String>,
    req: Request,
) -> VaultReply {
    let user = id(&user, "user")?;
    let (parts, bytes) = read(req).await?;
    let b: SetupBody = body(&parts.headers, &bytes)?;
    let token = b.authentication_token.token.unwrap_or_default();
    let Some(key) = b.gpgkey.armored_key else {
        return Err(VaultFailure(VaultError::field(
            "gpgkey.armored_key",
            "_required",
            "An armored key is required.",
        )));
    };
    let u = st
        .core
        .vault_recover_complete(&user, &token, Some(&key))
        .await?;
    Ok(Reply::ok(json::user(&u, None, None)).message("The recovery was completed successfully."))
}

async fn recover_abort(
    State(st): State<VaultState>,
    Path(user): Path<String>,
    req: Request,
) -> VaultReply {
    let user = id(&user, "user")?;
    let (parts, bytes) = read(req).await?;
    let b: SetupBody = body(&parts.headers, &bytes)?;
    let token = b.authentication_token.token.unwrap_or_default();
    st.core.vault_recover_complete(&user, &token, None).await?;
    Ok(Reply::ok(serde_json::Value::Null).message("The recovery was aborted."))
}

async fn jwt_rsa(State(st): State<VaultState>) -> VaultReply {
    let key = st.core.vault_jwt_key().await?;
    Ok(Reply::ok(serde_json::json!({ "keydata": key.public_pem })))
}

async fn jwt_jwks(State(st): State<VaultState>) -> VaultReply {
    let key = st.core.vault_jwt_key().await?;
    Ok(Reply::ok(serde_json::json!({ "keys": [key.jwk] })))
}

#[derive(Debug, Default, Deserialize)]
struct JwtBody {
    user_id: Option<String>,
    challenge: Option<String>,
    refresh_token: Option<String>,
}

fn jwt_user(b: &JwtBody) -> Result<VaultId, VaultFailure> {
    b.user_id
        .as_deref()
        .and_then(VaultId::parse)
        .ok_or_else(|| {
            VaultFailure(VaultError::field(
                "user_id",
                "uuid",
                "The user identifier should be a valid UUID.",
            ))
        })
}

async fn jwt_login(State(st): State<VaultState>, req: Request) -> VaultReply {
    let (parts, bytes) = read(req).await?;
    let b: JwtBody = body(&parts.headers, &bytes)?;
    let user = jwt_user(&b)?;
    let Some(challenge) = b.challenge else {
        return Err(VaultFailure(VaultError::field(
            "challenge",
            "_required",
            "A challenge is required.",
        )));
    };
    let mfa = super::cookie(&parts.headers, MFA_COOKIE);
    let reply = st
        .core
        .vault_jwt_login(&user, &challenge, mfa.as_deref())
        .await?;
    Ok(Reply::ok(serde_json::json!({ "challenge": reply }))
        .message("The authentication was a success."))
}

async fn jwt_refresh(State(st): State<VaultState>, req: Request) -> VaultReply {
    let (parts, bytes) = read(req).await?;
    let b: JwtBody = body(&parts.headers, &bytes)?;
    let user = jwt_user(&b)?;
    let token = b
        .refresh_token
        .or_else(|| super::cookie(&parts.headers, "refresh_token"))
        .unwrap_or_default();
    let t = st.core.vault_jwt_refresh(&user, &token).await?;
    let flags = cookie_flags(&st);
    Ok(Reply::ok(
        serde_json::json!({ "access_token": t.access_token, "refresh_token": t.refresh_token }),
    )
    .message("The authentication was a success.")
    .header(
        "set-cookie",
        format!(
            "refresh_token={}; Path=/; HttpOnly; SameSite=Strict{flags}",
            t.refresh_token
        ),
    ))
}

async fn jwt_logout(State(st): State<VaultState>, req: Request) -> VaultReply {
    let (parts, bytes) = read(req).await?;
    let b: JwtBody = body(&parts.headers, &bytes)?;
    let token = b
        .refresh_token
        .or_else(|| super::cookie(&parts.headers, "refresh_token"))
        .unwrap_or_default();
    st.core.vault_jwt_logout(&token).await?;
    Ok(Reply::ok(serde_json::Value::Null).message("You are successfully logged out."))
}
