"""Forwarded addresses (`POST /addresses/forwarded`, `GET|PUT|DELETE
/addresses/forwarded/{address}`), every answer checked against WildDuck's OpenAPI document;
and what they do over LMTP: mail to one is forwarded to its targets through the relay queue
(an aiosmtpd sink here) with an SRS envelope sender, counted against its own 24 h limit,
answered by its own autoreply; a disabled one accepts and forwards nothing; an address is a
user's or forwarded, never both; a domain alias reaches a forwarded address too."""

from __future__ import annotations

import secrets
import smtplib

import pytest

from delivery_helpers import RawSmtp
from harness import Instances
from helpers import UNKNOWN_ID, create_user, make_message, unique
from test_outbound import Sink, relay_env
from wildduck_schema import check

TOKEN = "a-long-random-access-token-for-forwarded-tests"
ONE = "/addresses/forwarded/{address}"


@pytest.fixture(scope="module")
def sink():
    s = Sink().start()
    yield s
    s.stop()


@pytest.fixture(scope="module")
def server(tmp_path_factory, engine, sink):
    made = Instances(tmp_path_factory, engine)
    srv = made.start(env={**relay_env(sink.port), "SEALPOST_ACCESS_TOKEN": TOKEN})
    yield srv
    alive = srv.alive()
    made.cleanup()
    assert alive, f"the server died during the tests:\n{srv.log()[-4000:]}"


@pytest.fixture
def api(server):
    return server.api(token=TOKEN)


def lmtp(server, mail_from: str, rcpts: list[str], raw: bytes) -> dict:
    with smtplib.LMTP("127.0.0.1", server.lmtp_port, timeout=30) as c:
        c.ehlo("mta.example.org")
        return c.sendmail(mail_from, rcpts, raw)


def address() -> str:
    return f"{unique('fwd')}@{unique('d')}.example"


def test_create_get_update_delete(api):
    addr = address()
    body = {"address": addr, "name": "Sales", "targets": ["one@remote.test", "two@remote.test"], "forwards": 50,
            "tags": ["Red", "blue"], "metaData": {"a": 1}, "internalData": '{"b": 2}',
            "autoreply": {"subject": "Away", "text": "Back soon"}}
    created = check("post", "/addresses/forwarded", api.post("/addresses/forwarded", json=body), 200)
    got = check("get", ONE, api.get(f"/addresses/forwarded/{created['id']}"), 200)
    assert (got["id"], got["address"], got["name"]) == (created["id"], addr, "Sales")
    assert got["targets"] == ["one@remote.test", "two@remote.test"]
    assert got["limits"]["forwards"] == {"allowed": 50, "used": 0, "ttl": 0}
    assert got["autoreply"] == {"status": True, "name": "", "subject": "Away", "text": "Back soon", "html": ""}
    assert got["tags"] == ["red", "blue"] and got["metaData"] == {"a": 1} and got["internalData"] == {"b": 2}
    assert got["forwardedDisabled"] is False and got["created"].endswith("Z")
    new = address()
    check("put", "/addresses/forwarded/{id}", api.put(f"/addresses/forwarded/{created['id']}", json={
        "address": new, "targets": ["three@remote.test"], "forwardedDisabled": True, "autoreply": {"status": False},
        "metaData": {"c": 3}}), 200)
    got = check("get", ONE, api.get(f"/addresses/forwarded/{created['id']}"), 200)
    assert got["address"] == new and got["targets"] == ["three@remote.test"] and got["forwardedDisabled"] is True
    assert got["autoreply"]["status"] is False and got["autoreply"]["subject"] == "Away"
    assert got["metaData"] == {"c": 3} and got["name"] == "Sales"
    check("delete", ONE, api.delete(f"/addresses/forwarded/{created['id']}"), 200)
    for r in (api.get(f"/addresses/forwarded/{created['id']}"), api.delete(f"/addresses/forwarded/{created['id']}"),
              api.put(f"/addresses/forwarded/{created['id']}", json={"name": "x"})):
        assert check("get", ONE, r, 404)["code"] == "AddressNotFound"


