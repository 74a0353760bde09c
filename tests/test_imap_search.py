"""ESEARCH (RFC 4731), SEARCHRES (RFC 5182), SORT (RFC 5256, with SORT=DISPLAY of RFC 5957)
and THREAD=ORDEREDSUBJECT / THREAD=REFERENCES over a raw socket. The corpus below has
dates, subjects, addresses and sizes chosen so that every order and every thread tree is
written down by hand in the assertions."""

from __future__ import annotations

import imaplib
import re
import socket

import pytest

TIMEOUT = 30


class Raw:
    """A line-oriented raw IMAP connection."""

    def __init__(self, port: int):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
        self.file = self.sock.makefile("rb")
        self.greeting = self.line()
        self.n = 0

    def line(self) -> bytes:
        line = self.file.readline(1 << 20)
        assert line, "connection closed"
        return line

    def command(self, text: str | bytes) -> tuple[list[bytes], bytes]:
        """(untagged lines, tagged line) of one command."""
        self.n += 1
        tag = b"t%d" % self.n
        if isinstance(text, str):
            text = text.encode()
        self.sock.sendall(tag + b" " + text + b"\r\n")
        lines = []
        while True:
            line = self.line()
            if line.startswith(tag + b" "):
                return lines, line.rstrip(b"\r\n")
            lines.append(line.rstrip(b"\r\n"))

    def ok(self, text: str | bytes) -> list[bytes]:
        lines, done = self.command(text)
        assert re.match(rb"t\d+ OK", done), (text, lines, done)
        return lines

    def append(self, mailbox: str, message: bytes, date: str, flags: str = "") -> None:
        self.n += 1
        tag = b"t%d" % self.n
        head = f'{tag.decode()} APPEND {mailbox} ({flags}) "{date}" {{{len(message)}+}}\r\n'
        self.sock.sendall(head.encode() + message + b"\r\n")
        while True:
            line = self.line()
            if line.startswith(tag + b" "):
                assert line.startswith(tag + b" OK"), line
                return

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass


@pytest.fixture
def session(server, user):
    """A logged-in raw connection."""
    r = Raw(server.imap_port)
    r.ok(f'LOGIN {user.username} "{user.password}"')
    yield r
    r.close()


