//! The spam verdict of the MTA in front of us, read from the headers it added: SpamAssassin's
//! `X-Spam-Status: Yes, ...` and `X-Spam-Flag: YES`, Rspamd's `X-Spam: yes`,
//! `X-Rspamd-Spam: yes` (WildDuck's default spam header) and `X-Rspamd-Action` with an
//! action other than `no action`/`greylist`. Only a "yes" moves a message: a sender can add
//! these headers to its own message, which at worst sends it to Junk.

/// Whether the header index (lower-case name, decoded value) says the message is spam.
pub fn marked_by_mta(headers: &[(String, String)]) -> bool {
    headers.iter().any(|(name, value)| {
        let v = value.trim();
        let first_word = v
            .split(|c: char| c == ',' || c == ';' || c.is_whitespace())
            .next()
            .unwrap_or("");
        match name.as_str() {
            "x-spam-status" | "x-spam-flag" | "x-spam" | "x-rspamd-spam" => {
                first_word.eq_ignore_ascii_case("yes") || first_word.eq_ignore_ascii_case("true")
            }
            "x-rspamd-action" => {
                let action = v.to_ascii_lowercase();
                matches!(
                    action.as_str(),
                    "reject" | "add header" | "add_header" | "rewrite subject" | "rewrite_subject"
                )
            }
            _ => false,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::marked_by_mta;

    fn h(name: &str, value: &str) -> Vec<(String, String)> {
        vec![("from".into(), "a@b.c".into()), (name.into(), value.into())]
    }

    #[test]
    fn spam_verdicts() {
        assert!(marked_by_mta(&h(
            "x-spam-status",
            "Yes, score=7.1 required=5.0"
        )));
        assert!(marked_by_mta(&h("x-spam-flag", "YES")));
        assert!(marked_by_mta(&h("x-spam", "yes")));
        assert!(marked_by_mta(&h("x-rspamd-spam", "Yes")));
        assert!(marked_by_mta(&h("x-rspamd-action", "add header")));
        assert!(marked_by_mta(&h("x-rspamd-action", "reject")));
    }

    #[test]
    fn ham_verdicts() {
        assert!(!marked_by_mta(&h(
            "x-spam-status",
            "No, score=0.1 required=5.0"
        )));
        assert!(!marked_by_mta(&h("x-spam-flag", "NO")));
        assert!(!marked_by_mta(&h("x-rspamd-action", "no action")));
        assert!(!marked_by_mta(&h("x-rspamd-action", "greylist")));
        assert!(!marked_by_mta(&h("subject", "X-Spam-Status: Yes")));
        assert!(!marked_by_mta(&h("x-spam-status", "yesterday")));
    }
}
