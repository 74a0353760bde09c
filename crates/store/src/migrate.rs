//! Embedded schema migrations, applied in order at start, each in its own transaction.

use crate::Result;
use crate::db::Engine;

/// (version, SQLite script, PostgreSQL script)
const MIGRATIONS: &[(i64, &str, &str)] = &[
    (
        1,
        include_str!("schema/sqlite_0001.sql"),
        include_str!("schema/postgres_0001.sql"),
    ),
    (
        2,
        include_str!("schema/sqlite_0002.sql"),
        include_str!("schema/postgres_0002.sql"),
    ),
    (
        3,
        include_str!("schema/sqlite_0003_blob_data.sql"),
        include_str!("schema/postgres_0003_blob_data.sql"),
    ),
    (
        5,
        include_str!("schema/sqlite_0005_filters.sql"),
        include_str!("schema/postgres_0005_filters.sql"),
    ),
    (
        6,
        include_str!("schema/sqlite_0006_outbound.sql"),
        include_str!("schema/postgres_0006_outbound.sql"),
    ),
    (
        7,
        include_str!("schema/sqlite_0007_archive.sql"),
        include_str!("schema/postgres_0007_archive.sql"),
    ),
    (
        10,
        include_str!("schema/sqlite_0010_account_security.sql"),
        include_str!("schema/postgres_0010_account_security.sql"),
    ),
    (
        11,
        include_str!("schema/sqlite_0011_guard.sql"),
        include_str!("schema/postgres_0011_guard.sql"),
    ),
    (
        13,
        include_str!("schema/sqlite_0013_external_keys.sql"),
        include_str!("schema/postgres_0013_external_keys.sql"),
    ),
    (
        15,
        include_str!("schema/sqlite_0015_mailbox_views.sql"),
        include_str!("schema/postgres_0015_mailbox_views.sql"),
    ),
    (
        16,
        include_str!("schema/sqlite_0016_blob_headers.sql"),
        include_str!("schema/postgres_0016_blob_headers.sql"),
    ),
    (
        17,
        include_str!("schema/sqlite_0017_disabled_scopes.sql"),
        include_str!("schema/postgres_0017_disabled_scopes.sql"),
    ),
    (
        20,
        include_str!("schema/sqlite_0020_provisioning.sql"),
        include_str!("schema/postgres_0020_provisioning.sql"),
    ),
    (
        30,
        include_str!("schema/sqlite_0030_vault.sql"),
        include_str!("schema/postgres_0030_vault.sql"),
    ),
    (
        40,
        include_str!("schema/sqlite_0040_from_whitelist.sql"),
        include_str!("schema/postgres_0040_from_whitelist.sql"),
    ),
    (
        41,
        include_str!("schema/sqlite_0041_dkim.sql"),
        include_str!("schema/postgres_0041_dkim.sql"),
    ),
    (
        50,
        include_str!("schema/sqlite_0050_uid_validity.sql"),
        include_str!("schema/postgres_0050_uid_validity.sql"),
    ),
    (
        70,
        include_str!("schema/sqlite_0070_user_profile.sql"),
        include_str!("schema/postgres_0070_user_profile.sql"),
    ),
    (
        75,
        include_str!("schema/sqlite_0075_domain_aliases_access.sql"),
        include_str!("schema/postgres_0075_domain_aliases_access.sql"),
    ),
    (
        76,
        include_str!("schema/sqlite_0076_forwarded_addresses.sql"),
        include_str!("schema/postgres_0076_forwarded_addresses.sql"),
    ),
    (
        80,
        include_str!("schema/sqlite_0080_rpc_mail_features.sql"),
        include_str!("schema/postgres_0080_rpc_mail_features.sql"),
    ),
    (
        81,
        include_str!("schema/sqlite_0081_rpc_lists.sql"),
        include_str!("schema/postgres_0081_rpc_lists.sql"),
    ),
    (
        100,
        include_str!("schema/sqlite_0100_asp_expiry.sql"),
        include_str!("schema/postgres_0100_asp_expiry.sql"),
    ),
    (
        101,
        include_str!("schema/sqlite_0101_filter_fields.sql"),
        include_str!("schema/postgres_0101_filter_fields.sql"),
    ),
    (
        85,
        include_str!("schema/sqlite_0085_vault_folders_relations.sql"),
        include_str!("schema/postgres_0085_vault_folders_relations.sql"),
    ),
];

pub async fn run(db: &Engine) -> Result<()> {
    const CREATE: &str = "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, applied BIGINT NOT NULL)";
    match db {
        Engine::Sqlite { write, .. } => {
            sqlx::query(CREATE).execute(write).await?;
            for (version, script, _) in MIGRATIONS {
                let mut tx = write.begin().await?;
                let done: Option<i64> =
                    sqlx::query_scalar("SELECT version FROM schema_migrations WHERE version = $1")
                        .bind(version)
                        .fetch_optional(&mut *tx)
                        .await?;
                if done.is_none() {
                    sqlx::raw_sql(script).execute(&mut *tx).await?;
                    sqlx::query("INSERT INTO schema_migrations (version, applied) VALUES ($1, $2)")
                        .bind(version)
                        .bind(crate::now_ms())
                        .execute(&mut *tx)
                        .await?;
                    tracing::info!(version, "applied SQLite migration");
                }
                tx.commit().await?;
            }
        }
        Engine::Postgres(pool) => {
            let mut tx = pool.begin().await?;
            // Serialise concurrent starts of several nodes.
            sqlx::query("SELECT pg_advisory_xact_lock(7401)")
                .execute(&mut *tx)
                .await?;
            sqlx::query(CREATE).execute(&mut *tx).await?;
            for (version, _, script) in MIGRATIONS {
                let done: Option<i64> =
                    sqlx::query_scalar("SELECT version FROM schema_migrations WHERE version = $1")
                        .bind(version)
                        .fetch_optional(&mut *tx)
                        .await?;
                if done.is_none() {
                    sqlx::raw_sql(script).execute(&mut *tx).await?;
                    sqlx::query("INSERT INTO schema_migrations (version, applied) VALUES ($1, $2)")
                        .bind(version)
                        .bind(crate::now_ms())
                        .execute(&mut *tx)
                        .await?;
                    tracing::info!(version, "applied PostgreSQL migration");
                }
            }
            tx.commit().await?;
        }
    }
    Ok(())
}
