"""LMTP delivery (RFC 2033): smtplib.LMTP and raw sockets against the real server, read back
through the REST API. Every test makes its own users."""

from __future__ import annotations

import smtplib

import pytest

from delivery_helpers import RawSmtp, inbox_messages, junk_messages, wait_for
from helpers import make_message, ok, unique

MESSAGE = make_message(subject="Delivered over LMTP", body="Hello over LMTP.\n.leading dot line\n")


@pytest.fixture
def lmtp(server):
    opened = []

    def make() -> smtplib.LMTP:
        client = smtplib.LMTP("127.0.0.1", server.lmtp_port, timeout=30)
        opened.append(client)
        return client

    yield make
    for c in opened:
        try:
            c.quit()
        except Exception:
            pass


@pytest.fixture
def raw_lmtp(server):
    opened = []

    def make() -> RawSmtp:
        r = RawSmtp(server.lmtp_port)
        opened.append(r)
        code, _ = r.reply()
        assert code == 220
        return r

    yield make
    for r in opened:
        r.close()


def split(raw: bytes) -> tuple[list[bytes], bytes]:
    head, body = raw.split(b"\r\n\r\n", 1)
    return head.split(b"\r\n"), body


def test_lmtp_delivers_to_inbox_with_trace_headers(api, create_user, lmtp):
    user = create_user()
    client = lmtp()
    code, caps = client.ehlo("mta.example.org")  # smtplib.LMTP sends LHLO
    assert code == 250
    for cap in (b"PIPELINING", b"8BITMIME", b"SMTPUTF8", b"ENHANCEDSTATUSCODES", b"CHUNKING", b"SIZE "):
        assert cap in caps, caps
    refused = client.sendmail("alice@example.org", [user.address], MESSAGE)
    assert refused == {}

    [stored] = inbox_messages(api, user.id)
    head, body = split(stored)
    assert head[0] == b"Return-Path: <alice@example.org>"
    assert head[1] == f"Delivered-To: {user.address}".encode()
    assert head[2] == b"Received: from mta.example.org ([127.0.0.1])"
    assert head[3].startswith(b"\tby ") and b"(Sealpost) with LMTP id " in head[3]
    assert head[4].startswith(f"\tfor <{user.address}>; ".encode())
    # the message itself follows unchanged, dot-unstuffed
    assert stored.endswith(MESSAGE)
    assert b"\r\n.leading dot line\r\n" in body


def test_unknown_recipient_and_per_recipient_replies(api, create_user, raw_lmtp):
    good, other = create_user(), create_user()
    r = raw_lmtp()
    r.send(b"LHLO mta.example.org\r\n")
    assert r.reply()[0] == 250
    r.send(b"MAIL FROM:<sender@example.org>\r\n")
    assert r.reply()[0] == 250
    r.send(f"RCPT TO:<{good.address}>\r\n".encode())
    assert r.reply()[0] == 250
    r.send(b"RCPT TO:<nobody-" + unique().encode() + b"@example.test>\r\n")
    code, text = r.reply()
    assert (code, text.split()[0]) == (550, "5.1.1")
    r.send(f"RCPT TO:<{other.address.upper()}>\r\n".encode())
    assert r.reply()[0] == 250
    r.send(b"DATA\r\n")
    assert r.reply()[0] == 354
    r.send(make_message(subject="two of three") + b".\r\n")
    # one reply per accepted recipient, in RCPT order
    replies = r.replies(2)
    assert [c for c, _ in replies] == [250, 250], replies
    r.send(b"QUIT\r\n")
    assert r.reply()[0] == 221
    assert len(inbox_messages(api, good.id)) == 1
    [m] = inbox_messages(api, other.id)
    assert f"Delivered-To: {other.address.upper()}".encode() in m


def test_a_user_named_twice_gets_one_copy(api, create_user, raw_lmtp):
    user, other = create_user(), create_user()
    local, domain = user.address.split("@")
    r = raw_lmtp()
    r.send(b"LHLO mta.example.org\r\n")
    assert r.reply()[0] == 250
    r.send(b"MAIL FROM:<sender@example.org>\r\n")
    assert r.reply()[0] == 250
    # the same user three times (same address, other case, a +tag), another user in between
    for rcpt in (user.address, other.address, user.address.upper(), f"{local}+tag@{domain}"):
        r.send(f"RCPT TO:<{rcpt}>\r\n".encode())
        assert r.reply()[0] == 250
    r.send(b"DATA\r\n")
    assert r.reply()[0] == 354
    r.send(make_message(subject="named twice") + b".\r\n")
    # still one reply per accepted RCPT (RFC 2033), but one stored copy per user
    replies = r.replies(4)
    assert [c for c, _ in replies] == [250, 250, 250, 250], replies
    r.send(b"QUIT\r\n")
    assert r.reply()[0] == 221
    [m] = inbox_messages(api, user.id)
    assert f"Delivered-To: {user.address}".encode() in m
    assert len(inbox_messages(api, other.id)) == 1


