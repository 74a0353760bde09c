"""Today's WildDuck filters (issue 17): the nested `query`/`action` objects (with `listId` and
`targets`), `disabled`, `metaData`, the `limits` of a user's listing and `GET /filters` across
users, every answer checked against WildDuck's OpenAPI document; and their effect at
delivery over LMTP (a List-ID match, targets forwarding through the relay and uploading to
an HTTP server of the test)."""

from __future__ import annotations

import json
import smtplib
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from delivery_helpers import wait_for
from harness import free_port
from helpers import UNKNOWN_ID, create_mailbox, err, inbox, invalid, list_messages, make_message, ok, unique
from wildduck_schema import check

SENDER = "lists@sender.example"


def deliver(server, rcpt: str, raw: bytes) -> None:
    with smtplib.LMTP("127.0.0.1", server.lmtp_port, timeout=30) as client:
        client.ehlo("mta.example.org")
        assert client.sendmail(SENDER, [rcpt], raw) == {}


def with_header(raw: bytes, name: str, value: str) -> bytes:
    return f"{name}: {value}\r\n".encode() + raw


def test_nested_create_get_update_and_listing(api, user):
    box = create_mailbox(api, user.id, unique("Lists"))
    body = {
        "name": "Rust list",
        "query": {"listId": "rust-users.lists.example", "ha": False, "size": -100000},
        "action": {"seen": True, "mailbox": box},
        "metaData": {"colour": "red", "n": 3},
    }
    fid = check("post", "/users/{user}/filters", api.post(f"/users/{user.id}/filters", json=body), 200)["id"]
    got = check("get", "/users/{user}/filters/{filter}", api.get(f"/users/{user.id}/filters/{fid}"), 200)
    assert got["query"] == {"listId": "rust-users.lists.example", "ha": False, "size": -100000}
    assert got["action"] == {"seen": True, "mailbox": box}
    assert got["metaData"] == {"colour": "red", "n": 3}
    assert got["disabled"] is False and got["name"] == "Rust list"
    # The older flat fields are answered too.
    assert got["action_seen"] is True and got["action_mailbox"] == box

    # A nested PUT changes what it names; metaData as a JSON string; targets replace.
    target = f"{unique('fwd')}@elsewhere.example"
    ok(api.put(f"/users/{user.id}/filters/{fid}", json={
        "query": {"from": "Announcer"}, "action": {"seen": None, "targets": [target, "https://hooks.example/in"]},
        "metaData": json.dumps({"colour": "blue"}), "disabled": True}))
    got = check("get", "/users/{user}/filters/{filter}", api.get(f"/users/{user.id}/filters/{fid}"), 200)
    assert got["query"]["from"] == "Announcer" and got["query"]["listId"] == "rust-users.lists.example"
    assert got["action"] == {"mailbox": box, "targets": [target, "https://hooks.example/in"]}
    assert got["metaData"] == {"colour": "blue"} and got["disabled"] is True

    listing = check("get", "/users/{user}/filters", api.get(f"/users/{user.id}/filters"), 200)
    assert listing["limits"] == {"allowed": 400, "used": 1}
    (item,) = listing["results"]
    assert item["id"] == fid and item["metaData"] == {"colour": "blue"}
    assert ["list id", "(rust-users.lists.example)"] in item["query"]
    assert ["forward to", target] in item["action"] and ["upload to", "hooks.example"] in item["action"]

    # metaData removed by an empty value.
    ok(api.put(f"/users/{user.id}/filters/{fid}", json={"metaData": ""}))
    assert "metaData" not in ok(api.get(f"/users/{user.id}/filters/{fid}"))


def test_nested_validation(api, user):
    url = f"/users/{user.id}/filters"
    invalid(api.post(url, json={"query": {"from": 5}, "action": {"seen": True}}))
    invalid(api.post(url, json={"query": {"nope": "x"}, "action": {"seen": True}}))
    invalid(api.post(url, json={"query": {"from": "x"}, "action": {"targets": ["not an address"]}}))
    invalid(api.post(url, json={"query": {"from": "x"}, "action": {"targets": ["smtp://mx.example:25"]}}))
    invalid(api.post(url, json={"query": {"from": "x"}, "action": {"targets": 7}}))
    invalid(api.post(url, json={"query": {"from": "x"}, "action": {"seen": True}, "metaData": "[1, 2]"}))
    invalid(api.post(url, json={"query": {"from": "x"}, "action": {"seen": True}, "metaData": "{nope"}))
    invalid(api.post(url, json={"query": {"from": "x"}, "action": {"targets": [f"t{i}@x.example" for i in range(21)]}}))
    invalid(api.post(url, json={"query": {"from": "x"}, "action": {"seen": True}, "metaData": {"x": "y" * 70000}}))
    # A query and an action are still required, in either form.
    invalid(api.post(url, json={"query": {}, "action": {"seen": True}}))
    invalid(api.post(url, json={"query": {"from": "x"}, "action": {}}))


