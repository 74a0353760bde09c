//! SEARCH: every RFC 3501 key, CONDSTORE MODSEQ, WITHIN, ESEARCH RETURN options and
//! CHARSET. Nesting through parentheses, NOT and OR is bounded by `Limits::max_depth`.

use super::{PResult, Parser, bad};
use crate::command::{SearchCommand, SearchKey, SearchReturn};

impl Parser<'_> {
    /// `SEARCH [SP "RETURN" SP "(" opts ")"] [SP "CHARSET" SP astring] 1*(SP search-key)`
    pub(super) fn search(&mut self, uid: bool) -> PResult<SearchCommand> {
        self.sp()?;
        let mut returns = None;
        if self.eat_keyword("RETURN") {
            self.sp()?;
            let mut options = Vec::new();
            for name in self.atom_list_upper()? {
                options.push(match name.as_str() {
                    "MIN" => SearchReturn::Min,
                    "MAX" => SearchReturn::Max,
                    "ALL" => SearchReturn::All,
                    "COUNT" => SearchReturn::Count,
                    "SAVE" => SearchReturn::Save,
                    _ => return bad(format!("unknown RETURN option {}", super::printable(&name))),
                });
            }
            returns = Some(options);
            self.sp()?;
        }
        let charset = self.charset_prefix()?;
        let criteria = self.search_keys()?;
        Ok(SearchCommand {
            uid,
            returns,
            charset,
            criteria,
        })
    }

    /// `[CHARSET SP astring SP]`
    fn charset_prefix(&mut self) -> PResult<Option<String>> {
        if !self.eat_keyword("CHARSET") {
            return Ok(None);
        }
        self.sp()?;
        let charset = self.astring_utf8()?.to_ascii_uppercase();
        self.sp()?;
        Ok(Some(charset))
    }

    /// Consumes `keyword` followed by a space, case-insensitively, or nothing.
    pub(super) fn eat_keyword(&mut self, keyword: &str) -> bool {
        let end = self.pos + keyword.len();
        let matches = self
            .buf
            .get(self.pos..end)
            .is_some_and(|w| w.eq_ignore_ascii_case(keyword.as_bytes()))
            && self.buf.get(end) == Some(&b' ');
        if matches {
            self.pos = end;
        }
        matches
    }

    /// `search-key *(SP search-key)` up to the end of the line: one key or an `And`.
    pub(super) fn search_keys(&mut self) -> PResult<SearchKey> {
        let mut keys = vec![self.search_key()?];
        while self.eat(b' ') {
            keys.push(self.search_key()?);
        }
        Ok(if keys.len() == 1 {
            keys.pop().unwrap_or(SearchKey::All)
        } else {
            SearchKey::And(keys)
        })
    }

    fn search_key(&mut self) -> PResult<SearchKey> {
        self.enter()?;
        let key = self.search_key_inner();
        self.leave();
        key
    }

    fn search_key_inner(&mut self) -> PResult<SearchKey> {
        use SearchKey as K;
        match self.peek() {
            Some(b'(') => {
                self.pos += 1;
                let mut keys = Vec::new();
                loop {
                    keys.push(self.search_key()?);
                    if self.eat(b')') {
                        break;
                    }
                    self.sp()?;
                }
                return Ok(K::And(keys));
            }
            Some(b) if b.is_ascii_digit() || b == b'*' || b == b'$' => {
                return Ok(K::SequenceSet(self.sequence_set()?));
            }
            _ => {}
        }
        let name = self.atom_upper()?;
        Ok(match name.as_str() {
            "ALL" => K::All,
            "ANSWERED" => K::Answered,
            "DELETED" => K::Deleted,
            "DRAFT" => K::Draft,
            "FLAGGED" => K::Flagged,
            "NEW" => K::New,
            "OLD" => K::Old,
            "RECENT" => K::Recent,
            "SEEN" => K::Seen,
            "UNANSWERED" => K::Unanswered,
            "UNDELETED" => K::Undeleted,
            "UNDRAFT" => K::Undraft,
            "UNFLAGGED" => K::Unflagged,
            "UNSEEN" => K::Unseen,
            "BCC" => K::Bcc(self.sp_search_string()?),
            "BODY" => K::Body(self.sp_search_string()?),
            "CC" => K::Cc(self.sp_search_string()?),
            "FROM" => K::From(self.sp_search_string()?),
            "SUBJECT" => K::Subject(self.sp_search_string()?),
            "TEXT" => K::Text(self.sp_search_string()?),
            "TO" => K::To(self.sp_search_string()?),
            "HEADER" => {
                let field = self.sp_search_string()?;
                K::Header(field, self.sp_search_string()?)
            }
            "BEFORE" => K::Before(self.sp_date()?),
            "ON" => K::On(self.sp_date()?),
            "SINCE" => K::Since(self.sp_date()?),
            "SENTBEFORE" => K::SentBefore(self.sp_date()?),
            "SENTON" => K::SentOn(self.sp_date()?),
            "SENTSINCE" => K::SentSince(self.sp_date()?),
            "KEYWORD" => {
                self.sp()?;
                K::Keyword(self.atom()?)
            }
            "UNKEYWORD" => {
                self.sp()?;
                K::Unkeyword(self.atom()?)
            }
            "LARGER" => {
                self.sp()?;
                K::Larger(self.number64()?)
            }
            "SMALLER" => {
                self.sp()?;
                K::Smaller(self.number64()?)
            }
            "NOT" => {
                self.sp()?;
                K::Not(Box::new(self.search_key()?))
            }
            "OR" => {
                self.sp()?;
                let left = self.search_key()?;
                self.sp()?;
                K::Or(Box::new(left), Box::new(self.search_key()?))
            }
            "UID" => {
                self.sp()?;
                K::Uid(self.sequence_set()?)
            }
            "MODSEQ" => {
                self.sp()?;
                let entry = if self.peek() == Some(b'"') {
                    let name = self.string_utf8()?;
                    if !is_entry_flag_name(&name) {
                        return bad("invalid MODSEQ entry name (expected \"/flags/<flag>\")");
                    }
                    self.sp()?;
                    let kind = self.atom()?.to_ascii_lowercase();
                    if !matches!(kind.as_str(), "priv" | "shared" | "all") {
                        return bad("invalid MODSEQ entry type");
                    }
                    self.sp()?;
                    Some((name, kind))
                } else {
                    None
                };
                K::ModSeq {
                    entry,
                    modseq: self.number64()?,
                }
            }
            "OLDER" => {
                self.sp()?;
                K::Older(self.nz_number()?)
            }
            "YOUNGER" => {
                self.sp()?;
                K::Younger(self.nz_number()?)
            }
            _ => return bad(format!("unknown search key {}", super::printable(&name))),
        })
    }

    fn sp_search_string(&mut self) -> PResult<String> {
        self.sp()?;
        self.astring_utf8()
    }

    fn sp_date(&mut self) -> PResult<crate::Date> {
        self.sp()?;
        self.date()
    }
}

