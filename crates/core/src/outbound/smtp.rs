//! A small SMTP client (RFC 5321) for the outbound relay: EHLO (HELO as fallback), STARTTLS
//! (RFC 3207), AUTH PLAIN/LOGIN (RFC 4954), SIZE, 8BITMIME, SMTPUTF8, then one envelope per
//! connection. Every read and write has the relay's timeout; replies are bounded in line
//! length and count. It reports per recipient whether the relay took the message, refused it
//! for now (4xx) or for good (5xx).

use super::config::{RelayConfig, StartTls};
use base64::Engine as _;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::rustls;

/// Longest reply line accepted from the relay.
const MAX_LINE: usize = 4096;
/// Most lines in one (multi-line) reply.
const MAX_REPLY_LINES: usize = 128;
/// Size of the pieces the message is written in.
const WRITE_CHUNK: usize = 64 * 1024;

/// How a failed TLS handshake is reported (opportunistic TLS tries again without).
pub const TLS_FAILED: &str = "TLS handshake with relay failed";

/// Why a whole transaction failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendError {
    /// Try again later: connection problems, timeouts, 4xx replies.
    Temporary(String),
    /// The relay refused the message itself (5xx to MAIL FROM, DATA or the message).
    Permanent(String),
}

impl std::fmt::Display for SendError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SendError::Temporary(m) | SendError::Permanent(m) => f.write_str(m),
        }
    }
}

/// What became of each recipient of a transaction that got as far as the message.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SendReport {
    pub sent: Vec<String>,
    /// (recipient, reply): refused with 4xx, to retry.
    pub deferred: Vec<(String, String)>,
    /// (recipient, reply): refused with 5xx.
    pub rejected: Vec<(String, String)>,
}

/// A reply: its code and its text lines joined.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub code: u16,
    pub text: String,
}

impl Reply {
    fn positive(&self) -> bool {
        (200..400).contains(&self.code)
    }
    fn permanent(&self) -> bool {
        self.code >= 500
    }
}

impl std::fmt::Display for Reply {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.code, self.text)
    }
}

trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// One connection to the relay.
struct Conn {
    io: Box<dyn Io>,
    buf: Vec<u8>,
    timeout: Duration,
    tls: bool,
}

fn temp(what: &str, e: impl std::fmt::Display) -> SendError {
    SendError::Temporary(format!("{what}: {e}"))
}

