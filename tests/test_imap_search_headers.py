"""SEARCH on header keys (SUBJECT, FROM, TO, CC, BCC, HEADER, TEXT) over a raw socket: a
case-insensitive substring of the decoded header values (encoded words decoded, non-ASCII
lower-cased as Unicode does), SUBJECT also on the decoded subject, TEXT on the body or any
header value; combined with NOT and OR; over mailboxes longer than one read chunk; and on
messages stored before the header index had a column of its own (migration 16)."""

from __future__ import annotations

import base64

import pytest

from helpers import create_user
from test_imap_savedview import sql
from test_imap_search import Raw, message


@pytest.fixture(scope="module")
def server(cache_server):
    """Each test with the IMAP message caches and without (the database read every time)."""
    return cache_server


KELVIN = "\u212a"  # KELVIN SIGN, lower-cased to an ASCII "k"


def b64(text: str) -> str:
    return "=?UTF-8?B?" + base64.b64encode(text.encode()).decode() + "?="


# Sequence numbers 1..4.
CORPUS = [
    (  # 1: encoded words in Subject, From and To.
        [("From", "=?UTF-8?Q?J=C3=BCrgen_M=C3=BCller?= <juergen@example.de>"),
         ("To", "=?ISO-8859-1?Q?=DCnal?= <unal@example.tr>"),
         ("Subject", "=?UTF-8?Q?Gr=C3=BC=C3=9Fe_aus_M=C3=BCnchen?="),
         ("Date", "Mon, 01 Jan 2024 10:00:00 +0000")],
        "nothing to see\r\n"),
    (  # 2: two From addresses, Cc, Bcc, a custom field, mixed case.
        [("From", "alice@example.org, Bob Builder <bob@example.net>"),
         ("To", "team@example.org"), ("Cc", "Carol <carol@example.com>"),
         ("Bcc", "secret@example.com"), ("Subject", "MiXeD CaSe Subject"),
         ("X-Ticket", "ABC-123"), ("Date", "Tue, 02 Jan 2024 10:00:00 +0000")],
        "plain words\r\n"),
    (  # 3: Greek capitals (a final sigma) and the Kelvin sign, base64 encoded.
        [("From", b64("ΣΟΦΙΑ") + " <sofia@example.gr>"), ("To", "team@example.org"),
         ("Subject", b64(f"ΟΔΥΣΣΕΑΣ 300 {KELVIN}")), ("Date", "Wed, 03 Jan 2024 10:00:00 +0000")],
        "olive oil\r\n"),
    (  # 4: plain ASCII.
        [("From", "Dana <dana@corp.example>"), ("To", "team@corp.example"),
         ("Subject", "Weekly report"), ("Date", "Thu, 04 Jan 2024 10:00:00 +0000")],
        "pineapple numbers\r\n"),
]


def encode_key(arg: str | bytes) -> bytes:
    """An atom as given (bytes), a string quoted, or sent as a literal when not ASCII."""
    if isinstance(arg, bytes):
        return arg
    data = arg.encode()
    if data.isascii() and '"' not in arg and "\\" not in arg:
        return b'"' + data + b'"'
    return b"{%d+}\r\n" % len(data) + data


def search(s: Raw, *keys: str | bytes) -> list[int]:
    lines = s.ok(b"SEARCH CHARSET UTF-8 " + b" ".join(encode_key(k) for k in keys))
    found = [line for line in lines if line.startswith(b"* SEARCH")]
    assert len(found) == 1, lines
    return [int(x) for x in found[0].split()[2:]]


def fill(s: Raw, corpus) -> None:
    for headers, body in corpus:
        raw = ("".join(f"{k}: {v}\r\n" for k, v in headers) + "\r\n" + body).encode()
        s.append("INBOX", raw, "05-Jan-2024 12:00:00 +0000")


@pytest.fixture
def box(server, user):
    s = Raw(server.imap_port)
    s.ok(f'LOGIN {user.username} "{user.password}"')
    fill(s, CORPUS)
    s.ok("SELECT INBOX")
    yield s
    s.close()


