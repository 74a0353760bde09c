"""Direct delivery (`[outbound] direct = true`, no relay): submitted mail goes to the MX of
the recipient's domain as a DNS server started by the test (dnslib) answers it, or to the
domain's own A record when it has no MX; a 4xx is retried; a 5xx, and a message still not
sent after `delayWarning`, end up as RFC 3464 notifications in the sender's INBOX. The MX
is an aiosmtpd sink on a loopback port (`[outbound] port`)."""

from __future__ import annotations

import email
import email.policy
import smtplib
import ssl

import dkim
import pytest

from delivery_helpers import inbox_messages, wait_for
from harness import Instances
from helpers import create_user as make_user, ok, unique
from mail_fixtures import Dns, Sink


def tls_context() -> ssl.SSLContext:
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


@pytest.fixture(scope="module")
def mx():
    s = Sink().start()
    yield s
    s.stop()


@pytest.fixture(scope="module")
def dns():
    d = Dns().start()
    d.zone.add("remote.test", "MX", (10, "mx.remote.test"))
    d.zone.add("remote.test", "MX", (20, "backup.remote.test"))
    d.zone.add("mx.remote.test", "A", "127.0.0.1")
    # No MX: the domain's own address is its mail exchanger.
    d.zone.add("nomx.test", "A", "127.0.0.1")
    # Null MX (RFC 7505): accepts no mail.
    d.zone.add("nullmx.test", "MX", (0, "."))
    yield d
    d.stop()


@pytest.fixture(scope="module")
def server(tmp_path_factory, engine, mx, dns):
    made = Instances(tmp_path_factory, engine)
    srv = made.start(env={
        "SEALPOST_OUTBOUND_DIRECT": "true",
        "SEALPOST_OUTBOUND_PORT": str(mx.port),
        "SEALPOST_OUTBOUND_DELAY_WARNING": "2",
        "SEALPOST_DNS_SERVERS": f"127.0.0.1:{dns.port}",
        "SEALPOST_RELAY_TIMEOUT": "10",
        "SEALPOST_RELAY_RETRY_BASE": "1",
        "SEALPOST_RELAY_RETRY_MAX": "1",
    })
    yield srv
    alive = srv.alive()
    made.cleanup()
    assert alive, f"the server died during the tests:\n{srv.log()[-4000:]}"


def send(server, user, rcpts: list[str], subject: str = "direct") -> None:
    c = smtplib.SMTP_SSL("127.0.0.1", server.submissions_port, timeout=30, context=tls_context())
    c.login(user.username, user.password)
    raw = (f"From: <{user.address}>\r\nTo: {', '.join(rcpts)}\r\nSubject: {subject}\r\n\r\nbody\r\n").encode()
    assert c.sendmail(user.address, rcpts, raw) == {}
    c.quit()


def parse(raw: bytes):
    return email.message_from_bytes(raw, policy=email.policy.default)


def reports(api, user_id: str, subject_part: str) -> list:
    return [parse(r) for r in inbox_messages(api, user_id) if subject_part.encode() in r]


def test_mx_and_implicit_mx_signed(api, server, mx, dns):
    domain = f"{unique('s')}.test"
    key = ok(api.post("/dkim", json={"domain": domain, "selector": "d1", "algorithm": "ed25519"}))
    dns.zone.add(key["dnsTxt"]["name"], "TXT", key["dnsTxt"]["value"])
    user = make_user(api, address=f"me@{domain}")
    a, b = f"{unique('a')}@remote.test", f"{unique('b')}@nomx.test"
    send(server, user, [a, b])
    [(_, rcpts_a, raw)] = mx.wait_to(a)
    [(_, rcpts_b, _)] = mx.wait_to(b)
    # One transaction per recipient domain.
    assert rcpts_a == [a] and rcpts_b == [b]
    assert dkim.verify(raw, dnsfunc=dns.txt)


def test_temporary_failure_is_retried(api, server, mx):
    user = make_user(api)
    rcpt = f"{unique('once')}@remote.test"
    send(server, user, [rcpt])
    assert len(mx.wait_to(rcpt)) == 1
    assert mx.attempts[rcpt.lower()] >= 2


def test_permanent_failure_is_reported_in_the_inbox(api, server, mx):
    user = make_user(api)
    rcpt = f"{unique('reject')}@remote.test"
    send(server, user, [rcpt], subject="will bounce")
    found = wait_for(lambda: reports(api, user.id, "Undelivered Mail"), timeout=60)
    assert found, inbox_messages(api, user.id)
    report = found[0]
    assert report.get_content_type() == "multipart/report"
    assert report.get_param("report-type") == "delivery-status"
    status = report.as_string()
    assert f"Final-Recipient: rfc822; {rcpt}" in status
    assert "Action: failed" in status and "Status: 5.1.1" in status
    assert "Subject: will bounce" in status
    assert mx.to(rcpt) == []


def test_null_mx_fails_at_once(api, server):
    user = make_user(api)
    send(server, user, [f"{unique('x')}@nullmx.test"])
    found = wait_for(lambda: reports(api, user.id, "Undelivered Mail"), timeout=60)
    assert found and "5.1.10" in found[0].as_string()


def test_delay_warning_once(api, server, mx):
    user = make_user(api)
    rcpt = f"{unique('later')}@remote.test"
    send(server, user, [rcpt], subject="slow one")
    found = wait_for(lambda: reports(api, user.id, "Delayed Mail"), timeout=60)
    assert found, inbox_messages(api, user.id)
    text = found[0].as_string()
    assert "Action: delayed" in text and "Status: 4.3.0" in text
    # Told once, however often it is retried.
    tried = mx.attempts.get(rcpt.lower(), 0)
    assert wait_for(lambda: mx.attempts.get(rcpt.lower(), 0) >= tried + 3, timeout=60)
    assert len(reports(api, user.id, "Delayed Mail")) == 1
