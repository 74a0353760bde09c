//! Readable content of a message: the plain text and HTML bodies, the intro snippet and the
//! text for the full-text index, each bounded.

use std::collections::HashSet;

use mail_parser::decoders::html::html_to_text;

use crate::bodies::Bodies;
use crate::decode::part_text;
use crate::{Addr, Part};

/// Bound of [`crate::ParsedMessage::text`] and of each HTML body, in bytes.
pub(crate) const MAX_TEXT: usize = 1024 * 1024;
/// Bound of all HTML bodies together, in bytes; later HTML parts are left out.
pub(crate) const MAX_HTML_TOTAL: usize = 4 * 1024 * 1024;
/// Bound of [`crate::ParsedMessage::search_text`], in bytes.
pub(crate) const MAX_SEARCH_TEXT: usize = 256 * 1024;
/// Characters of text in the intro.
const INTRO_CHARS: usize = 128;
/// Only this much of an encoded body is decoded for its text: enough for [`MAX_TEXT`] in any
/// charset and transfer encoding, and a 100 MB text part is not decoded whole.
const MAX_DECODED_INPUT: usize = 4 * MAX_TEXT;

/// Cuts `s` to at most `max` bytes, at a char boundary.
pub(crate) fn truncate(s: &mut String, max: usize) {
    if s.len() > max {
        let mut end = max;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
    }
}

/// The decoded text of a text part, from at most [`MAX_DECODED_INPUT`] encoded bytes.
fn decoded(raw: &[u8], part: &Part) -> String {
    let body = part.body(raw);
    let body = if body.len() > MAX_DECODED_INPUT {
        let head = body.get(..MAX_DECODED_INPUT).unwrap_or(body);
        match head.iter().rposition(|&b| b == b'\n') {
            Some(nl) => head.get(..=nl).unwrap_or(head),
            None => head,
        }
    } else {
        body
    };
    let mut text = part_text(body, part);
    truncate(&mut text, MAX_TEXT);
    text
}

/// The plain text body: text parts joined, HTML parts stripped of tags, LF line endings, at
/// most [`MAX_TEXT`] bytes.
pub(crate) fn body_text(raw: &[u8], bodies: &Bodies<'_>) -> String {
    let mut text = String::new();
    for &index in &bodies.text {
        if text.len() >= MAX_TEXT {
            break;
        }
        let Some(leaf) = bodies.leaves.get(index) else {
            continue;
        };
        if leaf.part.content_type != "text" {
            continue;
        }
        let piece = match leaf.part.subtype.as_str() {
            "plain" => decoded(raw, leaf.part),
            "html" => html_to_text(&decoded(raw, leaf.part)),
            _ => continue,
        };
        if !text.is_empty() && !piece.is_empty() && !text.ends_with('\n') {
            text.push('\n');
        }
        text.push_str(piece.trim_end_matches(['\r', '\n']));
    }
    let mut text = text.replace("\r\n", "\n");
    truncate(&mut text, MAX_TEXT);
    text
}

/// The HTML bodies: HTML parts, and text parts escaped into paragraphs; each at most
/// [`MAX_TEXT`] bytes, [`MAX_HTML_TOTAL`] together.
pub(crate) fn body_html(raw: &[u8], bodies: &Bodies<'_>) -> Vec<String> {
    let mut html = Vec::new();
    let mut html_total = 0usize;
    for &index in &bodies.html {
        let Some(leaf) = bodies.leaves.get(index) else {
            continue;
        };
        if leaf.part.content_type != "text" {
            continue;
        }
        let mut piece = match leaf.part.subtype.as_str() {
            "html" => decoded(raw, leaf.part),
            "plain" => text_to_html(&decoded(raw, leaf.part)),
            _ => continue,
        };
        truncate(&mut piece, MAX_TEXT);
        if html_total + piece.len() > MAX_HTML_TOTAL {
            break;
        }
        html_total += piece.len();
        html.push(piece);
    }
    html
}

fn escape_html(text: &str, out: &mut String) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            c => out.push(c),
        }
    }
}

/// Plain text as HTML: escaped, one `<p>` per paragraph (blank-line separated), line breaks
/// inside a paragraph as `<br/>`.
pub(crate) fn text_to_html(text: &str) -> String {
    let text = text.replace("\r\n", "\n");
    let mut html = String::with_capacity(text.len() + text.len() / 8 + 16);
    let mut paragraph: Vec<&str> = Vec::new();
    let flush = |paragraph: &mut Vec<&str>, html: &mut String| {
        if paragraph.is_empty() {
            return;
        }
        html.push_str("<p>");
        for (i, line) in paragraph.iter().enumerate() {
            if i > 0 {
                html.push_str("<br/>");
            }
            escape_html(line, html);
        }
        html.push_str("</p>");
        paragraph.clear();
    };
    for line in text.split('\n') {
        if line.trim().is_empty() {
            flush(&mut paragraph, &mut html);
        } else {
            paragraph.push(line);
        }
    }
    flush(&mut paragraph, &mut html);
    html
}

