//! Delivery to a mailing list or a group address (`lists.rs`): found at RCPT time by
//! [`Core::fan_out_recipient`] (after users and forwarded addresses), delivered by
//! [`Core::deliver_fan_out`]: members that are users here get it through the ordinary
//! delivery (their filters, quota, Junk), the others through the outbound relay queue.
//!
//! A mailing list adds RFC 2919 `List-Id` and RFC 2369 `List-Post`, `List-Help`,
//! `List-Unsubscribe` (and `List-Owner` when it has an owner) and `Precedence: list`; its
//! relayed copies go out with the list's owner (or the list itself) as envelope sender, so
//! that bounces reach the list, not the author. A group passes the message on as it is, its
//! relayed copies with the sender rewritten by SRS as forwards are. A message that already
//! carries the list's own `List-Id` is a loop and is dropped.

use crate::delivery::{Envelope, Recipient, received_header};
use crate::outbound::{MAX_RECIPIENTS, OutboundKind, OutboundMail};
use crate::{Core, Error, Result};
use sealpost_store::rpc_lists::{ListId, ListKind};

/// A list or group address found for a recipient.
#[derive(Debug, Clone)]
pub struct FanOut {
    pub id: ListId,
    pub kind: ListKind,
    /// The list's address (normalised).
    pub address: String,
    pub adminmail: String,
    pub members: Vec<String>,
}

/// RFC 2919's list identifier: the address with `@` as `.` (`team@example.com` is
/// `team.example.com`).
pub fn list_id(address: &str) -> String {
    address.replacen('@', ".", 1)
}

/// The `List-*` header block (CRLF lines) of a mailing list.
pub fn list_headers(address: &str, adminmail: &str) -> String {
    let owner = if adminmail.is_empty() {
        address
    } else {
        adminmail
    };
    let mut h = format!(
        "List-Id: <{}>\r\nList-Post: <mailto:{address}>\r\nList-Help: <mailto:{owner}?subject=help>\r\n\
         List-Unsubscribe: <mailto:{owner}?subject=unsubscribe>\r\n",
        list_id(address)
    );
    if !adminmail.is_empty() {
        h.push_str(&format!("List-Owner: <mailto:{adminmail}>\r\n"));
    }
    h.push_str("Precedence: list\r\n");
    h
}

/// Whether the header section of `data` has a `List-Id` naming `id` (a loop).
fn carries_list_id(data: &[u8], id: &str) -> bool {
    let end = data
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or(data.len().min(64 * 1024));
    let head = String::from_utf8_lossy(&data[..end]).to_ascii_lowercase();
    let want = format!("<{}>", id.to_ascii_lowercase());
    head.split("\r\n")
        .any(|l| l.starts_with("list-id:") && l.contains(&want))
}

impl Core {
    /// The list or group `address` reaches, if it is one (normalised as delivery does).
    pub async fn fan_out_recipient(&self, address: &str) -> Result<Option<FanOut>> {
        let Some(norm) = self.normal_address(address).await? else {
            return Ok(None);
        };
        let Some(l) = self.store.rpc_list_by_address(&norm.candidates()).await? else {
            return Ok(None);
        };
        let members = self
            .store
            .rpc_list_members(l.id, super::lists::MAX_MEMBERS as i64)
            .await?;
        Ok(Some(FanOut {
            id: l.id,
            kind: l.kind,
            address: l.address.map(|(_, n)| n).unwrap_or_default(),
            adminmail: l.adminmail,
            members,
        }))
    }

