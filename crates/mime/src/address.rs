//! Address lists: raw RFC 5322 lists turned into IMAP ENVELOPE addresses (encoded words kept,
//! groups marked as RFC 3501 says), and `mail-parser`'s decoded addresses turned into [`Addr`].

use crate::{Addr, EnvAddr};

/// Placeholder mailbox of an address without a local part, as Dovecot writes it.
pub(crate) const MISSING_MAILBOX: &str = "MISSING_MAILBOX";
/// Placeholder host of an address without a domain, as Dovecot writes it. A host of NIL
/// would read as a group start marker.
pub(crate) const MISSING_DOMAIN: &str = "MISSING_DOMAIN";
/// At most this many addresses (group markers included) are kept from one list.
const MAX_ADDRESSES: usize = 1000;

#[derive(Debug, Clone, PartialEq)]
enum Token {
    /// An atom, dot-atom or domain literal, as written.
    Word(String),
    /// A quoted string, quotes removed and quoted pairs resolved.
    Quoted(String),
    /// A comment, parentheses removed.
    Comment(String),
    /// One of `< > @ , ; :`.
    Special(char),
}

/// Parses a raw (unfolded, not decoded) address list header value.
pub(crate) fn envelope_addresses(raw: &str) -> Vec<EnvAddr> {
    let mut parser = ListParser {
        tokens: tokenize(raw),
        pos: 0,
        out: Vec::new(),
    };
    parser.list(false);
    parser.out
}

fn tokenize(raw: &str) -> Vec<Token> {
    let mut tokens = Vec::new();
    let mut chars = raw.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            ' ' | '\t' | '\r' | '\n' => {}
            '"' => {
                let mut text = String::new();
                while let Some(c) = chars.next() {
                    match c {
                        '"' => break,
                        '\\' => text.extend(chars.next()),
                        '\r' | '\n' => {}
                        c => text.push(c),
                    }
                }
                tokens.push(Token::Quoted(text));
            }
            '(' => {
                let mut text = String::new();
                let mut depth = 1usize;
                while let Some(c) = chars.next() {
                    match c {
                        '\\' => text.extend(chars.next()),
                        '(' => {
                            depth += 1;
                            text.push(c);
                        }
                        ')' => {
                            depth -= 1;
                            if depth == 0 {
                                break;
                            }
                            text.push(c);
                        }
                        c => text.push(c),
                    }
                }
                tokens.push(Token::Comment(text.trim().to_string()));
            }
            '<' | '>' | '@' | ',' | ';' | ':' => tokens.push(Token::Special(c)),
            '[' => {
                let mut text = String::from('[');
                for c in chars.by_ref() {
                    text.push(c);
                    if c == ']' {
                        break;
                    }
                }
                tokens.push(Token::Word(text));
            }
            c => {
                let mut text = String::from(c);
                while let Some(&c) = chars.peek() {
                    if matches!(
                        c,
                        ' ' | '\t'
                            | '\r'
                            | '\n'
                            | '"'
                            | '('
                            | '<'
                            | '>'
                            | '@'
                            | ','
                            | ';'
                            | ':'
                            | '['
                    ) {
                        break;
                    }
                    text.push(c);
                    chars.next();
                }
                tokens.push(Token::Word(text));
            }
        }
    }
    tokens
}

struct ListParser {
    tokens: Vec<Token>,
    pos: usize,
    out: Vec<EnvAddr>,
}

