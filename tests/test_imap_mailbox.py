"""IMAP mailbox-level extensions over a real socket: LIST-EXTENDED (RFC 5258), LIST-STATUS
(RFC 5819), STATUS=SIZE (RFC 8438), QUOTA (RFC 9208), APPENDLIMIT (RFC 7889), MULTIAPPEND
(RFC 3502, all or nothing), CREATE-SPECIAL-USE (RFC 6154), RENAME of INBOX, BINARY
(RFC 3516), UTF8=ACCEPT (RFC 6855) and IMAP4rev2 (RFC 9051). Stored state is checked
through the REST API."""

from __future__ import annotations

import base64
import imaplib
import re

import pytest

from helpers import (
    create_mailbox,
    inbox,
    mailbox_by_path,
    make_message,
    mailboxes,
    ok,
    upload_ok,
)
from imap_client import Raw

TIMEOUT = 30
MAX_MESSAGE = 200_000


@pytest.fixture(scope="module")
def server(tmp_path_factory, engine):
    """This module's own server, with a small message size limit (APPENDLIMIT)."""
    from harness import Instances

    made = Instances(tmp_path_factory, engine)
    srv = made.start(env={"SEALPOST_DEFAULT_QUOTA": "5368709120", "SEALPOST_MAX_MESSAGE_SIZE": str(MAX_MESSAGE)})
    yield srv
    alive = srv.alive()
    made.cleanup()
    assert alive, f"the server died during the tests:\n{srv.log()[-4000:]}"


def tagged(lines: list[bytes]) -> bytes:
    return lines[-1]


def untagged(lines: list[bytes], kind: bytes) -> list[bytes]:
    return [line for line in lines if line.startswith(b"* " + kind + b" ")]


def list_names(lines: list[bytes]) -> dict[str, bytes]:
    """LIST responses keyed by mailbox name (quoted or atom)."""
    out = {}
    for line in untagged(lines, b"LIST"):
        m = re.match(rb'\* LIST \(([^)]*)\) (?:"/"|NIL) (?:"((?:[^"\\]|\\.)*)"|(\S+))(.*)\r\n$', line)
        assert m, line
        name = (m.group(2) if m.group(2) is not None else m.group(3)).decode()
        out[name] = line
    return out


def rest_count(api, user, mailbox_id) -> int:
    return ok(api.get(f"/users/{user.id}/mailboxes/{mailbox_id}/messages", params={"limit": 250}))["total"]


def user_quota(api, user) -> tuple[int, int]:
    q = ok(api.get(f"/users/{user.id}"))["limits"]["quota"]
    return q["allowed"], q["used"]


def capabilities(r: Raw) -> list[bytes]:
    lines = r.command(b"c", b"CAPABILITY")
    return untagged(lines, b"CAPABILITY")[0].split()[2:]


# ---------------------------------------------------------------------------------------
# Capabilities


def test_capabilities_advertised(raw, user):
    caps = capabilities(raw(user))
    for cap in [
        b"IMAP4rev1",
        b"IMAP4rev2",
        b"LIST-EXTENDED",
        b"LIST-STATUS",
        b"STATUS=SIZE",
        b"QUOTA",
        b"QUOTA=RES-STORAGE",
        b"MULTIAPPEND",
        b"CREATE-SPECIAL-USE",
        b"BINARY",
        b"UTF8=ACCEPT",
        f"APPENDLIMIT={MAX_MESSAGE}".encode(),
    ]:
        assert cap in caps, (cap, caps)
    # SETQUOTA is not offered.
    assert b"QUOTASET" not in caps


# ---------------------------------------------------------------------------------------
# LIST-EXTENDED, LIST-STATUS, STATUS=SIZE


