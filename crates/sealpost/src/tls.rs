//! The TLS setup of the servers: the certificate chain and key from `[tls] cert` / `key`, or,
//! when none is configured, a self-signed pair made on first start and kept in
//! `<data-dir>/tls/` (the key readable by its owner only), so that clients that pinned it
//! keep working across restarts. rustls with the ring provider; TLS 1.2 and 1.3. SIGHUP reads
//! the files again ([`Certificates::reload`]).

use crate::Failure;
use crate::config::Config;
use sealpost_imap::rustls::{
    self, ServerConfig,
    crypto::CryptoProvider,
    pki_types::{CertificateDer, PrivateKeyDer, pem::PemObject},
    server::{ClientHello, ResolvesServerCert},
    sign::CertifiedKey,
};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

/// File names of the generated pair inside `<data-dir>/tls/`.
const GENERATED_CERT: &str = "cert.pem";
const GENERATED_KEY: &str = "key.pem";

/// The certificate every TLS listener presents, replaceable while the server runs (SIGHUP):
/// a new handshake gets the new one, sessions already encrypted keep theirs.
#[derive(Debug)]
pub struct Certificates {
    current: RwLock<Arc<CertifiedKey>>,
    provider: Arc<CryptoProvider>,
}

impl ResolvesServerCert for Certificates {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(
            self.current
                .read()
                .unwrap_or_else(|e| e.into_inner())
                .clone(),
        )
    }
}

impl Certificates {
    /// Reads the certificate and key `config` names again and, if they load and belong
    /// together, presents them from the next handshake on. On an error the old pair stays.
    pub fn reload(&self, config: &Config) -> Result<PathBuf, Failure> {
        let (cert_path, key_path) = pair_paths(config)?;
        let key = load(&cert_path, &key_path, &self.provider)?;
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(key);
        Ok(cert_path)
    }
}

/// Where the certificate and key are: `[tls] cert` / `key`, or the generated pair.
fn pair_paths(config: &Config) -> Result<(PathBuf, PathBuf), Failure> {
    match (&config.tls_cert, &config.tls_key) {
        (Some(cert), Some(key)) => Ok((cert.clone(), key.clone())),
        _ => generated_pair(config),
    }
}

/// Reads a PEM certificate chain and its key, and checks that they go together.
fn load(
    cert_path: &Path,
    key_path: &Path,
    provider: &CryptoProvider,
) -> Result<CertifiedKey, Failure> {
    let certs = CertificateDer::pem_file_iter(cert_path)
        .and_then(|iter| iter.collect::<Result<Vec<_>, _>>())
        .map_err(|e| {
            Failure::Config(format!(
                "cannot read TLS certificate {}: {e}",
                cert_path.display()
            ))
        })?;
    if certs.is_empty() {
        return Err(Failure::Config(format!(
            "no certificate in {}",
            cert_path.display()
        )));
    }
    let key = PrivateKeyDer::from_pem_file(key_path)
        .map_err(|e| Failure::Config(format!("cannot read TLS key {}: {e}", key_path.display())))?;
    CertifiedKey::from_der(certs, key, provider).map_err(|e| {
        Failure::Config(format!(
            "TLS certificate {} and key {} do not work together: {e}",
            cert_path.display(),
            key_path.display()
        ))
    })
}

/// Loads (or makes) the certificate and key and builds the rustls server configuration,
/// with the handle that replaces the certificate later.
pub fn server_config(config: &Config) -> Result<(Arc<ServerConfig>, Arc<Certificates>), Failure> {
    let (cert_path, key_path) = pair_paths(config)?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let key = load(&cert_path, &key_path, &provider)?;
    let certificates = Arc::new(Certificates {
        current: RwLock::new(Arc::new(key)),
        provider: provider.clone(),
    });
    let server = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Failure::Run(format!("TLS setup: {e}")))?
        .with_no_client_auth()
        .with_cert_resolver(certificates.clone());
    Ok((Arc::new(server), certificates))
}

/// The self-signed pair in the data directory, made if it is not there yet.
fn generated_pair(config: &Config) -> Result<(PathBuf, PathBuf), Failure> {
    let dir = config.data_dir.join("tls");
    let (cert, key) = (dir.join(GENERATED_CERT), dir.join(GENERATED_KEY));
    if cert.is_file() && key.is_file() {
        return Ok((cert, key));
    }
    let io = |what: &str, path: &Path, e: std::io::Error| {
        Failure::Run(format!("cannot {what} {}: {e}", path.display()))
    };
    std::fs::create_dir_all(&dir).map_err(|e| io("create", &dir, e))?;
    let domain = config.domain.trim();
    let mut names = vec!["localhost".to_string(), "127.0.0.1".into(), "::1".into()];
    if domain != "localhost" {
        names.push(domain.to_string());
    }
    let generate = || -> Result<(String, String), rcgen::Error> {
        let mut params = rcgen::CertificateParams::new(names)?;
        params.distinguished_name = rcgen::DistinguishedName::new();
        params.distinguished_name.push(
            rcgen::DnType::CommonName,
            format!("Sealpost self-signed ({domain})"),
        );
        let key_pair = rcgen::KeyPair::generate()?;
        let cert = params.self_signed(&key_pair)?;
        Ok((cert.pem(), key_pair.serialize_pem()))
    };
    let (cert_pem, key_pem) =
        generate().map_err(|e| Failure::Run(format!("cannot make a TLS certificate: {e}")))?;
    // The key first: a certificate on disk always has its key.
    write_private(&key, key_pem.as_bytes()).map_err(|e| io("write", &key, e))?;
    write_private(&cert, cert_pem.as_bytes()).map_err(|e| io("write", &cert, e))?;
    tracing::info!(cert = %cert.display(), "made a self-signed TLS certificate; set [tls] cert and key to use your own");
    Ok((cert, key))
}

/// Writes `data` to `path` through a temporary file renamed into place, created with mode
/// 0600 so that the key is never readable by others, not even for a moment.
pub fn write_private(path: &Path, data: &[u8]) -> std::io::Result<()> {
    let tmp = path.with_extension("tmp");
    // A leftover from an interrupted start may have other permissions: start afresh.
    let _ = std::fs::remove_file(&tmp);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(&tmp)?;
    file.write_all(data)?;
    file.sync_all()?;
    drop(file);
    std::fs::rename(&tmp, path)
}
