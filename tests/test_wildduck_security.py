"""Today's WildDuck account-security operations (issue 17): one application password
(`GET /users/{user}/asps/{asp}`), a chosen password, temporary passwords (`ttl`, renewed by
each use, `showAll`), the profile's `address`/`name`, `lastUse` with the login's log entry,
`GET /users/{user}/authlog/{event}`, and custom 2FA (`PUT|DELETE /users/{user}/2fa/custom`:
the account password stops working for IMAP while application passwords go on). Answers
are checked against WildDuck's OpenAPI document; logins go over real IMAP."""

from __future__ import annotations

import base64
import plistlib
import time

import pytest

from helpers import UNKNOWN_ID, err, invalid, ok, unique, imap_login
from imap_client import Raw
from wildduck_schema import check




def new_asp(api, user, **body):
    body.setdefault("description", "Mail client")
    return ok(api.post(f"/users/{user.id}/asps", json=body))


# ---- one application password, lastUse, the log entry ----


def test_get_one_asp_with_last_use_and_its_log_event(api, server, user, create_user):
    asp = new_asp(api, user, description="Laptop", scopes=["imap", "smtp"])
    got = ok(api.get(f"/users/{user.id}/asps/{asp['id']}"))
    assert got["id"] == asp["id"] and got["description"] == "Laptop"
    assert got["scopes"] == ["imap", "smtp"]
    assert got["lastUse"] == {}, "never used yet"
    assert "password" not in got
    assert imap_login(server, user.username, asp["password"])
    used = ok(api.get(f"/users/{user.id}/asps/{asp['id']}"))
    assert used["lastUse"]["time"].endswith("Z")
    event_id = used["lastUse"]["event"]
    event = check("get", "/users/{user}/authlog/{event}", api.get(f"/users/{user.id}/authlog/{event_id}"), 200)
    assert event["id"] == event_id
    assert (event["action"], event["result"], event["protocol"]) == ("authentication", "success", "IMAP")
    assert event["asp"] == asp["id"] and event["source"] == "asp" and event["requiredScope"] == "imap"
    assert event["events"] == 1 and event["last"] == event["created"]
    # The listing carries the same entry with the same fields.
    listed = ok(api.get(f"/users/{user.id}/authlog"))
    assert any(e["id"] == event_id and e["source"] == "asp" for e in listed["results"])

    # Unknown ids, and another user's objects, are not found.
    other = create_user()
    err(api.get(f"/users/{user.id}/asps/{UNKNOWN_ID}"), 404, "AspNotFound")
    err(api.get(f"/users/{other.id}/asps/{asp['id']}"), 404, "AspNotFound")
    err(api.get(f"/users/{UNKNOWN_ID}/asps/{asp['id']}"), 404, "UserNotFound")
    err(api.get(f"/users/{user.id}/authlog/{UNKNOWN_ID}"), 404, "EventNotFound")
    err(api.get(f"/users/{other.id}/authlog/{event_id}"), 404, "EventNotFound")
    invalid(api.get(f"/users/{user.id}/asps/nothex"))
    invalid(api.get(f"/users/{user.id}/authlog/nothex"))


def test_master_login_event_source(api, server, user):
    assert imap_login(server, user.username, user.password)
    log = ok(api.get(f"/users/{user.id}/authlog", params={"action": "authentication"}))
    (latest, *_) = log["results"]
    assert latest["source"] == "master" and latest["requiredScope"] == "imap" and "asp" not in latest
    check("get", "/users/{user}/authlog/{event}", api.get(f"/users/{user.id}/authlog/{latest['id']}"), 200)


# ---- a chosen password ----


def test_chosen_password(api, server, user):
    chosen = "abcdefghijklmnop"
    asp = new_asp(api, user, password=chosen, scopes=["imap"])
    assert asp["password"] == chosen
    assert imap_login(server, user.username, "abcd efgh ijkl mnop")
    for bad in ["abcdefghijklmno", "abcdefghijklmnop1", "abcdefgh1jklmnop", "äbcdefghijklmnop"]:
        e = invalid(api.post(f"/users/{user.id}/asps", json={"description": "x", "password": bad}))
        assert "password" in e.get("details", {}), e


# ---- temporary passwords ----


