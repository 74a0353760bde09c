"""Inbound SMTP (RFC 5321) for local recipients: smtplib.SMTP, STARTTLS, swaks, no relaying."""

from __future__ import annotations

import shutil
import smtplib
import ssl
import subprocess

import pytest

from delivery_helpers import RawSmtp, inbox_messages
from helpers import make_message, unique


@pytest.fixture
def smtp(server):
    opened = []

    def make() -> smtplib.SMTP:
        client = smtplib.SMTP("127.0.0.1", server.smtp_port, timeout=30)
        opened.append(client)
        return client

    yield make
    for c in opened:
        try:
            c.quit()
        except Exception:
            pass


def test_smtp_delivers_with_esmtp_trace(api, create_user, smtp):
    user = create_user()
    client = smtp()
    code, caps = client.ehlo("client.example.org")
    assert code == 250
    for cap in (b"PIPELINING", b"8BITMIME", b"SMTPUTF8", b"ENHANCEDSTATUSCODES", b"CHUNKING", b"STARTTLS"):
        assert cap in caps, caps
    msg = make_message(subject="inbound smtp")
    assert client.sendmail("bob@example.org", [user.address], msg) == {}
    [stored] = inbox_messages(api, user.id)
    assert stored.startswith(f"Return-Path: <bob@example.org>\r\nDelivered-To: {user.address}\r\n".encode())
    assert b"Received: from client.example.org ([127.0.0.1])\r\n" in stored
    assert b"(Sealpost) with ESMTP id " in stored
    assert stored.endswith(msg)


def test_helo_gives_smtp_and_lhlo_is_refused(api, create_user, server):
    user = create_user()
    r = RawSmtp(server.smtp_port)
    try:
        assert r.reply()[0] == 220
        r.send(b"LHLO x\r\n")
        assert r.reply()[0] == 500
        r.send(b"HELO old.example\r\n")
        code, text = r.reply()
        assert code == 250 and "PIPELINING" not in text
        r.send(b"MAIL FROM:<a@example.org>\r\n" + f"RCPT TO:<{user.address}>\r\n".encode() + b"DATA\r\n")
        assert [c for c, _ in r.replies(3)] == [250, 250, 354]
        r.send(make_message() + b".\r\n")
        assert r.reply()[0] == 250
    finally:
        r.close()
    [stored] = inbox_messages(api, user.id)
    assert b") with SMTP id " in stored or b"(Sealpost) with SMTP id " in stored


def test_no_relaying(create_user, smtp):
    user = create_user()
    client = smtp()
    client.ehlo("x")
    client.mail("a@example.org")
    code, text = client.rcpt("someone@elsewhere.example")
    assert (code, text.split()[0]) == (550, b"5.7.1")
    # local domain, unknown user
    code, text = client.rcpt(f"ghost-{unique()}@example.test")
    assert (code, text.split()[0]) == (550, b"5.1.1")
    code, _ = client.rcpt(user.address)
    assert code == 250


def test_one_failed_recipient_fails_the_smtp_transaction_reply(api, create_user, instances):
    """SMTP has one reply for all recipients: when one can not take the message, the sender
    gets the failure (and retries), rather than a 250 that would lose that copy."""
    server = instances.start()
    a = server.api()
    from helpers import ok

    roomy = f"{unique('r')}@example.test"
    tight = f"{unique('t')}@example.test"
    ok(a.post("/users", json={"username": unique("r"), "password": "secret pass", "address": roomy}))
    ok(a.post("/users", json={"username": unique("t"), "password": "secret pass", "address": tight, "quota": 900}))
    client = smtplib.SMTP("127.0.0.1", server.smtp_port, timeout=30)
    try:
        with pytest.raises(smtplib.SMTPDataError) as e:
            client.sendmail("a@example.org", [roomy, tight], make_message(body="q" * 1000))
        assert e.value.smtp_code == 452
    finally:
        client.close()


def test_starttls(api, create_user, server):
    user = create_user()
    client = smtplib.SMTP("127.0.0.1", server.smtp_port, timeout=30)
    try:
        client.ehlo("tls.example")
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        code, _ = client.starttls(context=context)
        assert code == 220
        code, caps = client.ehlo("tls.example")
        assert code == 250 and b"STARTTLS" not in caps
        assert client.sendmail("tls@example.org", [user.address], make_message(subject="over tls")) == {}
        # a second STARTTLS is refused
        code, _ = client.docmd("STARTTLS")
        assert code == 503
    finally:
        client.quit()
    [stored] = inbox_messages(api, user.id)
    assert b"(Sealpost) with ESMTPS id " in stored


def test_starttls_drops_injected_commands(server):
    r = RawSmtp(server.smtp_port)
    try:
        r.reply()
        r.send(b"EHLO x\r\n")
        r.reply()
        r.send(b"STARTTLS\r\nMAIL FROM:<injected@example.org>\r\n")
        assert r.reply()[0] == 220
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        tls = context.wrap_socket(r.sock, server_hostname="localhost")
        tls.sendall(b"RCPT TO:<a@example.test>\r\n")
        # the injected MAIL was dropped: RCPT is out of sequence
        data = b""
        while b"\r\n" not in data:
            data += tls.recv(4096)
        assert data.startswith(b"503 "), data
        tls.close()
    finally:
        r.close()


@pytest.mark.skipif(shutil.which("swaks") is None, reason="swaks is not installed (apt-get install swaks)")
def test_swaks_delivers(api, create_user, server):
    user = create_user()
    for proto in (["--protocol", "LMTP", "--port", str(server.lmtp_port)], ["--port", str(server.smtp_port)]):
        result = subprocess.run(
            ["swaks", "--server", "127.0.0.1", *proto, "--to", user.address, "--from", "swaks@example.org",
             "--header", "Subject: sent by swaks", "--body", "swaks body", "--timeout", "30"],
            capture_output=True, text=True, timeout=60,
        )
        assert result.returncode == 0, result.stdout + result.stderr
    msgs = inbox_messages(api, user.id)
    assert len(msgs) == 2
    assert all(b"Subject: sent by swaks" in m for m in msgs)
    assert b"with LMTP id" in msgs[0] and b"with ESMTP id" in msgs[1]
