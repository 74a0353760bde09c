//! Message filters: the `/users/{user}/filters` CRUD with its validation, the evaluation at
//! delivery ([`engine`]), the listing descriptions ([`describe`]) and the background
//! `action_targetUrl` uploader ([`upload`]).

pub mod delivery;
pub mod describe;
pub mod engine;
pub mod upload;

use crate::{Core, Error, Page, PageRequest, Result, validate};
use sealpost_store::filters::FilterRecord;
use sealpost_store::model::ObjectId;
use serde_json::Value;

pub use delivery::{DeliveryFacts, FilterDecision, decide, delivery_events};
pub use engine::{FilterOutcome, MessageFacts, evaluate};

/// Most filters one user may have.
pub const MAX_FILTERS: i64 = 400;
/// Most distinct `action_forward` addresses over one user's filters.
pub const MAX_FORWARD_TARGETS: usize = 20;
/// Longest query string or name, characters (as WildDuck).
const MAX_TEXT: usize = 255;
/// Longest `action_targetUrl`, bytes.
const MAX_URL: usize = 2048;

/// A change to a filter (`POST` creates from one, `PUT` applies one). For each field `None`
/// leaves it as it is, `Some(None)` clears it (the empty string of the API), `Some(Some(v))`
/// sets it.
#[derive(Debug, Clone, Default)]
pub struct FilterChanges {
    pub name: Option<Option<String>>,
    pub query_from: Option<Option<String>>,
    pub query_to: Option<Option<String>>,
    pub query_subject: Option<Option<String>>,
    pub query_text: Option<Option<String>>,
    pub query_ha: Option<Option<bool>>,
    pub query_size: Option<Option<i64>>,
    pub action_seen: Option<Option<bool>>,
    pub action_flag: Option<Option<bool>>,
    pub action_delete: Option<Option<bool>>,
    pub action_spam: Option<Option<bool>>,
    pub action_mailbox: Option<Option<ObjectId>>,
    pub action_forward: Option<Option<String>>,
    pub action_target_url: Option<Option<String>>,
    pub query_list_id: Option<Option<String>>,
    /// Today's `action.targets`: addresses and http(s) URLs; replaces the list.
    pub action_targets: Option<Vec<String>>,
    /// The client's object (`None` inside: removed).
    pub meta_data: Option<Option<serde_json::Map<String, Value>>>,
    pub disabled: Option<bool>,
}

/// The one rule for how many filters a user may have: its `filters` setting when set, never
/// more than [`MAX_FILTERS`].
pub fn filter_limit(profile: &sealpost_store::model::UserProfile) -> i64 {
    if profile.filters > 0 {
        profile.filters.min(MAX_FILTERS)
    } else {
        MAX_FILTERS
    }
}

/// Most `action.targets` of one filter.
pub const MAX_FILTER_TARGETS: usize = 20;
/// Largest `metaData`, as JSON bytes.
pub const MAX_META_DATA: usize = 64 * 1024;

/// A filter as listed: the record and its human-readable descriptions.
#[derive(Debug, Clone)]
pub struct FilterSummary {
    pub filter: FilterRecord,
    pub query: Vec<Value>,
    pub action: Vec<Value>,
}

fn filter_not_found() -> Error {
    Error::not_found("This filter does not exist")
}

/// A query string or name: trimmed, whitespace collapsed, at most 255 characters.
fn text_value(v: Option<String>, field: &'static str) -> Result<Option<String>> {
    let Some(v) = v else { return Ok(None) };
    validate::text(&v, field)?;
    let v = v.split_whitespace().collect::<Vec<_>>().join(" ");
    if v.chars().count() > MAX_TEXT {
        return Err(Error::validation(
            format!("\"{field}\" length must be less than or equal to {MAX_TEXT} characters long"),
            field,
        ));
    }
    Ok(Some(v).filter(|v| !v.is_empty()))
}

/// An upload URL: absolute http or https with a host.
pub fn target_url(v: &str) -> Result<String> {
    const FIELD: &str = "action_targetUrl";
    let v = v.trim();
    let bad = || {
        Error::validation(
            format!(
                "\"{FIELD}\" must be a valid uri with a scheme matching the http|https pattern"
            ),
            FIELD,
        )
    };
    if v.len() > MAX_URL || v.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(bad());
    }
    let url = url::Url::parse(v).map_err(|_| bad())?;
    if !matches!(url.scheme(), "http" | "https")
        || url.host_str().is_none_or(str::is_empty)
        || !url.username().is_empty()
        || url.password().is_some()
    {
        return Err(bad());
    }
    Ok(v.to_string())
}

