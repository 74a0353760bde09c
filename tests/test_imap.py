"""IMAP over a real socket with Python's imaplib (and a raw socket where imaplib gets in the
way): login, LIST, SELECT, FETCH, STORE, SEARCH, APPEND, COPY, MOVE, EXPUNGE, mailbox
management, two sessions seeing each other's changes, IDLE woken by the REST API, syntax
errors and limits. Every change is checked through the REST API as well."""

from __future__ import annotations

import base64
import imaplib
import re
import time

import pytest

from helpers import (
    create_mailbox,
    inbox,
    mailbox_by_path,
    make_message,
    message_path,
    ok,
    upload_ok,
)
from imap_client import Raw



def fetch_parts(data) -> dict[bytes, bytes]:
    """The literals of one imaplib FETCH answer keyed by the text that announced them."""
    out = {}
    for item in data:
        if isinstance(item, tuple):
            key = re.search(rb"(BODY\[[^\]]*\](?:<\d+>)?|RFC822(?:\.HEADER|\.TEXT)?) \{\d+\}$", item[0])
            assert key, item[0]
            out[key.group(1)] = item[1]
    return out


def flags_of(api, user, mailbox_id, uid) -> tuple[bool, bool, bool, bool]:
    m = ok(api.get(message_path(user.id, mailbox_id, uid)))
    return (m["seen"], m["flagged"], m["deleted"], m["draft"])


def rest_uids(api, user, mailbox_id) -> list[int]:
    data = ok(api.get(f"/users/{user.id}/mailboxes/{mailbox_id}/messages", params={"limit": 250, "order": "asc"}))
    return [m["id"] for m in data["results"]]


MULTIPART = (
    b"From: Alice <alice@example.com>\r\n"
    b"To: Bob <bob@example.test>\r\n"
    b"Subject: Multi part\r\n"
    b"Date: Wed, 16 Nov 2022 09:00:00 +0000\r\n"
    b"MIME-Version: 1.0\r\n"
    b'Content-Type: multipart/mixed; boundary="XYZ"\r\n'
    b"\r\n"
    b"preamble\r\n"
    b"--XYZ\r\n"
    b"Content-Type: text/plain; charset=us-ascii\r\n"
    b"\r\n"
    b"first part\r\n"
    b"--XYZ\r\n"
    b"Content-Type: application/octet-stream\r\n"
    b"Content-Transfer-Encoding: base64\r\n"
    b'Content-Disposition: attachment; filename="a.bin"\r\n'
    b"\r\n"
    b"AAECAw==\r\n"
    b"--XYZ--\r\n"
)


# ---- greeting, capabilities, login ----


def test_greeting_and_capabilities(connect):
    client = connect()
    caps = set(client.capabilities)
    for cap in ["IMAP4REV1", "IDLE", "UIDPLUS", "MOVE", "UNSELECT", "NAMESPACE", "SPECIAL-USE", "LITERAL+", "SASL-IR", "AUTH=PLAIN", "ID", "CONDSTORE", "QRESYNC"]:
        assert cap in caps, caps
    # Not served yet, so not advertised.
    assert "STARTTLS" in caps, caps
    # Not served, so not advertised.
    for cap in ["ESORT", "CONTEXT=SEARCH", "CONTEXT=SORT"]:
        assert cap not in caps, caps


def test_login_good_and_bad(connect, user):
    client = connect()
    with pytest.raises(imaplib.IMAP4.error, match="AUTHENTICATIONFAILED"):
        client.login(user.username, "wrong password")
    # The session goes on after a failure.
    typ, data = client.login(user.username, user.password)
    assert typ == "OK"
    assert b"CAPABILITY" in data[0]
    # By address too.
    other = connect()
    assert other.login(user.address, user.password)[0] == "OK"
    unknown = connect()
    with pytest.raises(imaplib.IMAP4.error):
        unknown.login("nobody-" + user.username, user.password)


def test_authenticate_plain_with_and_without_initial_response(connect, raw, user):
    client = connect()
    creds = f"\0{user.username}\0{user.password}".encode()
    typ, _ = client.authenticate("PLAIN", lambda _challenge: creds)
    assert typ == "OK"
    assert client.select("INBOX")[0] == "OK"

    r = raw()
    lines = r.command(b"a1", b"AUTHENTICATE PLAIN " + base64.b64encode(f"\0{user.username}\0wrong".encode()))
    assert lines[-1].startswith(b"a1 NO [AUTHENTICATIONFAILED]")
    lines = r.command(b"a2", b"AUTHENTICATE PLAIN " + base64.b64encode(creds))
    assert lines[-1].startswith(b"a2 OK"), lines


