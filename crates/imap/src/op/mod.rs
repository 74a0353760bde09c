//! What each command does, one file per command (or per pair of twins such as
//! SELECT/EXAMINE, COPY/MOVE, CLOSE/UNSELECT). Every operation pushes its untagged responses
//! onto the session and returns the tagged one; `core` errors are mapped to `NO` here, in
//! one place.

mod append;
mod auth;
mod authenticate;
mod binary;
mod capability;
mod close;
mod compress;
mod copy;
mod create;
mod delete;
mod enable;
mod expunge;
mod fetch;
mod id;
mod idle;
mod list;
mod login;
mod logout;
mod namespace;
mod noop;
mod quota;
mod rename;
mod search;
mod select;
mod sort;
mod starttls;
mod status;
mod store;
mod subscribe;
mod thread;

pub(crate) use search::line_saves_result;
pub(crate) use select::system_flags;

use crate::error::Result;
use crate::session::Session;
use sealpost_core::{Error as CoreError, ObjectId};
use sealpost_imap_proto::{Code, CommandBody, MailboxName, StatusResponse};

/// Runs one command that the session's state allows.
pub(crate) async fn dispatch(
    session: &mut Session,
    tag: &str,
    body: CommandBody,
) -> Result<StatusResponse> {
    use CommandBody as C;
    match body {
        C::Capability => session.op_capability(tag),
        C::Noop | C::Check => session.op_noop(tag).await,
        C::Logout => session.op_logout(tag),
        C::Login { username, password } => session.op_login(tag, &username, &password).await,
        C::Authenticate {
            mechanism,
            initial_response,
        } => {
            session
                .op_authenticate(tag, &mechanism, initial_response)
                .await
        }
        C::Id(_) => session.op_id(tag),
        C::Enable(requested) => session.op_enable(tag, &requested),
        C::Namespace => session.op_namespace(tag),
        C::List(list) => session.op_list(tag, list).await,
        C::Lsub { reference, pattern } => session.op_lsub(tag, reference, pattern).await,
        C::Status { mailbox, items } => session.op_status(tag, &mailbox, &items).await,
        C::Create {
            mailbox,
            special_use,
        } => session.op_create(tag, &mailbox, &special_use).await,
        C::Delete(mailbox) => session.op_delete(tag, &mailbox).await,
        C::Rename { from, to } => session.op_rename(tag, &from, &to).await,
        C::Subscribe(mailbox) => session.op_subscribe(tag, &mailbox, true).await,
        C::Unsubscribe(mailbox) => session.op_subscribe(tag, &mailbox, false).await,
        C::Select(select) => session.op_select(tag, select, false).await,
        C::Examine(select) => session.op_select(tag, select, true).await,
        C::Fetch(fetch) => session.op_fetch(tag, fetch).await,
        C::Store(store) => session.op_store(tag, store).await,
        C::Search(search) => session.op_search(tag, search).await,
        C::Copy(copy) => session.op_copy(tag, copy, false).await,
        C::Move(copy) => session.op_copy(tag, copy, true).await,
        C::Expunge { uids } => session.op_expunge(tag, uids).await,
        C::Close => session.op_close(tag, true).await,
        C::Unselect => session.op_close(tag, false).await,
        C::Append { mailbox, messages } => session.op_append(tag, &mailbox, messages).await,
        C::Idle => session.op_idle(tag).await,
        C::Sort(sort) => session.op_sort(tag, sort).await,
        C::Thread(thread) => session.op_thread(tag, thread).await,
        C::GetQuota(root) => session.op_getquota(tag, &root).await,
        C::GetQuotaRoot(mailbox) => session.op_getquotaroot(tag, &mailbox).await,
        C::SetQuota { .. } => session.op_setquota(tag),
        C::StartTls => session.op_starttls(tag),
        C::Compress(mechanism) => session.op_compress(tag, &mechanism),
    }
}

/// The tagged `NO` for a failed `core` operation.
pub(crate) fn core_error(tag: &str, e: &CoreError) -> StatusResponse {
    let (code, text) = match e {
        CoreError::NotFound(m) => (Code::NonExistent, m.clone()),
        CoreError::Conflict { message, .. } => (Code::AlreadyExists, message.clone()),
        CoreError::Forbidden {
            message,
            code: "RateLimitedError",
        } => (Code::Unavailable, message.clone()),
        CoreError::Forbidden { message, .. } => (Code::Cannot, message.clone()),
        CoreError::OverQuota => (Code::OverQuota, "Quota exceeded".to_string()),
        CoreError::TooLarge(m) => (Code::TooBig, m.clone()),
        CoreError::AuthFailed => (
            Code::AuthenticationFailed,
            "Authentication failed".to_string(),
        ),
        CoreError::Validation { message, .. } => (Code::Cannot, message.clone()),
        CoreError::Internal(_) => (Code::ServerBug, "Internal server error".to_string()),
    };
    StatusResponse::no(tag, text).with_code(code)
}

/// The store path of a mailbox name: `/` is the hierarchy delimiter; a trailing one is
/// dropped (CREATE "a/" creates "a").
pub(crate) fn mailbox_path(name: &MailboxName) -> String {
    let s = name.as_str();
    if name.is_inbox() {
        return "INBOX".to_string();
    }
    s.trim_end_matches('/').to_string()
}

impl Session {
    /// The logged-in user's id (the dispatcher only runs such commands after login).
    pub(crate) fn user_id(&self) -> Result<ObjectId> {
        self.user
            .as_ref()
            .map(|u| u.id.clone())
            .ok_or_else(|| CoreError::AuthFailed.into())
    }

    /// The mailbox named `name`, or a NO [NONEXISTENT] / [TRYCREATE] error response.
    pub(crate) async fn find_mailbox(
        &self,
        name: &MailboxName,
    ) -> Result<Option<sealpost_core::MailboxRecord>> {
        let user = self.user_id()?;
        match self.core.find_mailbox(&user, &mailbox_path(name)).await {
            Ok(found) => Ok(found),
            // An invalid path names no mailbox.
            Err(CoreError::Validation { .. }) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }
}
