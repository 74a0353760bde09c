//! What each command does, one file per command family:
//!
//! - `auth.rs`: USER, PASS, AUTH PLAIN, and the login they share (throttle, limits, the
//!   maildrop opened);
//! - `capa.rs`: CAPA; `stls.rs`: STLS;
//! - `list.rs`: STAT, LIST, UIDL;
//! - `retr.rs`: RETR, TOP;
//! - `dele.rs`: DELE, RSET;
//! - `quit.rs`: QUIT and the update state.

mod auth;
mod capa;
mod dele;
mod list;
mod quit;
mod retr;
mod stls;

use crate::error::Result;
use crate::session::Session;
use sealpost_pop3_proto::{Command, Reply};

impl Session {
    /// Runs a command whose state was checked.
    pub(crate) async fn dispatch(&mut self, command: Command) -> Result<()> {
        match command {
            Command::User(name) => self.op_user(name),
            Command::Pass(password) => self.op_pass(&password).await?,
            Command::Auth {
                mechanism,
                initial_response,
            } => {
                self.op_auth(mechanism.as_deref(), initial_response.as_deref())
                    .await?
            }
            Command::Capa => self.op_capa(),
            Command::Stls => self.op_stls(),
            Command::Stat => self.op_stat(),
            Command::List(n) => self.op_list(n),
            Command::Uidl(n) => self.op_uidl(n),
            Command::Retr(n) => self.op_retr(n, None).await?,
            Command::Top(n, lines) => self.op_retr(n, Some(lines)).await?,
            Command::Dele(n) => self.op_dele(n),
            Command::Rset => self.op_rset(),
            Command::Noop => self.push(Reply::ok("")),
            Command::Quit => self.op_quit().await?,
        }
        Ok(())
    }

    /// The maildrop; only called in the TRANSACTION state (checked before dispatch).
    pub(crate) fn maildrop(&self) -> Option<&crate::maildrop::Maildrop> {
        match &self.state {
            crate::session::State::Transaction(m) => Some(m),
            _ => None,
        }
    }

    pub(crate) fn maildrop_mut(&mut self) -> Option<&mut crate::maildrop::Maildrop> {
        match &mut self.state {
            crate::session::State::Transaction(m) => Some(m),
            _ => None,
        }
    }
}

/// The answer for a message number that names no message (or a deleted one).
pub(crate) fn no_such_message(n: u32) -> Reply {
    Reply::err(format!("No such message: {n}"))
}
