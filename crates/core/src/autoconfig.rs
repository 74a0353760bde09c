//! Client autoconfiguration documents: Thunderbird's autoconfig (`config-v1.1.xml`, the
//! format of <https://wiki.mozilla.org/Thunderbird:Autoconfiguration:ConfigFileFormat>) and
//! Outlook's POX autodiscover (`autodiscover.xml`, [MS-OXDSCLI]), both from the listeners'
//! public name and ports (`ClientSetup`). Mail clients fetch them before they have any
//! credentials, so they carry no secret: the login name is the address (`%EMAILADDRESS%` in
//! autoconfig), which every listener accepts.

use crate::Core;
use crate::config::ClientSetup;

impl Core {
    /// Where mail clients are pointed: the public name and the listeners' ports.
    pub fn client_setup(&self) -> &ClientSetup {
        &self.config.client_setup
    }

    /// The database answers and the blob store is reachable (`/ready`, `/health`).
    pub async fn ready(&self) -> crate::Result<()> {
        Ok(self.store.ready().await?)
    }
}

/// The longest e-mail address taken from a request (RFC 5321's path limit).
const MAX_ADDRESS: usize = 254;

fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => {}
            c => out.push(c),
        }
    }
    out
}

/// An address a client sent, if it looks like one: `local@domain`, no spaces or angle
/// brackets, bounded. Anything else is ignored (the documents then name no address).
pub fn clean_address(raw: &str) -> Option<String> {
    let a = raw.trim();
    let (local, domain) = a.rsplit_once('@')?;
    let fine = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| !c.is_whitespace() && !c.is_control() && !"<>\"(),;:[]\\".contains(c))
    };
    let domain_ok = domain.contains('.') || domain.eq_ignore_ascii_case("localhost");
    (a.len() <= MAX_ADDRESS && fine(local) && fine(domain) && domain_ok)
        .then(|| a.to_ascii_lowercase())
}

/// The domain an address is in, or the server's own.
fn domain_of<'a>(setup: &'a ClientSetup, address: Option<&'a str>) -> &'a str {
    address
        .and_then(|a| a.rsplit_once('@').map(|(_, d)| d))
        .unwrap_or(&setup.domain)
}

/// Thunderbird's `config-v1.1.xml`: IMAP (implicit TLS first, then STARTTLS), POP3S, and
/// submission (implicit TLS first, then STARTTLS), password authentication.
pub fn thunderbird(setup: &ClientSetup, address: Option<&str>) -> String {
    let domain = esc(domain_of(setup, address));
    let imap_host = esc(&setup.imap_host);
    let smtp_host = esc(&setup.smtp_host);
    let incoming = |kind: &str, host: &str, port: u16, socket: &str| {
        format!(
            "    <incomingServer type=\"{kind}\">\n      <hostname>{host}</hostname>\n      \
             <port>{port}</port>\n      <socketType>{socket}</socketType>\n      \
             <authentication>password-cleartext</authentication>\n      \
             <username>%EMAILADDRESS%</username>\n    </incomingServer>\n"
        )
    };
    let outgoing = |port: u16, socket: &str| {
        format!(
            "    <outgoingServer type=\"smtp\">\n      <hostname>{smtp_host}</hostname>\n      \
             <port>{port}</port>\n      <socketType>{socket}</socketType>\n      \
             <authentication>password-cleartext</authentication>\n      \
             <username>%EMAILADDRESS%</username>\n    </outgoingServer>\n"
        )
    };
    let mut out = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<clientConfig version=\"1.1\">\n",
    );
    out.push_str(&format!(
        "  <emailProvider id=\"{domain}\">\n    <domain>{domain}</domain>\n    \
         <displayName>{domain}</displayName>\n    <displayShortName>{domain}</displayShortName>\n"
    ));
    out.push_str(&incoming("imap", &imap_host, setup.imap_port, "SSL"));
    out.push_str(&incoming(
        "imap",
        &imap_host,
        setup.imap_starttls_port,
        "STARTTLS",
    ));
    out.push_str(&incoming("pop3", &imap_host, setup.pop3_port, "SSL"));
    out.push_str(&outgoing(setup.smtp_port, "SSL"));
    out.push_str(&outgoing(setup.submission_starttls_port, "STARTTLS"));
    out.push_str("  </emailProvider>\n</clientConfig>\n");
    out
}

/// The `<EMailAddress>` of an Outlook autodiscover request body, if any. The body is a small
/// XML document; a plain search for the element is enough, and anything malformed gives
/// `None`.
pub fn autodiscover_request_address(body: &str) -> Option<String> {
    let start = body.find("<EMailAddress>")? + "<EMailAddress>".len();
    let rest = body.get(start..)?;
    let end = rest.find("</EMailAddress>")?;
    clean_address(rest.get(..end)?)
}

