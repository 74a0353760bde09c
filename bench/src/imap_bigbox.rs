//! imap-bigbox: big-mailbox and idle-connection figures of an IMAP server (issue 3 targets:
//! SELECT of a 100,000-message mailbox ≤ 100 ms, `UID FETCH 1:* (FLAGS)` on it ≤ 300 ms,
//! 10,000 idle authenticated connections with server RSS ≤ 500 MB).
//!
//! Plain IMAP over TCP only, so it runs against any server (Sealpost, Dovecot).
//!
//!     # fill INBOX up to 100,000 messages (APPEND on --append-connections connections;
//!     # nothing is appended when it already holds that many), then time SELECT/FETCH/STORE
//!     imap-bigbox --port 1143 --user big --password secret --populate 100000
//!     # hold 10,000 logged-in connections (each SELECTs INBOX and IDLEs) and print the
//!     # server's RSS; both processes need `ulimit -n` above the connection count
//!     imap-bigbox --port 1143 --user idle --password secret --idle-connections 10000 \
//!         --select --idle --server-pid $(pidof sealpost)

use clap::Parser;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};

#[derive(Parser)]
struct Args {
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
    #[arg(long, default_value_t = 1143)]
    port: u16,
    #[arg(long)]
    user: String,
    #[arg(long)]
    password: String,
    #[arg(long, default_value = "INBOX")]
    mailbox: String,
    /// Append messages until the mailbox holds this many.
    #[arg(long)]
    populate: Option<u32>,
    /// Connections appending at once (the server can group-commit their messages).
    #[arg(long, default_value_t = 32)]
    append_connections: usize,
    /// Timed runs of each measured command.
    #[arg(long, default_value_t = 7)]
    runs: usize,
    /// Instead of timing commands: open this many connections, log each in and hold them.
    #[arg(long)]
    idle_connections: Option<usize>,
    /// With --idle-connections: SELECT the mailbox on each connection.
    #[arg(long)]
    select: bool,
    /// With --idle-connections: enter IDLE on each connection.
    #[arg(long)]
    idle: bool,
    /// With --idle-connections: connections being opened at once.
    #[arg(long, default_value_t = 64)]
    connect_concurrency: usize,
    /// With --idle-connections: seconds to hold the connections after the RSS is read.
    #[arg(long, default_value_t = 0)]
    hold: u64,
    /// Server process whose RSS is printed (read from /proc/<pid>/status).
    #[arg(long)]
    server_pid: Option<u32>,
}

type Result<T> = std::result::Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// A minimal IMAP client: tagged commands, responses read line by line (literals skipped).
struct Client {
    reader: BufReader<OwnedReadHalf>,
    writer: OwnedWriteHalf,
    next_tag: u32,
}