def test_list_extended_selection_and_return(api, raw, user):
    create_mailbox(api, user.id, "Top/Sub")
    create_mailbox(api, user.id, "Plain")
    # Unsubscribe "Top" and "Plain" (REST), "Top/Sub" stays subscribed.
    for path in ["Top", "Plain"]:
        mid = mailbox_by_path(api, user.id, path)["id"]
        ok(api.put(f"/users/{user.id}/mailboxes/{mid}", json={"subscribed": False}))
    r = raw(user)

    lines = r.command(b"a1", b'LIST (SUBSCRIBED) "" "*"')
    assert tagged(lines).startswith(b"a1 OK")
    names = list_names(lines)
    assert "Top/Sub" in names and "Top" not in names and "Plain" not in names
    assert b"\\Subscribed" in names["Top/Sub"] and b"\\Subscribed" in names["INBOX"]

    # RECURSIVEMATCH: the unsubscribed parent of a subscribed child, with CHILDINFO.
    lines = r.command(b"a2", b'LIST (SUBSCRIBED RECURSIVEMATCH) "" "%" RETURN (CHILDREN)')
    names = list_names(lines)
    assert "Top" in names and "Plain" not in names
    assert names["Top"].rstrip().endswith(b'("CHILDINFO" ("SUBSCRIBED"))'), names["Top"]
    assert b"\\Subscribed" not in names["Top"] and b"\\HasChildren" in names["Top"]
    assert b"CHILDINFO" not in names["INBOX"]

    # RETURN (SUBSCRIBED) marks subscribed ones in a plain listing.
    names = list_names(r.command(b"a3", b'LIST "" "*" RETURN (SUBSCRIBED CHILDREN)'))
    assert "Plain" in names and b"\\Subscribed" not in names["Plain"]
    assert b"\\Subscribed" in names["Top/Sub"] and b"\\HasNoChildren" in names["Top/Sub"]
    assert b"\\HasChildren" in names["Top"]

    # Several patterns, each mailbox once.
    names = list_names(r.command(b"a4", b'LIST "" ("INBOX" "Top*" "Top/Sub")'))
    assert sorted(names) == ["INBOX", "Top", "Top/Sub"]
    lines = r.command(b"a5", b'LIST "" ("Top" "Top")')
    assert len(untagged(lines, b"LIST")) == 1

    # SPECIAL-USE selection: only mailboxes with a use, with their attribute.
    names = list_names(r.command(b"a6", b'LIST (SPECIAL-USE) "" "*" RETURN (SPECIAL-USE)'))
    assert sorted(names) == sorted(
        m["path"] for m in mailboxes(api, user.id) if m["specialUse"]
    )
    assert b"\\Sent" in names["Sent Mail"] and b"\\Trash" in names["Trash"]

    # RECURSIVEMATCH with SPECIAL-USE: no CHILDINFO value exists for it, so no parents.
    create_mailbox(api, user.id, "Trash/Old")
    lines = r.command(b"a9", b'LIST (SPECIAL-USE RECURSIVEMATCH) "" "%"')
    assert tagged(lines).startswith(b"a9 OK")
    assert set(list_names(lines)) == {m["path"] for m in mailboxes(api, user.id) if m["specialUse"]}
    assert b"CHILDINFO" not in b"".join(lines)

    # REMOTE changes nothing (no remote mailboxes).
    assert list_names(r.command(b"a7", b'LIST (REMOTE) "" "*"')).keys() == list_names(
        r.command(b"a8", b'LIST "" "*"')
    ).keys()


def test_list_extended_errors(raw, user):
    r = raw(user)
    # RECURSIVEMATCH alone is a syntax error (RFC 5258 3.1).
    assert tagged(r.command(b"b1", b'LIST (RECURSIVEMATCH) "" "*"')).startswith(b"b1 BAD")
    assert tagged(r.command(b"b2", b'LIST (REMOTE RECURSIVEMATCH) "" "*"')).startswith(b"b2 BAD")
    # Unknown options are BAD.
    assert tagged(r.command(b"b3", b'LIST (FOO) "" "*"')).startswith(b"b3 BAD")
    assert tagged(r.command(b"b4", b'LIST "" "*" RETURN (BAR)')).startswith(b"b4 BAD")
    assert tagged(r.command(b"b5", b'LIST "" "*" RETURN (STATUS (NOPE))')).startswith(b"b5 BAD")
    # The session goes on.
    assert tagged(r.command(b"b6", b"NOOP")).startswith(b"b6 OK")


def status_map(line: bytes) -> dict[str, int]:
    m = re.search(rb"\(([^)]*)\)\r\n$", line)
    assert m, line
    parts = m.group(1).decode().split()
    return {parts[i]: int(parts[i + 1]) for i in range(0, len(parts), 2)}


