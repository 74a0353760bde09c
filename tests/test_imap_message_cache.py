"""The in-memory caches of message headers behind SEARCH on header keys and FETCH of header
fields (`message_cache.rs`) never answer with another message's headers: after messages
arrive (IMAP APPEND, REST upload), are expunged by another session or the REST API, after a
mailbox is deleted and created again under the same name (same UIDs, other messages), after
a RENAME and a MOVE; and with the caches turned off (`SEALPOST_IMAP_CACHE_SIZE=0`) the
answers are the same."""

from __future__ import annotations

import re

import pytest

from helpers import create_user, ok, upload_ok
from test_imap_search import Raw
from test_imap_search_headers import search

DATE = "05-Jan-2024 12:00:00 +0000"


@pytest.fixture(scope="module")
def server(cache_server):
    return cache_server


def mail(subject: str, sender: str = "someone@example.org") -> bytes:
    return f"From: {sender}\r\nSubject: {subject}\r\nDate: Mon, 01 Jan 2024 10:00:00 +0000\r\n\r\nbody of {subject}\r\n".encode()


def login(server, user) -> Raw:
    s = Raw(server.imap_port)
    s.ok(f'LOGIN {user.username} "{user.password}"')
    return s


def subjects(s: Raw, seqs: str = "1:*") -> list[str]:
    """The Subject of each message of `seqs`, by sequence number, through the header path."""
    lines = s.ok(f"FETCH {seqs} (BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    found = re.findall(rb"Subject: ([^\r\n]*)", b"\n".join(lines))
    return [x.decode() for x in found]


def test_new_and_expunged_messages(server, api, user):
    a, b = login(server, user), login(server, user)
    for i in range(1, 6):
        a.append("INBOX", mail(f"topic s{i}"), DATE)
    a.ok("SELECT INBOX")
    assert search(a, b"SUBJECT", "topic") == [1, 2, 3, 4, 5]
    assert subjects(a) == [f"topic s{i}" for i in range(1, 6)]

    # Another session expunges two and appends one; the REST API uploads one more.
    b.ok("SELECT INBOX")
    b.ok("STORE 2,4 +FLAGS.SILENT (\\Deleted)")
    b.ok("EXPUNGE")
    b.append("INBOX", mail("topic s6"), DATE)
    mailboxes = ok(api.get(f"/users/{user.id}/mailboxes"))["results"]
    inbox = next(m["id"] for m in mailboxes if m["path"] == "INBOX")
    upload_ok(api, user.id, inbox, mail("topic s7", "rest@example.net"))

    lines = a.ok("NOOP")
    assert b"* 4 EXPUNGE" in lines and b"* 2 EXPUNGE" in lines, lines
    assert search(a, b"SUBJECT", "topic") == [1, 2, 3, 4, 5]
    assert search(a, b"SUBJECT", "s3") == [2]
    assert search(a, b"SUBJECT", "s2") == []
    assert search(a, b"FROM", "rest@") == [5]
    assert subjects(a) == ["topic s1", "topic s3", "topic s5", "topic s6", "topic s7"]
    assert subjects(a, "4:5") == ["topic s6", "topic s7"]

    # Deleted through the REST API: gone from both answers after the next NOOP.
    listed = ok(api.get(f"/users/{user.id}/mailboxes/{inbox}/messages", params={"order": "asc"}))["results"]
    first = next(m["id"] for m in listed if m["subject"] == "topic s1")
    ok(api.delete(f"/users/{user.id}/mailboxes/{inbox}/messages/{first}"))
    assert b"* 1 EXPUNGE" in a.ok("NOOP")
    assert search(a, b"SUBJECT", "topic") == [1, 2, 3, 4]
    assert subjects(a) == ["topic s3", "topic s5", "topic s6", "topic s7"]
    a.close()
    b.close()


def test_mailbox_deleted_and_created_again(server, user):
    s = login(server, user)
    s.ok("CREATE Box")
    s.append("Box", mail("old one"), DATE)
    s.append("Box", mail("old two"), DATE)
    s.ok("SELECT Box")
    uids = s.ok("UID SEARCH ALL")
    assert search(s, b"SUBJECT", "old") == [1, 2]
    assert subjects(s) == ["old one", "old two"]
    s.ok("SELECT INBOX")
    s.ok("DELETE Box")
    s.ok("CREATE Box")
    s.append("Box", mail("new one", "fresh@example.com"), DATE)
    s.append("Box", mail("new two", "fresh@example.com"), DATE)
    s.ok("SELECT Box")
    # The same UIDs again, other messages.
    assert s.ok("UID SEARCH ALL") == uids
    assert search(s, b"SUBJECT", "old") == []
    assert search(s, b"SUBJECT", "new") == [1, 2]
    assert search(s, b"FROM", "fresh@") == [1, 2]
    assert subjects(s) == ["new one", "new two"]
    s.close()


def test_user_deleted_and_created_again(server, api):
    user = create_user(api)
    s = login(server, user)
    s.append("INBOX", mail("first life"), DATE)
    s.ok("SELECT INBOX")
    assert search(s, b"SUBJECT", "life") == [1]
    assert subjects(s) == ["first life"]
    s.close()
    ok(api.delete(f"/users/{user.id}"))
    again = create_user(api, username=user.username)
    s = login(server, again)
    s.append("INBOX", mail("second start"), DATE)
    s.ok("SELECT INBOX")
    assert search(s, b"SUBJECT", "life") == []
    assert search(s, b"SUBJECT", "start") == [1]
    assert subjects(s) == ["second start"]
    s.close()


def test_rename_and_move(server, user):
    s = login(server, user)
    s.ok("CREATE Src")
    s.ok("CREATE Dst")
    s.append("Dst", mail("already here"), DATE)
    for i in range(1, 4):
        s.append("Src", mail(f"moving m{i}"), DATE)
    s.ok("SELECT Dst")
    assert subjects(s) == ["already here"]
    s.ok("SELECT Src")
    assert subjects(s) == ["moving m1", "moving m2", "moving m3"]
    s.ok("MOVE 2 Dst")
    assert subjects(s) == ["moving m1", "moving m3"]
    assert search(s, b"SUBJECT", "m3") == [2]
    s.ok("SELECT INBOX")
    s.ok("RENAME Src Renamed")
    s.ok("SELECT Renamed")
    assert subjects(s) == ["moving m1", "moving m3"]
    assert search(s, b"SUBJECT", "moving") == [1, 2]
    s.ok("SELECT Dst")
    assert subjects(s) == ["already here", "moving m2"]
    assert search(s, b"SUBJECT", "m2") == [2]
    s.close()
