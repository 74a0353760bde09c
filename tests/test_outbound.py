"""Outbound mail: autoreplies (API and RFC 3834 rules) and the relay queue, against a real SMTP
sink (aiosmtpd) acting as the outbound relay. Mail comes in over LMTP; what the server sends
is read from the sink. Every test makes its own users (and senders), so tests sharing the
module's server do not see each other's replies.

The sink runs in this process on a free port; the server's `[relay]` points at it, with quick
retries (SEALPOST_RELAY_RETRY_BASE/MAX) so that the relay-down tests finish fast.
"""

from __future__ import annotations

import email
import email.policy
import secrets
import smtplib
import threading
import time

import pytest
from aiosmtpd.controller import Controller

from harness import Instances, free_port
from helpers import UNKNOWN_ID, create_user as make_user, err, invalid, make_message, ok

WAIT = 60.0


class Sink:
    """An SMTP server that keeps every message it accepts: (mail_from, rcpts, bytes).
    Recipients starting with `reject` get 550, those starting with `later` 451."""

    def __init__(self, port: int | None = None):
        self.port = port or free_port()
        self.messages: list[tuple[str, list[str], bytes]] = []
        self.lock = threading.Lock()
        self.controller: Controller | None = None

    # aiosmtpd handler hooks
    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        local = address.split("@", 1)[0].lower()
        if local.startswith("reject"):
            return "550 5.1.1 No such user here"
        if local.startswith("later"):
            return "451 4.3.0 Try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), bytes(envelope.original_content or envelope.content)))
        return "250 2.0.0 Queued"

    def start(self) -> "Sink":
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self.controller.start()
        return self

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def to(self, rcpt: str) -> list[tuple[str, list[str], bytes]]:
        with self.lock:
            return [m for m in self.messages if rcpt.lower() in (r.lower() for r in m[1])]

    def wait_to(self, rcpt: str, count: int = 1, timeout: float = WAIT) -> list[tuple[str, list[str], bytes]]:
        deadline = time.monotonic() + timeout
        while True:
            found = self.to(rcpt)
            if len(found) >= count or time.monotonic() > deadline:
                return found
            time.sleep(0.05)


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
def server(tmp_path_factory, engine, sink):
    """This module's server: relay pointed at the sink."""
    made = Instances(tmp_path_factory, engine)
    srv = made.start(env=relay_env(sink.port))
    yield srv
    alive = srv.alive()
    made.cleanup()
    assert alive, f"the server died during the tests:\n{srv.log()[-4000:]}"


def sender() -> str:
    return f"alice{secrets.token_hex(4)}@remote.test"


def lmtp_send(server, mail_from: str, rcpt: str, raw: bytes) -> None:
    client = smtplib.LMTP("127.0.0.1", server.lmtp_port, timeout=30)
    try:
        refused = client.sendmail(mail_from, [rcpt], raw)
        assert not refused, refused
    finally:
        client.quit()


def autoreply_on(api, user_id: str, **fields) -> None:
    body = {"status": True, "subject": "Out of office", "text": "I am away until Monday.", **fields}
    ok(api.put(f"/users/{user_id}/autoreply", json=body))


def parse(raw: bytes):
    return email.message_from_bytes(raw, policy=email.policy.default)


# ---- the API ----


def test_autoreply_defaults_update_and_delete(api, user):
    path = f"/users/{user.id}/autoreply"
    data = ok(api.get(path))
    assert data == {
        "success": True, "status": False, "name": "", "subject": "", "text": "", "html": "",
        "start": False, "end": False,
    }
    ok(api.put(path, json={"status": True, "subject": "Away", "text": "Back soon", "html": "<p>Back soon</p>",
                           "name": "Ann Away", "start": "2030-01-01T00:00:00.000Z", "end": "2030-01-08T12:30:00Z"}))
    data = ok(api.get(path))
    assert data["status"] is True and data["subject"] == "Away" and data["name"] == "Ann Away"
    assert data["text"] == "Back soon" and data["html"] == "<p>Back soon</p>"
    assert data["start"] == "2030-01-01T00:00:00.000Z" and data["end"] == "2030-01-08T12:30:00.000Z"

    # Partial update: only what is given changes; false clears a date.
    ok(api.put(path, json={"status": "false", "end": False}))
    data = ok(api.get(path))
    assert data["status"] is False and data["subject"] == "Away" and data["end"] is False
    assert data["start"] == "2030-01-01T00:00:00.000Z"
    ok(api.put(path, json={"subject": ""}))
    assert ok(api.get(path))["subject"] == ""

    ok(api.delete(path))
    assert ok(api.get(path))["status"] is False
    assert ok(api.get(path))["start"] is False


