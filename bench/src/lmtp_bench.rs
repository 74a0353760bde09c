//! LMTP load program: N concurrent connections delivering `--count` messages of about
//! `--size` bytes to the `--rcpt` addresses (round robin) of any LMTP server (RFC 2033),
//! printing messages per second and latency percentiles (p50, p90, p99, max) per delivery.
//!
//! ```text
//! lmtp-bench --port 2424 --rcpt bench1@bench.test --rcpt bench2@bench.test \
//!     --count 5000 --concurrency 16 --size 4096
//! ```
//!
//! Each connection sends LHLO once, then for every message MAIL FROM, RCPT TO and DATA
//! (pipelined in one write when the server advertises PIPELINING), the dot-stuffed message
//! and the final dot, and waits for the per-recipient replies. A delivery's latency is from
//! MAIL FROM to its last reply; a delivery any reply of which is not 2xx/3xx counts as an
//! error (and its latency is not recorded).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use clap::Parser;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::sync::Mutex;

#[derive(Parser, Debug)]
#[command(about = "LMTP load generator: messages/s and delivery latency percentiles")]
struct Args {
    /// Server host.
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
    /// Server port.
    #[arg(long, default_value_t = 24)]
    port: u16,
    /// Recipient address; repeat for several (used round robin, one per message).
    #[arg(long, required = true)]
    rcpt: Vec<String>,
    /// Recipients per message (taken round robin from --rcpt).
    #[arg(long, default_value_t = 1)]
    rcpts_per_message: usize,
    /// Messages to deliver in all.
    #[arg(long, default_value_t = 1000)]
    count: u64,
    /// Concurrent connections.
    #[arg(long, default_value_t = 8)]
    concurrency: usize,
    /// Approximate message size in bytes (headers included).
    #[arg(long, default_value_t = 4096)]
    size: usize,
    /// Envelope sender.
    #[arg(long, default_value = "bench-sender@example.org")]
    from: String,
    /// Per-reply timeout, seconds.
    #[arg(long, default_value_t = 60)]
    timeout: u64,
}

type Conn = (
    BufReader<tokio::net::tcp::OwnedReadHalf>,
    tokio::net::tcp::OwnedWriteHalf,
);

/// Reads one reply (all its lines); returns (code, last line).
async fn reply(conn: &mut Conn, timeout: Duration) -> std::io::Result<(u16, String)> {
    let mut text = String::new();
    loop {
        let mut line = String::new();
        let n = tokio::time::timeout(timeout, conn.0.read_line(&mut line))
            .await
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "reply timed out"))??;
        if n == 0 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "connection closed",
            ));
        }
        let line = line.trim_end().to_string();
        if line.len() < 3 {
            return Err(std::io::Error::new(std::io::ErrorKind::InvalidData, line));
        }
        text.push_str(&line);
        text.push('\n');
        if line.as_bytes().get(3) != Some(&b'-') {
            let code = line[..3]
                .parse()
                .map_err(|_| std::io::Error::new(std::io::ErrorKind::InvalidData, line.clone()))?;
            return Ok((code, text));
        }
    }
}

/// Message number `n`: headers with a unique id, a body of lorem ipsum lines up to `size`.
fn message(n: u64, size: usize, from: &str) -> Vec<u8> {
    let mut m = format!(
        "From: Bench <{from}>\r\nTo: Bench <bench@example.test>\r\nSubject: lmtp-bench message {n}\r\n\
         Date: Mon, 23 Nov 2026 12:00:00 +0000\r\nMessage-ID: <lmtp-bench-{n}-{}@example.org>\r\n\
         X-Bench-Id: {n}\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n",
        std::process::id()
    )
    .into_bytes();
    let line =
        b"Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor.\r\n";
    while m.len() < size {
        m.extend_from_slice(line);
    }
    m
}

struct Stats {
    latencies: Vec<Duration>,
    errors: u64,
    first_error: Option<String>,
}