impl ListParser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos)
    }

    fn peek_special(&self) -> Option<char> {
        match self.peek() {
            Some(Token::Special(c)) => Some(*c),
            _ => None,
        }
    }

    fn full(&self) -> bool {
        self.out.len() >= MAX_ADDRESSES
    }

    /// A list of addresses and groups; inside a group, stops before the closing `;`.
    fn list(&mut self, in_group: bool) {
        while let Some(token) = self.peek() {
            if self.full() {
                return;
            }
            match token {
                Token::Special(',' | '>') => self.pos += 1,
                Token::Special(';') if in_group => return,
                Token::Special(';') => self.pos += 1,
                _ => self.item(in_group),
            }
        }
    }

    /// One mailbox or group, then whatever junk follows it up to the next separator.
    fn item(&mut self, in_group: bool) {
        let start = self.pos;
        let mut words: Vec<String> = Vec::new();
        let mut comment: Option<String> = None;
        while let Some(token) = self.peek() {
            match token {
                Token::Word(w) | Token::Quoted(w) => words.push(w.clone()),
                Token::Comment(c) => {
                    if comment.is_none() && !c.is_empty() {
                        comment = Some(c.clone());
                    }
                }
                Token::Special(_) => break,
            }
            self.pos += 1;
        }
        let mut name = non_empty(words.join(" "));
        match self.peek_special() {
            Some(':') if !in_group => {
                self.pos += 1;
                self.out.push(EnvAddr {
                    name: None,
                    adl: None,
                    mailbox: Some(name.unwrap_or_default()),
                    host: None,
                });
                self.list(true);
                if self.peek_special() == Some(';') {
                    self.pos += 1;
                }
                self.out.push(EnvAddr::default());
                return;
            }
            Some('<') => {
                self.pos += 1;
                let (adl, mailbox, host) = self.angle_addr();
                let trailing = self.skip_to_separator(in_group);
                self.out.push(EnvAddr {
                    name: name.or(comment).or(trailing),
                    adl,
                    mailbox: Some(mailbox),
                    host: Some(host),
                });
            }
            Some('@') => {
                self.pos += 1;
                // "John Doe john@example.com": the last word is the local part.
                let local = words.pop().unwrap_or_default();
                name = non_empty(words.join(" "));
                let domain = self.domain();
                let trailing = self.skip_to_separator(in_group);
                self.out.push(EnvAddr {
                    name: name.or(comment).or(trailing),
                    adl: None,
                    mailbox: Some(non_empty(local).unwrap_or_else(|| MISSING_MAILBOX.into())),
                    host: Some(domain),
                });
            }
            _ => {
                // A bare word list ("undisclosed", "foo"): a mailbox without a domain.
                if !words.is_empty() {
                    self.out.push(EnvAddr {
                        name: comment,
                        adl: None,
                        mailbox: Some(words.concat()),
                        host: Some(MISSING_DOMAIN.into()),
                    });
                }
                if self.peek_special() == Some(':') {
                    // A group inside a group is not allowed; drop the colon.
                    self.pos += 1;
                }
            }
        }
        if self.pos == start {
            // Never loop without progress.
            self.pos += 1;
        }
    }

    /// After `<`: optional source route, addr-spec, up to and including `>`.
    fn angle_addr(&mut self) -> (Option<String>, String, String) {
        let mut inner: Vec<Token> = Vec::new();
        while let Some(token) = self.peek().cloned() {
            self.pos += 1;
            if token == Token::Special('>') {
                break;
            }
            inner.push(token);
        }
        let mut rest: &[Token] = &inner;
        let mut adl = None;
        if rest.first() == Some(&Token::Special('@'))
            && let Some(colon) = rest.iter().position(|t| *t == Token::Special(':'))
        {
            adl = non_empty(tokens_text(rest.get(..colon).unwrap_or_default()));
            rest = rest.get(colon + 1..).unwrap_or_default();
        }
        let (local, domain) = match rest.iter().rposition(|t| *t == Token::Special('@')) {
            Some(at) => (
                tokens_text(rest.get(..at).unwrap_or_default()),
                tokens_text(rest.get(at + 1..).unwrap_or_default()),
            ),
            None => (tokens_text(rest), String::new()),
        };
        (
            adl,
            non_empty(local).unwrap_or_else(|| MISSING_MAILBOX.into()),
            non_empty(domain).unwrap_or_else(|| MISSING_DOMAIN.into()),
        )
    }

    /// After `@` of a bare addr-spec: the domain words.
    fn domain(&mut self) -> String {
        let mut domain = String::new();
        while let Some(token) = self.peek() {
            match token {
                Token::Word(w) | Token::Quoted(w) => domain.push_str(w),
                Token::Comment(_) | Token::Special(_) => break,
            }
            self.pos += 1;
        }
        non_empty(domain).unwrap_or_else(|| MISSING_DOMAIN.into())
    }

    /// Skips to the next `,` (or `;` in a group); returns the first comment seen, which
    /// serves as the display name of `addr (Name)`.
    fn skip_to_separator(&mut self, in_group: bool) -> Option<String> {
        let mut comment = None;
        while let Some(token) = self.peek() {
            match token {
                Token::Special(',') => break,
                Token::Special(';') if in_group => break,
                Token::Comment(c) if comment.is_none() && !c.is_empty() => {
                    comment = Some(c.clone());
                }
                _ => {}
            }
            self.pos += 1;
        }
        comment
    }
}

