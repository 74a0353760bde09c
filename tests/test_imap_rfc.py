"""IMAP behaviours a demanding client checks against the RFCs (issue 20), each over a real
socket on both engines: mailbox names that are atoms or not modified UTF-7 (RFC 3501 5.1.3),
ID at its RFC 2971 maximum, BINARY quoted-printable and literal8 (RFC 3516), SEARCH RETURN
(MIN) with MODSEQ (RFC 7162 3.1.5), MOVE into the selected mailbox (RFC 6851), UIDVALIDITY of
a recreated mailbox, SEARCH semantics (RFC 3501 6.4.4), keyword announcement (RFC 3501
7.2.6), \\Recent (RFC 3501 2.3.2, not in IMAP4rev2)."""

from __future__ import annotations

import re

from helpers import inbox, make_message, upload_ok
from imap_client import Raw


def tagged(lines: list[bytes]) -> bytes:
    return lines[-1]


def untagged(lines: list[bytes], kind: bytes) -> list[bytes]:
    return [line for line in lines if line.startswith(b"* " + kind)]


def is_ok(lines: list[bytes], tag: bytes) -> bool:
    return tagged(lines).startswith(tag + b" OK")


def selected(r: Raw, name: bytes = b"INBOX", tag: bytes = b"s") -> list[bytes]:
    lines = r.command(tag, b"SELECT " + name)
    assert is_ok(lines, tag), lines
    return lines


def status(r: Raw, name: bytes, items: bytes) -> dict[str, int]:
    lines = r.command(b"st", b"STATUS " + name + b" (" + items + b")")
    assert is_ok(lines, b"st"), lines
    m = re.search(rb"\(([^)]*)\)\r\n$", untagged(lines, b"STATUS")[0])
    assert m
    parts = m.group(1).decode().split()
    return {parts[i]: int(parts[i + 1]) for i in range(0, len(parts), 2)}


def search_numbers(lines: list[bytes]) -> list[int]:
    found = untagged(lines, b"SEARCH")
    assert len(found) == 1, lines
    return [int(x) for x in found[0].split()[2:] if x.isdigit()]


# ---------------------------------------------------------------------------------------
# 6. Mailbox names: every atom is a name; bad modified UTF-7 is NO, never a broken session


ATOM_NAME = b"!#$'+,-.0123456789:;<=>?@^_`|[}~"


def test_atom_mailbox_name(raw, user):
    r = raw(user)
    lines = r.command(b"a1", b"CREATE " + ATOM_NAME)
    assert is_ok(lines, b"a1"), lines
    lines = r.command(b"a2", b'LIST "" ' + ATOM_NAME)
    assert is_ok(lines, b"a2"), lines
    listed = untagged(lines, b"LIST")
    assert len(listed) == 1 and ATOM_NAME in listed[0], listed
    assert is_ok(r.command(b"a3", b"SELECT " + ATOM_NAME), b"a3")
    assert is_ok(r.command(b"a4", b"NOOP"), b"a4")


def test_invalid_modified_utf7_is_no(raw, user):
    r = raw(user)
    # `&'+,-` is a valid atom but not a modified base64 run.
    for i, name in enumerate([b"!#$&'+,-.0123456789:;<=>?@^_`|[}", b"a&Jjo!-b", b"&AGE-", b"x&"]):
        tag = b"u%d" % i
        lines = r.command(tag, b"CREATE " + name)
        assert tagged(lines).startswith(tag + b" NO"), (name, lines)
        assert is_ok(r.command(tag + b"n", b"NOOP"), tag + b"n")
    # The proper encoding of the same text works.
    assert is_ok(r.command(b"u9", b'CREATE "a&Jjo-b"'), b"u9")


# ---------------------------------------------------------------------------------------
# 7. ID at RFC 2971's maximum: 30 pairs, 30-octet fields, 1024-octet values


def test_id_rfc2971_maximum(raw, user):
    pairs = b" ".join(b'"%s" "%s"' % ((b"f%02d" % i).ljust(30, b"x"), b"v" * 1024) for i in range(30))
    for logged_in in (False, True):
        r = raw(user if logged_in else None)
        lines = r.command(b"i1", b"ID (" + pairs + b")")
        assert is_ok(lines, b"i1"), lines[-1][:200]
        assert untagged(lines, b"ID ")
        assert is_ok(r.command(b"i2", b"NOOP"), b"i2")
    # A line far beyond what any command needs is still refused, and the session goes on.
    r = raw(user)
    r.send(b"i3 NOOP " + b"x" * (300 * 1024) + b"\r\n")
    line = r.line()
    assert b"BAD" in line, line
    assert is_ok(r.command(b"i4", b"NOOP"), b"i4")


# ---------------------------------------------------------------------------------------
# 8. BINARY: quoted-printable soft whitespace, literal8 APPEND of a binary part


