"""CONDSTORE and QRESYNC (RFC 7162) over a real socket: MODSEQ on FETCH, HIGHESTMODSEQ on
SELECT/STATUS, modseq moving on flag changes made through IMAP and through the REST API,
CHANGEDSINCE, UNCHANGEDSINCE with MODIFIED, SEARCH MODSEQ, ENABLE and implicit enabling,
QRESYNC resynchronisation after expunges made elsewhere, VANISHED instead of EXPUNGE, CLOSED,
and BAD for modifiers that are wrong or not enabled."""

from __future__ import annotations

import re

import pytest

from helpers import inbox, mailbox_by_path, make_message, message_path, ok, upload_ok
from imap_client import Raw


@pytest.fixture
def session(server, user):
    """`session()`: a raw connection logged in as `user`."""
    opened: list[Raw] = []

    def make() -> Raw:
        r = Raw(server.imap_port)
        opened.append(r)
        r.login(user, b"l0")
        return r

    yield make
    for r in opened:
        r.close()


def tagged(lines: list[bytes]) -> bytes:
    return lines[-1]


def untagged(lines: list[bytes]) -> list[bytes]:
    return [line.rstrip(b"\r\n") for line in lines[:-1]]


def code_number(lines: list[bytes], code: str) -> int:
    """The number of an `[CODE n]` response code among `lines`."""
    for line in lines:
        m = re.search(rb"\[" + code.encode() + rb" (\d+)\]", line)
        if m:
            return int(m.group(1))
    raise AssertionError(f"no {code} in {lines!r}")


def fetches(lines: list[bytes]) -> dict[int, dict[str, object]]:
    """Untagged FETCH responses by UID: {"seq", "flags", "modseq"} (None when absent)."""
    out = {}
    for line in lines:
        m = re.match(rb"\* (\d+) FETCH \((.*)\)\r?\n?$", line)
        if not m:
            continue
        body = m.group(2)
        uid = re.search(rb"UID (\d+)", body)
        assert uid, line
        flags = re.search(rb"FLAGS \(([^)]*)\)", body)
        modseq = re.search(rb"MODSEQ \((\d+)\)", body)
        out[int(uid.group(1))] = {
            "seq": int(m.group(1)),
            "flags": set(flags.group(1).decode().split()) if flags else None,
            "modseq": int(modseq.group(1)) if modseq else None,
        }
    return out


def vanished(lines: list[bytes], earlier: bool) -> list[int]:
    """UIDs of the `VANISHED [(EARLIER)]` responses among `lines`, expanded."""
    prefix = b"* VANISHED (EARLIER) " if earlier else b"* VANISHED "
    uids: list[int] = []
    for line in lines:
        if not line.startswith(prefix) or (not earlier and line.startswith(b"* VANISHED (")):
            continue
        for part in line[len(prefix):].strip().split(b","):
            lo, _, hi = part.partition(b":")
            uids += range(int(lo), int(hi or lo) + 1)
    return sorted(uids)


def upload_n(api, user, n: int) -> tuple[str, list[int]]:
    mid = inbox(api, user.id)
    return mid, [upload_ok(api, user.id, mid, make_message(subject=f"m{i}"), {"unseen": "true"}) for i in range(n)]


def test_capabilities_and_enable(session):
    r = session()
    lines = r.command(b"c1", b"CAPABILITY")
    assert b" CONDSTORE" in lines[0] and b" QRESYNC" in lines[0], lines
    lines = r.command(b"c2", b"ENABLE CONDSTORE QRESYNC X-UNKNOWN")
    assert untagged(lines) == [b"* ENABLED CONDSTORE QRESYNC"]
    assert tagged(lines).startswith(b"c2 OK")
    # Already enabled: nothing newly enabled.
    lines = r.command(b"c3", b"ENABLE QRESYNC")
    assert untagged(lines) == [b"* ENABLED"]


