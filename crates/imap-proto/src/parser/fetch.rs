//! FETCH: data items, macros, body sections, partials and CONDSTORE/QRESYNC modifiers.

use super::{PResult, Parser, bad};
use crate::command::{FetchAttribute, FetchCommand, Section, SectionText};

impl Parser<'_> {
    /// `FETCH SP sequence-set SP (macro / fetch-att / "(" fetch-att *(SP fetch-att) ")")
    /// [SP "(" fetch-modifier *(SP fetch-modifier) ")"]`
    pub(super) fn fetch(&mut self, uid: bool) -> PResult<FetchCommand> {
        self.sp()?;
        let sequence_set = self.sequence_set()?;
        self.sp()?;
        let mut attributes = Vec::new();
        if self.eat(b'(') {
            loop {
                self.fetch_attribute(&mut attributes)?;
                if self.eat(b')') {
                    break;
                }
                self.sp()?;
            }
        } else {
            self.fetch_attribute(&mut attributes)?;
        }
        let mut command = FetchCommand {
            uid,
            sequence_set,
            attributes,
            changed_since: None,
            vanished: false,
        };
        if self.eat(b' ') {
            self.expect(b'(', "expected FETCH modifiers")?;
            loop {
                // RFC 4466: a modifier appears at most once. CHANGEDSINCE 0 is accepted
                // (the grammar wants 1 or more, but clients send it to mean "everything").
                match self.atom_upper()?.as_str() {
                    "CHANGEDSINCE" if command.changed_since.is_none() => {
                        self.sp()?;
                        command.changed_since = Some(self.number64()?);
                    }
                    "VANISHED" if !command.vanished => command.vanished = true,
                    "CHANGEDSINCE" | "VANISHED" => return bad("FETCH modifier given twice"),
                    _ => return bad("unknown FETCH modifier"),
                }
                if self.eat(b')') {
                    break;
                }
                self.sp()?;
            }
            if command.vanished && (!uid || command.changed_since.is_none()) {
                return bad("VANISHED needs UID FETCH and CHANGEDSINCE");
            }
        }
        Ok(command)
    }

    /// One item (macros expand to several).
    fn fetch_attribute(&mut self, out: &mut Vec<FetchAttribute>) -> PResult<()> {
        use FetchAttribute as A;
        let name = self.word_upper()?;
        let attribute = match name.as_str() {
            "ALL" | "FAST" | "FULL" => {
                out.extend([A::Flags, A::InternalDate, A::Rfc822Size]);
                if name != "FAST" {
                    out.push(A::Envelope);
                }
                if name == "FULL" {
                    out.push(A::Body);
                }
                return Ok(());
            }
            "ENVELOPE" => A::Envelope,
            "FLAGS" => A::Flags,
            "INTERNALDATE" => A::InternalDate,
            "RFC822" => A::Rfc822,
            "RFC822.HEADER" => A::Rfc822Header,
            "RFC822.TEXT" => A::Rfc822Text,
            "RFC822.SIZE" => A::Rfc822Size,
            "BODYSTRUCTURE" => A::BodyStructure,
            "UID" => A::Uid,
            "MODSEQ" => A::ModSeq,
            "BODY" if self.peek() != Some(b'[') => A::Body,
            "BODY" | "BODY.PEEK" => {
                let section = self.section()?;
                A::BodySection {
                    peek: name == "BODY.PEEK",
                    section,
                    partial: self.partial()?,
                }
            }
            "BINARY" | "BINARY.PEEK" => {
                let section = self.section_binary()?;
                A::Binary {
                    peek: name == "BINARY.PEEK",
                    section,
                    partial: self.partial()?,
                }
            }
            "BINARY.SIZE" => A::BinarySize {
                section: self.section_binary()?,
            },
            _ => return bad(format!("unknown FETCH item {}", super::printable(&name))),
        };
        out.push(attribute);
        Ok(())
    }

    /// `"[" [section-spec] "]"`
    fn section(&mut self) -> PResult<Option<Section>> {
        self.expect(b'[', "expected [")?;
        if self.eat(b']') {
            return Ok(None);
        }
        let part = self.section_part()?;
        let text = if part.is_empty() || self.eat(b'.') {
            let name = self.word_upper()?;
            Some(match name.as_str() {
                "HEADER" => SectionText::Header,
                "TEXT" => SectionText::Text,
                "MIME" if !part.is_empty() => SectionText::Mime,
                "HEADER.FIELDS" => SectionText::HeaderFields(self.header_list()?),
                "HEADER.FIELDS.NOT" => SectionText::HeaderFieldsNot(self.header_list()?),
                _ => return bad("invalid section"),
            })
        } else {
            None
        };
        self.expect(b']', "expected ] after section")?;
        Ok(Some(Section { part, text }))
    }

    /// `nz-number *("." nz-number)`, stopping before `.TEXT`-like suffixes; may be empty.
    fn section_part(&mut self) -> PResult<Vec<u32>> {
        let mut part = Vec::new();
        while self.peek().is_some_and(|b| b.is_ascii_digit()) {
            if part.len() >= self.limits.max_depth {
                return bad("section too deep");
            }
            part.push(self.nz_number()?);
            let next_is_digit = self
                .buf
                .get(self.pos + 1)
                .is_some_and(|b| b.is_ascii_digit());
            if self.peek() == Some(b'.') && next_is_digit {
                self.pos += 1;
            } else {
                break;
            }
        }
        Ok(part)
    }

    /// `"[" [section-part] "]"`
    fn section_binary(&mut self) -> PResult<Vec<u32>> {
        self.expect(b'[', "expected [")?;
        let part = self.section_part()?;
        self.expect(b']', "expected ] after binary section")?;
        Ok(part)
    }

    /// `SP "(" header-fld-name *(SP header-fld-name) ")"`
    fn header_list(&mut self) -> PResult<Vec<String>> {
        self.sp()?;
        self.expect(b'(', "expected a header list")?;
        let mut names = Vec::new();
        loop {
            names.push(self.astring_utf8()?);
            if self.eat(b')') {
                return Ok(names);
            }
            self.sp()?;
        }
    }

    /// `["<" number "." nz-number ">"]`
    fn partial(&mut self) -> PResult<Option<(u32, u32)>> {
        if !self.eat(b'<') {
            return Ok(None);
        }
        let origin = self.number()?;
        self.expect(b'.', "expected . in partial")?;
        let count = self.nz_number()?;
        self.expect(b'>', "expected > after partial")?;
        Ok(Some((origin, count)))
    }
}