def test_temporary_password_expires_unless_used(api, server, user):
    lasting = new_asp(api, user, description="Lasting")
    temporary = new_asp(api, user, description="Temporary", ttl=8, scopes=["imap"])
    # Left out of the listing unless showAll, as WildDuck does.
    listed = ok(api.get(f"/users/{user.id}/asps"))["results"]
    assert [a["id"] for a in listed] == [lasting["id"]]
    assert "expires" not in listed[0], "a lasting password has no expiry"
    everything = ok(api.get(f"/users/{user.id}/asps", params={"showAll": "true"}))["results"]
    assert [a["id"] for a in everything] == [lasting["id"], temporary["id"]]
    got = check("get", "/users/{user}/asps/{asp}", api.get(f"/users/{user.id}/asps/{temporary['id']}"), 200)
    expires_before = got["expires"]
    assert imap_login(server, user.username, temporary["password"])
    # Each use moves the expiry ttl seconds on.
    renewed = ok(api.get(f"/users/{user.id}/asps/{temporary['id']}"))["expires"]
    assert renewed >= expires_before
    time.sleep(10)
    assert not imap_login(server, user.username, temporary["password"]), "expired"
    err(api.get(f"/users/{user.id}/asps/{temporary['id']}"), 404, "AspNotFound")
    assert imap_login(server, user.username, lasting["password"])
    for bad in [-1, "soon", 10**12]:
        invalid(api.post(f"/users/{user.id}/asps", json={"description": "x", "ttl": bad}))


# ---- the profile's account ----


def test_profile_for_another_address_and_pop3(api, create_user):
    user = create_user(name="Ann Example")
    second = f"{unique('second')}@example.org"
    ok(api.post(f"/users/{user.id}/addresses", json={"address": second}))
    made = check("post", "/users/{user}/asps", api.post(f"/users/{user.id}/asps", json={
        "description": "Phone", "scopes": ["pop3", "smtp"], "generateMobileconfig": True,
        "address": second.upper()}), 200)
    assert made["address"] == second and made["name"] == "Ann Example"
    profile = plistlib.loads(base64.b64decode(made["mobileconfig"]))
    (mail,) = profile["PayloadContent"]
    assert mail["EmailAddress"] == second
    assert mail["EmailAccountType"] == "EmailTypePOP"
    assert mail["EmailAccountName"] == "Ann Example"
    # The main address by default; without a profile only id and password come back.
    plain = ok(api.post(f"/users/{user.id}/asps", json={"description": "x"}))
    assert set(plain) == {"success", "id", "password"}
    err(api.post(f"/users/{user.id}/asps", json={"description": "x", "generateMobileconfig": True,
                                                 "address": "nobody@example.net"}), 404, "AddressNotFound")
    other = create_user()
    err(api.post(f"/users/{user.id}/asps", json={"description": "x", "generateMobileconfig": True,
                                                 "address": other.address}), 404, "AddressNotFound")


@pytest.mark.xfail(strict=True, reason="WildDuck's code leaves expires out for a lasting password; its document marks it required")
def test_lasting_asp_schema(api, user):
    asp = new_asp(api, user)
    check("get", "/users/{user}/asps/{asp}", api.get(f"/users/{user.id}/asps/{asp['id']}"), 200)


# ---- custom 2FA ----


def test_custom_2fa(api, server, user):
    asp = new_asp(api, user, scopes=["imap"])
    session = Raw(server.imap_port)
    session.login(user)
    try:
        check("put", "/users/{user}/2fa/custom", api.put(f"/users/{user.id}/2fa/custom", json={"ip": "192.0.2.1"}), 200)
        # The user had no 2FA: its open sessions are closed.
        assert session.line().startswith(b"* BYE ")
    finally:
        session.close()
    assert ok(api.get(f"/users/{user.id}"))["enabled2fa"] == ["custom"]
    assert not imap_login(server, user.username, user.password)
    assert imap_login(server, user.username, asp["password"])
    auth = ok(api.post("/authenticate", json={"username": user.username, "password": user.password, "scope": "master"}))
    assert auth["require2fa"] == ["custom"]
    err(api.post("/authenticate", json={"username": user.username, "password": user.password, "scope": "imap"}), 403)
    err(api.put(f"/users/{user.id}/2fa/custom", json={}), 400, "CustomEnabled")
    actions = [e["action"] for e in ok(api.get(f"/users/{user.id}/authlog"))["results"]]
    assert "enable 2fa custom" in actions

    check("delete", "/users/{user}/2fa/custom", api.delete(f"/users/{user.id}/2fa/custom"), 200)
    assert ok(api.get(f"/users/{user.id}"))["enabled2fa"] == []
    assert imap_login(server, user.username, user.password)
    err(api.delete(f"/users/{user.id}/2fa/custom"), 400, "CustomDisabled")

    # DELETE /2fa turns every method off, custom included.
    ok(api.put(f"/users/{user.id}/2fa/custom", json={}))
    ok(api.delete(f"/users/{user.id}/2fa"))
    assert ok(api.get(f"/users/{user.id}"))["enabled2fa"] == []
    assert imap_login(server, user.username, user.password)
    err(api.put(f"/users/{UNKNOWN_ID}/2fa/custom", json={}), 404, "UserNotFound")
    err(api.delete(f"/users/{UNKNOWN_ID}/2fa/custom"), 404, "UserNotFound")