def test_modseq_moves_on_imap_and_rest_flag_changes(api, session, user):
    mid, uids = upload_n(api, user, 2)
    a = session()
    lines = a.command(b"a1", b"SELECT INBOX (CONDSTORE)")
    assert tagged(lines).startswith(b"a1 OK [READ-WRITE]")
    h0 = code_number(lines, "HIGHESTMODSEQ")
    start = fetches(a.command(b"a2", b"FETCH 1:* (UID MODSEQ)"))
    assert set(start) == set(uids)
    assert all(0 < f["modseq"] <= h0 for f in start.values())

    # A flag change through IMAP: the STORE answer carries the new modseq.
    lines = a.command(b"a3", b"STORE 1 +FLAGS (\\Flagged)")
    changed = fetches(lines)[uids[0]]
    assert changed["flags"] == {"\\Flagged"} and changed["modseq"] > h0
    m1 = changed["modseq"]

    # A flag change through the REST API: seen by the session with MODSEQ (CONDSTORE on).
    ok(api.put(message_path(user.id, mid, uids[1]), json={"seen": True}))
    noop = fetches(a.command(b"a4", b"NOOP"))
    assert noop[uids[1]]["flags"] == {"\\Seen"}
    m2 = noop[uids[1]]["modseq"]
    assert m2 > m1
    now = fetches(a.command(b"a5", b"UID FETCH 1:* (MODSEQ)"))
    assert now[uids[0]]["modseq"] == m1 and now[uids[1]]["modseq"] == m2

    # STATUS and a new SELECT report the new highest modseq.
    b = session()
    lines = b.command(b"b1", b"STATUS INBOX (HIGHESTMODSEQ MESSAGES)")
    assert untagged(lines) == [f"* STATUS INBOX (HIGHESTMODSEQ {m2} MESSAGES 2)".encode()]
    assert code_number(b.command(b"b2", b"EXAMINE INBOX"), "HIGHESTMODSEQ") == m2

    # A STORE that changes nothing does not move the modseq.
    a.command(b"a6", b"STORE 1 +FLAGS.SILENT (\\Flagged)")
    assert fetches(a.command(b"a7", b"FETCH 1 (UID MODSEQ)"))[uids[0]]["modseq"] == m1


def test_changedsince(api, session, user):
    mid, uids = upload_n(api, user, 3)
    r = session()
    h0 = code_number(r.command(b"s1", b"SELECT INBOX"), "HIGHESTMODSEQ")
    ok(api.put(message_path(user.id, mid, uids[1]), json={"flagged": True}))
    lines = r.command(b"s2", f"FETCH 1:* (FLAGS) (CHANGEDSINCE {h0})".encode())
    assert tagged(lines).startswith(b"s2 OK")
    # Only the changed message, with MODSEQ added (and UID, as CONDSTORE is now on).
    got = [line for line in untagged(lines) if b"FETCH" in line]
    assert len(got) == 1 and got[0].startswith(b"* 2 FETCH ("), lines
    f = fetches(got)[uids[1]]
    assert f["flags"] == {"\\Flagged"} and f["modseq"] > h0
    lines = r.command(b"s3", f"UID FETCH 1:* (FLAGS) (CHANGEDSINCE {f['modseq']})".encode())
    assert untagged(lines) == [] and tagged(lines).startswith(b"s3 OK")
    # CHANGEDSINCE 0: everything.
    lines = r.command(b"s4", b"UID FETCH 1:* (FLAGS) (CHANGEDSINCE 0)")
    assert set(fetches(lines)) == set(uids)


def test_unchangedsince_conflict_gives_modified(api, session, user):
    mid, uids = upload_n(api, user, 3)
    a, b = session(), session()
    h0 = code_number(a.command(b"a1", b"SELECT INBOX (CONDSTORE)"), "HIGHESTMODSEQ")
    b.command(b"b1", b"SELECT INBOX")
    # Another session changes message 1 after `a` read the modseqs.
    assert tagged(b.command(b"b2", b"STORE 1 +FLAGS (\\Seen)")).startswith(b"b2 OK")

    lines = a.command(b"a2", f"STORE 1:2 (UNCHANGEDSINCE {h0}) +FLAGS (\\Answered)".encode())
    assert tagged(lines).startswith(b"a2 OK [MODIFIED 1]"), lines
    f = fetches(lines)
    # Message 2 passed: FETCH with its flags, UID and new modseq; message 1 did not change
    # (its FETCH, if any, is the update from the other session).
    assert f[uids[1]]["flags"] == {"\\Answered"} and f[uids[1]]["modseq"] > h0
    assert "\\Answered" not in (f.get(uids[0], {}).get("flags") or set())
    assert ok(api.get(message_path(user.id, mid, uids[0])))["answered"] is False
    assert ok(api.get(message_path(user.id, mid, uids[1])))["answered"] is True

    # UID STORE: MODIFIED lists UIDs; .SILENT still reports UID and MODSEQ of the changed
    # message (the client needs the new modseq), without FLAGS.
    m2 = f[uids[1]]["modseq"]
    lines = a.command(
        b"a3", f"UID STORE {uids[1]},{uids[2]} (UNCHANGEDSINCE {h0}) +FLAGS.SILENT (\\Flagged)".encode()
    )
    assert tagged(lines).startswith(f"a3 OK [MODIFIED {uids[1]}]".encode()), lines
    body = [line for line in untagged(lines) if b"FETCH" in line]
    assert len(body) == 1 and b"FLAGS" not in body[0], lines
    assert fetches(body)[uids[2]]["modseq"] > m2
    assert ok(api.get(message_path(user.id, mid, uids[1])))["flagged"] is False
    assert ok(api.get(message_path(user.id, mid, uids[2])))["flagged"] is True

    # UNCHANGEDSINCE 0 always fails; nothing changes.
    lines = a.command(b"a4", b"STORE 1:* (UNCHANGEDSINCE 0) +FLAGS (\\Draft)")
    assert tagged(lines).startswith(b"a4 OK [MODIFIED 1:3]"), lines
    assert not any(ok(api.get(message_path(user.id, mid, u)))["draft"] for u in uids)


