//! QUIT: in the TRANSACTION state, the update state of RFC 1939 section 6. The messages
//! marked with DELE are deleted in one transaction, through the store path IMAP EXPUNGE and
//! the REST delete take (journaled, so IMAP sessions see it at once); then the retrieved
//! ones are flagged `\Seen`. A session that ends any other way changes nothing.

use crate::error::Result;
use crate::session::{Session, State};
use sealpost_core::{FlagOp, Flags};
use sealpost_pop3_proto::{Code, Reply};

impl Session {
    pub(crate) async fn op_quit(&mut self) -> Result<()> {
        self.quit = true;
        let State::Transaction(m) = &self.state else {
            self.push(Reply::ok("Bye"));
            return Ok(());
        };
        let (user, mailbox) = (m.user.clone(), m.mailbox.clone());
        let deleted: Vec<i64> = m
            .messages
            .iter()
            .filter(|e| e.deleted)
            .map(|e| e.uid)
            .collect();
        let seen: Vec<i64> = m
            .messages
            .iter()
            .filter(|e| e.retrieved && !e.deleted && !e.seen)
            .map(|e| e.uid)
            .collect();
        let removed = match self.core.delete_messages(&user, &mailbox, &deleted).await {
            Ok(removed) => removed,
            Err(e) => {
                tracing::warn!(peer = %self.conn.peer, error = %e, "pop3: deleting at QUIT failed");
                self.push(
                    Reply::err("Deleted messages were not removed; try again")
                        .with_code(Code::SysTemp),
                );
                return Ok(());
            }
        };
        if !seen.is_empty() {
            let flags = Flags {
                seen: true,
                ..Flags::default()
            };
            if let Err(e) = self
                .core
                .store_flags(&user, &mailbox, &seen, FlagOp::Add, &flags)
                .await
            {
                tracing::warn!(peer = %self.conn.peer, error = %e, "pop3: flagging retrieved messages failed");
            }
        }
        self.push(Reply::ok(format!(
            "Sealpost POP3 server signing off ({} messages deleted)",
            removed.len()
        )));
        Ok(())
    }
}