def test_list_status_and_status_size(api, raw, user):
    box = inbox(api, user.id)
    raws = [make_message(subject=f"m{i}", body="x" * (100 * i)) for i in range(1, 4)]
    for m in raws:
        upload_ok(api, user.id, box, m)
    r = raw(user)
    # Flag one \Deleted and one \Seen.
    assert tagged(r.command(b"s0", b"SELECT INBOX")).startswith(b"s0 OK")
    assert tagged(r.command(b"s1", b"STORE 1:* -FLAGS.SILENT (\\Seen)")).startswith(b"s1 OK")
    assert tagged(r.command(b"s1", b"STORE 1 +FLAGS (\\Deleted \\Seen)")).startswith(b"s1 OK")
    assert tagged(r.command(b"s2", b"UNSELECT")).startswith(b"s2 OK")

    lines = r.command(b"s3", b"STATUS INBOX (MESSAGES UNSEEN SIZE DELETED DELETED-STORAGE UIDNEXT UIDVALIDITY)")
    assert tagged(lines).startswith(b"s3 OK")
    st = status_map(untagged(lines, b"STATUS")[0])
    rest = mailbox_by_path(api, user.id, "INBOX")
    counters = [m for m in mailboxes(api, user.id, counters=True) if m["path"] == "INBOX"][0]
    assert st["MESSAGES"] == 3 == counters["total"]
    assert st["UNSEEN"] == 2 == counters["unseen"]
    assert st["SIZE"] == sum(len(m) for m in raws)
    assert st["DELETED"] == 1
    assert st["DELETED-STORAGE"] == (len(raws[0]) + 1023) // 1024
    assert st["UIDNEXT"] == 4

    # LIST-STATUS: a STATUS after each listed selectable mailbox, same values.
    lines = r.command(b"s4", b'LIST "" "*" RETURN (STATUS (MESSAGES SIZE UNSEEN))')
    assert tagged(lines).startswith(b"s4 OK")
    statuses = untagged(lines, b"STATUS")
    assert len(statuses) == len(untagged(lines, b"LIST")) == len(mailboxes(api, user.id))
    inbox_status = [s for s in statuses if s.startswith(b"* STATUS INBOX ")]
    assert status_map(inbox_status[0]) == {"MESSAGES": 3, "SIZE": st["SIZE"], "UNSEEN": 2}
    # Each STATUS follows its LIST.
    for i, line in enumerate(lines[:-1]):
        if line.startswith(b"* STATUS "):
            assert lines[i - 1].startswith(b"* LIST ")
    assert rest["id"] == box

    # STATUS of a missing mailbox.
    assert b"[NONEXISTENT]" in tagged(r.command(b"s5", b"STATUS Nope (MESSAGES)"))


# ---------------------------------------------------------------------------------------
# QUOTA


def test_quota(api, raw, create_user):
    user = create_user(quota=10 * 1024 * 1024)
    box = inbox(api, user.id)
    upload_ok(api, user.id, box, make_message(body="q" * 5000))
    allowed, used = user_quota(api, user)
    assert allowed == 10 * 1024 * 1024 and used > 5000
    r = raw(user)
    lines = r.command(b"q1", b"GETQUOTAROOT INBOX")
    assert tagged(lines).startswith(b"q1 OK")
    assert untagged(lines, b"QUOTAROOT") == [b'* QUOTAROOT INBOX ""\r\n']
    expected = f'* QUOTA "" (STORAGE {(used + 1023) // 1024} {allowed // 1024})\r\n'.encode()
    assert untagged(lines, b"QUOTA") == [expected]
    lines = r.command(b"q2", b'GETQUOTA ""')
    assert tagged(lines).startswith(b"q2 OK") and untagged(lines, b"QUOTA") == [expected]

    # Errors: unknown root, unknown mailbox, SETQUOTA refused.
    assert tagged(r.command(b"q3", b"GETQUOTA other")).startswith(b"q3 NO")
    assert tagged(r.command(b"q4", b"GETQUOTAROOT Nope")).startswith(b"q4 NO [NONEXISTENT]")
    assert tagged(r.command(b"q5", b'SETQUOTA "" (STORAGE 1)')).startswith(b"q5 NO")
    assert tagged(r.command(b"q6", b"GETQUOTA")).startswith(b"q6 BAD")
    assert user_quota(api, user)[0] == allowed

    # The REST API changes the quota: IMAP shows it at once.
    ok(api.put(f"/users/{user.id}", json={"quota": 20 * 1024 * 1024}))
    lines = r.command(b"q7", b'GETQUOTA ""')
    assert f"STORAGE {(used + 1023) // 1024} {20 * 1024}".encode() in untagged(lines, b"QUOTA")[0]


