//! RETR and TOP: the stored message (or its header and first body lines), byte-stuffed,
//! written out in chunks as the output buffer fills.

use crate::error::Result;
use crate::op::no_such_message;
use crate::session::Session;
use sealpost_pop3_proto::{DotStuffer, Reply, top};

/// Bytes of the message stuffed into the output buffer at once.
const CHUNK: usize = 64 * 1024;

impl Session {
    /// RETR `n` (`lines` = `None`) or TOP `n` `lines`.
    pub(crate) async fn op_retr(&mut self, n: u32, lines: Option<u32>) -> Result<()> {
        let Some(m) = self.maildrop() else {
            return Ok(());
        };
        let Some(entry) = m.get(n) else {
            self.push(no_such_message(n));
            return Ok(());
        };
        let (user, mailbox, uid, size) = (m.user.clone(), m.mailbox.clone(), entry.uid, entry.size);
        let Some(message) = self
            .core
            .fetch_messages(&user, &mailbox, &[uid], false)
            .await?
            .into_iter()
            .next()
        else {
            self.push(Reply::err(format!(
                "Message {n} was removed by another session"
            )));
            return Ok(());
        };
        let source = self.core.message_bytes(&message.record).await?;
        let text = match lines {
            Some(lines) => top(&source, lines),
            None => &source[..],
        };
        self.push(match lines {
            None => Reply::ok(format!("{size} octets")),
            Some(_) => Reply::ok("Top of message follows"),
        });
        let mut stuffer = DotStuffer::new();
        for chunk in text.chunks(CHUNK) {
            stuffer.push(chunk, self.out());
            self.flush_if_full().await?;
        }
        stuffer.finish(self.out());
        if lines.is_none()
            && let Some(entry) = self
                .maildrop_mut()
                .and_then(|m| m.messages.get_mut(n as usize - 1))
        {
            entry.retrieved = true;
        }
        Ok(())
    }
}