def test_autoreply_errors(api, user):
    path = f"/users/{user.id}/autoreply"
    invalid(api.put(path, json={"subject": "x" * 129}))
    invalid(api.put(path, json={"name": "x" * 129}))
    invalid(api.put(path, json={"text": "x" * (128 * 1024 + 1)}))
    invalid(api.put(path, json={"start": "not a date"}))
    invalid(api.put(path, json={"status": "maybe"}))
    invalid(api.put(path, json={"subject": 5}))
    invalid(api.get("/users/nothex/autoreply"))
    err(api.get(f"/users/{UNKNOWN_ID}/autoreply"), 404, "UserNotFound")
    err(api.put(f"/users/{UNKNOWN_ID}/autoreply", json={"status": True}), 404, "UserNotFound")
    err(api.delete(f"/users/{UNKNOWN_ID}/autoreply"), 404, "UserNotFound")
    # Nothing was saved by the refused calls.
    assert ok(api.get(path))["subject"] == ""


# ---- replies ----


def test_autoreply_is_sent_through_the_relay(server, api, create_user, sink):
    user = create_user(name="Ann Example")
    autoreply_on(api, user.id, html="<p>I am <b>away</b>.</p>")
    alice = sender()
    original = make_message(subject="Project plan", sender=f"Alice <{alice}>", to=user.address,
                            message_id="<orig-1@remote.test>", headers={"References": "<first@remote.test>"})
    lmtp_send(server, alice, user.address, original)

    got = sink.wait_to(alice)
    assert len(got) == 1, server.log()[-3000:]
    mail_from, rcpts, raw = got[0]
    assert mail_from in ("", "<>")  # RFC 3834 §3.3: null envelope sender (aiosmtpd says "<>")
    assert rcpts == [alice]
    reply = parse(raw)
    assert reply["Auto-Submitted"] == "auto-replied"
    assert reply["Subject"] == "Auto: Out of office"
    assert reply["In-Reply-To"] == "<orig-1@remote.test>"
    assert reply["References"].split() == ["<first@remote.test>", "<orig-1@remote.test>"]
    assert reply["From"].addresses[0].addr_spec == user.address
    assert reply["From"].addresses[0].display_name == "Ann Example"
    assert reply["To"].addresses[0].addr_spec == alice
    assert reply["Message-ID"]
    assert reply.get_body(("plain",)).get_content().strip() == "I am away until Monday."
    assert "<b>away</b>" in reply.get_body(("html",)).get_content()
    # The original was delivered as usual.
    inbox = [m for m in ok(api.get(f"/users/{user.id}/mailboxes"))["results"] if m["path"] == "INBOX"][0]
    listed = ok(api.get(f"/users/{user.id}/mailboxes/{inbox['id']}/messages"))
    assert listed["total"] == 1
    # The message's timeline records the reply.
    uid = listed["results"][0]["id"]
    events = ok(api.get(f"/users/{user.id}/mailboxes/{inbox['id']}/messages/{uid}/events"))["events"]
    auto = [e for e in events if e["action"] == "AUTOREPLY"]
    assert len(auto) == 1, events
    assert auto[0]["to"] == [alice] and auto[0]["from"] == user.address


def test_reply_subject_from_the_original_when_none_set(server, api, create_user, sink):
    user = create_user()
    autoreply_on(api, user.id, subject="", name="Vacation Bot")
    alice = sender()
    lmtp_send(server, alice, user.address, make_message(subject="Lunch? ünïcode", sender=alice, to=user.address))
    got = sink.wait_to(alice)
    assert len(got) == 1
    reply = parse(got[0][2])
    assert reply["Subject"] == "Auto: Re: Lunch? ünïcode"
    assert reply["From"].addresses[0].display_name == "Vacation Bot"


def test_one_reply_per_sender_per_interval(server, api, create_user, sink):
    user = create_user()
    autoreply_on(api, user.id)
    alice, bob = sender(), sender()
    lmtp_send(server, alice, user.address, make_message(sender=alice, to=user.address))
    assert len(sink.wait_to(alice)) == 1
    lmtp_send(server, alice.upper(), user.address, make_message(sender=alice, to=user.address))
    lmtp_send(server, bob, user.address, make_message(sender=bob, to=user.address))
    assert len(sink.wait_to(bob)) == 1
    # Anything queued for the second message from alice was queued before bob's reply.
    time.sleep(1.0)
    assert len(sink.to(alice)) == 1