def test_plus_tag_and_case_reach_the_same_user(api, create_user, lmtp):
    user = create_user()
    local, domain = user.address.split("@")
    client = lmtp()
    for rcpt in (f"{local}+news@{domain}", f"{local.upper()}+X@{domain.upper()}"):
        assert client.sendmail("a@example.org", [rcpt], make_message(subject=rcpt)) == {}
    msgs = inbox_messages(api, user.id)
    assert len(msgs) == 2
    assert f"Delivered-To: {local}+news@{domain}".encode() in msgs[0]


def test_address_with_tag_of_its_own_wins_over_subaddressing(api, create_user, lmtp):
    base = create_user()
    local, domain = base.address.split("@")
    tagged = create_user(address=f"{local}+sales@{domain}")
    client = lmtp()
    assert client.sendmail("a@example.org", [f"{local}+sales@{domain}"], make_message()) == {}
    assert len(inbox_messages(api, tagged.id)) == 1
    assert inbox_messages(api, base.id) == []


def test_internationalised_address(api, create_user, lmtp):
    name = unique("jü")
    user = create_user(address=f"{name}@bücher.example")
    client = lmtp()
    client.ehlo("mta.example.org")
    # SMTPUTF8 address, and the same domain in its ASCII (punycode) spelling
    for rcpt in (f"{name.upper()}@BÜCHER.example", f"{name}@xn--bcher-kva.example"):
        refused = client.sendmail("sender@exämple.org", [rcpt], make_message(subject="utf8"), mail_options=["SMTPUTF8"])
        assert refused == {}
    msgs = inbox_messages(api, user.id)
    assert len(msgs) == 2
    assert msgs[0].startswith("Return-Path: <sender@exämple.org>\r\n".encode())
    # without SMTPUTF8 a non-ASCII address is refused
    r = RawSmtp(client.sock.getpeername()[1])
    try:
        r.reply()
        r.send(b"LHLO x\r\nMAIL FROM:<a@example.org>\r\n" + f"RCPT TO:<{name}@bücher.example>\r\n".encode())
        replies = r.replies(3)
        assert replies[2][0] == 553, replies
    finally:
        r.close()


def test_spam_header_goes_to_junk(api, create_user, lmtp):
    user = create_user()
    client = lmtp()
    spam = make_message(subject="cheap pills", headers={"X-Spam-Status": "Yes, score=12.3 required=5.0"})
    rspamd = make_message(subject="rspamd says", headers={"X-Rspamd-Action": "add header"})
    ham = make_message(subject="fine", headers={"X-Spam-Status": "No, score=0.1 required=5.0"})
    for m in (spam, rspamd, ham):
        assert client.sendmail("a@example.org", [user.address], m) == {}
    junk = junk_messages(api, user.id)
    assert [m.endswith(spam) or m.endswith(rspamd) for m in junk] == [True, True]
    [inbox] = inbox_messages(api, user.id)
    assert inbox.endswith(ham)


def test_quota(api, create_user, raw_lmtp):
    user = create_user(quota=4000)
    r = raw_lmtp()
    r.send(b"LHLO x\r\n")
    r.reply()

    def deliver(size: int) -> tuple[int, str]:
        r.send(b"MAIL FROM:<a@example.org>\r\n" + f"RCPT TO:<{user.address}>\r\n".encode())
        mail, rcpt = r.replies(2)
        assert mail[0] == 250
        if rcpt[0] != 250:
            r.send(b"RSET\r\n")
            assert r.reply()[0] == 250
            return rcpt
        r.send(b"DATA\r\n")
        assert r.reply()[0] == 354
        r.send(make_message(body="x" * size) + b".\r\n")
        return r.reply()

    assert deliver(500)[0] == 250
    # too big for what is left: refused after DATA
    code, text = deliver(4000)
    assert (code, text.split()[0]) == (452, "4.2.2"), text
    assert deliver(1500)[0] == 250
    # once the user is over quota, refused at RCPT already
    ok(api.put(f"/users/{user.id}", json={"quota": 1000}))
    code, text = deliver(10)
    assert (code, text.split()[0]) == (452, "4.2.2"), text
    assert len(inbox_messages(api, user.id)) == 2


