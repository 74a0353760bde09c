//! Forwarding through the outbound relay, against a real (in-process) SMTP sink: the 24 h
//! `forwards` limit is enforced and counted, the copies leave with an SRS envelope sender
//! (the null sender stays null), and nothing is queued without a relay. Runs on SQLite, and
//! on PostgreSQL too when SEALPOST_TEST_DATABASE_URL is set (in a database of its own).

use sealpost_core::outbound::{OutboundConfig, RelayConfig, StartTls};
use sealpost_core::{Core, CoreConfig, Error, NewUser};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

type Received = Arc<Mutex<Vec<(String, Vec<String>, Vec<u8>)>>>;

/// A minimal SMTP server keeping what it accepts.
async fn sink() -> (u16, Received) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let got: Received = Arc::default();
    let keep = got.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let keep = keep.clone();
            tokio::spawn(async move {
                let (r, mut w) = stream.into_split();
                let mut r = BufReader::new(r);
                w.write_all(b"220 sink ESMTP\r\n").await.unwrap();
                let (mut from, mut rcpts) = (String::new(), Vec::new());
                loop {
                    let mut line = String::new();
                    if r.read_line(&mut line).await.unwrap_or(0) == 0 {
                        return;
                    }
                    let upper = line.to_ascii_uppercase();
                    let arg = |l: &str| {
                        let a = l.split_once(':').map(|x| x.1).unwrap_or("").trim();
                        let a = a.split_whitespace().next().unwrap_or("");
                        a.trim_start_matches('<').trim_end_matches('>').to_string()
                    };
                    let reply: &[u8] = if upper.starts_with("EHLO") {
                        b"250-sink\r\n250-8BITMIME\r\n250 SIZE 10000000\r\n"
                    } else if upper.starts_with("MAIL FROM:") {
                        from = arg(&line);
                        b"250 ok\r\n"
                    } else if upper.starts_with("RCPT TO:") {
                        rcpts.push(arg(&line));
                        b"250 ok\r\n"
                    } else if upper.starts_with("DATA") {
                        w.write_all(b"354 go\r\n").await.unwrap();
                        let mut data = Vec::new();
                        while !data.ends_with(b"\r\n.\r\n") {
                            let mut b = [0u8; 1];
                            r.read_exact(&mut b).await.unwrap();
                            data.push(b[0]);
                        }
                        data.truncate(data.len() - 3);
                        keep.lock().unwrap().push((
                            std::mem::take(&mut from),
                            std::mem::take(&mut rcpts),
                            data,
                        ));
                        b"250 queued\r\n"
                    } else if upper.starts_with("QUIT") {
                        let _ = w.write_all(b"221 bye\r\n").await;
                        return;
                    } else {
                        b"250 ok\r\n"
                    };
                    w.write_all(reply).await.unwrap();
                }
            });
        }
    });
    (port, got)
}

/// A fresh database: SQLite in `dir`, or a new PostgreSQL database (dropped by the caller).
async fn database(dir: &std::path::Path, pg: bool) -> (Option<String>, Option<String>) {
    if !pg {
        return (None, None);
    }
    let admin = std::env::var("SEALPOST_TEST_DATABASE_URL").unwrap();
    let name = format!("sealpost_fwd_{}", sealpost_core::ObjectId::new());
    let pool = sqlx::PgPool::connect(&admin).await.unwrap();
    sqlx::query(&format!("CREATE DATABASE \"{name}\""))
        .execute(&pool)
        .await
        .unwrap();
    let base = admin.rsplit_once('/').unwrap().0;
    let _ = dir;
    (Some(format!("{base}/{name}")), Some(name))
}

async fn drop_database(name: Option<String>) {
    if let Some(name) = name {
        let admin = std::env::var("SEALPOST_TEST_DATABASE_URL").unwrap();
        let pool = sqlx::PgPool::connect(&admin).await.unwrap();
        let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
            .execute(&pool)
            .await;
    }
}

async fn open(dir: &std::path::Path, url: Option<String>, relay_port: Option<u16>) -> Core {
    let outbound = OutboundConfig {
        relay: relay_port.map(|port| RelayConfig {
            host: "127.0.0.1".into(),
            port,
            starttls: StartTls::Never,
            username: None,
            password: None,
            timeout: Duration::from_secs(10),
            helo_name: "test.example".into(),
            ca_file: None,
        }),
        retry_base: Duration::from_secs(1),
        retry_max: Duration::from_secs(1),
        ..OutboundConfig::default()
    };
    Core::open(CoreConfig {
        data_dir: dir.to_path_buf(),
        database_url: url,
        domain: "example.test".into(),
        outbound,
        ..CoreConfig::default()
    })
    .await
    .unwrap()
}

