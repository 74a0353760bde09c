"""Filters at delivery: every query and every action, exercised by delivering over LMTP
(smtplib.LMTP) and reading back through the REST API; action_targetUrl posts to a small
http.server of the test (down first, then up; and across a restart); message events."""

from __future__ import annotations

import smtplib
import threading
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from delivery_helpers import wait_for
from harness import free_port
from helpers import (
    HEX24,
    ISO_DATE,
    create_mailbox,
    inbox,
    list_messages,
    mailbox_by_use,
    make_message,
    ok,
    unique,
)

SENDER = "bounces@sender.example"


def deliver(server, rcpt: str, raw: bytes) -> None:
    """One LMTP transaction; the recipient must be accepted and the data acknowledged."""
    with smtplib.LMTP("127.0.0.1", server.lmtp_port, timeout=30) as client:
        client.ehlo("mta.example.org")
        assert client.sendmail(SENDER, [rcpt], raw) == {}


def add_filter(api, user_id: str, **fields) -> str:
    return ok(api.post(f"/users/{user_id}/filters", json=fields))["id"]


def by_subject(api, user_id: str, mailbox_id: str) -> dict[str, dict]:
    return {m["subject"]: m for m in list_messages(api, user_id, mailbox_id, limit=250)["results"]}


def everywhere(api, user_id: str) -> dict[str, str]:
    """Subject -> path of the mailbox holding it, over all mailboxes."""
    out = {}
    for box in ok(api.get(f"/users/{user_id}/mailboxes"))["results"]:
        for subject in by_subject(api, user_id, box["id"]):
            out[subject] = box["path"]
    return out


def with_attachment(subject: str, to: str) -> bytes:
    msg = EmailMessage()
    msg["From"] = "Attacher <att@sender.example>"
    msg["To"] = to
    msg["Subject"] = subject
    msg.set_content("See the file.")
    msg.add_attachment(b"%PDF-1.4 pretend" * 20, maintype="application", subtype="pdf", filename="report.pdf")
    return msg.as_bytes().replace(b"\n", b"\r\n")


# ---- queries ----


def test_query_from_with_action_seen(server, api, user):
    add_filter(api, user.id, query_from="ALICE.Sender", action_seen=True)
    deliver(server, user.address, make_message(subject="from alice", sender="Alice <alice.sender@example.com>"))
    deliver(server, user.address, make_message(subject="from bob", sender="Bob <bob@example.com>"))
    got = by_subject(api, user.id, inbox(api, user.id))
    assert got["from alice"]["seen"] is True
    assert got["from bob"]["seen"] is False


def test_query_to_matches_cc_with_action_flag(server, api, user):
    add_filter(api, user.id, query_to="carol@example.org", action_flag=True)
    deliver(server, user.address, make_message(subject="cc carol", headers={"Cc": "Carol <Carol@Example.org>"}))
    deliver(server, user.address, make_message(subject="to carol", to="carol@example.org"))
    deliver(server, user.address, make_message(subject="not carol"))
    got = by_subject(api, user.id, inbox(api, user.id))
    assert got["cc carol"]["flagged"] is True
    assert got["to carol"]["flagged"] is True
    assert got["not carol"]["flagged"] is False


def test_query_subject_with_action_mailbox(server, api, user):
    box = create_mailbox(api, user.id, "Reports")
    add_filter(api, user.id, query_subject="quarterly report", action_mailbox=box)
    deliver(server, user.address, make_message(subject="The QUARTERLY   Report is in"))
    deliver(server, user.address, make_message(subject="Monthly report"))
    assert everywhere(api, user.id) == {"The QUARTERLY   Report is in": "Reports", "Monthly report": "INBOX"}


def test_query_text_with_action_spam(server, api, user):
    add_filter(api, user.id, query_text="limited time offer", action_spam=True)
    deliver(server, user.address, make_message(subject="offer", body="Buy now!\nLimited   time\noffer only."))
    deliver(server, user.address, make_message(subject="plain", body="Nothing to buy here."))
    junk = mailbox_by_use(api, user.id, "\\Junk")["path"]
    assert everywhere(api, user.id) == {"offer": junk, "plain": "INBOX"}


