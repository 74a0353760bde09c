//! The `action_targetUrl` uploader: delivery queues the raw message in the database
//! (`upload_queue`, so nothing is lost over a restart) and returns; a background task POSTs
//! it to the URL as `message/rfc822`, with a timeout per attempt and a bounded number of
//! attempts spaced by exponential back-off. Only http and https (rustls, Mozilla's roots).
//!
//! A claimed job is leased (its next attempt is moved past the attempt's timeout), so several
//! nodes sharing one database never post it twice at once, and a job claimed by a node that
//! died is retried when its lease ends.

use crate::{Core, Error, Result};
use bytes::Bytes;
use http_body_util::Full;
use hyper::{Request, StatusCode, header};
use hyper_util::rt::TokioIo;
use sealpost_store::Store;
use sealpost_store::filters::UploadJob;
use sealpost_store::model::ObjectId;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_rustls::rustls;

/// Time allowed for one attempt: connect, TLS, request and response head.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(30);
/// Attempts before an upload is given up.
pub const MAX_ATTEMPTS: i64 = 12;
/// Uploads waiting at most; more are refused (and logged) rather than filling the disk.
pub const MAX_PENDING: i64 = 10_000;
/// Uploads in flight at once per node.
const BATCH: i64 = 4;
/// First retry delay; it doubles per attempt up to [`MAX_DELAY_MS`].
const FIRST_DELAY_MS: i64 = 2_000;
const MAX_DELAY_MS: i64 = 3_600_000;
/// A claimed job is not claimed again before this (longer than an attempt can take).
const LEASE_MS: i64 = 5 * 60_000;
/// How often the queue is looked at when nothing wakes the worker.
const POLL: Duration = Duration::from_secs(1);

/// Delay before attempt `attempts + 1`, after `attempts` failed ones.
pub fn retry_delay_ms(attempts: i64) -> i64 {
    let shift = attempts.clamp(1, 30) - 1;
    FIRST_DELAY_MS.saturating_mul(1 << shift).min(MAX_DELAY_MS)
}

/// How an attempt ended.
#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    Done,
    /// Worth another attempt (network error, timeout, 5xx, 408, 429).
    Retry(String),
    /// The server refused the message for good (other 4xx).
    Refused(String),
}

impl Core {
    /// Queues the raw message for upload to `url` (an http/https URL, validated when the
    /// filter was saved) and wakes the worker. Never waits for the upload itself.
    pub async fn enqueue_upload(&self, user: &ObjectId, url: &str, raw: &[u8]) -> Result<()> {
        let url = crate::filters::target_url(url)?;
        if !self
            .store
            .enqueue_upload(user, &url, raw, MAX_PENDING)
            .await?
        {
            tracing::warn!(%user, "upload queue full, message not uploaded");
            return Err(Error::Forbidden {
                message: "The upload queue is full".into(),
                code: "UploadQueueFull",
            });
        }
        self.uploads.notify_one();
        Ok(())
    }

    /// Uploads waiting in the queue (due or not).
    pub async fn pending_uploads(&self) -> Result<i64> {
        Ok(self.store.pending_uploads().await?)
    }

    /// Starts the background uploader (once per process; `serve` calls it).
    pub fn start_upload_worker(&self) {
        let (store, wake) = (self.store.clone(), self.uploads.clone());
        tokio::spawn(async move {
            let tls = match tls_config() {
                Ok(tls) => tls,
                Err(e) => {
                    tracing::error!(error = %e, "upload worker: no TLS configuration");
                    return;
                }
            };
            loop {
                match run_due(&store, &tls).await {
                    Ok(n) if n as i64 == BATCH => continue,
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "upload worker"),
                }
                let _ = tokio::time::timeout(POLL, wake.notified()).await;
            }
        });
    }
}