def fetch_literal(lines: list[bytes], item: bytes) -> bytes:
    text = b"".join(lines)
    m = re.search(re.escape(item) + rb" ~?\{(\d+)\}\r\n", text)
    assert m, (item, text[:400])
    return text[m.end() : m.end() + int(m.group(1))]


def test_binary_quoted_printable_trailing_whitespace(api, raw, user):
    # RFC 2045 6.7 (3): trailing whitespace of an encoded line is dropped when decoding.
    msg = (
        b"From: a@example.com\r\nTo: b@example.test\r\nSubject: qp\r\nMIME-Version: 1.0\r\n"
        b"Content-Type: text/plain; charset=us-ascii\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
        b"line one   \r\nline=20two \t \r\nsoft =  \r\nbreak\r\n"
    )
    uid = upload_ok(api, user.id, inbox(api, user.id), msg)
    r = raw(user)
    selected(r)
    lines = r.command(b"b1", b"UID FETCH %d (BINARY.PEEK[1] BINARY.SIZE[1])" % uid)
    assert is_ok(lines, b"b1"), lines
    data = fetch_literal(lines, b"BINARY[1]")
    assert data == b"line one\r\nline two\r\nsoft break\r\n", data
    assert b"BINARY.SIZE[1] %d" % len(data) in b"".join(lines)


def test_append_literal8_binary_part(raw, user):
    payload = b"\x00\x01bin\xff\xfe\nbare LF\n\x00\r\nend"
    msg = (
        b"From: a@example.com\r\nTo: b@example.test\r\nSubject: bin\r\nMIME-Version: 1.0\r\n"
        b"Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: binary\r\n\r\n" + payload
    )
    r = raw(user)
    caps = b"".join(r.command(b"c", b"CAPABILITY"))
    assert b"BINARY" in caps
    r.send(b"p1 APPEND INBOX ~{%d}\r\n" % len(msg))
    assert r.line().startswith(b"+")
    r.send(msg + b"\r\n")
    lines = r.until_tagged(b"p1")
    assert is_ok(lines, b"p1"), lines
    selected(r)
    lines = r.command(b"p2", b"FETCH 1 (BINARY.PEEK[1] BODY.PEEK[1] BINARY.SIZE[1] RFC822.SIZE)")
    assert is_ok(lines, b"p2"), lines
    assert fetch_literal(lines, b"BINARY[1]") == payload
    assert b"BINARY.SIZE[1] %d" % len(payload) in b"".join(lines)
    assert b"RFC822.SIZE %d" % len(msg) in b"".join(lines)
    # BODY[1] is not allowed to carry NUL: it comes back intact or, per RFC 3516 4.3,
    # the server may refuse it (never empty).
    body = fetch_literal(lines, b"BODY[1]")
    assert body == payload, body
    # BINARY[] of the whole message returns it as appended.
    lines = r.command(b"p3", b"FETCH 1 BINARY.PEEK[]")
    assert fetch_literal(lines, b"BINARY[]") == msg


# ---------------------------------------------------------------------------------------
# 9. SEARCH RETURN (MIN) with MODSEQ: the modseq of the messages returned


def test_search_return_min_modseq(api, raw, user):
    box = inbox(api, user.id)
    for i in range(4):
        upload_ok(api, user.id, box, make_message(subject=f"m{i}"))
    r = raw(user)
    assert is_ok(r.command(b"e", b"ENABLE CONDSTORE"), b"e")
    selected(r)
    # Touch 3 and 4 so that their modseqs are the highest, then 1 so it is the newest.
    assert is_ok(r.command(b"f1", b"STORE 3 +FLAGS.SILENT (x1)"), b"f1")
    assert is_ok(r.command(b"f2", b"STORE 4 +FLAGS.SILENT (x2)"), b"f2")
    lines = r.command(b"f3", b"FETCH 1:4 (MODSEQ)")
    mods = {int(m.group(1)): int(m.group(2)) for m in (re.search(rb"\* (\d+) FETCH .*MODSEQ \((\d+)\)", x) for x in lines) if m}
    assert len(mods) == 4, lines
    # MIN is message 1 (untouched): its modseq, not the mailbox's highest.
    lines = r.command(b"s1", b"SEARCH RETURN (MIN) MODSEQ 1")
    esearch = untagged(lines, b"ESEARCH")
    assert esearch, lines
    assert b"MIN 1" in esearch[0] and b"MODSEQ %d" % mods[1] in esearch[0], (esearch, mods)
    # MAX 4 is the highest of all, MIN+MAX of 1..2: the highest of the two returned.
    lines = r.command(b"s2", b"SEARCH RETURN (MIN MAX) 1:2 MODSEQ 1")
    assert b"MODSEQ %d" % max(mods[1], mods[2]) in untagged(lines, b"ESEARCH")[0], (lines, mods)
    lines = r.command(b"s3", b"SEARCH RETURN (COUNT) MODSEQ 1")
    assert b"MODSEQ %d" % max(mods.values()) in untagged(lines, b"ESEARCH")[0], (lines, mods)
    lines = r.command(b"s4", b"SEARCH RETURN (MAX) 1:3 MODSEQ 1")
    assert b"MAX 3" in untagged(lines, b"ESEARCH")[0] and b"MODSEQ %d" % mods[3] in untagged(lines, b"ESEARCH")[0]