def test_quota_with_imaplib(api, create_user, server):
    user = create_user(quota=3 * 1024 * 1024)
    upload_ok(api, user.id, inbox(api, user.id), make_message(body="i" * 3000))
    allowed, used = user_quota(api, user)
    client = imaplib.IMAP4("127.0.0.1", server.imap_port, timeout=TIMEOUT)
    try:
        assert client.login(user.username, user.password)[0] == "OK"
        typ, data = client.getquotaroot("INBOX")
        assert typ == "OK"
        assert data[0] == [b'INBOX ""'] and data[1] == [f'"" (STORAGE {(used + 1023) // 1024} {allowed // 1024})'.encode()]
        typ, data = client.getquota('""')
        assert typ == "OK" and data == [f'"" (STORAGE {(used + 1023) // 1024} 3072)'.encode()]
    finally:
        client.logout()


def test_quota_unlimited(api, raw, create_user):
    user = create_user()
    ok(api.put(f"/users/{user.id}", json={"quota": 0}))
    assert user_quota(api, user)[0] == 0
    r = raw(user)
    # No limit, no quota root (a QUOTA response needs at least one resource).
    lines = r.command(b"n1", b"GETQUOTAROOT INBOX")
    assert tagged(lines).startswith(b"n1 OK")
    assert b"* QUOTAROOT INBOX\r\n" in lines and not untagged(lines, b"QUOTA")
    assert tagged(r.command(b"n2", b'GETQUOTA ""')).startswith(b"n2 NO")


def test_append_over_quota(api, raw, create_user):
    user = create_user(quota=4096)
    r = raw(user)
    msg = make_message(body="z" * 5000)
    r.send(b"o1 APPEND INBOX {%d+}\r\n" % len(msg) + msg + b"\r\n")
    line = tagged(r.until_tagged(b"o1"))
    assert line.startswith(b"o1 NO [OVERQUOTA]"), line
    assert rest_count(api, user, inbox(api, user.id)) == 0
    assert user_quota(api, user)[1] == 0


# ---------------------------------------------------------------------------------------
# APPENDLIMIT, MULTIAPPEND


def append_cmd(tag: bytes, mailbox: bytes, messages: list[tuple[bytes, bytes]]) -> bytes:
    """APPEND with non-synchronising literals; each message is (prefix, data)."""
    out = tag + b" APPEND " + mailbox
    for prefix, data in messages:
        out += b" " + prefix + (b" " if prefix else b"") + b"{%d+}\r\n" % len(data) + data
    return out + b"\r\n"


def test_multiappend(api, raw, user):
    box = inbox(api, user.id)
    r = raw(user)
    msgs = [make_message(subject=f"multi {i}") for i in range(3)]
    r.send(
        append_cmd(
            b"m1",
            b"INBOX",
            [(b"(\\Seen)", msgs[0]), (b'(\\Flagged) "01-Feb-2020 10:00:00 +0000"', msgs[1]), (b"", msgs[2])],
        )
    )
    line = tagged(r.until_tagged(b"m1"))
    m = re.match(rb"m1 OK \[APPENDUID (\d+) (\d+):(\d+)\]", line)
    assert m, line
    first, last = int(m.group(2)), int(m.group(3))
    assert last - first == 2
    data = ok(api.get(f"/users/{user.id}/mailboxes/{box}/messages", params={"limit": 250, "order": "asc"}))
    results = data["results"]
    assert [x["id"] for x in results] == [first, first + 1, first + 2]
    assert [x["subject"] for x in results] == ["multi 0", "multi 1", "multi 2"]
    assert results[0]["seen"] and not results[0]["flagged"]
    assert results[1]["flagged"] and not results[1]["seen"]
    assert results[1]["idate"].startswith("2020-02-01T10:00:00")