#[cfg(test)]
mod tests {
    use crate::parser::test_support::*;
    use crate::*;

    #[test]
    fn fetch_items() {
        let CommandBody::Fetch(fetch) = body(
            "a UID FETCH 1:* (UID FLAGS BODY.PEEK[HEADER.FIELDS (From Subject)]<0.1024> BODY[1.2.MIME] BINARY.PEEK[1] BINARY.SIZE[2] BINARY[]<10.5> body[] BODY[TEXT] BODY[3.HEADER.FIELDS.NOT (\"X-Spam\")] BODY[2] BODY[4.1.TEXT] RFC822 RFC822.HEADER RFC822.TEXT RFC822.SIZE INTERNALDATE ENVELOPE BODYSTRUCTURE BODY MODSEQ) (CHANGEDSINCE 12345 VANISHED)\r\n",
        ) else {
            panic!()
        };
        use FetchAttribute as A;
        assert!(fetch.uid && fetch.vanished);
        assert_eq!(fetch.changed_since, Some(12345));
        let section = |part: Vec<u32>, text| Some(Section { part, text });
        assert_eq!(
            fetch.attributes,
            vec![
                A::Uid,
                A::Flags,
                A::BodySection {
                    peek: true,
                    section: section(
                        vec![],
                        Some(SectionText::HeaderFields(vec![
                            "From".into(),
                            "Subject".into()
                        ]))
                    ),
                    partial: Some((0, 1024))
                },
                A::BodySection {
                    peek: false,
                    section: section(vec![1, 2], Some(SectionText::Mime)),
                    partial: None
                },
                A::Binary {
                    peek: true,
                    section: vec![1],
                    partial: None
                },
                A::BinarySize { section: vec![2] },
                A::Binary {
                    peek: false,
                    section: vec![],
                    partial: Some((10, 5))
                },
                A::BodySection {
                    peek: false,
                    section: None,
                    partial: None
                },
                A::BodySection {
                    peek: false,
                    section: section(vec![], Some(SectionText::Text)),
                    partial: None
                },
                A::BodySection {
                    peek: false,
                    section: section(
                        vec![3],
                        Some(SectionText::HeaderFieldsNot(vec!["X-Spam".into()]))
                    ),
                    partial: None
                },
                A::BodySection {
                    peek: false,
                    section: section(vec![2], None),
                    partial: None
                },
                A::BodySection {
                    peek: false,
                    section: section(vec![4, 1], Some(SectionText::Text)),
                    partial: None
                },
                A::Rfc822,
                A::Rfc822Header,
                A::Rfc822Text,
                A::Rfc822Size,
                A::InternalDate,
                A::Envelope,
                A::BodyStructure,
                A::Body,
                A::ModSeq,
            ]
        );
        let CommandBody::Fetch(fetch) = body("a FETCH 2:4 fast\r\n") else {
            panic!()
        };
        assert_eq!(fetch.attributes.len(), 3);
        let CommandBody::Fetch(fetch) = body("a FETCH $ ALL\r\n") else {
            panic!()
        };
        assert_eq!(fetch.attributes.len(), 4);
        assert!(fetch.sequence_set.uses_saved_result());
        for bad in [
            "a FETCH 1 (FOO)\r\n",
            "a FETCH 1 BODY[MIME]\r\n",
            "a FETCH 1 BODY[1.HEADER.FIELDS ()]\r\n",
            "a FETCH 1 BODY[]<1>\r\n",
            "a FETCH 1 (FLAGS\r\n",
            "a FETCH 1 FLAGS (VANISHED)\r\n",
            "a FETCH 1 FLAGS (CHANGEDSINCE 1 VANISHED)\r\n",
            "a UID FETCH 1 FLAGS (CHANGEDSINCE 1 CHANGEDSINCE 2)\r\n",
            "a UID FETCH 1 FLAGS (CHANGEDSINCE 1 VANISHED VANISHED)\r\n",
            "a UID FETCH 1 FLAGS (CHANGEDSINCE)\r\n",
            "a UID FETCH 1 FLAGS (CHANGEDSINCE x)\r\n",
            "a UID FETCH 1 FLAGS ()\r\n",
            "a UID FETCH 1 FLAGS (CHANGEDSINCE 9223372036854775808)\r\n",
        ] {
            assert!(matches!(error(bad), ParseError::Bad { .. }), "{bad}");
        }
    }
}
