//! The vault server's OpenPGP key: `[vault] serverKeyFile` (default
//! `<data_dir>/vault-server.key`), an armored, unprotected secret key made at first start
//! with mode 0600. Clients check the server with it (GPGAuth stage 0), the server signs login
//! tokens with it, and `GET /auth/verify.json` publishes its public half.

use super::{VaultError, VaultResult, blocking};
use crate::Core;
use sealpost_pgp as pgp;
use std::path::{Path, PathBuf};

/// The loaded server key.
#[derive(Clone)]
pub struct ServerKey {
    pub cert: pgp::Cert,
    /// Upper-case hex, as passbolt shows fingerprints.
    pub fingerprint: String,
    pub armored_public: String,
}

fn io(path: &Path, e: std::io::Error) -> VaultError {
    VaultError::Internal(format!("vault server key {}: {e}", path.display()))
}

/// Reads the key file, or makes it (atomically, mode 0600) when there is none.
fn load_or_create(path: &Path, domain: &str) -> VaultResult<ServerKey> {
    let armored = match std::fs::read_to_string(path) {
        Ok(s) if !s.trim().is_empty() => s,
        Ok(_) => create(path, domain)?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => create(path, domain)?,
        Err(e) => return Err(io(path, e)),
    };
    let cert = pgp::parse_cert(armored.as_bytes())
        .map_err(|e| VaultError::Internal(format!("vault server key {}: {e}", path.display())))?;
    if !cert.has_secret() {
        return Err(VaultError::Internal(format!(
            "vault server key {}: no secret key",
            path.display()
        )));
    }
    let armored_public = cert
        .armored_public()
        .map_err(|e| VaultError::Internal(e.to_string()))?;
    Ok(ServerKey {
        fingerprint: cert.fingerprint().to_ascii_uppercase(),
        armored_public,
        cert,
    })
}

fn create(path: &Path, domain: &str) -> VaultResult<String> {
    use std::io::Write;
    let email = format!(
        "vault@{}",
        if domain.is_empty() {
            "localhost"
        } else {
            domain
        }
    );
    let cert =
        pgp::generate_unprotected("Sealpost vault server", &email, pgp::KeyAlgorithm::Cv25519)
            .map_err(|e| VaultError::Internal(e.to_string()))?;
    let armored = cert
        .armored_secret()
        .map_err(|e| VaultError::Internal(e.to_string()))?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| io(path, e))?;
    }
    let tmp = path.with_extension("tmp");
    {
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        let mut f = opts.open(&tmp).map_err(|e| io(path, e))?;
        f.write_all(armored.as_bytes()).map_err(|e| io(path, e))?;
        f.sync_all().map_err(|e| io(path, e))?;
    }
    // Two starts racing: the first link wins and both read the same file afterwards.
    if std::fs::hard_link(&tmp, path).is_err() && !path.exists() {
        std::fs::rename(&tmp, path).map_err(|e| io(path, e))?;
    }
    let _ = std::fs::remove_file(&tmp);
    std::fs::read_to_string(path).map_err(|e| io(path, e))
}

impl Core {
    /// Where the server key lives.
    pub fn vault_server_key_path(&self) -> PathBuf {
        self.config
            .vault
            .server_key_file
            .clone()
            .unwrap_or_else(|| self.config.data_dir.join("vault-server.key"))
    }

    /// The server key, loaded (or made) on first use; `Core::open` calls this at start.
    pub async fn vault_server_key(&self) -> VaultResult<&ServerKey> {
        self.vault
            .key
            .get_or_try_init(|| async {
                let path = self.vault_server_key_path();
                let domain = self.config.domain.clone();
                blocking(move || load_or_create(&path, &domain)).await?
            })
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn made_once_with_mode_0600() {
        let dir = std::env::temp_dir().join(format!("sealpost-vault-key-{}", std::process::id()));
        let path = dir.join("vault-server.key");
        let _ = std::fs::remove_dir_all(&dir);
        let a = load_or_create(&path, "example.test").unwrap();
        let b = load_or_create(&path, "example.test").unwrap();
        assert_eq!(a.fingerprint, b.fingerprint);
        assert!(a.armored_public.contains("BEGIN PGP PUBLIC KEY BLOCK"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
