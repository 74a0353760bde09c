"""Submission (RFC 6409) on 1587 (STARTTLS) and 1465 (implicit TLS) with smtplib: AUTH PLAIN
and LOGIN through core's login (passwords, application passwords, the 2FA rule, the
throttle), the sender rule with `fromWhitelist`, the `recipients` limit, local delivery with
filters, remote recipients through the relay (an aiosmtpd sink), DKIM signatures checked by
dkimpy against the `dnsTxt` records served by a DNS server the test starts (dnslib), and no
queued message lost to a SIGKILL after the 250."""

from __future__ import annotations

import email
import email.policy
import imaplib
import smtplib
import ssl
import time

import dkim
import pytest

from delivery_helpers import inbox_messages, messages_in, wait_for
from harness import Instances, free_port
from helpers import PASSWORD, create_user as make_user, err, mailbox_by_path, ok, unique
from mail_fixtures import Dns, Sink

LOCAL = "example.test"


def tls_context() -> ssl.SSLContext:
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def relay_env(port: int) -> dict[str, str]:
    return {
        "SEALPOST_RELAY_HOST": "127.0.0.1",
        "SEALPOST_RELAY_PORT": str(port),
        "SEALPOST_RELAY_STARTTLS": "false",
        "SEALPOST_RELAY_TIMEOUT": "10",
        "SEALPOST_RELAY_RETRY_BASE": "1",
        "SEALPOST_RELAY_RETRY_MAX": "1",
    }


@pytest.fixture(scope="module")
def sink():
    s = Sink().start()
    yield s
    s.stop()


@pytest.fixture(scope="module")
def dns():
    d = Dns().start()
    yield d
    d.stop()


@pytest.fixture(scope="module")
def server(tmp_path_factory, engine, sink, dns):
    made = Instances(tmp_path_factory, engine)
    srv = made.start(env={**relay_env(sink.port), "SEALPOST_DNS_SERVERS": f"127.0.0.1:{dns.port}"})
    yield srv
    alive = srv.alive()
    made.cleanup()
    assert alive, f"the server died during the tests:\n{srv.log()[-4000:]}"


def starttls(server) -> smtplib.SMTP:
    c = smtplib.SMTP("127.0.0.1", server.submission_port, timeout=30)
    c.ehlo("laptop.example")
    c.starttls(context=tls_context())
    c.ehlo("laptop.example")
    return c


def implicit(server) -> smtplib.SMTP_SSL:
    c = smtplib.SMTP_SSL("127.0.0.1", server.submissions_port, timeout=30, context=tls_context())
    c.ehlo("laptop.example")
    return c


def message(sender: str, to: str, subject: str = "hello", extra: str = "") -> bytes:
    return (f"From: Sender <{sender}>\r\nTo: <{to}>\r\nSubject: {subject}\r\n{extra}"
            "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
            "Hi there,\r\n.leading dot line\r\n\r\nbye\r\n").encode()


def parse(raw: bytes):
    return email.message_from_bytes(raw, policy=email.policy.default)


def remote(prefix: str = "friend") -> str:
    return f"{unique(prefix)}@remote.test"


# ---- AUTH ----


def test_auth_plain_and_login_over_starttls_and_implicit_tls(server, user, sink):
    for connect in (starttls, implicit):
        c = connect(server)
        assert c.has_extn("auth") and "PLAIN" in c.esmtp_features["auth"] and "LOGIN" in c.esmtp_features["auth"]
        c.login(user.address, user.password)
        rcpt = remote()
        c.sendmail(user.address, [rcpt], message(user.address, rcpt))
        c.quit()
        [(mail_from, _, raw)] = sink.wait_to(rcpt)
        assert mail_from == user.address
        assert b"with ESMTPSA id" in raw and f"(authenticated as {user.username})".encode() in raw
    # LOGIN explicitly, with the username.
    c = starttls(server)
    c.user, c.password = user.username, user.password
    code, _ = c.auth("LOGIN", c.auth_login, initial_response_ok=False)
    assert code == 235
    c.quit()