    /// Delivers `data` (as received for `f`'s address) to every member. Members here that
    /// cannot take it (unknown, disabled, over quota) are logged and skipped: they are not
    /// the sender's concern. Fails only when nothing could be done (no relay for members
    /// elsewhere, a mail loop, or storage).
    pub async fn deliver_fan_out(
        &self,
        envelope: &Envelope,
        f: &FanOut,
        data: &[u8],
    ) -> Result<()> {
        if crate::forward::received_count(data) > crate::forward::MAX_HOPS {
            return Err(Error::Forbidden {
                message: "Message has too many Received headers (mail loop)".into(),
                code: "MailLoop",
            });
        }
        if f.kind == ListKind::List && carries_list_id(data, &list_id(&f.address)) {
            tracing::info!(list = %f.address, "mailing list: its own message came back; dropped");
            return Ok(());
        }
        let mut body = Vec::with_capacity(data.len() + 512);
        if f.kind == ListKind::List {
            body.extend_from_slice(list_headers(&f.address, &f.adminmail).as_bytes());
        }
        body.extend_from_slice(data);
        let mut local: Vec<Recipient> = Vec::new();
        let mut remote: Vec<String> = Vec::new();
        for m in &f.members {
            if m.eq_ignore_ascii_case(&f.address) {
                continue;
            }
            match self.resolve_recipient(m).await {
                Ok(Some(r)) => {
                    if !local.iter().any(|x| x.user.id == r.user.id) {
                        local.push(r);
                    }
                }
                Ok(None) => {
                    if self.is_local_domain(m).await? {
                        tracing::warn!(list = %f.address, member = %m, "fan-out: no such user here; skipped");
                    } else {
                        remote.push(m.clone());
                    }
                }
                Err(e) => {
                    tracing::warn!(list = %f.address, member = %m, error = %e, "fan-out: member skipped")
                }
            }
        }
        if !remote.is_empty() {
            self.require_relay()?;
        }
        if !local.is_empty() {
            for (r, out) in local
                .iter()
                .zip(self.deliver(envelope, &local, &body).await)
            {
                if let Err(e) = out {
                    tracing::warn!(list = %f.address, member = %r.address, error = %e, "fan-out: not delivered");
                }
            }
        }
        if remote.is_empty() {
            return Ok(());
        }
        let sender = match f.kind {
            ListKind::List if !f.adminmail.is_empty() => f.adminmail.clone(),
            ListKind::List => f.address.clone(),
            ListKind::Group => self.srs_forward_sender(envelope.mail_from.trim()).await?,
        };
        let date = chrono::Utc::now().to_rfc2822();
        let mut raw = received_header(envelope, Some(&f.address), &date);
        raw.extend_from_slice(&body);
        for chunk in remote.chunks(MAX_RECIPIENTS) {
            let id = self
                .enqueue_outbound(OutboundMail {
                    mail_from: sender.clone(),
                    recipients: chunk.to_vec(),
                    raw: raw.clone(),
                    user: None,
                    kind: OutboundKind::Forward,
                })
                .await?;
            tracing::info!(list = %f.address, to = ?chunk, queue = %id, "fan-out: queued");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_headers_follow_rfc_2369_and_2919() {
        assert_eq!(list_id("team@example.com"), "team.example.com");
        let h = list_headers("team@example.com", "boss@example.com");
        assert!(h.starts_with("List-Id: <team.example.com>\r\n"));
        assert!(h.contains("List-Post: <mailto:team@example.com>\r\n"));
        assert!(h.contains("List-Unsubscribe: <mailto:boss@example.com?subject=unsubscribe>\r\n"));
        assert!(h.contains("List-Owner: <mailto:boss@example.com>\r\n"));
        assert!(h.ends_with("Precedence: list\r\n"));
        let h = list_headers("team@example.com", "");
        assert!(!h.contains("List-Owner"));
        assert!(h.contains("List-Help: <mailto:team@example.com?subject=help>"));
    }

    #[test]
    fn loops_are_seen() {
        let m =
            b"List-Id: <Team.example.com>\r\nSubject: x\r\n\r\nList-Id: <other.example.com>\r\n";
        assert!(carries_list_id(m, "team.example.com"));
        assert!(!carries_list_id(m, "other.example.com"));
        assert!(!carries_list_id(
            b"Subject: x\r\n\r\nbody",
            "team.example.com"
        ));
    }
}
