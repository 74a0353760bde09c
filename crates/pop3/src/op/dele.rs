//! DELE and RSET: deletion marks, kept in the session until QUIT applies them.

use crate::op::no_such_message;
use crate::session::Session;
use sealpost_pop3_proto::Reply;

impl Session {
    pub(crate) fn op_dele(&mut self, n: u32) {
        let Some(m) = self.maildrop_mut() else { return };
        let reply = if m.is_deleted(n) {
            Reply::err(format!("Message {n} already deleted"))
        } else if let Some(e) = m.get_mut(n) {
            e.deleted = true;
            Reply::ok(format!("Message {n} deleted"))
        } else {
            no_such_message(n)
        };
        self.push(reply);
    }

    pub(crate) fn op_rset(&mut self) {
        let Some(m) = self.maildrop_mut() else { return };
        m.reset();
        let (count, size) = m.stat();
        self.push(Reply::ok(format!(
            "Maildrop has {count} messages ({size} octets)"
        )));
    }
}
