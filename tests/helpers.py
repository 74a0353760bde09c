"""Assertions and builders shared by the black-box tests (the WildDuck API conventions)."""

from __future__ import annotations

import imaplib
import re
import secrets
from dataclasses import dataclass

import requests

HEX24 = re.compile(r"^[0-9a-f]{24}$")
ISO_DATE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
PASSWORD = "correct horse battery"
SPECIAL_USES = {"\\Drafts", "\\Sent", "\\Trash", "\\Junk", "\\Archive"}
ENGLISH_NAMES = {
    "\\Drafts": "Drafts",
    "\\Sent": "Sent Mail",
    "\\Trash": "Trash",
    "\\Junk": "Junk",
    "\\Archive": "Archive",
}
UNKNOWN_ID = "0123456789abcdef01234567"


def ok(resp: requests.Response) -> dict:
    """Asserts a 200 `{"success": true, ...}` JSON answer and returns it."""
    assert resp.status_code == 200, f"{resp.request.method} {resp.url}: {resp.status_code} {resp.text[:500]}"
    assert resp.headers.get("Content-Type", "").startswith("application/json"), resp.headers
    body = resp.json()
    assert body.get("success") is True, body
    return body


def err(resp: requests.Response, status: int, code: str | None = None) -> dict:
    """Asserts a failed JSON answer `{"error": "...", ...}` with `status` (and `code`)."""
    assert resp.status_code == status, f"{resp.request.method} {resp.url}: expected {status}, got {resp.status_code} {resp.text[:500]}"
    assert resp.headers.get("Content-Type", "").startswith("application/json"), resp.headers
    body = resp.json()
    assert isinstance(body.get("error"), str) and body["error"], body
    assert body.get("success") is not True, body
    if code is not None:
        assert body.get("code") == code, body
    return body


def invalid(resp: requests.Response) -> dict:
    """Asserts a 400 InputValidationError."""
    body = err(resp, 400, "InputValidationError")
    if "details" in body:
        assert isinstance(body["details"], dict), body
    return body


def assert_paging(body: dict, page: int = 1) -> None:
    """The paging envelope: total, the echoed page, cursors that are strings or false."""
    assert isinstance(body["total"], int), body
    assert body["page"] == page, body
    for key in ("previousCursor", "nextCursor"):
        value = body[key]
        assert value is False or (isinstance(value, str) and value), f"{key}={value!r}"
    assert isinstance(body["results"], list), body


def unique(prefix: str = "u") -> str:
    return prefix + secrets.token_hex(5)


@dataclass
class User:
    id: str
    username: str
    password: str
    address: str | None


def create_user(api, username: str | None = None, password=PASSWORD, **fields) -> User:
    """POST /users with a fresh username; returns the created user."""
    username = username or unique("user")
    body = {"username": username, "password": password, **fields}
    data = ok(api.post("/users", json=body))
    assert HEX24.match(data["id"]), data
    address = fields.get("address")
    if address is None and not fields.get("emptyAddress"):
        address = f"{username}@example.test"
    return User(data["id"], username, password if isinstance(password, str) else "", address)


def mailboxes(api, user_id: str, counters: bool = False) -> list[dict]:
    params = {"counters": "true"} if counters else None
    data = ok(api.get(f"/users/{user_id}/mailboxes", params=params))
    results = data.get("results")
    if results is None:  # the spec's counters example names the list "mailboxes"
        results = data["mailboxes"]
    return results


def mailbox_by_path(api, user_id: str, path: str) -> dict:
    found = [m for m in mailboxes(api, user_id) if m["path"] == path]
    assert len(found) == 1, f"{path!r} not in {[m['path'] for m in mailboxes(api, user_id)]}"
    return found[0]


def mailbox_by_use(api, user_id: str, special_use: str) -> dict:
    found = [m for m in mailboxes(api, user_id) if m["specialUse"] == special_use]
    assert len(found) == 1, f"{special_use} not in {[(m['path'], m['specialUse']) for m in mailboxes(api, user_id)]}"
    return found[0]


def inbox(api, user_id: str) -> str:
    return mailbox_by_path(api, user_id, "INBOX")["id"]


def create_mailbox(api, user_id: str, path: str, **fields) -> str:
    data = ok(api.post(f"/users/{user_id}/mailboxes", json={"path": path, **fields}))
    assert HEX24.match(data["id"]), data
    return data["id"]


def make_message(
    subject: str = "Hello",
    body: str = "Hello there, this is the body.",
    sender: str = "Sender Name <sender@example.com>",
    to: str = "Test User <testuser@example.test>",
    date: str = "Tue, 15 Nov 2022 10:00:00 +0000",
    message_id: str | None = None,
    headers: dict[str, str] | None = None,
) -> bytes:
    """A small RFC 5322 text/plain message with CRLF line ends."""
    message_id = message_id or f"<{secrets.token_hex(8)}@example.com>"
    lines = [
        f"From: {sender}",
        f"To: {to}",
        f"Subject: {subject}",
        f"Date: {date}",
        f"Message-ID: {message_id}",
        "MIME-Version: 1.0",
        "Content-Type: text/plain; charset=utf-8",
        "Content-Transfer-Encoding: 8bit",
    ]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n" + body.replace("\n", "\r\n") + "\r\n").encode("utf-8")


def upload(api, user_id: str, mailbox_id: str, raw, params: dict | None = None, **kwargs) -> requests.Response:
    """POST /users/{user}/mailboxes/{mailbox}/messages with a raw message/rfc822 body."""
    return api.post(
        f"/users/{user_id}/mailboxes/{mailbox_id}/messages",
        data=raw,
        params=params,
        headers={"Content-Type": "message/rfc822"},
        **kwargs,
    )


def upload_ok(api, user_id: str, mailbox_id: str, raw: bytes, params: dict | None = None) -> int:
    """Uploads and returns the new message's UID (WildDuck answers `{"message": {"id": uid, ...}}`)."""
    data = ok(upload(api, user_id, mailbox_id, raw, params))
    message = data["message"]
    assert isinstance(message["id"], int) and message["id"] > 0, data
    assert message["mailbox"] == mailbox_id, data
    if "size" in message:
        assert message["size"] == len(raw), data
    return message["id"]


def list_messages(api, user_id: str, mailbox_id: str, **params) -> dict:
    return ok(api.get(f"/users/{user_id}/mailboxes/{mailbox_id}/messages", params=params))


def all_uids(api, user_id: str, mailbox_id: str) -> list[int]:
    """Every UID of a mailbox (newest first), following `next` cursors."""
    uids: list[int] = []
    params: dict = {"limit": 250}
    for _ in range(1000):
        data = list_messages(api, user_id, mailbox_id, **params)
        uids += [m["id"] for m in data["results"]]
        if data["nextCursor"] is False:
            return uids
        params = {"limit": 250, "next": data["nextCursor"]}
    raise AssertionError("paging did not end")


def message_path(user_id: str, mailbox_id: str, uid) -> str:
    return f"/users/{user_id}/mailboxes/{mailbox_id}/messages/{uid}"


def quota_used(api, user_id: str) -> int:
    return ok(api.get(f"/users/{user_id}"))["limits"]["quota"]["used"]


def imap_login(server, username: str, password: str) -> bool:
    """One LOGIN on a fresh IMAP connection to `server` (anything with `imap_port`): True
    when accepted."""
    client = imaplib.IMAP4("127.0.0.1", server.imap_port, timeout=30)
    try:
        client.login(username, password)
        return True
    except imaplib.IMAP4.error:
        return False
    finally:
        try:
            client.logout()
        except Exception:
            pass
