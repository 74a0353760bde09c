"""Structured logs (issue 21): `[log] format = "json"` / SEALPOST_LOG_FORMAT=json writes one JSON
object per line (timestamp, level, target, fields, and the session span of a connection's lines);
and no secret reaches the log at any level: a server run at debug level with logins over IMAP,
POP3 and submission (AUTH PLAIN), an API login and the access token in the query string never
writes the password, its base64 form, or the token."""

from __future__ import annotations

import base64
import imaplib
import json
import poplib
import smtplib

import pytest

from helpers import ok, unique

SECRET = "Sup3r-secret-Pa55word!"
TOKEN = "tok-" + "7" * 40


def run_server(instances, env):
    instance = instances.new(env={"SEALPOST_ACCESS_TOKEN": TOKEN, **env})
    server = instance.start()
    api = server.api(token=TOKEN, token_in="query")
    name = unique("log")
    ok(api.post("/users", json={"username": name, "password": SECRET}))
    imap = imaplib.IMAP4("127.0.0.1", server.imap_port, timeout=30)
    imap.login(name, SECRET)
    imap.logout()
    bad = imaplib.IMAP4("127.0.0.1", server.imap_port, timeout=30)
    with pytest.raises(imaplib.IMAP4.error):
        bad.login(name, SECRET + "x")
    bad.logout()
    pop = poplib.POP3("127.0.0.1", server.pop3_port, timeout=30)
    pop.user(name)
    pop.pass_(SECRET)
    pop.quit()
    with smtplib.SMTP("127.0.0.1", server.submission_port, timeout=30) as smtp:
        smtp.ehlo("client.example")
        smtp.login(name, SECRET)
    ok(api.post("/authenticate", json={"username": name, "password": SECRET, "scope": "master"}))
    assert server.stop() == 0
    return server, name


def test_json_lines(instances):
    server, name = run_server(instances, {"SEALPOST_LOG_FORMAT": "json"})
    lines = [line for line in server.log().splitlines() if line.strip()]
    assert lines
    events = []
    for line in lines:
        event = json.loads(line)  # every line is one JSON object
        assert isinstance(event, dict), line
        for key in ("timestamp", "level", "target", "fields"):
            assert key in event, line
        events.append(event)
    messages = [e["fields"].get("message", "") for e in events]
    assert any(m.startswith("imap listening on 127.0.0.1:") for m in messages), messages
    assert any(m.startswith("api listening on 127.0.0.1:") for m in messages), messages
    logins = [e for e in events if e["fields"].get("message") == "login" and e["fields"].get("user") == name]
    assert {e["fields"].get("scope") for e in logins} >= {"imap", "pop3", "smtp", "master"}, logins
    imap_login = next(e for e in logins if e["fields"]["scope"] == "imap")
    # Written inside the connection's span: protocol, client address and a connection id.
    assert imap_login["span"]["protocol"] == "imap" and imap_login["span"]["peer"].startswith("127.0.0.1:")
    assert len(imap_login["span"]["conn"]) == 24
    failed = [e for e in events if e["fields"].get("message") == "imap: failed login"]
    assert failed and failed[0]["level"] == "INFO"


def test_no_secret_at_debug_level(instances):
    server, name = run_server(instances, {"SEALPOST_LOG": "debug"})
    log = server.log()
    assert " DEBUG " in log  # the level did apply
    plain = base64.b64encode(f"\0{name}\0{SECRET}".encode()).decode()
    login = base64.b64encode(SECRET.encode()).decode()
    for secret in (SECRET, plain, login, TOKEN):
        assert secret not in log, f"{secret!r} is in the log"
