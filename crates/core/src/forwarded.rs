//! Forwarded addresses (WildDuck's `/addresses/forwarded`): an address with no mailbox whose
//! mail goes to its targets through the outbound relay queue, with the envelope sender
//! rewritten by SRS, within the address's own 24 h `forwards` limit, and answered by the
//! address's own autoreply (the rules of `autoreply.rs`).
//!
//! Targets are e-mail addresses. WildDuck's relay URLs (`smtp://mx.example:25`), HTTP
//! targets and wildcard addresses (`*@example.com`, `allowWildcard`) are refused with a
//! validation error saying so: they are not supported.
//!
//! An address is either a user's or forwarded, never both (the store checks both in the
//! writing transaction); a lookup (`forwarded_recipient`) uses the one canonicalisation of
//! [`Core::normal_address`], domain aliases included.

use crate::autoreply::{AutoreplyUpdate, apply_update, check_update, suppressed};
use crate::delivery::{Envelope, received_header};
use crate::outbound::{MAX_RECIPIENTS, OutboundKind, OutboundMail, QueueId};
use crate::{Core, Error, LIMIT_WINDOW_MS, Result, validate};
use sealpost_store::autoreplies::AutoreplyRecord;
use sealpost_store::forwarded::{ForwardedAddresses, ForwardedRecord};
use sealpost_store::model::{AddressRecord, Millis, ObjectId};
use serde::{Deserialize, Serialize};

pub use sealpost_store::forwarded::ForwardedId;

/// Longest `metaData` / `internalData`, as JSON (bytes).
pub const MAX_DATA: usize = 64 * 1024;
/// Longest identity name (characters).
const MAX_NAME: usize = 256;

/// `POST /addresses/forwarded`.
#[derive(Debug, Clone, Default)]
pub struct NewForwarded {
    pub address: String,
    pub name: Option<String>,
    pub targets: Vec<String>,
    /// 0 or `None`: the server's default (`defaultForwards`).
    pub forwards: Option<i64>,
    pub allow_wildcard: bool,
    pub autoreply: Option<AutoreplyUpdate>,
    pub tags: Vec<String>,
    pub meta_data: Option<serde_json::Value>,
    pub internal_data: Option<serde_json::Value>,
}

/// `PUT /addresses/forwarded/{id}`: only `Some` fields change.
#[derive(Debug, Clone, Default)]
pub struct ForwardedUpdate {
    pub address: Option<String>,
    pub name: Option<String>,
    pub targets: Option<Vec<String>>,
    pub forwards: Option<i64>,
    pub autoreply: Option<AutoreplyUpdate>,
    pub tags: Option<Vec<String>>,
    pub meta_data: Option<serde_json::Value>,
    pub internal_data: Option<serde_json::Value>,
    pub disabled: Option<bool>,
}

/// A forwarded address as the API shows it.
#[derive(Debug, Clone)]
pub struct ForwardedInfo {
    pub id: ForwardedId,
    pub address: String,
    pub name: String,
    pub targets: Vec<String>,
    pub forwards_allowed: i64,
    pub forwards_used: i64,
    /// Seconds until the 24 h window ends (0 when none is running).
    pub forwards_ttl: i64,
    pub autoreply: AutoreplyRecord,
    pub tags: Vec<String>,
    pub meta_data: serde_json::Value,
    pub internal_data: serde_json::Value,
    pub disabled: bool,
    pub created: Millis,
}

/// The autoreply as stored (JSON in the address's row).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct StoredAutoreply {
    status: bool,
    name: String,
    subject: String,
    text: String,
    html: String,
    start: Option<Millis>,
    end: Option<Millis>,
}

impl From<StoredAutoreply> for AutoreplyRecord {
    fn from(a: StoredAutoreply) -> Self {
        AutoreplyRecord {
            status: a.status,
            name: a.name,
            subject: a.subject,
            text: a.text,
            html: a.html,
            start: a.start,
            end: a.end,
        }
    }
}

impl From<&AutoreplyRecord> for StoredAutoreply {
    fn from(a: &AutoreplyRecord) -> Self {
        StoredAutoreply {
            status: a.status,
            name: a.name.clone(),
            subject: a.subject.clone(),
            text: a.text.clone(),
            html: a.html.clone(),
            start: a.start,
            end: a.end,
        }
    }
}