def test_commands_need_the_right_state(raw, user):
    r = raw()
    assert r.command(b"s1", b"SELECT INBOX")[-1].startswith(b"s1 BAD")
    assert r.command(b"s2", b"ID NIL")[-1].startswith(b"s2 OK")
    r.command(b"s3", f'LOGIN {user.username} "{user.password}"'.encode())
    assert r.command(b"s4", b"FETCH 1 FLAGS")[-1].startswith(b"s4 BAD")
    assert r.command(b"s5", b"LOGIN a b")[-1].startswith(b"s5 BAD")
    lines = r.command(b"s6", b"NAMESPACE")
    assert lines[0] == b'* NAMESPACE (("" "/")) NIL NIL\r\n'
    # ENABLE works before SELECT; unknown names are ignored.
    lines = r.command(b"s7", b"ENABLE CONDSTORE X-NOTHING")
    assert lines[0].rstrip() == b"* ENABLED CONDSTORE" and lines[-1].startswith(b"s7 OK")


# ---- mailboxes ----


def test_list_shows_default_mailboxes_with_special_use(connect, user):
    client = connect(user)
    typ, data = client.list()
    assert typ == "OK"
    listed = {}
    for line in data:
        m = re.match(rb'\(([^)]*)\) "/" "?([^"]*)"?$', line)
        assert m, line
        listed[m.group(2).decode()] = m.group(1).decode().split()
    assert set(listed) == {"INBOX", "Drafts", "Sent Mail", "Trash", "Junk", "Archive"}
    assert "\\Sent" in listed["Sent Mail"]
    assert "\\Drafts" in listed["Drafts"]
    assert "\\Trash" in listed["Trash"]
    assert "\\Junk" in listed["Junk"]
    assert "\\Archive" in listed["Archive"]
    assert all("\\HasNoChildren" in attrs for attrs in listed.values())
    # The hierarchy delimiter.
    typ, data = client.list('""', '""')
    assert data == [b'(\\Noselect) "/" ""']


def test_create_rename_delete_and_wildcards(api, connect, user):
    client = connect(user)
    assert client.create("Work/Projects")[0] == "OK"
    typ, data = client.list('""', "Work*")
    assert typ == "OK"
    assert b'(\\HasChildren) "/" "Work"' in data
    assert b'(\\HasNoChildren) "/" "Work/Projects"' in data
    # % does not cross the delimiter.
    typ, data = client.list('""', "%")
    assert not any(b"Work/Projects" in line for line in data)
    assert any(line.endswith(b'"Work"') for line in data)
    typ, data = client.list("Work", "%")
    assert data == [b'(\\HasNoChildren) "/" "Work/Projects"']

    # CREATE of an existing mailbox fails.
    typ, data = client.create("Work")
    assert typ == "NO"
    assert b"ALREADYEXISTS" in data[0]

    assert client.rename("Work", "Jobs")[0] == "OK"
    paths = {m["path"] for m in ok(api.get(f"/users/{user.id}/mailboxes"))["results"]}
    assert {"Jobs", "Jobs/Projects"} <= paths
    assert "Work" not in paths and "Work/Projects" not in paths

    assert client.delete("Jobs/Projects")[0] == "OK"
    typ, data = client.delete("Jobs/Projects")
    assert typ == "NO" and b"NONEXISTENT" in data[0]
    typ, _ = client.delete("INBOX")
    assert typ == "NO"
    paths = {m["path"] for m in ok(api.get(f"/users/{user.id}/mailboxes"))["results"]}
    assert "Jobs/Projects" not in paths and "Jobs" in paths

    # Subscriptions show in LSUB.
    assert client.unsubscribe("Jobs")[0] == "OK"
    typ, data = client.lsub('""', "*")
    assert not any(b'"Jobs"' in line for line in data)
    assert client.subscribe("Jobs")[0] == "OK"
    typ, data = client.lsub('""', "*")
    assert any(line.endswith(b'"Jobs"') for line in data)


def test_select_and_status_after_rest_uploads(api, connect, user):
    mid = inbox(api, user.id)
    for i in range(3):
        upload_ok(api, user.id, mid, make_message(subject=f"m{i}"), params={"unseen": "true"} if i else None)
    client = connect(user)
    typ, data = client.select("INBOX")
    assert (typ, data) == ("OK", [b"3"])
    assert client.untagged_responses["UIDNEXT"] == [b"4"]
    validity = client.untagged_responses["UIDVALIDITY"][0]
    assert int(validity) > 0
    assert b"\\*" in client.untagged_responses["PERMANENTFLAGS"][0]
    assert "READ-WRITE" in client.untagged_responses
    unseen = ok(api.get(f"/users/{user.id}/mailboxes/{mid}"))["unseen"]
    typ, data = client.status("INBOX", "(MESSAGES UIDNEXT UIDVALIDITY UNSEEN SIZE)")
    assert typ == "OK"
    assert f"MESSAGES 3 UIDNEXT 4 UIDVALIDITY {validity.decode()} UNSEEN {unseen}".encode() in data[0], data
    typ, data = client.status("NoSuchBox", "(MESSAGES)")
    assert typ == "NO"