def test_query_ha_with_action_delete(server, api, user):
    add_filter(api, user.id, query_ha=True, action_delete=True)
    add_filter(api, user.id, query_ha=False, action_flag=True)
    # Dropped silently: the LMTP answer is still 250.
    deliver(server, user.address, with_attachment("with file", user.address))
    deliver(server, user.address, make_message(subject="no file"))
    assert everywhere(api, user.id) == {"no file": "INBOX"}
    assert by_subject(api, user.id, inbox(api, user.id))["no file"]["flagged"] is True


def test_query_size_larger_and_smaller(server, api, user):
    add_filter(api, user.id, query_size=20_000, action_flag=True)
    add_filter(api, user.id, query_size=-2_000, action_seen=True)
    deliver(server, user.address, make_message(subject="big", body="x" * 30_000))
    deliver(server, user.address, make_message(subject="medium", body="y" * 5_000))
    deliver(server, user.address, make_message(subject="small", body="z"))
    got = by_subject(api, user.id, inbox(api, user.id))
    assert (got["big"]["flagged"], got["big"]["seen"]) == (True, False)
    assert (got["medium"]["flagged"], got["medium"]["seen"]) == (False, False)
    assert (got["small"]["flagged"], got["small"]["seen"]) == (False, True)


def test_every_query_of_a_filter_must_match(server, api, user):
    add_filter(api, user.id, query_from="alice", query_subject="invoice", action_flag=True)
    deliver(server, user.address, make_message(subject="invoice 1", sender="alice@example.com"))
    deliver(server, user.address, make_message(subject="invoice 2", sender="bob@example.com"))
    deliver(server, user.address, make_message(subject="hello", sender="alice@example.com"))
    got = by_subject(api, user.id, inbox(api, user.id))
    assert {s: m["flagged"] for s, m in got.items()} == {"invoice 1": True, "invoice 2": False, "hello": False}


# ---- how filters combine ----


def test_first_matching_filter_decides_and_disabled_filters_do_not_run(server, api, user):
    reports = create_mailbox(api, user.id, "Reports")
    later = create_mailbox(api, user.id, "Later")
    off = add_filter(api, user.id, query_subject="report", action_delete=True)
    ok(api.put(f"/users/{user.id}/filters/{off}", json={"disabled": True}))
    add_filter(api, user.id, query_subject="report", action_seen=False, action_mailbox=reports)
    add_filter(api, user.id, query_subject="report", action_seen=True, action_flag=True, action_mailbox=later)
    deliver(server, user.address, make_message(subject="report"))
    assert everywhere(api, user.id) == {"report": "Reports"}
    got = by_subject(api, user.id, reports)["report"]
    assert (got["seen"], got["flagged"]) == (False, True)


def test_filter_can_overrule_the_mta_spam_verdict(server, api, user):
    spam_headers = {"X-Spam-Status": "Yes, score=9.1 required=5.0"}
    add_filter(api, user.id, query_from="friend@", action_spam=False)
    deliver(server, user.address, make_message(subject="from friend", sender="friend@example.com", headers=spam_headers))
    deliver(server, user.address, make_message(subject="from stranger", sender="x@example.com", headers=spam_headers))
    junk = mailbox_by_use(api, user.id, "\\Junk")["path"]
    assert everywhere(api, user.id) == {"from friend": "INBOX", "from stranger": junk}


def test_spam_wins_over_a_filter_mailbox(server, api, user):
    box = create_mailbox(api, user.id, "Newsletters")
    add_filter(api, user.id, query_subject="news", action_mailbox=box)
    add_filter(api, user.id, query_text="casino", action_spam=True)
    deliver(server, user.address, make_message(subject="news", body="casino bonus"))
    deliver(server, user.address, make_message(subject="news again", body="weekly digest"))
    junk = mailbox_by_use(api, user.id, "\\Junk")["path"]
    assert everywhere(api, user.id) == {"news": junk, "news again": "Newsletters"}