/// Claims and runs the due uploads (at most [`BATCH`], concurrently); returns how many.
async fn run_due(store: &Store, tls: &Arc<rustls::ClientConfig>) -> Result<usize> {
    let lease = sealpost_store::now_ms() + LEASE_MS;
    let jobs = store.claim_uploads(BATCH, lease).await?;
    let n = jobs.len();
    let runs = jobs.into_iter().map(|job| {
        let (store, tls) = (store.clone(), tls.clone());
        tokio::spawn(async move { run_one(&store, &tls, job).await })
    });
    for run in runs.collect::<Vec<_>>() {
        match run.await {
            Ok(Err(e)) => tracing::warn!(error = %e, "upload bookkeeping failed"),
            Err(e) => tracing::error!(error = %e, "upload task failed"),
            Ok(Ok(())) => {}
        }
    }
    Ok(n)
}

async fn run_one(store: &Store, tls: &Arc<rustls::ClientConfig>, job: UploadJob) -> Result<()> {
    let attempt = job.attempts + 1;
    let outcome = match tokio::time::timeout(ATTEMPT_TIMEOUT, post(&job.url, job.raw, tls)).await {
        Ok(outcome) => outcome,
        Err(_) => Outcome::Retry("timed out".into()),
    };
    match outcome {
        Outcome::Done => {
            tracing::info!(user = %job.user, url = %job.url, attempt, "message uploaded");
            store.finish_upload(job.id).await?;
        }
        Outcome::Refused(why) => {
            tracing::warn!(user = %job.user, url = %job.url, attempt, error = %why, "upload refused, given up");
            store.finish_upload(job.id).await?;
        }
        Outcome::Retry(why) if attempt >= MAX_ATTEMPTS => {
            tracing::warn!(user = %job.user, url = %job.url, attempt, error = %why, "upload failed, given up");
            store.finish_upload(job.id).await?;
        }
        Outcome::Retry(why) => {
            let delay = retry_delay_ms(attempt);
            let short: String = why.chars().take(500).collect();
            store
                .retry_upload(job.id, sealpost_store::now_ms() + delay, &short)
                .await?;
            tracing::info!(user = %job.user, url = %job.url, attempt, error = %why, delay_ms = delay, "upload failed, will retry");
        }
    }
    Ok(())
}

/// rustls with the ring provider and Mozilla's root certificates.
fn tls_config() -> std::result::Result<Arc<rustls::ClientConfig>, rustls::Error> {
    let roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()?
    .with_root_certificates(roots)
    .with_no_client_auth();
    Ok(Arc::new(config))
}

/// One POST of `raw` to `url`.
async fn post(url: &str, raw: Vec<u8>, tls: &Arc<rustls::ClientConfig>) -> Outcome {
    let parsed = match url::Url::parse(url) {
        Ok(u) => u,
        Err(e) => return Outcome::Refused(format!("invalid URL: {e}")),
    };
    let https = match parsed.scheme() {
        "https" => true,
        "http" => false,
        other => return Outcome::Refused(format!("unsupported scheme {other}")),
    };
    let (host, authority) = match (parsed.host(), parsed.host_str()) {
        (Some(url::Host::Ipv6(a)), Some(h)) => (a.to_string(), h.to_string()),
        (Some(_), Some(h)) => (h.to_string(), h.to_string()),
        _ => return Outcome::Refused("URL without a host".into()),
    };
    let port = parsed
        .port_or_known_default()
        .unwrap_or(if https { 443 } else { 80 });
    let authority = match parsed.port() {
        Some(p) => format!("{authority}:{p}"),
        None => authority,
    };
    let target = &parsed[url::Position::BeforePath..url::Position::AfterQuery];
    let target = if target.is_empty() { "/" } else { target };
    let request = Request::post(target)
        .header(header::HOST, authority)
        .header(header::CONTENT_TYPE, "message/rfc822")
        .header(header::CONTENT_LENGTH, raw.len())
        .header(header::USER_AGENT, "Sealpost")
        .body(Full::new(Bytes::from(raw)));
    let request = match request {
        Ok(r) => r,
        Err(e) => return Outcome::Refused(format!("cannot build request: {e}")),
    };
    let stream = match TcpStream::connect((host.as_str(), port)).await {
        Ok(s) => s,
        Err(e) => return Outcome::Retry(format!("connect: {e}")),
    };
    let _ = stream.set_nodelay(true);
    let status = if https {
        let name = match rustls::pki_types::ServerName::try_from(host.clone()) {
            Ok(n) => n,
            Err(e) => return Outcome::Refused(format!("invalid TLS name: {e}")),
        };
        match tokio_rustls::TlsConnector::from(tls.clone())
            .connect(name, stream)
            .await
        {
            Ok(s) => send(s, request).await,
            Err(e) => return Outcome::Retry(format!("TLS: {e}")),
        }
    } else {
        send(stream, request).await
    };
    match status {
        Err(e) => Outcome::Retry(e),
        Ok(s) if s.is_success() => Outcome::Done,
        Ok(s)
            if s.is_client_error()
                && s != StatusCode::REQUEST_TIMEOUT
                && s != StatusCode::TOO_MANY_REQUESTS =>
        {
            Outcome::Refused(format!("HTTP {s}"))
        }
        Ok(s) => Outcome::Retry(format!("HTTP {s}")),
    }
}