fn autoreply_of(r: &ForwardedRecord) -> AutoreplyRecord {
    serde_json::from_str::<StoredAutoreply>(&r.autoreply)
        .unwrap_or_default()
        .into()
}

fn encode_autoreply(a: &AutoreplyRecord) -> String {
    serde_json::to_string(&StoredAutoreply::from(a)).unwrap_or_else(|_| "{}".into())
}

fn not_found() -> Error {
    Error::not_found("Invalid or unknown address")
}

/// `metaData` / `internalData`: an object, or a string holding the JSON of one (as WildDuck
/// accepts), at most [`MAX_DATA`] bytes encoded.
pub fn data_object(value: &serde_json::Value, field: &'static str) -> Result<String> {
    let bad = || {
        Error::validation(
            format!("\"{field}\" must be an object or the JSON of one"),
            field,
        )
    };
    let object = match value {
        serde_json::Value::Object(_) => value.clone(),
        serde_json::Value::String(s) => match serde_json::from_str::<serde_json::Value>(s) {
            Ok(v @ serde_json::Value::Object(_)) => v,
            _ => return Err(bad()),
        },
        _ => return Err(bad()),
    };
    let encoded = object.to_string();
    if encoded.len() > MAX_DATA {
        return Err(Error::validation(
            format!("\"{field}\" must be at most {MAX_DATA} bytes as JSON"),
            field,
        ));
    }
    if encoded.contains("\\u0000") {
        return Err(Error::validation(
            format!("\"{field}\" contains NUL"),
            field,
        ));
    }
    Ok(encoded)
}

/// Parses stored JSON data (an empty object when unreadable).
pub fn stored_object(s: &str) -> serde_json::Value {
    serde_json::from_str(s).unwrap_or_else(|_| serde_json::json!({}))
}

/// Checks and normalises targets: e-mail addresses only, 1..=[`MAX_RECIPIENTS`], no
/// duplicates, not the address itself.
fn targets(given: &[String], own_norm: &str) -> Result<Vec<String>> {
    let mut out: Vec<String> = Vec::new();
    for t in given {
        let t = t.trim();
        if t.is_empty() {
            continue;
        }
        if t.contains("://") {
            return Err(Error::validation(
                "Relay and URL targets are not supported; targets must be e-mail addresses",
                "targets",
            ));
        }
        let (address, norm) = validate::address(t, "targets")?;
        if norm == own_norm {
            return Err(Error::validation(
                "An address can not forward to itself",
                "targets",
            ));
        }
        if !out.iter().any(|o| o.eq_ignore_ascii_case(&address)) {
            out.push(address);
        }
    }
    if out.len() > MAX_RECIPIENTS {
        return Err(Error::validation(
            format!("At most {MAX_RECIPIENTS} targets"),
            "targets",
        ));
    }
    Ok(out)
}

fn forwarded_address(a: &str) -> Result<(String, String)> {
    if a.contains('*') {
        return Err(Error::validation(
            "Wildcard addresses are not supported",
            "address",
        ));
    }
    validate::address(a, "address")
}

fn name(n: &str) -> Result<String> {
    let n = n.trim();
    if n.chars().count() > MAX_NAME {
        return Err(Error::validation(
            format!("\"name\" must be at most {MAX_NAME} characters"),
            "name",
        ));
    }
    validate::text(n, "name")?;
    Ok(n.to_string())
}

fn check_forwards(n: i64) -> Result<()> {
    if n < 0 {
        return Err(Error::validation(
            "\"forwards\" must be larger than or equal to 0",
            "forwards",
        ));
    }
    Ok(())
}

impl Core {
    fn forwards_limit(&self, r: &ForwardedRecord) -> i64 {
        if r.forwards > 0 {
            r.forwards
        } else {
            self.config.default_forwards
        }
    }