/// Runs of whitespace as one space, trimmed; stops after `max_chars` characters (returns
/// whether there was more).
fn collapse_whitespace(text: &str, max_chars: usize) -> (String, bool) {
    let mut out = String::new();
    let mut chars = 0usize;
    for word in text.split_whitespace() {
        if chars >= max_chars {
            return (out, true);
        }
        if !out.is_empty() {
            out.push(' ');
            chars += 1;
        }
        for c in word.chars() {
            if chars >= max_chars {
                return (out, true);
            }
            out.push(c);
            chars += 1;
        }
    }
    (out, false)
}

/// The first [`INTRO_CHARS`] characters of the text, whitespace collapsed, "…" when cut.
pub(crate) fn intro(text: &str) -> String {
    let (mut intro, cut) = collapse_whitespace(text, INTRO_CHARS);
    if cut {
        let kept = intro.trim_end().len();
        intro.truncate(kept);
        intro.push('…');
    }
    intro
}

/// Subject, names and addresses of the correspondents, and the body text, bounded.
///
/// The body text is reduced to its distinct words (runs between ASCII whitespace), each
/// once, in order of first occurrence, separated by spaces. Searches only ask whether a
/// message holds every word of a query, and a query word that the tokenizer splits (an
/// address, `don't`) is matched as a phrase inside one word, which is kept whole: repeats add
/// nothing but indexing work (tokenizing is most of the cost of storing a message on SQLite).
pub(crate) fn search_text(subject: &str, addresses: &[&Addr], text: &str) -> String {
    let mut out = String::with_capacity((subject.len() + text.len()).min(MAX_SEARCH_TEXT) + 64);
    out.push_str(subject);
    out.push('\n');
    for addr in addresses {
        if out.len() >= MAX_SEARCH_TEXT {
            break;
        }
        for piece in [&addr.name, &addr.address] {
            if !piece.is_empty() {
                out.push_str(piece);
                out.push(' ');
            }
        }
    }
    out.push('\n');
    // Split at ASCII whitespace only: a word holding other (Unicode) white space is kept
    // whole, which the tokenizer splits as it would have anyway.
    let mut seen: HashSet<&str> = HashSet::new();
    for word in text
        .split(|c: char| c.is_ascii_whitespace())
        .filter(|w| !w.is_empty())
    {
        if out.len() >= MAX_SEARCH_TEXT {
            break;
        }
        if seen.insert(word) {
            out.push_str(word);
            out.push(' ');
        }
    }
    truncate(&mut out, MAX_SEARCH_TEXT);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncate_respects_char_boundaries() {
        let mut s = "aé".to_string();
        truncate(&mut s, 2);
        assert_eq!(s, "a");
        let mut s = "abc".to_string();
        truncate(&mut s, 10);
        assert_eq!(s, "abc");
    }

    #[test]
    fn text_becomes_paragraphs() {
        assert_eq!(
            text_to_html("Hi <you> & co\r\nline 2\r\n\r\n\r\nNext"),
            "<p>Hi &lt;you&gt; &amp; co<br/>line 2</p><p>Next</p>"
        );
        assert_eq!(text_to_html(""), "");
    }

    #[test]
    fn intro_is_collapsed_and_cut() {
        assert_eq!(intro("  Hello\r\n\r\n  world\t!  "), "Hello world !");
        let long = "word ".repeat(100);
        let cut = intro(&long);
        assert!(cut.ends_with('…'));
        assert!(cut.chars().count() <= INTRO_CHARS + 1);
        assert!(!cut.contains("  "));
    }

    #[test]
    fn search_text_is_bounded() {
        let addr = Addr {
            name: "Ann".into(),
            address: "ann@example.com".into(),
        };
        let text = "é".repeat(MAX_SEARCH_TEXT);
        let out = search_text("Hello", &[&addr], &text);
        assert!(out.len() <= MAX_SEARCH_TEXT);
        assert!(out.starts_with("Hello\nAnn ann@example.com \n"));
    }

    #[test]
    fn search_text_keeps_each_word_once() {
        let out = search_text(
            "Re: Budget",
            &[],
            "Budget review,\r\nBudget review, ann@example.com\n\tdon't review ann@example.com\u{a0}x",
        );
        assert_eq!(
            out,
            "Re: Budget\n\nBudget review, ann@example.com don't review ann@example.com\u{a0}x "
        );
    }
}