async fn client(
    args: Arc<Args>,
    next: Arc<AtomicU64>,
    stats: Arc<Mutex<Stats>>,
) -> std::io::Result<()> {
    let timeout = Duration::from_secs(args.timeout);
    let stream = TcpStream::connect((args.host.as_str(), args.port)).await?;
    stream.set_nodelay(true)?;
    let (r, w) = stream.into_split();
    let mut conn: Conn = (BufReader::new(r), w);
    let (code, text) = reply(&mut conn, timeout).await?;
    if code != 220 {
        return Err(std::io::Error::other(format!("greeting: {text}")));
    }
    conn.1.write_all(b"LHLO bench.example.org\r\n").await?;
    let (code, caps) = reply(&mut conn, timeout).await?;
    if code != 250 {
        return Err(std::io::Error::other(format!("LHLO: {caps}")));
    }
    let pipelining = caps.to_ascii_uppercase().contains("PIPELINING");
    loop {
        let n = next.fetch_add(1, Ordering::Relaxed);
        if n >= args.count {
            break;
        }
        let body = message(n, args.size, &args.from);
        let rcpts: Vec<&String> = (0..args.rcpts_per_message)
            .map(|i| &args.rcpt[(n as usize * args.rcpts_per_message + i) % args.rcpt.len()])
            .collect();
        let started = Instant::now();
        let mut failure: Option<String> = None;
        let mut commands = vec![format!("MAIL FROM:<{}>\r\n", args.from)];
        commands.extend(rcpts.iter().map(|r| format!("RCPT TO:<{r}>\r\n")));
        commands.push("DATA\r\n".into());
        let mut accepted = 0;
        if pipelining {
            conn.1.write_all(commands.concat().as_bytes()).await?;
        }
        for (i, c) in commands.iter().enumerate() {
            if !pipelining {
                conn.1.write_all(c.as_bytes()).await?;
            }
            let (code, text) = reply(&mut conn, timeout).await?;
            if code >= 400 {
                failure.get_or_insert(format!("{}: {}", c.trim_end(), text.trim_end()));
            } else if i > 0 && i < commands.len() - 1 {
                accepted += 1;
            }
        }
        if failure.is_none() || accepted > 0 {
            // DATA was answered 354 unless nothing was accepted.
            if failure.as_deref().is_some_and(|f| f.starts_with("DATA")) {
                conn.1.write_all(b"RSET\r\n").await?;
                reply(&mut conn, timeout).await?;
            } else {
                let mut data = body;
                data.extend_from_slice(b".\r\n");
                conn.1.write_all(&data).await?;
                for _ in 0..accepted {
                    let (code, text) = reply(&mut conn, timeout).await?;
                    if code >= 400 {
                        failure.get_or_insert(format!("after DATA: {}", text.trim_end()));
                    }
                }
            }
        } else {
            conn.1.write_all(b"RSET\r\n").await?;
            reply(&mut conn, timeout).await?;
        }
        let elapsed = started.elapsed();
        let mut s = stats.lock().await;
        match failure {
            None => s.latencies.push(elapsed),
            Some(f) => {
                s.errors += 1;
                s.first_error.get_or_insert(f);
            }
        }
    }
    conn.1.write_all(b"QUIT\r\n").await?;
    let _ = reply(&mut conn, timeout).await;
    Ok(())
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

#[tokio::main]
async fn main() {
    let args = Arc::new(Args::parse());
    if args.concurrency == 0 || args.rcpts_per_message == 0 {
        eprintln!("lmtp-bench: --concurrency and --rcpts-per-message must be at least 1");
        std::process::exit(2);
    }
    let next = Arc::new(AtomicU64::new(0));
    let stats = Arc::new(Mutex::new(Stats {
        latencies: Vec::with_capacity(args.count as usize),
        errors: 0,
        first_error: None,
    }));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..args.concurrency {
        tasks.push(tokio::spawn(client(
            args.clone(),
            next.clone(),
            stats.clone(),
        )));
    }
    let mut failed_clients = 0;
    for t in tasks {
        match t.await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                failed_clients += 1;
                eprintln!("lmtp-bench: a connection failed: {e}");
            }
            Err(e) => {
                failed_clients += 1;
                eprintln!("lmtp-bench: a connection task failed: {e}");
            }
        }
    }
    let elapsed = started.elapsed();
    let mut s = stats.lock().await;
    s.latencies.sort();
    let n = s.latencies.len();
    let pct = |p: f64| -> f64 {
        if n == 0 {
            return 0.0;
        }
        let i = ((n as f64 * p).ceil() as usize).clamp(1, n) - 1;
        ms(s.latencies[i])
    };
    println!(
        "{}:{} {} messages of ~{} bytes, {} connections, {} recipient(s) each",
        args.host, args.port, args.count, args.size, args.concurrency, args.rcpts_per_message
    );
    println!(
        "delivered {n} in {:.2} s: {:.1} messages/s; latency ms p50 {:.1} p90 {:.1} p99 {:.1} max {:.1}; errors {}; failed connections {failed_clients}",
        elapsed.as_secs_f64(),
        n as f64 / elapsed.as_secs_f64(),
        pct(0.50),
        pct(0.90),
        pct(0.99),
        s.latencies.last().copied().map(ms).unwrap_or(0.0),
        s.errors,
    );
    if let Some(e) = &s.first_error {
        println!("first error: {e}");
    }
    if s.errors > 0 || failed_clients > 0 {
        std::process::exit(1);
    }
}
