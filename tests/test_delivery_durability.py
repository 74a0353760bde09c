"""Delivery durability: many LMTP deliveries in flight from several threads while the server is
SIGKILLed. After a restart every message that got its 250 is there exactly once, and no
message is there twice."""

from __future__ import annotations

import re
import smtplib
import threading

from delivery_helpers import inbox_messages, wait_for
from helpers import ok

THREADS = 6
PER_THREAD = 200
KILL_AFTER = 60  # acknowledged deliveries before the kill


def test_acknowledged_deliveries_survive_sigkill(instances):
    instance = instances.new()
    server = instance.start()
    api = server.api()
    user = ok(api.post("/users", json={"username": "crashy", "password": "secret pass", "address": "crashy@example.test"}))["id"]

    acked: list[str] = []
    lock = threading.Lock()

    def sender(t: int) -> None:
        try:
            client = smtplib.LMTP("127.0.0.1", server.lmtp_port, timeout=30)
            client.ehlo("crash.example")
            for i in range(PER_THREAD):
                mid = f"t{t}-m{i}"
                msg = (
                    f"From: crash@example.org\r\nTo: crashy@example.test\r\nSubject: crash {mid}\r\n"
                    f"Message-ID: <{mid}@crash.example>\r\nX-Crash-Id: {mid}\r\n\r\nbody of {mid}\r\n"
                ).encode()
                client.sendmail("crash@example.org", ["crashy@example.test"], msg)
                with lock:
                    acked.append(mid)
        except (OSError, smtplib.SMTPException):
            return  # the server went away mid-flight

    threads = [threading.Thread(target=sender, args=(t,), daemon=True) for t in range(THREADS)]
    for t in threads:
        t.start()
    assert wait_for(lambda: len(acked) >= KILL_AFTER or not any(t.is_alive() for t in threads), timeout=120)
    server.kill()
    for t in threads:
        t.join(timeout=60)
    with lock:
        acknowledged = list(acked)
    assert len(acknowledged) >= KILL_AFTER, f"only {len(acknowledged)} deliveries were acknowledged"
    assert len(acknowledged) < THREADS * PER_THREAD, "the kill came after every delivery: nothing was in flight"

    server = instance.start()
    api = server.api()
    found: dict[str, int] = {}
    for raw in inbox_messages(api, user):
        m = re.search(rb"^X-Crash-Id: (\S+)\r$", raw, re.M)
        assert m, raw[:300]
        key = m.group(1).decode()
        found[key] = found.get(key, 0) + 1
    twice = {k: n for k, n in found.items() if n > 1}
    assert not twice, f"stored more than once: {twice}"
    missing = [k for k in acknowledged if k not in found]
    assert not missing, f"{len(missing)} acknowledged deliveries lost: {missing[:10]}"
    # the server still delivers after the restart
    client = smtplib.LMTP("127.0.0.1", server.lmtp_port, timeout=30)
    try:
        assert client.sendmail("a@example.org", ["crashy@example.test"], b"Subject: after\r\n\r\nafter restart\r\n") == {}
    finally:
        client.quit()
