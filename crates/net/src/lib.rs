//! What the mail protocol front ends (IMAP, POP3) share below their protocols, so that each
//! rule exists once:
//!
//! - `stream.rs`: the byte stream a session reads and writes ([`Stream`]), the TLS handshake
//!   as server ([`accept_tls`], implicit on the IMAPS/POP3S ports or after STARTTLS/STLS) and
//!   the placeholder that stands in while a layer is put around a stream ([`Detached`]);
//! - `limiter.rs`: connections per client address and per user, and the failed-login
//!   throttle ([`Limiter`]);
//! - [`PlaintextAuth`]: when a password may be sent without TLS;
//! - `sasl.rs`: the credentials of a SASL PLAIN response;
//! - `shutdown.rs`: the graceful stop every listener and session watches ([`Shutdown`]).

mod accept;
mod limiter;
mod sasl;
mod shutdown;
mod stream;

pub use accept::{accept_loop, session_span};
pub use limiter::{Limiter, LimiterConfig, Slot, client_ip};
pub use sasl::plain_credentials;
pub use shutdown::{SessionGuard, Shutdown, ShutdownSwitch};
pub use stream::{Detached, Io, Stream, accept_tls};
pub use tokio_rustls::{TlsAcceptor, rustls};

use std::net::SocketAddr;
use std::str::FromStr;

/// When passwords (IMAP LOGIN/AUTHENTICATE, POP3 USER/PASS/AUTH) are accepted without TLS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PlaintextAuth {
    /// Only over TLS.
    Never,
    /// Over TLS, and in plain text from a loopback address.
    #[default]
    Loopback,
    /// Always (for a trusted network or a TLS-terminating proxy in front).
    Always,
}

impl PlaintextAuth {
    /// Whether a password may be sent on a connection from `peer` (`tls`: TLS is active).
    pub fn allows(self, tls: bool, peer: SocketAddr) -> bool {
        tls || match self {
            PlaintextAuth::Always => true,
            PlaintextAuth::Never => false,
            PlaintextAuth::Loopback => client_ip(peer.ip()).is_loopback(),
        }
    }
}

impl FromStr for PlaintextAuth {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "never" => Ok(PlaintextAuth::Never),
            "loopback" => Ok(PlaintextAuth::Loopback),
            "always" => Ok(PlaintextAuth::Always),
            _ => Err(format!(
                "{s:?} is not one of \"never\", \"loopback\", \"always\""
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plaintext_policy() {
        let local: SocketAddr = "127.0.0.1:1".parse().unwrap();
        let mapped: SocketAddr = "[::ffff:127.0.0.1]:1".parse().unwrap();
        let remote: SocketAddr = "192.0.2.1:1".parse().unwrap();
        let p = PlaintextAuth::Loopback;
        assert!(p.allows(false, local) && p.allows(false, mapped));
        assert!(!p.allows(false, remote) && p.allows(true, remote));
        assert!(!PlaintextAuth::Never.allows(false, local));
        assert!(PlaintextAuth::Never.allows(true, local));
        assert!(PlaintextAuth::Always.allows(false, remote));
        assert_eq!(" Never ".parse(), Ok(PlaintextAuth::Never));
        assert!("sometimes".parse::<PlaintextAuth>().is_err());
    }
}