# ---- FETCH ----


def test_fetch_items_and_exact_bytes(api, connect, user):
    mid = inbox(api, user.id)
    raw_msg = make_message(subject="Fetch me", body="Line one\nLine two", sender="Carol <carol@example.com>")
    uid = upload_ok(api, user.id, mid, raw_msg, params={"unseen": "true"})
    client = connect(user)
    client.select("INBOX")
    typ, data = client.uid("FETCH", str(uid), "(UID FLAGS RFC822.SIZE INTERNALDATE ENVELOPE BODYSTRUCTURE)")
    assert typ == "OK"
    line = data[0]
    assert f"UID {uid}".encode() in line
    assert b"FLAGS ()" in line
    assert f"RFC822.SIZE {len(raw_msg)}".encode() in line
    assert re.search(rb'INTERNALDATE "\d{2}-[A-Z][a-z]{2}-\d{4} \d\d:\d\d:\d\d [+-]\d{4}"', line)
    assert b'"Fetch me" (("Carol" NIL "carol" "example.com"))' in line
    assert b'BODYSTRUCTURE ("text" "plain" ("charset" "utf-8") NIL NIL "8BIT"' in line

    typ, data = client.uid(
        "FETCH",
        str(uid),
        "(BODY.PEEK[] BODY.PEEK[]<0.10> BODY.PEEK[HEADER.FIELDS (SUBJECT FROM)] BODY.PEEK[HEADER.FIELDS.NOT (SUBJECT)] BODY.PEEK[TEXT] BODY.PEEK[HEADER])",
    )
    assert typ == "OK"
    parts = fetch_parts(data)
    assert parts[b"BODY[]"] == raw_msg
    assert parts[b"BODY[]<0>"] == raw_msg[:10]
    assert parts[b"BODY[HEADER.FIELDS (SUBJECT FROM)]"] == b"From: Carol <carol@example.com>\r\nSubject: Fetch me\r\n\r\n"
    assert b"Subject:" not in parts[b"BODY[HEADER.FIELDS.NOT (SUBJECT)]"]
    assert b"Message-ID:" in parts[b"BODY[HEADER.FIELDS.NOT (SUBJECT)]"]
    header, text = raw_msg.split(b"\r\n\r\n", 1)
    assert parts[b"BODY[TEXT]"] == text
    assert parts[b"BODY[HEADER]"] == header + b"\r\n\r\n"
    # PEEK did not set \Seen.
    assert flags_of(api, user, mid, uid)[0] is False

    # A partial fetch past the end is empty; a middle range is exact.
    typ, data = client.uid("FETCH", str(uid), "(BODY.PEEK[]<5.7>)")
    assert fetch_parts(data)[b"BODY[]<5>"] == raw_msg[5:12]

    # BODY[] without PEEK sets \Seen and reports it.
    typ, data = client.uid("FETCH", str(uid), "(BODY[TEXT])")
    assert typ == "OK"
    assert any(isinstance(d, bytes) and b"\\Seen" in d for d in data) or any(
        isinstance(d, tuple) and b"\\Seen" in d[0] for d in data
    ), data
    assert flags_of(api, user, mid, uid)[0] is True

    # RFC822.* items.
    typ, data = client.uid("FETCH", str(uid), "(RFC822.HEADER RFC822.TEXT RFC822)")
    parts = fetch_parts(data)
    assert parts[b"RFC822"] == raw_msg
    assert parts[b"RFC822.HEADER"] == header + b"\r\n\r\n"
    assert parts[b"RFC822.TEXT"] == text