def test_multiappend_atomic(api, raw, create_user):
    user = create_user(quota=5500)
    box = inbox(api, user.id)
    r = raw(user)
    small = make_message(subject="fits", body="a" * 100)
    # The second message alone fits, both together do not: nothing is stored.
    big = make_message(subject="too much", body="b" * 5000)
    r.send(append_cmd(b"t1", b"INBOX", [(b"", small), (b"", big)]))
    line = tagged(r.until_tagged(b"t1"))
    assert line.startswith(b"t1 NO [OVERQUOTA]"), line
    assert rest_count(api, user, box) == 0
    assert user_quota(api, user)[1] == 0
    # An empty second message refuses the first too.
    r.send(append_cmd(b"t2", b"INBOX", [(b"", small), (b"", b"\r\n")]))
    assert tagged(r.until_tagged(b"t2")).startswith(b"t2 NO")
    assert rest_count(api, user, box) == 0
    # A bad date in the second message: the command is BAD, nothing stored.
    r.send(append_cmd(b"t3", b"INBOX", [(b"", small), (b'"31-Foo-2020 10:00:00 +0000"', small)]))
    assert tagged(r.until_tagged(b"t3")).startswith(b"t3 BAD")
    assert rest_count(api, user, box) == 0
    # A second literal over APPENDLIMIT (synchronising): NO [TOOBIG], nothing stored.
    r.send(b"t4 APPEND INBOX {%d}\r\n" % len(small))
    assert r.line().startswith(b"+ ")
    r.send(small + b" {%d}\r\n" % (MAX_MESSAGE + 1))
    line = tagged(r.until_tagged(b"t4"))
    assert line.startswith(b"t4 NO [TOOBIG]"), line
    assert rest_count(api, user, box) == 0
    # Then both fit: stored together.
    r.send(append_cmd(b"t5", b"INBOX", [(b"", small), (b"", small)]))
    assert tagged(r.until_tagged(b"t5")).startswith(b"t5 OK [APPENDUID")
    assert rest_count(api, user, box) == 2


def test_append_limit(api, raw, user):
    r = raw(user)
    r.send(b"x1 APPEND INBOX {%d}\r\n" % (MAX_MESSAGE + 1))
    assert tagged(r.until_tagged(b"x1")).startswith(b"x1 NO [TOOBIG]")
    lines = r.command(b"x2", b"STATUS INBOX (APPENDLIMIT)")
    assert status_map(untagged(lines, b"STATUS")[0]) == {"APPENDLIMIT": MAX_MESSAGE}
    assert rest_count(api, user, inbox(api, user.id)) == 0


# ---------------------------------------------------------------------------------------
# CREATE-SPECIAL-USE, RENAME INBOX


def test_create_special_use(api, raw, user):
    r = raw(user)
    line = tagged(r.command(b"c1", b"CREATE Important (USE (\\Important))"))
    assert line.startswith(b"c1 OK"), line
    assert mailbox_by_path(api, user.id, "Important")["specialUse"] == "\\Important"
    names = list_names(r.command(b"c2", b'LIST (SPECIAL-USE) "" "*"'))
    assert b"\\Important" in names["Important"]
    # Taken already (every user has a \Sent), unsupported, several: USEATTR, nothing made.
    for tag, cmd in [
        (b"c3", b"CREATE MySent (USE (\\Sent))"),
        (b"c4", b"CREATE Important2 (USE (\\important))"),
        (b"c5", b"CREATE Everything (USE (\\All))"),
        (b"c6", b"CREATE Two (USE (\\Junk \\Archive))"),
    ]:
        line = tagged(r.command(tag, cmd))
        assert line.startswith(tag + b" NO [USEATTR]"), line
    paths = [m["path"] for m in mailboxes(api, user.id)]
    for p in ["MySent", "Important2", "Everything", "Two"]:
        assert p not in paths
    # Plain CREATE still works, an existing name is refused.
    assert tagged(r.command(b"c7", b"CREATE Fresh (USE ())")).startswith(b"c7 OK")
    assert tagged(r.command(b"c8", b"CREATE Fresh")).startswith(b"c8 NO [ALREADYEXISTS]")


