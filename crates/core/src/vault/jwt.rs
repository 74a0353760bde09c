//! JWT login for mobile and CLI clients, as passbolt's JwtAuthentication plugin does it:
//! `/auth/jwt/login.json` takes a challenge (JSON with a `verify_token`) encrypted to the
//! server key and signed by the user, and answers one encrypted to the user and signed by
//! the server that carries an RS256 access token (5 minutes) and a refresh token (single
//! use, rotated at each `/auth/jwt/refresh.json`, revoked by `/auth/jwt/logout.json`).
//!
//! The RSA key is `<data_dir>/vault-jwt.key` (PKCS#8 PEM, mode 0600), made on first use;
//! every node needs the same one. Refresh tokens and used verify tokens are stored hashed.

use super::{VaultError, VaultId, VaultResult, VaultSession, blocking, token_hash};
use crate::Core;
use base64::Engine as _;
use rsa::pkcs8::{DecodePrivateKey as _, EncodePrivateKey as _, EncodePublicKey as _, LineEnding};
use rsa::traits::PublicKeyParts;
use sealpost_pgp as pgp;
use std::path::Path;

/// Lifetime of an access token, seconds.
pub const ACCESS_TTL_SECS: i64 = 300;
/// Lifetime of a refresh token, milliseconds (a month, as passbolt).
const REFRESH_TTL_MS: i64 = 30 * 24 * 3600 * 1000;
/// Largest challenge read.
const MAX_CHALLENGE: usize = 64 * 1024;
/// DER `DigestInfo` prefix of SHA-256 (PKCS #1 v1.5 signatures, RS256).
const SHA256_PREFIX: [u8; 19] = [
    0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05,
    0x00, 0x04, 0x20,
];

/// The loaded JWT signing key.
pub struct JwtKey {
    private: rsa::RsaPrivateKey,
    pub public_pem: String,
    /// The JWK of the public key (`kty`, `alg`, `use`, `n`, `e`, `kid`).
    pub jwk: serde_json::Value,
    kid: String,
}

/// What `/auth/jwt/login.json` and `/auth/jwt/refresh.json` give.
#[derive(Debug, Clone)]
pub struct JwtTokens {
    pub access_token: String,
    pub refresh_token: String,
}

fn b64(data: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(data)
}

fn scheme() -> rsa::Pkcs1v15Sign {
    rsa::Pkcs1v15Sign {
        hash_len: Some(32),
        prefix: Box::new(SHA256_PREFIX),
    }
}

fn sha256(data: &[u8]) -> Vec<u8> {
    use sha2::Digest;
    sha2::Sha256::digest(data).to_vec()
}

fn internal(e: impl std::fmt::Display) -> VaultError {
    VaultError::Internal(format!("JWT key: {e}"))
}

fn load_or_create(path: &Path) -> VaultResult<JwtKey> {
    let create = || -> VaultResult<String> {
        let key = rsa::RsaPrivateKey::new(&mut rand::rngs::OsRng, 2048).map_err(internal)?;
        let pem = key
            .to_pkcs8_pem(LineEnding::LF)
            .map_err(internal)?
            .to_string();
        write_0600(path, &pem)?;
        std::fs::read_to_string(path).map_err(internal)
    };
    let pem = match std::fs::read_to_string(path) {
        Ok(s) if !s.trim().is_empty() => s,
        Ok(_) => create()?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => create()?,
        Err(e) => return Err(internal(e)),
    };
    let private = rsa::RsaPrivateKey::from_pkcs8_pem(&pem).map_err(internal)?;
    let public = rsa::RsaPublicKey::from(&private);
    let public_pem = public.to_public_key_pem(LineEnding::LF).map_err(internal)?;
    let kid = hex::encode(&sha256(public_pem.as_bytes())[..8]);
    let jwk = serde_json::json!({
        "kty": "RSA",
        "alg": "RS256",
        "use": "sig",
        "kid": kid,
        "n": b64(&public.n().to_bytes_be()),
        "e": b64(&public.e().to_bytes_be()),
    });
    Ok(JwtKey {
        private,
        public_pem,
        jwk,
        kid,
    })
}

fn write_0600(path: &Path, data: &str) -> VaultResult<()> {
    use std::io::Write;
    let tmp = path.with_extension("tmp");
    {
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        let mut f = opts.open(&tmp).map_err(internal)?;
        f.write_all(data.as_bytes()).map_err(internal)?;
        f.sync_all().map_err(internal)?;
    }
    if std::fs::hard_link(&tmp, path).is_err() && !path.exists() {
        std::fs::rename(&tmp, path).map_err(internal)?;
    }
    let _ = std::fs::remove_file(&tmp);
    Ok(())
}