SUPPRESSED = {
    "auto-submitted": {"headers": {"Auto-Submitted": "auto-generated"}},
    "auto-replied": {"headers": {"Auto-Submitted": "auto-replied"}},
    "precedence-bulk": {"headers": {"Precedence": "bulk"}},
    "precedence-list": {"headers": {"Precedence": "list"}},
    "precedence-junk": {"headers": {"Precedence": "junk"}},
    "list-id": {"headers": {"List-Id": "<news.remote.test>"}},
    "list-unsubscribe": {"headers": {"List-Unsubscribe": "<mailto:leave@remote.test>"}},
    "x-auto-response-suppress": {"headers": {"X-Auto-Response-Suppress": "OOF"}},
    "mailer-daemon": {"from": "MAILER-DAEMON@remote.test"},
    "postmaster": {"from": "postmaster@remote.test"},
    "noreply": {"from": "noreply@remote.test"},
    "list-request": {"from": "news-request@remote.test"},
    "spam": {"headers": {"X-Spam-Status": "Yes, score=9.0"}},
}


def test_autoreply_suppression_rules(server, api, create_user, sink):
    user = create_user()
    autoreply_on(api, user.id)
    tag = secrets.token_hex(3)
    suppressed: list[str] = []
    for name, case in SUPPRESSED.items():
        mail_from = case.get("from") or f"sup-{name}-{tag}@remote.test"
        if "from" in case:
            local, domain = mail_from.split("@")
            mail_from = f"{local}@{tag}.{domain}"
        suppressed.append(mail_from)
        lmtp_send(server, mail_from, user.address,
                  make_message(sender=mail_from, to=user.address, headers=case.get("headers")))
    # The null sender, and the user's own address.
    lmtp_send(server, "", user.address, make_message(sender=f"bounce-{tag}@remote.test", to=user.address))
    suppressed.append(f"bounce-{tag}@remote.test")
    lmtp_send(server, user.address, user.address, make_message(sender=user.address, to=user.address))
    suppressed.append(user.address)

    # Users whose autoreply is off or outside its window.
    off = create_user()
    autoreply_on(api, off.id, status=False)
    future = create_user()
    autoreply_on(api, future.id, start="2099-01-01T00:00:00Z")
    past = create_user()
    autoreply_on(api, past.id, end="2001-01-01T00:00:00Z")
    deleted = create_user()
    autoreply_on(api, deleted.id)
    ok(api.delete(f"/users/{deleted.id}/autoreply"))
    for u in (off, future, past, deleted):
        a = f"window-{secrets.token_hex(4)}@remote.test"
        suppressed.append(a)
        lmtp_send(server, a, u.address, make_message(sender=a, to=u.address))

    # A control message that is answered, queued after all the others.
    control = sender()
    lmtp_send(server, control, user.address, make_message(sender=control, to=user.address))
    assert len(sink.wait_to(control)) == 1, server.log()[-3000:]
    time.sleep(1.0)
    answered = [a for a in suppressed if sink.to(a)]
    assert answered == [], answered


# ---- the queue: relay down, then up; restarts ----


def test_relay_down_then_up_across_a_restart(instances):
    """Replies queued while the relay is down are sent once it is up, also after a restart
    of the server in between."""
    port = free_port()  # nothing listens here yet
    instance = instances.new(env=relay_env(port))
    srv = instance.start()
    api = srv.api()
    user = make_user(api)
    autoreply_on(api, user.id)
    senders = [sender() for _ in range(3)]
    for s in senders:
        lmtp_send(srv, s, user.address, make_message(sender=s, to=user.address))
    # Wait until the worker has tried (and failed) at least once.
    deadline = time.monotonic() + WAIT
    while "outbound message deferred" not in srv.log() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert "outbound message deferred" in srv.log(), srv.log()[-3000:]
    assert srv.stop() == 0

    srv2 = instance.start()
    late = sender().replace("alice", "late")
    lmtp_send(srv2, late, user.address, make_message(sender=late, to=user.address))
    sink = Sink(port).start()
    try:
        for s in senders + [late]:
            # A row the stopped server was sending at that moment waits out its lease (30 s).
            got = sink.wait_to(s, timeout=2 * WAIT)
            assert len(got) == 1, (s, srv2.log()[-3000:])
            assert got[0][0] in ("", "<>")
    finally:
        sink.stop()
    assert "outbound message sent" in srv2.log()


def test_permanent_refusal_is_given_up(server, api, create_user, sink):
    """A recipient the relay refuses with 5xx is given up (and recorded), not retried."""
    user = create_user()
    autoreply_on(api, user.id)
    tag = secrets.token_hex(4)
    rejected = f"reject-{tag}@remote.test"
    lmtp_send(server, rejected, user.address, make_message(sender=rejected, to=user.address))
    deadline = time.monotonic() + WAIT
    while rejected not in server.log() or "given up" not in server.log():
        if time.monotonic() > deadline:
            break
        time.sleep(0.1)
    log = server.log()
    assert any(rejected in line and "given up" in line for line in log.splitlines()), log[-3000:]
    assert sink.to(rejected) == []