# ---- events ----


def test_events_record_store_and_filter(server, api, user):
    fid = add_filter(api, user.id, query_subject="tracked", action_flag=True)
    deliver(server, user.address, make_message(subject="tracked"))
    deliver(server, user.address, make_message(subject="other one"))
    box = inbox(api, user.id)
    got = by_subject(api, user.id, box)
    data = ok(api.get(f"/users/{user.id}/mailboxes/{box}/messages/{got['tracked']['id']}/events"))
    assert HEX24.match(data["id"])
    store, filt = data["events"]
    assert store["action"] == "STORE"
    assert store["source"] == "LMTP"
    assert store["from"] == SENDER
    assert store["to"] == [user.address]
    assert store["transtype"] == "LMTP"
    assert store["origin"] == "127.0.0.1"
    assert ISO_DATE.match(store["time"])
    assert isinstance(store["id"], str) and store["id"]
    assert filt["action"] == "FILTER"
    assert filt["filters"] == [fid]
    assert filt["flagged"] is True
    assert store["id"] != filt["id"]
    data = ok(api.get(f"/users/{user.id}/mailboxes/{box}/messages/{got['other one']['id']}/events"))
    assert [e["action"] for e in data["events"]] == ["STORE"]


# ---- action_targetUrl ----


class Recorder:
    """A small HTTP server recording the POSTs it gets."""

    def __init__(self, port: int):
        self.posts: list[tuple[str, str, bytes]] = []
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                recorder.posts.append((self.path, self.headers.get("Content-Type", ""), body))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def test_target_url_posts_the_message_once_the_server_is_up(server, api, user):
    port = free_port()
    path = "/hook/" + unique("h") + "?token=abc"
    add_filter(api, user.id, query_subject="upload me", action_targetUrl=f"http://127.0.0.1:{port}{path}")
    raw = make_message(subject="upload me", body="Body to upload.")
    deliver(server, user.address, raw)
    deliver(server, user.address, make_message(subject="keep me here"))
    # Delivery did not wait for the upload: the message is stored already.
    assert set(everywhere(api, user.id)) == {"upload me", "keep me here"}
    # The first attempt fails (nothing listens yet) and is retried later.
    assert wait_for(lambda: "upload failed, will retry" in server.log(), timeout=60)
    recorder = Recorder(port)
    try:
        assert wait_for(lambda: recorder.posts, timeout=60), "the upload never arrived"
        assert len(recorder.posts) == 1
        got_path, content_type, body = recorder.posts[0]
        assert got_path == path
        assert content_type == "message/rfc822"
        # The message as stored: trace headers prepended, then the message as sent.
        assert body.endswith(raw)
        assert b"Delivered-To: " + user.address.encode() in body
    finally:
        recorder.close()


def test_target_url_queue_survives_a_restart(instances):
    inst = instances.new()
    srv = inst.start()
    api = srv.api()
    user_id = ok(api.post("/users", json={"username": unique("up"), "password": "correct horse battery"}))["id"]
    address = ok(api.get(f"/users/{user_id}"))["address"]
    port = free_port()
    add_filter(api, user_id, query_from="sender.example", action_targetUrl=f"http://127.0.0.1:{port}/after-restart")
    raw = make_message(subject="survives", sender="someone@sender.example")
    deliver(srv, address, raw)
    assert wait_for(lambda: "upload failed, will retry" in srv.log(), timeout=60)
    srv.stop()
    recorder = Recorder(port)
    try:
        srv2 = inst.start()
        assert wait_for(lambda: recorder.posts, timeout=60), "the queued upload was lost over the restart"
        (got_path, content_type, body), = recorder.posts
        assert got_path == "/after-restart"
        assert content_type == "message/rfc822"
        assert body.endswith(raw)
        assert srv2.alive()
    finally:
        recorder.close()


