"""Graceful stop (issue 21): SIGTERM lets what is in flight finish and answers it, says
goodbye in each protocol's words, and exits 0; what was acknowledged is stored."""

import imaplib
import signal
import socket
import time

import pytest

from harness import Instances
from helpers import PASSWORD, all_uids, inbox, ok, unique

GRACE = {"SEALPOST_SHUTDOWN_GRACE": "60"}


@pytest.fixture
def made(tmp_path_factory, engine):
    instances = Instances(tmp_path_factory, engine)
    yield instances
    instances.cleanup()


class Lines:
    def __init__(self, sock):
        self.sock = sock
        self.buf = b""

    def line(self, timeout=60):
        self.sock.settimeout(timeout)
        while b"\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError(f"closed; had {self.buf!r}")
            self.buf += chunk
        line, _, self.buf = self.buf.partition(b"\n")
        return line.rstrip(b"\r").decode()

    def reply(self):
        """An SMTP/LMTP reply: its code and last line."""
        while True:
            line = self.line()
            if line[3:4] != "-":
                return int(line[:3]), line


def wait_exit(server, timeout=60):
    deadline = time.time() + timeout
    while server.proc.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    assert server.proc.poll() is not None, "the server did not exit after SIGTERM"
    return server.proc.returncode


def make_user(server):
    api = server.api()
    name = unique("stop")
    uid = ok(api.post("/users", json={"username": name, "password": PASSWORD}))["id"]
    return api, uid, name


def test_sigterm_during_a_20mb_lmtp_data(made):
    instance = made.new(env=GRACE)
    server = instance.start()
    api, uid, name = make_user(server)
    sock = socket.create_connection(("127.0.0.1", server.lmtp_port), timeout=60)
    r = Lines(sock)
    assert r.reply()[0] == 220
    sock.sendall(b"LHLO test.example\r\n")
    assert r.reply()[0] == 250
    sock.sendall(b"MAIL FROM:<sender@example.org>\r\n")
    assert r.reply()[0] == 250
    sock.sendall(f"RCPT TO:<{name}@example.test>\r\n".encode())
    assert r.reply()[0] == 250
    sock.sendall(b"DATA\r\n")
    assert r.reply()[0] == 354
    line = b"x" * 998 + b"\r\n"
    body = b"Subject: big one\r\nMessage-ID: <big@example.org>\r\n\r\n" + line * (20 * 1024 * 1024 // len(line))
    half = len(body) // 2
    sock.sendall(body[:half])
    server.proc.send_signal(signal.SIGTERM)
    time.sleep(0.5)
    sock.sendall(body[half:] + b".\r\n")
    code, text = r.reply()
    assert code == 250, text
    # Then the session is ended with 421, and the server exits cleanly.
    code, text = r.reply()
    assert code == 421, text
    assert wait_exit(server) == 0, server.log()
    sock.close()
    server = instance.start()
    api = server.api()
    box = inbox(api, uid)
    assert len(all_uids(api, uid, box)) == 1
    listed = ok(api.get(f"/users/{uid}/mailboxes/{box}/messages"))["results"]
    assert listed[0]["size"] >= len(body) - 100, listed[0]


def test_sigterm_during_idle_says_bye(made):
    server = made.new(env=GRACE).start()
    _, _, name = make_user(server)
    sock = socket.create_connection(("127.0.0.1", server.imap_port), timeout=60)
    r = Lines(sock)
    assert r.line().startswith("* OK")
    sock.sendall(f'a LOGIN {name} "{PASSWORD}"\r\n'.encode())
    while not r.line().startswith("a "):
        pass
    sock.sendall(b"b SELECT INBOX\r\n")
    while not r.line().startswith("b "):
        pass
    sock.sendall(b"c IDLE\r\n")
    assert r.line().startswith("+")
    server.proc.send_signal(signal.SIGTERM)
    line = r.line()
    assert line.startswith("* BYE"), line
    assert wait_exit(server) == 0, server.log()


def test_sigterm_during_append_answers_ok(made):
    instance = made.new(env=GRACE)
    server = instance.start()
    api, uid, name = make_user(server)
    sock = socket.create_connection(("127.0.0.1", server.imap_port), timeout=60)
    r = Lines(sock)
    r.line()
    sock.sendall(f'a LOGIN {name} "{PASSWORD}"\r\n'.encode())
    while not r.line().startswith("a "):
        pass
    message = b"Subject: appended during stop\r\n\r\n" + b"y" * 2_000_000 + b"\r\n"
    sock.sendall(f"b APPEND INBOX {{{len(message)}}}\r\n".encode())
    assert r.line().startswith("+")
    sock.sendall(message[:1000])
    server.proc.send_signal(signal.SIGTERM)
    time.sleep(0.5)
    sock.sendall(message[1000:] + b"\r\n")
    line = r.line()
    while line.startswith("*"):
        line = r.line()
    assert line.startswith("b OK"), line
    # The next thing the session says is goodbye.
    assert r.line().startswith("* BYE")
    assert wait_exit(server) == 0, server.log()
    server = instance.start()
    api = server.api()
    assert len(all_uids(api, uid, inbox(api, uid))) == 1


def test_sigterm_ends_event_streams_at_once(made):
    # A grace period far longer than the wait below: an open stream holding the exit fails.
    server = made.new(env={"SEALPOST_SHUTDOWN_GRACE": "900"}).start()
    api, uid, _ = make_user(server)
    import requests

    stream = requests.get(f"{server.base_url}/users/{uid}/updates", stream=True, timeout=60)
    assert stream.status_code == 200
    server.proc.send_signal(signal.SIGTERM)
    assert wait_exit(server, timeout=120) == 0, server.log()
    stream.close()


def test_no_new_connections_after_sigterm_and_pop3_goodbye(made):
    server = made.new(env=GRACE).start()
    _, _, name = make_user(server)
    sock = socket.create_connection(("127.0.0.1", server.pop3_port), timeout=60)
    r = Lines(sock)
    assert r.line().startswith("+OK")
    sock.sendall(f"USER {name}\r\nPASS {PASSWORD}\r\n".encode())
    assert r.line().startswith("+OK") and r.line().startswith("+OK")
    server.proc.send_signal(signal.SIGTERM)
    line = r.line()
    assert line.startswith("-ERR [SYS/TEMP]"), line
    assert wait_exit(server) == 0, server.log()