# ---------------------------------------------------------------------------------------
# 10. MOVE into the selected mailbox: copy and expunge (RFC 6851 3.3)


def test_move_into_selected_mailbox(api, raw, user):
    box = inbox(api, user.id)
    for i in range(3):
        upload_ok(api, user.id, box, make_message(subject=f"mv{i}"))
    r = raw(user)
    sel = selected(r)
    uidnext = int(re.search(rb"UIDNEXT (\d+)", b"".join(sel)).group(1))
    lines = r.command(b"m1", b"MOVE 1:2 INBOX")
    assert is_ok(lines, b"m1"), lines
    text = b"".join(lines)
    assert b"COPYUID" in text, lines
    m = re.search(rb"COPYUID \d+ (\S+) (\S+)\]", text)
    assert m and m.group(2) == b"%d:%d" % (uidnext, uidnext + 1), lines
    assert len([x for x in lines if re.match(rb"\* \d+ EXPUNGE", x)]) == 2, lines
    # One message left, the two moved ones back at the end.
    assert b"* 3 EXISTS\r\n" in lines, lines
    lines = r.command(b"m2", b"UID SEARCH ALL")
    assert sorted(search_numbers(lines)) == [3, uidnext, uidnext + 1], lines
    lines = r.command(b"m3", b"UID MOVE %d INBOX" % uidnext)
    assert is_ok(lines, b"m3"), lines
    lines = r.command(b"m4", b"UID SEARCH ALL")
    assert sorted(search_numbers(lines)) == [3, uidnext + 1, uidnext + 2], lines


# ---------------------------------------------------------------------------------------
# 11. UIDVALIDITY changes when a mailbox is deleted and created again


def test_uidvalidity_after_delete_and_create(raw, user):
    r = raw(user)
    seen = set()
    for i in range(3):
        assert is_ok(r.command(b"c%d" % i, b"CREATE Again"), b"c%d" % i)
        body = b"Subject: x\r\n\r\nhi\r\n"
        r.send(b"p%d APPEND Again {%d}\r\n" % (i, len(body)))
        assert r.line().startswith(b"+")
        r.send(body + b"\r\n")
        lines = r.until_tagged(b"p%d" % i)
        assert is_ok(lines, b"p%d" % i), lines
        st = status(r, b"Again", b"UIDVALIDITY UIDNEXT")
        assert st["UIDVALIDITY"] not in seen, (st, seen)
        seen.add(st["UIDVALIDITY"])
        assert is_ok(r.command(b"d%d" % i, b"DELETE Again"), b"d%d" % i)


# ---------------------------------------------------------------------------------------
# 2. A new keyword is announced in * FLAGS and PERMANENTFLAGS before a FETCH shows it


def flags_before_fetch(lines: list[bytes], keyword: bytes) -> None:
    fetches = [i for i, x in enumerate(lines) if b" FETCH " in x and keyword in x]
    flags = [i for i, x in enumerate(lines) if x.startswith(b"* FLAGS ") and keyword in x]
    permanent = [i for i, x in enumerate(lines) if b"PERMANENTFLAGS" in x and keyword in x]
    assert fetches and flags and permanent, lines
    assert flags[0] < fetches[0] and permanent[0] < fetches[0], lines


def test_new_keyword_announced(api, raw, user):
    upload_ok(api, user.id, inbox(api, user.id), make_message(subject="kw"))
    a, b = raw(user), raw(user)
    selected(a, tag=b"sa")
    sel = selected(b, tag=b"sb")
    assert not any(b"Urgent1" in x for x in sel)
    # The session that sets it hears it first in * FLAGS.
    lines = a.command(b"k1", b"STORE 1 +FLAGS (Urgent1)")
    assert is_ok(lines, b"k1"), lines
    flags_before_fetch(lines, b"Urgent1")
    # The other session too, at its next command.
    lines = b.command(b"k2", b"NOOP")
    flags_before_fetch(lines, b"Urgent1")
    # Once told, not again.
    lines = a.command(b"k3", b"FETCH 1 FLAGS")
    assert not untagged(lines, b"FLAGS "), lines
    # APPEND with a new keyword, seen by the selected session.
    body = b"Subject: kw2\r\n\r\nhi\r\n"
    a.send(b"k4 APPEND INBOX (Later2) {%d}\r\n" % len(body))
    assert a.line().startswith(b"+")
    a.send(body + b"\r\n")
    assert is_ok(a.until_tagged(b"k4"), b"k4")
    lines = a.command(b"k5", b"FETCH 2 FLAGS")
    flags_before_fetch(lines, b"Later2")