def test_search_modseq(api, session, user):
    mid, uids = upload_n(api, user, 3)
    r = session()
    h0 = code_number(r.command(b"s1", b"SELECT INBOX"), "HIGHESTMODSEQ")
    ok(api.put(message_path(user.id, mid, uids[2]), json={"seen": True}))
    r.command(b"s2", b"NOOP")
    m = fetches(r.command(b"s3", b"FETCH 3 (UID MODSEQ)"))[uids[2]]["modseq"]
    assert untagged(r.command(b"s4", f"SEARCH MODSEQ {h0 + 1}".encode())) == [f"* SEARCH 3 (MODSEQ {m})".encode()]
    lines = r.command(b"s5", f'UID SEARCH MODSEQ "/flags/\\\\Seen" all {h0 + 1} SEEN'.encode())
    assert untagged(lines) == [f"* SEARCH {uids[2]} (MODSEQ {m})".encode()]
    # Nothing found: no MODSEQ.
    assert untagged(r.command(b"s6", f"SEARCH MODSEQ {m + 1}".encode())) == [b"* SEARCH"]
    # Without a MODSEQ key, no MODSEQ in the answer.
    assert untagged(r.command(b"s7", b"SEARCH SEEN")) == [b"* SEARCH 3"]


def test_implicit_enabling_while_selected(api, session, user):
    mid, uids = upload_n(api, user, 2)
    r = session()
    h0 = code_number(r.command(b"i1", b"SELECT INBOX"), "HIGHESTMODSEQ")
    # Before CONDSTORE is on, unsolicited FETCH has no MODSEQ.
    ok(api.put(message_path(user.id, mid, uids[0]), json={"flagged": True}))
    f = fetches(r.command(b"i2", b"NOOP"))[uids[0]]
    assert f["modseq"] is None and f["flags"] == {"\\Flagged"}
    # The first enabling command with a mailbox selected reports HIGHESTMODSEQ.
    lines = r.command(b"i3", b"FETCH 2 (MODSEQ)")
    assert code_number(lines, "HIGHESTMODSEQ") > h0
    assert tagged(lines).startswith(b"i3 OK")
    ok(api.put(message_path(user.id, mid, uids[1]), json={"flagged": True}))
    f = fetches(r.command(b"i4", b"NOOP"))[uids[1]]
    assert f["modseq"] is not None and f["flags"] == {"\\Flagged"}
    # Only once.
    lines = r.command(b"i5", b"STATUS INBOX (HIGHESTMODSEQ)")
    assert not any(b"[HIGHESTMODSEQ" in line for line in lines)
    # A BODY[] fetch that sets \Seen reports UID, FLAGS and MODSEQ.
    text = b"".join(r.command(b"i6", b"FETCH 1 (BODY[HEADER.FIELDS (SUBJECT)])"))
    assert re.search(rb"UID \d+", text) and b"MODSEQ (" in text and b"\\Seen" in text, text