impl Core {
    /// The user's filters in creation order, with their descriptions.
    pub async fn list_filters(&self, user: &ObjectId) -> Result<Vec<FilterSummary>> {
        self.get_user(user).await?;
        let filters = self.store.list_filters(user).await?;
        let mailboxes = self.store.list_mailboxes(user).await?;
        Ok(filters
            .into_iter()
            .map(|f| FilterSummary {
                query: describe::query(&f),
                action: describe::action(&f, &mailboxes),
                filter: f,
            })
            .collect())
    }

    /// How many filters the user may have.
    pub async fn allowed_filters(&self, user: &ObjectId) -> Result<i64> {
        Ok(filter_limit(&self.get_user(user).await?.profile))
    }

    /// `GET /filters`: every user's filters by id, a page at a time; `forward` keeps those
    /// forwarding to (or uploading to) a target that contains it.
    pub async fn list_all_filters(
        &self,
        forward: Option<&str>,
        page: &PageRequest,
    ) -> Result<Page<FilterSummary>> {
        let like = match forward.map(str::trim).filter(|q| !q.is_empty()) {
            Some(q) if q.len() > 256 => {
                return Err(Error::validation("\"forward\" is too long", "forward"));
            }
            Some(q) => {
                validate::text(q, "forward")?;
                Some(format!(
                    "%{}%",
                    sealpost_store::like_escape(&q.to_lowercase())
                ))
            }
            None => None,
        };
        let (total, rows) = self
            .store
            .list_all_filters(like.as_deref(), &page.seek::<String>()?, page.fetch_limit())
            .await?;
        // Mailbox names for the descriptions: one lookup per user on the page.
        let mut boxes: Vec<(ObjectId, Vec<sealpost_store::model::MailboxRecord>)> = Vec::new();
        for f in &rows {
            if f.action_mailbox.is_some() && !boxes.iter().any(|(u, _)| u == &f.user) {
                boxes.push((f.user.clone(), self.store.list_mailboxes(&f.user).await?));
            }
        }
        let summaries = rows
            .into_iter()
            .map(|f| {
                let mailboxes = boxes
                    .iter()
                    .find(|(u, _)| u == &f.user)
                    .map(|(_, b)| b.as_slice())
                    .unwrap_or(&[]);
                FilterSummary {
                    query: describe::query(&f),
                    action: describe::action(&f, mailboxes),
                    filter: f,
                }
            })
            .collect();
        Ok(page.finish(total, summaries, |s| s.filter.id.to_string()))
    }

    pub async fn get_filter(&self, user: &ObjectId, id: &ObjectId) -> Result<FilterRecord> {
        self.store
            .get_filter(user, id)
            .await?
            .ok_or_else(filter_not_found)
    }

    /// Creates a filter; it needs at least one query and one action.
    pub async fn create_filter(&self, user: &ObjectId, changes: FilterChanges) -> Result<ObjectId> {
        let mut f = FilterRecord {
            id: ObjectId::new(),
            user: user.clone(),
            created: sealpost_store::now_ms(),
            ..Default::default()
        };
        let max = filter_limit(&self.get_user(user).await?.profile);
        self.apply_filter_changes(&mut f, changes).await?;
        match self.store.insert_filter(&f, max).await? {
            None => Err(Error::not_found("This user does not exist")),
            Some(false) => Err(Error::Forbidden {
                message: format!("A user can have at most {max} filters"),
                code: "TooManyFilters",
            }),
            Some(true) => Ok(f.id),
        }
    }

    /// Changes a filter; "No changes" when the request names no field.
    pub async fn update_filter(
        &self,
        user: &ObjectId,
        id: &ObjectId,
        changes: FilterChanges,
    ) -> Result<()> {
        let mut f = self.get_filter(user, id).await?;
        let before = f.clone();
        let named = changes_named(&changes);
        self.apply_filter_changes(&mut f, changes).await?;
        if !named {
            return Err(Error::Validation {
                message: "No changes".into(),
                field: None,
            });
        }
        if f != before && !self.store.update_filter(&f).await? {
            return Err(filter_not_found());
        }
        Ok(())
    }

