//! IMAP load program: N concurrent clients doing a mix of LOGIN, SELECT, FETCH (headers and
//! whole bodies), STORE, APPEND, SEARCH, NOOP and IDLE against any IMAP4rev1 server over
//! plain TCP, printing operations per second and latency percentiles per command.
//!
//! Only standard IMAP4rev1 (RFC 3501) is sent — synchronising literals, no extension — so the
//! same run can be made against Sealpost and Dovecot side by side (see `bench/README.md`).
//!
//! ```text
//! imap-bench --port 1143 --users 'bench{n}:secret' --user-count 4 --setup 1000
//! imap-bench --port 1143 --users 'bench{n}:secret' --user-count 4 --clients 20 --duration 30
//! ```
//!
//! Each client logs in as user `i % users`, SELECTs the mailbox, then picks commands at
//! random with the weights in [`MIX`] until the duration is over, and LOGOUTs. A command
//! answered NO or BAD counts as an error (and its latency is not recorded); a broken
//! connection ends that client and is reported.

use std::collections::BTreeMap;
use std::io;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::sync::Mutex;

#[derive(Parser, Debug)]
#[command(about = "IMAP load generator: per-command ops/s and latency percentiles")]
struct Args {
    /// Server host.
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
    /// Server port (plain text IMAP).
    #[arg(long, default_value_t = 143)]
    port: u16,
    /// Users: `name:password,name:password`, `@file` (one `name:password` a line), or a
    /// pattern with `{n}` (`bench{n}:secret`) expanded for n = 1..=--user-count.
    #[arg(long)]
    users: String,
    /// How many users a `{n}` pattern expands to.
    #[arg(long, default_value_t = 4)]
    user_count: usize,
    /// Concurrent client connections.
    #[arg(long, default_value_t = 20)]
    clients: usize,
    /// Length of the measured run, in seconds.
    #[arg(long, default_value_t = 30)]
    duration: u64,
    /// Mailbox the clients select (created by --setup when missing).
    #[arg(long, default_value = "INBOX")]
    mailbox: String,
    /// Before the run, APPEND seed messages until every user's mailbox holds this many
    /// (0: no setup). With --setup-only the program stops after it.
    #[arg(long, default_value_t = 0)]
    setup: u32,
    /// Stop after --setup, without a measured run.
    #[arg(long)]
    setup_only: bool,
    /// Milliseconds a client stays in IDLE before DONE.
    #[arg(long, default_value_t = 200)]
    idle_ms: u64,
    /// Command weights replacing the default mix, e.g. `fetch-headers=1,fetch-body=1` for
    /// reads only. Names: fetch-headers fetch-body store search append select noop idle.
    #[arg(long)]
    mix: Option<String>,
    /// Random seed (seed messages and the command mix).
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

/// The default command mix: command and relative weight.
const MIX: &[(Op, u32)] = &[
    (Op::FetchHeaders, 25),
    (Op::FetchBody, 20),
    (Op::Store, 20),
    (Op::Search, 10),
    (Op::Append, 8),
    (Op::Select, 5),
    (Op::Noop, 7),
    (Op::Idle, 5),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Op {
    Login,
    Select,
    FetchHeaders,
    FetchBody,
    Store,
    Search,
    Append,
    Noop,
    Idle,
    Logout,
}

impl Op {
    fn from_mix_name(name: &str) -> Option<Op> {
        Some(match name {
            "fetch-headers" => Op::FetchHeaders,
            "fetch-body" => Op::FetchBody,
            "store" => Op::Store,
            "search" => Op::Search,
            "append" => Op::Append,
            "select" => Op::Select,
            "noop" => Op::Noop,
            "idle" => Op::Idle,
            _ => return None,
        })
    }

    fn name(self) -> &'static str {
        match self {
            Op::Login => "LOGIN",
            Op::Select => "SELECT",
            Op::FetchHeaders => "FETCH headers (20 msgs)",
            Op::FetchBody => "FETCH BODY[] (1 msg)",
            Op::Store => "STORE flags",
            Op::Search => "SEARCH",
            Op::Append => "APPEND",
            Op::Noop => "NOOP",
            Op::Idle => "IDLE (+ and DONE)",
            Op::Logout => "LOGOUT",
        }
    }
}

#[derive(Default)]
struct Stats {
    /// Latencies in microseconds of successful commands.
    latencies: Vec<u32>,
    errors: u64,
}

type Results = Arc<Mutex<BTreeMap<Op, Stats>>>;

#[derive(Debug, PartialEq, Eq)]
enum Status {
    Ok,
    No,
    Bad,
}

fn other(message: impl Into<String>) -> io::Error {
    io::Error::other(message.into())
}

/// One IMAP connection: sends tagged commands and reads responses (literals included).
struct Conn {
    stream: BufReader<TcpStream>,
    next_tag: u64,
    /// Messages in the selected mailbox, from untagged EXISTS/EXPUNGE.
    exists: u32,
    /// Response bytes read, for the summary.
    bytes_in: u64,
    /// LOGOUT was sent: `* BYE` is expected.
    logging_out: bool,
}

/// The longest response line (literals excluded) the bench accepts.
const MAX_LINE: usize = 1 << 20;

impl Conn {
    async fn connect(addr: &str) -> io::Result<Conn> {
        let socket = TcpStream::connect(addr).await?;
        socket.set_nodelay(true)?;
        let mut conn = Conn {
            stream: BufReader::with_capacity(64 * 1024, socket),
            next_tag: 1,
            exists: 0,
            bytes_in: 0,
            logging_out: false,
        };
        let greeting = conn.response_line().await?;
        if !greeting.starts_with(b"* OK") && !greeting.starts_with(b"* PREAUTH") {
            return Err(other(format!(
                "unexpected greeting {:?}",
                String::from_utf8_lossy(&greeting)
            )));
        }
        Ok(conn)
    }