def test_qresync_select_after_expunges_elsewhere(api, session, user):
    mid, uids = upload_n(api, user, 6)
    a = session()
    a.command(b"a1", b"ENABLE QRESYNC")
    lines = a.command(b"a2", b"SELECT INBOX")
    uidvalidity = code_number(lines, "UIDVALIDITY")
    h0 = code_number(lines, "HIGHESTMODSEQ")
    a.command(b"a3", b"LOGOUT")

    # While the client is away: a REST delete, an IMAP expunge, a REST move and a REST and
    # an IMAP flag change.
    assert api.delete(message_path(user.id, mid, uids[1])).status_code == 200
    b = session()
    b.command(b"b1", b"SELECT INBOX")
    assert tagged(b.command(b"b2", f"UID STORE {uids[3]} +FLAGS (\\Deleted)".encode())).startswith(b"b2 OK")
    assert tagged(b.command(b"b3", f"UID EXPUNGE {uids[3]}".encode())).startswith(b"b3 OK")
    trash = mailbox_by_path(api, user.id, "Trash")["id"]
    ok(api.put(message_path(user.id, mid, uids[5]), json={"moveTo": trash}))
    ok(api.put(message_path(user.id, mid, uids[4]), json={"flagged": True}))
    b.command(b"b4", f"UID STORE {uids[2]} +FLAGS (\\Answered)".encode())

    c = session()
    assert untagged(c.command(b"c1", b"ENABLE QRESYNC")) == [b"* ENABLED QRESYNC"]
    lines = c.command(b"c2", f"SELECT INBOX (QRESYNC ({uidvalidity} {h0}))".encode())
    assert tagged(lines).startswith(b"c2 OK [READ-WRITE]"), lines
    assert b"* 3 EXISTS\r\n" in lines
    assert vanished(lines, earlier=True) == sorted([uids[1], uids[3], uids[5]])
    changed = fetches(lines)
    assert set(changed) == {uids[2], uids[4]}
    assert changed[uids[4]]["flags"] == {"\\Flagged"} and changed[uids[4]]["seq"] == 3
    assert changed[uids[2]]["flags"] == {"\\Answered"} and changed[uids[2]]["seq"] == 2
    h1 = code_number(lines, "HIGHESTMODSEQ")
    assert all(h0 < f["modseq"] <= h1 for f in changed.values())
    # VANISHED (EARLIER) and the FETCHes come after the other SELECT responses.
    v = next(i for i, line in enumerate(lines) if line.startswith(b"* VANISHED"))
    assert all(not line.startswith(b"* VANISHED") and b"FETCH" not in line for line in lines[:v])
    assert v > max(i for i, line in enumerate(lines) if b"[HIGHESTMODSEQ" in line or b"EXISTS" in line)

    # Selecting again: CLOSED first; known UIDs limit what is reported.
    lines = c.command(b"c3", f"SELECT INBOX (QRESYNC ({uidvalidity} {h0} {uids[0]}:{uids[2]}))".encode())
    assert lines[0].startswith(b"* OK [CLOSED]"), lines
    assert vanished(lines, earlier=True) == [uids[1]]
    assert set(fetches(lines)) == {uids[2]}
    # Up to date: nothing to report.
    lines = c.command(b"c4", f"EXAMINE INBOX (QRESYNC ({uidvalidity} {h1} 1:*))".encode())
    assert vanished(lines, earlier=True) == [] and fetches(lines) == {}
    assert tagged(lines).startswith(b"c4 OK [READ-ONLY]")
    # Another UIDVALIDITY: a plain SELECT, no VANISHED and no FETCH.
    lines = c.command(b"c5", f"SELECT INBOX (QRESYNC ({uidvalidity + 1} {h0}))".encode())
    assert tagged(lines).startswith(b"c5 OK") and vanished(lines, earlier=True) == [] and fetches(lines) == {}

    # UID FETCH with CHANGEDSINCE and VANISHED gives the same resynchronisation.
    lines = c.command(b"c6", f"UID FETCH 1:* (FLAGS) (CHANGEDSINCE {h0} VANISHED)".encode())
    assert vanished(lines, earlier=True) == sorted([uids[1], uids[3], uids[5]])
    assert set(fetches(lines)) == {uids[2], uids[4]}
    assert lines[0].startswith(b"* VANISHED (EARLIER)")
    lines = c.command(b"c7", f"UID FETCH {uids[0]}:{uids[1]} (FLAGS) (CHANGEDSINCE {h0} VANISHED)".encode())
    assert vanished(lines, earlier=True) == [uids[1]] and fetches(lines) == {}


