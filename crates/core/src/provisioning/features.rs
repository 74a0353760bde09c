//! What a mail user has besides its account, through the JSON-RPC API: application
//! passwords (`imap_allowed` covers IMAP and POP3, `smtp_allowed` submission) and the
//! vacation notice (the autoreply). Each names the mail user and is checked like
//! `mail.get`. Capabilities are in `capabilities.rs`.

use super::Principal;
use crate::{AuthMeta, AutoreplyUpdate, Core, Error, Result};
use sealpost_store::model::ObjectId;
use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
pub struct AppPassword {
    pub id: String,
    pub memo: String,
    pub imap_allowed: bool,
    pub smtp_allowed: bool,
    pub creation_date: String,
    pub last_use: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct NewAppPassword {
    pub id: String,
    pub password: String,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Vacation {
    pub active: bool,
    pub subject: String,
    pub body: String,
    pub start_date: String,
    pub end_date: String,
}

const DAY_MS: i64 = 86_400_000;

/// `YYYY-MM-DD` as the first millisecond of that day (UTC).
fn day(s: &str, field: &'static str) -> Result<i64> {
    chrono::NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|d| d.and_utc().timestamp_millis())
        .ok_or_else(|| Error::validation(format!("{field} must be a date YYYY-MM-DD"), field))
}

fn day_text(ms: Option<i64>) -> String {
    ms.and_then(chrono::DateTime::from_timestamp_millis)
        .map(|d| d.format("%Y-%m-%d").to_string())
        .unwrap_or_default()
}

impl Core {
    pub async fn rpc_apppassword_list(
        &self,
        p: &Principal,
        mail: &str,
    ) -> Result<Vec<AppPassword>> {
        let user = self.rpc_mail_user(p, mail).await?;
        Ok(self
            .list_asps(&user, true)
            .await?
            .into_iter()
            .map(|a| {
                let all = a.scopes.iter().any(|s| s == "*");
                let has = |s: &str| all || a.scopes.iter().any(|x| x == s);
                AppPassword {
                    id: a.id.to_string(),
                    memo: a.description,
                    imap_allowed: has("imap"),
                    smtp_allowed: has("smtp"),
                    creation_date: super::date(a.created),
                    last_use: a.last_use.map(super::date),
                }
            })
            .collect())
    }

    pub async fn rpc_apppassword_add(
        &self,
        p: &Principal,
        mail: &str,
        memo: &str,
        imap: bool,
        smtp: bool,
        meta: &AuthMeta,
    ) -> Result<NewAppPassword> {
        let user = self.rpc_mail_user(p, mail).await?;
        let mut scopes = Vec::new();
        if imap {
            scopes.extend(["imap".to_string(), "pop3".to_string()]);
        }
        if smtp {
            scopes.push("smtp".to_string());
        }
        if scopes.is_empty() {
            return Err(Error::validation(
                "an application password needs imap_allowed or smtp_allowed",
                "imap_allowed",
            ));
        }
        let memo = if memo.trim().is_empty() { "app" } else { memo };
        let made = self
            .create_asp(&user, memo, &scopes, false, meta)
            .await
            .map_err(|e| match e {
                Error::Validation { message, .. } => Error::validation(message, "memo"),
                other => other,
            })?;
        Ok(NewAppPassword {
            id: made.id.to_string(),
            password: made.password,
        })
    }

    pub async fn rpc_apppassword_del(
        &self,
        p: &Principal,
        id: &str,
        meta: &AuthMeta,
    ) -> Result<()> {
        let gone = || Error::not_found(format!("application password {id:?} does not exist"));
        let asp = ObjectId::parse(id.trim()).ok_or_else(gone)?;
        let user = self.store.asp_owner(&asp).await?.ok_or_else(gone)?;
        let row = self.store.rpc_mail(&user).await?.ok_or_else(gone)?;
        // The session must own the mail user the password belongs to.
        self.owned_mail(p, &row.mail).await.map_err(|_| gone())?;
        self.delete_asp(&user, &asp, meta).await
    }

    pub async fn rpc_vacation_get(&self, p: &Principal, mail: &str) -> Result<Vacation> {
        let user = self.rpc_mail_user(p, mail).await?;
        let a = self.get_autoreply(&user).await?;
        Ok(Vacation {
            active: a.status,
            subject: a.subject,
            body: a.text,
            start_date: day_text(a.start),
            end_date: day_text(a.end.map(|e| e - (DAY_MS - 1))),
        })
    }

    /// Turns the vacation notice on from `start` to `end` (whole days, UTC).
    pub async fn rpc_vacation_set(
        &self,
        p: &Principal,
        mail: &str,
        subject: &str,
        body: &str,
        start: &str,
        end: &str,
    ) -> Result<()> {
        let user = self.rpc_mail_user(p, mail).await?;
        let start = day(start, "start_date")?;
        let end = day(end, "end_date")?.saturating_add(DAY_MS - 1);
        if end < start {
            return Err(Error::validation(
                "end_date is before start_date",
                "end_date",
            ));
        }
        self.update_autoreply(
            &user,
            AutoreplyUpdate {
                status: Some(true),
                subject: Some(subject.to_string()),
                text: Some(body.to_string()),
                start: Some(Some(start)),
                end: Some(Some(end)),
                ..AutoreplyUpdate::default()
            },
        )
        .await
        .map_err(|e| match e {
            Error::Validation {
                message,
                field: Some("text"),
            } => Error::validation(message, "body"),
            other => other,
        })
    }

    pub async fn rpc_vacation_delete(&self, p: &Principal, mail: &str) -> Result<()> {
        let user = self.rpc_mail_user(p, mail).await?;
        self.delete_autoreply(&user).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days() {
        let d = day("2026-12-24", "start_date").unwrap();
        assert_eq!(day_text(Some(d)), "2026-12-24");
        assert_eq!(day_text(Some(d + DAY_MS - 1)), "2026-12-24");
        assert!(day("24.12.2026", "start_date").is_err());
        assert_eq!(day_text(None), "");
    }
}
