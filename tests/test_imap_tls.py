"""IMAP transport and limits over real sockets: STARTTLS and implicit TLS (imaplib and raw
sockets through Python's ssl), the self-signed certificate made on first start, LOGINDISABLED
when plain-text login is not allowed, COMPRESS=DEFLATE (raw deflate with zlib, wbits=-15)
over plain text and TLS, connection limits per address and per user, and the throttling of
repeated failed logins."""

from __future__ import annotations

import base64
import imaplib
import os
import re
import socket
import ssl
import stat
import time
import zlib

import pytest

from helpers import create_user, inbox, make_message, upload_ok

TIMEOUT = 30


def tls_context(cafile=None) -> ssl.SSLContext:
    """A client context: verifying against `cafile`, or not verifying at all."""
    if cafile is not None:
        return ssl.create_default_context(cafile=str(cafile))
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


class Conn:
    """A raw IMAP connection that can go through STARTTLS, implicit TLS and COMPRESS."""

    def __init__(self, port: int, implicit_tls: bool = False):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
        if implicit_tls:
            self.sock = tls_context().wrap_socket(self.sock, server_hostname="127.0.0.1")
        self.buf = b""
        self.inflate = None
        self.deflate = None
        self.wire_in = 0  # bytes received since COMPRESS
        self.greeting = self.line()

    def _recv(self) -> None:
        data = self.sock.recv(65536)
        if not data:
            raise EOFError("connection closed")
        if self.inflate is not None:
            self.wire_in += len(data)
            data = self.inflate.decompress(data)
        self.buf += data

    def line(self) -> bytes:
        while b"\r\n" not in self.buf:
            self._recv()
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line + b"\r\n"

    def exactly(self, n: int) -> bytes:
        while len(self.buf) < n:
            self._recv()
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def response(self) -> bytes:
        """One response, its literals included."""
        out = self.line()
        while (m := re.search(rb"\{(\d+)\}\r\n$", out)) is not None:
            out += self.exactly(int(m.group(1)))
            out += self.line()
        return out

    def send(self, data: bytes) -> None:
        if self.deflate is not None:
            data = self.deflate.compress(data) + self.deflate.flush(zlib.Z_SYNC_FLUSH)
        self.sock.sendall(data)

    def command(self, tag: bytes, text: bytes) -> list[bytes]:
        self.send(tag + b" " + text + b"\r\n")
        return self.until(tag)

    def until(self, tag: bytes) -> list[bytes]:
        lines = []
        while True:
            lines.append(self.response())
            if lines[-1].startswith(tag + b" "):
                return lines

    def starttls(self, ctx=None) -> None:
        assert self.buf == b"", "nothing may follow the STARTTLS answer before the handshake"
        self.sock = (ctx or tls_context()).wrap_socket(self.sock, server_hostname="127.0.0.1")

    def compress(self) -> None:
        assert self.buf == b""
        self.inflate = zlib.decompressobj(wbits=-15)
        self.deflate = zlib.compressobj(wbits=-15)

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass


def caps_of(line: bytes) -> set[bytes]:
    m = re.search(rb"\[CAPABILITY ([^\]]*)\]", line)
    assert m, line
    return set(m.group(1).upper().split())


def login_line(user) -> bytes:
    return f'LOGIN {user.username} "{user.password}"'.encode()


@pytest.fixture
def conns():
    opened: list[Conn] = []

    def make(port: int, implicit_tls: bool = False) -> Conn:
        c = Conn(port, implicit_tls)
        opened.append(c)
        return c

    yield make
    for c in opened:
        c.close()


# ---- STARTTLS and IMAPS ----


def test_starttls_with_imaplib(server, user):
    client = imaplib.IMAP4("127.0.0.1", server.imap_port, timeout=TIMEOUT)
    caps = set(client.capabilities)
    assert "STARTTLS" in caps and "AUTH=PLAIN" in caps, caps
    # Plain-text login is allowed on loopback by default.
    assert "LOGINDISABLED" not in caps, caps
    typ, _ = client.starttls(ssl_context=tls_context())
    assert typ == "OK"
    caps = set(client.capabilities)
    assert "STARTTLS" not in caps and "AUTH=PLAIN" in caps, caps
    assert client.login(user.username, user.password)[0] == "OK"
    assert client.select("INBOX")[0] == "OK"
    assert client.logout()[0] == "BYE"


