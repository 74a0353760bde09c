"""The archive of deleted messages (/users/{user}/archived: list, get, restore) and the purge
of what is due: mailbox retention (Trash and Junk capped at 30 days), message `expires`,
archive entries past their time; blobs nothing references are freed.

Retention runs from a message's arrival in its mailbox (as WildDuck's `rdate`), so tests
use mailboxes with a retention of a second or two rather than old internal dates; the purge
task runs every 0.2 s here (SEALPOST_RETENTION_INTERVAL). Blobs are files here
(SEALPOST_INLINE_MAX=0), so that a freed blob is a file that disappears.
"""

from __future__ import annotations

import imaplib
import re
import time
from datetime import datetime, timezone

import pytest

from harness import Instances
from helpers import (
    HEX24,
    ISO_DATE,
    UNKNOWN_ID,
    all_uids,
    assert_paging,
    create_mailbox,
    create_user,
    err,
    inbox,
    invalid,
    mailbox_by_use,
    make_message,
    message_path,
    ok,
    quota_used,
    upload_ok,
)
from imap_client import Raw
from test_blob_storage import query, stored

WAIT = 60
DAY_MS = 86_400_000
SERVER_ENV = {
    "SEALPOST_DEFAULT_QUOTA": "5368709120",
    "SEALPOST_RETENTION_INTERVAL": "0.2",
    "SEALPOST_INLINE_MAX": "0",
}


@pytest.fixture(scope="module")
def setup(tmp_path_factory, engine):
    made = Instances(tmp_path_factory, engine)
    instance = made.new(env=SERVER_ENV)
    srv = instance.start()
    yield instance, srv
    alive = srv.alive()
    made.cleanup()
    assert alive, f"the server died during the tests:\n{srv.log()[-4000:]}"


@pytest.fixture(scope="module")
def server(setup):
    """The conftest fixtures (`api`, `user`, `connect`, `raw`) use this server."""
    return setup[1]


@pytest.fixture
def instance(setup):
    return setup[0]


def archived(api, user_id: str, **params) -> dict:
    body = ok(api.get(f"/users/{user_id}/archived", params=params))
    assert_paging(body, int(params.get("page", 1)))
    assert body["specialUse"] is None
    return body


def ms(iso: str) -> int:
    assert ISO_DATE.match(iso), iso
    return int(datetime.strptime(iso, "%Y-%m-%dT%H:%M:%S.%f%z").astimezone(timezone.utc).timestamp() * 1000)


def now_ms() -> int:
    return int(time.time() * 1000)