impl JwtKey {
    /// An RS256 token for `claims`.
    fn sign(&self, claims: &serde_json::Value) -> VaultResult<String> {
        let header = serde_json::json!({"alg": "RS256", "typ": "JWT", "kid": self.kid});
        let input = format!(
            "{}.{}",
            b64(header.to_string().as_bytes()),
            b64(claims.to_string().as_bytes())
        );
        let sig = self
            .private
            .sign(scheme(), &sha256(input.as_bytes()))
            .map_err(internal)?;
        Ok(format!("{input}.{}", b64(&sig)))
    }

    /// The claims of a token signed by this key.
    fn verify(&self, token: &str) -> Option<serde_json::Value> {
        let mut parts = token.split('.');
        let (h, c, s) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() || token.len() > 8192 {
            return None;
        }
        let header: serde_json::Value = serde_json::from_slice(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(h)
                .ok()?,
        )
        .ok()?;
        if header["alg"] != "RS256" {
            return None;
        }
        let sig = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(s)
            .ok()?;
        let public = rsa::RsaPublicKey::from(&self.private);
        public
            .verify(scheme(), &sha256(format!("{h}.{c}").as_bytes()), &sig)
            .ok()?;
        serde_json::from_slice(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(c)
                .ok()?,
        )
        .ok()
    }
}

fn refused(m: &str) -> VaultError {
    VaultError::BadRequest(m.to_string())
}

impl Core {
    /// The JWT key, loaded (or made) on first use.
    pub async fn vault_jwt_key(&self) -> VaultResult<&JwtKey> {
        self.vault
            .jwt
            .get_or_try_init(|| async {
                let path = self.config.data_dir.join("vault-jwt.key");
                blocking(move || load_or_create(&path)).await?
            })
            .await
    }

    async fn vault_issue_jwt(&self, user: &VaultId) -> VaultResult<JwtTokens> {
        let key = self.vault_jwt_key().await?;
        let now = chrono::Utc::now().timestamp();
        let access_token = key.sign(&serde_json::json!({
            "iss": self.config.vault.base_url,
            "sub": user,
            "iat": now,
            "exp": now + ACCESS_TTL_SECS,
            "jti": VaultId::new(),
        }))?;
        let refresh_token = VaultId::new().to_string();
        let now_ms = sealpost_store::now_ms();
        self.store
            .insert_vault_token(
                &token_hash(&refresh_token),
                user,
                "refresh",
                now_ms,
                now_ms + REFRESH_TTL_MS,
            )
            .await?;
        Ok(JwtTokens {
            access_token,
            refresh_token,
        })
    }

    /// `POST /auth/jwt/login.json`: checks the challenge and answers the encrypted reply.
    /// When the user must pass MFA (TOTP on, and `mfa_token`, the request's `passbolt_mfa`
    /// cookie, is no valid proof), the reply lists the MFA `providers`, as passbolt's: the
    /// client then posts its code to `/mfa/verify/totp.json` with the access token.
    pub async fn vault_jwt_login(
        &self,
        user_id: &VaultId,
        challenge: &str,
        mfa_token: Option<&str>,
    ) -> VaultResult<String> {
        if challenge.len() > MAX_CHALLENGE {
            return Err(refused("The challenge is too large."));
        }
        let user = self
            .store
            .vault_user(user_id)
            .await?
            .filter(|u| u.active)
            .ok_or_else(|| refused("The user does not exist or is not active."))?;
        let key = self
            .store
            .vault_gpgkey_of(&user.id)
            .await?
            .ok_or_else(|| refused("The user has no key."))?;
        let server = self.vault_server_key().await?.cert.clone();
        let data = challenge.as_bytes().to_vec();
        let armored = key.armored_key.clone();
        let plain = blocking(move || {
            let cert = pgp::parse_cert(armored.as_bytes())?;
            pgp::decrypt_verified(&server, "", &data, &[&cert], 16 * 1024)
        })
        .await?
        .map_err(|_| {
            refused("The challenge could not be decrypted or is not signed by the user's key.")
        })?;
        let c: serde_json::Value = serde_json::from_slice(&plain)
            .map_err(|_| refused("The challenge is not valid JSON."))?;
        let verify_token = c["verify_token"]
            .as_str()
            .and_then(VaultId::parse)
            .ok_or_else(|| refused("The challenge verify token should be a UUID."))?;
        let expiry = c["verify_token_expiry"].as_i64().unwrap_or(0);
        let now = chrono::Utc::now().timestamp();
        if c["version"] != "1.0.0" || expiry <= now || expiry > now + 3600 {
            return Err(refused(
                "The challenge version or verify token expiry is not valid.",
            ));
        }
        let domain = c["domain"]
            .as_str()
            .unwrap_or_default()
            .trim_end_matches('/');
        if domain != self.config.vault.base_url.trim_end_matches('/') {
            return Err(refused("The challenge domain does not match this server."));
        }
        // A verify token is used once: it is remembered until it expires.
        let hash = token_hash(verify_token.as_str());
        let now_ms = sealpost_store::now_ms();
        if self
            .store
            .vault_token(&hash, "jwt-verify", now_ms)
            .await?
            .is_some()
        {
            return Err(refused("The challenge verify token was used already."));
        }
        self.store
            .insert_vault_token(
                &hash,
                &user.id,
                "jwt-verify",
                now_ms,
                expiry.saturating_mul(1000),
            )
            .await?;
        let tokens = self.vault_issue_jwt(&user.id).await?;
        self.store.touch_vault_login(&user.id, now_ms).await?;
        let mut reply = serde_json::json!({
            "version": "1.0.0",
            "domain": self.config.vault.base_url,
            "verify_token": verify_token,
            "access_token": tokens.access_token,
            "refresh_token": tokens.refresh_token,
        });
        if self.vault_mfa_pending(&user, mfa_token).await? {
            reply["providers"] = serde_json::json!(["totp"]);
        }
        let reply = reply.to_string();
        let armored = key.armored_key;
        let server = self.vault_server_key().await?.cert.clone();
        let enc = blocking(move || {
            let cert = pgp::parse_cert(armored.as_bytes())?;
            pgp::encrypt_signed(&[&cert], &server, "", reply.as_bytes())
        })
        .await?
        .map_err(|e| VaultError::Internal(e.to_string()))?;
        Ok(String::from_utf8_lossy(&enc).into_owned())
    }

