//! Recipient addresses as delivery looks them up, following WildDuck's normalisation: the
//! local part in Unicode lower case, the domain lower-cased and in its Unicode form (an
//! IDNA `xn--` label and its Unicode spelling are one domain), and `user+tag@domain`
//! delivered to `user@domain` when no address `user+tag@domain` exists. A domain alias
//! (WildDuck's `/domainaliases`) adds the spellings of its target domain, tried after the
//! address's own domain ([`crate::Core::normal_address`] looks the alias up).

/// Longest recipient address considered (RFC 5321 path limit).
pub const MAX_ADDRESS: usize = 256;

/// A recipient address split and normalised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NormalAddress {
    /// Local part, lower case.
    pub local: String,
    /// Domain spellings to try: Unicode first, then ASCII (punycode) when it differs.
    pub domains: Vec<String>,
    /// Spellings of the domain the address's domain is an alias of (none when it is not).
    pub alias_of: Vec<String>,
}

/// A domain's lookup spellings: lower-case Unicode first, then as given, then ASCII.
pub(crate) fn domain_spellings(domain: &str) -> Vec<String> {
    let domain = domain.trim().trim_end_matches('.').to_lowercase();
    let (unicode, ok) = idna::domain_to_unicode(&domain);
    let mut domains = Vec::with_capacity(2);
    if ok.is_ok() && !unicode.is_empty() {
        domains.push(unicode.to_lowercase());
    }
    if !domains.contains(&domain) {
        domains.push(domain.clone());
    }
    if let Ok(ascii) = idna::domain_to_ascii(&domain)
        && !domains.contains(&ascii)
    {
        domains.push(ascii);
    }
    domains
}

impl NormalAddress {
    /// Splits and normalises `address`; `None` when it is not `local@domain`.
    pub fn parse(address: &str) -> Option<NormalAddress> {
        let a = address.trim();
        if a.is_empty() || a.len() > MAX_ADDRESS || a.chars().any(char::is_control) {
            return None;
        }
        let (local, domain) = a.rsplit_once('@')?;
        // A quoted local part keeps its content (`"john doe"@x` is `john doe@x`).
        let local = local
            .strip_prefix('"')
            .and_then(|l| l.strip_suffix('"'))
            .unwrap_or(local);
        if local.is_empty() || domain.is_empty() || domain.contains('@') {
            return None;
        }
        Some(NormalAddress {
            local: local.to_lowercase(),
            domains: domain_spellings(domain),
            alias_of: Vec::new(),
        })
    }

    /// Adds the domain this address's domain is an alias of.
    pub fn with_alias_of(mut self, target: &str) -> NormalAddress {
        self.alias_of = domain_spellings(target)
            .into_iter()
            .filter(|d| !self.domains.contains(d))
            .collect();
        self
    }

    /// The address in the alias target's domain (its first spelling), when there is one.
    pub fn in_alias_target(&self) -> Option<String> {
        self.alias_of.first().map(|d| format!("{}@{d}", self.local))
    }

    /// The normalised addresses to look up, in order of preference: the address itself in
    /// each domain spelling, then in the alias target's, then the same without its `+tag`.
    pub fn candidates(&self) -> Vec<String> {
        let domains: Vec<&String> = self.domains.iter().chain(&self.alias_of).collect();
        let mut out: Vec<String> = domains
            .iter()
            .map(|d| format!("{}@{d}", self.local))
            .collect();
        if let Some((base, _tag)) = self.local.split_once('+')
            && !base.is_empty()
        {
            out.extend(domains.iter().map(|d| format!("{base}@{d}")));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lower_cases_local_part_and_domain() {
        let a = NormalAddress::parse("John.Doe@Example.COM").unwrap();
        assert_eq!(a.candidates(), vec!["john.doe@example.com"]);
    }

    #[test]
    fn plus_tag_falls_back_to_the_base_address() {
        let a = NormalAddress::parse("bob+news@example.com").unwrap();
        assert_eq!(
            a.candidates(),
            vec!["bob+news@example.com", "bob@example.com"]
        );
        // "+" alone at the start is no tag
        let b = NormalAddress::parse("+x@example.com").unwrap();
        assert_eq!(b.candidates(), vec!["+x@example.com"]);
    }

    #[test]
    fn idn_domains_are_tried_in_both_spellings() {
        let a = NormalAddress::parse("Jürgen@BÜCHER.example").unwrap();
        assert_eq!(
            a.candidates(),
            vec!["jürgen@bücher.example", "jürgen@xn--bcher-kva.example"]
        );
        let b = NormalAddress::parse("info@xn--bcher-kva.example").unwrap();
        assert_eq!(
            b.candidates(),
            vec!["info@bücher.example", "info@xn--bcher-kva.example"]
        );
    }

    #[test]
    fn an_alias_domain_adds_its_target_after_its_own_spellings() {
        let a = NormalAddress::parse("Bob+x@Alias.example")
            .unwrap()
            .with_alias_of("Main.example");
        assert_eq!(
            a.candidates(),
            vec![
                "bob+x@alias.example",
                "bob+x@main.example",
                "bob@alias.example",
                "bob@main.example"
            ]
        );
        assert_eq!(a.in_alias_target().as_deref(), Some("bob+x@main.example"));
        let idn = NormalAddress::parse("a@alias.example")
            .unwrap()
            .with_alias_of("bücher.example");
        assert_eq!(
            idn.alias_of,
            vec!["bücher.example", "xn--bcher-kva.example"]
        );
        assert_eq!(
            NormalAddress::parse("a@x.example")
                .unwrap()
                .in_alias_target(),
            None
        );
    }

    #[test]
    fn quoted_local_parts_and_bad_input() {
        let a = NormalAddress::parse("\"A B\"@example.com").unwrap();
        assert_eq!(a.candidates(), vec!["a b@example.com"]);
        assert_eq!(NormalAddress::parse("nodomain"), None);
        assert_eq!(NormalAddress::parse("@example.com"), None);
        assert_eq!(NormalAddress::parse("a@"), None);
        assert_eq!(NormalAddress::parse("a\r\n@x.com"), None);
        assert_eq!(
            NormalAddress::parse(&format!("{}@x.com", "a".repeat(300))),
            None
        );
    }
}