def test_fetch_multipart_sections(api, connect, user):
    mid = inbox(api, user.id)
    uid = upload_ok(api, user.id, mid, MULTIPART)
    client = connect(user)
    client.select("INBOX")
    typ, data = client.uid("FETCH", str(uid), "(BODYSTRUCTURE BODY.PEEK[1] BODY.PEEK[2] BODY.PEEK[2.MIME] BODY.PEEK[3])")
    assert typ == "OK"
    first = data[0][0]
    assert b'BODYSTRUCTURE (("text" "plain" ("charset" "us-ascii") NIL NIL "7BIT" 10 1' in first
    assert b'("application" "octet-stream" NIL NIL NIL "BASE64" 8' in first
    assert b'"mixed" ("boundary" "XYZ")' in first
    parts = fetch_parts(data)
    assert parts[b"BODY[1]"] == b"first part"
    assert parts[b"BODY[2]"] == b"AAECAw=="
    assert parts[b"BODY[2.MIME]"].startswith(b"Content-Type: application/octet-stream\r\n")
    assert parts[b"BODY[2.MIME]"].endswith(b"\r\n\r\n")
    # A part that does not exist is empty, not an error.
    assert parts[b"BODY[3]"] == b""


# ---- STORE ----


def test_store_flags_visible_through_rest(api, connect, user):
    mid = inbox(api, user.id)
    uid = upload_ok(api, user.id, mid, make_message(), params={"unseen": "true"})
    client = connect(user)
    client.select("INBOX")
    typ, data = client.uid("STORE", str(uid), "+FLAGS", "(\\Flagged \\Draft)")
    assert typ == "OK"
    assert b"\\Flagged" in data[0] and b"\\Draft" in data[0]
    assert flags_of(api, user, mid, uid) == (False, True, False, True)
    typ, data = client.uid("STORE", str(uid), "-FLAGS.SILENT", "(\\Draft)")
    assert typ == "OK" and data == [None]
    assert flags_of(api, user, mid, uid) == (False, True, False, False)
    typ, data = client.uid("STORE", str(uid), "FLAGS", "(\\Seen $Work)")
    assert typ == "OK"
    assert flags_of(api, user, mid, uid) == (True, False, False, False)
    typ, data = client.uid("FETCH", str(uid), "(FLAGS)")
    assert b"FLAGS (\\Seen $Work)" in data[0]
    # Unknown system flags are refused.
    with pytest.raises(imaplib.IMAP4.error):
        client.uid("STORE", str(uid), "+FLAGS", "(\\Bogus)")


def test_examine_is_read_only(api, connect, user):
    mid = inbox(api, user.id)
    uid = upload_ok(api, user.id, mid, make_message(), params={"unseen": "true"})
    client = connect(user)
    typ, _ = client.select("INBOX", readonly=True)
    assert typ == "OK"
    assert "READ-ONLY" in client.untagged_responses
    typ, _ = client.uid("STORE", str(uid), "+FLAGS", "(\\Flagged)")
    assert typ == "NO"
    client.uid("FETCH", str(uid), "(BODY[])")
    assert flags_of(api, user, mid, uid) == (False, False, False, False)


# ---- SEARCH ----


def test_search(api, connect, user):
    mid = inbox(api, user.id)
    a = upload_ok(api, user.id, mid, make_message(subject="Quarterly report", body="pineapple numbers", sender="Dana <dana@corp.example>"))
    b = upload_ok(api, user.id, mid, make_message(subject="Lunch", body="tacos today", sender="Eve <eve@example.org>"), params={"unseen": "true"})
    c = upload_ok(api, user.id, mid, make_message(subject="Report draft", body="more pineapple", sender="Eve <eve@example.org>", headers={"X-Tracker": "abc123"}))
    client = connect(user)
    client.select("INBOX")
    client.uid("STORE", str(c), "+FLAGS", "(\\Flagged \\Deleted)")

    def uids(*criteria) -> list[int]:
        typ, data = client.uid("SEARCH", *criteria)
        assert typ == "OK"
        return sorted(int(x) for x in data[0].split())

    assert uids("ALL") == [a, b, c]
    assert uids("SEEN") == [a, c]
    assert uids("UNSEEN") == [b]
    assert uids("FLAGGED") == [c]
    assert uids("DELETED") == [c]
    assert uids("UNDELETED") == [a, b]
    assert uids("FROM", "eve") == [b, c]
    assert uids("SUBJECT", "report") == [a, c]
    assert uids("HEADER", "X-Tracker", "abc123") == [c]
    assert uids("BODY", "pineapple") == [a, c]
    assert uids("TEXT", "tacos") == [b]
    assert uids("OR", "FROM", "dana", "UNSEEN") == [a, b]
    assert uids("NOT", "FROM", "eve") == [a]
    assert uids("UID", f"{b}:*") == [b, c]
    assert uids("UID", f"{a},{c}", "SUBJECT", "report") == [a, c]
    assert uids("LARGER", "1", "SMALLER", "100000") == [a, b, c]
    assert uids("SINCE", "1-Jan-2000", "BEFORE", "1-Jan-2100") == [a, b, c]
    assert uids("SENTON", "15-Nov-2022") == [a, b, c]
    assert uids("SENTBEFORE", "15-Nov-2022") == []
    assert uids("KEYWORD", "$Nope") == []
    # Sequence numbers.
    typ, data = client.search(None, "2:3")
    assert data[0].split() == [b"2", b"3"]
    # Unknown charset.
    typ, data = client.search("KOI8-R", "ALL")
    assert typ == "NO" and b"BADCHARSET" in data[0]