def test_vanished_instead_of_expunge(api, session, user):
    mid, uids = upload_n(api, user, 5)
    q, plain = session(), session()
    q.command(b"q1", b"ENABLE QRESYNC")
    q.command(b"q2", b"SELECT INBOX")
    plain.command(b"p1", b"SELECT INBOX")

    # Another session expunges: it sees EXPUNGE, the QRESYNC session VANISHED.
    plain.command(b"p2", b"STORE 2 +FLAGS.SILENT (\\Deleted)")
    lines = plain.command(b"p3", b"EXPUNGE")
    assert b"* 2 EXPUNGE\r\n" in lines
    # Not during FETCH by sequence number (RFC 3501 7.4.1)...
    lines = q.command(b"q3", b"FETCH 1 (FLAGS)")
    assert not any(line.startswith(b"* VANISHED") for line in lines)
    # ...but at NOOP.
    lines = q.command(b"q4", b"NOOP")
    assert vanished(lines, earlier=False) == [uids[1]]
    assert not any(b"EXPUNGE" in line for line in lines)

    # Its own EXPUNGE and UID EXPUNGE answer VANISHED too.
    q.command(b"q5", f"UID STORE {uids[2]},{uids[3]} +FLAGS.SILENT (\\Deleted)".encode())
    lines = q.command(b"q6", f"UID EXPUNGE {uids[3]}".encode())
    assert vanished(lines, earlier=False) == [uids[3]] and tagged(lines).startswith(b"q6 OK")
    # The tagged OK tells the new HIGHESTMODSEQ (CONDSTORE is on with QRESYNC).
    h6 = code_number([tagged(lines)], "HIGHESTMODSEQ")
    lines = q.command(b"q7", b"EXPUNGE")
    assert vanished(lines, earlier=False) == [uids[2]]
    h7 = code_number([tagged(lines)], "HIGHESTMODSEQ")
    assert h7 > h6
    status = session().command(b"x1", b"STATUS INBOX (HIGHESTMODSEQ)")
    assert untagged(status) == [f"* STATUS INBOX (HIGHESTMODSEQ {h7})".encode()]

    # A REST delete during IDLE.
    q.send(b"q8 IDLE\r\n")
    assert q.line().startswith(b"+ ")
    assert api.delete(message_path(user.id, mid, uids[4])).status_code == 200
    assert q.line() == f"* VANISHED {uids[4]}\r\n".encode()
    q.send(b"DONE\r\n")
    assert tagged(q.until_tagged(b"q8")).startswith(b"q8 OK")
    lines = q.command(b"q9", b"UID FETCH 1:* (UID)")
    assert set(fetches(lines)) == {uids[0]}
    # The plain session still gets EXPUNGE, with sequence numbers.
    lines = plain.command(b"p4", b"NOOP")
    assert [line for line in untagged(lines) if b"EXPUNGE" in line] == [b"* 4 EXPUNGE", b"* 3 EXPUNGE", b"* 2 EXPUNGE"]


def test_errors(api, session, user):
    upload_n(api, user, 1)
    r = session()
    # QRESYNC parameters and the VANISHED modifier need ENABLE QRESYNC first.
    assert tagged(r.command(b"e1", b"SELECT INBOX (QRESYNC (1 1))")).startswith(b"e1 BAD")
    assert tagged(r.command(b"e2", b"SELECT INBOX")).startswith(b"e2 OK")
    assert tagged(r.command(b"e3", b"UID FETCH 1:* (FLAGS) (CHANGEDSINCE 1 VANISHED)")).startswith(b"e3 BAD")
    for tag, bad in [
        (b"e4", b"FETCH 1 (FLAGS) (CHANGEDSINCE x)"),
        (b"e5", b"FETCH 1 (FLAGS) (FOO 1)"),
        (b"e6", b"FETCH 1 (FLAGS) (CHANGEDSINCE 1 VANISHED)"),
        (b"e7", b"UID FETCH 1 (FLAGS) (VANISHED)"),
        (b"e8", b"STORE 1 (UNCHANGEDSINCE) +FLAGS (\\Seen)"),
        (b"e9", b"STORE 1 (UNCHANGEDSINCE 1 X) +FLAGS (\\Seen)"),
        (b"e10", b'SEARCH MODSEQ "/private/x" all 1'),
        (b"e11", b"SEARCH MODSEQ 99999999999999999999"),
        (b"e12", b"SELECT INBOX (CONDSTORE CONDSTORE)"),
        (b"e13", b"SELECT INBOX (QRESYNC (1))"),
    ]:
        lines = r.command(tag, bad)
        assert tagged(lines).startswith(tag + b" BAD"), lines
    # The session goes on, with the mailbox still selected.
    assert tagged(r.command(b"e14", b"FETCH 1 (MODSEQ)")).startswith(b"e14 OK")
