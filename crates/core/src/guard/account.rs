//! A user's Guard account: settings shown at login, language, secondary address.

use crate::{Core, Error, Result};
use sealpost_store::model::ObjectId;

/// Languages the Guard login offers (`lang`): code and name.
pub const LANGUAGES: &[(&str, &str)] = &[
    ("en_US", "English"),
    ("de_DE", "Deutsch"),
    ("fr_FR", "Français"),
    ("es_ES", "Español"),
    ("it_IT", "Italiano"),
    ("nl_NL", "Nederlands"),
];

/// What the Guard login tells a client about the user and the server.
#[derive(Debug, Clone)]
pub struct GuardAccount {
    pub primary_email: String,
    /// Armored current public key ring, if any.
    pub public_key: Option<String>,
    pub language: String,
    pub recovery: bool,
    pub min_password_length: usize,
}

/// `de_DE`, `en`, `pt-BR` style codes, normalised to `xx_YY`.
pub fn normalise_language(code: &str) -> Result<String> {
    let code = code.trim().replace('-', "_");
    let ok = code.len() <= 16
        && !code.is_empty()
        && code
            .split('_')
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_alphabetic()));
    if !ok {
        return Err(Error::validation("Invalid language code", "language"));
    }
    let mut parts = code.split('_');
    let lang = parts.next().unwrap_or_default().to_ascii_lowercase();
    let rest: Vec<String> = parts.map(|p| p.to_ascii_uppercase()).collect();
    Ok(if rest.is_empty() {
        lang
    } else {
        format!("{lang}_{}", rest.join("_"))
    })
}

impl Core {
    /// The Guard account of `user`; `language` (when given) is remembered.
    pub async fn guard_account(
        &self,
        user: &ObjectId,
        language: Option<&str>,
    ) -> Result<GuardAccount> {
        let record = self.get_user(user).await?;
        let now = sealpost_store::now_ms();
        let language = match language {
            Some(l) => {
                let l = normalise_language(l)?;
                self.store.set_guard_user(user, None, Some(&l), now).await?;
                l
            }
            None => self
                .store
                .guard_user(user)
                .await?
                .language
                .unwrap_or_else(|| "en_US".into()),
        };
        let public_key = self.current_guard_public_key(user).await?;
        Ok(GuardAccount {
            primary_email: record.address.clone().unwrap_or_default(),
            public_key,
            language,
            recovery: self.config.guard.recovery,
            min_password_length: self.config.guard.min_password_length,
        })
    }

    /// The address password resets are mailed to, if set.
    pub async fn guard_secondary_email(&self, user: &ObjectId) -> Result<Option<String>> {
        self.get_user(user).await?;
        Ok(self.store.guard_user(user).await?.secondary_email)
    }

    /// Sets (or, with "", clears) the secondary address; needs the current key's password.
    pub async fn guard_set_secondary_email(
        &self,
        user: &ObjectId,
        auth: &super::GuardAuth,
        email: &str,
    ) -> Result<()> {
        let email = email.trim();
        if !email.is_empty() && !crate::outbound::valid_envelope_address(email) {
            return Err(Error::validation("Invalid e-mail address", "email"));
        }
        self.guard_check_password(user, auth).await?;
        let now = sealpost_store::now_ms();
        let value = (!email.is_empty()).then_some(email);
        self.store
            .set_guard_user(user, Some(value), None, now)
            .await?;
        Ok(())
    }

    /// Whether the user has a private and a public key ring in Guard.
    pub async fn guard_key_status(&self, user: &ObjectId) -> Result<(bool, bool)> {
        self.get_user(user).await?;
        let rings = self.store.list_keyrings(user).await?;
        let private = rings.iter().any(|r| r.private_ring.is_some());
        Ok((private, !rings.is_empty()))
    }

    /// The armored public key ring of the user's current Guard key, if any: what encryption
    /// at rest and the key directory use for this user.
    pub async fn current_guard_public_key(&self, user: &ObjectId) -> Result<Option<String>> {
        Ok(self.store.keyring(user, None).await?.map(|r| r.public_ring))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn languages() {
        assert_eq!(normalise_language("de-de").unwrap(), "de_DE");
        assert_eq!(normalise_language("en").unwrap(), "en");
        assert!(normalise_language("x y").is_err());
        assert!(normalise_language("").is_err());
        assert!(normalise_language(&"a".repeat(40)).is_err());
    }
}