def test_validation(api):
    for body in ({}, {"address": "not an address"}, {"address": address(), "targets": ["smtp://mx.example:25"]},
                 {"address": address(), "targets": ["https://example.com/hook"]}, {"address": "*@wild.example"},
                 {"address": address(), "allowWildcard": True}, {"address": address(), "forwards": -1},
                 {"address": address(), "metaData": "[1, 2]"}, {"address": address(), "targets": "nobody"}):
        r = check("post", "/addresses/forwarded", api.post("/addresses/forwarded", json=body), 400)
        assert r["code"] == "InputValidationError", (body, r)
    assert check("get", ONE, api.get("/addresses/forwarded/not-an-id"), 400)["code"] == "InputValidationError"
    assert check("get", ONE, api.get(f"/addresses/forwarded/{UNKNOWN_ID}"), 404)["code"] == "AddressNotFound"


def test_an_address_is_a_users_or_forwarded(api):
    user = create_user(api)
    r = check("post", "/addresses/forwarded", api.post("/addresses/forwarded", json={"address": user.address.upper()}), 400)
    assert r["code"] == "AddressExistsError"
    addr = address()
    fid = check("post", "/addresses/forwarded", api.post("/addresses/forwarded", json={"address": addr}), 200)["id"]
    assert check("post", "/addresses/forwarded", api.post("/addresses/forwarded", json={"address": addr}), 400)["code"] == "AddressExistsError"
    r = api.post(f"/users/{user.id}/addresses", json={"address": addr})
    assert r.status_code == 400 and r.json()["code"] == "AddressExistsError", r.text
    other = check("post", "/addresses/forwarded", api.post("/addresses/forwarded", json={"address": address()}), 200)["id"]
    r = check("put", "/addresses/forwarded/{id}", api.put(f"/addresses/forwarded/{other}", json={"address": addr}), 400)
    assert r["code"] == "AddressExistsError"
    r = check("put", "/addresses/forwarded/{id}", api.put(f"/addresses/forwarded/{other}", json={"address": user.address}), 400)
    assert r["code"] == "AddressExistsError"
    check("delete", ONE, api.delete(f"/addresses/forwarded/{fid}"), 200)


def test_mail_is_forwarded_with_srs_and_autoreply(api, server, sink):
    addr = address()
    t1, t2 = f"{unique('t')}@remote.test", f"{unique('t')}@remote.test"
    fid = check("post", "/addresses/forwarded", api.post("/addresses/forwarded", json={
        "address": addr, "name": "Sales Team", "targets": [t1, t2],
        "autoreply": {"subject": "Thanks", "text": "We will answer soon."}}), 200)["id"]
    sender = f"alice{secrets.token_hex(4)}@origin.test"
    # Named twice in one transaction: one copy (and one LMTP reply per RCPT).
    raw = RawSmtp(server.lmtp_port)
    assert raw.reply()[0] == 220
    raw.send(f"LHLO mta.example.org\r\nMAIL FROM:<{sender}>\r\nRCPT TO:<{addr}>\r\nRCPT TO:<{addr.upper()}>\r\nDATA\r\n".encode())
    assert [c for c, _ in raw.replies(5)] == [250, 250, 250, 250, 354]
    raw.send(make_message(subject="for sales", to=addr) + b".\r\n")
    assert [c for c, _ in raw.replies(2)] == [250, 250]
    raw.close()
    copies = sink.wait_to(t1)
    assert len(copies) == 1
    mail_from, rcpts, raw = copies[0]
    assert sorted(rcpts) == sorted([t1, t2])
    assert mail_from.upper().startswith("SRS0=") and "origin.test" in mail_from
    assert b"Subject: for sales" in raw and f"for <{addr}>".encode() in raw.replace(b"\r\n\t", b" ")
    replies = sink.wait_to(sender)
    assert len(replies) == 1
    assert replies[0][0] in ("", "<>") and b"Subject: Auto: Thanks" in replies[0][2] and b"Auto-Submitted: auto-replied" in replies[0][2]
    got = check("get", ONE, api.get(f"/addresses/forwarded/{fid}"), 200)
    assert got["limits"]["forwards"]["used"] == 2 and 0 < got["limits"]["forwards"]["ttl"] <= 86400
    # A second message: forwarded again, but answered once per interval.
    assert lmtp(server, sender, [addr], make_message(subject="again")) == {}
    assert len(sink.wait_to(t1, count=2)) == 2
    assert len(sink.to(sender)) == 1