    pub async fn create_forwarded(&self, new: NewForwarded) -> Result<ForwardedId> {
        if new.allow_wildcard {
            return Err(Error::validation(
                "Wildcard addresses are not supported",
                "allowWildcard",
            ));
        }
        let (address, norm) = forwarded_address(&new.address)?;
        let targets = targets(&new.targets, &norm)?;
        if let Some(f) = new.forwards {
            check_forwards(f)?;
        }
        let mut autoreply = AutoreplyRecord::default();
        if let Some(u) = new.autoreply {
            check_update(&u)?;
            // WildDuck: an autoreply given is on unless it says otherwise.
            autoreply.status = true;
            apply_update(&mut autoreply, u);
        }
        let record = ForwardedRecord {
            id: ForwardedId(ObjectId::new()),
            address,
            address_norm: norm,
            name: name(new.name.as_deref().unwrap_or(""))?,
            targets,
            forwards: new.forwards.unwrap_or(0),
            disabled: false,
            autoreply: encode_autoreply(&autoreply),
            tags: validate::tags(&new.tags)?,
            meta_data: match &new.meta_data {
                Some(v) => data_object(v, "metaData")?,
                None => "{}".into(),
            },
            internal_data: match &new.internal_data {
                Some(v) => data_object(v, "internalData")?,
                None => "{}".into(),
            },
            created: sealpost_store::now_ms(),
        };
        self.store
            .insert_forwarded(&record)
            .await
            .map_err(address_conflict)?;
        Ok(record.id)
    }

    async fn forwarded_record(&self, id: &ForwardedId) -> Result<ForwardedRecord> {
        self.store.forwarded(id).await?.ok_or_else(not_found)
    }

    pub async fn forwarded_info(&self, id: &ForwardedId) -> Result<ForwardedInfo> {
        let r = self.forwarded_record(id).await?;
        self.info(r).await
    }

    async fn info(&self, r: ForwardedRecord) -> Result<ForwardedInfo> {
        let count = self.store.forward_count(&r.id).await?;
        let now = sealpost_store::now_ms();
        let running = count.window_start > 0 && count.window_start + LIMIT_WINDOW_MS > now;
        Ok(ForwardedInfo {
            forwards_allowed: self.forwards_limit(&r),
            forwards_used: if running { count.used } else { 0 },
            forwards_ttl: if running {
                (count.window_start + LIMIT_WINDOW_MS - now).div_euclid(1000)
            } else {
                0
            },
            autoreply: autoreply_of(&r),
            meta_data: stored_object(&r.meta_data),
            internal_data: stored_object(&r.internal_data),
            id: r.id,
            address: r.address,
            name: r.name,
            targets: r.targets,
            tags: r.tags,
            disabled: r.disabled,
            created: r.created,
        })
    }

    pub async fn update_forwarded(&self, id: &ForwardedId, u: ForwardedUpdate) -> Result<()> {
        let mut r = self.forwarded_record(id).await?;
        if let Some(a) = &u.address {
            let (address, norm) = forwarded_address(a)?;
            r.address = address;
            r.address_norm = norm;
        }
        if let Some(t) = &u.targets {
            r.targets = targets(t, &r.address_norm)?;
        }
        if let Some(n) = &u.name {
            r.name = name(n)?;
        }
        if let Some(f) = u.forwards {
            check_forwards(f)?;
            r.forwards = f;
        }
        if let Some(a) = u.autoreply {
            check_update(&a)?;
            let mut current = autoreply_of(&r);
            apply_update(&mut current, a);
            r.autoreply = encode_autoreply(&current);
        }
        if let Some(t) = &u.tags {
            r.tags = validate::tags(t)?;
        }
        if let Some(v) = &u.meta_data {
            r.meta_data = data_object(v, "metaData")?;
        }
        if let Some(v) = &u.internal_data {
            r.internal_data = data_object(v, "internalData")?;
        }
        if let Some(d) = u.disabled {
            r.disabled = d;
        }
        if self
            .store
            .update_forwarded(&r)
            .await
            .map_err(address_conflict)?
        {
            Ok(())
        } else {
            Err(not_found())
        }
    }

    pub async fn delete_forwarded(&self, id: &ForwardedId) -> Result<()> {
        if self.store.delete_forwarded(id).await? {
            Ok(())
        } else {
            Err(not_found())
        }
    }

    /// The forwarded address `address` reaches, if it is one.
    pub async fn forwarded_recipient(&self, address: &str) -> Result<Option<ForwardedInfo>> {
        let Some(norm) = self.normal_address(address).await? else {
            return Ok(None);
        };
        match self.store.forwarded_by_norm(&norm.candidates()).await? {
            Some(r) => Ok(Some(self.info(r).await?)),
            None => Ok(None),
        }
    }

