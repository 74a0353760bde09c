//! Which leaf parts are the message's text and HTML bodies and which are attachments, by the
//! algorithm of RFC 8621 section 4.1.4 (JMAP `textBody`/`htmlBody`/`attachments`), with the
//! IMAP section path of every leaf.
//!
//! Enclosed messages (message/rfc822) are leaves here: their content belongs to them, not to
//! the bodies of the message that carries them.

use crate::Part;

/// A leaf part with its IMAP section path ("1", "2.3").
pub(crate) struct Leaf<'p> {
    pub part: &'p Part,
    pub path: String,
    /// The part would be shown inline (RFC 8621 `isInline`).
    pub inline: bool,
}

/// The leaves of a message in document order and how they are used.
pub(crate) struct Bodies<'p> {
    pub leaves: Vec<Leaf<'p>>,
    /// Indices into `leaves`: parts making up the plain-text view.
    pub text: Vec<usize>,
    /// Indices into `leaves`: parts making up the HTML view.
    pub html: Vec<usize>,
}

impl<'p> Bodies<'p> {
    /// Classifies the leaves of the message whose root part is `root`.
    pub(crate) fn of(root: &'p Part) -> Self {
        let mut text = Vec::new();
        let mut html = Vec::new();
        let mut walk = Walk { leaves: Vec::new() };
        if root.is_multipart() {
            walk.structure(
                &root.parts,
                "",
                &root.subtype,
                root.subtype == "alternative",
                Some(&mut html),
                Some(&mut text),
            );
        } else {
            walk.structure(
                std::slice::from_ref(root),
                "",
                "mixed",
                false,
                Some(&mut html),
                Some(&mut text),
            );
        }
        Bodies {
            leaves: walk.leaves,
            text,
            html,
        }
    }

    /// Which leaves are text shown as (part of) the text or HTML body; every other leaf is
    /// an attachment.
    pub(crate) fn body_text_flags(&self) -> Vec<bool> {
        let mut flags = vec![false; self.leaves.len()];
        for &index in self.text.iter().chain(&self.html) {
            let is_text = self.leaves.get(index).is_some_and(|leaf| {
                leaf.part.content_type == "text"
                    && matches!(leaf.part.subtype.as_str(), "plain" | "html")
            });
            if let Some(flag) = flags.get_mut(index) {
                *flag = is_text;
            }
        }
        flags
    }
}

struct Walk<'p> {
    leaves: Vec<Leaf<'p>>,
}

fn is_media(part: &Part) -> bool {
    matches!(part.content_type.as_str(), "image" | "audio" | "video")
}

/// The file name of a part: Content-Disposition `filename`, else Content-Type `name`.
pub(crate) fn filename(part: &Part) -> Option<&str> {
    let from_disposition = part.disposition.as_ref().and_then(|(_, params)| {
        params
            .iter()
            .find(|(name, _)| name == "filename")
            .map(|(_, value)| value.as_str())
    });
    from_disposition
        .or_else(|| {
            part.params
                .iter()
                .find(|(name, _)| name == "name")
                .map(|(_, value)| value.as_str())
        })
        .map(str::trim)
        .filter(|name| !name.is_empty())
}

impl<'p> Walk<'p> {
    fn leaf(&mut self, part: &'p Part, path: String, inline: bool) -> usize {
        self.leaves.push(Leaf { part, path, inline });
        self.leaves.len() - 1
    }

    /// RFC 8621 `parseStructure`; `None` lists are the JS `null` ones. Its `attachments`
    /// list is not kept: every leaf that is not body text is an attachment to us.
    fn structure(
        &mut self,
        parts: &'p [Part],
        parent_path: &str,
        multipart_subtype: &str,
        in_alternative: bool,
        mut html: Option<&mut Vec<usize>>,
        mut text: Option<&mut Vec<usize>>,
    ) {
        let text_len = text.as_ref().map(|t| t.len());
        let html_len = html.as_ref().map(|h| h.len());
        for (i, part) in parts.iter().enumerate() {
            let path = if parent_path.is_empty() {
                (i + 1).to_string()
            } else {
                format!("{parent_path}.{}", i + 1)
            };
            let is_plain = part.content_type == "text" && part.subtype == "plain";
            let is_html = part.content_type == "text" && part.subtype == "html";
            let is_attachment_disposition = part
                .disposition
                .as_ref()
                .is_some_and(|(kind, _)| kind == "attachment");
            let is_inline = !is_attachment_disposition
                && (is_plain || is_html || is_media(part))
                && (i == 0
                    || (multipart_subtype != "related"
                        && (is_media(part) || filename(part).is_none())));

            if part.is_multipart() {
                self.structure(
                    &part.parts,
                    &path,
                    &part.subtype,
                    in_alternative || part.subtype == "alternative",
                    html.as_deref_mut(),
                    text.as_deref_mut(),
                );
            } else if is_inline {
                let leaf = self.leaf(part, path, true);
                if multipart_subtype == "alternative" {
                    let list = if is_plain {
                        text.as_deref_mut()
                    } else if is_html {
                        html.as_deref_mut()
                    } else {
                        None
                    };
                    if let Some(list) = list {
                        list.push(leaf);
                    }
                    continue;
                } else if in_alternative {
                    if is_plain {
                        html = None;
                    }
                    if is_html {
                        text = None;
                    }
                }
                if let Some(text) = text.as_deref_mut() {
                    text.push(leaf);
                }
                if let Some(html) = html.as_deref_mut() {
                    html.push(leaf);
                }
            } else {
                self.leaf(part, path, false);
            }
        }

        if multipart_subtype == "alternative"
            && let (Some(text), Some(html)) = (text, html)
        {
            let html_added = html.get(html_len.unwrap_or(0)..).unwrap_or_default();
            let text_added = text.get(text_len.unwrap_or(0)..).unwrap_or_default();
            if text_added.is_empty() && !html_added.is_empty() {
                // Found HTML only: it is the text body too.
                let added = html_added.to_vec();
                text.extend(added);
            } else if html_added.is_empty() && !text_added.is_empty() {
                // Found plain text only: it is the HTML body too.
                let added = text_added.to_vec();
                html.extend(added);
            }
        }
    }
}
