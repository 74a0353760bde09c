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

#[derive(Debug, Clone)]
pub struct PageRequest {
    /// 1..=250, validated at the edge.
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
