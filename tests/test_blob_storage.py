"""Where raw messages live: a message smaller than `[storage] inlineMax` (64 KiB by default) is
kept in the database (`blob_data`), a larger one as a file in the blob directory. Both must
round-trip byte for byte through REST and IMAP, survive SIGKILL right after the
acknowledgement, be stored once when identical, and be removed once nothing references them.
The storage location is checked in the database and the data directory themselves."""

from __future__ import annotations

import hashlib
import imaplib
import os
import re
import sqlite3
import subprocess
import time
from email import policy
from email.message import EmailMessage

from helpers import create_mailbox, inbox, message_path, ok, upload_ok

INLINE_MAX = 64 * 1024
TIMEOUT = 30


ATTACHMENTS: dict[bytes, bytes] = {}


def message(size: int, tag: str) -> bytes:
    """A multipart message of about `size` bytes with a binary attachment (kept in
    ATTACHMENTS)."""
    msg = EmailMessage()
    msg["From"] = "Blob Sender <blobs@example.com>"
    msg["To"] = "keeper@example.test"
    msg["Subject"] = f"blob {tag}"
    msg["Message-ID"] = f"<blob-{tag}-{os.urandom(6).hex()}@example.com>"
    msg.set_content(f"message {tag}\n")
    att = os.urandom(max(size * 3 // 4 * 76 // 78 - 600, 10))
    msg.add_attachment(att, maintype="application", subtype="octet-stream", filename=f"{tag}.bin")
    raw = msg.as_bytes(policy=policy.SMTP)
    ATTACHMENTS[raw] = att
    assert abs(len(raw) - size) < 2000, len(raw)
    return raw


def sha(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


def query(instance, sql: str) -> list[tuple]:
    """Rows of a read-only query on the instance's database (SQLite file or PostgreSQL)."""
    if instance.db is None:
        conn = sqlite3.connect(f"file:{instance.data_dir / 'sealpost.db'}?mode=ro", uri=True, timeout=TIMEOUT)
        try:
            return conn.execute(sql).fetchall()
        finally:
            conn.close()
    out = subprocess.run(["psql", instance.db.url, "-v", "ON_ERROR_STOP=1", "-qAtF", "\t", "-c", sql], check=True, capture_output=True, text=True, timeout=TIMEOUT)
    return [tuple(line.split("\t")) for line in out.stdout.splitlines()]


def stored(instance, raw: bytes) -> tuple[int | None, bool, bool]:
    """(reference count or None when no blob row, has a blob_data row, has a file)."""
    h = sha(raw)
    rows = query(instance, f"SELECT refcount FROM blobs WHERE hash = '{h}'")
    data = query(instance, f"SELECT length(data) FROM blob_data WHERE hash = '{h}'")
    if data:
        assert int(data[0][0]) == len(raw)
    path = instance.data_dir / "blobs" / h[:2] / h
    return (int(rows[0][0]) if rows else None, bool(data), path.exists())


def imap_bodies(server, username: str, folder: str = "INBOX") -> dict[int, bytes]:
    """UID -> BODY.PEEK[] of every message in `folder`."""
    client = imaplib.IMAP4("127.0.0.1", server.imap_port, timeout=TIMEOUT)
    try:
        assert client.login(username, "secret pass")[0] == "OK"
        assert client.select(folder)[0] == "OK"
        typ, data = client.uid("FETCH", "1:*", "(UID BODY.PEEK[])")
        assert typ == "OK"
        out = {}
        for item in data:
            if isinstance(item, tuple):
                uid = re.search(rb"UID (\d+)", item[0])
                assert uid and item[0].endswith(b"BODY[] {%d}" % len(item[1])), item[0]
                out[int(uid.group(1))] = item[1]
        return out
    finally:
        client.logout()


def check_readable(server, user: str, username: str, mid: str, expect: dict[int, bytes]) -> None:
    api = server.api()
    for uid, raw in expect.items():
        r = api.get(message_path(user, mid, uid) + "/message.eml")
        assert r.status_code == 200 and r.content == raw, (uid, r.status_code, len(r.content), len(raw))
        att = api.get(message_path(user, mid, uid) + "/attachments/ATT00001")
        assert att.status_code == 200 and att.content == ATTACHMENTS[raw], uid
    assert imap_bodies(server, username) == expect


def wait_collected(instance, raw: bytes) -> None:
    """Polls until the blob row, data row and file are all gone (the collector runs soon after a
    deletion); fails with the state seen when it does not happen within the deadline."""
    deadline = time.monotonic() + 90
    state = stored(instance, raw)
    while state != (None, False, False) and time.monotonic() < deadline:
        time.sleep(0.2)
        state = stored(instance, raw)
    assert state == (None, False, False), state


def test_small_and_large_round_trip_and_survive_sigkill(instances):
    instance = instances.new()
    server = instance.start()
    api = server.api()
    user = ok(api.post("/users", json={"username": "blobs", "password": "secret pass"}))["id"]
    mid = inbox(api, user)
    small, large = message(20_000, "small"), message(150_000, "large")
    assert len(small) < INLINE_MAX < len(large)
    expect = {upload_ok(api, user, mid, small): small, upload_ok(api, user, mid, large): large}
    assert stored(instance, small) == (1, True, False)
    assert stored(instance, large) == (1, False, True)
    check_readable(server, user, "blobs", mid, expect)

    # One more of each, then SIGKILL immediately after the last acknowledgement.
    small2, large2 = message(30_000, "small2"), message(100_000, "large2")
    expect[upload_ok(api, user, mid, small2)] = small2
    expect[upload_ok(api, user, mid, large2)] = large2
    server.kill()

    server = instance.start()
    check_readable(server, user, "blobs", mid, expect)
    assert stored(instance, small2) == (1, True, False)
    assert stored(instance, large2) == (1, False, True)


def test_identical_messages_stored_once_and_collected(instances):
    # Without the archive, which would keep deleted messages' references (test_archive.py).
    instance = instances.new(env={"SEALPOST_ARCHIVE_DAYS": "0"})
    server = instance.start()
    api = server.api()
    a = ok(api.post("/users", json={"username": "dedupa", "password": "secret pass"}))["id"]
    b = ok(api.post("/users", json={"username": "dedupb", "password": "secret pass"}))["id"]
    ma, mb = inbox(api, a), inbox(api, b)
    other = create_mailbox(api, b, "Other")
    small, large = message(10_000, "dup-small"), message(90_000, "dup-large")
    for raw in (small, large):
        ua1 = upload_ok(api, a, ma, raw)
        ua2 = upload_ok(api, a, ma, raw)
        ub = upload_ok(api, b, other, raw)
        assert stored(instance, raw)[0] == 3
        assert stored(instance, raw)[1:] == ((True, False) if raw is small else (False, True))
        # IMAP COPY adds a reference and reads the same bytes.
        client = imaplib.IMAP4("127.0.0.1", server.imap_port, timeout=TIMEOUT)
        assert client.login("dedupa", "secret pass")[0] == "OK"
        client.select("INBOX")
        assert client.uid("COPY", str(ua1), "INBOX")[0] == "OK"
        client.logout()
        assert stored(instance, raw)[0] == 4
        assert all(body == raw for body in imap_bodies(server, "dedupa").values())

        # Remove every reference by each deletion path: message, mailbox, user.
        for uid in [ua1, ua2]:
            ok(api.delete(message_path(a, ma, uid)))
        assert api.get(message_path(b, other, ub) + "/message.eml").content == raw
        remaining = [m["id"] for m in ok(api.get(f"/users/{a}/mailboxes/{ma}/messages"))["results"]]
        for uid in remaining:
            ok(api.delete(message_path(a, ma, uid)))
        assert stored(instance, raw)[0] == 1
        assert api.get(message_path(b, other, ub) + "/message.eml").content == raw
        ok(api.delete(f"/users/{b}/mailboxes/{other}"))
        wait_collected(instance, raw)
        other = create_mailbox(api, b, "Other")

    # Stored again after collection: written again, and readable.
    for raw in (small, large):
        uid = upload_ok(api, b, mb, raw)
        assert stored(instance, raw) == ((1, True, False) if raw is small else (1, False, True))
        assert api.get(message_path(b, mb, uid) + "/message.eml").content == raw
    ok(api.delete(f"/users/{b}"))
    for raw in (small, large):
        wait_collected(instance, raw)


def test_inline_max_zero_keeps_every_message_in_a_file(instances):
    instance = instances.new(env={"SEALPOST_INLINE_MAX": "0"})
    server = instance.start()
    api = server.api()
    user = ok(api.post("/users", json={"username": "files", "password": "secret pass"}))["id"]
    mid = inbox(api, user)
    small = message(5_000, "file-small")
    uid = upload_ok(api, user, mid, small)
    assert stored(instance, small) == (1, False, True)
    assert api.get(message_path(user, mid, uid) + "/message.eml").content == small
    server.stop()

    # Under the default threshold a blob stored as a file stays readable, and a new copy of
    # it shares the file rather than adding a data row.
    server = instance.start(env={"SEALPOST_INLINE_MAX": ""})
    api = server.api()
    uid2 = upload_ok(api, user, mid, small)
    assert stored(instance, small) == (2, False, True)
    assert imap_bodies(server, "files") == {uid: small, uid2: small}
