//! Apple configuration profiles (`.mobileconfig`, an XML property list) that set up the
//! account's IMAP and SMTP in Apple Mail with an application specific password, as
//! WildDuck's `generateMobileconfig` returns them (unsigned).

use crate::config::ClientSetup;

/// What goes into one profile.
pub struct Profile<'a> {
    /// Shown as the account's and the profile's name.
    pub display_name: &'a str,
    pub address: &'a str,
    pub username: &'a str,
    pub password: &'a str,
    pub setup: &'a ClientSetup,
    /// Reverse-DNS prefix of the payload identifiers.
    pub identifier: &'a str,
    /// The account's name (the user's name); the display name when empty.
    pub account_name: &'a str,
    /// A POP3 account (POP3S) instead of IMAP.
    pub pop: bool,
}

fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Characters XML 1.0 cannot carry at all.
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => {}
            c => out.push(c),
        }
    }
    out
}

fn uuid() -> String {
    let mut b = crate::random::bytes::<16>();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02X}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

fn key(out: &mut String, k: &str, v: &str) {
    out.push_str(&format!(
        "\t\t\t<key>{k}</key>\n\t\t\t<string>{}</string>\n",
        esc(v)
    ));
}

fn int(out: &mut String, k: &str, v: u16) {
    out.push_str(&format!(
        "\t\t\t<key>{k}</key>\n\t\t\t<integer>{v}</integer>\n"
    ));
}

fn boolean(out: &mut String, k: &str, v: bool) {
    out.push_str(&format!(
        "\t\t\t<key>{k}</key>\n\t\t\t<{}/>\n",
        if v { "true" } else { "false" }
    ));
}

/// The profile's XML.
pub fn render(p: &Profile<'_>) -> String {
    let s = p.setup;
    let mut mail = String::new();
    key(&mut mail, "EmailAccountDescription", p.display_name);
    let account_name = if p.account_name.is_empty() {
        p.display_name
    } else {
        p.account_name
    };
    key(&mut mail, "EmailAccountName", account_name);
    let (kind, port, tls) = if p.pop {
        ("EmailTypePOP", s.pop3_port, true)
    } else {
        ("EmailTypeIMAP", s.imap_port, s.imap_tls)
    };
    key(&mut mail, "EmailAccountType", kind);
    key(&mut mail, "EmailAddress", p.address);
    key(
        &mut mail,
        "IncomingMailServerAuthentication",
        "EmailAuthPassword",
    );
    key(&mut mail, "IncomingMailServerHostName", &s.imap_host);
    int(&mut mail, "IncomingMailServerPortNumber", port);
    boolean(&mut mail, "IncomingMailServerUseSSL", tls);
    key(&mut mail, "IncomingMailServerUsername", p.username);
    // Without a password (the profile served to any client), the device asks for it.
    if !p.password.is_empty() {
        key(&mut mail, "IncomingPassword", p.password);
    }
    key(
        &mut mail,
        "OutgoingMailServerAuthentication",
        "EmailAuthPassword",
    );
    key(&mut mail, "OutgoingMailServerHostName", &s.smtp_host);
    int(&mut mail, "OutgoingMailServerPortNumber", s.smtp_port);
    boolean(&mut mail, "OutgoingMailServerUseSSL", s.smtp_tls);
    key(&mut mail, "OutgoingMailServerUsername", p.username);
    if !p.password.is_empty() {
        key(&mut mail, "OutgoingPassword", p.password);
    }
    boolean(&mut mail, "OutgoingPasswordSameAsIncomingPassword", true);
    key(&mut mail, "PayloadDescription", "Configures email account");
    key(&mut mail, "PayloadDisplayName", p.display_name);
    key(
        &mut mail,
        "PayloadIdentifier",
        &format!("{}.mail", p.identifier),
    );
    key(&mut mail, "PayloadType", "com.apple.mail.managed");
    key(&mut mail, "PayloadUUID", &uuid());
    int(&mut mail, "PayloadVersion", 1);
    boolean(&mut mail, "PreventAppSheet", false);
    boolean(&mut mail, "PreventMove", false);
    boolean(&mut mail, "SMIMEEnabled", false);
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
<!DOCTYPE plist PUBLIC \"-//Apple//DTD PLIST 1.0//EN\" \"http://www.apple.com/DTDs/PropertyList-1.0.dtd\">\n\
<plist version=\"1.0\">\n\
<dict>\n\
\t<key>PayloadContent</key>\n\
\t<array>\n\
\t\t<dict>\n\
{mail}\
\t\t</dict>\n\
\t</array>\n\
\t<key>PayloadDescription</key>\n\
\t<string>Install this profile to auto configure email account for {address}</string>\n\
\t<key>PayloadDisplayName</key>\n\
\t<string>{name}</string>\n\
\t<key>PayloadIdentifier</key>\n\
\t<string>{id}</string>\n\
\t<key>PayloadOrganization</key>\n\
\t<string>{name}</string>\n\
\t<key>PayloadRemovalDisallowed</key>\n\
\t<false/>\n\
\t<key>PayloadType</key>\n\
\t<string>Configuration</string>\n\
\t<key>PayloadUUID</key>\n\
\t<string>{uuid}</string>\n\
\t<key>PayloadVersion</key>\n\
\t<integer>1</integer>\n\
</dict>\n\
</plist>\n",
        address = esc(p.address),
        name = esc(p.display_name),
        id = esc(p.identifier),
        uuid = uuid(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_and_carries_the_servers() {
        let setup = ClientSetup::default();
        let xml = render(&Profile {
            display_name: "Mail <x>",
            address: "a&b@example.com",
            username: "ab",
            password: "abcdefghijklmnop",
            setup: &setup,
            identifier: "com.example.ab",
            account_name: "",
            pop: false,
        });
        assert!(xml.contains("<string>Mail &lt;x&gt;</string>"));
        assert!(xml.contains("a&amp;b@example.com"));
        assert!(xml.contains("<string>com.apple.mail.managed</string>"));
        assert!(xml.contains(&format!("<integer>{}</integer>", setup.imap_port)));
        assert!(!xml.contains("a&b"));
        assert!(xml.contains("EmailTypeIMAP"));
    }

    #[test]
    fn a_pop_profile_points_at_pop3s() {
        let setup = ClientSetup::default();
        let xml = render(&Profile {
            display_name: "Phone",
            address: "ab@example.com",
            username: "ab",
            password: "abcdefghijklmnop",
            setup: &setup,
            identifier: "com.example.ab",
            account_name: "A. B.",
            pop: true,
        });
        assert!(xml.contains("<string>EmailTypePOP</string>"));
        assert!(xml.contains(&format!("<integer>{}</integer>", setup.pop3_port)));
        assert!(xml.contains("<string>A. B.</string>"));
    }
}