def test_starttls_refusals(server, conns, user):
    c = conns(server.imap_port)
    assert c.command(b"a1", b"STARTTLS")[-1].startswith(b"a1 OK")
    c.starttls()
    lines = c.command(b"a2", b"CAPABILITY")
    assert b"STARTTLS" not in lines[0] and b"IMAP4rev1" in lines[0], lines
    assert c.command(b"a3", b"STARTTLS")[-1].startswith(b"a3 BAD")
    # After login STARTTLS is not valid at all.
    c2 = conns(server.imap_port)
    assert c2.command(b"b1", login_line(user))[-1].startswith(b"b1 OK")
    assert c2.command(b"b2", b"STARTTLS")[-1].startswith(b"b2 BAD")


def test_starttls_drops_commands_sent_before_the_handshake(server, conns, user):
    c = conns(server.imap_port)
    # A LOGIN pipelined after STARTTLS travels in plain text, where anyone on the path could
    # have added it: the server must not run it after the handshake.
    c.send(b"a1 STARTTLS\r\na2 " + login_line(user) + b"\r\n")
    assert c.line().startswith(b"a1 OK")
    c.starttls()
    lines = c.command(b"a3", b"SELECT INBOX")
    assert not any(line.startswith(b"a2 ") for line in lines), lines
    assert lines[-1].startswith(b"a3 BAD"), "still not logged in"
    assert c.command(b"a4", login_line(user))[-1].startswith(b"a4 OK")


def test_imaps_with_imaplib_fetches_a_message(server, api, user):
    raw = make_message(subject="Over TLS", body="secret body text")
    uid = upload_ok(api, user.id, inbox(api, user.id), raw)
    client = imaplib.IMAP4_SSL("127.0.0.1", server.imaps_port, ssl_context=tls_context(), timeout=TIMEOUT)
    caps = set(client.capabilities)
    assert "STARTTLS" not in caps and "AUTH=PLAIN" in caps and "LOGINDISABLED" not in caps, caps
    assert client.login(user.username, user.password)[0] == "OK"
    assert client.select("INBOX")[0] == "OK"
    typ, data = client.uid("FETCH", str(uid), "(BODY.PEEK[])")
    assert typ == "OK"
    assert data[0][1] == raw
    assert client.logout()[0] == "BYE"


def test_self_signed_certificate_is_made_once_and_verifies(instances):
    inst = instances.new()
    srv = inst.start()
    cert = inst.data_dir / "tls" / "cert.pem"
    key = inst.data_dir / "tls" / "key.pem"
    assert cert.is_file() and key.is_file()
    assert stat.S_IMODE(os.stat(key).st_mode) == 0o600
    first = cert.read_bytes()
    # The certificate names 127.0.0.1, so a client that trusts it verifies the server fully.
    ctx = tls_context(cafile=cert)
    with socket.create_connection(("127.0.0.1", srv.imaps_port), timeout=TIMEOUT) as s:
        with ctx.wrap_socket(s, server_hostname="127.0.0.1") as t:
            assert t.recv(1024).startswith(b"* OK")
            served = t.getpeercert(binary_form=True)
    assert served == ssl.PEM_cert_to_DER_cert(first.decode())
    srv.stop()
    srv = inst.start()
    assert cert.read_bytes() == first, "a restart reuses the certificate"
    client = imaplib.IMAP4("127.0.0.1", srv.imap_port, timeout=TIMEOUT)
    assert client.starttls(ssl_context=tls_context(cafile=cert))[0] == "OK"
    client.logout()


def test_configured_certificate_is_used(instances, tmp_path):
    # Make a pair with one server, then configure it on another installation.
    maker = instances.new()
    maker.start().stop()
    cert = tmp_path / "mine.pem"
    key = tmp_path / "mine.key"
    cert.write_bytes((maker.data_dir / "tls" / "cert.pem").read_bytes())
    key.write_bytes((maker.data_dir / "tls" / "key.pem").read_bytes())
    inst = instances.new()
    srv = inst.start(config=f'[tls]\ncert = "{cert}"\nkey = "{key}"\n')
    assert not (inst.data_dir / "tls").exists(), "no certificate is made when one is configured"
    client = imaplib.IMAP4_SSL("127.0.0.1", srv.imaps_port, ssl_context=tls_context(cafile=cert), timeout=TIMEOUT)
    client.logout()
    # Half a pair is a configuration error.
    bad = inst.run("serve", env={"SEALPOST_TLS_CERT": str(cert)})
    assert bad.returncode == 2, bad.stderr
    assert "tls.key" in bad.stderr


# ---- LOGINDISABLED ----