def test_rename_inbox(api, raw, user):
    box = inbox(api, user.id)
    for i in range(3):
        upload_ok(api, user.id, box, make_message(subject=f"in {i}"))
    create_mailbox(api, user.id, "INBOX/Child")
    r = raw(user)
    line = tagged(r.command(b"r1", b"RENAME INBOX Old-Inbox"))
    assert line.startswith(b"r1 OK"), line
    old = mailbox_by_path(api, user.id, "Old-Inbox")["id"]
    assert rest_count(api, user, old) == 3
    assert inbox(api, user.id) == box and rest_count(api, user, box) == 0
    # INBOX's children stay where they are.
    assert mailbox_by_path(api, user.id, "INBOX/Child")
    # A taken name is refused, INBOX keeps its new message.
    upload_ok(api, user.id, box, make_message(subject="later"))
    assert tagged(r.command(b"r2", b"RENAME INBOX Old-Inbox")).startswith(b"r2 NO [ALREADYEXISTS]")
    assert rest_count(api, user, box) == 1
    # A normal rename moves the children along.
    create_mailbox(api, user.id, "Par/Kid")
    assert tagged(r.command(b"r3", b"RENAME Par Moved")).startswith(b"r3 OK")
    paths = [m["path"] for m in mailboxes(api, user.id)]
    assert "Moved/Kid" in paths and "Par/Kid" not in paths


# ---------------------------------------------------------------------------------------
# BINARY


def attachment_message(payload: bytes, encoding: str = "base64") -> bytes:
    if encoding == "base64":
        b64 = base64.encodebytes(payload).replace(b"\n", b"\r\n")
    else:
        b64 = payload
    return (
        b"From: a@example.com\r\nTo: b@example.test\r\nSubject: binary\r\nMIME-Version: 1.0\r\n"
        b"Content-Type: multipart/mixed; boundary=XX\r\n\r\n"
        b"--XX\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
        b"caf=C3=A9 =\r\nau lait=0D=0A\r\n"
        b"--XX\r\nContent-Type: application/octet-stream; name=blob.bin\r\n"
        b"Content-Disposition: attachment; filename=blob.bin\r\n"
        b"Content-Transfer-Encoding: " + encoding.encode() + b"\r\n\r\n" + b64 + b"\r\n--XX--\r\n"
    )


def fetch_literal(lines: list[bytes], item: bytes) -> tuple[bytes, bytes]:
    """(literal marker, data) of `item` in a one-message FETCH answer."""
    text = b"".join(lines)
    m = re.search(re.escape(item) + rb" (~?)\{(\d+)\}\r\n", text)
    assert m, (item, text[:300])
    start = m.end()
    return m.group(1), text[start : start + int(m.group(2))]


def test_binary_fetch(api, raw, user):
    payload = bytes(range(256)) * 40 + b"\x00end"
    msg = attachment_message(payload)
    uid = upload_ok(api, user.id, inbox(api, user.id), msg)
    r = raw(user)
    assert tagged(r.command(b"f0", b"SELECT INBOX")).startswith(b"f0 OK")
    r.command(b"f0", b"STORE 1 -FLAGS.SILENT (\\Seen)")

    # The attachment, decoded, byte for byte; a literal8 since it holds NUL.
    lines = r.command(b"f1", b"UID FETCH %d (BINARY.PEEK[2] BINARY.SIZE[2] FLAGS)" % uid)
    assert tagged(lines).startswith(b"f1 OK"), lines
    marker, data = fetch_literal(lines, b"BINARY[2]")
    assert marker == b"~" and data == payload
    assert b"BINARY.SIZE[2] %d" % len(payload) in b"".join(lines)
    assert b"\\Seen" not in b"".join(lines)

    # Quoted-printable text part decoded.
    lines = r.command(b"f2", b"UID FETCH %d (BINARY.PEEK[1] BINARY.SIZE[1])" % uid)
    marker, data = fetch_literal(lines, b"BINARY[1]")
    assert marker == b"" and data == "café au lait\r\n".encode()
    assert b"BINARY.SIZE[1] %d" % len(data) in b"".join(lines)

    # Partial: origin and count apply to the decoded data.
    lines = r.command(b"f3", b"UID FETCH %d (BINARY.PEEK[2]<256.10>)" % uid)
    _, data = fetch_literal(lines, b"BINARY[2]<256>")
    assert data == payload[256:266]

    # BINARY[] is the message as stored; BINARY without PEEK sets \Seen.
    lines = r.command(b"f4", b"UID FETCH %d (BINARY[])" % uid)
    _, data = fetch_literal(lines, b"BINARY[]")
    assert data == msg
    assert b"\\Seen" in b"".join(lines)
    m = ok(api.get(f"/users/{user.id}/mailboxes/{inbox(api, user.id)}/messages/{uid}"))
    assert m["seen"] is True

    # A part that does not exist is empty.
    lines = r.command(b"f5", b"UID FETCH %d (BINARY.PEEK[7])" % uid)
    assert tagged(lines).startswith(b"f5 OK") and fetch_literal(lines, b"BINARY[7]")[1] == b""


