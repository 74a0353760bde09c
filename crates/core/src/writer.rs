//! Group commit: concurrent deliveries and uploads are queued to one writer that stores them
//! in batches, one transaction (and so one sync of the database) per batch. Each caller gets
//! its own result once the batch that holds its message is committed. Blob files are already
//! durable when their messages are queued (each delivery synced its own file), so a batch is
//! only SQL: while one commits, the next collects the messages that arrive meanwhile.

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
                let (messages, replies): (Vec<_>, Vec<_>) = batch.into_iter().unzip();
                let started = std::time::Instant::now();
                let inserted = store.insert_messages(&messages).await;
                crate::metrics::store_commit(started.elapsed());
                match inserted {
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