def test_spam_is_not_uploaded_but_others_are(server, api, user):
    port = free_port()
    recorder = Recorder(port)
    try:
        url = f"http://127.0.0.1:{port}/spamcheck"
        add_filter(api, user.id, query_subject="casino", action_spam=True)
        add_filter(api, user.id, query_from="sender", action_targetUrl=url)
        deliver(server, user.address, make_message(subject="casino night", sender="a@sender.example"))
        deliver(server, user.address, make_message(subject="hello", sender="b@sender.example"))
        assert wait_for(lambda: recorder.posts, timeout=60)
        # The worker finishes a batch before it claims the next: once an upload queued after
        # the first one arrived has arrived too, an upload of the spam would have arrived.
        deliver(server, user.address, make_message(subject="hello again", sender="c@sender.example"))
        assert wait_for(lambda: len(recorder.posts) >= 2, timeout=60)
        subjects = sorted(body.split(b"Subject: ")[1].split(b"\r\n")[0] for _, _, body in recorder.posts)
        assert subjects == [b"hello", b"hello again"]
        junk = mailbox_by_use(api, user.id, "\\Junk")["path"]
        assert everywhere(api, user.id)["casino night"] == junk
    finally:
        recorder.close()


def test_dropped_message_is_still_uploaded(server, api, user):
    port = free_port()
    recorder = Recorder(port)
    try:
        add_filter(api, user.id, query_subject="drop", action_delete=True, action_targetUrl=f"http://127.0.0.1:{port}/d")
        raw = make_message(subject="drop and upload")
        deliver(server, user.address, raw)
        assert wait_for(lambda: recorder.posts, timeout=60)
        assert recorder.posts[0][2].endswith(raw)
        assert everywhere(api, user.id) == {}
    finally:
        recorder.close()


# ---- action_forward (through the outbound relay, an aiosmtpd sink) ----


def test_action_forward_sends_a_copy_through_the_relay(instances):
    from test_outbound import Sink, relay_env

    sink = Sink().start()
    try:
        srv = instances.start(env=relay_env(sink.port))
        api = srv.api()
        user_id = ok(api.post("/users", json={"username": unique("fw"), "password": "correct horse battery"}))["id"]
        address = ok(api.get(f"/users/{user_id}"))["address"]
        target = unique("fwd") + "@elsewhere.example"
        fid = add_filter(api, user_id, query_subject="pass on", action_forward=target)
        # Matches the forwarding filter too: dropped here, forwarded all the same.
        add_filter(api, user_id, query_subject="and drop", action_delete=True)
        kept = make_message(subject="pass on", body="Keep a copy and forward one.")
        dropped = make_message(subject="pass on and drop", body="Forward only.")
        deliver(srv, address, kept)
        deliver(srv, address, dropped)
        got = sink.wait_to(target, count=2)
        assert len(got) == 2, got
        bodies = [raw for _, _, raw in got]
        assert any(b"Keep a copy and forward one." in b for b in bodies)
        assert any(b"Forward only." in b for b in bodies)
        for mail_from, rcpts, _ in got:
            assert [r.lower() for r in rcpts] == [target.lower()]
        assert everywhere(api, user_id) == {"pass on": "INBOX"}
        box = inbox(api, user_id)
        uid = by_subject(api, user_id, box)["pass on"]["id"]
        events = ok(api.get(f"/users/{user_id}/mailboxes/{box}/messages/{uid}/events"))["events"]
        assert events[1]["action"] == "FILTER"
        assert events[1]["filters"] == [fid]
        assert events[1]["forward"] == [target]
        forward = events[2]
        assert forward["action"] == "FORWARD"
        assert forward["to"] == [target]
        assert forward["from"] == SENDER
        assert isinstance(forward["queueId"], str) and forward["queueId"]
    finally:
        sink.stop()