def test_search_caps_distinct_text_keys(api, raw, user):
    mid = inbox(api, user.id)
    a = upload_ok(api, user.id, mid, make_message(subject="Cap", body="kiwi"))
    r = raw()
    assert r.command(b"c1", f'LOGIN {user.username} "{user.password}"'.encode())[-1].startswith(b"c1 OK")
    assert r.command(b"c2", b"SELECT INBOX")[-1].startswith(b"c2 OK")
    # 32 distinct BODY/TEXT keys are searched.
    keys = b" ".join([b"BODY kiwi"] + [b"NOT TEXT absentword%d" % i for i in range(31)])
    lines = r.command(b"c3", b"UID SEARCH " + keys)
    assert lines[-1].startswith(b"c3 OK")
    assert [int(x) for x in lines[0].split()[2:]] == [a]
    # Repeating a key does not count again.
    lines = r.command(b"c4", b"UID SEARCH " + b" ".join([b"BODY kiwi"] * 40))
    assert lines[-1].startswith(b"c4 OK")
    assert [int(x) for x in lines[0].split()[2:]] == [a]
    # One more distinct key is refused, and the session goes on.
    lines = r.command(b"c5", b"UID SEARCH " + keys + b" TEXT absentword99")
    assert len(lines) == 1 and lines[0].startswith(b"c5 BAD")
    assert r.command(b"c6", b"NOOP")[-1].startswith(b"c6 OK")


# ---- APPEND, COPY, MOVE, EXPUNGE ----


def test_append_with_appenduid_flags_and_date(api, connect, user):
    client = connect(user)
    raw_msg = make_message(subject="Appended")
    date = imaplib.Time2Internaldate(time.mktime((2021, 3, 4, 5, 6, 7, 0, 0, -1)))
    typ, data = client.append("Drafts", "(\\Draft \\Seen)", date, raw_msg)
    assert typ == "OK"
    m = re.search(rb"\[APPENDUID (\d+) (\d+)\]", data[0])
    assert m, data
    drafts = mailbox_by_path(api, user.id, "Drafts")["id"]
    uid = int(m.group(2))
    assert rest_uids(api, user, drafts) == [uid]
    source = api.get(message_path(user.id, drafts, uid) + "/message.eml")
    assert source.status_code == 200 and source.content == raw_msg
    assert flags_of(api, user, drafts, uid) == (True, False, False, True)
    client.select("Drafts")
    typ, data = client.uid("FETCH", str(uid), "(INTERNALDATE)")
    got = imaplib.Internaldate2tuple(data[0])
    assert got is not None and time.mktime(got) == time.mktime((2021, 3, 4, 5, 6, 7, 0, 0, -1))
    # A missing mailbox: TRYCREATE.
    typ, data = client.append("Nowhere", None, None, raw_msg)
    assert typ == "NO" and b"TRYCREATE" in data[0]