def test_limit_and_disabled(api, server, sink):
    addr = address()
    target = f"{unique('lim')}@remote.test"
    fid = check("post", "/addresses/forwarded", api.post("/addresses/forwarded", json={
        "address": addr, "targets": [target], "forwards": 1}), 200)["id"]
    assert lmtp(server, "a@origin.test", [addr], make_message(subject="first")) == {}
    assert len(sink.wait_to(target)) == 1
    # Over the limit: refused after DATA, temporarily (the next 24 hours may allow it).
    with pytest.raises(smtplib.SMTPDataError) as refused:
        lmtp(server, "a@origin.test", [addr], make_message(subject="second"))
    assert refused.value.smtp_code == 451
    check("put", "/addresses/forwarded/{id}", api.put(f"/addresses/forwarded/{fid}", json={"forwardedDisabled": True, "forwards": 10}), 200)
    assert lmtp(server, "a@origin.test", [addr], make_message(subject="while disabled")) == {}
    check("put", "/addresses/forwarded/{id}", api.put(f"/addresses/forwarded/{fid}", json={"forwardedDisabled": False}), 200)
    assert lmtp(server, "a@origin.test", [addr], make_message(subject="enabled again")) == {}
    got = sink.wait_to(target, count=2)
    assert [m for m in got if b"enabled again" in m[2]]
    assert not [m for m in sink.to(target) if b"while disabled" in m[2] or b"second" in m[2]]


def test_alias_domain_reaches_a_forwarded_address(api, server, sink):
    domain, alias = f"{unique('fd')}.example", f"{unique('fa')}.example"
    local = unique("info")
    target = f"{unique('al')}@remote.test"
    check("post", "/addresses/forwarded", api.post("/addresses/forwarded", json={"address": f"{local}@{domain}", "targets": [target]}), 200)
    check("post", "/domainaliases", api.post("/domainaliases", json={"alias": alias, "domain": domain}), 200)
    assert lmtp(server, "b@origin.test", [f"{local}@{alias}"], make_message(subject="via the alias")) == {}
    assert [m for m in sink.wait_to(target) if b"via the alias" in m[2]]


def test_resolve_user_and_forwarded_addresses(api):
    resolve = "/addresses/resolve/{address}"
    domain, alias = f"{unique('rd')}.example", f"{unique('ra')}.example"
    name = unique("carol")
    user = create_user(api, address=f"{name}@{domain}", name="Carol")
    check("post", "/domainaliases", api.post("/domainaliases", json={"alias": alias, "domain": domain}), 200)
    by_address = check("get", resolve, api.get(f"/addresses/resolve/{name.upper()}@{domain}"), 200)
    assert by_address["user"] == user.id and by_address["address"] == f"{name}@{domain}" and by_address["name"] == "Carol"
    assert by_address["limits"]["forwards"]["allowed"] > 0 and by_address["autoreply"] == {"status": False}
    assert "targets" not in by_address
    # By id, and through the alias domain.
    assert check("get", resolve, api.get(f"/addresses/resolve/{by_address['id']}"), 200)["user"] == user.id
    assert check("get", resolve, api.get(f"/addresses/resolve/{name}@{alias}"), 200)["id"] == by_address["id"]
    addr = address()
    fid = check("post", "/addresses/forwarded", api.post("/addresses/forwarded", json={
        "address": addr, "name": "Desk", "targets": ["x@remote.test"], "tags": ["t1"]}), 200)["id"]
    for key in (addr, fid):
        f = check("get", resolve, api.get(f"/addresses/resolve/{key}"), 200)
        assert f["id"] == fid and f["targets"] == ["x@remote.test"] and f["tags"] == ["t1"] and "user" not in f
    for missing in (UNKNOWN_ID, f"nobody@{domain}", "not-an-address"):
        assert check("get", resolve, api.get(f"/addresses/resolve/{missing}"), 404)["code"] == "AddressNotFound"


@pytest.mark.parametrize("credential", ["none", "wrong", "right"])
def test_every_operation_needs_the_access_token(server, credential):
    api = server.api(token={"none": None, "wrong": "nope", "right": TOKEN}[credential])
    calls = [
        lambda: api.post("/addresses/forwarded", json={"address": address()}),
        lambda: api.get(f"/addresses/forwarded/{UNKNOWN_ID}"),
        lambda: api.put(f"/addresses/forwarded/{UNKNOWN_ID}", json={"name": "x"}),
        lambda: api.delete(f"/addresses/forwarded/{UNKNOWN_ID}"),
        lambda: api.get(f"/addresses/resolve/{UNKNOWN_ID}"),
    ]
    for call in calls:
        r = call()
        if credential == "right":
            assert r.status_code in (200, 404), r.text
        else:
            assert r.status_code == 403 and r.json()["code"] == "InvalidToken", r.text