fn quote(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

impl Client {
    async fn connect(host: &str, port: u16) -> Result<Client> {
        let stream = TcpStream::connect((host, port)).await?;
        stream.set_nodelay(true)?;
        let (r, w) = stream.into_split();
        let mut client = Client {
            reader: BufReader::with_capacity(2048, r),
            writer: w,
            next_tag: 0,
        };
        let greeting = client.line().await?;
        if !greeting.starts_with("* OK") && !greeting.starts_with("* PREAUTH") {
            return Err(format!("greeting: {greeting}").into());
        }
        Ok(client)
    }

    /// One response line (with any literal's bytes skipped, the line continued after it).
    async fn line(&mut self) -> Result<String> {
        let mut out = String::new();
        loop {
            let mut raw = Vec::new();
            let n = self.reader.read_until(b'\n', &mut raw).await?;
            if n == 0 {
                return Err("connection closed".into());
            }
            let text = String::from_utf8_lossy(&raw);
            let text = text.trim_end_matches(['\r', '\n']);
            out.push_str(text);
            let literal = text
                .strip_suffix('}')
                .and_then(|t| t.rsplit_once('{'))
                .and_then(|(_, n)| n.trim_end_matches('+').parse::<u64>().ok());
            match literal {
                Some(len) => {
                    let mut skip = (&mut self.reader).take(len);
                    tokio::io::copy(&mut skip, &mut tokio::io::sink()).await?;
                }
                None => return Ok(out),
            }
        }
    }

    async fn send(&mut self, bytes: &[u8]) -> Result<()> {
        self.writer.write_all(bytes).await?;
        Ok(())
    }

    /// Runs a command; returns the number of untagged lines and the tagged line.
    async fn command(&mut self, text: &str) -> Result<(usize, String)> {
        self.next_tag += 1;
        let tag = format!("a{}", self.next_tag);
        self.send(format!("{tag} {text}\r\n").as_bytes()).await?;
        self.finish(&tag).await
    }

    async fn finish(&mut self, tag: &str) -> Result<(usize, String)> {
        let mut untagged = 0;
        loop {
            let line = self.line().await?;
            if let Some(rest) = line.strip_prefix(tag).and_then(|r| r.strip_prefix(' ')) {
                if rest.starts_with("OK") {
                    return Ok((untagged, line));
                }
                return Err(format!("{tag}: {line}").into());
            }
            untagged += 1;
        }
    }

    /// Runs a command and returns its untagged lines too.
    async fn command_lines(&mut self, text: &str) -> Result<Vec<String>> {
        self.next_tag += 1;
        let tag = format!("a{}", self.next_tag);
        self.send(format!("{tag} {text}\r\n").as_bytes()).await?;
        let mut lines = Vec::new();
        loop {
            let line = self.line().await?;
            if let Some(rest) = line.strip_prefix(&tag).and_then(|r| r.strip_prefix(' ')) {
                if rest.starts_with("OK") {
                    return Ok(lines);
                }
                return Err(format!("{tag}: {line}").into());
            }
            lines.push(line);
        }
    }

    async fn login(&mut self, user: &str, password: &str) -> Result<()> {
        self.command(&format!("LOGIN {} {}", quote(user), quote(password)))
            .await?;
        Ok(())
    }
}

fn exists_of(lines: &[String]) -> Option<u32> {
    lines.iter().find_map(|l| {
        l.strip_prefix("* ")?
            .strip_suffix(" EXISTS")?
            .parse::<u32>()
            .ok()
    })
}

/// A small unique message (the Message-ID and a line of the body differ).
fn message(n: u32) -> Vec<u8> {
    format!(
        "From: Bench Sender <sender@example.test>\r\nTo: big@example.test\r\n\
         Subject: Big mailbox message {n}\r\nMessage-ID: <bigbox-{n}-{}@example.test>\r\n\
         Date: Mon, 23 Nov 2026 10:00:00 +0000\r\nMIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=us-ascii\r\n\r\n\
         This is message number {n} of the big mailbox benchmark.\r\nIt has two lines.\r\n",
        std::process::id()
    )
    .into_bytes()
}

async fn populate(args: &Args, target: u32) -> Result<()> {
    let mut probe = Client::connect(&args.host, args.port).await?;
    probe.login(&args.user, &args.password).await?;
    let lines = probe
        .command_lines(&format!("EXAMINE {}", quote(&args.mailbox)))
        .await?;
    let have = exists_of(&lines).unwrap_or(0);
    let _ = probe.command("LOGOUT").await;
    if have >= target {
        println!("populate: {have} messages already there");
        return Ok(());
    }
    let missing = target - have;
    println!(
        "populate: appending {missing} messages on {} connections",
        args.append_connections
    );
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..args.append_connections.max(1) {
        let (host, port, user, password, mailbox) = (
            args.host.clone(),
            args.port,
            args.user.clone(),
            args.password.clone(),
            args.mailbox.clone(),
        );
        let next = next.clone();
        tasks.push(tokio::spawn(async move {
            let mut c = Client::connect(&host, port).await?;
            c.login(&user, &password).await?;
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= missing as usize {
                    break;
                }
                if i > 0 && i.is_multiple_of(10_000) {
                    println!(
                        "  {i} appended ({:.0}/s)",
                        i as f64 / started.elapsed().as_secs_f64()
                    );
                }
                let body = message(have + i as u32 + 1);
                c.next_tag += 1;
                let tag = format!("p{}", c.next_tag);
                // LITERAL+: the message follows the command line without a continuation.
                let mut cmd = format!("{tag} APPEND {} {{{}+}}\r\n", quote(&mailbox), body.len())
                    .into_bytes();
                cmd.extend_from_slice(&body);
                cmd.extend_from_slice(b"\r\n");
                c.send(&cmd).await?;
                c.finish(&tag).await?;
            }
            let _ = c.command("LOGOUT").await;
            Result::Ok(())
        }));
    }
    for t in tasks {
        t.await??;
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "populate: {missing} messages in {secs:.1} s ({:.0}/s)",
        f64::from(missing) / secs
    );
    Ok(())
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn report(name: &str, mut samples: Vec<Duration>) {
    samples.sort();
    let p50 = samples.get(samples.len() / 2).copied().unwrap_or_default();
    let min = samples.first().copied().unwrap_or_default();
    let max = samples.last().copied().unwrap_or_default();
    println!(
        "{name:<34} runs {:>3}  min {:>8.1} ms  p50 {:>8.1} ms  max {:>8.1} ms",
        samples.len(),
        ms(min),
        ms(p50),
        ms(max)
    );
}

async fn measure(args: &Args) -> Result<()> {
    let mut c = Client::connect(&args.host, args.port).await?;
    c.login(&args.user, &args.password).await?;
    let select = format!("SELECT {}", quote(&args.mailbox));
    let t = Instant::now();
    let lines = c.command_lines(&select).await?;
    let first = t.elapsed();
    let exists = exists_of(&lines).unwrap_or(0);
    println!("mailbox {} holds {exists} messages", args.mailbox);
    // The server may keep mailbox views in memory: right after its start this is the
    // cold SELECT (read from the database), the timed runs below the warm ones.
    println!(
        "{:<34} {:>8.1} ms (cold when the server has just started)",
        "first SELECT",
        ms(first)
    );
    let (mut sel, mut fetch, mut store, mut noop) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for _ in 0..args.runs {
        let t = Instant::now();
        c.command(&select).await?;
        sel.push(t.elapsed());
        let t = Instant::now();
        let (n, _) = c.command("UID FETCH 1:* (FLAGS)").await?;
        fetch.push(t.elapsed());
        if n < exists as usize {
            return Err(format!("UID FETCH returned {n} lines for {exists} messages").into());
        }
        // One flag change and back: the cost of a small change on a big mailbox (the
        // session's own change comes back through its journal read).
        for op in ["+FLAGS.SILENT", "-FLAGS.SILENT"] {
            let t = Instant::now();
            c.command(&format!("STORE {exists} {op} (\\Flagged)"))
                .await?;
            store.push(t.elapsed());
        }
        let t = Instant::now();
        c.command("NOOP").await?;
        noop.push(t.elapsed());
    }
    report("SELECT", sel);
    report("UID FETCH 1:* (FLAGS)", fetch);
    report("STORE one message's flag", store);
    report("NOOP", noop);
    let _ = c.command("LOGOUT").await;
    Ok(())
}

/// VmRSS and VmHWM of a process, in KiB.
fn rss(pid: u32) -> Option<(u64, u64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| -> Option<u64> {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))?
            .split_whitespace()
            .next()?
            .parse()
            .ok()
    };
    Some((field("VmRSS:")?, field("VmHWM:")?))
}

