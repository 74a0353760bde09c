//! The default mailboxes of a new user, named in the user's language.

/// (path, special use) for the default set, INBOX first.
pub fn default_mailboxes(language: Option<&str>) -> Vec<(String, Option<String>)> {
    let lang = language
        .unwrap_or("en")
        .split(['-', '_'])
        .next()
        .unwrap_or("en")
        .to_ascii_lowercase();
    let names: [&str; 5] = match lang.as_str() {
        "de" => [
            "Entwürfe",
            "Gesendete Objekte",
            "Papierkorb",
            "Spam",
            "Archiv",
        ],
        "et" => [
            "Mustandid",
            "Saadetud kirjad",
            "Prügikast",
            "Rämpspost",
            "Arhiiv",
        ],
        "fr" => [
            "Brouillons",
            "Messages envoyés",
            "Corbeille",
            "Indésirables",
            "Archives",
        ],
        "es" => [
            "Borradores",
            "Enviados",
            "Papelera",
            "Correo no deseado",
            "Archivo",
        ],
        _ => ["Drafts", "Sent Mail", "Trash", "Junk", "Archive"],
    };
    let uses = ["\\Drafts", "\\Sent", "\\Trash", "\\Junk", "\\Archive"];
    std::iter::once(("INBOX".to_string(), None))
        .chain(
            names
                .iter()
                .zip(uses)
                .map(|(n, u)| (n.to_string(), Some(u.to_string()))),
        )
        .collect()
}
