"""GET /users/{user}/updates: the change journal as an EventSource stream, read over a raw
socket: an API upload and an IMAP flag change show up, mailbox changes too, and a new
connection with Last-Event-ID resumes with nothing missing and nothing repeated."""

from __future__ import annotations

import json
import smtplib
import socket
import time

import pytest

from helpers import UNKNOWN_ID, err, inbox, make_message, ok, upload_ok

TIMEOUT = 30  # heartbeats come every 15 s, so a silent stream is a broken one
EVENT_DEADLINE = 40  # an event that has not come by then is missing (heartbeats keep coming)


class EventStream:
    """A minimal EventSource client: HTTP/1.1 GET, chunked body, `id:`/`data:` events."""

    def __init__(self, port: int, path: str, last_event_id: str | None = None):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
        headers = [f"GET {path} HTTP/1.1", "Host: 127.0.0.1", "Accept: text/event-stream"]
        if last_event_id is not None:
            headers.append(f"Last-Event-ID: {last_event_id}")
        self.sock.sendall(("\r\n".join(headers) + "\r\n\r\n").encode())
        self.file = self.sock.makefile("rb")
        status = self.file.readline()
        assert status.startswith(b"HTTP/1.1 200"), status
        self.headers = {}
        while (line := self.file.readline()) not in (b"\r\n", b""):
            k, _, v = line.decode().partition(":")
            self.headers[k.strip().lower()] = v.strip()
        assert self.headers["content-type"].startswith("text/event-stream"), self.headers
        assert self.headers.get("transfer-encoding") == "chunked", self.headers
        self.pending = b""

    def _more(self) -> None:
        size = int(self.file.readline().strip(), 16)
        assert size > 0, "the stream ended"
        self.pending += self.file.read(size)
        assert self.file.readline() == b"\r\n"

    def _line(self) -> str:
        while b"\n" not in self.pending:
            self._more()
        line, _, self.pending = self.pending.partition(b"\n")
        return line.decode().rstrip("\r")

    def event(self) -> tuple[int, dict]:
        """The next event (comments, i.e. heartbeats, are skipped)."""
        event_id, data = None, []
        deadline = time.monotonic() + EVENT_DEADLINE
        while True:
            assert time.monotonic() < deadline, "no event came"
            line = self._line()
            if line == "":
                if data:
                    assert event_id is not None, data
                    return int(event_id), json.loads("\n".join(data))
                continue
            if line.startswith(":"):
                continue
            field, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if field == "id":
                event_id = value
            elif field == "data":
                data.append(value)

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def streams(server):
    opened = []

    def make(user_id: str, last_event_id: str | None = None) -> EventStream:
        s = EventStream(int(server.base_url.rsplit(":", 1)[1]), f"/users/{user_id}/updates", last_event_id)
        opened.append(s)
        return s

    yield make
    for s in opened:
        s.close()


def test_stream_shows_changes_and_resumes(api, connect, streams, user):
    box = inbox(api, user.id)
    stream = streams(user.id)

    uid = upload_ok(api, user.id, box, make_message(subject="first"))
    first_id, event = stream.event()
    assert event["command"] == "EXISTS" and event["mailbox"] == box and event["message"] == uid, event

    imap = connect(user)
    imap.select("INBOX")
    typ, _ = imap.uid("STORE", str(uid), "+FLAGS", r"(\Flagged)")
    assert typ == "OK"
    flag_id, event = stream.event()
    assert flag_id > first_id
    assert event["command"] == "FETCH" and event["message"] == uid, event
    assert "\\Flagged" in event["flags"], event

    # The client goes away; more happens meanwhile.
    stream.close()
    folder = ok(api.post(f"/users/{user.id}/mailboxes", json={"path": "Projects"}))["id"]
    uid2 = upload_ok(api, user.id, box, make_message(subject="second"))
    typ, _ = imap.uid("STORE", str(uid), "+FLAGS", r"(\Answered)")
    assert typ == "OK"
    ok(api.put(f"/users/{user.id}/mailboxes/{folder}", json={"path": "Archive/Projects"}))
    ok(api.delete(f"/users/{user.id}/mailboxes/{folder}"))

    # Resuming from the last event seen gives everything after it, in order, once.
    resumed = streams(user.id, last_event_id=str(flag_id))
    seen = []
    try:
        while len(seen) < 5:
            seen.append(resumed.event())
    except AssertionError:
        raise AssertionError(f"only these events came: {seen}")
    ids = [i for i, _ in seen]
    assert ids == sorted(ids) and ids[0] > flag_id and len(set(ids)) == 5
    commands = [e["command"] for _, e in seen]
    assert commands.count("CREATE") >= 1 and "RENAME" in commands and "DELETE" in commands, commands
    assert any(e["command"] == "EXISTS" and e["message"] == uid2 for _, e in seen), seen
    assert any(e["command"] == "FETCH" and "\\Answered" in e["flags"] for _, e in seen), seen
    create = next(e for _, e in seen if e["command"] == "CREATE")
    assert create["mailbox"] == folder and create["name"] == "Projects", create

    # Resuming from the very first event replays the flag change too.
    again = streams(user.id, last_event_id=str(first_id))
    assert again.event()[0] == flag_id


def test_stream_shows_an_lmtp_delivery(api, server, streams, user):
    stream = streams(user.id)
    lmtp = smtplib.LMTP("127.0.0.1", server.lmtp_port, timeout=30)
    try:
        lmtp.sendmail("sender@example.org", [user.address],
                      make_message(subject="delivered over LMTP", to=user.address))
    finally:
        lmtp.quit()
    box = inbox(api, user.id)
    listed = ok(api.get(f"/users/{user.id}/mailboxes/{box}/messages"))["results"]
    assert [m["subject"] for m in listed] == ["delivered over LMTP"], listed
    _, event = stream.event()
    assert event["command"] == "EXISTS" and event["mailbox"] == box, event
    assert event["message"] == listed[0]["id"], event


def test_stream_is_per_user(api, streams, user, create_user):
    other = create_user()
    stream = streams(user.id)
    upload_ok(api, other.id, inbox(api, other.id), make_message(subject="not yours"))
    uid = upload_ok(api, user.id, inbox(api, user.id), make_message(subject="yours"))
    _, event = stream.event()
    assert event["message"] == uid and event["mailbox"] == inbox(api, user.id), event


def test_stream_errors(api, user):
    err(api.get(f"/users/{UNKNOWN_ID}/updates"), 404)
    err(api.get(f"/users/{user.id}/updates", headers={"Last-Event-ID": "abc"}), 400)