    async fn send(&mut self, data: &[u8]) -> io::Result<()> {
        self.stream.get_mut().write_all(data).await
    }

    /// One response line with the literals it announces (`{n}` at the end of a line).
    async fn response_line(&mut self) -> io::Result<Vec<u8>> {
        let mut line = Vec::new();
        loop {
            let start = line.len();
            let read = (&mut self.stream)
                .take(MAX_LINE as u64)
                .read_until(b'\n', &mut line)
                .await?;
            if read == 0 {
                return Err(other("connection closed by the server"));
            }
            if !line.ends_with(b"\n") {
                return Err(other("response line too long"));
            }
            self.bytes_in += read as u64;
            let Some(size) = literal_size(&line[start..]) else {
                return Ok(line);
            };
            let mut literal = vec![0u8; size];
            self.stream.read_exact(&mut literal).await?;
            self.bytes_in += size as u64;
            line.extend_from_slice(&literal);
        }
    }

    /// Reads until the tagged response of `tag`, noting EXISTS/EXPUNGE on the way.
    async fn until_tagged(&mut self, tag: &str) -> io::Result<Status> {
        loop {
            let line = self.response_line().await?;
            if line.starts_with(b"* ") {
                self.untagged(&line)?;
                continue;
            }
            if let Some(rest) = line
                .strip_prefix(tag.as_bytes())
                .and_then(|r| r.strip_prefix(b" "))
            {
                return Ok(if rest.starts_with(b"OK") {
                    Status::Ok
                } else if rest.starts_with(b"NO") {
                    Status::No
                } else {
                    Status::Bad
                });
            }
            // A continuation request we did not ask for, or another tag: a protocol error.
            return Err(other(format!(
                "unexpected response {:?}",
                String::from_utf8_lossy(&line[..line.len().min(200)])
            )));
        }
    }

