//! SEARCH and UID SEARCH: flags, sequence and UID sets, dates, sizes and OR/NOT/AND are
//! answered from the session's snapshot; header keys (FROM, TO, SUBJECT, HEADER...) from the
//! stored header index (`blob_headers`: the decoded subject and header fields, without the
//! rest of the parsed message), kept in the process's search cache once read (big mailboxes:
//! read a chunk of UIDs at a time for each SEARCH); BODY and TEXT from
//! the full-text index (all words must occur), TEXT also from the header fields.
//! MODSEQ (CONDSTORE) compares with the message modseq whatever entry is named: flags have
//! no modseq of their own here, which RFC 7162 3.1.5 allows.
//!
//! Results are `* SEARCH`, or `* ESEARCH` (RFC 4731) when RETURN options are given or the
//! client enabled IMAP4rev2; `RETURN (SAVE)` keeps the result as `$` (SEARCHRES, RFC 5182)
//! by UID in the selected state. SORT and THREAD use [`Session::search_indexes`] too.

use crate::error::Result;
use crate::session::Session;
use crate::state::{Entry, Selected};
use sealpost_core::{HeaderIndex, SearchRow};
use sealpost_imap_proto::{
    Code, Data, Date, EsearchResult, SearchCommand, SearchKey, SearchReturn, SequenceSet, Status,
    StatusResponse,
};
use std::collections::{HashMap, HashSet};

const DAY_MS: i64 = 86_400_000;
/// Distinct BODY/TEXT keys per SEARCH (each is one full-text query): more is BAD.
const MAX_TEXT_KEYS: usize = 32;

/// What the criteria need beyond the snapshot.
#[derive(Default)]
struct Needs {
    /// Something beyond the view: the Date header at least.
    records: bool,
    /// The decoded subject and header fields.
    header_index: bool,
    texts: Vec<String>,
    /// A MODSEQ key: CONDSTORE is enabled and the answer carries `(MODSEQ n)`.
    modseq: bool,
}

fn walk(key: &SearchKey, needs: &mut Needs) {
    use SearchKey as K;
    match key {
        K::Bcc(_) | K::Cc(_) | K::From(_) | K::To(_) | K::Subject(_) | K::Header(..) => {
            needs.records = true;
            needs.header_index = true;
        }
        K::Text(t) => {
            needs.records = true;
            needs.header_index = true;
            needs.texts.push(t.clone());
        }
        K::Body(t) => needs.texts.push(t.clone()),
        K::SentBefore(_) | K::SentOn(_) | K::SentSince(_) => needs.records = true,
        K::ModSeq { .. } => needs.modseq = true,
        K::Not(k) => walk(k, needs),
        K::Or(a, b) => {
            walk(a, needs);
            walk(b, needs);
        }
        K::And(list) => list.iter().for_each(|k| walk(k, needs)),
        _ => {}
    }
}

/// Whether `haystack.to_lowercase()` contains `lower_needle` (a needle already lower-cased
/// with `str::to_lowercase`, once per SEARCH): the matching rule of every header key.
///
/// An ASCII haystack (nearly every header value) is compared byte by byte, lower-casing as
/// it goes, without a copy: its `to_lowercase` is its ASCII lower case, and a needle with
/// other characters cannot occur in it. Other haystacks are lower-cased whole, as before:
/// Unicode lower case is not one character for one (`İ` becomes two, a final `Σ` depends
/// on what precedes it, the Kelvin sign becomes an ASCII `k`), and a copy keeps the rule
/// exactly the same.
fn contains_ci(haystack: &str, lower_needle: &str) -> bool {
    if lower_needle.is_empty() {
        return true;
    }
    if !haystack.is_ascii() {
        return haystack.to_lowercase().contains(lower_needle);
    }
    let n = lower_needle.as_bytes();
    haystack
        .as_bytes()
        .windows(n.len())
        .any(|w| w.iter().zip(n).all(|(a, b)| a.to_ascii_lowercase() == *b))
}

/// One message as the evaluation sees it.
struct Candidate<'a> {
    seq: u32,
    entry: &'a Entry,
    /// The Date header (Unix milliseconds), when read.
    hdate: Option<i64>,
    /// The decoded subject and header fields, when read.
    index: Option<&'a HeaderIndex<'a>>,
}

