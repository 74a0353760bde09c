//! store-bench: loads N messages of realistic sizes into one mailbox through `core` (the same
//! path as a REST upload, group commit included) and prints ingest rate, latency percentiles
//! of the newest-page listing, of getting one message and of an account-wide search, and RSS.
//!
//!     cargo run --release -p sealpost-bench --bin store-bench -- --messages 100000
//!     cargo run --release -p sealpost-bench --bin store-bench -- --database-url postgres://postgres@127.0.0.1/bench

use clap::Parser;
use rand::{Rng, SeedableRng, rngs::StdRng};
use sealpost_core::{Core, CoreConfig, Cursor, NewUser, Order, PageRequest, UploadOptions};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Parser)]
struct Args {
    /// Messages to load.
    #[arg(long, default_value_t = 100_000)]
    messages: usize,
    /// Concurrent uploaders.
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
    /// Data directory (a fresh temporary one by default).
    #[arg(long)]
    data_dir: Option<std::path::PathBuf>,
    /// PostgreSQL URL (SQLite in the data directory when absent).
    #[arg(long)]
    database_url: Option<String>,
    /// Samples per latency measurement.
    #[arg(long, default_value_t = 200)]
    samples: usize,
    /// Messages smaller than this many bytes are stored in the database, larger ones as
    /// files (`SEALPOST_INLINE_MAX`; the server's default when absent).
    #[arg(long)]
    inline_max: Option<u64>,
}

const WORDS: &[&str] = &[
    "meeting", "invoice", "project", "report", "budget", "schedule", "update", "review", "design",
    "release", "customer", "server", "mailbox", "quarter", "travel", "contract", "draft",
    "summary", "agenda", "feedback", "launch", "security", "holiday", "payment", "order",
    "shipment", "ticket", "support", "question", "answer", "the", "and", "with", "for", "about",
    "please", "thanks", "regards", "tomorrow", "today", "week", "month", "team", "office",
    "network", "storage",
];

/// Appends `n` random words, separated by spaces.
fn push_words(rng: &mut StdRng, n: usize, out: &mut String) {
    for k in 0..n {
        if k > 0 {
            out.push(' ');
        }
        out.push_str(WORDS[rng.gen_range(0..WORDS.len())]);
    }
}

/// A message of realistic size: mostly 2-20 KB of text, one in ten carries a 50-200 KB
/// attachment.
fn message(rng: &mut StdRng, i: usize) -> Vec<u8> {
    let mut subject = String::new();
    push_words(rng, 5, &mut subject);
    let lines = rng.gen_range(30..300);
    let mut body = String::new();
    for _ in 0..lines {
        push_words(rng, 10, &mut body);
        body.push_str("\r\n");
    }
    if i % 1000 == 7 {
        body.push_str("needle-term-xyzzy\r\n");
    }
    let mut m = format!(
        "From: Sender {i} <sender{i}@example.com>\r\nTo: bench@example.com\r\nSubject: {subject}\r\n\
         Date: Mon, 2 Nov 2026 10:00:00 +0000\r\nMessage-ID: <bench.{i}@example.com>\r\nMIME-Version: 1.0\r\n"
    );
    if rng.gen_ratio(1, 10) {
        let size = rng.gen_range(50_000..200_000) / 76 * 57;
        let att: String = (0..size * 4 / 3 / 76)
            .map(|_| "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlqa2xtbm9wcXJzdHV2d3h5ejAx\r\n")
            .collect();
        m.push_str(&format!(
            "Content-Type: multipart/mixed; boundary=\"b{i}\"\r\n\r\n--b{i}\r\nContent-Type: text/plain\r\n\r\n{body}\r\n--b{i}\r\n\
             Content-Type: application/octet-stream; name=\"file{i}.bin\"\r\nContent-Transfer-Encoding: base64\r\n\
             Content-Disposition: attachment; filename=\"file{i}.bin\"\r\n\r\n{att}--b{i}--\r\n"
        ));
    } else {
        m.push_str(&format!(
            "Content-Type: text/plain; charset=utf-8\r\n\r\n{body}"
        ));
    }
    m.into_bytes()
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx.min(sorted.len() - 1)].as_secs_f64() * 1000.0
}