    /// `POST /auth/jwt/refresh.json`: a new access token and a new refresh token for a
    /// refresh token, which is used up.
    pub async fn vault_jwt_refresh(
        &self,
        user_id: &VaultId,
        refresh_token: &str,
    ) -> VaultResult<JwtTokens> {
        let token = VaultId::parse(refresh_token.trim())
            .ok_or_else(|| refused("The refresh token should be a UUID."))?;
        let now = sealpost_store::now_ms();
        match self
            .store
            .take_vault_token(&token_hash(token.as_str()), "refresh", now)
            .await?
        {
            Some(u) if &u == user_id => self.vault_issue_jwt(&u).await,
            _ => Err(refused("The refresh token is not valid.")),
        }
    }

    /// `POST /auth/jwt/logout.json`: revokes a refresh token.
    pub async fn vault_jwt_logout(&self, refresh_token: &str) -> VaultResult<()> {
        if let Some(token) = VaultId::parse(refresh_token.trim()) {
            self.store
                .take_vault_token(
                    &token_hash(token.as_str()),
                    "refresh",
                    sealpost_store::now_ms(),
                )
                .await?;
        }
        Ok(())
    }

    /// The session an `Authorization: Bearer` access token stands for; it has passed MFA when
    /// the user needs none or `mfa_token` (the `passbolt_mfa` cookie) proves it.
    pub async fn vault_bearer(
        &self,
        token: &str,
        mfa_token: Option<&str>,
    ) -> VaultResult<VaultSession> {
        let key = self.vault_jwt_key().await?;
        let claims = key
            .verify(token.trim())
            .ok_or(VaultError::Unauthenticated)?;
        let now = chrono::Utc::now().timestamp();
        if claims["exp"].as_i64().is_none_or(|e| e <= now)
            || claims["iss"].as_str() != Some(self.config.vault.base_url.as_str())
        {
            return Err(VaultError::Unauthenticated);
        }
        let id = claims["sub"]
            .as_str()
            .and_then(VaultId::parse)
            .ok_or(VaultError::Unauthenticated)?;
        let user = self
            .store
            .vault_user(&id)
            .await?
            .filter(|u| u.active)
            .ok_or(VaultError::Unauthenticated)?;
        let mfa_ok = !self.vault_mfa_pending(&user, mfa_token).await?;
        Ok(VaultSession {
            user,
            csrf: String::new(),
            mfa_ok,
            hash: String::new(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_sign_and_verify() {
        let dir = std::env::temp_dir().join(format!("sealpost-jwt-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        let key = load_or_create(&dir.join("k.pem")).unwrap();
        let t = key
            .sign(&serde_json::json!({"sub": "x", "exp": 5}))
            .unwrap();
        assert_eq!(key.verify(&t).unwrap()["sub"], "x");
        let mut bad = t.clone();
        bad.push('A');
        assert!(key.verify(&bad).is_none());
        assert!(key.verify("a.b").is_none());
        let again = load_or_create(&dir.join("k.pem")).unwrap();
        assert_eq!(again.public_pem, key.public_pem);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