    fn untagged(&mut self, line: &[u8]) -> io::Result<()> {
        let text = String::from_utf8_lossy(line);
        let mut words = text.split_ascii_whitespace().skip(1);
        let (first, second) = (words.next(), words.next());
        if first == Some("BYE") && !self.logging_out {
            return Err(other(format!("server said {}", text.trim_end())));
        }
        if let (Some(n), Some(kind)) = (first.and_then(|w| w.parse::<u32>().ok()), second) {
            if kind.eq_ignore_ascii_case("EXISTS") {
                self.exists = n;
            } else if kind.eq_ignore_ascii_case("EXPUNGE") {
                self.exists = self.exists.saturating_sub(1);
            }
        }
        Ok(())
    }

    fn tag(&mut self) -> String {
        let tag = format!("b{}", self.next_tag);
        self.next_tag += 1;
        tag
    }

    async fn command(&mut self, text: &str) -> io::Result<Status> {
        let tag = self.tag();
        self.send(format!("{tag} {text}\r\n").as_bytes()).await?;
        self.until_tagged(&tag).await
    }

    /// Reads lines until a continuation request (`+`); `Err(status)` when the command was
    /// answered instead.
    async fn until_continuation(&mut self, tag: &str) -> io::Result<Result<(), Status>> {
        loop {
            let line = self.response_line().await?;
            if line.starts_with(b"+") {
                return Ok(Ok(()));
            }
            if line.starts_with(b"* ") {
                self.untagged(&line)?;
                continue;
            }
            if line.starts_with(tag.as_bytes()) {
                let rest = &line[tag.len()..];
                return Ok(Err(if rest.starts_with(b" NO") {
                    Status::No
                } else {
                    Status::Bad
                }));
            }
            return Err(other("unexpected response while waiting for +"));
        }
    }

    /// APPEND with a synchronising literal (plain RFC 3501).
    async fn append(&mut self, mailbox: &str, flags: &str, message: &[u8]) -> io::Result<Status> {
        let tag = self.tag();
        let head = format!(
            "{tag} APPEND {} ({flags}) {{{}}}\r\n",
            quote(mailbox),
            message.len()
        );
        self.send(head.as_bytes()).await?;
        if let Err(status) = self.until_continuation(&tag).await? {
            return Ok(status);
        }
        let mut data = Vec::with_capacity(message.len() + 2);
        data.extend_from_slice(message);
        data.extend_from_slice(b"\r\n");
        self.send(&data).await?;
        self.until_tagged(&tag).await
    }