def test_logindisabled_until_tls(instances, conns):
    srv = instances.start(env={"SEALPOST_IMAP_ALLOW_PLAINTEXT_AUTH": "never"})
    user = create_user(srv.api())
    c = conns(srv.imap_port)
    caps = caps_of(c.greeting)
    assert {b"LOGINDISABLED", b"STARTTLS"} <= caps, caps
    assert not any(cap.startswith(b"AUTH=") for cap in caps), caps
    lines = c.command(b"a1", login_line(user))
    assert lines[-1].startswith(b"a1 NO [PRIVACYREQUIRED]"), lines
    creds = base64.b64encode(f"\0{user.username}\0{user.password}".encode())
    lines = c.command(b"a2", b"AUTHENTICATE PLAIN " + creds)
    assert lines[-1].startswith(b"a2 NO [PRIVACYREQUIRED]"), lines
    assert c.command(b"a3", b"STARTTLS")[-1].startswith(b"a3 OK")
    c.starttls()
    caps = set(c.command(b"a4", b"CAPABILITY")[0].upper().split())
    assert b"LOGINDISABLED" not in caps and b"AUTH=PLAIN" in caps, caps
    assert c.command(b"a5", b"AUTHENTICATE PLAIN " + creds)[-1].startswith(b"a5 OK")

    # imaplib over implicit TLS.
    client = imaplib.IMAP4_SSL("127.0.0.1", srv.imaps_port, ssl_context=tls_context(), timeout=TIMEOUT)
    assert "LOGINDISABLED" not in client.capabilities
    assert client.login(user.username, user.password)[0] == "OK"
    client.logout()


def test_bad_plaintext_auth_setting_is_refused(instances):
    inst = instances.new()
    result = inst.run("serve", env={"SEALPOST_IMAP_ALLOW_PLAINTEXT_AUTH": "sometimes"})
    assert result.returncode == 2
    assert "SEALPOST_IMAP_ALLOW_PLAINTEXT_AUTH" in result.stderr


# ---- COMPRESS=DEFLATE ----


@pytest.mark.parametrize("implicit_tls", [False, True], ids=["plain", "tls"])
def test_compress_deflate(server, api, conns, user, implicit_tls):
    big = "".join(f"line {i} of a long and repetitive body\n" for i in range(5000))
    raw = make_message(subject="Compressed", body=big)
    uid = upload_ok(api, user.id, inbox(api, user.id), raw)
    c = conns(server.imaps_port if implicit_tls else server.imap_port, implicit_tls)
    # Only after login, and only DEFLATE.
    assert c.command(b"c0", b"COMPRESS DEFLATE")[-1].startswith(b"c0 BAD")
    lines = c.command(b"c1", login_line(user))
    assert b"COMPRESS=DEFLATE" in caps_of(lines[-1])
    assert c.command(b"c2", b"COMPRESS LZW")[-1].startswith(b"c2 BAD")
    assert c.command(b"c3", b"COMPRESS DEFLATE")[-1].startswith(b"c3 OK")
    c.compress()
    assert c.command(b"c4", b"SELECT INBOX")[-1].startswith(b"c4 OK")
    lines = c.command(b"c5", f"UID FETCH {uid} (BODY.PEEK[])".encode())
    assert lines[-1].startswith(b"c5 OK"), lines
    assert raw in lines[0]
    # APPEND with a literal, compressed in the other direction.
    msg = make_message(subject="Appended compressed", body=big)
    c.send(b"c6 APPEND INBOX {" + str(len(msg)).encode() + b"}\r\n")
    assert c.line().startswith(b"+")
    c.send(msg + b"\r\n")
    lines = c.until(b"c6")
    assert lines[-1].startswith(b"c6 OK"), lines
    lines = c.command(b"c7", b'UID SEARCH SUBJECT "Appended compressed"')
    assert re.match(rb"\* SEARCH \d+", lines[0]), lines
    lines = c.command(b"c8", b"COMPRESS DEFLATE")
    assert lines[-1].startswith(b"c8 NO [COMPRESSIONACTIVE]"), lines
    lines = c.command(b"c9", b"LOGOUT")
    assert lines[0].startswith(b"* BYE") and lines[-1].startswith(b"c9 OK")
    # The repetitive message really was compressed on the wire.
    assert c.wire_in < len(raw) // 4, (c.wire_in, len(raw))


def test_compressed_garbage_closes_the_connection(server, conns, user):
    c = conns(server.imap_port)
    assert c.command(b"g1", login_line(user))[-1].startswith(b"g1 OK")
    assert c.command(b"g2", b"COMPRESS DEFLATE")[-1].startswith(b"g2 OK")
    c.sock.sendall(b"\xff" * 64)  # not a deflate stream
    with pytest.raises((EOFError, ConnectionError)):
        for _ in range(100):
            c.line()
    # The server goes on.
    c2 = conns(server.imap_port)
    assert c2.command(b"h1", login_line(user))[-1].startswith(b"h1 OK")