def message(headers: list[tuple[str, str]], pad: int) -> bytes:
    head = "".join(f"{k}: {v}\r\n" for k, v in headers)
    body = ("x" * 70 + "\r\n") * (pad // 72)
    return (head + "\r\n" + body).encode()


# (headers, body bytes, internal date). Sequence numbers 1..7 once the first (throwaway)
# message is expunged, UIDs 2..8.
CORPUS = [
    (  # 1
        [("From", "Carol <carol@example.org>"), ("To", "dave@example.org"), ("Cc", "zed@example.org"),
         ("Subject", "Project plan"), ("Date", "Mon, 01 Jan 2024 02:00:00 +0000"), ("Message-ID", "<plan@x>")],
        3000, "05-Jan-2024 12:00:00 +0000"),
    (  # 2
        [("From", "Alice <alice@example.org>"), ("To", "bob@example.org"), ("Subject", "Re: Project plan"),
         ("Date", "Tue, 02 Jan 2024 10:00:00 +0000"), ("Message-ID", "<plan-r1@x>"),
         ("In-Reply-To", "<plan@x>"), ("References", "<plan@x>")],
        1000, "03-Jan-2024 12:00:00 +0000"),
    (  # 3
        [("From", "bob@example.org"), ("To", "Zoe <alice@example.org>"), ("Subject", "[dev] Lunch"),
         ("Date", "Sat, 30 Dec 2023 10:00:00 +0000"), ("Message-ID", "<lunch@x>")],
        6000, "01-Jan-2024 12:00:00 +0000"),
    (  # 4
        [("From", "Eve <eve@example.org>"), ("To", "frank@example.org"), ("Subject", "Fwd: Re: project PLAN"),
         ("Date", "Wed, 03 Jan 2024 10:00:00 +0000"), ("Message-ID", "<plan-r2@x>"),
         ("References", "<plan@x> <plan-r1@x>")],
        2000, "04-Jan-2024 12:00:00 +0000"),
    (  # 5: 04:30 UTC on 1 Jan, after message 1 although its local date is 31 Dec.
        [("From", "dave@example.org"), ("To", "carol@example.org"), ("Subject", "Re: Lunch (fwd)"),
         ("Date", "Sun, 31 Dec 2023 23:30:00 -0500"), ("Message-ID", "<lunch-r@x>"),
         ("In-Reply-To", "<lunch-missing@x>")],
        5000, "02-Jan-2024 12:00:00 +0000"),
    (  # 6: no Date header: its internal date is its sent date; no To.
        [("From", "Bob <bob@example.org>"), ("Subject", "Zebra"), ("Message-ID", "<zebra@x>")],
        4000, "06-Jan-2024 12:00:00 +0000"),
    (  # 7
        [("From", "Adam <adam@example.org>"), ("To", "zoe@example.org"), ("Subject", "zebra"),
         ("Date", "Sun, 07 Jan 2024 10:00:00 +0000"), ("Message-ID", "<zebra2@x>")],
        7000, "07-Jan-2024 12:00:00 +0000"),
]


@pytest.fixture
def corpus(session):
    session.append("INBOX", message([("Subject", "throwaway")], 100), "01-Jan-2020 00:00:00 +0000")
    for headers, pad, date in CORPUS:
        session.append("INBOX", message(headers, pad), date)
    session.ok("SELECT INBOX")
    session.ok("STORE 1 +FLAGS.SILENT (\\Deleted)")
    session.ok("EXPUNGE")
    return session


def numbers(lines: list[bytes], name: bytes) -> list[int]:
    found = [line for line in lines if line.startswith(b"* " + name)]
    assert len(found) == 1, lines
    return [int(x) for x in found[0].split()[2:]]


def sort(s: Raw, text: str) -> list[int]:
    return numbers(s.ok(text), b"SORT")


def test_capabilities(session):
    lines = session.ok("CAPABILITY")
    caps = lines[0].split()
    for cap in [b"ESEARCH", b"SEARCHRES", b"SORT", b"SORT=DISPLAY", b"THREAD=ORDEREDSUBJECT", b"THREAD=REFERENCES"]:
        assert cap in caps, caps


def test_sort_every_key(corpus):
    s = corpus
    assert sort(s, "SORT (ARRIVAL) UTF-8 ALL") == [3, 5, 2, 4, 1, 6, 7]
    assert sort(s, "SORT (DATE) UTF-8 ALL") == [3, 1, 5, 2, 4, 6, 7]
    assert sort(s, "SORT (REVERSE DATE) UTF-8 ALL") == [7, 6, 4, 2, 5, 1, 3]
    assert sort(s, "SORT (SIZE) UTF-8 ALL") == [2, 4, 1, 6, 5, 3, 7]
    assert sort(s, "SORT (REVERSE SIZE) US-ASCII ALL") == [7, 3, 5, 6, 1, 4, 2]
    # Base subjects: lunch (3, 5), project plan (1, 2, 4), zebra (6, 7); ties by mailbox order.
    assert sort(s, "SORT (SUBJECT) UTF-8 ALL") == [3, 5, 1, 2, 4, 6, 7]
    assert sort(s, "SORT (SUBJECT REVERSE DATE) UTF-8 ALL") == [5, 3, 4, 2, 1, 7, 6]
    # FROM compares the local part of the first address.
    assert sort(s, "SORT (FROM) UTF-8 ALL") == [7, 2, 3, 6, 1, 5, 4]
    assert sort(s, "SORT (TO) UTF-8 ALL") == [6, 3, 2, 5, 1, 4, 7]
    # CC: only message 1 has one; the others tie (empty) and keep mailbox order, also reversed.
    assert sort(s, "SORT (CC) UTF-8 ALL") == [2, 3, 4, 5, 6, 7, 1]
    assert sort(s, "SORT (REVERSE CC) UTF-8 ALL") == [1, 2, 3, 4, 5, 6, 7]
    # DISPLAYFROM/DISPLAYTO: display name, else the address.
    assert sort(s, "SORT (DISPLAYFROM) UTF-8 ALL") == [7, 2, 6, 3, 1, 5, 4]
    assert sort(s, "SORT (DISPLAYTO) UTF-8 ALL") == [6, 2, 5, 1, 4, 3, 7]
    # Search criteria restrict the set; UID SORT answers UIDs (sequence number + 1 here).
    assert sort(s, "SORT (SIZE) UTF-8 NOT FROM bob") == [2, 4, 1, 5, 7]
    assert sort(s, "UID SORT (DATE) UTF-8 ALL") == [4, 2, 6, 3, 5, 7, 8]
    assert sort(s, "UID SORT (SUBJECT) UTF-8 UID 6:*") == [6, 7, 8]
    assert sort(s, "SORT (DATE) UTF-8 SUBJECT nothing-like-this") == []


def test_thread(corpus):
    s = corpus
    lines = s.ok("THREAD ORDEREDSUBJECT UTF-8 ALL")
    assert lines == [b"* THREAD (3 5)(1 (2)(4))(6 7)"]
    # REFERENCES: 2 and 4 descend from 1 by References; 5 replies to a message that is not
    # there and joins 3 by subject (it is a reply, 3 is not); 6 and 7 share a subject and
    # neither is a reply, so they are siblings under a dummy.
    lines = s.ok("THREAD REFERENCES UTF-8 ALL")
    assert lines == [b"* THREAD (3 5)(1 2 4)((6)(7))"]
    lines = s.ok("UID THREAD REFERENCES US-ASCII ALL")
    assert lines == [b"* THREAD (4 6)(2 3 5)((7)(8))"]
    # Only the searched messages are threaded: without 2, 4 hangs under 1 through its
    # References, and 7 is alone under its subject.
    lines = s.ok("THREAD REFERENCES UTF-8 NOT UID 3,8")
    assert lines == [b"* THREAD (3 5)(1 4)(6)"]
    lines = s.ok("THREAD REFERENCES UTF-8 SUBJECT nothing-like-this")
    assert lines == [b"* THREAD"]


def test_imaplib_sort_and_thread(server, user, corpus):
    """Python's imaplib as a real client: its sort() and thread() parse our answers."""
    client = imaplib.IMAP4("127.0.0.1", server.imap_port, timeout=TIMEOUT)
    try:
        client.login(user.username, user.password)
        client.select("INBOX", readonly=True)
        typ, data = client.sort("(REVERSE SIZE)", "UTF-8", "ALL")
        assert typ == "OK" and data == [b"7 3 5 6 1 4 2"], data
        typ, data = client.uid("SORT", "(DISPLAYFROM)", "UTF-8", "ALL")
        assert typ == "OK" and data == [b"8 3 7 4 2 6 5"], data
        typ, data = client.thread("REFERENCES", "UTF-8", "ALL")
        assert typ == "OK" and data == [b"(3 5)(1 2 4)((6)(7))"], data
        typ, data = client.search(None, "SUBJECT", "plan")
        assert typ == "OK" and data == [b"1 2 4"], data
    finally:
        client.logout()


def test_esearch(corpus):
    s = corpus
    lines = s.ok("SEARCH RETURN (MIN MAX COUNT ALL) FROM bob")
    assert lines == [b'* ESEARCH (TAG "t%d") MIN 3 MAX 6 ALL 3,6 COUNT 2' % s.n]
    lines = s.ok("SEARCH RETURN (ALL) NOT FROM bob")
    assert lines == [b'* ESEARCH (TAG "t%d") ALL 1:2,4:5,7' % s.n]
    lines = s.ok("UID SEARCH RETURN (ALL COUNT) NOT FROM bob")
    assert lines == [b'* ESEARCH (TAG "t%d") UID ALL 2:3,5:6,8 COUNT 5' % s.n]
    # RETURN () means ALL.
    lines = s.ok("SEARCH RETURN () CHARSET UTF-8 SUBJECT zebra")
    assert lines == [b'* ESEARCH (TAG "t%d") ALL 6:7' % s.n]
    # Nothing found: MIN/MAX/ALL are left out, COUNT is 0.
    lines = s.ok("SEARCH RETURN (MIN MAX ALL COUNT) SUBJECT nothing-like-this")
    assert lines == [b'* ESEARCH (TAG "t%d") COUNT 0' % s.n]
    lines = s.ok("UID SEARCH RETURN (MIN) SUBJECT nothing-like-this")
    assert lines == [b'* ESEARCH (TAG "t%d") UID' % s.n]
    # Without RETURN, the RFC 3501 answer.
    assert numbers(s.ok("SEARCH FROM bob"), b"SEARCH") == [3, 6]


def fetched_uids(s: Raw, text: str) -> list[tuple[int, int]]:
    out = []
    for line in s.ok(text):
        m = re.match(rb"\* (\d+) FETCH \(UID (\d+)\)", line)
        assert m, line
        out.append((int(m.group(1)), int(m.group(2))))
    return out


def test_searchres(session):
    s = session
    s.ok("CREATE Kept")
    for i in range(1, 7):
        flags = "\\Flagged" if i in (2, 4, 5) else ""
        s.append("INBOX", message([("Subject", f"s{i}")], 100), "01-Feb-2024 10:00:00 +0000", flags)
    s.ok("SELECT INBOX")
    # SAVE alone: no ESEARCH answer.
    assert s.ok("SEARCH RETURN (SAVE) FLAGGED") == []
    assert fetched_uids(s, "FETCH $ (UID)") == [(2, 2), (4, 4), (5, 5)]
    # "$" names messages, so it survives an expunge that renumbers them.
    s.ok("STORE 1 +FLAGS.SILENT (\\Deleted)")
    s.ok("EXPUNGE")
    assert fetched_uids(s, "FETCH $ (UID)") == [(1, 2), (3, 4), (4, 5)]
    assert fetched_uids(s, "UID FETCH $ (UID)") == [(1, 2), (3, 4), (4, 5)]
    assert numbers(s.ok("UID SEARCH UID $"), b"SEARCH") == [2, 4, 5]
    assert numbers(s.ok("SEARCH $ SUBJECT s4"), b"SEARCH") == [3]
    assert numbers(s.ok("SEARCH NOT $"), b"SEARCH") == [2, 5]
    assert numbers(s.ok("SORT (REVERSE SUBJECT) UTF-8 $"), b"SORT") == [4, 3, 1]
    s.ok("STORE $ +FLAGS.SILENT (\\Seen)")
    assert numbers(s.ok("SEARCH SEEN"), b"SEARCH") == [1, 3, 4]
    lines = s.ok("UID COPY $ Kept")
    status = s.ok("STATUS Kept (MESSAGES)")
    assert status == [b'* STATUS "Kept" (MESSAGES 3)'], (lines, status)
    # Expunging a saved message takes it out of "$".
    s.ok("UID STORE 4 +FLAGS.SILENT (\\Deleted)")
    s.ok("UID EXPUNGE 4")
    assert fetched_uids(s, "FETCH $ (UID)") == [(1, 2), (3, 5)]
    # SAVE with MIN (and neither ALL nor COUNT) saves just the minimum, and answers MIN.
    lines = s.ok("SEARCH RETURN (SAVE MIN) FLAGGED")
    assert lines == [b'* ESEARCH (TAG "t%d") MIN 1' % s.n]
    assert fetched_uids(s, "FETCH $ (UID)") == [(1, 2)]
    # SAVE with MIN and MAX saves both ends.
    s.ok("SEARCH RETURN (SAVE MIN MAX) ALL")
    assert fetched_uids(s, "FETCH $ (UID)") == [(1, 2), (4, 6)]
    # A SEARCH with SAVE that fails empties "$".
    lines, done = s.command("SEARCH RETURN (SAVE) CHARSET KOI8-R FLAGGED")
    assert b"NO [BADCHARSET (UTF-8 US-ASCII)]" in done, done
    assert fetched_uids(s, "FETCH $ (UID)") == []
    # So does one refused for its syntax.
    s.ok("SEARCH RETURN (SAVE) ALL")
    lines, done = s.command("SEARCH RETURN (SAVE) BEFORE 31-Feb-2024")
    assert re.match(rb"t\d+ BAD", done), done
    assert fetched_uids(s, "FETCH $ (UID)") == []
    # SELECT (and UNSELECT/CLOSE/EXAMINE) forget it.
    s.ok("SEARCH RETURN (SAVE) ALL")
    assert len(fetched_uids(s, "FETCH $ (UID)")) == 4
    s.ok("UNSELECT")
    s.ok("EXAMINE INBOX")
    assert fetched_uids(s, "FETCH $ (UID)") == []
    # MOVE $ from a read-write selection.
    s.ok("SELECT INBOX")
    s.ok("SEARCH RETURN (SAVE) SUBJECT s6")
    s.ok("MOVE $ Kept")
    assert s.ok("STATUS Kept (MESSAGES)") == [b'* STATUS "Kept" (MESSAGES 4)']


def test_bad_input(corpus):
    s = corpus
    for text in [
        "SORT (FOO) UTF-8 ALL",
        "SORT () UTF-8 ALL",
        "SORT (REVERSE) UTF-8 ALL",
        "SORT (DATE) UTF-8",
        "SORT DATE UTF-8 ALL",
        "THREAD FOO UTF-8 ALL",
        "THREAD REFERENCES UTF-8",
        "SEARCH RETURN (BOGUS) ALL",
        "SEARCH RETURN (ALL ALL",
    ]:
        lines, done = s.command(text)
        assert re.match(rb"t\d+ BAD", done), (text, done)
    for text in [
        "SORT (DATE) KOI8-R ALL",
        "THREAD REFERENCES ISO-8859-1 ALL",
        "SEARCH CHARSET KOI8-R ALL",
        "SEARCH RETURN (COUNT) CHARSET X-UNKNOWN ALL",
    ]:
        lines, done = s.command(text)
        assert re.match(rb"t\d+ NO \[BADCHARSET \(UTF-8 US-ASCII\)\]", done), (text, done)
        assert lines == [], lines
    # The session goes on; charsets are case-insensitive.
    assert sort(s, "SORT (SIZE) utf-8 ALL") == [2, 4, 1, 6, 5, 3, 7]
    assert numbers(s.ok("SEARCH CHARSET us-ascii FROM bob"), b"SEARCH") == [3, 6]
    # Outside the selected state.
    s.ok("UNSELECT")
    for text in ["SORT (DATE) UTF-8 ALL", "THREAD REFERENCES UTF-8 ALL", "SEARCH RETURN (ALL) ALL"]:
        lines, done = s.command(text)
        assert re.match(rb"t\d+ BAD", done), (text, done)


def test_rev2_search_answers_esearch(corpus):
    """Under IMAP4rev2 (RFC 9051 6.4.4) a plain SEARCH is answered with ESEARCH."""
    s = corpus
    caps = s.ok("CAPABILITY")[0].split()
    assert b"IMAP4rev2" in caps, caps
    # ENABLE IMAP4rev2 belongs before a mailbox is selected (it changes mailbox names).
    s.ok("UNSELECT")
    lines = s.ok("ENABLE IMAP4rev2")
    assert b"IMAP4REV2" in lines[0].upper(), lines
    s.ok("SELECT INBOX")
    lines = s.ok("SEARCH FROM bob")
    assert lines == [b'* ESEARCH (TAG "t%d") ALL 3,6' % s.n]
    lines = s.ok("UID SEARCH SUBJECT nothing-like-this")
    assert lines == [b'* ESEARCH (TAG "t%d") UID' % s.n]