def check_corpus(s: Raw) -> None:
    """Every expectation on CORPUS (sequence numbers 1..4)."""
    # Encoded words are compared decoded, in any case.
    assert search(s, b"SUBJECT", "grüße") == [1]
    assert search(s, b"SUBJECT", "MÜNCHEN") == [1]
    assert search(s, b"FROM", "jürgen müller") == [1]
    assert search(s, b"FROM", "JUERGEN@") == [1]
    assert search(s, b"TO", "ünal") == [1]
    assert search(s, b"TO", "UNAL@EXAMPLE") == [1]
    # Both From addresses, Cc, Bcc and any named field.
    assert search(s, b"FROM", "ALICE@example") == [2]
    assert search(s, b"FROM", "bob builder") == [2]
    assert search(s, b"CC", "carol") == [2]
    assert search(s, b"BCC", "SECRET") == [2]
    assert search(s, b"CC", "nobody") == []
    assert search(s, b"HEADER", b"X-Ticket", "abc-1") == [2]
    assert search(s, b"HEADER", b"x-ticket", "") == [2]
    assert search(s, b"HEADER", b"X-Missing", "") == []
    assert search(s, b"SUBJECT", "mixed case") == [2]
    assert search(s, b"SUBJECT", "MIXED CASE SUBJECT") == [2]
    # Unicode lower case: a final sigma, and the Kelvin sign found by an ASCII "k".
    assert search(s, b"SUBJECT", "ΟΔΥΣΣΕΑΣ") == [3]
    assert search(s, b"SUBJECT", "οδυσσεας 300") == [3]
    assert search(s, b"SUBJECT", "300 K") == [3]
    assert search(s, b"FROM", "σοφια") == [3]
    assert search(s, b"TO", "TEAM@") == [2, 3, 4]
    # TEXT: the body or any header value.
    assert search(s, b"TEXT", "pineapple") == [4]
    assert search(s, b"TEXT", "corp.example") == [4]
    assert search(s, b"TEXT", "jürgen") == [1]
    assert search(s, b"TEXT", "olive") == [3]
    assert search(s, b"TEXT", "absentword77") == []
    # NOT, OR and lists.
    assert search(s, b"NOT", b"FROM", "example.org") == [1, 3, 4]
    assert search(s, b"OR", b"SUBJECT", "report", b"FROM", "BOB") == [2, 4]
    assert search(s, b"NOT", b"(OR CC carol BCC secret)") == [1, 3, 4]
    assert search(s, b"SUBJECT", "report", b"FROM", "dana") == [4]
    assert search(s, b"SUBJECT", "report", b"FROM", "juergen") == []
    assert search(s, b"NOT", b"SUBJECT", "report", b"NOT", b"TO", "team") == [1]
    # With a sent date, read from the same rows.
    assert search(s, b"SENTSINCE", b"2-Jan-2024", b"TO", "team@") == [2, 3, 4]
    assert search(s, b"SENTBEFORE", b"3-Jan-2024", b"NOT", b"SUBJECT", "case") == [1]


def test_header_keys(box):
    check_corpus(box)
    # UID SEARCH answers the same messages by UID.
    uids = [int(x) for x in box.ok("UID SEARCH ALL")[0].split()[2:]]
    lines = box.ok(b"UID SEARCH CHARSET UTF-8 FROM " + encode_key("bob builder"))
    assert lines == [b"* SEARCH %d" % uids[1]]


def test_header_keys_after_expunge(box):
    box.ok("STORE 2 +FLAGS.SILENT (\\Deleted)")
    box.ok("EXPUNGE")
    assert search(box, b"FROM", "bob") == []
    assert search(box, b"TO", "team@") == [2, 3]
    assert search(box, b"NOT", b"SUBJECT", "report") == [1, 2]


def test_header_keys_over_many_chunks(server, user):
    s = Raw(server.imap_port)
    s.ok(f'LOGIN {user.username} "{user.password}"')
    total = 450
    for i in range(total):
        s.append("INBOX", message([("Subject", f"Msg {i} END"), ("From", f"user{i % 7}@example.org")], 100),
                 "05-Jan-2024 12:00:00 +0000")
    s.ok("SELECT INBOX")
    # Expunge every third message: gaps in the UIDs of each chunk.
    s.ok("STORE 1:* +FLAGS.SILENT (\\Deleted)")
    kept = [i for i in range(total) if i % 3 != 0]
    s.ok("STORE " + ",".join(str(i + 1) for i in kept) + " -FLAGS.SILENT (\\Deleted)")
    s.ok("EXPUNGE")
    seq_of = {i: n for n, i in enumerate(kept, start=1)}
    want = [seq_of[i] for i in kept if "msg 4" in f"msg {i} end"]
    assert search(s, b"SUBJECT", "MSG 4") == want
    assert search(s, b"FROM", "USER3@") == [seq_of[i] for i in kept if i % 7 == 3]
    assert search(s, b"NOT", b"SUBJECT", "end") == []
    assert search(s, b"SUBJECT", "end") == list(range(1, len(kept) + 1))
    s.close()


def test_header_index_backfilled_by_migration(instances):
    """Messages stored before migration 16 are searched through the index it fills in."""
    inst = instances.new()
    srv = inst.start()
    api = srv.api()
    user = create_user(api)
    s = Raw(srv.imap_port)
    s.ok(f'LOGIN {user.username} "{user.password}"')
    fill(s, CORPUS)
    s.close()
    srv.stop()
    # Back to the schema before migration 16.
    sql(inst, "DROP TABLE blob_headers")
    sql(inst, "DELETE FROM schema_migrations WHERE version = 16")
    srv = inst.start()
    s = Raw(srv.imap_port)
    s.ok(f'LOGIN {user.username} "{user.password}"')
    s.ok("SELECT INBOX")
    check_corpus(s)
    # A message stored after the migration is indexed at ingestion.
    fill(s, CORPUS[:1])
    s.ok("NOOP")
    assert search(s, b"SUBJECT", "grüße") == [1, 5]
    s.close()
    srv.stop()
