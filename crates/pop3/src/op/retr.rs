//! RETR and TOP: the stored message (or its header and first body lines), read from the
//! store in chunks, byte-stuffed, and written out as the output buffer fills, so that a large
//! message is never held whole.

use crate::error::Result;
use crate::op::no_such_message;
use crate::session::Session;
use sealpost_pop3_proto::{DotStuffer, Reply, TopCut};
use tokio::io::AsyncReadExt;

/// Bytes of the message read and stuffed at once.
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
        let mut reader = self.core.message_reader(&message.record).await?;
        self.push(match lines {
            None => Reply::ok(format!("{size} octets")),
            Some(_) => Reply::ok("Top of message follows"),
        });
        // From here on the answer is under way: a failure to read the rest ends the
        // connection (an I/O error) rather than sending a truncated message as complete.
        let mut cut = lines.map(TopCut::new);
        let mut stuffer = DotStuffer::new();
        let mut chunk = vec![0u8; CHUNK];
        loop {
            let read = reader.read(&mut chunk).await?;
            if read == 0 {
                break;
            }
            let data = chunk.get(..read).unwrap_or_default();
            let (data, done) = match cut.as_mut() {
                Some(cut) => cut.take(data),
                None => (data, false),
            };
            stuffer.push(data, self.out());
            self.flush_if_full().await?;
            if done {
                break;
            }
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