def poll(check, what: str, timeout: float = WAIT):
    """Polls `check()` until it returns a true value (returned); fails naming `what`."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def blob_gone(instance, raw: bytes) -> bool:
    return stored(instance, raw) == (None, False, False)


def imap(server, user) -> imaplib.IMAP4:
    client = imaplib.IMAP4("127.0.0.1", server.imap_port, timeout=30)
    assert client.login(user.username, user.password)[0] == "OK"
    return client


# ---- archive on delete, restore ----


def test_rest_delete_archives_and_restore_puts_it_back(api, user, instance):
    mid = inbox(api, user.id)
    raw = make_message(subject="Archive me", body="the zebrafish paragraph")
    uid = upload_ok(api, user.id, mid, raw)
    assert quota_used(api, user.id) == len(raw)
    assert archived(api, user.id)["total"] == 0

    before = now_ms()
    ok(api.delete(message_path(user.id, mid, uid)))
    # Out of the mailbox and of the quota, into the archive; the blob stays referenced.
    assert all_uids(api, user.id, mid) == []
    assert quota_used(api, user.id) == 0
    assert stored(instance, raw) == (1, False, True)
    body = archived(api, user.id)
    assert body["total"] == 1 and body["nextCursor"] is False and body["previousCursor"] is False
    item = body["results"][0]
    assert HEX24.match(item["id"]), item
    assert item["mailbox"] == mid and item["subject"] == "Archive me"
    assert item["from"] == {"address": "sender@example.com", "name": "Sender Name"}
    assert item["seen"] is True and item["deleted"] is False and item["draft"] is False
    assert ms(item["archived"]) >= before - 1000

    details = ok(api.get(f"/users/{user.id}/archived/{item['id']}"))
    assert details["id"] == item["id"] and details["mailbox"] == mid
    assert details["subject"] == "Archive me"
    assert "zebrafish" in details["text"]
    # Purged from the archive 14 days (the default) after the deletion.
    assert abs(ms(details["expires"]) - (ms(details["archived"]) + 14 * DAY_MS)) < 2000
    assert ok(api.get(f"/users/{user.id}/search", params={"query": "zebrafish"}))["total"] == 0

    restored = ok(api.post(f"/users/{user.id}/archived/{item['id']}/restore", json={}))
    assert restored["mailbox"] == mid
    assert restored["uid"] > uid
    assert all_uids(api, user.id, mid) == [restored["uid"]]
    assert api.get(message_path(user.id, mid, restored["uid"]) + "/message.eml").content == raw
    assert quota_used(api, user.id) == len(raw)
    assert stored(instance, raw) == (1, False, True)
    assert archived(api, user.id)["total"] == 0
    # Back in the full-text index too.
    found = ok(api.get(f"/users/{user.id}/search", params={"query": "zebrafish"}))["results"]
    assert [(m["mailbox"], m["id"]) for m in found] == [(mid, restored["uid"])]
    # Restored once only.
    err(api.post(f"/users/{user.id}/archived/{item['id']}/restore", json={}), 404, "MessageNotFound")
    err(api.get(f"/users/{user.id}/archived/{item['id']}"), 404, "MessageNotFound")


def test_restore_goes_to_inbox_when_the_mailbox_is_gone_or_where_asked(api, user):
    mid = inbox(api, user.id)
    folder = create_mailbox(api, user.id, "Doomed")
    other = create_mailbox(api, user.id, "Elsewhere")
    uids = [upload_ok(api, user.id, folder, make_message(subject=f"doomed {i}")) for i in range(2)]
    for uid in uids:
        ok(api.delete(message_path(user.id, folder, uid)))
    ok(api.delete(f"/users/{user.id}/mailboxes/{folder}"))
    ids = {m["subject"]: m["id"] for m in archived(api, user.id)["results"]}
    assert set(ids) == {"doomed 0", "doomed 1"}

    back = ok(api.post(f"/users/{user.id}/archived/{ids['doomed 0']}/restore"))
    assert back["mailbox"] == mid
    assert all_uids(api, user.id, mid) == [back["uid"]]

    # An explicit mailbox wins; one that is not the user's is refused and nothing changes.
    err(api.post(f"/users/{user.id}/archived/{ids['doomed 1']}/restore", json={"mailbox": UNKNOWN_ID}), 404, "MailboxNotFound")
    invalid(api.post(f"/users/{user.id}/archived/{ids['doomed 1']}/restore", json={"mailbox": "nope"}))
    assert archived(api, user.id)["total"] == 1
    there = ok(api.post(f"/users/{user.id}/archived/{ids['doomed 1']}/restore", json={"mailbox": other}))
    assert there["mailbox"] == other and all_uids(api, user.id, other) == [there["uid"]]
    assert archived(api, user.id)["total"] == 0


def test_restore_over_quota_is_refused_and_kept(api):
    user = create_user(api, quota=3000)
    mid = inbox(api, user.id)
    first = make_message(subject="first", body="a" * 1200)
    uid = upload_ok(api, user.id, mid, first)
    ok(api.delete(message_path(user.id, mid, uid)))
    assert quota_used(api, user.id) == 0
    second = make_message(subject="second", body="b" * 1700)
    upload_ok(api, user.id, mid, second)
    aid = archived(api, user.id)["results"][0]["id"]
    err(api.post(f"/users/{user.id}/archived/{aid}/restore"), 403, "OverQuotaError")
    assert archived(api, user.id)["total"] == 1
    assert quota_used(api, user.id) == len(second)
    assert len(all_uids(api, user.id, mid)) == 1


def test_archive_paging_and_bad_ids(api, user):
    mid = inbox(api, user.id)
    for i in range(5):
        ok(api.delete(message_path(user.id, mid, upload_ok(api, user.id, mid, make_message(subject=f"page {i}")))))
    seen: list[str] = []
    params: dict = {"limit": 2}
    for page in range(1, 10):
        body = archived(api, user.id, page=page, **params)
        assert body["total"] == 5 and len(body["results"]) <= 2
        seen += [m["id"] for m in body["results"]]
        if body["nextCursor"] is False:
            break
        params = {"limit": 2, "next": body["nextCursor"]}
    assert len(seen) == 5 and len(set(seen)) == 5
    assert seen == sorted(seen, reverse=True)  # newest first by default
    asc = [m["id"] for m in archived(api, user.id, order="asc", limit=10)["results"]]
    assert asc == sorted(seen)
    # The /user/ spelling of the spec's heading is served too.
    assert ok(api.get(f"/user/{user.id}/archived"))["total"] == 5
    invalid(api.get(f"/users/{user.id}/archived", params={"limit": 0}))
    invalid(api.get(f"/users/{user.id}/archived/not-hex"))
    err(api.get(f"/users/{user.id}/archived/{UNKNOWN_ID}"), 404, "MessageNotFound")
    err(api.get(f"/users/{UNKNOWN_ID}/archived"), 404, "UserNotFound")


def test_drafts_are_not_archived(api, user, instance):
    mid = inbox(api, user.id)
    raw = make_message(subject="draft only", body="draft text")
    uid = upload_ok(api, user.id, mid, raw, params={"draft": "true"})
    ok(api.delete(message_path(user.id, mid, uid)))
    assert archived(api, user.id)["total"] == 0
    poll(lambda: blob_gone(instance, raw), "the draft's blob to be freed")


def test_imap_expunge_and_close_archive_but_move_does_not(api, user, server):
    mid = inbox(api, user.id)
    create_mailbox(api, user.id, "Moved")
    raws = [make_message(subject=f"imap {i}", body=f"body {i}") for i in range(4)]
    uids = [upload_ok(api, user.id, mid, r) for r in raws]
    client = imap(server, user)
    try:
        assert client.select("INBOX")[0] == "OK"
        assert client.uid("STORE", str(uids[0]), "+FLAGS", "(\\Deleted)")[0] == "OK"
        typ, data = client.expunge()
        assert typ == "OK" and data == [b"1"], data
        typ, data = client.uid("MOVE", str(uids[1]), "Moved")
        assert typ == "OK", data
        subjects = [m["subject"] for m in archived(api, user.id)["results"]]
        assert subjects == ["imap 0"]
        assert quota_used(api, user.id) == sum(len(r) for r in raws[1:])
        # UID EXPUNGE and CLOSE archive as well.
        assert client.uid("STORE", f"{uids[2]},{uids[3]}", "+FLAGS", "(\\Deleted)")[0] == "OK"
        assert client.uid("EXPUNGE", str(uids[2]))[0] == "OK"
        assert client.close()[0] == "OK"
    finally:
        client.logout()
    listed = archived(api, user.id)["results"]
    assert sorted(m["subject"] for m in listed) == ["imap 0", "imap 2", "imap 3"]
    assert {m["mailbox"] for m in listed} == {mid}
    assert all(m["deleted"] for m in listed)
    assert quota_used(api, user.id) == len(raws[1])
    # Restored without the \Deleted flag that expunged it.
    aid = next(m["id"] for m in listed if m["subject"] == "imap 0")
    back = ok(api.post(f"/users/{user.id}/archived/{aid}/restore"))
    assert ok(api.get(message_path(user.id, mid, back["uid"])))["deleted"] is False


# ---- retention and expiry ----


def test_short_retention_purges_visible_over_imap_and_rest(api, user, server, instance):
    box = create_mailbox(api, user.id, "Shortlived", retention=3000)
    stays = make_message(subject="stays")
    keep = upload_ok(api, user.id, inbox(api, user.id), stays)
    raw = make_message(subject="short", body="x" * 3000)
    session = Raw(server.imap_port)
    try:
        session.login(user)
        lines = session.command(b"s", b"SELECT Shortlived")
        assert lines[-1].startswith(b"s OK"), lines
        before = now_ms()
        # An old internal date does not matter: retention runs from the arrival.
        uid = upload_ok(api, user.id, box, raw, params={"date": "2001-01-01T00:00:00.000Z"})
        expires = ms(ok(api.get(message_path(user.id, box, uid)))["expires"])
        assert before + 3000 <= expires <= now_ms() + 3000
        assert quota_used(api, user.id) == len(stays) + len(raw)
        seen: list[bytes] = []

        def noop_says(pattern: bytes):
            def check():
                lines = session.command(b"n", b"NOOP")
                seen.extend(lines)
                return any(re.match(pattern, line) for line in lines)

            return check

        # The session may learn of the message and of its purge in one NOOP.
        poll(noop_says(rb"\* 1 EXISTS"), "EXISTS over IMAP")
        poll(lambda: all_uids(api, user.id, box) == [], "the message to be purged")
        assert archived(api, user.id)["total"] == 0  # a purge is not a user's deletion
        # The session learns of it as of any expunge.
        if not any(re.match(rb"\* 1 EXPUNGE", line) for line in seen):
            poll(noop_says(rb"\* 1 EXPUNGE"), "EXPUNGE over IMAP")
    finally:
        session.close()
    assert all_uids(api, user.id, inbox(api, user.id)) == [keep]
    assert quota_used(api, user.id) == len(stays)
    poll(lambda: blob_gone(instance, raw), "the purged message's blob to be freed")


def test_trash_is_capped_at_30_days_and_follows_a_shorter_retention(api, user):
    trash = mailbox_by_use(api, user.id, "\\Trash")["id"]
    # Old internal date, arrival now: due 30 days from now, not at once.
    old = upload_ok(api, user.id, trash, make_message(subject="old trash"), params={"date": "2001-01-01T00:00:00.000Z"})
    due = ms(ok(api.get(message_path(user.id, trash, old)))["expires"])
    assert abs(due - (now_ms() + 30 * DAY_MS)) < 60_000
    # A longer retention is capped; a shorter one applies to messages arriving after it.
    ok(api.put(f"/users/{user.id}/mailboxes/{trash}", json={"retention": 90 * DAY_MS}))
    capped = upload_ok(api, user.id, trash, make_message(subject="capped"))
    assert abs(ms(ok(api.get(message_path(user.id, trash, capped)))["expires"]) - (now_ms() + 30 * DAY_MS)) < 60_000
    ok(api.put(f"/users/{user.id}/mailboxes/{trash}", json={"retention": 1000}))
    # Moved into Trash: retention counts from the move.
    mid = inbox(api, user.id)
    moving = upload_ok(api, user.id, mid, make_message(subject="moved to trash"))
    assert ok(api.get(message_path(user.id, mid, moving)))["expires"] is False
    moved = ok(api.put(message_path(user.id, mid, moving), json={"moveTo": trash}))["id"][0][1]
    poll(lambda: moved not in all_uids(api, user.id, trash), "the moved message to be purged")
    assert sorted(all_uids(api, user.id, trash)) == [old, capped]


def test_message_expires_purges_it(api, user):
    mid = inbox(api, user.id)
    a = upload_ok(api, user.id, mid, make_message(subject="expiring"))
    b = upload_ok(api, user.id, mid, make_message(subject="cleared"))
    soon = datetime.fromtimestamp((now_ms() + 1000) / 1000, tz=timezone.utc).isoformat()
    for uid in (a, b):
        ok(api.put(message_path(user.id, mid, uid), json={"expires": soon}))
    ok(api.put(message_path(user.id, mid, b), json={"expires": False}))
    assert ok(api.get(message_path(user.id, mid, b)))["expires"] is False
    poll(lambda: a not in all_uids(api, user.id, mid), "the expired message to be purged")
    assert all_uids(api, user.id, mid) == [b]


def test_archive_entries_expire_and_free_their_blobs(instances):
    # About 1.7 s in the archive.
    instance = instances.new(env={**SERVER_ENV, "SEALPOST_ARCHIVE_DAYS": "0.00002"})
    srv = instance.start()
    api = srv.api()
    user = create_user(api)
    mid = inbox(api, user.id)
    raw = make_message(subject="short archive", body="y" * 2000)
    uid = upload_ok(api, user.id, mid, raw)
    ok(api.delete(message_path(user.id, mid, uid)))
    listed = archived(api, user.id)["results"]
    assert [m["subject"] for m in listed] == ["short archive"]
    assert stored(instance, raw) == (1, False, True)
    poll(lambda: archived(api, user.id)["total"] == 0, "the archive entry to expire")
    err(api.get(f"/users/{user.id}/archived/{listed[0]['id']}"), 404, "MessageNotFound")
    poll(lambda: blob_gone(instance, raw), "the blob to be freed")
    assert query(instance, f"SELECT COUNT(*) FROM archived WHERE user_id = '{user.id}'")[0][0] in (0, "0")


def test_archive_off_makes_deletions_final(instances):
    instance = instances.new(env={**SERVER_ENV, "SEALPOST_ARCHIVE_DAYS": "0"})
    srv = instance.start()
    api = srv.api()
    user = create_user(api)
    mid = inbox(api, user.id)
    raw = make_message(subject="final", body="z" * 2000)
    ok(api.delete(message_path(user.id, mid, upload_ok(api, user.id, mid, raw))))
    assert archived(api, user.id)["total"] == 0
    poll(lambda: blob_gone(instance, raw), "the blob to be freed")


def test_deleting_the_user_releases_archived_blobs(api, instance):
    user = create_user(api)
    mid = inbox(api, user.id)
    raw = make_message(subject="owner goes", body="w" * 2000)
    ok(api.delete(message_path(user.id, mid, upload_ok(api, user.id, mid, raw))))
    assert stored(instance, raw) == (1, False, True)
    ok(api.delete(f"/users/{user.id}"))
    poll(lambda: blob_gone(instance, raw), "the archived message's blob to be freed")