# ---- connection limits ----


def eventually(check, attempts: int = 100):
    """Retries `check` until it returns a true value (the server frees slots when it notices
    a closed socket, which is asynchronous); never asserts how long that took."""
    for _ in range(attempts):
        value = check()
        if value:
            return value
        time.sleep(0.1)
    return check()


def test_connection_limit_per_address(instances, conns):
    srv = instances.start(env={"SEALPOST_IMAP_MAX_CONNECTIONS_PER_IP": "3"})
    first = [conns(srv.imap_port), conns(srv.imap_port), conns(srv.imaps_port, implicit_tls=True)]
    assert all(c.greeting.startswith(b"* OK") for c in first)
    over = conns(srv.imap_port)
    assert over.greeting.startswith(b"* BYE"), over.greeting
    assert b"Too many connections" in over.greeting
    over_tls = conns(srv.imaps_port, implicit_tls=True)
    assert over_tls.greeting.startswith(b"* BYE"), over_tls.greeting
    first[0].command(b"x", b"LOGOUT")
    first[0].close()

    def greeted():
        c = Conn(srv.imap_port)
        c.close()
        return c.greeting.startswith(b"* OK")

    assert eventually(greeted), "a slot is free again after a logout"


def test_connection_limit_per_user(instances, conns):
    srv = instances.start(env={"SEALPOST_IMAP_MAX_CONNECTIONS_PER_USER": "2"})
    api = srv.api()
    alice, bob = create_user(api), create_user(api)
    a1, a2, a3 = conns(srv.imap_port), conns(srv.imap_port), conns(srv.imap_port)
    assert a1.command(b"l", login_line(alice))[-1].startswith(b"l OK")
    assert a2.command(b"l", login_line(alice))[-1].startswith(b"l OK")
    lines = a3.command(b"l", login_line(alice))
    assert lines[-1].startswith(b"l NO [LIMIT]"), lines
    # Another user is not affected, and the refused connection stays usable.
    assert conns(srv.imap_port).command(b"l", login_line(bob))[-1].startswith(b"l OK")
    assert a3.command(b"n", b"NOOP")[-1].startswith(b"n OK")
    a1.command(b"o", b"LOGOUT")

    def logged_in():
        c = Conn(srv.imap_port)
        try:
            return c.command(b"l", login_line(alice))[-1].startswith(b"l OK")
        finally:
            c.close()

    assert eventually(logged_in), "a session is allowed again after a logout"


# ---- failed logins ----


def test_failed_logins_are_throttled(instances, conns):
    srv = instances.start(
        env={"SEALPOST_IMAP_MAX_AUTH_FAILURES_PER_USER": "3", "SEALPOST_IMAP_MAX_AUTH_FAILURES_PER_IP": "6"}
    )
    api = srv.api()
    alice, bob = create_user(api), create_user(api)
    c = conns(srv.imap_port)
    for i in range(3):
        lines = c.command(b"f%d" % i, f'LOGIN {alice.username} "wrong"'.encode())
        assert lines[-1].startswith(b"f%d NO [AUTHENTICATIONFAILED]" % i), lines
    assert lines[0].startswith(b"* BYE"), "three failures close the connection"

    # Alice's name is now refused, even with the right password; Bob's is not.
    c = conns(srv.imap_port)
    lines = c.command(b"g1", login_line(alice))
    assert lines[-1].startswith(b"g1 NO [UNAVAILABLE]"), lines
    creds = base64.b64encode(f"\0{alice.username}\0{alice.password}".encode())
    lines = c.command(b"g2", b"AUTHENTICATE PLAIN " + creds)
    assert lines[-1].startswith(b"g2 NO [UNAVAILABLE]"), lines
    c = conns(srv.imap_port)
    assert c.command(b"g3", login_line(bob))[-1].startswith(b"g3 OK")

    # Three more failures from this address, under names that do not exist: the address is
    # refused now, whoever it logs in as.
    c = conns(srv.imap_port)
    for i in range(3):
        lines = c.command(b"h%d" % i, f'LOGIN nobody{i} "wrong"'.encode())
        assert lines[-1].startswith(b"h%d NO [AUTHENTICATIONFAILED]" % i), lines
    c = conns(srv.imap_port)
    lines = c.command(b"h9", login_line(bob))
    assert lines[-1].startswith(b"h9 NO [UNAVAILABLE]"), lines
    # imaplib sees a plain failure.
    client = imaplib.IMAP4("127.0.0.1", srv.imap_port, timeout=TIMEOUT)
    with pytest.raises(imaplib.IMAP4.error, match="UNAVAILABLE"):
        client.login(bob.username, bob.password)