def test_copy_move_expunge(api, connect, user):
    mid = inbox(api, user.id)
    archive = mailbox_by_path(api, user.id, "Archive")["id"]
    trash = mailbox_by_path(api, user.id, "Trash")["id"]
    uids = [upload_ok(api, user.id, mid, make_message(subject=f"c{i}", body=f"kiwifruit{i}")) for i in range(4)]
    client = connect(user)
    client.select("INBOX")

    typ, data = client.uid("COPY", f"{uids[0]}:{uids[1]}", "Archive")
    assert typ == "OK"
    _, codes = client.response("COPYUID")
    m = re.fullmatch(rb"(\d+) (\S+) (\S+)", codes[-1])
    assert m, codes
    assert m.group(2) == f"{uids[0]}:{uids[1]}".encode()
    copied = rest_uids(api, user, archive)
    assert len(copied) == 2 and m.group(3) == f"{copied[0]}:{copied[1]}".encode()
    assert rest_uids(api, user, mid) == uids
    # The copies are searchable and have the same bytes.
    src = api.get(message_path(user.id, mid, uids[0]) + "/message.eml").content
    assert api.get(message_path(user.id, archive, copied[0]) + "/message.eml").content == src
    client2 = connect(user)
    client2.select("Archive")
    typ, data = client2.uid("SEARCH", "BODY", "kiwifruit1")
    assert data[0].split() == [str(copied[1]).encode()]

    # MOVE by sequence number: untagged COPYUID and EXPUNGE.
    typ, data = client._simple_command("MOVE", "1", "Trash")
    assert typ == "OK"
    assert client.untagged_responses.pop("EXPUNGE") == [b"1"]
    assert b"COPYUID" in client.untagged_responses.pop("OK")[-1]
    assert rest_uids(api, user, mid) == uids[1:]
    assert len(rest_uids(api, user, trash)) == 1

    # EXPUNGE removes only \Deleted messages.
    client.uid("STORE", f"{uids[2]}", "+FLAGS.SILENT", "(\\Deleted)")
    typ, data = client.expunge()
    assert typ == "OK"
    assert data == [b"2"]
    assert rest_uids(api, user, mid) == [uids[1], uids[3]]

    # UID EXPUNGE only touches the given UIDs.
    client.uid("STORE", f"{uids[1]},{uids[3]}", "+FLAGS.SILENT", "(\\Deleted)")
    typ, data = client.uid("EXPUNGE", str(uids[3]))
    assert typ == "OK"
    assert rest_uids(api, user, mid) == [uids[1]]
    typ, data = client.fetch("1:*", "(UID)")
    assert data == [f"1 (UID {uids[1]})".encode()]

    # CLOSE expunges silently; UNSELECT does not.
    typ, _ = client.close()
    assert typ == "OK"
    assert rest_uids(api, user, mid) == []
    # COPY to a missing mailbox: TRYCREATE.
    client.select("Archive")
    typ, data = client.copy("1", "Nowhere")
    assert typ == "NO" and b"TRYCREATE" in data[0]
    typ, _ = client.unselect()
    assert typ == "OK"
    assert len(rest_uids(api, user, archive)) == 2


# ---- two sessions, IDLE ----


def test_two_sessions_see_flags_and_expunges(api, connect, user):
    mid = inbox(api, user.id)
    uids = [upload_ok(api, user.id, mid, make_message(subject=f"s{i}"), params={"unseen": "true"}) for i in range(3)]
    one = connect(user)
    two = connect(user)
    one.select("INBOX")
    two.select("INBOX")

    one.uid("STORE", str(uids[1]), "+FLAGS", "(\\Flagged)")
    typ, _ = two.noop()
    assert typ == "OK"
    fetches = two.untagged_responses.pop("FETCH", [])
    assert any(b"\\Flagged" in f and f"UID {uids[1]}".encode() in f and f.startswith(b"2 (") for f in fetches), fetches

    one.uid("STORE", str(uids[0]), "+FLAGS.SILENT", "(\\Deleted)")
    one.expunge()
    # During FETCH by sequence number the EXPUNGE is held back...
    typ, data = two.fetch("3", "(UID)")
    assert typ == "OK" and data == [f"3 (UID {uids[2]})".encode()]
    assert "EXPUNGE" not in two.untagged_responses
    # ...and delivered at NOOP.
    two.noop()
    assert two.untagged_responses.pop("EXPUNGE") == [b"1"]
    typ, data = two.fetch("1:*", "(UID)")
    assert data == [f"1 (UID {uids[1]})".encode(), f"2 (UID {uids[2]})".encode()]

    # A REST upload reaches the other session as EXISTS.
    upload_ok(api, user.id, mid, make_message(subject="new"))
    two.noop()
    assert two.untagged_responses.pop("EXISTS")[-1] == b"3"
    # A REST flag change arrives as FETCH.
    ok(api.put(message_path(user.id, mid, uids[2]), json={"seen": True}))
    two.noop()
    fetches = two.untagged_responses.pop("FETCH", [])
    assert any(b"\\Seen" in f and f"UID {uids[2]}".encode() in f for f in fetches), fetches


def test_idle_woken_by_rest_upload(api, raw, user):
    mid = inbox(api, user.id)
    upload_ok(api, user.id, mid, make_message(subject="before"))
    r = raw()
    assert r.command(b"i1", f'LOGIN {user.username} "{user.password}"'.encode())[-1].startswith(b"i1 OK")
    assert r.command(b"i2", b"SELECT INBOX")[-1].startswith(b"i2 OK")
    r.send(b"i3 IDLE\r\n")
    assert r.line().startswith(b"+ ")
    upload_ok(api, user.id, mid, make_message(subject="during"))
    assert r.line() == b"* 2 EXISTS\r\n"
    # A flag change through REST too.
    uid = rest_uids(api, user, mid)[0]
    ok(api.put(message_path(user.id, mid, uid), json={"flagged": True}))
    line = r.line()
    assert line.startswith(b"* 1 FETCH (") and b"\\Flagged" in line, line
    r.send(b"DONE\r\n")
    assert r.until_tagged(b"i3")[-1].startswith(b"i3 OK")
    # The session goes on.
    assert r.command(b"i4", b"NOOP")[-1].startswith(b"i4 OK")


