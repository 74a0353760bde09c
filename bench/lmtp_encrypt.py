"""LMTP deliveries per second with encryption at rest off and on, against a running Sealpost
(`--lmtp-port`, `--api` base URL): makes USERS plain users and USERS users with a gpg-made
Curve25519 `pubKey` and `encryptMessages`, then delivers `--count` messages of `--size` bytes
from `--concurrency` threads (one LMTP connection each) to each group in turn, `--runs`
rounds, and prints messages per second. No Rust build needed (bench/lmtp_encrypt.sh is the
same with lmtp-bench). Target: encrypted >= 50% of plain.

    python3 bench/lmtp_encrypt.py --lmtp-port 2424 --api http://127.0.0.1:8080
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import smtplib
import subprocess
import tempfile
import threading
import time
import urllib.request


def post(api: str, path: str, body: dict) -> dict:
    req = urllib.request.Request(api + path, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.load(r)


def gpg_pubkey() -> str:
    home = tempfile.mkdtemp(prefix="lmtp-encrypt-gpg-")
    os.chmod(home, 0o700)
    base = ["gpg", "--homedir", home, "--batch", "--pinentry-mode", "loopback", "--passphrase", "bench"]
    subprocess.run(base + ["--quick-gen-key", "Bench <bench@bench.test>", "future-default", "default", "never"],
                   check=True, capture_output=True)
    out = subprocess.run(base + ["--armor", "--export", "bench@bench.test"], check=True, capture_output=True).stdout
    subprocess.run(["gpgconf", "--homedir", home, "--kill", "all"], capture_output=True)
    return out.decode()


def message(size: int) -> bytes:
    head = (f"From: bench@remote.test\r\nTo: someone@bench.test\r\nSubject: bench {secrets.token_hex(4)}\r\n"
            f"Message-ID: <{secrets.token_hex(8)}@remote.test>\r\nDate: Tue, 24 Nov 2026 01:00:00 +0000\r\n"
            "Content-Type: text/plain\r\n\r\n")
    line = "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor.\r\n"
    body = (line * (size // len(line) + 1))[: max(0, size - len(head))]
    return (head + body).encode()


def run(port: int, rcpts: list[str], count: int, concurrency: int, size: int) -> float:
    per = count // concurrency
    errors: list[str] = []

    def worker(n: int) -> None:
        c = smtplib.LMTP("127.0.0.1", port, timeout=60)
        try:
            for i in range(per):
                refused = c.sendmail("bench@remote.test", [rcpts[(n + i) % len(rcpts)]], message(size))
                if refused:
                    errors.append(str(refused))
        finally:
            c.quit()

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(concurrency)]
    start = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - start
    assert not errors, errors[:3]
    return per * concurrency / elapsed


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--lmtp-port", type=int, default=2424)
    ap.add_argument("--api", default="http://127.0.0.1:8080")
    ap.add_argument("--domain", default="example.test")
    ap.add_argument("--users", type=int, default=4)
    ap.add_argument("--count", type=int, default=1000)
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--size", type=int, default=4096)
    ap.add_argument("--runs", type=int, default=3)
    a = ap.parse_args()
    key = gpg_pubkey()
    tag = secrets.token_hex(3)
    plain, enc = [], []
    for n in range(a.users):
        for group, extra in ((plain, {}), (enc, {"pubKey": key, "encryptMessages": True})):
            name = f"{'enc' if extra else 'plain'}{tag}{n}"
            addr = f"{name}@{a.domain}"
            post(a.api, "/users", {"username": name, "password": "benchpass", "address": addr, **extra})
            group.append(addr)
    for r in range(1, a.runs + 1):
        p = run(a.lmtp_port, plain, a.count, a.concurrency, a.size)
        e = run(a.lmtp_port, enc, a.count, a.concurrency, a.size)
        print(f"run {r}: plain {p:.0f} msgs/s, encrypted {e:.0f} msgs/s, encrypted/plain {e / p:.0%}", flush=True)


if __name__ == "__main__":
    main()