def test_binary_unknown_cte(api, raw, user):
    uid = upload_ok(api, user.id, inbox(api, user.id), attachment_message(b"begin 644 x\r\n`\r\nend", "x-uuencode"))
    r = raw(user)
    assert tagged(r.command(b"u0", b"SELECT INBOX")).startswith(b"u0 OK")
    line = tagged(r.command(b"u1", b"UID FETCH %d (BINARY.PEEK[2])" % uid))
    assert line.startswith(b"u1 NO [UNKNOWN-CTE]"), line
    line = tagged(r.command(b"u2", b"UID FETCH %d (BINARY.SIZE[2])" % uid))
    assert line.startswith(b"u2 NO [UNKNOWN-CTE]"), line
    # Without PEEK: refused before \Seen is set.
    r.command(b"u2", b"UID STORE %d -FLAGS.SILENT (\\Seen)" % uid)
    lines = r.command(b"u2", b"UID FETCH %d (BINARY[2])" % uid)
    assert tagged(lines).startswith(b"u2 NO [UNKNOWN-CTE]"), lines
    assert b"\\Seen" not in b"".join(lines)
    m = ok(api.get(f"/users/{user.id}/mailboxes/{inbox(api, user.id)}/messages/{uid}"))
    assert m["seen"] is False
    # The known part of the same message still works; BODY[2] gives it encoded.
    assert tagged(r.command(b"u3", b"UID FETCH %d (BINARY.PEEK[1])" % uid)).startswith(b"u3 OK")
    lines = r.command(b"u4", b"UID FETCH %d (BODY.PEEK[2])" % uid)
    assert fetch_literal(lines, b"BODY[2]")[1] == b"begin 644 x\r\n`\r\nend"
    # Bad syntax.
    assert tagged(r.command(b"u5", b"UID FETCH %d (BINARY[1.TEXT])" % uid)).startswith(b"u5 BAD")


def test_append_literal8(api, raw, user):
    r = raw(user)
    msg = b"From: a@example.com\r\nSubject: nul\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: binary\r\n\r\nab\x00cd\xff\r\n"
    r.send(b"p1 APPEND INBOX ~{%d+}\r\n" % len(msg) + msg + b"\r\n")
    line = tagged(r.until_tagged(b"p1"))
    assert line.startswith(b"p1 OK [APPENDUID"), line
    uid = int(re.search(rb"APPENDUID \d+ (\d+)", line).group(1))
    box = inbox(api, user.id)
    source = api.get(f"/users/{user.id}/mailboxes/{box}/messages/{uid}/message.eml")
    assert source.status_code == 200 and source.content == msg
    assert tagged(r.command(b"p2", b"SELECT INBOX")).startswith(b"p2 OK")
    lines = r.command(b"p3", b"UID FETCH %d (BINARY.PEEK[1])" % uid)
    marker, data = fetch_literal(lines, b"BINARY[1]")
    assert marker == b"~" and data == b"ab\x00cd\xff\r\n"


# ---------------------------------------------------------------------------------------
# UTF8=ACCEPT, IMAP4rev2