    /// IDLE for `wait`, then DONE. Returns the time spent on the protocol (until `+`, and
    /// from DONE to the tagged OK), without the wait itself.
    async fn idle(&mut self, wait: Duration) -> io::Result<(Status, Duration)> {
        let tag = self.tag();
        let started = Instant::now();
        self.send(format!("{tag} IDLE\r\n").as_bytes()).await?;
        if let Err(status) = self.until_continuation(&tag).await? {
            return Ok((status, started.elapsed()));
        }
        let entered = started.elapsed();
        // Updates pushed during IDLE are read after DONE, from the socket buffer.
        tokio::time::sleep(wait).await;
        let done = Instant::now();
        self.send(b"DONE\r\n").await?;
        let status = self.until_tagged(&tag).await?;
        Ok((status, entered + done.elapsed()))
    }
}

/// The size of a literal announced at the end of a response line.
fn literal_size(line: &[u8]) -> Option<usize> {
    let line = line.strip_suffix(b"\n")?;
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let body = line.strip_suffix(b"}")?;
    let open = body.iter().rposition(|&b| b == b'{')?;
    let digits = &body[open + 1..];
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(digits).ok()?.parse().ok()
}

/// A quoted string (the bench's own mailbox names and passwords; no CR/LF).
fn quote(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

const WORDS: &[&str] = &[
    "invoice", "meeting", "report", "holiday", "budget", "release", "server", "coffee", "project",
    "deadline", "review", "lunch", "contract", "update", "question", "photos",
];

/// A plausible text message of 1 to 12 KiB with a searchable subject.
fn seed_message(rng: &mut StdRng, n: u64) -> Vec<u8> {
    let word = WORDS[rng.gen_range(0..WORDS.len())];
    let from = WORDS[rng.gen_range(0..WORDS.len())];
    let day = rng.gen_range(1..=28);
    let mut text = format!(
        "From: {from} sender <{from}@example.com>\r\nTo: bench <bench@example.test>\r\n\
         Subject: {word} number {n}\r\nDate: {day} Mar 2024 10:{:02}:00 +0000\r\n\
         Message-ID: <bench-{n}-{}@example.com>\r\nMIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=us-ascii\r\n\r\n",
        n % 60,
        rng.r#gen::<u32>()
    );
    let lines = rng.gen_range(16..200);
    for i in 0..lines {
        let a = WORDS[(i + n as usize) % WORDS.len()];
        let b = WORDS[rng.gen_range(0..WORDS.len())];
        text.push_str(&format!(
            "Line {i} about the {a} and the {b}, nothing more to say.\r\n"
        ));
    }
    text.into_bytes()
}

fn parse_mix(text: Option<&str>) -> Result<Vec<(Op, u32)>, String> {
    let Some(text) = text else {
        return Ok(MIX.to_vec());
    };
    let mix: Vec<(Op, u32)> = text
        .split(',')
        .map(|item| {
            let (name, weight) = item.split_once('=').unwrap_or((item, "1"));
            let op = Op::from_mix_name(name.trim())
                .ok_or(format!("unknown command {name:?} in --mix"))?;
            let weight = weight
                .trim()
                .parse()
                .map_err(|_| format!("bad weight in {item:?}"))?;
            Ok((op, weight))
        })
        .collect::<Result<_, String>>()?;
    if mix.iter().map(|(_, w)| w).sum::<u32>() == 0 {
        return Err("--mix has no weight".into());
    }
    Ok(mix)
}

fn parse_users(args: &Args) -> Result<Vec<(String, String)>, String> {
    let entries: Vec<String> = if let Some(file) = args.users.strip_prefix('@') {
        std::fs::read_to_string(PathBuf::from(file))
            .map_err(|e| format!("{file}: {e}"))?
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(String::from)
            .collect()
    } else if args.users.contains("{n}") {
        (1..=args.user_count)
            .map(|n| args.users.replace("{n}", &n.to_string()))
            .collect()
    } else {
        args.users.split(',').map(String::from).collect()
    };
    let users: Vec<(String, String)> = entries
        .iter()
        .map(|e| {
            e.split_once(':')
                .map(|(u, p)| (u.to_string(), p.to_string()))
                .ok_or_else(|| format!("{e:?}: expected name:password"))
        })
        .collect::<Result<_, _>>()?;
    if users.is_empty() {
        return Err("no users".into());
    }
    Ok(users)
}

async fn login(conn: &mut Conn, user: &str, password: &str) -> io::Result<Status> {
    conn.command(&format!("LOGIN {} {}", quote(user), quote(password)))
        .await
}

/// Fills each user's mailbox up to `count` messages.
async fn setup(args: &Args, addr: &str, users: &[(String, String)]) -> io::Result<()> {
    let mut rng = StdRng::seed_from_u64(args.seed);
    for (user, password) in users {
        let mut conn = Conn::connect(addr).await?;
        if login(&mut conn, user, password).await? != Status::Ok {
            return Err(other(format!("LOGIN {user} failed")));
        }
        if conn
            .command(&format!("SELECT {}", quote(&args.mailbox)))
            .await?
            != Status::Ok
        {
            conn.command(&format!("CREATE {}", quote(&args.mailbox)))
                .await?;
            if conn
                .command(&format!("SELECT {}", quote(&args.mailbox)))
                .await?
                != Status::Ok
            {
                return Err(other(format!("cannot select {} as {user}", args.mailbox)));
            }
        }
        let started = Instant::now();
        let have = conn.exists;
        for n in have..args.setup {
            let message = seed_message(&mut rng, u64::from(n));
            let flags = if n % 3 == 0 { "" } else { "\\Seen" };
            if conn.append(&args.mailbox, flags, &message).await? != Status::Ok {
                return Err(other(format!("APPEND failed for {user}")));
            }
        }
        conn.logging_out = true;
        conn.command("LOGOUT").await.ok();
        println!(
            "setup {user}: had {have}, appended {} in {:.1} s",
            args.setup.saturating_sub(have),
            started.elapsed().as_secs_f64()
        );
    }
    Ok(())
}

async fn record(results: &Results, op: Op, status: Status, took: Duration) {
    let mut all = results.lock().await;
    let stats = all.entry(op).or_default();
    if status == Status::Ok {
        stats
            .latencies
            .push(u32::try_from(took.as_micros()).unwrap_or(u32::MAX));
    } else {
        stats.errors += 1;
    }
}

/// One client's session until `deadline`.
#[allow(clippy::too_many_arguments)]
async fn client(
    id: usize,
    addr: String,
    user: (String, String),
    mailbox: String,
    deadline: Instant,
    idle: Duration,
    seed: u64,
    mix: Arc<Vec<(Op, u32)>>,
    results: Results,
) -> io::Result<u64> {
    let mut rng = StdRng::seed_from_u64(seed.wrapping_add(id as u64 * 7919));
    let mut conn = Conn::connect(&addr).await?;
    let started = Instant::now();
    let status = login(&mut conn, &user.0, &user.1).await?;
    record(&results, Op::Login, status, started.elapsed()).await;
    let select = format!("SELECT {}", quote(&mailbox));
    let started = Instant::now();
    let status = conn.command(&select).await?;
    let selected = status == Status::Ok;
    record(&results, Op::Select, status, started.elapsed()).await;
    if !selected {
        return Err(other(format!("{}: cannot select {mailbox}", user.0)));
    }
    let total: u32 = mix.iter().map(|(_, w)| w).sum();
    let mut appended = 0u64;
    while Instant::now() < deadline {
        let mut pick = rng.gen_range(0..total);
        let mut op = Op::Noop;
        for &(candidate, weight) in mix.iter() {
            if pick < weight {
                op = candidate;
                break;
            }
            pick -= weight;
        }
        let exists = conn.exists;
        if exists == 0 && matches!(op, Op::FetchHeaders | Op::FetchBody | Op::Store) {
            op = Op::Noop;
        }
        let started = Instant::now();
        let (status, took) = match op {
            Op::FetchHeaders => {
                let first = rng.gen_range(1..=exists);
                let last = (first + 19).min(exists);
                let status = conn
                    .command(&format!(
                        "FETCH {first}:{last} (UID FLAGS RFC822.SIZE INTERNALDATE \
                         BODY.PEEK[HEADER.FIELDS (FROM TO SUBJECT DATE MESSAGE-ID)])"
                    ))
                    .await?;
                (status, started.elapsed())
            }
            Op::FetchBody => {
                let n = rng.gen_range(1..=exists);
                let status = conn.command(&format!("FETCH {n} (FLAGS BODY[])")).await?;
                (status, started.elapsed())
            }
            Op::Store => {
                let n = rng.gen_range(1..=exists);
                let sign = if rng.gen_bool(0.5) { '+' } else { '-' };
                let flag = if rng.gen_bool(0.5) {
                    "\\Flagged"
                } else {
                    "\\Seen"
                };
                let status = conn
                    .command(&format!("STORE {n} {sign}FLAGS ({flag})"))
                    .await?;
                (status, started.elapsed())
            }
            Op::Search => {
                let query = match rng.gen_range(0..4) {
                    0 => "SEARCH UNSEEN".to_string(),
                    1 => "SEARCH FLAGGED SINCE 1-Mar-2024".to_string(),
                    2 => format!(
                        "SEARCH SUBJECT {}",
                        quote(WORDS[rng.gen_range(0..WORDS.len())])
                    ),
                    _ => format!(
                        "SEARCH FROM {}",
                        quote(WORDS[rng.gen_range(0..WORDS.len())])
                    ),
                };
                let status = conn.command(&query).await?;
                (status, started.elapsed())
            }
            Op::Append => {
                let message = seed_message(&mut rng, 1_000_000 + appended);
                appended += 1;
                let status = conn.append(&mailbox, "", &message).await?;
                (status, started.elapsed())
            }
            Op::Select => {
                let status = conn.command(&select).await?;
                (status, started.elapsed())
            }
            Op::Noop => {
                let status = conn.command("NOOP").await?;
                (status, started.elapsed())
            }
            Op::Idle => conn.idle(idle).await?,
            Op::Login | Op::Logout => unreachable!("not in the mix"),
        };
        record(&results, op, status, took).await;
    }
    let started = Instant::now();
    conn.logging_out = true;
    let status = conn.command("LOGOUT").await?;
    record(&results, Op::Logout, status, started.elapsed()).await;
    Ok(conn.bytes_in)
}

fn percentile(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    f64::from(sorted[rank.min(sorted.len() - 1)]) / 1000.0
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let users = parse_users(&args)?;
    let mix = Arc::new(parse_mix(args.mix.as_deref())?);
    let addr = format!("{}:{}", args.host, args.port);
    if args.setup > 0 {
        setup(&args, &addr, &users).await?;
    }
    if args.setup_only {
        return Ok(());
    }
    let results: Results = Arc::default();
    let started = Instant::now();
    let deadline = started + Duration::from_secs(args.duration);
    let mut tasks = Vec::new();
    for id in 0..args.clients {
        tasks.push(tokio::spawn(client(
            id,
            addr.clone(),
            users[id % users.len()].clone(),
            args.mailbox.clone(),
            deadline,
            Duration::from_millis(args.idle_ms),
            args.seed,
            mix.clone(),
            results.clone(),
        )));
    }
    let mut failed = 0;
    let mut bytes_in = 0u64;
    for task in tasks {
        match task.await {
            Ok(Ok(bytes)) => bytes_in += bytes,
            Ok(Err(e)) => {
                failed += 1;
                eprintln!("client failed: {e}");
            }
            Err(e) => {
                failed += 1;
                eprintln!("client panicked: {e}");
            }
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    println!(
        "{addr}: {} clients, {} users, mailbox {}, {:.1} s, {:.1} MB read, {failed} clients failed",
        args.clients,
        users.len(),
        args.mailbox,
        elapsed,
        bytes_in as f64 / 1e6
    );
    println!(
        "{:<26} {:>8} {:>9} {:>7} {:>9} {:>9} {:>9} {:>9}",
        "command", "ops", "ops/s", "errors", "p50 ms", "p90 ms", "p99 ms", "max ms"
    );
    let mut all = results.lock().await;
    let mut total_ops = 0usize;
    for (op, stats) in all.iter_mut() {
        stats.latencies.sort_unstable();
        let ops = stats.latencies.len();
        total_ops += ops;
        println!(
            "{:<26} {:>8} {:>9.1} {:>7} {:>9.2} {:>9.2} {:>9.2} {:>9.2}",
            op.name(),
            ops,
            ops as f64 / elapsed,
            stats.errors,
            percentile(&stats.latencies, 50.0),
            percentile(&stats.latencies, 90.0),
            percentile(&stats.latencies, 99.0),
            percentile(&stats.latencies, 100.0),
        );
    }
    println!(
        "{:<26} {:>8} {:>9.1}",
        "all",
        total_ops,
        total_ops as f64 / elapsed
    );
    Ok(())
}