/// Outlook's POX autodiscover answer (the "outlook" response schema): IMAP over implicit
/// TLS and SMTP submission over implicit TLS, login with the address.
pub fn autodiscover(setup: &ClientSetup, address: Option<&str>) -> String {
    let login = address.map(esc).unwrap_or_default();
    let protocol = |kind: &str, host: &str, port: u16| {
        format!(
            "      <Protocol>\n        <Type>{kind}</Type>\n        <Server>{host}</Server>\n        \
             <Port>{port}</Port>\n        <DomainRequired>off</DomainRequired>\n        \
             <LoginName>{login}</LoginName>\n        <SPA>off</SPA>\n        <SSL>on</SSL>\n        \
             <AuthRequired>on</AuthRequired>\n      </Protocol>\n",
            host = esc(host)
        )
    };
    format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n\
<Autodiscover xmlns=\"http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006\">\n  \
<Response xmlns=\"http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a\">\n    \
<Account>\n      <AccountType>email</AccountType>\n      <Action>settings</Action>\n{imap}{smtp}    \
</Account>\n  </Response>\n</Autodiscover>\n",
        imap = protocol("IMAP", &setup.imap_host, setup.imap_port),
        smtp = protocol("SMTP", &setup.smtp_host, setup.smtp_port),
    )
}

/// An Apple configuration profile for `address` without a password (the device asks for
/// it), for operators to link to; WildDuck's ASP profiles carry a generated password instead.
pub fn apple_profile(setup: &ClientSetup, address: &str) -> String {
    let domain = domain_of(setup, Some(address));
    let identifier: String = domain.rsplit('.').collect::<Vec<_>>().join(".");
    crate::mobileconfig::render(&crate::mobileconfig::Profile {
        display_name: address,
        address,
        username: address,
        password: "",
        setup,
        identifier: &identifier,
        account_name: "",
        pop: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn setup() -> ClientSetup {
        ClientSetup {
            imap_host: "mail.example.com".into(),
            imap_port: 993,
            imap_tls: true,
            smtp_host: "mail.example.com".into(),
            smtp_port: 465,
            smtp_tls: true,
            imap_starttls_port: 143,
            pop3_port: 995,
            submission_starttls_port: 587,
            domain: "example.com".into(),
        }
    }

    #[test]
    fn thunderbird_lists_every_port() {
        let xml = thunderbird(&setup(), Some("a@example.org"));
        for needle in [
            "<port>993</port>\n      <socketType>SSL</socketType>",
            "<port>143</port>\n      <socketType>STARTTLS</socketType>",
            "<incomingServer type=\"pop3\">\n      <hostname>mail.example.com</hostname>\n      <port>995</port>",
            "<port>465</port>\n      <socketType>SSL</socketType>",
            "<port>587</port>\n      <socketType>STARTTLS</socketType>",
            "<emailProvider id=\"example.org\">",
        ] {
            assert!(xml.contains(needle), "{needle} in {xml}");
        }
        assert!(thunderbird(&setup(), None).contains("<domain>example.com</domain>"));
    }

    #[test]
    fn addresses_are_checked_and_escaped() {
        assert_eq!(
            clean_address(" A@Example.ORG "),
            Some("a@example.org".into())
        );
        for bad in [
            "",
            "a",
            "@x.org",
            "a@",
            "a b@x.org",
            "<a@x.org>",
            "a@x",
            "a\"@x.org",
        ] {
            assert_eq!(clean_address(bad), None, "{bad}");
        }
        assert_eq!(clean_address(&format!("{}@x.org", "a".repeat(300))), None);
        let xml = autodiscover(&setup(), Some("a&b@x.org"));
        assert!(
            xml.contains("<LoginName>a&amp;b@x.org</LoginName>"),
            "{xml}"
        );
    }

    #[test]
    fn apple_profile_has_no_password() {
        let xml = apple_profile(&setup(), "a@example.org");
        assert!(xml.contains("<string>org.example.mail</string>"), "{xml}");
        assert!(xml.contains("<integer>993</integer>"), "{xml}");
        assert!(!xml.contains("<key>IncomingPassword</key>"), "{xml}");
        assert!(!xml.contains("<key>OutgoingPassword</key>"), "{xml}");
    }

    #[test]
    fn autodiscover_request() {
        let body = "<?xml version=\"1.0\"?><Autodiscover xmlns=\"http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006\"><Request><EMailAddress>Bob@Example.com</EMailAddress><AcceptableResponseSchema>http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a</AcceptableResponseSchema></Request></Autodiscover>";
        assert_eq!(
            autodiscover_request_address(body),
            Some("bob@example.com".into())
        );
        assert_eq!(autodiscover_request_address("<EMailAddress>oops"), None);
        assert_eq!(autodiscover_request_address(""), None);
        let xml = autodiscover(&setup(), Some("bob@example.com"));
        assert!(xml.contains(
            "<Type>IMAP</Type>\n        <Server>mail.example.com</Server>\n        <Port>993</Port>"
        ));
        assert!(xml.contains(
            "<Type>SMTP</Type>\n        <Server>mail.example.com</Server>\n        <Port>465</Port>"
        ));
    }
}