const RAW: &[u8] =
    b"From: alice@origin.test\r\nTo: bob@example.test\r\nSubject: fwd\r\n\r\nHello\r\n";

async fn forward_limit_and_srs(pg: bool) {
    let dir = std::env::temp_dir().join(format!("sealpost-fwd-{}", sealpost_core::ObjectId::new()));
    let (url, db) = database(&dir, pg).await;
    let (port, got) = sink().await;
    let core = open(&dir, url, Some(port)).await;
    core.start_outbound_worker();
    let id = core
        .create_user(NewUser {
            username: "bob".into(),
            forwards: Some(2),
            ..NewUser::default()
        })
        .await
        .unwrap();
    let user = core.get_user(&id).await.unwrap();
    let fresh = core.forward_limit(&id).await.unwrap();
    assert_eq!((fresh.used, fresh.resets), (0, None));

    core.forward_copy(&user, "alice@origin.test", &["one@dest.test".into()], RAW)
        .await
        .unwrap();
    // Two more targets would exceed 2: refused, and nothing counted or queued.
    let refused = core
        .forward_copy(
            &user,
            "alice@origin.test",
            &["two@dest.test".into(), "three@dest.test".into()],
            RAW,
        )
        .await
        .unwrap_err();
    assert!(
        matches!(
            refused,
            Error::Forbidden {
                code: "RateLimitedError",
                ..
            }
        ),
        "{refused:?}"
    );
    assert_eq!(core.forward_limit(&id).await.unwrap().used, 1);
    core.forward_copy(&user, "", &["two@dest.test".into()], RAW)
        .await
        .unwrap();
    let state = core.forward_limit(&id).await.unwrap();
    assert_eq!(state.used, 2);
    assert!(state.resets.is_some());
    assert!(
        core.forward_copy(&user, "alice@origin.test", &["four@dest.test".into()], RAW)
            .await
            .is_err()
    );

    for _ in 0..600 {
        if got.lock().unwrap().len() >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let got = got.lock().unwrap().clone();
    assert_eq!(got.len(), 2, "{got:?}");
    let one = got.iter().find(|m| m.1 == ["one@dest.test"]).unwrap();
    assert!(
        one.0.starts_with("SRS0=") && one.0.ends_with("=origin.test=alice@example.test"),
        "{}",
        one.0
    );
    assert_eq!(
        core.srs_reverse(&one.0).await.unwrap().as_deref(),
        Some("alice@origin.test")
    );
    assert_eq!(one.2, RAW);
    let two = got.iter().find(|m| m.1 == ["two@dest.test"]).unwrap();
    assert_eq!(two.0, "", "a bounce is forwarded with the null sender");
    assert!(
        got.iter()
            .all(|m| m.1 != ["four@dest.test"] && m.1.len() == 1)
    );
    // Sent rows leave the queue (once the sink's 250 is read).
    let mut queue = core.outbound_queue(10).await.unwrap();
    for _ in 0..600 {
        if queue.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        queue = core.outbound_queue(10).await.unwrap();
    }
    assert!(queue.is_empty(), "{queue:?}");
    drop(core);
    drop_database(db).await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forward_limit_and_srs_sqlite() {
    forward_limit_and_srs(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forward_limit_and_srs_postgres() {
    if std::env::var("SEALPOST_TEST_DATABASE_URL").is_err() {
        eprintln!("SEALPOST_TEST_DATABASE_URL not set: PostgreSQL not tested");
        return;
    }
    forward_limit_and_srs(true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_is_queued_or_counted_without_a_relay() {
    let dir = std::env::temp_dir().join(format!("sealpost-fwd-{}", sealpost_core::ObjectId::new()));
    let core = open(&dir, None, None).await;
    let id = core
        .create_user(NewUser {
            username: "carol".into(),
            ..NewUser::default()
        })
        .await
        .unwrap();
    let user = core.get_user(&id).await.unwrap();
    let e = core
        .forward_copy(&user, "a@b.test", &["x@dest.test".into()], RAW)
        .await
        .unwrap_err();
    assert!(
        matches!(
            e,
            Error::Forbidden {
                code: "RelayNotConfigured",
                ..
            }
        ),
        "{e:?}"
    );
    assert_eq!(core.forward_limit(&id).await.unwrap().used, 0);
    assert!(core.outbound_queue(10).await.unwrap().is_empty());
    let _ = std::fs::remove_dir_all(&dir);
}