def test_config_errors_name_the_key(instances):
    instance = instances.new()
    for env, key in [
        ({"SEALPOST_RELAY_HOST": "relay.test", "SEALPOST_RELAY_STARTTLS": "maybe"}, "SEALPOST_RELAY_STARTTLS"),
        ({"SEALPOST_RELAY_HOST": "relay.test", "SEALPOST_RELAY_PORT": "0"}, "relay.port"),
        ({"SEALPOST_RELAY_HOST": "relay.test", "SEALPOST_RELAY_PASSWORD": "s3cr3t-pass"}, "relay.password"),
        ({"SEALPOST_RELAY_RETRY_BASE": "10", "SEALPOST_RELAY_RETRY_MAX": "5"}, "relay.retryMax"),
    ]:
        result = instance.run("migrate", env=env)
        assert result.returncode == 2, (env, result.stdout, result.stderr)
        assert key in result.stderr, result.stderr
        assert "s3cr3t-pass" not in result.stderr + result.stdout


def test_relay_password_never_logged(tmp_path_factory, engine):
    made = Instances(tmp_path_factory, engine)
    try:
        port = free_port()
        srv = made.start(env={**relay_env(port), "SEALPOST_RELAY_USERNAME": "relayuser",
                              "SEALPOST_RELAY_PASSWORD": "pa55-w0rd-xyz", "SEALPOST_LOG": "debug"})
        assert srv.alive()
        assert "outbound relay worker started" in srv.log()
        assert "pa55-w0rd-xyz" not in srv.log()
    finally:
        made.cleanup()


# ---- bounces of forwarded copies (DSN on give-up, SRS return path) ----


def forward_all_to(api, user_id: str, target: str) -> None:
    ok(api.post(f"/users/{user_id}/filters", json={"query_from": "remote.test", "action_forward": target}))


def test_given_up_forward_bounces_to_the_original_sender(server, api, create_user, sink):
    """A forwarded copy the relay refuses for good is given up, and the original sender gets a
    delivery status notification (RFC 3464) from the null sender."""
    user = create_user()
    target = f"reject-{secrets.token_hex(4)}@elsewhere.test"
    forward_all_to(api, user.id, target)
    s = sender()
    lmtp_send(server, s, user.address, make_message(sender=s, to=user.address, subject="to be bounced"))
    [(mail_from, rcpts, raw)] = sink.wait_to(s)
    assert mail_from in ("", "<>")
    assert [r.lower() for r in rcpts] == [s.lower()]
    report = parse(raw)
    assert report.get_content_type() == "multipart/report"
    assert report.get_param("report-type") == "delivery-status"
    assert report["Auto-Submitted"] == "auto-replied"
    text, status, headers = report.get_payload()
    assert target in text.get_content()
    assert status.get_content_type() == "message/delivery-status"
    status_text = raw.decode()
    assert f"Final-Recipient: rfc822; {target}" in status_text
    assert "Action: failed" in status_text and "Status: 5.1.1" in status_text
    assert headers.get_content_type() == "text/rfc822-headers"
    assert "Subject: to be bounced" in status_text
    # The refused copy itself never reached anyone, and the bounce is not bounced again.
    assert sink.to(target) == []


def test_mail_to_our_srs_address_goes_back_to_the_sender(server, api, create_user, sink):
    """A bounce sent by a later hop to the SRS envelope sender of a forwarded copy is
    accepted and passed back to the original sender; a forged SRS address is refused."""
    user = create_user()
    target = f"fwd-{secrets.token_hex(4)}@elsewhere.test"
    forward_all_to(api, user.id, target)
    s = sender()
    lmtp_send(server, s, user.address, make_message(sender=s, to=user.address, subject="forward me"))
    [(srs_address, _, _)] = sink.wait_to(target)
    assert srs_address.upper().startswith("SRS0="), srs_address
    bounce = make_message(sender="MAILER-DAEMON@elsewhere.test", to=srs_address, subject="Undelivered")
    client = smtplib.LMTP("127.0.0.1", server.lmtp_port, timeout=30)
    try:
        client.ehlo("mx.elsewhere.test")
        assert client.mail("<>")[0] == 250
        assert client.rcpt(srs_address)[0] == 250
        # the hash covers the original address: change one letter of it and it is not ours
        local, domain = srs_address.rsplit("@", 1)
        forged = local[:-1] + ("x" if local[-1] != "x" else "y") + "@" + domain
        assert client.rcpt(forged)[0] == 550
        code, _ = client.data(bounce)
        assert code == 250
    finally:
        client.quit()
    [(mail_from, rcpts, raw)] = sink.wait_to(s)
    assert mail_from in ("", "<>")
    assert [r.lower() for r in rcpts] == [s.lower()]
    assert raw.endswith(bounce)
