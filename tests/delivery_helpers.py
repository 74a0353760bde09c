"""Helpers of the delivery tests (LMTP and inbound SMTP): raw sockets and reading back."""

from __future__ import annotations

import socket
import time

from helpers import all_uids, inbox, mailbox_by_use, message_path, ok

TIMEOUT = 30


class RawSmtp:
    """A raw SMTP/LMTP connection: send bytes, read whole replies (multi-line joined)."""

    def __init__(self, port: int):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
        self.buf = b""

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def line(self) -> bytes:
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError(f"closed; unread {self.buf!r}")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def reply(self) -> tuple[int, str]:
        """One reply: (code, text of its lines joined by newlines)."""
        lines = []
        while True:
            line = self.line()
            lines.append(line[4:].decode())
            if line[3:4] != b"-":
                return int(line[:3]), "\n".join(lines)

    def replies(self, n: int) -> list[tuple[int, str]]:
        return [self.reply() for _ in range(n)]

    def closed(self) -> bool:
        """True when the server closed the connection (after any unread replies)."""
        try:
            return self.sock.recv(1) == b""
        except OSError:
            return True

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass


def messages_in(api, user_id: str, mailbox_id: str) -> list[bytes]:
    """Raw source of every message in a mailbox, oldest first."""
    return [api.get(message_path(user_id, mailbox_id, uid) + "/message.eml").content for uid in sorted(all_uids(api, user_id, mailbox_id))]


def inbox_messages(api, user_id: str) -> list[bytes]:
    return messages_in(api, user_id, inbox(api, user_id))


def junk_messages(api, user_id: str) -> list[bytes]:
    return messages_in(api, user_id, mailbox_by_use(api, user_id, "\\Junk")["id"])


def wait_for(check, timeout: float = 30.0):
    """Polls `check()` until it returns something truthy (never asserts on time)."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.05)


def user_quota(api, user_id: str) -> dict:
    return ok(api.get(f"/users/{user_id}"))["limits"]["quota"]