/// HTTP/1.1 over `io`: sends the request, returns the response status.
async fn send<I>(io: I, request: Request<Full<Bytes>>) -> std::result::Result<StatusCode, String>
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(io))
        .await
        .map_err(|e| format!("HTTP: {e}"))?;
    let conn = tokio::spawn(conn);
    let result = sender
        .send_request(request)
        .await
        .map(|r| r.status())
        .map_err(|e| format!("HTTP: {e}"));
    conn.abort();
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn back_off_doubles_up_to_an_hour() {
        assert_eq!(retry_delay_ms(1), 2_000);
        assert_eq!(retry_delay_ms(2), 4_000);
        assert_eq!(retry_delay_ms(5), 32_000);
        assert_eq!(retry_delay_ms(12), 3_600_000);
        assert_eq!(retry_delay_ms(1000), 3_600_000);
    }

    #[test]
    fn tls_config_builds() {
        assert!(tls_config().is_ok());
    }

    #[tokio::test]
    async fn refused_schemes_and_unreachable_hosts() {
        let tls = tls_config().unwrap();
        assert!(matches!(
            post("ftp://example.com/", b"x".to_vec(), &tls).await,
            Outcome::Refused(_)
        ));
        // A port nothing listens on: worth a retry.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        assert!(matches!(
            post(&format!("http://127.0.0.1:{port}/x"), b"x".to_vec(), &tls).await,
            Outcome::Retry(_)
        ));
    }

    #[tokio::test]
    async fn posts_the_message() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            let mut buf = Vec::new();
            let mut chunk = [0u8; 4096];
            while !buf.ends_with(b"Subject: hi\r\n\r\nbody") {
                let n = s.read(&mut chunk).await.unwrap();
                if n == 0 {
                    break;
                }
                buf.extend_from_slice(&chunk[..n]);
            }
            s.write_all(b"HTTP/1.1 204 No Content\r\n\r\n")
                .await
                .unwrap();
            String::from_utf8(buf).unwrap()
        });
        let tls = tls_config().unwrap();
        let out = post(
            &format!("http://127.0.0.1:{port}/hook?a=1"),
            b"Subject: hi\r\n\r\nbody".to_vec(),
            &tls,
        )
        .await;
        assert_eq!(out, Outcome::Done);
        let request = server.await.unwrap();
        assert!(
            request.starts_with("POST /hook?a=1 HTTP/1.1\r\n"),
            "{request}"
        );
        let lower = request.to_ascii_lowercase();
        assert!(lower.contains("content-type: message/rfc822\r\n"));
        assert!(lower.contains(&format!("host: 127.0.0.1:{port}\r\n")));
    }
}
