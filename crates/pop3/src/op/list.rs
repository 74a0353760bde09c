//! STAT, LIST and UIDL: counts, sizes (octets of the stored message) and unique ids of the
//! messages not marked deleted.

use crate::op::no_such_message;
use crate::session::Session;
use sealpost_pop3_proto::{END, Reply};

impl Session {
    pub(crate) fn op_stat(&mut self) {
        let Some(m) = self.maildrop() else { return };
        let (count, size) = m.stat();
        self.push(Reply::ok(format!("{count} {size}")));
    }

    pub(crate) fn op_list(&mut self, n: Option<u32>) {
        let Some(m) = self.maildrop() else { return };
        match n {
            Some(n) => {
                let reply = match m.get(n) {
                    Some(e) => Reply::ok(format!("{n} {}", e.size)),
                    None => no_such_message(n),
                };
                self.push(reply);
            }
            None => {
                let (count, size) = m.stat();
                let mut lines = String::with_capacity(count * 16);
                for (n, e) in m.live() {
                    lines.push_str(&format!("{n} {}\r\n", e.size));
                }
                self.push(Reply::ok(format!("{count} messages ({size} octets)")));
                self.push_raw(lines.as_bytes());
                self.push_raw(END);
            }
        }
    }

    pub(crate) fn op_uidl(&mut self, n: Option<u32>) {
        let Some(m) = self.maildrop() else { return };
        match n {
            Some(n) => {
                let reply = match m.get(n) {
                    Some(e) => Reply::ok(format!("{n} {}", m.unique_id(e))),
                    None => no_such_message(n),
                };
                self.push(reply);
            }
            None => {
                let mut lines = String::with_capacity(m.messages.len() * 24);
                for (n, e) in m.live() {
                    lines.push_str(&format!("{n} {}\r\n", m.unique_id(e)));
                }
                self.push(Reply::ok("Unique-ID listing follows"));
                self.push_raw(lines.as_bytes());
                self.push_raw(END);
            }
        }
    }
}