/// RFC 7162 `entry-flag-name`: `/flags/` and a flag (`\\Seen`, a keyword...), unescaped.
fn is_entry_flag_name(name: &str) -> bool {
    let Some(prefix) = name.get(..7) else {
        return false;
    };
    let flag = name.get(7..).unwrap_or_default();
    let atom = flag.strip_prefix('\\').unwrap_or(flag);
    prefix.eq_ignore_ascii_case("/flags/")
        && !atom.is_empty()
        && atom.bytes().all(super::lexer::is_atom_char)
}

#[cfg(test)]
mod tests {
    use crate::parser::test_support::*;
    use crate::*;

    #[test]
    fn search_keys() {
        use SearchKey as K;
        let CommandBody::Search(search) = body(
            "A282 SEARCH RETURN (MIN COUNT SAVE) CHARSET UTF-8 OR (FROM \"Smith\" SINCE 1-Feb-2024) NOT (SUBJECT {6+}\r\närger UNSEEN) 2:4,* UID $ LARGER 1000 HEADER X-Mailer mutt MODSEQ \"/flags/\\\\draft\" all 620162338\r\n",
        ) else {
            panic!()
        };
        assert!(!search.uid);
        assert_eq!(search.charset.as_deref(), Some("UTF-8"));
        assert_eq!(
            search.returns,
            Some(vec![
                SearchReturn::Min,
                SearchReturn::Count,
                SearchReturn::Save
            ])
        );
        let date = Date::new(2024, 2, 1).unwrap();
        assert_eq!(
            search.criteria,
            K::And(vec![
                K::Or(
                    Box::new(K::And(vec![K::From("Smith".into()), K::Since(date)])),
                    Box::new(K::Not(Box::new(K::And(vec![
                        K::Subject("ärger".into()),
                        K::Unseen
                    ]))))
                ),
                K::SequenceSet(SequenceSet(vec![
                    Sequence::Range(v(2), v(4)),
                    Sequence::Range(SeqBound::Largest, SeqBound::Largest)
                ])),
                K::Uid(SequenceSet(vec![Sequence::SavedResult])),
                K::Larger(1000),
                K::Header("X-Mailer".into(), "mutt".into()),
                K::ModSeq {
                    entry: Some(("/flags/\\draft".into(), "all".into())),
                    modseq: 620162338
                },
            ])
        );
        // Every RFC 3501 key at least once.
        let CommandBody::Search(search) = body(
            "a UID SEARCH ALL ANSWERED BCC x BEFORE 1-Jan-2000 BODY y CC z DELETED DRAFT FLAGGED FROM f HEADER h v KEYWORD $k LARGER 1 NEW NOT SEEN OLD ON \"10-Oct-2010\" OR 1 2 RECENT SEEN SENTBEFORE 1-Jan-2000 SENTON 1-Jan-2000 SENTSINCE 1-Jan-2000 SINCE 1-Jan-2000 SMALLER 5 SUBJECT s TEXT t TO o UID 1:5 UNANSWERED UNDELETED UNDRAFT UNFLAGGED UNKEYWORD $k UNSEEN MODSEQ 5 OLDER 60 YOUNGER 60\r\n",
        ) else {
            panic!()
        };
        assert!(search.uid);
        let K::And(keys) = search.criteria else {
            panic!()
        };
        assert_eq!(keys.len(), 38);
        let CommandBody::Search(search) = body("a SEARCH RETURN () UNSEEN\r\n") else {
            panic!()
        };
        assert_eq!(search.returns, Some(vec![]));
        assert_eq!(search.criteria, K::Unseen);
        for bad in [
            "a SEARCH\r\n",
            "a SEARCH FOO\r\n",
            "a SEARCH BEFORE 31-Feb-2024\r\n",
            "a SEARCH SINCE 1-Foo-2024\r\n",
            "a SEARCH OR SEEN\r\n",
            "a SEARCH (SEEN\r\n",
            "a SEARCH RETURN (BOGUS) ALL\r\n",
            "a SEARCH LARGER 99999999999999999999999\r\n",
        ] {
            assert!(matches!(error(bad), ParseError::Bad { .. }), "{bad}");
        }
    }

    #[test]
    fn modseq_search_key() {
        use SearchKey as K;
        let CommandBody::Search(search) = body("a SEARCH MODSEQ \"/flags/$Junk\" priv 0\r\n")
        else {
            panic!()
        };
        assert_eq!(
            search.criteria,
            K::ModSeq {
                entry: Some(("/flags/$Junk".into(), "priv".into())),
                modseq: 0
            }
        );
        for bad in [
            "a SEARCH MODSEQ\r\n",
            "a SEARCH MODSEQ -1\r\n",
            "a SEARCH MODSEQ 9223372036854775808\r\n",
            "a SEARCH MODSEQ \"/flags/\\\\Seen\" both 5\r\n",
            "a SEARCH MODSEQ \"/flags/\" all 5\r\n",
            "a SEARCH MODSEQ \"/shared/comment\" all 5\r\n",
            "a SEARCH MODSEQ \"/flags/a b\" all 5\r\n",
            "a SEARCH MODSEQ \"/flags/\\\\Seen\" all\r\n",
        ] {
            assert!(matches!(error(bad), ParseError::Bad { .. }), "{bad}");
        }
    }
}