def test_idle_woken_by_another_imap_session(api, connect, raw, user):
    mid = inbox(api, user.id)
    uid = upload_ok(api, user.id, mid, make_message(subject="x"), params={"unseen": "true"})
    r = raw()
    r.command(b"j1", f'LOGIN {user.username} "{user.password}"'.encode())
    r.command(b"j2", b"SELECT INBOX")
    r.send(b"j3 IDLE\r\n")
    assert r.line().startswith(b"+ ")
    other = connect(user)
    other.select("INBOX")
    other.uid("STORE", str(uid), "+FLAGS", "(\\Answered)")
    line = r.line()
    assert line.startswith(b"* 1 FETCH (") and b"\\Answered" in line, line
    r.send(b"DONE\r\n")
    assert r.until_tagged(b"j3")[-1].startswith(b"j3 OK")


# ---- bad input and limits ----


def test_syntax_errors_get_bad_and_the_session_goes_on(raw, user):
    r = raw()
    assert r.command(b"b1", b"FROBNICATE")[-1].startswith(b"b1 BAD")
    assert r.command(b"b2", b"LOGIN")[-1].startswith(b"b2 BAD")
    r.send(b"\r\n")
    assert r.line().startswith(b"* BAD")
    assert r.command(b"b3", f'LOGIN {user.username} "{user.password}"'.encode())[-1].startswith(b"b3 OK")
    assert r.command(b"b4", b"SELECT INBOX")[-1].startswith(b"b4 OK")
    assert r.command(b"b5", b"FETCH 1:* (FLAGS")[-1].startswith(b"b5 BAD")
    assert r.command(b"b6", b"STORE 1 +FLAGS")[-1].startswith(b"b6 BAD")
    assert r.command(b"b7", b"SEARCH FROB")[-1].startswith(b"b7 BAD")
    assert r.command(b"b8", b"UID FETCH 1:* (FLAGS)")[-1].startswith(b"b8 OK")


def test_literal_over_the_limit_is_refused(raw, user):
    r = raw()
    # Before login, literals are small.
    r.send(b"l1 LOGIN {100000}\r\n")
    assert r.line().startswith(b"l1 NO [TOOBIG]")
    # The client did not send the data; the session goes on.
    r.send(f"l2 LOGIN {{{len(user.username)}}}\r\n".encode())
    assert r.line().startswith(b"+ ")
    r.send(user.username.encode() + f' "{user.password}"\r\n'.encode())
    assert r.until_tagged(b"l2")[-1].startswith(b"l2 OK")
    # After login, an APPEND literal over the message size limit is refused before any data.
    r.send(b"l3 APPEND INBOX {99999999999}\r\n")
    assert r.line().startswith(b"l3 NO [TOOBIG]")
    assert r.command(b"l4", b"NOOP")[-1].startswith(b"l4 OK")


def test_non_synchronising_literal_is_accepted(raw, user):
    r = raw()
    r.send(f"n1 LOGIN {{{len(user.username)}+}}\r\n{user.username} \"{user.password}\"\r\n".encode())
    assert r.until_tagged(b"n1")[-1].startswith(b"n1 OK")


def test_overlong_line_is_refused_and_garbage_disconnects(raw, user):
    r = raw()
    r.send(b"x1 NOOP " + b"a" * 20000 + b"\r\n")
    assert r.line().startswith(b"x1 BAD")
    assert r.command(b"x2", b"NOOP")[-1].startswith(b"x2 OK")
    # A client that sends only garbage is disconnected.
    r.send(b"garbage!\r\n" * 50)
    lines = []
    while True:
        line = r.file.readline()
        if not line:
            break
        lines.append(line)
    assert any(line.startswith(b"* BYE") for line in lines), lines[-3:]


# ---- more protocol details ----


