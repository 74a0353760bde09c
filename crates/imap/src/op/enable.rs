//! ENABLE (RFC 5161) and what enabling CONDSTORE and QRESYNC (RFC 7162) does to a session.
//! Other names are ignored, as RFC 5161 asks; the ENABLED response lists what this command
//! newly enabled.

use crate::error::Result;
use crate::session::Session;
use sealpost_imap_proto::{Code, Data, Status, StatusResponse};

impl Session {
    pub(crate) fn op_enable(&mut self, tag: &str, requested: &[String]) -> Result<StatusResponse> {
        let mut enabled = Vec::new();
        for name in requested {
            match name.as_str() {
                "CONDSTORE" if !self.condstore => {
                    self.enable_condstore();
                    enabled.push(name.clone());
                }
                "QRESYNC" if !self.qresync => {
                    self.enable_qresync();
                    enabled.push(name.clone());
                }
                _ => {}
            }
        }
        self.push(Data::Enabled(enabled));
        Ok(StatusResponse::ok(tag, "ENABLE completed"))
    }

    /// Marks CONDSTORE enabled (ENABLE, or any CONDSTORE-enabling command of RFC 7162 3.1).
    /// The first time with a mailbox selected, the client learns its HIGHESTMODSEQ, which it
    /// could not rely on before.
    pub(crate) fn enable_condstore(&mut self) {
        if self.condstore {
            return;
        }
        self.condstore = true;
        if let Some(selected) = self.selected.as_mut() {
            selected.condstore = true;
            let highest = u64::try_from(selected.highest_modseq).unwrap_or(0);
            self.push(
                StatusResponse::untagged(Status::Ok, "Highest")
                    .with_code(Code::HighestModSeq(highest)),
            );
        }
    }

    /// Marks QRESYNC (and so CONDSTORE) enabled: from now on expunges are sent as VANISHED.
    pub(crate) fn enable_qresync(&mut self) {
        self.qresync = true;
        if let Some(selected) = self.selected.as_mut() {
            selected.qresync = true;
        }
        self.enable_condstore();
    }
}
