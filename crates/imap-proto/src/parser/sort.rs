//! SORT and THREAD (RFC 5256): criteria or algorithm, then a charset and search keys.

use super::{PResult, Parser, bad};
use crate::command::{SortCommand, SortCriterion, SortKey, ThreadAlgorithm, ThreadCommand};

impl Parser<'_> {
    /// `SORT SP "(" [REVERSE SP] sort-key *(SP ...) ")" SP charset 1*(SP search-key)`
    pub(super) fn sort(&mut self, uid: bool) -> PResult<SortCommand> {
        self.sp()?;
        let names = self.atom_list_upper()?;
        let mut criteria = Vec::new();
        let mut reverse = false;
        for name in &names {
            let key = match name.as_str() {
                "REVERSE" if !reverse => {
                    reverse = true;
                    continue;
                }
                "ARRIVAL" => SortKey::Arrival,
                "CC" => SortKey::Cc,
                "DATE" => SortKey::Date,
                "FROM" => SortKey::From,
                "SIZE" => SortKey::Size,
                "SUBJECT" => SortKey::Subject,
                "TO" => SortKey::To,
                "DISPLAYFROM" => SortKey::DisplayFrom,
                "DISPLAYTO" => SortKey::DisplayTo,
                _ => return bad(format!("invalid sort criterion {}", super::printable(name))),
            };
            criteria.push(SortCriterion { reverse, key });
            reverse = false;
        }
        if criteria.is_empty() || reverse {
            return bad("invalid sort criteria");
        }
        self.sp()?;
        let charset = self.astring_utf8()?.to_ascii_uppercase();
        self.sp()?;
        let search = self.search_keys()?;
        Ok(SortCommand {
            uid,
            criteria,
            charset,
            search,
        })
    }

    /// `THREAD SP algorithm SP charset 1*(SP search-key)`
    pub(super) fn thread(&mut self, uid: bool) -> PResult<ThreadCommand> {
        self.sp()?;
        let algorithm = match self.atom_upper()?.as_str() {
            "ORDEREDSUBJECT" => ThreadAlgorithm::OrderedSubject,
            "REFERENCES" => ThreadAlgorithm::References,
            _ => return bad("unsupported THREAD algorithm"),
        };
        self.sp()?;
        let charset = self.astring_utf8()?.to_ascii_uppercase();
        self.sp()?;
        let search = self.search_keys()?;
        Ok(ThreadCommand {
            uid,
            algorithm,
            charset,
            search,
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::parser::test_support::*;
    use crate::*;

    #[test]
    fn sort_and_thread() {
        let CommandBody::Sort(sort) =
            body("a UID SORT (REVERSE DATE SUBJECT) UTF-8 UNDELETED SINCE 1-Feb-2024\r\n")
        else {
            panic!()
        };
        assert!(sort.uid);
        assert_eq!(
            sort.criteria,
            vec![
                SortCriterion {
                    reverse: true,
                    key: SortKey::Date
                },
                SortCriterion {
                    reverse: false,
                    key: SortKey::Subject
                }
            ]
        );
        assert_eq!(sort.charset, "UTF-8");
        let CommandBody::Thread(thread) = body("a THREAD REFERENCES US-ASCII ALL\r\n") else {
            panic!()
        };
        assert_eq!(thread.algorithm, ThreadAlgorithm::References);
        assert_eq!(thread.search, SearchKey::All);
        let CommandBody::Thread(thread) = body("a UID THREAD orderedsubject utf-8 (SEEN)\r\n")
        else {
            panic!()
        };
        assert_eq!(thread.algorithm, ThreadAlgorithm::OrderedSubject);
        assert!(matches!(
            error("a SORT (REVERSE) UTF-8 ALL\r\n"),
            ParseError::Bad { .. }
        ));
    }
}