/// Tokens written back as compact text (route and addr-spec pieces).
fn tokens_text(tokens: &[Token]) -> String {
    let mut text = String::new();
    for token in tokens {
        match token {
            Token::Word(w) | Token::Quoted(w) => text.push_str(w),
            Token::Special(c) => text.push(*c),
            Token::Comment(_) => {}
        }
    }
    text
}

fn non_empty(s: String) -> Option<String> {
    if s.is_empty() { None } else { Some(s) }
}

/// Every mailbox of a parsed address header, groups flattened, decoded.
pub(crate) fn decoded_addresses(value: Option<&mail_parser::HeaderValue<'_>>) -> Vec<Addr> {
    let Some(address) = value.and_then(|v| v.as_address()) else {
        return Vec::new();
    };
    address
        .iter()
        .take(MAX_ADDRESSES)
        .map(|a| Addr {
            name: a.name().unwrap_or_default().trim().to_string(),
            address: a.address().unwrap_or_default().trim().to_string(),
        })
        .filter(|a| !a.name.is_empty() || !a.address.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(name: Option<&str>, mailbox: &str, host: &str) -> EnvAddr {
        EnvAddr {
            name: name.map(str::to_string),
            adl: None,
            mailbox: Some(mailbox.into()),
            host: Some(host.into()),
        }
    }

    #[test]
    fn plain_and_named_addresses() {
        assert_eq!(
            envelope_addresses(
                r#"a@example.com, "Doe, John" <john@example.com>, =?utf-8?q?J=C3=BCrgen?= <j@x.de>"#
            ),
            vec![
                addr(None, "a", "example.com"),
                addr(Some("Doe, John"), "john", "example.com"),
                addr(Some("=?utf-8?q?J=C3=BCrgen?="), "j", "x.de"),
            ]
        );
    }

    #[test]
    fn comment_as_name_and_route() {
        assert_eq!(
            envelope_addresses("joe@example.com (Joe Bloggs)"),
            vec![addr(Some("Joe Bloggs"), "joe", "example.com")]
        );
        let routed = envelope_addresses("Joe <@relay1,@relay2:joe@example.com>");
        assert_eq!(routed.len(), 1);
        assert_eq!(routed[0].adl.as_deref(), Some("@relay1,@relay2"));
        assert_eq!(routed[0].mailbox.as_deref(), Some("joe"));
    }

    #[test]
    fn groups_are_marked() {
        let list = envelope_addresses("Friends: a@x.org, B <b@y.org>;, c@z.org");
        assert_eq!(
            list,
            vec![
                EnvAddr {
                    mailbox: Some("Friends".into()),
                    ..Default::default()
                },
                addr(None, "a", "x.org"),
                addr(Some("B"), "b", "y.org"),
                EnvAddr::default(),
                addr(None, "c", "z.org"),
            ]
        );
        let empty = envelope_addresses("undisclosed-recipients:;");
        assert_eq!(
            empty,
            vec![
                EnvAddr {
                    mailbox: Some("undisclosed-recipients".into()),
                    ..Default::default()
                },
                EnvAddr::default()
            ]
        );
    }

    #[test]
    fn broken_lists_do_not_panic() {
        for raw in [
            "",
            ",,,",
            "<",
            ">",
            "\"unterminated",
            "(unterminated",
            "a@",
            "@",
            "<@>",
            "x:y:z;;",
            "Foo Bar",
            "<>",
            "a@b junk, c@d",
            "\\",
        ] {
            let list = envelope_addresses(raw);
            for a in &list {
                // A mailbox always has a host, so it never reads as a group marker.
                if a.mailbox.is_some() && a.host.is_none() {
                    assert!(a.name.is_none());
                }
            }
        }
        assert_eq!(
            envelope_addresses("foo"),
            vec![addr(None, "foo", MISSING_DOMAIN)]
        );
    }
}
