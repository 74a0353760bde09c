//! Keyset paging with opaque cursors, as the WildDuck API exposes it (`next`/`previous`).

use serde::Serialize;

/// Where a listing starts: the first page, or after/before a cursor from an earlier page.
#[derive(Debug, Clone, Default)]
pub enum Cursor {
    #[default]
    First,
    Next(String),
    Previous(String),
}

/// Most results one page may hold.
pub const MAX_PAGE_LIMIT: u32 = 250;

#[derive(Debug, Clone)]
pub struct PageRequest {
    /// 1..=MAX_PAGE_LIMIT, validated at the edge.
    pub limit: u32,
    pub cursor: Cursor,
}

/// One page of results. Cursors are opaque strings; `None` means there is no such page.
#[derive(Debug, Clone, Serialize)]
pub struct Page<T> {
    pub total: i64,
    pub results: Vec<T>,
    pub next_cursor: Option<String>,
    pub previous_cursor: Option<String>,
}

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sealpost_store::Seek;

/// A key that positions a keyset page and round-trips through an opaque cursor string.
pub(crate) trait CursorKey: Sized + Clone {
    fn encode(&self) -> String;
    fn decode(s: &str) -> Option<Self>;
}

impl CursorKey for i64 {
    fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(format!("i{self}"))
    }
    fn decode(s: &str) -> Option<Self> {
        let raw = URL_SAFE_NO_PAD.decode(s.as_bytes()).ok()?;
        std::str::from_utf8(&raw)
            .ok()?
            .strip_prefix('i')?
            .parse()
            .ok()
    }
}

impl CursorKey for String {
    fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(format!("s{self}"))
    }
    fn decode(s: &str) -> Option<Self> {
        let raw = URL_SAFE_NO_PAD.decode(s.as_bytes()).ok()?;
        let s = std::str::from_utf8(&raw).ok()?.strip_prefix('s')?;
        (s.len() <= 64).then(|| s.to_string())
    }
}

impl PageRequest {
    pub(crate) fn seek<K: CursorKey>(&self) -> crate::Result<Seek<K>> {
        let bad = || crate::Error::validation("Invalid cursor", "cursor");
        Ok(match &self.cursor {
            Cursor::First => Seek::First,
            Cursor::Next(c) => Seek::After(K::decode(c).ok_or_else(bad)?),
            Cursor::Previous(c) => Seek::Before(K::decode(c).ok_or_else(bad)?),
        })
    }

    pub(crate) fn fetch_limit(&self) -> i64 {
        i64::from(self.limit.clamp(1, MAX_PAGE_LIMIT)) + 1
    }

    /// Builds the page from rows fetched with `fetch_limit()` in the seek's direction.
    pub(crate) fn finish<T, K: CursorKey>(
        &self,
        total: i64,
        mut rows: Vec<T>,
        key: impl Fn(&T) -> K,
    ) -> Page<T> {
        let limit = self.limit.clamp(1, MAX_PAGE_LIMIT) as usize;
        let more = rows.len() > limit;
        rows.truncate(limit);
        let (next, prev) = match &self.cursor {
            Cursor::First => (more, false),
            Cursor::Next(_) => (more, !rows.is_empty()),
            Cursor::Previous(_) => {
                rows.reverse();
                (!rows.is_empty(), more)
            }
        };
        Page {
            total,
            next_cursor: if next {
                rows.last().map(|r| key(r).encode())
            } else {
                None
            },
            previous_cursor: if prev {
                rows.first().map(|r| key(r).encode())
            } else {
                None
            },
            results: rows,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_reject_garbage() {
        assert_eq!(i64::decode(&42i64.encode()), Some(42));
        assert_eq!(
            String::decode(&"abc".to_string().encode()),
            Some("abc".into())
        );
        assert_eq!(i64::decode("!!"), None);
        assert_eq!(i64::decode(&"abc".to_string().encode()), None);
    }

    #[test]
    fn pages_forward_and_back() {
        let req = PageRequest {
            limit: 2,
            cursor: Cursor::First,
        };
        let p = req.finish(5, vec![1i64, 2, 3], |x| *x);
        assert_eq!(p.results, vec![1, 2]);
        assert!(p.previous_cursor.is_none());
        let next = p.next_cursor.unwrap();
        assert_eq!(i64::decode(&next), Some(2));
        let req = PageRequest {
            limit: 2,
            cursor: Cursor::Previous(3i64.encode()),
        };
        // fetched in reverse: 2, 1 (no more)
        let p = req.finish(5, vec![2i64, 1], |x| *x);
        assert_eq!(p.results, vec![1, 2]);
        assert!(p.previous_cursor.is_none());
        assert!(p.next_cursor.is_some());
    }
}