def test_application_password_and_scopes(api, user, sink, server):
    asp = ok(api.post(f"/users/{user.id}/asps", json={"description": "phone", "scopes": ["smtp"]}))["password"]
    pop_only = ok(api.post(f"/users/{user.id}/asps", json={"description": "pop", "scopes": ["pop3"]}))["password"]
    c = implicit(server)
    c.login(user.username, asp)
    c.quit()
    c = implicit(server)
    with pytest.raises(smtplib.SMTPAuthenticationError) as e:
        c.login(user.username, pop_only)
    assert e.value.smtp_code == 535
    c.close()
    log = ok(api.get(f"/users/{user.id}/authlog", params={"action": "authentication"}))["results"]
    assert any(r.get("protocol") == "SMTP" and r.get("result") == "success" for r in log), log
    assert any(r.get("protocol") == "SMTP" and r.get("result") == "fail" for r in log), log


def test_two_factor_refuses_the_master_password(api, user, server):
    import pyotp

    seed = ok(api.post(f"/users/{user.id}/2fa/totp/setup", json={"issuer": "Test"}))["seed"]
    ok(api.post(f"/users/{user.id}/2fa/totp/enable", json={"token": pyotp.TOTP(seed).now()}))
    c = starttls(server)
    with pytest.raises(smtplib.SMTPAuthenticationError):
        c.login(user.username, user.password)
    c.close()
    asp = ok(api.post(f"/users/{user.id}/asps", json={"description": "mail", "scopes": ["*"]}))["password"]
    c = starttls(server)
    c.login(user.username, asp)
    c.quit()


def test_disabled_smtp_scope_refuses_login(api, user, server):
    ok(api.put(f"/users/{user.id}", json={"disabledScopes": ["smtp"]}))
    c = implicit(server)
    with pytest.raises(smtplib.SMTPAuthenticationError):
        c.login(user.username, user.password)
    c.close()


def test_mail_needs_auth_and_bad_mechanisms(server, user):
    c = implicit(server)
    code, text = c.mail(user.address)
    assert code == 530, text
    code, _ = c.docmd("AUTH", "CRAM-MD5")
    assert code == 504
    code, _ = c.docmd("AUTH", "PLAIN !!!notbase64")
    assert code == 501
    c.quit()


def test_auth_refused_without_tls_when_policy_says_never(tmp_path_factory, engine, sink):
    made = Instances(tmp_path_factory, engine)
    try:
        srv = made.start(env={**relay_env(sink.port), "SEALPOST_SUBMISSION_ALLOW_PLAINTEXT_AUTH": "never"})
        api = srv.api()
        user = make_user(api)
        c = smtplib.SMTP("127.0.0.1", srv.submission_port, timeout=30)
        c.ehlo("x")
        assert not c.has_extn("auth") and c.has_extn("starttls")
        code, text = c.docmd("AUTH", "PLAIN " + __import__("base64").b64encode(f"\0{user.username}\0{PASSWORD}".encode()).decode())
        assert code == 538 and b"5.7.11" in text
        c.starttls(context=tls_context())
        c.ehlo("x")
        assert c.has_extn("auth")
        c.login(user.username, PASSWORD)
        c.quit()
    finally:
        made.cleanup()


def test_throttle_refuses_after_failures(tmp_path_factory, engine, sink):
    made = Instances(tmp_path_factory, engine)
    try:
        srv = made.start(env={**relay_env(sink.port), "SEALPOST_AUTH_MAX_FAILURES_PER_USER": "2"})
        user = make_user(srv.api())
        for _ in range(2):
            c = implicit(srv)
            with pytest.raises(smtplib.SMTPAuthenticationError):
                c.login(user.username, "wrong password")
            c.close()
        c = implicit(srv)
        with pytest.raises(smtplib.SMTPAuthenticationError) as e:
            c.login(user.username, PASSWORD)
        assert e.value.smtp_code == 454, e.value
        c.close()
    finally:
        made.cleanup()


# ---- sender rules ----


def test_forged_senders_are_refused(api, user, server, sink):
    other = make_user(api)
    c = implicit(server)
    c.login(user.username, user.password)
    code, text = c.mail(other.address)
    assert code == 550 and b"5.7.1" in text
    c.rset()
    rcpt = remote()
    with pytest.raises(smtplib.SMTPDataError) as e:
        c.sendmail(user.address, [rcpt], message(other.address, rcpt))
    assert e.value.smtp_code == 550 and b"5.7.1" in e.value.smtp_error
    c.quit()
    assert sink.to(rcpt) == []


