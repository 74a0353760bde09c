//! `sealpost check`: what `serve` would need, checked without serving: the configuration
//! (loaded and validated before any command runs), the API exposure rule, the data directory
//! (created, private, readable and writable by this user), the database (opened and migrated
//! as `serve` and `migrate` do) and the blob store, and the TLS certificate and key. Prints
//! one line per check; exits 0 when all pass, else 1 (2 for a configuration error) with the
//! reason.

use crate::Failure;
use crate::config::{Config, Service, redact_url};

pub async fn run(config: Config) -> Result<(), Failure> {
    println!("config: ok");
    config.check_api_exposure()?;
    for service in Service::ALL {
        println!("  {service} listens on {}", config.listen(service));
    }
    if let Some(metrics) = config.metrics_listen {
        println!("  metrics listens on {metrics}");
    }
    let core = crate::serve::open_core(&config).await?;
    println!("data directory: ok ({})", config.data_dir.display());
    core.ready()
        .await
        .map_err(|e| Failure::Run(format!("the store is not ready: {e}")))?;
    let database = match &config.database_url {
        Some(url) => redact_url(url),
        None => format!("SQLite in {}", config.data_dir.display()),
    };
    println!("database and blob store: ok ({database})");
    crate::tls::server_config(&config)?;
    match (&config.tls_cert, &config.tls_key) {
        (Some(cert), Some(key)) => println!("tls: ok ({} with {})", cert.display(), key.display()),
        _ => println!(
            "tls: ok (the self-signed pair in {}/tls)",
            config.data_dir.display()
        ),
    }
    println!("sealpost check: everything works");
    Ok(())
}
