#!/usr/bin/env python3
"""Submission and outbound-queue throughput of a real `sealpost serve` on loopback.

- submissions/s: CLIENTS threads, each repeatedly opens an implicit-TLS connection to the
  submissions port, AUTHs once (PLAIN), sends MESSAGES messages (SIZE bytes, one remote
  recipient each), QUITs; until COUNT messages were accepted (each `250` means durably
  queued).
- relay throughput: `[relay]` points at an aiosmtpd sink in this process; the time from the
  first submission until the sink holds all COUNT messages (each DKIM signed with an RSA
  2048 key) gives the rate at which the queue drains while submissions arrive.

    cargo build [--release] -p sealpost
    python3 bench/submission_bench.py [--bin target/release/sealpost] [--count 2000]
        [--clients 8] [--messages 10] [--size 4096] [--database postgres://...]
"""

from __future__ import annotations

import argparse
import os
import smtplib
import ssl
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
import harness  # noqa: E402
from mail_fixtures import Sink  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--bin", default=str(harness.BIN))
    p.add_argument("--count", type=int, default=2000)
    p.add_argument("--clients", type=int, default=8)
    p.add_argument("--messages", type=int, default=10)
    p.add_argument("--size", type=int, default=4096)
    p.add_argument("--database", default=None, help="postgres://... (default: SQLite)")
    a = p.parse_args()
    harness.BIN = Path(a.bin)
    if a.database:
        harness.PG_URL = a.database
    engine = "postgres" if a.database else "sqlite"
    work = Path(tempfile.mkdtemp(prefix="submission-bench-"))
    instance = harness.Instance(work, engine, env={"SEALPOST_LOG": "warn"})
    sink = Sink().start()
    relay = {"SEALPOST_RELAY_HOST": "127.0.0.1", "SEALPOST_RELAY_PORT": str(sink.port),
             "SEALPOST_RELAY_STARTTLS": "false"}
    srv = instance.start(env=relay)
    api = srv.api()
    users = []
    for i in range(a.clients):
        name = f"bench{i}"
        r = api.post("/users", json={"username": name, "password": "bench password 1", "address": f"{name}@bench.test"})
        r.raise_for_status()
        users.append(name)
    key = api.post("/dkim", json={"domain": "bench.test", "selector": "bench"})
    key.raise_for_status()
    body = ("x" * 76 + "\r\n") * max(1, a.size // 78)
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    sent = 0
    errors = 0
    lock = threading.Lock()

    def client(name: str) -> None:
        nonlocal sent, errors
        while True:
            with lock:
                if sent >= a.count:
                    return
            try:
                c = smtplib.SMTP_SSL("127.0.0.1", srv.submissions_port, timeout=60, context=ctx)
                c.login(name, "bench password 1")
                for n in range(a.messages):
                    with lock:
                        if sent >= a.count:
                            break
                        sent += 1
                        seq = sent
                    rcpt = f"rcpt{seq}@remote.bench"
                    msg = (f"From: <{name}@bench.test>\r\nTo: <{rcpt}>\r\nSubject: bench {seq}\r\n\r\n{body}").encode()
                    c.sendmail(f"{name}@bench.test", [rcpt], msg)
                c.quit()
            except Exception as e:  # counted, the run goes on
                with lock:
                    errors += 1
                print("error:", e, file=sys.stderr)

    start = time.monotonic()
    threads = [threading.Thread(target=client, args=(u,)) for u in users]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - start
    print(f"engine {engine}, {a.clients} clients, {a.messages} messages per AUTH, {a.size} bytes")
    print(f"submissions: {sent} in {elapsed:.2f} s = {sent / elapsed:.0f} msgs/s "
          f"({sent / a.messages / elapsed:.1f} AUTH connections/s), errors {errors}")
    while len(sink.messages) < sent and time.monotonic() - start < 600:
        time.sleep(0.02)
    drained = time.monotonic() - start
    signed = sum(1 for m in sink.messages if m[2].startswith(b"DKIM-Signature:"))
    print(f"relay: {len(sink.messages)} of {sent} relayed {drained:.2f} s after the first submission = "
          f"{len(sink.messages) / drained:.0f} msgs/s, {signed} DKIM-signed")
    srv.stop()
    sink.stop()
    instance.cleanup()


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
