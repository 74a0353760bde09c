//! ENABLE (RFC 5161): switches on extensions that change the server's behaviour. Served:
//! CONDSTORE and QRESYNC (RFC 7162), `UTF8=ACCEPT` (RFC 6855: mailbox names as UTF-8 both
//! ways) and `IMAP4rev2` (RFC 9051, which implies UTF-8 mailbox names). Unknown names are
//! ignored, as the RFC asks; the ENABLED response lists what this command newly enabled.

use crate::error::Result;
use crate::session::Session;
use sealpost_imap_proto::{Code, Data, Status, StatusResponse};

impl Session {
    pub(crate) fn op_enable(&mut self, tag: &str, requested: &[String]) -> Result<StatusResponse> {
        // RFC 5161 3.1: ENABLE belongs before a mailbox is selected; servers need not check,
        // but the way mailbox names are written must not change under a selected mailbox.
        let changes_names = requested
            .iter()
            .any(|n| n.eq_ignore_ascii_case("UTF8=ACCEPT") || n.eq_ignore_ascii_case("IMAP4rev2"));
        if self.selected.is_some() && changes_names {
            return Ok(StatusResponse::bad(
                tag,
                "ENABLE is only valid before a mailbox is selected",
            ));
        }
        let mut enabled = Vec::new();
        for name in requested {
            match name.to_ascii_uppercase().as_str() {
                "CONDSTORE" if !self.condstore => {
                    self.enable_condstore();
                    enabled.push("CONDSTORE".to_string());
                }
                "QRESYNC" if !self.qresync => {
                    self.enable_qresync();
                    enabled.push("QRESYNC".to_string());
                }
                "UTF8=ACCEPT" if !self.utf8_accept => {
                    self.utf8_accept = true;
                    enabled.push("UTF8=ACCEPT".to_string());
                }
                "IMAP4REV2" if !self.rev2 => {
                    self.rev2 = true;
                    // RFC 9051 6.3.1 / 5.1: IMAP4rev2 mailbox names are UTF-8.
                    self.utf8_accept = true;
                    enabled.push("IMAP4rev2".to_string());
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
