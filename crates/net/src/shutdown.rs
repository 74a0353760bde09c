//! Graceful stop, shared by every listener: a [`ShutdownSwitch`] held by `serve` and a
//! [`Shutdown`] handle given to each server and session. On SIGTERM the switch is flipped:
//! accept loops return at once, and each session ends at its next safe point (between
//! commands, or in IMAP IDLE) with its protocol's goodbye, while a transaction in flight (an
//! LMTP/SMTP DATA, an IMAP APPEND) runs to its reply. `serve` waits for
//! [`ShutdownSwitch::drained`] within the grace period.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use tokio::sync::{Notify, watch};

struct Live {
    sessions: AtomicUsize,
    idle: Notify,
}

/// The handle sessions and accept loops watch.
#[derive(Clone)]
pub struct Shutdown {
    rx: watch::Receiver<bool>,
    live: Arc<Live>,
    /// Keeps the channel open for a handle made by [`Shutdown::never`].
    _keep: Option<Arc<watch::Sender<bool>>>,
}

/// Flips every [`Shutdown`] made with it.
pub struct ShutdownSwitch {
    tx: watch::Sender<bool>,
    live: Arc<Live>,
}

/// Counts one live session until dropped.
pub struct SessionGuard {
    live: Arc<Live>,
}

impl Drop for SessionGuard {
    fn drop(&mut self) {
        if self.live.sessions.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.live.idle.notify_waiters();
        }
    }
}

impl std::fmt::Debug for Shutdown {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shutdown")
            .field("stopping", &self.is_stopping())
            .finish()
    }
}

impl Shutdown {
    /// A switch and the handle it controls.
    pub fn new() -> (ShutdownSwitch, Shutdown) {
        let (tx, rx) = watch::channel(false);
        let live = Arc::new(Live {
            sessions: AtomicUsize::new(0),
            idle: Notify::new(),
        });
        (
            ShutdownSwitch {
                tx,
                live: live.clone(),
            },
            Shutdown {
                rx,
                live,
                _keep: None,
            },
        )
    }

    /// A handle that never stops (servers built without a switch, tests).
    pub fn never() -> Shutdown {
        let (switch, mut handle) = Shutdown::new();
        handle._keep = Some(Arc::new(switch.tx));
        handle
    }

    pub fn is_stopping(&self) -> bool {
        *self.rx.borrow()
    }

    /// Resolves once the stop is asked for (never, if the switch is gone unflipped).
    pub async fn stopped(&self) {
        let mut rx = self.rx.clone();
        if rx.wait_for(|stop| *stop).await.is_err() {
            std::future::pending::<()>().await;
        }
    }

    /// Resolves when the stop is asked for, if `between_commands`; never otherwise, so that
    /// a command being received (a DATA, an APPEND's literal) is never cut by the stop.
    pub async fn stopped_between_commands(&self, between_commands: bool) {
        if between_commands {
            self.stopped().await
        } else {
            std::future::pending().await
        }
    }

    /// Counts a session as live until the guard is dropped.
    pub fn track(&self) -> SessionGuard {
        self.live.sessions.fetch_add(1, Ordering::AcqRel);
        SessionGuard {
            live: self.live.clone(),
        }
    }
}

impl ShutdownSwitch {
    /// Asks every accept loop and session to stop.
    pub fn stop(&self) {
        let _ = self.tx.send(true);
    }

    /// Sessions still running.
    pub fn live(&self) -> usize {
        self.live.sessions.load(Ordering::Acquire)
    }

    /// Resolves when no session is live.
    pub async fn drained(&self) {
        loop {
            let idle = self.live.idle.notified();
            if self.live() == 0 {
                return;
            }
            idle.await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn stop_reaches_handles_and_drained_waits_for_sessions() {
        let (switch, handle) = Shutdown::new();
        let guard = handle.track();
        let second = handle.clone().track();
        assert!(!handle.is_stopping());
        let waiter = {
            let h = handle.clone();
            tokio::spawn(async move { h.stopped().await })
        };
        switch.stop();
        tokio::time::timeout(Duration::from_secs(5), waiter)
            .await
            .expect("stopped() resolves")
            .expect("task");
        assert!(handle.is_stopping());
        assert_eq!(switch.live(), 2);
        drop(guard);
        assert!(
            tokio::time::timeout(Duration::from_millis(50), switch.drained())
                .await
                .is_err()
        );
        drop(second);
        tokio::time::timeout(Duration::from_secs(5), switch.drained())
            .await
            .expect("drained once every session ended");
    }

    #[tokio::test]
    async fn never_never_stops() {
        let handle = Shutdown::never();
        assert!(
            tokio::time::timeout(Duration::from_millis(50), handle.stopped())
                .await
                .is_err()
        );
    }
}