def test_from_whitelist_allows_more_senders(api, server, sink):
    user = make_user(api, fromWhitelist=["*@lists.example.org", "news@example.net"])
    assert ok(api.get(f"/users/{user.id}"))["fromWhitelist"] == ["*@lists.example.org", "news@example.net"]
    c = starttls(server)
    c.login(user.username, user.password)
    rcpt = remote()
    c.sendmail("team@lists.example.org", [rcpt], message("news@example.net", rcpt))
    with pytest.raises(smtplib.SMTPSenderRefused):
        c.sendmail("team@lists.example.org.evil", [rcpt], message(user.address, rcpt))
    c.quit()
    assert len(sink.wait_to(rcpt)) == 1
    ok(api.put(f"/users/{user.id}", json={"fromWhitelist": []}))
    assert ok(api.get(f"/users/{user.id}"))["fromWhitelist"] == []
    err(api.put(f"/users/{user.id}", json={"fromWhitelist": ["a b@x"]}), 400, "InputValidationError")


# ---- local and remote delivery ----


def test_local_recipient_gets_it_with_filters(api, user, server):
    friend = make_user(api)
    folder = ok(api.post(f"/users/{friend.id}/mailboxes", json={"path": "From colleagues"}))["id"]
    ok(api.post(f"/users/{friend.id}/filters", json={"query_subject": "report", "action_mailbox": folder, "action_seen": True}))
    hidden = make_user(api)
    c = starttls(server)
    c.login(user.username, user.password)
    raw = message(user.address, friend.address, subject="weekly report", extra=f"Bcc: {hidden.address}\r\n")
    refused = c.sendmail(user.address, [friend.address, hidden.address], raw)
    assert refused == {}
    c.quit()
    [stored] = messages_in(api, friend.id, folder)
    assert b"with ESMTPSA id" in stored and b"Bcc:" not in stored and hidden.address.encode() not in stored
    assert b"\r\nMessage-ID: <" in stored and b"\r\nDate: " in stored
    [copy] = inbox_messages(api, hidden.id)
    assert b"Bcc:" not in copy


def test_unknown_local_recipient_and_relay(api, user, server, sink):
    c = implicit(server)
    c.login(user.username, user.password)
    c.mail(user.address)
    code, _ = c.rcpt(f"nobody-{unique()}@{LOCAL}")
    assert code == 550
    rcpt = remote()
    code, _ = c.rcpt(rcpt)
    assert code == 250
    code, _ = c.data(message(user.address, rcpt, extra="Bcc: secret@remote.test\r\n"))
    assert code == 250
    c.quit()
    [(_, rcpts, raw)] = sink.wait_to(rcpt)
    assert rcpts == [rcpt]
    assert b"Bcc:" not in raw and b"secret@remote.test" not in raw
    assert b"\r\n..leading dot line" not in raw and b"\r\n.leading dot line" in raw


def test_recipients_limit(api, server, sink):
    user = make_user(api, recipients=3)
    c = implicit(server)
    c.login(user.username, user.password)
    first, second = remote(), remote()
    assert c.sendmail(user.address, [first, second], message(user.address, first)) == {}
    c.mail(user.address)
    assert c.rcpt(remote())[0] == 250
    code, text = c.rcpt(remote())
    assert code == 451 and b"4.7.1" in text, text
    c.rset()
    c.quit()
    limits = ok(api.get(f"/users/{user.id}"))["limits"]["recipients"]
    assert limits["allowed"] == 3 and limits["used"] == 2 and limits["ttl"] > 0


# ---- DKIM ----


@pytest.mark.parametrize("algorithm", ["rsa", "ed25519"])
def test_dkim_signature_verifies(api, server, sink, dns, algorithm):
    domain = f"{unique('d')}.test"
    key = ok(api.post("/dkim", json={"domain": domain, "selector": "s2026", "algorithm": algorithm,
                                    "description": "test key"}))
    assert key["dnsTxt"]["name"] == f"s2026._domainkey.{domain}"
    dns.zone.add(key["dnsTxt"]["name"], "TXT", key["dnsTxt"]["value"])
    user = make_user(api, address=f"writer@{domain}")
    c = implicit(server)
    c.login(user.username, user.password)
    rcpt = remote()
    c.sendmail(user.address, [rcpt], message(user.address, rcpt, subject=f"signed {algorithm}"))
    c.quit()
    [(_, _, raw)] = sink.wait_to(rcpt)
    assert raw.startswith(b"DKIM-Signature:"), raw[:200]
    sig = parse(raw)["DKIM-Signature"]
    assert f"d={domain}" in sig and "s=s2026" in sig
    assert ("a=ed25519-sha256" if algorithm == "ed25519" else "a=rsa-sha256") in sig.replace(" ", "")
    assert dkim.verify(raw, dnsfunc=dns.txt), "dkimpy did not verify the signature"
    # A changed body no longer verifies: the check is real.
    assert not dkim.verify(raw.replace(b"bye", b"BYE"), dnsfunc=dns.txt)


