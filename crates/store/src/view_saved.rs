//! Saved copies of mailbox views (table `mailbox_views`): the rows of
//! [`Store::mailbox_view`] packed into one value, with the mailbox modseq they reflect.
//!
//! Reading 100,000 message rows costs SQLite hundreds of millions of instructions (an index
//! step, a table row and the columns of each); reading one packed value and decoding it
//! costs a few per message. The copy is only a starting point: whoever loads it brings it
//! up to date through the mailbox journal above its modseq (see `view_cache.rs` in core),
//! and an unreadable copy is an error the caller answers with a full read.
//!
//! Format (version 1): a version byte, the row count as a varint, then per row, by UID:
//! the UID's increase over the previous one (at least 1), modseq, size, the internal
//! date's change from the previous row (zigzag), all varints; a flag byte (seen 1,
//! answered 2, flagged 4, deleted 8, draft 16, 32 = keywords follow) and, with 32, the
//! keyword count and each keyword as length and UTF-8 bytes.

use crate::db::{read, write_tx};
use crate::model::ObjectId;
use crate::rows::{Cols, corrupt};
use crate::view::{ViewRow, flags_from_bits};
use crate::{Result, Store};

const VERSION: u8 = 1;
/// Fewest bytes one row takes: four one-byte varints and the flag byte.
const MIN_ROW_BYTES: usize = 5;
const HAS_KEYWORDS: u8 = 32;

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

fn unzigzag(v: u64) -> i64 {
    ((v >> 1) as i64) ^ -((v & 1) as i64)
}

/// Packs view rows (ordered by UID, as a view is); `None` if they cannot be packed
/// (UIDs not increasing, negative modseq or size), which a view read from the database
/// never has.
pub fn pack_view(rows: &[ViewRow]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(16 + rows.len() * 10);
    out.push(VERSION);
    put_varint(&mut out, rows.len() as u64);
    let (mut uid, mut idate) = (0i64, 0i64);
    for r in rows {
        if r.uid <= uid || r.modseq < 0 || r.size < 0 {
            return None;
        }
        put_varint(&mut out, (r.uid - uid) as u64);
        put_varint(&mut out, r.modseq as u64);
        put_varint(&mut out, r.size as u64);
        put_varint(&mut out, zigzag(r.idate.wrapping_sub(idate)));
        uid = r.uid;
        idate = r.idate;
        let f = &r.flags;
        let bits = u8::from(f.seen)
            | u8::from(f.answered) << 1
            | u8::from(f.flagged) << 2
            | u8::from(f.deleted) << 3
            | u8::from(f.draft) << 4
            | if f.keywords.is_empty() {
                0
            } else {
                HAS_KEYWORDS
            };
        out.push(bits);
        if !f.keywords.is_empty() {
            put_varint(&mut out, f.keywords.len() as u64);
            for k in &f.keywords {
                put_varint(&mut out, k.len() as u64);
                out.extend_from_slice(k.as_bytes());
            }
        }
    }
    Some(out)
}

struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn byte(&mut self) -> Result<u8> {
        let (&b, rest) = self
            .0
            .split_first()
            .ok_or_else(|| corrupt("saved view: truncated"))?;
        self.0 = rest;
        Ok(b)
    }

    fn varint(&mut self) -> Result<u64> {
        let mut v: u64 = 0;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(corrupt("saved view: varint too long"))
    }

    fn number(&mut self) -> Result<i64> {
        i64::try_from(self.varint()?).map_err(|_| corrupt("saved view: number out of range"))
    }

    fn bytes(&mut self, n: usize) -> Result<&[u8]> {
        if n > self.0.len() {
            return Err(corrupt("saved view: truncated"));
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }
}

/// Decodes what [`pack_view`] made; anything else is an error (never a panic, and no
/// allocation beyond what the input's length allows).
pub fn unpack_view(data: &[u8]) -> Result<Vec<ViewRow>> {
    let mut r = Reader(data);
    if r.byte()? != VERSION {
        return Err(corrupt("saved view: unknown version"));
    }
    let count = r.varint()?;
    if count > (data.len() / MIN_ROW_BYTES) as u64 {
        return Err(corrupt("saved view: row count beyond its length"));
    }
    let mut rows = Vec::with_capacity(count as usize);
    let (mut uid, mut idate) = (0i64, 0i64);
    for _ in 0..count {
        let step = r.number()?;
        uid = uid
            .checked_add(step)
            .filter(|_| step > 0)
            .ok_or_else(|| corrupt("saved view: UIDs not increasing"))?;
        let modseq = r.number()?;
        let size = r.number()?;
        idate = idate.wrapping_add(unzigzag(r.varint()?));
        let bits = r.byte()?;
        if bits & !(HAS_KEYWORDS | 31) != 0 {
            return Err(corrupt("saved view: unknown flag bits"));
        }
        let mut keywords = Vec::new();
        if bits & HAS_KEYWORDS != 0 {
            let n = r.varint()?;
            if n == 0 || n > r.0.len() as u64 {
                return Err(corrupt("saved view: keyword count"));
            }
            for _ in 0..n {
                let len = usize::try_from(r.varint()?)
                    .map_err(|_| corrupt("saved view: keyword length"))?;
                let k = std::str::from_utf8(r.bytes(len)?)
                    .map_err(|_| corrupt("saved view: keyword not UTF-8"))?;
                keywords.push(k.to_string());
            }
        }
        rows.push(ViewRow {
            uid,
            modseq,
            size,
            idate,
            flags: flags_from_bits(i64::from(bits), keywords),
        });
    }
    if !r.0.is_empty() {
        return Err(corrupt("saved view: bytes after the last row"));
    }
    Ok(rows)
}

