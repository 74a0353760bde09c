#!/usr/bin/env python3
"""Purge load: how long the retention purge takes to delete COUNT messages that fall due at
once, and what it costs uploads running meanwhile. Prints figures; asserts nothing.

Starts `sealpost serve` through the test harness (SEALPOST_BIN, and SEALPOST_TEST_DATABASE_URL
for PostgreSQL), uploads COUNT 2 KB messages to a mailbox, gives them all an `expires` 3 s
ahead (PUT .../messages/1:COUNT), then uploads to INBOX one at a time until the mailbox is
empty and reports when it emptied and the upload latencies seen meanwhile.

    SEALPOST_BIN=target/release/sealpost python3 bench/purge_load.py sqlite 5000
"""

from __future__ import annotations

import datetime
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from harness import Instances  # noqa: E402
from helpers import create_mailbox, create_user, inbox, make_message, ok, upload_ok  # noqa: E402


class TempDirs:
    """What `Instances` needs of pytest's tmp_path_factory."""

    def mktemp(self, name: str) -> Path:
        return Path(tempfile.mkdtemp(prefix=name))


def main() -> None:
    engine = sys.argv[1] if len(sys.argv) > 1 else "sqlite"
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 5000
    made = Instances(TempDirs(), engine)
    srv = made.start(env={"SEALPOST_RETENTION_INTERVAL": "0.5", "SEALPOST_DEFAULT_QUOTA": "0"})
    try:
        api = srv.api()
        user = create_user(api)
        box = create_mailbox(api, user.id, "Due")
        mid = inbox(api, user.id)
        raws = [make_message(subject=f"m{i}", body="x" * 2000) for i in range(count)]
        started = time.monotonic()
        with ThreadPoolExecutor(16) as pool:
            list(pool.map(lambda r: upload_ok(srv.api(), user.id, box, r), raws))
        print(f"{engine}: uploaded {count} in {time.monotonic() - started:.1f} s")
        due = datetime.datetime.fromtimestamp(time.time() + 3, tz=datetime.timezone.utc).isoformat()
        ok(api.put(f"/users/{user.id}/mailboxes/{box}/messages/1:{count}", json={"expires": due}))
        set_at = time.monotonic()
        latencies: list[float] = []
        done = threading.Event()

        def probe() -> None:
            client = srv.api()
            i = 0
            while not done.is_set():
                t = time.monotonic()
                upload_ok(client, user.id, mid, make_message(subject=f"p{i}"))
                latencies.append(time.monotonic() - t)
                i += 1

        prober = threading.Thread(target=probe)
        prober.start()
        while ok(api.get(f"/users/{user.id}/mailboxes/{box}"))["total"] > 0:
            time.sleep(0.1)
        emptied = time.monotonic() - set_at
        done.set()
        prober.join()
        latencies.sort()
        p99 = latencies[max(0, int(len(latencies) * 0.99) - 1)]
        print(f"{engine}: mailbox empty {emptied:.1f} s after the expiry was set (due after 3 s, purge every 0.5 s)")
        print(
            f"{engine}: INBOX uploads meanwhile: n={len(latencies)} p50={statistics.median(latencies) * 1000:.0f} ms "
            f"p99={p99 * 1000:.0f} ms max={latencies[-1] * 1000:.0f} ms"
        )
        for line in srv.log().splitlines():
            if "purged" in line:
                print(f"{engine}: log: {line.strip()}")
    finally:
        made.cleanup()


if __name__ == "__main__":
    main()
