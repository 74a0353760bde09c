//! Persistence for Sealpost.
pub mod model;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    Conflict(String),
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
}

#[derive(Clone)]
pub struct Store;