struct Context<'a> {
    /// Each sequence set of the criteria as merged, sorted ranges with `*` resolved, keyed
    /// by the set's address (so that a long set costs a binary search per message).
    sets: HashMap<usize, Vec<(u32, u32)>>,
    now: i64,
    /// Full-text results per query: `None` matches every message.
    texts: &'a HashMap<String, Option<HashSet<u32>>>,
    /// Each string compared with header values, lower-cased once, keyed by the string's
    /// address like `sets`.
    needles: HashMap<usize, String>,
}

impl Context<'_> {
    /// `value` of the criteria lower-cased.
    fn needle<'b>(&'b self, value: &'b String) -> std::borrow::Cow<'b, str> {
        match self.needles.get(&std::ptr::from_ref(value).addr()) {
            Some(lower) => lower.as_str().into(),
            None => value.to_lowercase().into(),
        }
    }
}

/// Every string of the criteria compared with header values, lower-cased, by address.
fn collect_needles(key: &SearchKey, out: &mut HashMap<usize, String>) {
    use SearchKey as K;
    match key {
        K::Bcc(v)
        | K::Cc(v)
        | K::From(v)
        | K::To(v)
        | K::Subject(v)
        | K::Header(_, v)
        | K::Text(v) => {
            out.insert(std::ptr::from_ref(v).addr(), v.to_lowercase());
        }
        K::Not(k) => collect_needles(k, out),
        K::Or(a, b) => {
            collect_needles(a, out);
            collect_needles(b, out);
        }
        K::And(list) => list.iter().for_each(|k| collect_needles(k, out)),
        _ => {}
    }
}

