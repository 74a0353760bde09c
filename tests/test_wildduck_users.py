"""Today's WildDuck users API (issue 17, directory half): every user field stored and returned,
`GET /users/resolve/{username}`, WildDuck's username rule, deletion with `deleteAfter` and
restore, `POST /quota/reset`, and ids that sort in creation order. Every answer is checked
against WildDuck's OpenAPI document (`wildduck_schema.check`); side effects over IMAP/LMTP.
"""

import imaplib
import smtplib
from datetime import datetime, timedelta, timezone

from helpers import PASSWORD, inbox, list_messages, mailboxes, unique
from wildduck_schema import check


def get_user(api, uid):
    """GET /users/{user}, checked. The document types `keyInfo` as an object but describes it
    as "Information about public key or false if key is not available", and WildDuck answers
    `false` without a key: that one value is checked as the description says, the rest of
    the answer against the schema."""
    r = api.get(f"/users/{uid}")
    body = r.json()
    if body.get("keyInfo") is False:
        stub = dict(body, keyInfo={"name": "", "address": "", "fingerprint": ""})
        check("get", "/users/{user}", (r.status_code, stub), 200)
        return body
    return check("get", "/users/{user}", r, 200)


def test_every_field_stored_and_returned(api):
    username = unique("every")
    body = {
        "username": username,
        "password": PASSWORD,
        "name": "Every Field",
        "targets": ["copy@example.org", "https://hooks.example.org/mail"],
        "spamLevel": 80,
        "filters": 20,
        "imapMaxUpload": 1000,
        "imapMaxDownload": 2000,
        "imapMaxConnections": 5,
        "pop3MaxDownload": 3000,
        "pop3MaxMessages": 100,
        "receivedMax": 60,
        "requirePasswordChange": True,
        "allowUnsafe": False,
        "uploadSentMessages": True,
        "mtaRelay": "smtp://relay.example.org:25",
        "metaData": {"plan": "gold", "n": 3},
        "internalData": '{"crm": 42}',
        "mailboxes": {"sent": "Outbox", "trash": "Bin"},
    }
    created = check("post", "/users", api.post("/users", json=body), 200)
    data = get_user(api, created["id"])
    assert data["targets"] == ["copy@example.org", "https://hooks.example.org/mail"]
    assert data["spamLevel"] == 80
    assert data["metaData"] == {"plan": "gold", "n": 3}
    assert data["internalData"] == {"crm": 42}
    assert data["requirePasswordChange"] is True
    assert data["allowUnsafe"] is False and data["uploadSentMessages"] is True
    assert data["mtaRelay"] == "smtp://relay.example.org:25"
    limits = data["limits"]
    assert limits["filters"] == {"allowed": 20, "used": 0}
    assert limits["received"]["allowed"] == 60
    assert limits["imapUpload"]["allowed"] == 1000
    assert limits["imapDownload"]["allowed"] == 2000
    assert limits["pop3Download"]["allowed"] == 3000
    assert limits["imapMaxConnections"] == {"allowed": 5, "used": 0}
    assert data["pop3MaxMessages"] == 100
    assert data["autoreply"] is False
    paths = {m["specialUse"]: m["path"] for m in mailboxes(api, created["id"]) if m.get("specialUse")}
    assert paths["\\Sent"] == "Outbox" and paths["\\Trash"] == "Bin"
    assert paths["\\Junk"] == "Junk"

    # Listing: targets, enabled2fa, autoreply; metaData/internalData only when asked for.
    listed = check("get", "/users", api.get("/users", params={"query": username}), 200)["results"]
    assert listed[0]["targets"] == data["targets"] and "metaData" not in listed[0]
    listed = check(
        "get", "/users", api.get("/users", params={"query": username, "metaData": "true", "internalData": "true"}), 200
    )["results"]
    assert listed[0]["metaData"] == {"plan": "gold", "n": 3} and listed[0]["internalData"] == {"crm": 42}

    # Update: only what is given changes.
    check(
        "put",
        "/users/{user}",
        api.put(f"/users/{created['id']}", json={"spamLevel": 10, "targets": [], "metaData": {"plan": "free"}}),
        200,
    )
    data = get_user(api, created["id"])
    assert data["spamLevel"] == 10 and data["targets"] == [] and data["metaData"] == {"plan": "free"}
    assert data["internalData"] == {"crm": 42} and data["limits"]["received"]["allowed"] == 60


