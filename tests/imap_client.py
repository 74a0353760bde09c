"""A raw IMAP connection for what imaplib cannot express, shared by the IMAP tests.

Responses are read line by line with their literals inlined (`{n}\\r\\n<data>` stays in the
line), so binary data survives and a literal containing CRLF never looks like a new response.
"""

from __future__ import annotations

import re
import socket

TIMEOUT = 30


class Raw:
    def __init__(self, port: int, timeout: float = TIMEOUT):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.file = self.sock.makefile("rb")
        self.greeting = self.line()

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def line(self) -> bytes:
        """One response line with its literals inlined as `{n}\\r\\n<data>`."""
        line = self.file.readline(1 << 20)
        assert line, "connection closed"
        while True:
            m = re.search(rb"~?\{(\d+)\}\r\n$", line)
            if not m:
                return line
            line += self.file.read(int(m.group(1)))
            more = self.file.readline(1 << 20)
            assert more, "connection closed"
            line += more

    def until_tagged(self, tag: bytes) -> list[bytes]:
        """Lines up to and including the tagged response of `tag`."""
        lines = []
        while True:
            line = self.line()
            lines.append(line)
            if line.startswith(tag + b" "):
                return lines

    def command(self, tag: bytes, text: bytes) -> list[bytes]:
        self.send(tag + b" " + text + b"\r\n")
        return self.until_tagged(tag)

    def login(self, user, tag: bytes = b"l") -> None:
        lines = self.command(tag, f'LOGIN "{user.username}" "{user.password}"'.encode())
        assert lines[-1].startswith(tag + b" OK"), lines

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass


def tagged(lines: list[bytes]) -> bytes:
    return lines[-1]