def test_user_filter_limit_is_applied(api, create_user):
    user = create_user(filters=2)
    for i in range(2):
        ok(api.post(f"/users/{user.id}/filters", json={"query": {"subject": f"s{i}"}, "action": {"seen": True}}))
    err(api.post(f"/users/{user.id}/filters", json={"query": {"subject": "x"}, "action": {"seen": True}}), 400, "TooManyFilters")
    assert ok(api.get(f"/users/{user.id}/filters"))["limits"] == {"allowed": 2, "used": 2}


def test_all_filters_across_users(api, create_user):
    marker = unique("hook")
    a, b = create_user(), create_user()
    fa = ok(api.post(f"/users/{a.id}/filters", json={
        "query": {"subject": "x"}, "action": {"targets": [f"https://{marker}.example/a"]}, "metaData": {"k": 1}}))["id"]
    fb = ok(api.post(f"/users/{b.id}/filters", json={
        "query": {"subject": "y"}, "action_forward": f"{marker}@example.net"}))["id"]
    ok(api.post(f"/users/{b.id}/filters", json={"query": {"subject": "z"}, "action": {"seen": True}}))
    first = check("get", "/filters", api.get("/filters", params={"forward": marker.upper(), "limit": 1}), 200)
    assert first["total"] == 2 and len(first["results"]) == 1 and first["nextCursor"]
    second = check("get", "/filters", api.get("/filters", params={
        "forward": marker, "limit": 1, "next": first["nextCursor"], "page": 2}), 200)
    got = first["results"] + second["results"]
    assert [f["id"] for f in got] == [fa, fb]
    assert [f["user"] for f in got] == [a.id, b.id]
    assert got[0]["targets"] == [f"https://{marker}.example/a"] and got[1]["targets"] == [f"{marker}@example.net"]
    assert "metaData" not in got[0], "only with metaData=true"
    with_meta = ok(api.get("/filters", params={"forward": marker, "metaData": "true"}))["results"]
    assert with_meta[0]["metaData"] == {"k": 1}
    # Without a query every filter is listed, paged.
    everything = check("get", "/filters", api.get("/filters", params={"limit": 250}), 200)
    assert everything["total"] >= 3
    invalid(api.get("/filters", params={"limit": "many"}))
    invalid(api.get("/filters", params={"next": "not a cursor"}))
    err(api.get(f"/users/{UNKNOWN_ID}/filters"), 404, "UserNotFound")


def test_list_id_and_disabled_at_delivery(server, api, user):
    box = create_mailbox(api, user.id, unique("Rust"))
    ok(api.post(f"/users/{user.id}/filters", json={
        "query": {"listId": "rust-users.lists.example"}, "action": {"mailbox": box, "seen": True}}))
    ok(api.post(f"/users/{user.id}/filters", json={
        "query": {"subject": "ignored"}, "action": {"delete": True}, "disabled": True}))
    deliver(server, user.address, with_header(make_message(subject="from the list"), "List-ID", "Rust users <Rust-Users.Lists.Example>"))
    deliver(server, user.address, make_message(subject="not from the list"))
    deliver(server, user.address, make_message(subject="ignored filter"))
    listed = {m["subject"]: m for m in list_messages(api, user.id, box)["results"]}
    assert set(listed) == {"from the list"} and listed["from the list"]["seen"] is True
    in_inbox = {m["subject"] for m in list_messages(api, user.id, inbox(api, user.id))["results"]}
    assert {"not from the list", "ignored filter"} <= in_inbox


def test_targets_forward_and_upload_at_delivery(instances):
    from test_outbound import Sink, relay_env

    posted: list[bytes] = []

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 (http.server's name)
            posted.append(self.rfile.read(int(self.headers.get("Content-Length", "0"))))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    port = free_port()
    http = ThreadingHTTPServer(("127.0.0.1", port), Hook)
    threading.Thread(target=http.serve_forever, daemon=True).start()
    sink = Sink().start()
    try:
        srv = instances.start(env=relay_env(sink.port))
        api = srv.api()
        user_id = ok(api.post("/users", json={"username": unique("tg"), "password": "correct horse battery"}))["id"]
        address = ok(api.get(f"/users/{user_id}"))["address"]
        target = unique("fwd") + "@elsewhere.example"
        ok(api.post(f"/users/{user_id}/filters", json={
            "query": {"subject": "pass on"},
            "action": {"targets": [target, f"http://127.0.0.1:{port}/in"]}}))
        deliver(srv, address, make_message(subject="pass on", body="Both targets get this."))
        got = sink.wait_to(target, count=1)
        assert len(got) == 1 and b"Both targets get this." in got[0][2]
        assert wait_for(lambda: len(posted) == 1, timeout=30), "the upload target got the message"
        assert b"Both targets get this." in posted[0]
        assert [m["subject"] for m in list_messages(api, user_id, inbox(api, user_id))["results"]] == ["pass on"]
    finally:
        sink.stop()
        http.shutdown()