    /// Forwards a message received for the forwarded address `fwd` (sent to `recipient`) to
    /// its targets and sends its autoreply. A disabled address accepts and drops the message.
    /// Over the address's 24 h limit nothing is queued (`Forbidden`, `RateLimitedError`).
    pub async fn deliver_forwarded(
        &self,
        envelope: &Envelope,
        fwd: &ForwardedInfo,
        recipient: &str,
        data: &[u8],
    ) -> Result<Option<QueueId>> {
        if fwd.disabled || fwd.targets.is_empty() {
            tracing::info!(address = %fwd.id, disabled = fwd.disabled, "forwarded address: nothing to forward");
            return Ok(None);
        }
        self.require_relay()?;
        if crate::forward::received_count(data) > crate::forward::MAX_HOPS {
            return Err(Error::Forbidden {
                message: "Message has too many Received headers (mail loop)".into(),
                code: "MailLoop",
            });
        }
        let date = chrono::Utc::now().to_rfc2822();
        let mut raw = received_header(envelope, Some(recipient), &date);
        raw.extend_from_slice(data);
        let take = self
            .store
            .take_forwards(
                &fwd.id,
                fwd.targets.len() as i64,
                fwd.forwards_allowed,
                LIMIT_WINDOW_MS,
                sealpost_store::now_ms(),
            )
            .await?;
        if !take.allowed {
            tracing::warn!(address = %fwd.id, limit = fwd.forwards_allowed, "forward refused: over the 24 h forwards limit");
            return Err(Error::Forbidden {
                message: format!(
                    "Forwarding limit reached ({} per 24 hours)",
                    fwd.forwards_allowed
                ),
                code: "RateLimitedError",
            });
        }
        let sender = self.srs_forward_sender(envelope.mail_from.trim()).await?;
        let id = self
            .enqueue_outbound(OutboundMail {
                mail_from: sender,
                recipients: fwd.targets.clone(),
                raw,
                user: None,
                kind: OutboundKind::Forward,
            })
            .await?;
        tracing::info!(address = %fwd.id, to = ?fwd.targets, queue = %id, "forwarded address: queued");
        if let Err(e) = self
            .forwarded_autoreply(fwd, recipient, &envelope.mail_from, data)
            .await
        {
            tracing::warn!(address = %fwd.id, error = %e, "forwarded address: autoreply not sent");
        }
        Ok(Some(id))
    }

    async fn forwarded_autoreply(
        &self,
        fwd: &ForwardedInfo,
        recipient: &str,
        mail_from: &str,
        data: &[u8],
    ) -> Result<()> {
        let sender = mail_from.trim();
        let now = sealpost_store::now_ms();
        let Ok(message) = crate::mime::parse_message(data) else {
            return Ok(());
        };
        let spam = crate::delivery::marked_by_mta(&message.headers);
        if let Some(reason) = suppressed(&fwd.autoreply, now, sender, &message, spam) {
            tracing::debug!(address = %fwd.id, ?reason, "forwarded address: no autoreply");
            return Ok(());
        }
        if sender.eq_ignore_ascii_case(&fwd.address) || sender.eq_ignore_ascii_case(recipient) {
            return Ok(());
        }
        let interval =
            i64::try_from(self.outbound.config.autoreply_interval.as_millis()).unwrap_or(i64::MAX);
        if !self
            .store
            .claim_forwarded_autoreply(&fwd.id, &sender.to_lowercase(), now, interval)
            .await?
        {
            return Ok(());
        }
        let raw = self.autoreply_message(&fwd.autoreply, &fwd.name, recipient, sender, &message);
        let id = self
            .enqueue_outbound(OutboundMail {
                mail_from: String::new(),
                recipients: vec![sender.to_string()],
                raw,
                user: None,
                kind: OutboundKind::Autoreply,
            })
            .await?;
        tracing::info!(address = %fwd.id, to = sender, queue = %id, "forwarded address: autoreply queued");
        Ok(())
    }
}

/// What `GET /addresses/resolve/{address}` finds.
#[derive(Debug, Clone)]
pub enum ResolvedAddress {
    /// A user's address, with its user's name, forwarding allowance and autoreply status.
    User {
        address: AddressRecord,
        name: String,
        forwards_allowed: i64,
        forwards_used: i64,
        forwards_ttl: i64,
        autoreply: bool,
    },
    Forwarded(Box<ForwardedInfo>),
}