impl Conn {
    async fn read_line(&mut self) -> Result<String, SendError> {
        loop {
            if let Some(i) = self.buf.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = self.buf.drain(..=i).collect();
                let line = String::from_utf8_lossy(&line);
                return Ok(line.trim_end_matches(['\r', '\n']).to_string());
            }
            if self.buf.len() > MAX_LINE {
                return Err(SendError::Temporary("relay sent an over-long line".into()));
            }
            let mut chunk = [0u8; 4096];
            let n = tokio::time::timeout(self.timeout, self.io.read(&mut chunk))
                .await
                .map_err(|_| SendError::Temporary("relay timed out".into()))?
                .map_err(|e| temp("reading from relay", e))?;
            if n == 0 {
                return Err(SendError::Temporary("relay closed the connection".into()));
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    async fn reply(&mut self) -> Result<Reply, SendError> {
        let mut text = Vec::new();
        for _ in 0..MAX_REPLY_LINES {
            let line = self.read_line().await?;
            let code = line
                .get(..3)
                .filter(|c| c.bytes().all(|b| b.is_ascii_digit()))
                .and_then(|c| c.parse::<u16>().ok())
                .filter(|c| (200..600).contains(c))
                .ok_or_else(|| {
                    SendError::Temporary(format!("relay sent a malformed reply: {line:.100}"))
                })?;
            let sep = line.as_bytes().get(3).copied();
            text.push(line.get(4..).unwrap_or("").to_string());
            if sep != Some(b'-') {
                return Ok(Reply {
                    code,
                    text: text.join("\n"),
                });
            }
        }
        Err(SendError::Temporary("relay sent too long a reply".into()))
    }

    async fn write(&mut self, data: &[u8]) -> Result<(), SendError> {
        tokio::time::timeout(self.timeout, self.io.write_all(data))
            .await
            .map_err(|_| SendError::Temporary("relay timed out".into()))?
            .map_err(|e| temp("writing to relay", e))
    }

    async fn command(&mut self, line: &str) -> Result<Reply, SendError> {
        self.write(format!("{line}\r\n").as_bytes()).await?;
        self.reply().await
    }
}

/// What EHLO advertised.
#[derive(Debug, Default)]
struct Extensions {
    starttls: bool,
    size: Option<u64>,
    eight_bit: bool,
    smtputf8: bool,
    auth: Vec<String>,
}

impl Extensions {
    fn parse(reply: &Reply) -> Extensions {
        let mut ext = Extensions::default();
        for line in reply.text.lines().skip(1) {
            let mut words = line.split_whitespace();
            let Some(keyword) = words.next() else {
                continue;
            };
            match keyword.to_ascii_uppercase().as_str() {
                "STARTTLS" => ext.starttls = true,
                "8BITMIME" => ext.eight_bit = true,
                "SMTPUTF8" => ext.smtputf8 = true,
                "SIZE" => ext.size = words.next().and_then(|n| n.parse().ok()).filter(|n| *n > 0),
                "AUTH" => ext.auth = words.map(|w| w.to_ascii_uppercase()).collect(),
                _ => {}
            }
        }
        ext
    }
}

/// The relay client: its settings and (when STARTTLS may be used) the TLS settings.
#[derive(Clone)]
pub struct Relay {
    config: RelayConfig,
    tls: Option<Arc<rustls::ClientConfig>>,
}

impl Relay {
    /// `tls` is needed unless STARTTLS is off.
    pub fn new(config: RelayConfig, tls: Option<Arc<rustls::ClientConfig>>) -> Relay {
        Relay { config, tls }
    }

    /// Sends `raw` from `from` ("" = `<>`) to `rcpts` in one transaction.
    pub async fn send(
        &self,
        from: &str,
        rcpts: &[String],
        raw: &[u8],
    ) -> Result<SendReport, SendError> {
        let c = &self.config;
        let addr = format!("{}:{}", c.host, c.port);
        let tcp = tokio::time::timeout(c.timeout, TcpStream::connect(&addr))
            .await
            .map_err(|_| SendError::Temporary(format!("connecting to relay {addr} timed out")))?
            .map_err(|e| temp(&format!("cannot connect to relay {addr}"), e))?;
        self.send_over(tcp, from, rcpts, raw).await
    }

    /// [`Relay::send`] to the server at `addr` (an address the caller resolved), whose name
    /// (for TLS) is the configured host.
    pub async fn send_at(
        &self,
        addr: std::net::SocketAddr,
        from: &str,
        rcpts: &[String],
        raw: &[u8],
    ) -> Result<SendReport, SendError> {
        let c = &self.config;
        let tcp = tokio::time::timeout(c.timeout, TcpStream::connect(addr))
            .await
            .map_err(|_| {
                SendError::Temporary(format!("connecting to {} ({addr}) timed out", c.host))
            })?
            .map_err(|e| temp(&format!("cannot connect to {} ({addr})", c.host), e))?;
        self.send_over(tcp, from, rcpts, raw).await
    }

    async fn send_over(
        &self,
        tcp: TcpStream,
        from: &str,
        rcpts: &[String],
        raw: &[u8],
    ) -> Result<SendReport, SendError> {
        let c = &self.config;
        let _ = tcp.set_nodelay(true);
        let mut conn = Conn {
            io: Box::new(tcp),
            buf: Vec::new(),
            timeout: c.timeout,
            tls: false,
        };
        let result = self.transaction(&mut conn, from, rcpts, raw).await;
        // Politeness only: the outcome is already known.
        if !matches!(result, Err(SendError::Temporary(_))) {
            let _ = tokio::time::timeout(Duration::from_secs(5), conn.command("QUIT")).await;
        }
        result
    }

    async fn transaction(
        &self,
        conn: &mut Conn,
        from: &str,
        rcpts: &[String],
        raw: &[u8],
    ) -> Result<SendReport, SendError> {
        let greeting = conn.reply().await?;
        if !greeting.positive() {
            return Err(SendError::Temporary(format!(
                "relay refused the connection: {greeting}"
            )));
        }
        let mut ext = self.hello(conn).await?;
        match self.config.starttls {
            StartTls::Required | StartTls::Opportunistic if ext.starttls => {
                self.starttls(conn).await?;
                ext = self.hello(conn).await?;
            }
            StartTls::Required => {
                return Err(SendError::Temporary(
                    "relay does not offer STARTTLS, which [relay] starttls = \"required\" demands"
                        .into(),
                ));
            }
            _ => {}
        }
        if let Some(user) = &self.config.username {
            self.authenticate(conn, &ext, user).await?;
        }

        let utf8 = !from.is_ascii() || rcpts.iter().any(|r| !r.is_ascii());
        if utf8 && !ext.smtputf8 {
            return Err(SendError::Permanent(
                "an address is internationalised and the relay does not support SMTPUTF8".into(),
            ));
        }
        if let Some(max) = ext.size
            && raw.len() as u64 > max
        {
            return Err(SendError::Permanent(format!(
                "message of {} bytes exceeds the relay's limit of {max} bytes",
                raw.len()
            )));
        }
        let mut mail = format!("MAIL FROM:<{from}>");
        if ext.size.is_some() {
            mail.push_str(&format!(" SIZE={}", raw.len()));
        }
        if ext.eight_bit && !raw.is_ascii() {
            mail.push_str(" BODY=8BITMIME");
        }
        if utf8 {
            mail.push_str(" SMTPUTF8");
        }
        let reply = conn.command(&mail).await?;
        if !reply.positive() {
            return Err(classify("MAIL FROM", &reply));
        }
        let mut report = SendReport::default();
        let mut accepted = Vec::new();
        for rcpt in rcpts {
            let reply = conn.command(&format!("RCPT TO:<{rcpt}>")).await?;
            if reply.positive() {
                accepted.push(rcpt.clone());
            } else if reply.permanent() {
                report.rejected.push((rcpt.clone(), reply.to_string()));
            } else {
                report.deferred.push((rcpt.clone(), reply.to_string()));
            }
        }
        if accepted.is_empty() {
            let _ = conn.command("RSET").await;
            return Ok(report);
        }
        let reply = conn.command("DATA").await?;
        if reply.code != 354 {
            let err = classify("DATA", &reply);
            return match err {
                SendError::Permanent(m) => {
                    report
                        .rejected
                        .extend(accepted.into_iter().map(|r| (r, m.clone())));
                    Ok(report)
                }
                t => Err(t),
            };
        }
        let body = dot_stuff(raw);
        for chunk in body.chunks(WRITE_CHUNK) {
            conn.write(chunk).await?;
        }
        let reply = conn.reply().await?;
        if reply.positive() {
            report.sent = accepted;
        } else if reply.permanent() {
            let m = format!("message refused: {reply}");
            report
                .rejected
                .extend(accepted.into_iter().map(|r| (r, m.clone())));
        } else {
            let m = format!("message deferred: {reply}");
            report
                .deferred
                .extend(accepted.into_iter().map(|r| (r, m.clone())));
        }
        Ok(report)
    }

    async fn hello(&self, conn: &mut Conn) -> Result<Extensions, SendError> {
        let name = &self.config.helo_name;
        let reply = conn.command(&format!("EHLO {name}")).await?;
        if reply.positive() {
            return Ok(Extensions::parse(&reply));
        }
        let reply = conn.command(&format!("HELO {name}")).await?;
        if reply.positive() {
            return Ok(Extensions::default());
        }
        Err(SendError::Temporary(format!(
            "relay refused EHLO and HELO: {reply}"
        )))
    }

    async fn starttls(&self, conn: &mut Conn) -> Result<(), SendError> {
        let reply = conn.command("STARTTLS").await?;
        if reply.code != 220 {
            return Err(SendError::Temporary(format!(
                "relay refused STARTTLS: {reply}"
            )));
        }
        if !conn.buf.is_empty() {
            // Bytes sent before the handshake would otherwise be read as if they were
            // protected (RFC 3207 §6).
            return Err(SendError::Temporary(
                "relay sent data after its STARTTLS reply".into(),
            ));
        }
        let Some(tls) = &self.tls else {
            return Err(SendError::Temporary(
                "no CA certificates to verify the relay with (set [relay] caFile)".into(),
            ));
        };
        let server_name = rustls::pki_types::ServerName::try_from(self.config.host.clone())
            .map_err(|e| temp("relay host is not a valid TLS server name", e))?;
        let connector = tokio_rustls::TlsConnector::from(tls.clone());
        let plain = std::mem::replace(
            &mut conn.io,
            Box::new(tokio::io::join(tokio::io::empty(), tokio::io::sink())),
        );
        let stream = tokio::time::timeout(conn.timeout, connector.connect(server_name, plain))
            .await
            .map_err(|_| SendError::Temporary(format!("{TLS_FAILED}: timed out")))?
            .map_err(|e| temp(TLS_FAILED, e))?;
        conn.io = Box::new(stream);
        conn.tls = true;
        Ok(())
    }

    async fn authenticate(
        &self,
        conn: &mut Conn,
        ext: &Extensions,
        user: &str,
    ) -> Result<(), SendError> {
        if !conn.tls && !self.config.is_loopback() {
            return Err(SendError::Temporary(
                "refusing to send relay credentials over an unencrypted connection (enable [relay] starttls)"
                    .into(),
            ));
        }
        let password = self
            .config
            .password
            .as_ref()
            .map(|p| p.expose())
            .unwrap_or("");
        let b64 = |s: &[u8]| base64::engine::general_purpose::STANDARD.encode(s);
        let use_login =
            !ext.auth.iter().any(|m| m == "PLAIN") && ext.auth.iter().any(|m| m == "LOGIN");
        let reply = if use_login {
            let r = conn.command("AUTH LOGIN").await?;
            if r.code != 334 {
                return Err(auth_failed(&r));
            }
            let r = conn.command(&b64(user.as_bytes())).await?;
            if r.code != 334 {
                return Err(auth_failed(&r));
            }
            conn.command(&b64(password.as_bytes())).await?
        } else {
            let mut token = Vec::with_capacity(user.len() + password.len() + 2);
            token.push(0);
            token.extend_from_slice(user.as_bytes());
            token.push(0);
            token.extend_from_slice(password.as_bytes());
            conn.command(&format!("AUTH PLAIN {}", b64(&token))).await?
        };
        if reply.code != 235 {
            return Err(auth_failed(&reply));
        }
        Ok(())
    }
}

/// A failed login is the operator's to fix; the mail waits for it rather than bouncing.
fn auth_failed(reply: &Reply) -> SendError {
    SendError::Temporary(format!("relay authentication failed: {reply}"))
}

fn classify(step: &str, reply: &Reply) -> SendError {
    let m = format!("{step} refused: {reply}");
    if reply.permanent() {
        SendError::Permanent(m)
    } else {
        SendError::Temporary(m)
    }
}

/// The DATA payload: CRLF line endings, leading dots doubled, then `.` on a line.
pub fn dot_stuff(raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len() + raw.len() / 32 + 5);
    let mut at_line_start = true;
    let mut prev = 0u8;
    for &b in raw {
        if b == b'\n' && prev != b'\r' {
            out.push(b'\r');
        }
        if at_line_start && b == b'.' {
            out.push(b'.');
        }
        out.push(b);
        at_line_start = b == b'\n';
        prev = b;
    }
    if !out.is_empty() && !out.ends_with(b"\r\n") {
        if out.ends_with(b"\r") {
            out.push(b'\n');
        } else {
            out.extend_from_slice(b"\r\n");
        }
    }
    out.extend_from_slice(b".\r\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dot_stuffing_and_line_endings() {
        assert_eq!(dot_stuff(b"a\n.b\r\n..c"), b"a\r\n..b\r\n...c\r\n.\r\n");
        assert_eq!(dot_stuff(b".\r\n"), b"..\r\n.\r\n");
        assert_eq!(dot_stuff(b""), b".\r\n");
        assert_eq!(dot_stuff(b"x\r"), b"x\r\n.\r\n");
    }

    #[test]
    fn extensions_are_read_from_ehlo() {
        let reply = Reply {
            code: 250,
            text: "relay.test hello\nPIPELINING\nSIZE 1000\n8BITMIME\nSTARTTLS\nAUTH LOGIN plain\nSMTPUTF8".into(),
        };
        let e = Extensions::parse(&reply);
        assert!(e.starttls && e.eight_bit && e.smtputf8);
        assert_eq!(e.size, Some(1000));
        assert_eq!(e.auth, vec!["LOGIN", "PLAIN"]);
    }
}