def test_copy_counts_against_quota(api, connect, create_user):
    from helpers import quota_used

    raw_msg = make_message(body="q" * 3000)
    user = create_user(quota=int(len(raw_msg) * 2.5))
    mid = inbox(api, user.id)
    uid = upload_ok(api, user.id, mid, raw_msg)
    client = connect(user)
    client.select("INBOX")
    typ, _ = client.uid("COPY", str(uid), "Archive")
    assert typ == "OK"
    assert quota_used(api, user.id) == 2 * len(raw_msg)
    typ, data = client.uid("COPY", str(uid), "Archive")
    assert typ == "NO" and b"OVERQUOTA" in data[0]
    assert quota_used(api, user.id) == 2 * len(raw_msg)
    # APPEND is refused the same way.
    typ, data = client.append("INBOX", None, None, raw_msg)
    assert typ == "NO" and b"OVERQUOTA" in data[0]


def test_mailbox_names_in_modified_utf7(api, connect, user):
    client = connect(user)
    assert client.create("Entw&APw-rfe")[0] == "OK"
    paths = {m["path"] for m in ok(api.get(f"/users/{user.id}/mailboxes"))["results"]}
    assert "Entwürfe" in paths
    typ, data = client.list('""', "Entw*")
    assert data == [b'(\\HasNoChildren) "/" "Entw&APw-rfe"']
    create_mailbox(api, user.id, "Reçus")
    typ, data = client.list('""', "Re*")
    assert data == [b'(\\HasNoChildren) "/" "Re&AOc-us"']
    assert client.select("Re&AOc-us")[0] == "OK"


def test_pipelined_commands_and_id_and_logout(raw, user):
    r = raw()
    r.send(f'p1 LOGIN {user.username} "{user.password}"\r\np2 SELECT INBOX\r\np3 ID ("name" "pytest")\r\n'.encode())
    assert r.until_tagged(b"p1")[-1].startswith(b"p1 OK")
    assert r.until_tagged(b"p2")[-1].startswith(b"p2 OK")
    lines = r.until_tagged(b"p3")
    assert lines[0].startswith(b'* ID ("name" "Sealpost"')
    assert lines[-1].startswith(b"p3 OK")
    r.send(b"p4 CHECK\r\np5 LOGOUT\r\n")
    assert r.until_tagged(b"p4")[-1].startswith(b"p4 OK")
    lines = r.until_tagged(b"p5")
    assert lines[0].startswith(b"* BYE")
    assert r.file.readline() == b""


def test_idle_sees_rest_delete_as_expunge(api, raw, user):
    mid = inbox(api, user.id)
    uids = [upload_ok(api, user.id, mid, make_message(subject=f"d{i}")) for i in range(3)]
    r = raw()
    r.command(b"e1", f'LOGIN {user.username} "{user.password}"'.encode())
    r.command(b"e2", b"SELECT INBOX")
    r.send(b"e3 IDLE\r\n")
    assert r.line().startswith(b"+ ")
    assert api.delete(message_path(user.id, mid, uids[1])).status_code == 200
    assert r.line() == b"* 2 EXPUNGE\r\n"
    ok(api.put(message_path(user.id, mid, uids[2]), json={"moveTo": mailbox_by_path(api, user.id, "Trash")["id"]}))
    assert r.line() == b"* 2 EXPUNGE\r\n"
    r.send(b"DONE\r\n")
    assert r.until_tagged(b"e3")[-1].startswith(b"e3 OK")
    lines = r.command(b"e4", b"FETCH 1:* (UID)")
    assert lines == [f"* 1 FETCH (UID {uids[0]})\r\n".encode(), b"e4 OK FETCH completed\r\n"]


def test_repeated_failed_logins_close_the_connection(raw, user):
    r = raw()
    for i in range(2):
        assert r.command(b"f%d" % i, f'LOGIN {user.username} "nope{i}"'.encode())[-1].startswith(b"f%d NO" % i)
    lines = r.command(b"f9", f'LOGIN {user.username} "nope9"'.encode())
    assert lines[0].startswith(b"* BYE")
    assert lines[-1].startswith(b"f9 NO [AUTHENTICATIONFAILED]")
    assert r.file.readline() == b""


def read_to_end(r: Raw) -> list[bytes]:
    lines = []
    while True:
        line = r.file.readline()
        if not line:
            return lines
        lines.append(line)


def test_unauthenticated_clients_cannot_stay_forever(raw):
    # Commands refused for the state count as bad ones.
    r = raw()
    r.send(b"s SELECT INBOX\r\n" * 40)
    lines = read_to_end(r)
    assert lines[-1].startswith(b"* BYE"), lines[-2:]
    assert 0 < sum(line.startswith(b"s BAD") for line in lines) < 40
    # Valid commands before login are bounded too.
    r = raw()
    r.send(b"n NOOP\r\n" * 80)
    lines = read_to_end(r)
    assert any(line.startswith(b"* BYE") for line in lines), lines[-2:]
    assert 0 < sum(line.startswith(b"n OK") for line in lines) < 80