impl Core {
    /// Finds an address, a user's or a forwarded one, by its id or by the address itself
    /// (normalised and through domain aliases, as delivery finds it).
    pub async fn resolve_address(&self, id_or_address: &str) -> Result<ResolvedAddress> {
        let given = id_or_address.trim();
        let (user_address, forwarded) = match ObjectId::parse(given) {
            Some(id) if !given.contains('@') => {
                let a = self.store.address_by_id(&id).await?;
                let f = match a {
                    Some(_) => None,
                    None => self.store.forwarded(&ForwardedId(id)).await?,
                };
                (a, f)
            }
            _ => {
                let Some(norm) = self.normal_address(given).await? else {
                    return Err(not_found());
                };
                let candidates = norm.candidates();
                let a = self.store.address_by_norms(&candidates).await?;
                let f = match a {
                    Some(_) => None,
                    None => self.store.forwarded_by_norm(&candidates).await?,
                };
                (a, f)
            }
        };
        if let Some(address) = user_address {
            let user = self.get_user(&address.user).await?;
            let limit = self.forward_limit(&user.id).await?;
            let now = sealpost_store::now_ms();
            let autoreply = self
                .store
                .get_autoreply(&user.id)
                .await?
                .is_some_and(|a| a.status);
            return Ok(ResolvedAddress::User {
                address,
                name: user.name.unwrap_or_default(),
                forwards_allowed: user.forwards,
                forwards_used: limit.used,
                forwards_ttl: limit.resets.map_or(0, |t| ((t - now) / 1000).max(1)),
                autoreply,
            });
        }
        match forwarded {
            Some(r) => Ok(ResolvedAddress::Forwarded(Box::new(self.info(r).await?))),
            None => Err(not_found()),
        }
    }
}

/// A taken address, in WildDuck's words.
fn address_conflict(e: sealpost_store::Error) -> Error {
    match e {
        sealpost_store::Error::Conflict(_) => Error::Conflict {
            message: "This email address already exists".into(),
            code: "AddressExistsError",
        },
        other => other.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn targets_are_addresses() {
        let v = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            targets(
                &v(&["a@x.example", " A@x.example ", "b@y.example", ""]),
                "me@x.example"
            )
            .unwrap(),
            v(&["a@x.example", "b@y.example"])
        );
        assert!(targets(&v(&["smtp://mx.example:25"]), "me@x.example").is_err());
        assert!(targets(&v(&["https://example.com/hook"]), "me@x.example").is_err());
        assert!(targets(&v(&["Me@X.example"]), "me@x.example").is_err());
        assert!(targets(&v(&["not an address"]), "me@x.example").is_err());
        let many: Vec<String> = (0..=MAX_RECIPIENTS)
            .map(|i| format!("t{i}@x.example"))
            .collect();
        assert!(targets(&many, "me@x.example").is_err());
        assert!(forwarded_address("*@x.example").is_err());
    }

    #[test]
    fn data_objects() {
        assert_eq!(
            data_object(&json!({"a": 1}), "metaData").unwrap(),
            r#"{"a":1}"#
        );
        assert_eq!(
            data_object(&json!(r#"{"a":1}"#), "metaData").unwrap(),
            r#"{"a":1}"#
        );
        assert!(data_object(&json!("[1]"), "metaData").is_err());
        assert!(data_object(&json!(5), "metaData").is_err());
        assert!(data_object(&json!({"a": "x".repeat(MAX_DATA)}), "metaData").is_err());
        assert_eq!(stored_object("garbage"), json!({}));
    }

    #[test]
    fn autoreply_round_trips_through_json() {
        let a = AutoreplyRecord {
            status: true,
            subject: "Away".into(),
            start: Some(5),
            ..AutoreplyRecord::default()
        };
        let r = ForwardedRecord {
            id: ForwardedId(ObjectId::new()),
            address: "a@x.example".into(),
            address_norm: "a@x.example".into(),
            name: String::new(),
            targets: vec![],
            forwards: 0,
            disabled: false,
            autoreply: encode_autoreply(&a),
            tags: vec![],
            meta_data: "{}".into(),
            internal_data: "{}".into(),
            created: 0,
        };
        assert_eq!(autoreply_of(&r), a);
    }
}