def test_utf8_accept(api, raw, user):
    name = "Grüße/日本"
    utf7 = b"Gr&APwA3w-e/&ZeVnLA-"
    r = raw(user)
    # Before ENABLE: modified UTF-7 both ways.
    assert tagged(r.command(b"v1", b'CREATE "' + utf7 + b'"')).startswith(b"v1 OK")
    assert name in [m["path"] for m in mailboxes(api, user.id)]
    names = list_names(r.command(b"v2", b'LIST "" "Gr*"'))
    assert utf7.decode() in names

    lines = r.command(b"v3", b"ENABLE UTF8=ACCEPT")
    assert untagged(lines, b"ENABLED") == [b"* ENABLED UTF8=ACCEPT\r\n"]
    # Enabling again reports nothing new.
    assert b"* ENABLED\r\n" in r.command(b"v4", b"ENABLE UTF8=ACCEPT")
    names = list_names(r.command(b"v5", b'LIST "" "Gr*"'))
    assert set(names) == {"Grüße", name}, names
    # UTF-8 accepted raw in commands; "&" is no longer special.
    lines = r.command(b"v6", 'STATUS "{}" (MESSAGES)'.format(name).encode())
    assert tagged(lines).startswith(b"v6 OK") and untagged(lines, b"STATUS")[0].startswith(
        f'* STATUS "{name}" '.encode()
    )
    assert tagged(r.command(b"v7", 'CREATE "Ä&B"'.encode())).startswith(b"v7 OK")
    assert "Ä&B" in [m["path"] for m in mailboxes(api, user.id)]
    # APPEND with the UTF8 data extension.
    msg = "From: a@example.com\r\nSubject: Grüße\r\n\r\nHallo\r\n".encode()
    r.send(b'v8 APPEND "' + name.encode() + b'" UTF8 (~{%d+}\r\n' % len(msg) + msg + b")\r\n")
    assert tagged(r.until_tagged(b"v8")).startswith(b"v8 OK [APPENDUID")
    assert rest_count(api, user, mailbox_by_path(api, user.id, name)["id"]) == 1
    # ENABLE is refused once a mailbox is selected.
    assert tagged(r.command(b"v9", b"SELECT INBOX")).startswith(b"v9 OK")
    assert tagged(r.command(b"va", b"ENABLE IMAP4rev2")).startswith(b"va BAD")


def test_imap4rev2(api, raw, user):
    upload_ok(api, user.id, inbox(api, user.id), make_message())
    old = raw(user)
    old.command(b"w0", b"SELECT INBOX")
    old.command(b"w0", b"STORE 1 -FLAGS.SILENT (\\Seen)")
    lines = old.command(b"w0", b"EXAMINE INBOX")
    assert b"* 0 RECENT\r\n" in lines and not untagged(lines, b"LIST")
    assert [line for line in lines if b"[UNSEEN 1]" in line]

    r = raw(user)
    lines = r.command(b"w1", b"ENABLE IMAP4rev2")
    assert untagged(lines, b"ENABLED") == [b"* ENABLED IMAP4rev2\r\n"]
    lines = r.command(b"w2", b"SELECT INBOX")
    assert tagged(lines).startswith(b"w2 OK")
    assert not [line for line in lines if b"RECENT" in line or b"[UNSEEN " in line], lines
    assert list_names(lines).keys() == {"INBOX"}
    assert b"1 EXISTS" in b"".join(lines)
    lines = r.command(b"w3", b"FETCH 1 (FLAGS)")
    assert b"\\Recent" not in b"".join(lines)
    lines = r.command(b"w4", b"STATUS INBOX (MESSAGES DELETED SIZE)")
    st = status_map(untagged(lines, b"STATUS")[0])
    assert st["MESSAGES"] == 1 and st["DELETED"] == 0 and st["SIZE"] > 0
    # Mailbox names are UTF-8 under rev2.
    r.command(b"w5", b"UNSELECT")
    assert tagged(r.command(b"w6", 'CREATE "Ünïcode"'.encode())).startswith(b"w6 OK")
    assert "Ünïcode" in list_names(r.command(b"w7", b'LIST "" "*"'))
