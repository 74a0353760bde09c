//! The reads of mail delivery: who owns a recipient address, which mailboxes a delivery can
//! land in, and whether a domain is served here at all.

use crate::db::read;
use crate::insert::list;
use crate::model::{ObjectId, UserRecord};
use crate::rows::{self, Cols, USER_COLS};
use crate::{Result, Store};

impl Store {
    /// The user owning the first of `norms` (normalised addresses, in order of preference)
    /// that is an address here: one query for the address and its user.
    pub async fn find_recipient(&self, norms: &[String]) -> Result<Option<UserRecord>> {
        if norms.is_empty() {
            return Ok(None);
        }
        let rank: String = (1..=norms.len())
            .map(|i| format!(" WHEN ${i} THEN {i}"))
            .collect();
        let sql = format!(
            "SELECT {USER_COLS} FROM users WHERE id = (SELECT user_id FROM addresses \
             WHERE address_norm IN ({}) ORDER BY CASE address_norm{rank} END LIMIT 1)",
            list(1, norms.len())
        );
        read!(self, db => {
            let mut q = sqlx::query(&sql);
            for n in norms {
                q = q.bind(n);
            }
            let row = q.fetch_optional(db).await?;
            row.map(|r| rows::user(&r)).transpose()
        })
    }

    /// The user's INBOX and Junk (`\Junk`) mailboxes, when they exist.
    pub async fn delivery_mailboxes(
        &self,
        user: &ObjectId,
    ) -> Result<(Option<ObjectId>, Option<ObjectId>)> {
        let rows: Vec<(ObjectId, String, Option<String>)> = read!(self, db => {
            sqlx::query("SELECT id, path, special_use FROM mailboxes WHERE user_id = $1 AND (path = 'INBOX' OR special_use = '\\Junk')")
                .bind(user.as_str())
                .fetch_all(db)
                .await?
                .iter()
                .map(|r| Ok((rows::id(r, "id")?, r.string("path")?, r.opt_string("special_use")?)))
                .collect::<Result<Vec<_>>>()?
        });
        let inbox = rows.iter().find(|r| r.1 == "INBOX").map(|r| r.0.clone());
        let junk = rows
            .iter()
            .find(|r| r.2.as_deref() == Some("\\Junk"))
            .map(|r| r.0.clone());
        Ok((inbox, junk))
    }

    /// Whether any address here is in one of `domains` (normalised spellings of one domain).
    pub async fn has_domain(&self, domains: &[String]) -> Result<bool> {
        for d in domains {
            let pattern = format!("%@{}", crate::mailboxes::like_escape(d));
            let found = read!(self, db => {
                sqlx::query("SELECT 1 AS one FROM addresses WHERE address_norm LIKE $1 ESCAPE '\\' LIMIT 1")
                    .bind(&pattern)
                    .fetch_optional(db)
                    .await?
                    .is_some()
            });
            if found {
                return Ok(true);
            }
        }
        Ok(false)
    }
}