def test_quota_reply_552_by_config(instances, api):
    server = instances.start(env={"SEALPOST_LMTP_QUOTA_REPLY": "552"})
    a = server.api()
    uid = ok(a.post("/users", json={"username": unique("q"), "password": "secret pass", "quota": 1000, "address": f"{unique('q')}@example.test"}))["id"]
    address = ok(a.get(f"/users/{uid}"))["address"]
    client = smtplib.LMTP("127.0.0.1", server.lmtp_port, timeout=30)
    try:
        with pytest.raises(smtplib.SMTPDataError) as e:
            client.sendmail("a@example.org", [address], make_message(body="y" * 2000))
        assert e.value.smtp_code == 552 and e.value.smtp_error.startswith(b"5.2.2")
    finally:
        client.close()


def test_message_size_limit(instances):
    server = instances.start(env={"SEALPOST_MAX_MESSAGE_SIZE": "2000"})
    a = server.api()
    address = f"{unique('s')}@example.test"
    ok(a.post("/users", json={"username": unique("s"), "password": "secret pass", "address": address}))
    r = RawSmtp(server.lmtp_port)
    try:
        r.reply()
        r.send(b"LHLO x\r\n")
        assert "SIZE 2000" in r.reply()[1]
        # declared too big: refused at MAIL
        r.send(b"MAIL FROM:<a@example.org> SIZE=5000\r\n")
        code, text = r.reply()
        assert (code, text.split()[0]) == (552, "5.3.4")
        # undeclared, too big: the body is read to its end, then refused; the session goes on
        # (two recipients: LMTP answers the refused data once for each)
        r.send(b"MAIL FROM:<a@example.org>\r\n" + f"RCPT TO:<{address}>\r\n".encode() * 2 + b"DATA\r\n")
        assert [c for c, _ in r.replies(4)] == [250, 250, 250, 354]
        r.send(make_message(body="z" * 5000) + b".\r\n")
        for code, text in r.replies(2):
            assert (code, text.split()[0]) == (552, "5.3.4")
        # the same with BDAT: an oversized chunk is read and refused, BDAT LAST answers per recipient
        r.send(b"MAIL FROM:<a@example.org>\r\n" + f"RCPT TO:<{address}>\r\n".encode() * 2)
        assert [c for c, _ in r.replies(3)] == [250, 250, 250]
        r.send(b"BDAT 3000\r\n" + b"b" * 3000 + b"BDAT 2 LAST\r\nzz")
        replies = r.replies(3)
        assert [c for c, _ in replies] == [552, 552, 552], replies
        r.send(b"NOOP\r\n")
        assert r.reply()[0] == 250
    finally:
        r.close()


def test_pipelining_in_one_write(api, create_user, raw_lmtp):
    a, b = create_user(), create_user()
    r = raw_lmtp()
    msg = make_message(subject="pipelined")
    r.send(
        b"LHLO pipe.example\r\n"
        b"MAIL FROM:<p@example.org>\r\n"
        + f"RCPT TO:<{a.address}>\r\n".encode()
        + b"RCPT TO:<ghost-" + unique().encode() + b"@example.test>\r\n"
        + f"RCPT TO:<{b.address}>\r\n".encode()
        + b"DATA\r\n"
    )
    replies = r.replies(6)
    assert [c for c, _ in replies] == [250, 250, 250, 550, 250, 354], replies
    r.send(msg + b".\r\nMAIL FROM:<>\r\n" + f"RCPT TO:<{a.address}>\r\n".encode() + b"DATA\r\n")
    replies = r.replies(5)
    assert [c for c, _ in replies] == [250, 250, 250, 250, 354], replies
    r.send(b"second\r\n.\r\nQUIT\r\n")
    assert [c for c, _ in r.replies(2)] == [250, 221]
    assert len(inbox_messages(api, a.id)) == 2
    assert len(inbox_messages(api, b.id)) == 1
    assert inbox_messages(api, a.id)[1].startswith(b"Return-Path: <>\r\n")


def test_bdat_chunks_and_last(api, create_user, raw_lmtp):
    user = create_user()
    r = raw_lmtp()
    msg = make_message(subject="chunked", body="binary-safe\r\n.\r\nnot the end\n")
    part1, part2 = msg[:50], msg[50:]
    r.send(b"LHLO x\r\nMAIL FROM:<c@example.org> BODY=8BITMIME\r\n" + f"RCPT TO:<{user.address}>\r\n".encode())
    assert [c for c, _ in r.replies(3)] == [250, 250, 250]
    # two chunks and an empty BDAT LAST, pipelined in one write
    r.send(f"BDAT {len(part1)}\r\n".encode() + part1 + f"BDAT {len(part2)}\r\n".encode() + part2 + b"BDAT 0 LAST\r\n")
    replies = r.replies(3)
    assert [c for c, _ in replies] == [250, 250, 250], replies
    # DATA after BDAT is out of sequence; BDAT without a transaction is refused but read
    r.send(b"MAIL FROM:<c@example.org>\r\n" + f"RCPT TO:<{user.address}>\r\n".encode() + b"BDAT 3\r\nabcDATA\r\n")
    replies = r.replies(4)
    assert [c for c, _ in replies] == [250, 250, 250, 503], replies
    r.send(b"RSET\r\nBDAT 5 LAST\r\nhello" + b"NOOP\r\n")
    replies = r.replies(3)
    assert [c for c, _ in replies] == [250, 503, 250], replies
    [stored] = inbox_messages(api, user.id)
    assert stored.endswith(msg)  # BDAT content is taken as is: no dot-unstuffing


