//! LOGIN: username (or any address) and password, checked by `core` for the IMAP scope.

use crate::error::Result;
use crate::session::{Session, User, capabilities};
use sealpost_core::Scope;
use sealpost_imap_proto::{Code, StatusResponse};

impl Session {
    pub(crate) async fn op_login(
        &mut self,
        tag: &str,
        username: &str,
        password: &str,
    ) -> Result<StatusResponse> {
        match self
            .core
            .authenticate(username, password, Scope::Imap)
            .await
        {
            Ok(auth) => {
                self.user = Some(User { id: auth.id });
                Ok(
                    StatusResponse::ok(tag, "Logged in")
                        .with_code(Code::Capability(capabilities())),
                )
            }
            Err(sealpost_core::Error::AuthFailed) => Ok(self.auth_failure(tag).await),
            Err(e) => Err(e.into()),
        }
    }
}