    pub async fn delete_filter(&self, user: &ObjectId, id: &ObjectId) -> Result<()> {
        if self.store.delete_filter(user, id).await? {
            Ok(())
        } else {
            Err(filter_not_found())
        }
    }

    /// The filters that run at delivery, in order (disabled ones left out).
    pub async fn active_filters(&self, user: &ObjectId) -> Result<Vec<FilterRecord>> {
        let mut list = self.store.list_filters(user).await?;
        list.retain(|f| !f.disabled);
        Ok(list)
    }

    /// Validates `changes` and applies them to `f`; the result must have a query and an action.
    async fn apply_filter_changes(&self, f: &mut FilterRecord, c: FilterChanges) -> Result<()> {
        if let Some(v) = c.name {
            f.name = text_value(v, "name")?;
        }
        if let Some(v) = c.query_from {
            f.query_from = text_value(v, "query_from")?;
        }
        if let Some(v) = c.query_to {
            f.query_to = text_value(v, "query_to")?;
        }
        if let Some(v) = c.query_subject {
            f.query_subject = text_value(v, "query_subject")?;
        }
        if let Some(v) = c.query_text {
            f.query_text = text_value(v, "query_text")?;
        }
        if let Some(v) = c.query_ha {
            f.query_ha = v;
        }
        if let Some(v) = c.query_size {
            if v.is_some_and(|n| n.unsigned_abs() > 1 << 40) {
                return Err(Error::validation(
                    "\"query_size\" is out of range",
                    "query_size",
                ));
            }
            f.query_size = v.filter(|n| *n != 0);
        }
        if let Some(v) = c.action_seen {
            f.action_seen = v;
        }
        if let Some(v) = c.action_flag {
            f.action_flag = v;
        }
        if let Some(v) = c.action_delete {
            f.action_delete = v;
        }
        if let Some(v) = c.action_spam {
            f.action_spam = v;
        }
        if let Some(v) = c.action_mailbox {
            if let Some(id) = &v {
                self.mailbox_record(&f.user, id).await?;
            }
            f.action_mailbox = v;
        }
        if let Some(v) = c.action_forward {
            f.action_forward = match v.map(|a| a.trim().to_string()).filter(|a| !a.is_empty()) {
                None => None,
                Some(a) => {
                    let (address, norm) = validate::address(&a, "action_forward")?;
                    let mut others = f.clone();
                    others.action_forward = None;
                    self.check_forward_targets(&others, &[norm]).await?;
                    Some(address)
                }
            };
        }
        if let Some(v) = c.action_target_url {
            f.action_target_url = match v.filter(|u| !u.trim().is_empty()) {
                None => None,
                Some(u) => Some(target_url(&u)?),
            };
        }
        if let Some(v) = c.query_list_id {
            f.query_list_id = text_value(v, "query_listId")?;
        }
        if let Some(list) = c.action_targets {
            f.action_targets = self.filter_targets(f, list).await?;
        }
        if let Some(v) = c.meta_data {
            f.meta_data = match v.filter(|m| !m.is_empty()) {
                None => None,
                Some(m) => {
                    let json = Value::Object(m).to_string();
                    if json.len() > MAX_META_DATA {
                        return Err(Error::validation(
                            format!("\"metaData\" must be at most {MAX_META_DATA} bytes"),
                            "metaData",
                        ));
                    }
                    Some(json)
                }
            };
        }
        if let Some(v) = c.disabled {
            f.disabled = v;
        }
        let has_query = f.query_from.is_some()
            || f.query_list_id.is_some()
            || f.query_to.is_some()
            || f.query_subject.is_some()
            || f.query_text.is_some()
            || f.query_ha.is_some()
            || f.query_size.is_some();
        let has_action = f.action_seen.is_some()
            || f.action_flag.is_some()
            || f.action_delete.is_some()
            || f.action_spam.is_some()
            || f.action_mailbox.is_some()
            || f.action_forward.is_some()
            || f.action_target_url.is_some()
            || !f.action_targets.is_empty();
        if !has_query {
            return Err(Error::Validation {
                message: "Empty filter query".into(),
                field: None,
            });
        }
        if !has_action {
            return Err(Error::Validation {
                message: "Empty filter action".into(),
                field: None,
            });
        }
        Ok(())
    }