fn header_matches(c: &Candidate<'_>, ctx: &Context<'_>, name: &str, value: &String) -> bool {
    let Some(index) = c.index else {
        return false;
    };
    let needle = ctx.needle(value);
    index
        .headers
        .iter()
        .any(|(n, v)| n.eq_ignore_ascii_case(name) && contains_ci(v, &needle))
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

fn day(ms: i64) -> i64 {
    ms.div_euclid(DAY_MS)
}

fn date_day(d: &Date) -> i64 {
    d.days_since_epoch()
}

fn text_matches(ctx: &Context<'_>, query: &str, uid: u32) -> bool {
    match ctx.texts.get(query) {
        Some(Some(set)) => set.contains(&uid),
        Some(None) => true,
        None => false,
    }
}

fn eval(key: &SearchKey, c: &Candidate<'_>, ctx: &Context<'_>) -> bool {
    use SearchKey as K;
    let f = &c.entry.flags;
    let sent_day = || c.hdate.map(day);
    match key {
        K::All => true,
        K::Answered => f.answered,
        K::Unanswered => !f.answered,
        K::Deleted => f.deleted,
        K::Undeleted => !f.deleted,
        K::Draft => f.draft,
        K::Undraft => !f.draft,
        K::Flagged => f.flagged,
        K::Unflagged => !f.flagged,
        K::Seen => f.seen,
        K::Unseen => !f.seen,
        K::Keyword(k) => f.keywords.iter().any(|w| w.eq_ignore_ascii_case(k)),
        K::Unkeyword(k) => !f.keywords.iter().any(|w| w.eq_ignore_ascii_case(k)),
        // No message is \Recent in Sealpost.
        K::New | K::Recent => false,
        K::Old => true,
        K::Larger(n) => u64::try_from(c.entry.size).is_ok_and(|s| s > *n),
        K::Smaller(n) => u64::try_from(c.entry.size).is_ok_and(|s| s < *n),
        K::Before(d) => day(c.entry.idate) < date_day(d),
        K::On(d) => day(c.entry.idate) == date_day(d),
        K::Since(d) => day(c.entry.idate) >= date_day(d),
        K::SentBefore(d) => sent_day().is_some_and(|s| s < date_day(d)),
        K::SentOn(d) => sent_day().is_some_and(|s| s == date_day(d)),
        K::SentSince(d) => sent_day().is_some_and(|s| s >= date_day(d)),
        K::Older(secs) => ctx.now - c.entry.idate >= i64::from(*secs) * 1000,
        K::Younger(secs) => ctx.now - c.entry.idate <= i64::from(*secs) * 1000,
        K::From(v) => header_matches(c, ctx, "from", v),
        K::To(v) => header_matches(c, ctx, "to", v),
        K::Cc(v) => header_matches(c, ctx, "cc", v),
        K::Bcc(v) => header_matches(c, ctx, "bcc", v),
        K::Subject(v) => {
            c.index
                .is_some_and(|i| contains_ci(&i.subject, &ctx.needle(v)))
                || header_matches(c, ctx, "subject", v)
        }
        K::Header(name, v) => header_matches(c, ctx, name, v),
        K::Body(t) => text_matches(ctx, t, c.entry.uid),
        K::Text(t) => {
            text_matches(ctx, t, c.entry.uid)
                || c.index.is_some_and(|i| {
                    let needle = ctx.needle(t);
                    i.headers.iter().any(|(_, v)| contains_ci(v, &needle))
                })
        }
        K::Uid(set) => in_set(ctx, set, c.entry.uid),
        K::SequenceSet(set) => in_set(ctx, set, c.seq),
        K::ModSeq { modseq, .. } => u64::try_from(c.entry.modseq).is_ok_and(|m| m >= *modseq),
        K::Not(k) => !eval(k, c, ctx),
        K::Or(a, b) => eval(a, c, ctx) || eval(b, c, ctx),
        K::And(list) => list.iter().all(|k| eval(k, c, ctx)),
    }
}

fn in_set(ctx: &Context<'_>, set: &SequenceSet, n: u32) -> bool {
    let Some(ranges) = ctx.sets.get(&std::ptr::from_ref(set).addr()) else {
        return false;
    };
    let i = ranges.partition_point(|(_, hi)| *hi < n);
    ranges.get(i).is_some_and(|(lo, _)| *lo <= n)
}

/// Sorted, merged ranges of a set, plus the single numbers `extra` (what `$` stands for).
fn merged(set: &SequenceSet, largest: u32, extra: &[u32]) -> Vec<(u32, u32)> {
    let mut ranges: Vec<(u32, u32)> = set.ranges(largest).collect();
    ranges.extend(extra.iter().map(|&n| (n, n)));
    ranges.sort_unstable();
    let mut out: Vec<(u32, u32)> = Vec::with_capacity(ranges.len());
    for (lo, hi) in ranges {
        match out.last_mut() {
            Some(last) if lo <= last.1.saturating_add(1) => last.1 = last.1.max(hi),
            _ => out.push((lo, hi)),
        }
    }
    out
}

/// Each sequence set of the criteria as merged ranges. `$` adds the saved result: its UIDs
/// for `UID $`, their current sequence numbers for a bare `$`.
fn collect_sets(key: &SearchKey, selected: &Selected, out: &mut HashMap<usize, Vec<(u32, u32)>>) {
    let saved = |uid: bool| -> Vec<u32> {
        selected
            .saved
            .iter()
            .filter_map(|&u| {
                let i = selected.index_of(u)?;
                if uid {
                    Some(u)
                } else {
                    u32::try_from(i + 1).ok()
                }
            })
            .collect()
    };
    match key {
        SearchKey::Uid(set) => {
            let extra = if set.uses_saved_result() {
                saved(true)
            } else {
                Vec::new()
            };
            out.insert(
                std::ptr::from_ref(set).addr(),
                merged(set, selected.max_uid(), &extra),
            );
        }
        SearchKey::SequenceSet(set) => {
            let extra = if set.uses_saved_result() {
                saved(false)
            } else {
                Vec::new()
            };
            out.insert(
                std::ptr::from_ref(set).addr(),
                merged(set, selected.exists(), &extra),
            );
        }
        SearchKey::Not(k) => collect_sets(k, selected, out),
        SearchKey::Or(a, b) => {
            collect_sets(a, selected, out);
            collect_sets(b, selected, out);
        }
        SearchKey::And(list) => {
            for k in list {
                collect_sets(k, selected, out);
            }
        }
        _ => {}
    }
}

/// Whether a command line the parser refused is a `[UID] SEARCH RETURN (... SAVE ...)`:
/// RFC 5182 2.1 empties `$` when such a SEARCH fails, syntax errors included.
pub(crate) fn line_saves_result(line: &[u8]) -> bool {
    let line = line.split(|&b| b == b'\n').next().unwrap_or_default();
    let mut words = line
        .split(|&b| b == b' ')
        .filter(|w| !w.is_empty())
        .skip(1)
        .peekable();
    words.next_if(|w| w.eq_ignore_ascii_case(b"UID"));
    if !words
        .next()
        .is_some_and(|w| w.eq_ignore_ascii_case(b"SEARCH"))
        || !words
            .next()
            .is_some_and(|w| w.eq_ignore_ascii_case(b"RETURN"))
    {
        return false;
    }
    for word in words {
        let bare: Vec<u8> = word
            .iter()
            .copied()
            .filter(|b| !matches!(b, b'(' | b')' | b'\r'))
            .collect();
        if bare.eq_ignore_ascii_case(b"SAVE") {
            return true;
        }
        if word.contains(&b')') {
            break;
        }
    }
    false
}

/// The charsets SEARCH, SORT and THREAD accept: strings are UTF-8 on the wire, and US-ASCII
/// is a subset of it. Anything else is `NO [BADCHARSET]` (RFC 3501 6.4.4).
pub(crate) fn check_charset(tag: &str, charset: Option<&str>) -> Option<StatusResponse> {
    match charset {
        None | Some("UTF-8" | "US-ASCII") => None,
        Some(_) => Some(
            StatusResponse::no(tag, "Unsupported charset")
                .with_code(Code::BadCharset(vec!["UTF-8".into(), "US-ASCII".into()])),
        ),
    }
}

impl Session {
    pub(crate) async fn op_search(
        &mut self,
        tag: &str,
        cmd: SearchCommand,
    ) -> Result<StatusResponse> {
        let save = cmd
            .returns
            .as_ref()
            .is_some_and(|r| r.contains(&SearchReturn::Save));
        let result = self.search_and_answer(tag, cmd).await;
        // RFC 5182 2.1: a SEARCH with SAVE that fails leaves `$` empty.
        if save
            && !matches!(&result, Ok(r) if r.status == Status::Ok)
            && let Some(selected) = self.selected.as_mut()
        {
            selected.saved.clear();
        }
        result
    }

    async fn search_and_answer(&mut self, tag: &str, cmd: SearchCommand) -> Result<StatusResponse> {
        if let Some(refused) = check_charset(tag, cmd.charset.as_deref()) {
            return Ok(refused);
        }
        let found = match self.search_indexes(tag, &cmd.criteria).await? {
            Ok(found) => found,
            Err(refused) => return Ok(refused),
        };
        let rev2 = self.rev2;
        let Some(selected) = self.selected.as_mut() else {
            return Ok(StatusResponse::bad(tag, "No mailbox selected"));
        };
        let mut needs = Needs::default();
        walk(&cmd.criteria, &mut needs);
        // RFC 7162 3.1.5: with a MODSEQ key, the answer carries the highest modseq of the
        // messages it returns (nothing when none is found).
        let modseq_of = |indexes: &mut dyn Iterator<Item = usize>| {
            if !needs.modseq {
                return None;
            }
            indexes
                .filter_map(|i| selected.messages.get(i).map(|m| m.modseq))
                .max()
                .map(|m| u64::try_from(m).unwrap_or(0))
        };
        let modseq = modseq_of(&mut found.iter().copied());
        let ids: Vec<u32> = found
            .iter()
            .map(|&i| {
                if cmd.uid {
                    selected.messages.get(i).map(|m| m.uid).unwrap_or(0)
                } else {
                    u32::try_from(i + 1).unwrap_or(u32::MAX)
                }
            })
            .collect();
        // Under IMAP4rev2 a plain SEARCH is answered as `RETURN (ALL)` (RFC 9051 6.4.4).
        let returns = match cmd.returns {
            Some(r) if r.is_empty() => vec![SearchReturn::All],
            Some(r) => r,
            None if rev2 => vec![SearchReturn::All],
            None => {
                self.push(Data::Search { ids, modseq });
                return Ok(StatusResponse::ok(tag, "SEARCH completed"));
            }
        };
        let has = |r: SearchReturn| returns.contains(&r);
        if has(SearchReturn::Save) {
            // RFC 5182 2.4: with MIN and/or MAX but neither ALL nor COUNT, only those
            // messages are saved.
            let only_ends = !has(SearchReturn::All)
                && !has(SearchReturn::Count)
                && (has(SearchReturn::Min) || has(SearchReturn::Max));
            let chosen: Vec<usize> = if only_ends {
                let mut ends = Vec::new();
                if has(SearchReturn::Min) {
                    ends.extend(found.first().copied());
                }
                if has(SearchReturn::Max) {
                    ends.extend(found.last().copied());
                }
                ends
            } else {
                found.clone()
            };
            let mut saved: Vec<u32> = chosen
                .into_iter()
                .filter_map(|i| selected.messages.get(i).map(|m| m.uid))
                .collect();
            saved.dedup();
            selected.saved = saved;
            // SAVE alone: no ESEARCH response (RFC 5182 2.4).
            if returns.iter().all(|r| *r == SearchReturn::Save) {
                return Ok(StatusResponse::ok(tag, "SEARCH completed, result saved"));
            }
        }
        let result = EsearchResult {
            tag: Some(tag.to_string()),
            uid: cmd.uid,
            min: has(SearchReturn::Min)
                .then(|| ids.first().copied())
                .flatten(),
            max: has(SearchReturn::Max)
                .then(|| ids.last().copied())
                .flatten(),
            all: has(SearchReturn::All)
                .then(|| SequenceSet::from_ids(ids.iter().copied()))
                .flatten(),
            count: has(SearchReturn::Count).then(|| u32::try_from(ids.len()).unwrap_or(u32::MAX)),
            // Only MIN and/or MAX: the modseq of those messages, not of all found.
            modseq: if has(SearchReturn::All) || has(SearchReturn::Count) {
                modseq
            } else {
                let mut ends = Vec::new();
                if has(SearchReturn::Min) {
                    ends.extend(found.first().copied());
                }
                if has(SearchReturn::Max) {
                    ends.extend(found.last().copied());
                }
                modseq_of(&mut ends.into_iter())
            },
        };
        self.push(Data::Esearch(result));
        Ok(StatusResponse::ok(tag, "SEARCH completed"))
    }

    /// The indexes (sequence number − 1) of the live messages matching `criteria`,
    /// ascending: the common part of SEARCH, SORT and THREAD. `Err` is the tagged answer
    /// for criteria the server refuses.
    pub(crate) async fn search_indexes(
        &mut self,
        tag: &str,
        criteria: &SearchKey,
    ) -> Result<std::result::Result<Vec<usize>, StatusResponse>> {
        let user = self.user_id()?;
        let Some(selected) = self.selected.as_ref() else {
            return Ok(Err(StatusResponse::bad(tag, "No mailbox selected")));
        };
        let mailbox = selected.id.clone();
        let mut needs = Needs::default();
        walk(criteria, &mut needs);
        if needs.modseq {
            self.enable_condstore();
        }
        // Each distinct BODY/TEXT key is one full-text query.
        let distinct: HashSet<&str> = needs.texts.iter().map(String::as_str).collect();
        if distinct.len() > MAX_TEXT_KEYS {
            return Ok(Err(StatusResponse::bad(
                tag,
                format!("Too many BODY/TEXT search keys (at most {MAX_TEXT_KEYS})"),
            )));
        }
        let mut texts = HashMap::new();
        for query in needs.texts {
            if texts.contains_key(&query) {
                continue;
            }
            let found = self.core.search_text(&user, &mailbox, &query).await?;
            let set = found.map(|uids| {
                uids.into_iter()
                    .filter_map(|u| u32::try_from(u).ok())
                    .collect::<HashSet<u32>>()
            });
            texts.insert(query, set);
        }
        let Some(selected) = self.selected.as_ref() else {
            return Ok(Err(StatusResponse::bad(tag, "No mailbox selected")));
        };
        let mut sets = HashMap::new();
        collect_sets(criteria, selected, &mut sets);
        let mut needles = HashMap::new();
        collect_needles(criteria, &mut needles);
        let ctx = Context {
            sets,
            now: now_ms(),
            texts: &texts,
            needles,
        };
        let live: Vec<(usize, &Entry)> = selected
            .messages
            .iter()
            .enumerate()
            .filter(|(_, m)| !m.expunged)
            .collect();
        let seq = |i: usize| u32::try_from(i + 1).unwrap_or(u32::MAX);
        // Whether each live message matches, when its stored row was read.
        let mut matched: Vec<Option<bool>> = vec![None; live.len()];
        let cached = if needs.records {
            let live_uids: Vec<i64> = live.iter().map(|(_, e)| i64::from(e.uid)).collect();
            self.core.search_fields(&user, &mailbox, &live_uids).await?
        } else {
            None
        };
        if let Some(fields) = cached {
            // Every live message's Date and header index, mostly from the search cache.
            for (((i, entry), f), m) in live.iter().zip(&fields).zip(matched.iter_mut()) {
                let Some(f) = f else {
                    // Gone from the store: judged on the view alone, below.
                    continue;
                };
                let candidate = Candidate {
                    seq: seq(*i),
                    entry,
                    hdate: Some(f.hdate),
                    index: Some(&*f.index),
                };
                *m = Some(eval(criteria, &candidate, &ctx));
            }
        } else if let (Some((_, first)), Some((_, last)), true) =
            (live.first(), live.last(), needs.records)
        {
            // A mailbox too big for the cache: the rows of the view's UID range, each
            // evaluated as it is read (its header index borrowed from the row): the view
            // is ordered by UID, and every stored message of the range is in it.
            let evaluated: Vec<Option<(usize, bool)>> = self
                .core
                .scan_search_rows(
                    &user,
                    &mailbox,
                    i64::from(first.uid)..=i64::from(last.uid),
                    needs.header_index,
                    |row: SearchRow<'_>| {
                        let uid = u32::try_from(row.uid).ok()?;
                        let at = live.binary_search_by_key(&uid, |(_, e)| e.uid).ok()?;
                        let (i, entry) = live.get(at)?;
                        let candidate = Candidate {
                            seq: seq(*i),
                            entry,
                            hdate: Some(row.hdate),
                            index: row.header_index.as_ref(),
                        };
                        Some((at, eval(criteria, &candidate, &ctx)))
                    },
                )
                .await?;
            for (at, yes) in evaluated.into_iter().flatten() {
                if let Some(m) = matched.get_mut(at) {
                    *m = Some(yes);
                }
            }
        }
        let mut found = Vec::new();
        for ((i, entry), m) in live.iter().zip(matched) {
            // Without a stored row (none needed, or the message is gone), the view alone.
            let yes = m.unwrap_or_else(|| {
                let candidate = Candidate {
                    seq: seq(*i),
                    entry,
                    hdate: None,
                    index: None,
                };
                eval(criteria, &candidate, &ctx)
            });
            if yes {
                found.push(*i);
            }
        }
        Ok(Ok(found))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sealpost_imap_proto::{SeqBound, Sequence};

    #[test]
    fn merges_ranges() {
        let set = SequenceSet(vec![
            Sequence::Range(SeqBound::Value(5), SeqBound::Value(7)),
            Sequence::Range(SeqBound::Value(1), SeqBound::Value(2)),
            Sequence::Range(SeqBound::Value(3), SeqBound::Value(3)),
            Sequence::Range(SeqBound::Value(9), SeqBound::Largest),
        ]);
        assert_eq!(merged(&set, 20, &[]), vec![(1, 3), (5, 7), (9, 20)]);
        assert_eq!(merged(&set, 20, &[4, 30]), vec![(1, 7), (9, 20), (30, 30)]);
    }

    #[test]
    fn case_insensitive_search_is_lowercase_then_contains() {
        let hay = [
            "",
            "Hello World",
            "HELLO",
            "Grüße aus München",
            "ΟΔΥΣΣΕΑΣ 300 \u{212a}",
            "İstanbul",
            "abcabd",
            "a",
            "x@EXAMPLE.org, Bob <b@x>",
        ];
        let needles = [
            "",
            "hello",
            "WORLD",
            "o w",
            "grüße",
            "MÜNCHEN",
            "ΟΔΥΣΣΕΑΣ",
            "300 K",
            "k",
            "i̇st",
            "istanbul",
            "abd",
            "abcabd!",
            "A",
            "example.ORG",
            "ü",
        ];
        for h in hay {
            for n in needles {
                let expected = n.is_empty() || h.to_lowercase().contains(&n.to_lowercase());
                assert_eq!(contains_ci(h, &n.to_lowercase()), expected, "{h:?} {n:?}");
            }
        }
    }

    #[test]
    fn recognises_failed_saving_searches() {
        assert!(line_saves_result(b"a SEARCH RETURN (SAVE) FOO\r\n"));
        assert!(line_saves_result(b"a uid search return (MIN save\r\n"));
        assert!(line_saves_result(
            b"a SEARCH RETURN (ALL SAVE) BEFORE 31-Feb-2024\r\n"
        ));
        assert!(!line_saves_result(
            b"a SEARCH RETURN (ALL) SUBJECT SAVE\r\n"
        ));
        assert!(!line_saves_result(b"a SEARCH SUBJECT SAVE\r\n"));
        assert!(!line_saves_result(b"a FETCH RETURN (SAVE)\r\n"));
        assert!(!line_saves_result(b""));
    }
}
