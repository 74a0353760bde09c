//! Group commit: concurrent deliveries and uploads are queued to one task that stores them in
//! batches, one transaction (and so one fsync) per batch. Each caller gets its own result
//! once the batch that holds its message is committed.

use sealpost_store::{InsertError, Inserted, NewMessage, Store};
use tokio::sync::{mpsc, oneshot};

/// Most messages committed in one transaction.
const MAX_BATCH: usize = 256;
/// Most messages waiting for the writer; senders wait beyond this (back-pressure).
const QUEUE: usize = 4096;

type Reply = oneshot::Sender<Result<Inserted, InsertError>>;

#[derive(Clone)]
pub(crate) struct Writer {
    tx: mpsc::Sender<(NewMessage, Reply)>,
}

impl Writer {
    pub(crate) fn start(store: Store) -> Writer {
        let (tx, mut rx) = mpsc::channel::<(NewMessage, Reply)>(QUEUE);
        tokio::spawn(async move {
            let mut batch: Vec<(NewMessage, Reply)> = Vec::with_capacity(MAX_BATCH);
            while let Some(first) = rx.recv().await {
                batch.push(first);
                while batch.len() < MAX_BATCH {
                    match rx.try_recv() {
                        Ok(item) => batch.push(item),
                        Err(_) => break,
                    }
                }
                let (messages, replies): (Vec<_>, Vec<_>) = batch.drain(..).unzip();
                match store.insert_messages(&messages).await {
                    Ok(results) => {
                        for (reply, r) in replies.into_iter().zip(results) {
                            let _ = reply.send(r);
                        }
                    }
                    Err(e) => {
                        tracing::error!(error = %e, n = messages.len(), "batch insert failed");
                        let msg = e.to_string();
                        for reply in replies {
                            let _ = reply.send(Err(InsertError::Store(
                                sealpost_store::Error::Corrupt(msg.clone()),
                            )));
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
        let gone = || InsertError::Store(sealpost_store::Error::Corrupt("writer stopped".into()));
        self.tx.send((m, reply)).await.map_err(|_| gone())?;
        wait.await.map_err(|_| gone())?
    }
}