def test_profile_fields_refused(api, create_user):
    u = create_user()
    for body, field in [
        ({"spamLevel": 101}, "spamLevel"),
        ({"targets": ["smtp://mx.example.org:25"]}, "targets"),
        ({"targets": ["not an address"]}, "targets"),
        ({"metaData": "[1, 2]"}, "metaData"),
        ({"metaData": 5}, "metaData"),
        ({"receivedMax": -1}, "receivedMax"),
    ]:
        r = api.put(f"/users/{u.id}", json=body)
        e = check("put", "/users/{user}", r, 400)
        assert e["code"] == "InputValidationError", (body, e)
    assert get_user(api, u.id)["spamLevel"] == 50


def test_require_password_change_is_answered_at_login(api, create_user):
    u = create_user(requirePasswordChange=True)
    auth = api.post("/authenticate", json={"username": u.username, "password": PASSWORD})
    assert auth.json()["requirePasswordChange"] is True
    check("put", "/users/{user}", api.put(f"/users/{u.id}", json={"password": "a new password 1"}), 200)
    assert get_user(api, u.id)["requirePasswordChange"] is False


def test_targets_forward_a_delivered_copy(instances):
    # The user's targets get a copy through the outbound queue and relay (an aiosmtpd sink).
    from test_outbound import Sink, relay_env

    sink = Sink().start()
    try:
        srv = instances.start(env=relay_env(sink.port))
        api = srv.api()
        username = unique("targets")
        target = f"{unique('far')}@example.org"
        created = check("post", "/users", api.post("/users", json={
            "username": username, "password": PASSWORD, "targets": [target]}), 200)
        client = smtplib.LMTP("127.0.0.1", srv.lmtp_port, timeout=30)
        try:
            client.sendmail("sender@example.net", [f"{username}@example.test"],
                            b"From: sender@example.net\r\nSubject: fwd me\r\n\r\nforward this\r\n")
        finally:
            client.quit()
        got = sink.wait_to(target, count=1)
        assert len(got) == 1 and b"forward this" in got[0][2], got
        # And the user keeps its own copy.
        box = inbox(api, created["id"])
        assert [m["subject"] for m in list_messages(api, created["id"], box)["results"]] == ["fwd me"]
    finally:
        sink.stop()


def test_spam_level_zero_files_everything_in_junk(api, create_user, server):
    u = create_user(spamLevel=0)
    client = smtplib.LMTP("127.0.0.1", server.lmtp_port, timeout=30)
    try:
        client.sendmail("sender@example.net", [f"{u.username}@example.test"],
                        b"From: sender@example.net\r\nSubject: clean\r\n\r\nhello\r\n")
    finally:
        client.quit()
    junk = [m for m in mailboxes(api, u.id) if m.get("specialUse") == "\\Junk"][0]
    assert [m["subject"] for m in list_messages(api, u.id, junk["id"])["results"]] == ["clean"]
    assert list_messages(api, u.id, inbox(api, u.id))["results"] == []


def test_resolve_username(api, create_user):
    u = create_user()
    got = check("get", "/users/resolve/{username}", api.get(f"/users/resolve/{u.username}"), 200)
    assert got["id"] == u.id
    got = check("get", "/users/resolve/{username}", api.get(f"/users/resolve/{u.username.upper()}"), 200)
    assert got["id"] == u.id
    e = check("get", "/users/resolve/{username}", api.get("/users/resolve/nobody-here-at-all"), 404)
    assert e["code"] == "UserNotFound"


def test_username_rule(api):
    for bad in ["john.", ".john", "jo..hn", "a*b", "with space", "jo.@example.com"]:
        e = check("post", "/users", api.post("/users", json={"username": bad, "password": PASSWORD}), 400)
        assert e["code"] == "InputValidationError", bad
    for good in [unique("dash-x_y+z"), f"{unique('mail')}@example.org"]:
        check("post", "/users", api.post("/users", json={"username": good, "password": PASSWORD}), 200)