def test_bad_sequences_and_syntax(raw_lmtp, create_user):
    user = create_user()
    r = raw_lmtp()
    r.send(b"MAIL FROM:<a@example.org>\r\n")
    assert r.reply()[0] == 503
    r.send(b"EHLO x\r\n")
    assert r.reply()[0] == 500  # LMTP wants LHLO
    r.send(b"LHLO x\r\n")
    assert r.reply()[0] == 250
    r.send(b"RCPT TO:<" + user.address.encode() + b">\r\n")
    assert r.reply()[1].startswith("5.5.1")
    r.send(b"DATA\r\n")
    assert r.reply()[0] == 503
    r.send(b"MAIL FROM:<a@example.org>\r\nMAIL FROM:<b@example.org>\r\nDATA\r\n")
    assert [c for c, _ in r.replies(3)] == [250, 503, 503]
    r.send(b"RCPT TO:<not an address>\r\nRCPT TO:<a@b.example> NOTIFY=NEVER\r\nFOO\r\nMAIL\r\n")
    assert [c for c, _ in r.replies(4)] == [501, 555, 500, 501]
    r.send(b"VRFY bob\r\nHELP\r\nNOOP\r\nRSET\r\n")
    assert [c for c, _ in r.replies(4)] == [252, 214, 250, 250]
    # a whole line over the limit is refused, the session goes on
    r.send(b"NOOP " + b"x" * 5000 + b"\r\nNOOP\r\n")
    assert [c for c, _ in r.replies(2)] == [500, 250]
    # an endless line is not buffered: refused and the connection closed
    try:
        r.send(b"NOOP " + b"x" * 200_000)
    except OSError:
        pass
    assert r.reply()[0] == 500
    assert r.reply()[0] == 421
    assert r.closed()


def test_disabled_user_is_refused(api, create_user, raw_lmtp):
    user = create_user()
    ok(api.put(f"/users/{user.id}", json={"disabled": True}))
    r = raw_lmtp()
    r.send(b"LHLO x\r\nMAIL FROM:<a@example.org>\r\n" + f"RCPT TO:<{user.address}>\r\n".encode())
    replies = r.replies(3)
    assert replies[2][0] == 550 and replies[2][1].startswith("5.2.1"), replies


def test_connection_limit_and_timeout(instances):
    server = instances.start(env={"SEALPOST_LMTP_MAX_CONNECTIONS": "1", "SEALPOST_LMTP_TIMEOUT": "2"})
    first = RawSmtp(server.lmtp_port)
    try:
        assert first.reply()[0] == 220
        second = RawSmtp(server.lmtp_port)
        try:
            code, text = second.reply()
            assert (code, text.split()[0]) == (421, "4.3.2")
            assert second.closed()
        finally:
            second.close()
        # the first session says nothing: it is timed out and closed
        code, text = first.reply()
        assert (code, text.split()[0]) == (421, "4.4.2")
        assert first.closed()
    finally:
        first.close()
    # its slot is free again (once the server has finished closing it)
    def greeted() -> bool:
        third = RawSmtp(server.lmtp_port)
        try:
            return third.reply()[0] == 220
        finally:
            third.close()

    assert wait_for(greeted)


def test_recipient_limit(instances):
    server = instances.start(env={"SEALPOST_LMTP_MAX_RECIPIENTS": "2"})
    a = server.api()
    address = f"{unique('l')}@example.test"
    ok(a.post("/users", json={"username": unique("l"), "password": "secret pass", "address": address}))
    r = RawSmtp(server.lmtp_port)
    try:
        r.reply()
        r.send(b"LHLO x\r\nMAIL FROM:<a@example.org>\r\n" + f"RCPT TO:<{address}>\r\n".encode() * 3)
        replies = r.replies(5)
        assert [c for c, _ in replies] == [250, 250, 250, 250, 452], replies
        assert replies[4][1].startswith("4.5.3")
    finally:
        r.close()
