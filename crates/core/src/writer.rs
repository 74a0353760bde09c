//! Group commit: concurrent deliveries and uploads are queued to one writer that stores them
//! in batches, one blob sync (only when the batch wrote blob files: small messages are stored
//! in the database, in the batch's transaction) and one transaction per batch. Each caller gets its own result
//! once the batch that holds its message is committed.
//!
//! The writer is a two-stage pipeline: the first stage collects a batch and makes its blob
//! files durable (`syncfs`), the second runs the batch's SQL and commits. A one-slot channel
//! between them lets the sync of batch N+1 overlap the commit of batch N, which matters
//! because a single SQLite writer is the bottleneck of ingestion.

use sealpost_store::{InsertError, Inserted, NewMessage, Store};
use tokio::sync::{mpsc, oneshot};

/// Most messages committed in one transaction.
const MAX_BATCH: usize = 256;
/// Most messages waiting for the writer; senders wait beyond this (back-pressure).
const QUEUE: usize = 4096;

type Reply = oneshot::Sender<Result<Inserted, InsertError>>;
type Batch = Vec<(NewMessage, Reply)>;

#[derive(Clone)]
pub(crate) struct Writer {
    tx: mpsc::Sender<(NewMessage, Reply)>,
}

fn failed(why: String) -> InsertError {
    InsertError::Store(sealpost_store::Error::Corrupt(why))
}

impl Writer {
    pub(crate) fn start(store: Store, changes: crate::notify::Notifier) -> Writer {
        let (tx, mut rx) = mpsc::channel::<(NewMessage, Reply)>(QUEUE);
        let (synced_tx, mut synced_rx) = mpsc::channel::<Batch>(1);

        // Stage 1: collect a batch, make its blobs durable, hand it on.
        let sync_store = store.clone();
        tokio::spawn(async move {
            while let Some(first) = rx.recv().await {
                let mut batch: Batch = Vec::with_capacity(MAX_BATCH);
                batch.push(first);
                while batch.len() < MAX_BATCH {
                    match rx.try_recv() {
                        Ok(item) => batch.push(item),
                        Err(_) => break,
                    }
                }
                if batch.iter().any(|(m, _)| m.blob_written)
                    && let Err(e) = sync_store.blobs.sync().await
                {
                    tracing::error!(error = %e, "blob sync failed; refusing the batch");
                    for (_, reply) in batch {
                        let _ = reply.send(Err(failed(format!("blob sync failed: {e}"))));
                    }
                    continue;
                }
                if synced_tx.send(batch).await.is_err() {
                    break;
                }
            }
        });

        // Stage 2: store and commit, then answer every caller of the batch.
        tokio::spawn(async move {
            while let Some(batch) = synced_rx.recv().await {
                let (messages, replies): (Vec<_>, Vec<_>) = batch.into_iter().unzip();
                match store.insert_messages(&messages, true).await {
                    Ok(results) => {
                        let mut users: Vec<&sealpost_store::model::ObjectId> = messages
                            .iter()
                            .zip(&results)
                            .filter(|(_, r)| r.is_ok())
                            .map(|(m, _)| &m.user)
                            .collect();
                        users.sort();
                        users.dedup();
                        for user in users {
                            // No receiver is not an error: nobody is waiting.
                            changes.notify(user);
                        }
                        for (reply, r) in replies.into_iter().zip(results) {
                            let _ = reply.send(r);
                        }
                    }
                    Err(e) => {
                        tracing::error!(error = %e, n = messages.len(), "batch insert failed");
                        for reply in replies {
                            let _ = reply.send(Err(failed(e.to_string())));
                        }
                    }
                }
            }
        });
        Writer { tx }
    }

    /// Queues one message and waits until it is committed (or refused).
    pub(crate) async fn insert(&self, m: NewMessage) -> Result<Inserted, InsertError> {
        let (reply, wait) = oneshot::channel();
        let gone = || failed("writer stopped".into());
        self.tx.send((m, reply)).await.map_err(|_| gone())?;
        wait.await.map_err(|_| gone())?
    }
}