def test_ids_sort_in_creation_order(api):
    ids = [
        check("post", "/users", api.post("/users", json={"username": unique("order"), "password": PASSWORD}), 200)["id"]
        for _ in range(12)
    ]
    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)


def test_delete_after_and_restore(api, create_user, server):
    u = create_user()
    address = f"{u.username}@example.test"
    extra = f"{u.username}.extra@example.test"
    check("post", "/users/{user}/addresses", api.post(f"/users/{u.id}/addresses", json={"address": extra}), 200)
    after = (datetime.now(timezone.utc) + timedelta(days=3)).isoformat()
    gone = check("delete", "/users/{user}", api.delete(f"/users/{u.id}", params={"deleteAfter": after}), 200)
    assert gone["code"] == "TaskScheduled" and gone["user"] == u.id
    assert gone["addresses"]["deleted"] == 2

    # Gone from the registry: not found, not listed, cannot log in, the address is free.
    assert check("get", "/users/{user}", api.get(f"/users/{u.id}"), 404)["code"] == "UserNotFound"
    assert check("get", "/users/resolve/{username}", api.get(f"/users/resolve/{u.username}"), 404)
    imap = imaplib.IMAP4("127.0.0.1", server.imap_port, timeout=30)
    try:
        try:
            imap.login(u.username, PASSWORD)
            raise AssertionError("a deleted user logged in")
        except imaplib.IMAP4.error:
            pass
    finally:
        imap.shutdown()
    # Someone takes the extra address meanwhile.
    other = create_user()
    check("post", "/users/{user}/addresses", api.post(f"/users/{other.id}/addresses", json={"address": extra}), 200)

    info = check("get", "/users/{user}/restore", api.get(f"/users/{u.id}/restore"), 200)
    assert info["username"] == u.username and info["user"] == u.id
    assert info["recoverableAddresses"] == [address]

    back = check("post", "/users/{user}/restore", api.post(f"/users/{u.id}/restore", json={}), 200)
    assert back["addresses"] == {"recovered": 1, "main": address}
    data = get_user(api, u.id)
    assert data["address"] == address
    # Logs in over IMAP again.
    imap = imaplib.IMAP4("127.0.0.1", server.imap_port, timeout=30)
    try:
        assert imap.login(u.username, PASSWORD)[0] == "OK"
    finally:
        imap.logout()
    # Not deleted any more: nothing to restore.
    e = check("get", "/users/{user}/restore", api.get(f"/users/{u.id}/restore"), 404)
    assert e["code"] == "UserNotFound"


def test_restore_refused_when_the_username_was_taken(api, create_user):
    u = create_user()
    after = (datetime.now(timezone.utc) + timedelta(days=1)).isoformat()
    check("delete", "/users/{user}", api.delete(f"/users/{u.id}", params={"deleteAfter": after}), 200)
    check("post", "/users", api.post("/users", json={"username": u.username, "password": PASSWORD,
                                                      "emptyAddress": True}), 200)
    e = check("post", "/users/{user}/restore", api.post(f"/users/{u.id}/restore", json={}), 400)
    assert e["code"] == "UserExistsError"


def test_delete_now(api, create_user):
    u = create_user()
    gone = check("delete", "/users/{user}", api.delete(f"/users/{u.id}"), 200)
    assert gone["addresses"]["deleted"] == 1
    assert check("get", "/users/{user}/restore", api.get(f"/users/{u.id}/restore"), 404)
    e = check("delete", "/users/{user}", api.delete(f"/users/{u.id}", params={"deleteAfter": "soon"}), 400)
    assert e["code"] == "InputValidationError"


def test_quota_reset_all(api, create_user):
    u = create_user()
    started = check("post", "/quota/reset", api.post("/quota/reset", json={}), 200)
    assert len(started["task"]) == 24
    assert get_user(api, u.id)["limits"]["quota"]["used"] == 0
