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

/// The spam score the MTA wrote: SpamAssassin's `X-Spam-Score: 7.1` or the `score=` of
/// `X-Spam-Status`, Rspamd's `X-Rspamd-Score: 7.1` or the `[7.10 / 15.00]` of
/// `X-Spamd-Result`. The first one found, in that order of headers.
pub fn mta_score(headers: &[(String, String)]) -> Option<f64> {
    let number = |s: &str| -> Option<f64> {
        let n: f64 = s.trim().parse().ok()?;
        n.is_finite().then_some(n)
    };
    headers
        .iter()
        .find_map(|(name, value)| match name.as_str() {
            "x-spam-score" | "x-rspamd-score" => number(value),
            "x-spam-status" => value
                .split(|c: char| c == ',' || c.is_whitespace())
                .find_map(|w| w.strip_prefix("score="))
                .and_then(number),
            "x-spamd-result" => {
                let inner = value.split_once('[')?.1.split_once('/')?.0;
                number(inner)
            }
            _ => None,
        })
}

/// A mail user's spam protection (`mail.spamprotect.*`) as delivery applies it.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SpamProtect {
    /// A score at or over this is spam: it goes to `route_to`.
    pub tag2level: f64,
    /// `reject`: a score at or over `kill_score` is refused; `route`: spam is only routed.
    pub killevel: String,
    /// Where `reject` starts; `None`: at `tag2level` (all spam is refused).
    #[serde(default)]
    pub kill_score: Option<f64>,
    /// The mailbox spam goes to (a path; Junk when empty or not there).
    pub route_to: String,
    /// Settings of the MTA in front of us, kept for it: no effect here.
    pub greylist: bool,
    pub smtp_plausibility: bool,
    pub rbl: bool,
    pub bypass_banned_checks: bool,
}

impl Default for SpamProtect {
    fn default() -> Self {
        SpamProtect {
            tag2level: 5.0,
            killevel: "route".into(),
            kill_score: None,
            route_to: "Junk".into(),
            greylist: true,
            smtp_plausibility: true,
            rbl: true,
            bypass_banned_checks: false,
        }
    }
}

/// What spam protection does with one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SpamAction {
    /// Nothing: the other rules decide.
    Pass,
    /// Store it in this mailbox (a path).
    Route(String),
    /// Refuse it.
    Reject,
}

impl SpamProtect {
    /// The action for a message with the MTA's `score` (none: nothing to act on).
    pub fn action(&self, score: Option<f64>) -> SpamAction {
        let Some(score) = score else {
            return SpamAction::Pass;
        };
        let kill = self.kill_score.unwrap_or(self.tag2level);
        if self.killevel == "reject" && score >= kill {
            SpamAction::Reject
        } else if score >= self.tag2level {
            SpamAction::Route(self.route_to.clone())
        } else {
            SpamAction::Pass
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn scores() {
        assert_eq!(mta_score(&h("x-spam-score", " 7.1")), Some(7.1));
        assert_eq!(mta_score(&h("x-rspamd-score", "-0.5")), Some(-0.5));
        assert_eq!(
            mta_score(&h("x-spam-status", "Yes, score=12.3 required=5.0 tests=X")),
            Some(12.3)
        );
        assert_eq!(
            mta_score(&h(
                "x-spamd-result",
                "default: True [9.40 / 15.00]; R_SPF_FAIL(1.00)"
            )),
            Some(9.4)
        );
        assert_eq!(mta_score(&h("x-spam-score", "lots")), None);
        assert_eq!(mta_score(&h("x-spam-score", "NaN")), None);
        assert_eq!(mta_score(&h("x-spam-status", "No")), None);
        assert_eq!(mta_score(&h("subject", "score=9")), None);
    }

    #[test]
    fn spam_protect_actions() {
        let route = SpamProtect::default();
        assert_eq!(route.action(None), SpamAction::Pass);
        assert_eq!(route.action(Some(4.9)), SpamAction::Pass);
        assert_eq!(route.action(Some(5.0)), SpamAction::Route("Junk".into()));
        assert_eq!(route.action(Some(99.0)), SpamAction::Route("Junk".into()));
        let reject = SpamProtect {
            killevel: "reject".into(),
            kill_score: Some(10.0),
            route_to: "Spam/Suspect".into(),
            ..SpamProtect::default()
        };
        assert_eq!(
            reject.action(Some(7.0)),
            SpamAction::Route("Spam/Suspect".into())
        );
        assert_eq!(reject.action(Some(10.0)), SpamAction::Reject);
        let all = SpamProtect {
            killevel: "reject".into(),
            ..SpamProtect::default()
        };
        assert_eq!(all.action(Some(5.5)), SpamAction::Reject);
        assert_eq!(all.action(Some(1.0)), SpamAction::Pass);
    }
}
