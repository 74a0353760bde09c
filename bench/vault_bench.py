#!/usr/bin/env python3
"""Vault figures of a real `sealpost serve` on loopback.

- logins/s: LOGINS full GPGAuth logins one after another (stage 1, the token decrypted by
  GnuPG as a client does, stage 2 with the session cookie), wall time included.
- `GET /resources.json` p50/p99: a user with RESOURCES resources (each with its secret, one
  OpenPGP message encrypted to the user's key, reused), then REQUESTS listings.

    cargo build [--release] -p sealpost
    python3 bench/vault_bench.py [--bin target/release/sealpost] [--resources 5000]
        [--logins 50] [--requests 200] [--database postgres://...]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
import harness  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--bin", default=str(harness.BIN))
    p.add_argument("--resources", type=int, default=5000)
    p.add_argument("--logins", type=int, default=50)
    p.add_argument("--requests", type=int, default=200)
    p.add_argument("--database", default=None)
    a = p.parse_args()
    os.environ["SEALPOST_BIN"] = a.bin
    harness.BIN = Path(a.bin)
    if a.database:
        harness.PG_URL = a.database
    import requests

    from helpers import create_user
    from vault_helpers import Gpg, setup_account, vault_url

    base_dir = Path(tempfile.mkdtemp(prefix="vault-bench-"))
    inst = harness.Instance(base_dir, "postgres" if a.database else "sqlite")
    srv = inst.start()
    gpg = Gpg()
    try:
        api = srv.api()
        user = create_user(api)
        r = inst.run("vault", "invite", user.address)
        assert r.returncode == 0, r.stderr
        m = setup_account(srv, user.address, r.stdout.strip(), gpg)
        base = vault_url(srv)

        def login() -> requests.Session:
            s = requests.Session()
            r = s.post(f"{base}/auth/login.json", json={"gpg_auth": {"keyid": m.fpr}}, timeout=60)
            token = gpg.decrypt(urllib.parse.unquote(r.headers["X-GPGAuth-User-Auth-Token"]))
            r = s.post(f"{base}/auth/login.json",
                       json={"gpg_auth": {"keyid": m.fpr, "user_token_result": token}}, timeout=60)
            assert r.status_code == 200, r.text
            return s

        t0 = time.perf_counter()
        for _ in range(a.logins):
            s = login()
        dt = time.perf_counter() - t0
        print(f"logins: {a.logins} full GPGAuth logins in {dt:.2f} s = {a.logins / dt:.1f} logins/s")

        s.get(f"{base}/users/me.json", timeout=30)
        s.headers["X-CSRF-Token"] = s.cookies["csrfToken"]
        data = gpg.encrypt_to(m.fpr, "bench password")
        t0 = time.perf_counter()
        for i in range(a.resources):
            r = s.post(f"{base}/resources.json", json={"name": f"resource {i:05}", "username": "u",
                                                         "uri": "https://example.test", "secrets": [{"data": data}]},
                       timeout=60)
            assert r.status_code == 200, r.text
        dt = time.perf_counter() - t0
        print(f"setup: {a.resources} resources created in {dt:.1f} s ({a.resources / dt:.0f}/s)")

        # What clients ask for: nothing (go-passbolt's list), passbolt-python-api's and the
        # browser extension's contain sets, and the share dialog's (every permission's user).
        queries = [
            ("plain", ""),
            ("contain[permission]&contain[favorite]", "contain[permission]=1&contain[favorite]=1"),
            ("extension: permission, favorite, tag, creator, modifier",
             "contain[permission]=1&contain[favorite]=1&contain[tag]=1&contain[creator]=1&contain[modifier]=1"),
            ("permissions.user.profile, permissions.group, secret",
             "contain[permissions.user.profile]=1&contain[permissions.group]=1&contain[secret]=1"),
        ]
        for label, q in queries:
            url = f"{base}/resources.json" + (f"?{q}" if q else "")
            r = s.get(url, timeout=60)
            assert r.status_code == 200 and len(r.json()["body"]) == a.resources, r.text[:200]
            times = []
            for _ in range(a.requests):
                t = time.perf_counter()
                r = s.get(url, timeout=60)
                times.append((time.perf_counter() - t) * 1000)
                assert r.status_code == 200
            times.sort()
            p50 = statistics.median(times)
            p99 = times[min(len(times) - 1, int(len(times) * 0.99))]
            print(f"GET /resources.json [{label}] ({a.resources} resources, {len(r.content)} bytes): "
                  f"p50 {p50:.1f} ms, p99 {p99:.1f} ms, max {times[-1]:.1f} ms over {a.requests} requests")
    finally:
        gpg.cleanup()
        inst.cleanup()


if __name__ == "__main__":
    main()