impl Store {
    /// The saved view of a mailbox, if any: the modseq it reflects and its packed rows
    /// (decode with [`unpack_view`]).
    pub async fn saved_view(
        &self,
        user: &ObjectId,
        mailbox: &ObjectId,
    ) -> Result<Option<(i64, Vec<u8>)>> {
        let out = read!(self, db => {
            let row = sqlx::query("SELECT modseq, data FROM mailbox_views WHERE mailbox_id = $1 AND user_id = $2")
                .bind(mailbox.as_str())
                .bind(user.as_str())
                .fetch_optional(db)
                .await?;
            match row {
                Some(r) => Some((r.i64("modseq")?, sqlx::Row::try_get::<Vec<u8>, _>(&r, "data")?)),
                None => None,
            }
        });
        Ok(out)
    }

    /// Saves a packed view (see [`pack_view`]) that reflects every change up to `modseq`,
    /// replacing the one before (any saved copy is valid, the older ones only cost a longer
    /// journal read); nothing if the mailbox is gone.
    pub async fn save_view(
        &self,
        user: &ObjectId,
        mailbox: &ObjectId,
        modseq: i64,
        messages: i64,
        data: &[u8],
    ) -> Result<()> {
        write_tx!(self, tx => {
            sqlx::query(
                "INSERT INTO mailbox_views (mailbox_id, user_id, modseq, messages, data, saved) \
                 SELECT id, user_id, $3, $4, $5, $6 FROM mailboxes WHERE id = $1 AND user_id = $2 \
                 ON CONFLICT (mailbox_id) DO UPDATE SET modseq = excluded.modseq, \
                 messages = excluded.messages, data = excluded.data, saved = excluded.saved",
            )
            .bind(mailbox.as_str())
            .bind(user.as_str())
            .bind(modseq)
            .bind(messages)
            .bind(data)
            .bind(crate::now_ms())
            .execute(&mut *tx)
            .await?;
        });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Flags;

    fn row(uid: i64, modseq: i64, idate: i64, keywords: &[&str]) -> ViewRow {
        ViewRow {
            uid,
            modseq,
            size: uid % 1000 * 7,
            idate,
            flags: Flags {
                seen: uid % 2 == 0,
                flagged: uid % 3 == 0,
                draft: uid % 5 == 0,
                keywords: keywords.iter().map(|k| k.to_string()).collect(),
                ..Flags::default()
            },
        }
    }

    #[test]
    fn packs_and_unpacks() {
        let rows = vec![
            row(1, 5, 1_700_000_000_000, &[]),
            row(2, 9, 1_600_000_000_000, &["$Junk", "work"]),
            row(300, 1 << 40, -5, &[]),
            row(i64::MAX, 0, i64::MAX, &["ü"]),
        ];
        let packed = pack_view(&rows).unwrap();
        assert_eq!(unpack_view(&packed).unwrap(), rows);
        assert_eq!(unpack_view(&pack_view(&[]).unwrap()).unwrap(), vec![]);
        // Not packable: UIDs out of order, negative modseq.
        assert!(pack_view(&[row(2, 1, 0, &[]), row(1, 1, 0, &[])]).is_none());
        assert!(pack_view(&[row(1, -1, 0, &[])]).is_none());
    }

    #[test]
    fn rejects_damaged_data() {
        let rows: Vec<ViewRow> = (1..50).map(|u| row(u, u, u * 1000, &["k"])).collect();
        let packed = pack_view(&rows).unwrap();
        // Every truncation and every single-byte change either fails or decodes to rows
        // (never a panic); truncations always fail.
        for n in 0..packed.len() {
            assert!(unpack_view(&packed[..n]).is_err(), "truncated at {n}");
        }
        for i in 0..packed.len() {
            for b in [0u8, 0x7f, 0x80, 0xff] {
                let mut bad = packed.clone();
                bad[i] = b;
                let _ = unpack_view(&bad);
            }
        }
        let mut longer = packed.clone();
        longer.push(0);
        assert!(unpack_view(&longer).is_err());
        // A huge row count in a short value is refused before allocating.
        let mut huge = vec![VERSION];
        put_varint(&mut huge, u64::MAX >> 1);
        assert!(unpack_view(&huge).is_err());
        assert!(unpack_view(&[2, 0]).is_err(), "unknown version");
    }
}
