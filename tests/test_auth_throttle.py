"""The failed-authentication throttle that spans every protocol (`[auth]`): a thousand wrong
passwords from one address get it refused there, written to the auth log as `throttled`,
while the right user with the right password from another address still logs in; and
failures over IMAP and POP3 count together with the REST API's."""

from __future__ import annotations

import poplib

from helpers import create_user, err, ok, imap_login


def authenticate(api, username, password, ip, scope="master"):
    return api.post("/authenticate", json={"username": username, "password": password, "scope": scope, "ip": ip})




def pop3_login(server, username, password) -> bool:
    client = poplib.POP3("127.0.0.1", server.pop3_port, timeout=30)
    try:
        client.user(username)
        client.pass_(password)
        return True
    except poplib.error_proto:
        return False
    finally:
        try:
            client.quit()
        except Exception:
            pass


def test_a_thousand_wrong_passwords(api, server, create_user):
    victim = create_user()
    attacker_ip, owner_ip = "198.51.100.7", "203.0.113.9"
    statuses = {}
    for i in range(1000):
        r = authenticate(api, victim.username, f"wrong-{i}", attacker_ip)
        statuses[r.status_code] = statuses.get(r.status_code, 0) + 1
        if r.status_code == 429:
            assert r.json()["code"] == "RateLimitedError", r.json()
    # The default of 20 failures for a name from one address: the rest is refused unchecked.
    assert statuses == {403: 20, 429: 980}, statuses
    # Even the right password is refused from the guessing address ...
    err(authenticate(api, victim.username, victim.password, attacker_ip), 429, "RateLimitedError")
    # ... while the owner, from elsewhere, logs in over the API and over IMAP and POP3.
    assert ok(authenticate(api, victim.username, victim.password, owner_ip))["id"] == victim.id
    assert imap_login(server, victim.username, victim.password)
    assert pop3_login(server, victim.username, victim.password)
    # The auth log shows the throttle kicking in.
    log = ok(api.get(f"/users/{victim.id}/authlog", params={"ip": attacker_ip, "limit": 250}))
    # Newest first: the refusals after the 20 failures (and the right password's).
    assert {e["result"] for e in log["results"]} == {"throttled"}, log["results"][:3]
    assert all(e["ip"] == attacker_ip and e["action"] == "authentication" for e in log["results"])
    assert log["total"] == 1001, log["total"]


def test_failures_count_across_protocols(instances):
    srv = instances.start(env={
        "SEALPOST_AUTH_MAX_FAILURES_PER_IP": "6",
        # The per-service limits out of the way: only the shared throttle acts here.
        "SEALPOST_IMAP_MAX_AUTH_FAILURES_PER_IP": "1000",
        "SEALPOST_IMAP_MAX_AUTH_FAILURES_PER_USER": "1000",
        "SEALPOST_POP3_MAX_AUTH_FAILURES_PER_IP": "1000",
        "SEALPOST_POP3_MAX_AUTH_FAILURES_PER_USER": "1000",
    })
    api = srv.api()
    a, b, c = create_user(api), create_user(api), create_user(api)
    assert imap_login(srv, c.username, c.password)
    for _ in range(3):
        assert not imap_login(srv, a.username, "wrong")
        assert not pop3_login(srv, b.username, "wrong")
    # Six failures from 127.0.0.1 over two protocols: that address is refused everywhere,
    # for every name, even with the right password.
    assert not imap_login(srv, c.username, c.password)
    assert not pop3_login(srv, c.username, c.password)
    err(authenticate(api, c.username, c.password, "127.0.0.1"), 429, "RateLimitedError")
    # Another address is not.
    assert ok(authenticate(api, c.username, c.password, "192.0.2.5"))["id"] == c.id
    log = ok(api.get(f"/users/{c.id}/authlog", params={"ip": "127.0.0.1"}))
    assert {e["result"] for e in log["results"]} >= {"success", "throttled"}, log["results"]
    assert {e.get("protocol") for e in log["results"] if e["result"] == "throttled"} >= {"IMAP", "POP3"}
