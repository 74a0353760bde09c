//! Backups of a mail user (`mail.backup.list|import`): our archive of deleted messages
//! (`archive.rs`). A restore point is a day (UTC) on which the user deleted messages that
//! are still archived; `id` names it as `YYYY-MM-DD`. `mail.backup.import` restores what
//! the user deleted from `time` (a date or date and time, UTC; empty: the start of that
//! day) to the end of the day `id`, from every mailbox (`filter` `all`) or only from the
//! mailbox at the path `filter`, each message back where it was deleted from (INBOX when
//! that mailbox is gone). Needs the `MAIL_BACKUPRECOVER` capability.

use super::Principal;
use super::accounts::date;
use crate::{Core, Error, Result};
use serde::Serialize;

/// Restore points one listing answers at most (days).
pub const MAX_RESTORE_POINTS: i64 = 1000;
/// Messages one import restores at most.
pub const MAX_IMPORTED: i64 = 10_000;
const DAY_MS: i64 = 86_400_000;

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct RestorePoint {
    pub id: String,
    pub time: String,
    /// Messages deleted that day still in the archive.
    pub messages: i64,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ImportOutcome {
    pub restored: usize,
    /// Not restored (over quota, or restored or purged meanwhile).
    pub failed: usize,
}

fn day_id(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|d| d.format("%Y-%m-%d").to_string())
        .unwrap_or_default()
}

/// A restore point id (`YYYY-MM-DD`) as the millisecond its day starts.
fn parse_day(s: &str) -> Result<i64> {
    chrono::NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|d| d.and_utc().timestamp_millis())
        .ok_or_else(|| Error::validation("id must be a restore point (YYYY-MM-DD)", "id"))
}

/// `time`: `YYYY-MM-DD`, `YYYY-MM-DD HH:MM:SS` or RFC 3339, UTC unless it says otherwise.
fn parse_time(s: &str) -> Result<i64> {
    let s = s.trim();
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
        return Ok(t.timestamp_millis());
    }
    if let Ok(t) = chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S") {
        return Ok(t.and_utc().timestamp_millis());
    }
    parse_day(s).map_err(|_| {
        Error::validation(
            "time must be YYYY-MM-DD, YYYY-MM-DD HH:MM:SS or RFC 3339",
            "time",
        )
    })
}

/// The range an import restores: from `time` (or the day's start) to the day's end.
pub fn import_range(id: &str, time: Option<&str>) -> Result<(i64, i64)> {
    let day = parse_day(id)?;
    let end = day.saturating_add(DAY_MS - 1);
    let from = match time.map(str::trim).filter(|t| !t.is_empty()) {
        Some(t) => parse_time(t)?,
        None => day,
    };
    if from > end {
        return Err(Error::validation("time is after the restore point", "time"));
    }
    Ok((from, end))
}

impl Core {
    pub async fn rpc_backup_list(&self, p: &Principal, mail: &str) -> Result<Vec<RestorePoint>> {
        let t = self.owned_mail(p, mail).await?;
        Ok(self
            .store
            .archive_days(&t.row.user, MAX_RESTORE_POINTS)
            .await?
            .into_iter()
            .map(|(day, n)| RestorePoint {
                id: day_id(day),
                time: date(day),
                messages: n,
            })
            .collect())
    }

    pub async fn rpc_backup_import(
        &self,
        p: &Principal,
        mail: &str,
        id: &str,
        time: Option<&str>,
        filter: Option<&str>,
    ) -> Result<ImportOutcome> {
        let t = self.owned_mail(p, mail).await?;
        Core::require_capability(&t, "MAIL_BACKUPRECOVER")?;
        let (from, to) = import_range(id, time)?;
        let user = t.row.user;
        let mailbox = match filter
            .map(str::trim)
            .filter(|f| !f.is_empty() && *f != "all")
        {
            None => None,
            Some(path) => Some(
                self.find_mailbox(&user, path)
                    .await
                    .map_err(|_| {
                        Error::validation("filter must be all or a mailbox path", "filter")
                    })?
                    .ok_or_else(|| Error::not_found(format!("mailbox {path:?} does not exist")))?
                    .id,
            ),
        };
        let ids = self
            .store
            .archived_between(&user, from, to, mailbox.as_ref(), MAX_IMPORTED)
            .await?;
        let mut out = ImportOutcome {
            restored: 0,
            failed: 0,
        };
        for a in &ids {
            match self.restore_archived(&user, a, None).await {
                Ok(_) => out.restored += 1,
                Err(Error::OverQuota | Error::NotFound(_)) => out.failed += 1,
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        let day = parse_day("2026-12-07").unwrap();
        assert_eq!(day_id(day), "2026-12-07");
        assert_eq!(
            import_range("2026-12-07", None).unwrap(),
            (day, day + DAY_MS - 1)
        );
        assert_eq!(
            import_range("2026-12-07", Some("2026-12-05")).unwrap().0,
            day - 2 * DAY_MS
        );
        assert_eq!(
            import_range("2026-12-07", Some("2026-12-07 12:00:00"))
                .unwrap()
                .0,
            day + DAY_MS / 2
        );
        assert_eq!(
            import_range("2026-12-07", Some("2026-12-07T13:00:00+01:00"))
                .unwrap()
                .0,
            day + DAY_MS / 2
        );
        assert!(import_range("2026-12-07", Some("2026-12-08")).is_err());
        assert!(import_range("07.12.2026", None).is_err());
        assert!(import_range("2026-12-07", Some("soon")).is_err());
    }
}