async fn measure<F, Fut>(samples: usize, mut f: F) -> (f64, f64)
where
    F: FnMut(usize) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let mut times = Vec::with_capacity(samples);
    for i in 0..samples {
        let t = Instant::now();
        f(i).await;
        times.push(t.elapsed());
    }
    times.sort();
    (percentile(&times, 0.5), percentile(&times, 0.99))
}

fn rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map(|kb| kb / 1024.0)
        .unwrap_or(0.0)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let tmp = std::env::temp_dir().join(format!("sealpost-bench-{}", std::process::id()));
    let data_dir = args.data_dir.clone().unwrap_or_else(|| tmp.clone());
    let config = CoreConfig {
        data_dir: data_dir.clone(),
        database_url: args.database_url.clone(),
        default_quota: i64::MAX / 2,
        max_message_size: 1 << 30,
        ..CoreConfig::default()
    };
    let config = CoreConfig {
        inline_blob_max: args.inline_max.unwrap_or(config.inline_blob_max),
        ..config
    };
    let core = Core::open(config).await?;
    let user = core
        .create_user(NewUser {
            username: format!("bench{}", std::process::id()),
            password: Some("benchpass".into()),
            ..NewUser::default()
        })
        .await?;
    let inbox = core
        .find_mailbox(&user, "INBOX")
        .await?
        .ok_or("no INBOX")?
        .id;
    println!(
        "engine: {}  messages: {}  concurrency: {}",
        core.engine_name(),
        args.messages,
        args.concurrency
    );

    // Messages are generated on the fly (deterministically from their index) so that RSS
    // reflects the store, not the input; generation is cheap next to storing.
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let bytes = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..args.concurrency {
        let (core, user, inbox, next, bytes) = (
            core.clone(),
            user.clone(),
            inbox.clone(),
            next.clone(),
            bytes.clone(),
        );
        let total = args.messages;
        tasks.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= total {
                    break;
                }
                let raw = message(&mut StdRng::seed_from_u64(i as u64), i);
                bytes.fetch_add(raw.len(), std::sync::atomic::Ordering::Relaxed);
                if let Err(e) = core
                    .upload_message(&user, &inbox, raw, UploadOptions::default())
                    .await
                {
                    eprintln!("upload failed: {e}");
                }
            }
        }));
    }
    for t in tasks {
        t.await?;
    }
    let bytes = bytes.load(std::sync::atomic::Ordering::Relaxed);
    let secs = start.elapsed().as_secs_f64();
    println!(
        "ingest: {:.0} msgs/s ({:.1} MB/s, {} messages, {:.1} MB in {:.1} s)",
        args.messages as f64 / secs,
        bytes as f64 / 1e6 / secs,
        args.messages,
        bytes as f64 / 1e6,
        secs
    );

    let page = PageRequest {
        limit: 250,
        cursor: Cursor::First,
    };
    let (p50, p99) = measure(args.samples, |_| {
        let (core, user, inbox, page) = (core.clone(), user.clone(), inbox.clone(), page.clone());
        async move {
            let p = core
                .list_messages(&user, &inbox, Order::Desc, &page)
                .await
                .expect("list");
            assert_eq!(p.results.len(), 250.min(args.messages));
        }
    })
    .await;
    println!("list newest 250: p50 {p50:.2} ms  p99 {p99:.2} ms");

    let n = args.messages as i64;
    let (p50, p99) = measure(args.samples, |i| {
        let (core, user, inbox) = (core.clone(), user.clone(), inbox.clone());
        async move {
            let uid = 1 + (i as i64 * 7919) % n.max(1);
            core.get_message(&user, &inbox, uid).await.expect("get");
        }
    })
    .await;
    println!("get one message: p50 {p50:.2} ms  p99 {p99:.2} ms");

    let (p50, p99) = measure(args.samples, |i| {
        let (core, user) = (core.clone(), user.clone());
        let q = ["needle-term-xyzzy", "invoice budget", "sender123"][i % 3];
        async move {
            core.search_messages(
                &user,
                q,
                &PageRequest {
                    limit: 20,
                    cursor: Cursor::First,
                },
            )
            .await
            .expect("search");
        }
    })
    .await;
    println!("account-wide search (page of 20): p50 {p50:.2} ms  p99 {p99:.2} ms");
    println!("RSS: {:.0} MB", rss_mb());
    if args.data_dir.is_none() {
        let _ = std::fs::remove_dir_all(&tmp);
    }
    Ok(())
}
