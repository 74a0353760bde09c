"""FETCH of header sections answered from the header block alone (the first bytes of each
message, not its parsed MIME tree) gives the same bytes as the full path: folded headers,
LF line ends, messages without a body or an empty line, a first line without a colon, and
headers ending around the prefix read (16 KiB) and around the 64 KiB line between messages
kept in the database and in blob files. The full path is forced by asking for BODYSTRUCTURE
(or TEXT) in the same FETCH."""

from __future__ import annotations

import imaplib
import re

import pytest

from imap_client import TIMEOUT, Raw


@pytest.fixture(scope="module")
def server(cache_server):
    """Each test with the IMAP message caches and without (the database read every time)."""
    return cache_server


PREFIX = 16 * 1024
FIELDS = b"(SUBJECT FROM X-PAD DATE)"


def padded(total_header: int, eol: bytes = b"\r\n") -> bytes:
    """A message whose header (with its empty line) is exactly `total_header` bytes."""
    head = b"From: a@example.com" + eol + b"Subject: padded " + str(total_header).encode() + eol
    lines = []
    size = len(head) + len(eol)
    # Folded X-Pad fields of 78 bytes a line until the rest fits in one line.
    while total_header - size > 200:
        line = b"X-Pad: " + b"p" * (78 - 7 - len(eol)) + eol
        lines.append(line)
        size += len(line)
    rest = total_header - size
    last = b"X-Last: " + b"q" * (rest - 8 - len(eol)) + eol
    header = head + b"".join(lines) + last + eol
    assert len(header) == total_header
    return header + (b"body line" + eol) * 20


def expected_header(raw: bytes) -> bytes:
    """BODY[HEADER] as RFC 3501 and the parser delimit it: up to the first empty line."""
    pos = 0
    while pos < len(raw):
        nl = raw.find(b"\n", pos)
        line, nxt = (raw[pos:], len(raw)) if nl < 0 else (raw[pos:nl], nl + 1)
        if line in (b"", b"\r"):
            return raw[:nxt]
        if pos == 0 and b":" not in line:
            return b""
        pos = nxt
    return raw


MESSAGES = [
    b"Subject: hello\r\n folded\r\n\tagain\r\nFrom: A <a@example.com>\r\nX-Pad: 1\r\n\r\nbody\r\n",
    b"Subject: lf only\n folded\nFrom: a@example.com\n\nbody\n",
    b"Subject: header only\r\nFrom: a@example.com\r\n",
    b"Subject: no line end",
    b"this first line has no colon\r\nSubject: x\r\n\r\nbody\r\n",
    b"Subject: mixed\n\r\nbody\r\n",
] + [
    padded(n)
    for n in (PREFIX - 1, PREFIX, PREFIX + 1, PREFIX + 2, 65536 - 1, 65536, 65536 + 1)
] + [
    padded(PREFIX, b"\n"),
    padded(PREFIX + 1, b"\n"),
    # A message kept in a blob file (above 64 KiB) with a short header.
    b"Subject: big\r\nFrom: a@example.com\r\n\r\n" + b"x" * 76 + b"\r\n" * 1 + (b"y" * 78 + b"\r\n") * 2000,
    # A header longer than 64 KiB in a file.
    padded(70_000),
]


def append_raw(r: Raw, n: int, message: bytes) -> None:
    """APPEND the exact bytes (imaplib would rewrite line ends to CRLF)."""
    tag = b"a%d" % n
    r.send(tag + b" APPEND INBOX {%d}\r\n" % len(message))
    assert r.line().startswith(b"+")
    r.send(message + b"\r\n")
    lines = r.until_tagged(tag)
    assert lines[-1].startswith(tag + b" OK"), lines


def literals(data) -> dict[bytes, bytes]:
    out = {}
    for item in data:
        if isinstance(item, tuple):
            for key in re.findall(rb"(BODY\[[^\]]*\]|RFC822\.HEADER) \{\d+\}$", item[0]):
                out[key] = item[1]
    return out


def test_header_sections_from_the_header_block(server, user):
    r = Raw(server.imap_port)
    try:
        lines = r.command(b"l", b'LOGIN "%s" "%s"' % (user.username.encode(), user.password.encode()))
        assert lines[-1].startswith(b"l OK"), lines
        for n, message in enumerate(MESSAGES):
            append_raw(r, n, message)
    finally:
        r.close()
    c = imaplib.IMAP4("127.0.0.1", server.imap_port, timeout=TIMEOUT)
    try:
        assert c.login(user.username, user.password)[0] == "OK"
        typ, data = c.select("INBOX")
        assert typ == "OK" and int(data[0]) == len(MESSAGES)
        for seq, message in enumerate(MESSAGES, start=1):
            # The header alone, then with BODYSTRUCTURE, which takes the parsed path.
            typ, fast = c.fetch(str(seq), f"(BODY.PEEK[HEADER.FIELDS {FIELDS.decode()}] BODY.PEEK[HEADER] RFC822.HEADER)")
            assert typ == "OK"
            typ, full = c.fetch(
                str(seq),
                f"(BODYSTRUCTURE BODY.PEEK[HEADER.FIELDS {FIELDS.decode()}] BODY.PEEK[HEADER] RFC822.HEADER)",
            )
            assert typ == "OK"
            typ, not_fast = c.fetch(str(seq), "(BODY.PEEK[HEADER.FIELDS.NOT (X-PAD X-LAST)])")
            assert typ == "OK"
            typ, not_full = c.fetch(str(seq), "(BODY.PEEK[HEADER.FIELDS.NOT (X-PAD X-LAST)] BODY.PEEK[TEXT])")
            assert typ == "OK"
            a, b = literals(fast), literals(full)
            assert set(a) == {b"BODY[HEADER.FIELDS (SUBJECT FROM X-PAD DATE)]", b"BODY[HEADER]", b"RFC822.HEADER"}, a.keys()
            assert a == b, f"message {seq}"
            want = expected_header(message)
            assert a[b"BODY[HEADER]"] == want, f"message {seq}"
            assert a[b"RFC822.HEADER"] == want, f"message {seq}"
            key = b"BODY[HEADER.FIELDS.NOT (X-PAD X-LAST)]"
            assert literals(not_fast)[key] == literals(not_full)[key], f"message {seq}"
            if b"Subject: padded" in message:
                assert b"X-Pad: " in a[b"BODY[HEADER.FIELDS (SUBJECT FROM X-PAD DATE)]"]
                assert b"X-Last" not in a[b"BODY[HEADER.FIELDS (SUBJECT FROM X-PAD DATE)]"]
                assert b"X-Pad" not in literals(not_fast)[key]
        # A range in one FETCH (one batched read) gives the same as one at a time.
        typ, many = c.fetch(f"1:{len(MESSAGES)}", "(BODY.PEEK[HEADER])")
        assert typ == "OK"
        got = [item[1] for item in many if isinstance(item, tuple)]
        assert got == [expected_header(m) for m in MESSAGES]
        # Nothing above set \Seen.
        typ, data = c.search(None, "SEEN")
        assert typ == "OK" and data[0] == b""
    finally:
        c.logout()
