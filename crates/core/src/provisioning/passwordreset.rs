//! Password reset of mail users (`mail.passwordreset.listmethods|setpassword`). This server
//! sends no SMS (`mail.passwordreset.sendsms` is not supported); its one method is
//! [`TEMPORARY_PASSWORD`]: the token is the temporary password that an administrator's
//! `POST /users/{user}/password/reset` (WildDuck) made, which must be changed. With it,
//! `setpassword` (no session needed) sets the mail user's own new password; a wrong token
//! is `Access denied` and counts in the `[auth]` throttle and the auth log like any login.

use super::Principal;
use super::logins::check_new_password;
use crate::{AuthMeta, Core, Error, Result, Scope, UserUpdate, validate};

/// The reset method this server offers.
pub const TEMPORARY_PASSWORD: &str = "temporary_password";

impl Core {
    /// The reset methods of a mail user `p` owns.
    pub async fn rpc_passwordreset_listmethods(
        &self,
        p: &Principal,
        mail: &str,
    ) -> Result<Vec<&'static str>> {
        self.owned_mail(p, mail).await?;
        Ok(vec![TEMPORARY_PASSWORD])
    }

    /// Replaces the mail user's temporary password (`token`) with `password`.
    pub async fn rpc_passwordreset_setpassword(
        &self,
        mail: &str,
        token: &str,
        password: &str,
        meta: &AuthMeta,
    ) -> Result<()> {
        check_new_password(password, "password")?;
        let norm = validate::normalize_address(mail);
        if self.store.rpc_mail_by_address(&norm).await?.is_none() {
            // Worded as a wrong token: whether an address exists is not told.
            return Err(Error::AuthFailed);
        }
        let auth = self
            .authenticate_from(&norm, token, Scope::Master, meta)
            .await?;
        if !auth.require_password_change {
            // The token must be a temporary password, not the user's own.
            return Err(Error::AuthFailed);
        }
        self.update_user(
            &auth.id,
            UserUpdate {
                password: Some(password.to_string()),
                meta: meta.clone(),
                ..UserUpdate::default()
            },
        )
        .await
    }
}