def test_sent_to_a_local_user_is_signed_and_read_over_imap(api, server, dns):
    domain = f"{unique('e')}.test"
    key = ok(api.post("/dkim", json={"domain": domain, "selector": "mail"}))
    dns.zone.add(key["dnsTxt"]["name"], "TXT", key["dnsTxt"]["value"])
    alice = make_user(api, address=f"alice@{domain}")
    bob = make_user(api)
    c = smtplib.SMTP("127.0.0.1", server.submission_port, timeout=30)
    c.starttls(context=tls_context())
    c.login(alice.address, alice.password)
    c.sendmail(alice.address, [bob.address], message(alice.address, bob.address, subject="thunderbird style"))
    c.quit()
    imap = imaplib.IMAP4("127.0.0.1", server.imap_port, timeout=30)
    imap.login(bob.username, bob.password)
    imap.select("INBOX")
    typ, data = imap.uid("FETCH", "1:*", "(BODY.PEEK[])")
    imap.logout()
    raw = data[0][1]
    assert b"Subject: thunderbird style" in raw
    assert dkim.verify(raw, dnsfunc=dns.txt)


# ---- durability ----


def test_sigkill_after_250_loses_no_queued_message(tmp_path_factory, engine, sink):
    made = Instances(tmp_path_factory, engine)
    try:
        # The relay is down: everything stays queued.
        instance = made.new(env=relay_env(free_port()))
        srv = instance.start()
        user = make_user(srv.api())
        rcpts = [remote("kill") for _ in range(5)]
        c = implicit(srv)
        c.login(user.username, user.password)
        for r in rcpts:
            assert c.sendmail(user.address, [r], message(user.address, r)) == {}
        srv.kill()
        srv = instance.start(env=relay_env(sink.port))
        for r in rcpts:
            assert len(sink.wait_to(r)) == 1, r
    finally:
        made.cleanup()


# ---- Authentication-Results on inbound SMTP ----


def test_inbound_smtp_gets_authentication_results(api, server, dns):
    import base64

    import nacl.signing

    domain = f"{unique('in')}.test"
    key = nacl.signing.SigningKey.generate()
    dns.zone.add(f"sel._domainkey.{domain}", "TXT",
                 "v=DKIM1; k=ed25519; p=" + base64.b64encode(bytes(key.verify_key)).decode())
    dns.zone.add(domain, "TXT", "v=spf1 ip4:127.0.0.1 -all")
    dns.zone.add(f"_dmarc.{domain}", "TXT", "v=DMARC1; p=reject")
    user = make_user(api)
    raw = (f"From: <news@{domain}>\r\nTo: <{user.address}>\r\nSubject: signed elsewhere\r\n"
           "Message-ID: <abc@x>\r\nDate: Mon, 07 Dec 2026 10:00:00 +0000\r\n\r\nhello\r\n").encode()
    signature = dkim.sign(raw, b"sel", domain.encode(), base64.b64encode(bytes(key)),
                          signature_algorithm=b"ed25519-sha256", include_headers=[b"from", b"to", b"subject"])
    c = smtplib.SMTP("127.0.0.1", server.smtp_port, timeout=30)
    c.ehlo("mta.example")
    hostname = c.ehlo_resp.decode().split()[0]
    forged = f"Authentication-Results: {hostname}; dkim=pass header.d=bank.example\r\n".encode()
    c.sendmail(f"bounces@{domain}", [user.address], forged + signature + raw)
    c.quit()
    [stored] = inbox_messages(api, user.id)
    results = parse(stored).get_all("Authentication-Results")
    assert len(results) == 1, results
    text = " ".join(results[0].split())
    assert text.startswith(f"{hostname};"), text
    assert f"dkim=pass header.i=@{domain} header.s=sel" in text, text
    assert "spf=pass" in text and f"smtp.mailfrom=bounces@{domain}" in text, text
    assert "dmarc=pass" in text, text
    assert "bank.example" not in stored.decode()