    /// Validates `action.targets`: each an address (counted as a forward target) or an
    /// http(s) upload URL; `smtp://` relays are not supported here.
    async fn filter_targets(&self, f: &FilterRecord, list: Vec<String>) -> Result<Vec<String>> {
        const FIELD: &str = "action_targets";
        if list.len() > MAX_FILTER_TARGETS {
            return Err(Error::validation(
                format!("\"targets\" must contain at most {MAX_FILTER_TARGETS} items"),
                FIELD,
            ));
        }
        let mut out: Vec<String> = Vec::new();
        let mut norms = Vec::new();
        for t in list.iter().map(|t| t.trim()).filter(|t| !t.is_empty()) {
            let value = if engine::is_url_target(t) {
                target_url(t)?
            } else if t.contains("://") {
                return Err(Error::validation(
                    "\"targets\" may hold addresses and http(s) URLs; relaying to an smtp:// server is not supported",
                    FIELD,
                ));
            } else {
                let (address, norm) = validate::address(t, FIELD)?;
                norms.push(norm);
                address
            };
            if !out.iter().any(|x| x.eq_ignore_ascii_case(&value)) {
                out.push(value);
            }
        }
        if !norms.is_empty() {
            let mut others = f.clone();
            others.action_targets.clear();
            self.check_forward_targets(&others, &norms).await?;
        }
        Ok(out)
    }

    /// Forward addresses count toward the user's forward targets: at most
    /// [`MAX_FORWARD_TARGETS`] distinct ones over all filters.
    async fn check_forward_targets(&self, f: &FilterRecord, new: &[String]) -> Result<()> {
        let mut targets: Vec<String> = self
            .store
            .list_filters(&f.user)
            .await?
            .into_iter()
            .filter(|other| other.id != f.id)
            .flat_map(|other| {
                other
                    .action_forward
                    .into_iter()
                    .chain(other.action_targets)
                    .filter(|t| !engine::is_url_target(t))
            })
            .map(|a| validate::normalize_address(&a))
            .collect();
        // This filter's other kind of forward (the single field or the list) counts too.
        targets.extend(
            f.action_forward
                .iter()
                .map(|a| validate::normalize_address(a)),
        );
        targets.extend(
            f.action_targets
                .iter()
                .filter(|t| !engine::is_url_target(t))
                .map(|a| validate::normalize_address(a)),
        );
        targets.extend(new.iter().cloned());
        targets.sort();
        targets.dedup();
        if targets.len() > MAX_FORWARD_TARGETS {
            return Err(Error::Forbidden {
                message: format!(
                    "A user can forward to at most {MAX_FORWARD_TARGETS} addresses from filters"
                ),
                code: "TooManyForwardTargets",
            });
        }
        Ok(())
    }
}

/// Whether a change request names any field at all.
fn changes_named(c: &FilterChanges) -> bool {
    c.name.is_some()
        || c.query_from.is_some()
        || c.query_to.is_some()
        || c.query_subject.is_some()
        || c.query_text.is_some()
        || c.query_ha.is_some()
        || c.query_size.is_some()
        || c.action_seen.is_some()
        || c.action_flag.is_some()
        || c.action_delete.is_some()
        || c.action_spam.is_some()
        || c.action_mailbox.is_some()
        || c.action_forward.is_some()
        || c.action_target_url.is_some()
        || c.query_list_id.is_some()
        || c.action_targets.is_some()
        || c.meta_data.is_some()
        || c.disabled.is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn target_urls() {
        assert!(target_url("http://example.com/hook").is_ok());
        assert!(target_url("HTTPS://example.com:8443/x?y=1").is_ok());
        for bad in [
            "ftp://example.com/",
            "smtp://mx.example.com",
            "javascript:alert(1)",
            "/relative",
            "http://",
            "http://user:pw@example.com/",
            "http://exa mple.com/",
            "example.com",
        ] {
            assert!(target_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn text_values_are_trimmed_and_collapsed() {
        assert_eq!(
            text_value(Some("  a \t b  ".into()), "name").unwrap(),
            Some("a b".into())
        );
        assert_eq!(text_value(Some("   ".into()), "name").unwrap(), None);
        assert!(text_value(Some("x".repeat(256)), "name").is_err());
        assert!(text_value(Some("a\u{0}b".into()), "name").is_err());
    }
}
