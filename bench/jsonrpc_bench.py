#!/usr/bin/env python3
"""The JSON-RPC provisioning API under load: 1 account, D domains and N mail users made
through `POST /v1/`, then latency of `mail.list` (pages of 50 of the big domain) and
`domain.list`. Prints mail.add calls/s (split by how the password is given: `password`
costs an Argon2id hash on the server, `password_hash` an import) and p50/p99 in ms.

    cargo build --release -p sealpost
    python3 bench/jsonrpc_bench.py [--bin target/release/sealpost] [--domains 100] [--mails 10000]
        [--hashed-share 0.98] [--clients 8] [--samples 500] [--database-url postgres://...]

It starts its own server on a temporary data directory (SQLite unless --database-url),
bootstraps an admin with `sealpost jsonrpc-admin add`, and removes everything at the end.
Most mail users of the big domain go in; the rest are spread over the other domains.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import itertools
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

import requests

PW = "bench pass 1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Rpc:
    _ids = itertools.count(1)

    def __init__(self, url: str, auth: str | None = None):
        self.url = url
        self.http = requests.Session()
        if auth:
            self.http.headers["HPLS-AUTH"] = auth

    def call(self, method: str, params: dict):
        body = {"jsonrpc": "2.0", "method": method, "params": params, "id": next(self._ids)}
        r = self.http.post(self.url, json=body, timeout=120)
        r.raise_for_status()
        answer = r.json()
        if "error" in answer:
            raise RuntimeError(f"{method}: {answer['error']}")
        return answer["result"]


def seed_hash(data: str, database_url: str | None, username: str) -> str | None:
    """The Argon2id hash the server made for the seed user, to import for the others."""
    try:
        if database_url:
            out = subprocess.run(["psql", database_url, "-Atc",
                                  f"SELECT password FROM users WHERE username = '{username}'"],
                                 capture_output=True, text=True, check=True).stdout.strip()
            return out or None
        import sqlite3
        db = sqlite3.connect(f"file:{data}/sealpost.db?mode=ro", uri=True)
        row = db.execute("SELECT password FROM users WHERE username = ?", (username,)).fetchone()
        return row[0] if row else None
    except (OSError, subprocess.CalledProcessError, ImportError):
        return None


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default="target/release/sealpost")
    ap.add_argument("--domains", type=int, default=100)
    ap.add_argument("--mails", type=int, default=10_000)
    ap.add_argument("--hashed-share", type=float, default=0.98,
                    help="share of mail.add calls that import a password_hash instead of hashing a password")
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--samples", type=int, default=500)
    ap.add_argument("--database-url")
    args = ap.parse_args()

    data = tempfile.mkdtemp(prefix="jsonrpc-bench-")
    port = free_port()
    env = {**os.environ, "SEALPOST_API_LISTEN": f"127.0.0.1:{port}", "SEALPOST_LOG": "warn",
           "SEALPOST_DOMAIN": "bench.test", "SEALPOST_AUTH_MAX_FAILURES_PER_IP": "0"}
    for i, name in enumerate(["IMAP", "IMAPS", "POP3", "POP3S", "LMTP", "SMTP", "SUBMISSION", "SUBMISSIONS"]):
        env[f"SEALPOST_{name}_LISTEN"] = f"127.0.0.1:{free_port()}"
    if args.database_url:
        env["SEALPOST_DATABASE_URL"] = args.database_url
    subprocess.run([args.bin, "--data-dir", data, "jsonrpc-admin", "add", "bench", "--password-stdin"],
                   input="admin pw\n", text=True, env=env, check=True, capture_output=True)
    server = subprocess.Popen([args.bin, "--data-dir", data, "serve"], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        url = f"http://127.0.0.1:{port}/v1/"
        for _ in range(200):
            try:
                requests.post(url, json={"jsonrpc": "2.0", "method": "hello.world", "id": 1}, timeout=1)
                break
            except requests.ConnectionError:
                time.sleep(0.1)
        auth = Rpc(url).call("auth", {"user": "bench", "pass": "admin pw"})["session"]
        rpc = Rpc(url, auth)
        rpc.call("account.add", {"account": "benchacct", "password": PW, "plan": "reseller"})
        domains = [f"d{i:03d}.bench.example" for i in range(args.domains)]
        for d in domains:
            rpc.call("domain.add", {"account": "benchacct", "domain": d, "password": PW})
        big = domains[0]
        # An Argon2id hash to import (what a provider migrating users does).
        rpc.call("mail.add", {"mail": f"seed@{big}", "password": PW, "plan": "light"})
        hashed = seed_hash(data, args.database_url, f"seed@{big}")
        n_hashed = int(args.mails * args.hashed_share) if hashed else 0
        jobs = []
        for i in range(args.mails - 1):
            domain = big if i < args.mails * 0.9 else domains[1 + i % max(1, len(domains) - 1)]
            params = {"mail": f"u{i:05d}@{domain}", "plan": "light", "first_name": f"F{i}", "last_name": f"L{i}"}
            if i < n_hashed:
                params["password_hash"] = hashed
            else:
                params["password"] = PW
            jobs.append(params)

        def add(params):
            t = time.perf_counter()
            Rpc(url, auth).call("mail.add", params)
            return ("password_hash" in params), time.perf_counter() - t

        t0 = time.perf_counter()
        with concurrent.futures.ThreadPoolExecutor(args.clients) as pool:
            results = list(pool.map(add, jobs))
        wall = time.perf_counter() - t0
        by_kind = {True: [d for h, d in results if h], False: [d for h, d in results if not h]}
        print(f"engine: {'postgres' if args.database_url else 'sqlite'}; {args.domains} domains, "
              f"{args.mails} mail users ({sum(1 for j in jobs if j.get('password_hash')) } with password_hash), "
              f"{args.clients} clients")
        print(f"mail.add: {len(results) / wall:.1f} calls/s overall ({wall:.1f} s)")
        for kind, label in [(True, "password_hash"), (False, "password (Argon2id on the server)")]:
            d = by_kind[kind]
            if d:
                print(f"  with {label}: {len(d)} calls, p50 {pct(d, 50) * 1000:.1f} ms, p99 {pct(d, 99) * 1000:.1f} ms, "
                      f"~{args.clients / statistics.mean(d):.1f} calls/s at {args.clients} clients")
        count = Rpc(url, auth).call("domain.list", {"account": "benchacct"})
        big_count = next(x["count_mails"] for x in count if x["domain"] == big)
        pages = max(1, big_count // 50)
        lat = []
        for i in range(args.samples):
            t = time.perf_counter()
            rpc.call("mail.list", {"domain": big, "page_size": 50, "page": 1 + (i * 37) % pages})
            lat.append(time.perf_counter() - t)
        print(f"mail.list (page of 50, domain of {big_count}): p50 {pct(lat, 50) * 1000:.2f} ms, "
              f"p99 {pct(lat, 99) * 1000:.2f} ms over {len(lat)} calls")
        lat = []
        for _ in range(args.samples):
            t = time.perf_counter()
            rpc.call("domain.list", {"account": "benchacct"})
            lat.append(time.perf_counter() - t)
        print(f"domain.list ({len(count)} domains): p50 {pct(lat, 50) * 1000:.2f} ms, "
              f"p99 {pct(lat, 99) * 1000:.2f} ms over {len(lat)} calls")
    finally:
        server.terminate()
        server.wait(timeout=30)
        shutil.rmtree(data, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