fn print_rss(when: &str, pid: Option<u32>) {
    if let Some(pid) = pid {
        match rss(pid) {
            Some((rss, hwm)) => println!(
                "server RSS {when}: {:.1} MiB (peak {:.1} MiB)",
                rss as f64 / 1024.0,
                hwm as f64 / 1024.0
            ),
            None => println!("server RSS {when}: /proc/{pid}/status unreadable"),
        }
    }
}

async fn hold_idle(args: &Args, n: usize) -> Result<()> {
    print_rss("before", args.server_pid);
    let started = Instant::now();
    let gate = Arc::new(tokio::sync::Semaphore::new(args.connect_concurrency.max(1)));
    let mut tasks = Vec::with_capacity(n);
    for _ in 0..n {
        let gate = gate.clone();
        let (host, port, user, password, mailbox) = (
            args.host.clone(),
            args.port,
            args.user.clone(),
            args.password.clone(),
            args.mailbox.clone(),
        );
        let (select, idle) = (args.select, args.idle);
        tasks.push(tokio::spawn(async move {
            let _permit = gate.acquire().await?;
            let mut c = Client::connect(&host, port).await?;
            c.login(&user, &password).await?;
            if select {
                c.command(&format!("SELECT {}", quote(&mailbox))).await?;
            }
            if idle {
                c.send(b"i IDLE\r\n").await?;
                let line = c.line().await?;
                if !line.starts_with('+') {
                    return Err(format!("IDLE: {line}").into());
                }
            }
            Result::Ok(c)
        }));
    }
    let mut clients = Vec::with_capacity(n);
    let mut failed = 0usize;
    let mut first_error = None;
    for t in tasks {
        match t.await? {
            Ok(c) => clients.push(c),
            Err(e) => {
                failed += 1;
                first_error.get_or_insert(e.to_string());
            }
        }
    }
    println!(
        "{} connections logged in{}{} in {:.1} s; {failed} failed{}",
        clients.len(),
        if args.select { ", SELECTed" } else { "" },
        if args.idle { ", IDLE" } else { "" },
        started.elapsed().as_secs_f64(),
        first_error
            .map(|e| format!(" (first: {e})"))
            .unwrap_or_default()
    );
    // Let the server settle (allocator, tasks) before reading its RSS.
    tokio::time::sleep(Duration::from_secs(2)).await;
    print_rss("holding", args.server_pid);
    if let Some((rss, _)) = args.server_pid.and_then(rss)
        && !clients.is_empty()
    {
        println!(
            "  {:.1} KiB per connection (whole process RSS / connections)",
            rss as f64 / clients.len() as f64
        );
    }
    tokio::time::sleep(Duration::from_secs(args.hold)).await;
    drop(clients);
    Ok(())
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::parse();
    if let Some(n) = args.idle_connections {
        return hold_idle(&args, n).await;
    }
    if let Some(target) = args.populate {
        populate(&args, target).await?;
    }
    print_rss("before", args.server_pid);
    measure(&args).await?;
    print_rss("after", args.server_pid);
    Ok(())
}
