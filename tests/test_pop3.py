"""POP3 over real sockets (RFC 1939, CAPA of RFC 2449, STLS of RFC 2595, AUTH PLAIN of
RFC 5034), with Python's poplib and a raw client: logins, CAPA, the maildrop commands checked
byte for byte against the REST API's message.eml, deletions applied at QUIT only (and seen over
IMAP and REST at once), RSET, errors, STLS and POP3S, the maxMessages cap, the per-user
session limit, pipelining, and a maildrop fixed at login."""

from __future__ import annotations

import base64
import imaplib
import poplib
import re
import socket
import ssl

import pytest

from helpers import PASSWORD, inbox, make_message, message_path, ok, upload_ok

TIMEOUT = 30


def tls_context() -> ssl.SSLContext:
    """A client context that does not verify the server's (self-signed) certificate."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


class Raw:
    """A raw POP3 connection: send bytes, read status lines and multi-line responses."""

    def __init__(self, port: int, tls: bool = False):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
        if tls:
            self.sock = tls_context().wrap_socket(self.sock, server_hostname="127.0.0.1")
        self.buf = b""
        self.greeting = self.line()

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def line(self) -> bytes:
        while b"\r\n" not in self.buf:
            data = self.sock.recv(65536)
            if not data:
                raise EOFError(f"connection closed; pending {self.buf!r}")
            self.buf += data
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def multiline(self) -> list[bytes]:
        """The lines of a multi-line body up to the final '.', as sent (still stuffed)."""
        lines = []
        while (line := self.line()) != b".":
            lines.append(line)
        return lines

    def command(self, text: str) -> bytes:
        self.send(text.encode() + b"\r\n")
        return self.line()

    def login(self, user) -> None:
        assert self.command(f"USER {user.username}").startswith(b"+OK")
        reply = self.command(f"PASS {user.password}")
        assert reply.startswith(b"+OK"), reply

    def closed(self) -> bool:
        """Whether the server closed the connection (after what is buffered)."""
        try:
            while True:
                data = self.sock.recv(65536)
                if not data:
                    return True
                self.buf += data
        except (ConnectionResetError, socket.timeout):
            return False

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass


@pytest.fixture
def pop(server):
    """`pop(user=None)`: a poplib client, logged in with USER/PASS when a user is given."""
    opened: list[poplib.POP3] = []

    def make(user=None) -> poplib.POP3:
        client = poplib.POP3("127.0.0.1", server.pop3_port, timeout=TIMEOUT)
        opened.append(client)
        if user is not None:
            client.user(user.username)
            assert client.pass_(user.password).startswith(b"+OK")
        return client

    yield make
    for client in opened:
        try:
            client.close()
        except Exception:
            pass


@pytest.fixture
def raw(server):
    opened: list[Raw] = []

    def make(user=None) -> Raw:
        r = Raw(server.pop3_port)
        opened.append(r)
        if user is not None:
            r.login(user)
        return r

    yield make
    for r in opened:
        r.close()


def fill(api, user, count: int, body=None) -> tuple[str, list[int], list[bytes]]:
    """Uploads `count` unseen messages of different sizes to INBOX; returns (inbox, uids, raws)."""
    mid = inbox(api, user.id)
    raws = [
        make_message(subject=f"Message {i}", body=(body or "Body line {i}\n").format(i=i) + "x" * i)
        for i in range(count)
    ]
    uids = [upload_ok(api, user.id, mid, raw, {"unseen": "true"}) for raw in raws]
    return mid, uids, raws


def eml(api, user, mid, uid) -> bytes:
    r = api.get(message_path(user.id, mid, uid) + "/message.eml")
    assert r.status_code == 200, r.text
    return r.content


def exists(api, user, mid, uid) -> bool:
    r = api.get(message_path(user.id, mid, uid))
    assert r.status_code in (200, 404), r.text
    return r.status_code == 200


# ---- login ----


def test_user_pass_login_and_bad_password(pop, user, create_user):
    client = pop()
    assert client.getwelcome().startswith(b"+OK")
    client.user(user.username)
    assert client.pass_(user.password).startswith(b"+OK")
    assert client.stat() == (0, 0)
    assert client.quit().startswith(b"+OK")

    other = create_user()
    bad = pop()
    bad.user(other.username)
    with pytest.raises(poplib.error_proto) as e:
        bad.pass_("wrong password")
    assert e.value.args[0].startswith(b"-ERR [AUTH]"), e.value.args
    # The connection goes on in the AUTHORIZATION state: the right password works now.
    bad.user(other.address)
    assert bad.pass_(other.password).startswith(b"+OK")


def test_unknown_user_and_pass_without_user(raw):
    r = raw()
    assert r.command("PASS whatever").startswith(b"-ERR")
    assert r.command("USER nobody-here").startswith(b"+OK")
    assert r.command("PASS secret").startswith(b"-ERR [AUTH]")


def test_auth_plain_initial_response_and_continuation(raw, user):
    token = base64.b64encode(f"\0{user.username}\0{user.password}".encode()).decode()
    r = raw()
    assert r.command(f"AUTH PLAIN {token}").startswith(b"+OK")
    assert r.command("STAT") == b"+OK 0 0"

    r = raw()
    assert r.command("AUTH PLAIN") == b"+ "
    assert r.command(token).startswith(b"+OK")
    assert r.command("STAT") == b"+OK 0 0"

    r = raw()
    assert r.command("AUTH PLAIN") == b"+ "
    assert r.command("*").startswith(b"-ERR")
    bad = base64.b64encode(f"\0{user.username}\0not it".encode()).decode()
    assert r.command(f"AUTH PLAIN {bad}").startswith(b"-ERR [AUTH]")
    assert r.command("AUTH CRAM-MD5").startswith(b"-ERR")
    assert r.command("AUTH PLAIN !!!").startswith(b"-ERR")
    assert r.command("STAT").startswith(b"-ERR")

    r = raw()
    r.send(b"AUTH\r\n")
    assert r.line().startswith(b"+OK")
    assert r.multiline() == [b"PLAIN"]
    assert r.command("APOP alice 0123456789abcdef0123456789abcdef").startswith(b"-ERR")


def test_capa(pop, user):
    client = pop()
    caps = client.capa()
    for cap in ["TOP", "UIDL", "USER", "RESP-CODES", "AUTH-RESP-CODE", "PIPELINING", "STLS"]:
        assert cap in caps, caps
    assert caps["SASL"] == ["PLAIN"], caps
    assert caps["IMPLEMENTATION"] == ["Sealpost"], caps
    assert "APOP" not in caps
    assert b"<" not in client.getwelcome(), "no APOP timestamp in the greeting"
    client.user(user.username)
    client.pass_(user.password)
    after = client.capa()
    assert "TOP" in after and "UIDL" in after
    assert "USER" not in after and "STLS" not in after and "SASL" not in after


# ---- the maildrop ----


def test_stat_list_uidl_top_retr_byte_exact(api, pop, user):
    body = ".starts with a dot\n..two dots\nline {i}\n.\nend"
    mid, uids, _ = fill(api, user, 3, body=body)
    stored = [eml(api, user, mid, uid) for uid in uids]
    client = pop(user)
    assert client.stat() == (3, sum(len(m) for m in stored))
    resp, listing, _ = client.list()
    assert resp.startswith(b"+OK")
    assert listing == [f"{i + 1} {len(m)}".encode() for i, m in enumerate(stored)]
    assert client.list(2) == f"+OK 2 {len(stored[1])}".encode()

    resp, ids, _ = client.uidl()
    unique = [line.split(b" ", 1)[1] for line in ids]
    assert [line.split(b" ")[0] for line in ids] == [b"1", b"2", b"3"]
    assert len(set(unique)) == 3
    assert all(re.fullmatch(rb"[\x21-\x7e]{1,70}", u) for u in unique)
    assert client.uidl(3).split(b" ")[2] == unique[2]

    for n, message in enumerate(stored, start=1):
        resp, lines, _ = client.retr(n)
        assert resp.startswith(b"+OK")
        assert b"\r\n".join(lines) + b"\r\n" == message

    head, _, rest = stored[0].partition(b"\r\n\r\n")
    _, lines, _ = client.top(1, 0)
    assert b"\r\n".join(lines) + b"\r\n" == head + b"\r\n\r\n"
    _, lines, _ = client.top(1, 2)
    first_two = b"".join(rest.split(b"\r\n")[i] + b"\r\n" for i in range(2))
    assert b"\r\n".join(lines) + b"\r\n" == head + b"\r\n\r\n" + first_two
    client.quit()

    # UIDL is the same in the next session.
    again = pop(user)
    assert again.uidl()[1] == ids


def test_retr_is_byte_stuffed_on_the_wire(api, raw, user):
    mid, uids, _ = fill(api, user, 1, body=".dot\n..dots\n.\nend")
    message = eml(api, user, mid, uids[0])
    r = raw(user)
    reply = r.command("RETR 1")
    assert reply == f"+OK {len(message)} octets".encode()
    lines = r.multiline()
    expected = [(b"." + line if line.startswith(b".") else line) for line in message[:-2].split(b"\r\n")]
    assert lines == expected
    assert b"..dot" in lines and b"...dots" in lines and b".." in lines


def test_large_message_retr_and_top(api, pop, user):
    """A message of several MB (a blob file, read in chunks) with dot-lines all through it."""
    mid = inbox(api, user.id)
    body = "\n".join(("." if i % 7 == 0 else "") + f"line {i} " + "y" * (i % 90) for i in range(60000))
    raw_message = make_message(subject="big", body=body)
    assert len(raw_message) > 3_000_000
    uid = upload_ok(api, user.id, mid, raw_message)
    stored = eml(api, user, mid, uid)
    client = pop(user)
    assert client.list(1) == f"+OK 1 {len(stored)}".encode()
    resp, lines, _ = client.retr(1)
    assert resp == f"+OK {len(stored)} octets".encode()
    assert b"\r\n".join(lines) + b"\r\n" == stored
    head, _, rest = stored.partition(b"\r\n\r\n")
    _, lines, _ = client.top(1, 3)
    assert lines == head.split(b"\r\n") + [b""] + rest.split(b"\r\n")[:3]
    client.quit()


def test_dele_quit_removes_and_imap_and_rest_see_it(api, pop, connect, user):
    mid, uids, raws = fill(api, user, 3)
    imap = connect(user)
    typ, data = imap.select("INBOX")
    assert typ == "OK" and data == [b"3"]

    client = pop(user)
    assert client.dele(1).startswith(b"+OK")
    assert client.dele(3).startswith(b"+OK")
    assert client.stat()[0] == 1
    with pytest.raises(poplib.error_proto):
        client.retr(1)
    # Not yet: deletions wait for QUIT.
    assert exists(api, user, mid, uids[0])
    assert client.quit().startswith(b"+OK")

    assert not exists(api, user, mid, uids[0])
    assert exists(api, user, mid, uids[1])
    assert not exists(api, user, mid, uids[2])
    typ, _ = imap.noop()
    assert typ == "OK"
    typ, data = imap.uid("SEARCH", "ALL")
    assert typ == "OK" and data == [str(uids[1]).encode()]
    fresh = connect(user)
    typ, data = fresh.select("INBOX")
    assert data == [b"1"]
    # What QUIT removed went to the archive (as IMAP EXPUNGE and the REST delete do) and
    # can be restored from it.
    listed = ok(api.get(f"/users/{user.id}/archived"))["results"]
    assert sorted(m["subject"] for m in listed) == ["Message 0", "Message 2"]
    aid = next(m["id"] for m in listed if m["subject"] == "Message 2")
    back = ok(api.post(f"/users/{user.id}/archived/{aid}/restore"))
    assert eml(api, user, mid, back["uid"]) == raws[2]


def test_dele_without_quit_keeps_messages(api, raw, pop, user):
    mid, uids, _ = fill(api, user, 2)
    r = raw(user)
    assert r.command("DELE 1").startswith(b"+OK")
    assert r.command("DELE 2").startswith(b"+OK")
    assert r.command("STAT") == b"+OK 0 0"
    r.close()
    # The next session (after the first one was cut) still has both.
    assert pop(user).stat()[0] == 2
    assert exists(api, user, mid, uids[0]) and exists(api, user, mid, uids[1])


def test_rset_undeletes(api, pop, user):
    mid, uids, raws = fill(api, user, 2)
    client = pop(user)
    client.dele(1)
    assert client.stat()[0] == 1
    assert client.rset().startswith(b"+OK")
    assert client.stat()[0] == 2
    client.retr(1)
    client.quit()
    assert exists(api, user, mid, uids[0]) and exists(api, user, mid, uids[1])
    # RETR then QUIT flags the message \Seen; the other one stays unseen.
    assert ok(api.get(message_path(user.id, mid, uids[0])))["seen"] is True
    assert ok(api.get(message_path(user.id, mid, uids[1])))["seen"] is False


def test_errors_and_states(api, raw, user):
    fill(api, user, 2)
    r = raw()
    for command in ["STAT", "LIST", "RETR 1", "DELE 1", "RSET", "UIDL", "TOP 1 0", "NOOP"]:
        assert r.command(command).startswith(b"-ERR"), command
    assert r.command("FROB").startswith(b"-ERR")
    r.login(user)
    for command in ["RETR 3", "RETR 0", "LIST 99", "UIDL 4294967295", "TOP 7 1", "DELE 0",
                    "RETR x", "RETR", "TOP 1", "STAT 1", "LIST 1 2", "RETR 99999999999"]:
        assert r.command(command).startswith(b"-ERR"), command
    assert r.command("USER again").startswith(b"-ERR")
    assert r.command("STLS").startswith(b"-ERR")
    assert r.command("DELE 1").startswith(b"+OK")
    assert r.command("DELE 1").startswith(b"-ERR")
    assert r.command("LIST 1").startswith(b"-ERR")
    assert r.command("NOOP") == b"+OK"
    # An over-long line is refused and skipped; the session goes on.
    r.send(b"NOOP " + b"x" * 5000 + b"\r\nSTAT\r\n")
    assert r.line() == b"-ERR Line too long"
    assert r.line().startswith(b"+OK 1 ")
    assert r.command("QUIT").startswith(b"+OK")
    assert r.closed()


def test_pipelining(api, server, user):
    mid, uids, _ = fill(api, user, 2)
    sizes = [len(eml(api, user, mid, uid)) for uid in uids]
    r = Raw(server.pop3_port)
    try:
        r.send(
            f"CAPA\r\nUSER {user.username}\r\nPASS {user.password}\r\nSTAT\r\nLIST\r\nUIDL\r\n"
            "RETR 2\r\nDELE 1\r\nNOOP\r\nQUIT\r\n".encode()
        )
        assert r.line().startswith(b"+OK")
        assert b"PIPELINING" in r.multiline()
        assert r.line().startswith(b"+OK")
        assert r.line().startswith(b"+OK")
        assert r.line() == f"+OK 2 {sum(sizes)}".encode()
        assert r.line().startswith(b"+OK")
        assert r.multiline() == [f"1 {sizes[0]}".encode(), f"2 {sizes[1]}".encode()]
        assert r.line().startswith(b"+OK")
        assert len(r.multiline()) == 2
        assert r.line() == f"+OK {sizes[1]} octets".encode()
        assert b"\r\n".join(r.multiline()) + b"\r\n" == eml(api, user, mid, uids[1])
        assert r.line().startswith(b"+OK")
        assert r.line() == b"+OK"
        assert r.line().startswith(b"+OK")
        assert r.closed()
    finally:
        r.close()
    assert not exists(api, user, mid, uids[0]) and exists(api, user, mid, uids[1])


def test_maildrop_is_fixed_at_login(api, pop, connect, user):
    mid, uids, _ = fill(api, user, 2)
    client = pop(user)
    before = client.stat()
    assert before[0] == 2
    upload_ok(api, user.id, mid, make_message(subject="late REST"))
    imap = connect(user)
    typ, _ = imap.append("INBOX", None, None, make_message(subject="late IMAP"))
    assert typ == "OK"
    assert client.stat() == before
    assert len(client.list()[1]) == 2
    with pytest.raises(poplib.error_proto):
        client.retr(3)
    client.quit()
    assert pop(user).stat()[0] == 4


def test_message_removed_elsewhere_during_session(api, pop, user):
    mid, uids, _ = fill(api, user, 2)
    client = pop(user)
    assert ok(api.delete(message_path(user.id, mid, uids[0])))
    with pytest.raises(poplib.error_proto) as e:
        client.retr(1)
    assert b"removed" in e.value.args[0]
    client.retr(2)
    client.dele(1)
    assert client.quit().startswith(b"+OK")
    assert exists(api, user, mid, uids[1])


# ---- TLS ----


def test_stls_and_pop3s(api, server, user):
    fill(api, user, 1)
    client = poplib.POP3("127.0.0.1", server.pop3_port, timeout=TIMEOUT)
    try:
        assert client.stls(tls_context()).startswith(b"+OK")
        assert "STLS" not in client.capa()
        client.user(user.username)
        client.pass_(user.password)
        assert client.stat()[0] == 1
        client.quit()
    finally:
        client.close()
    client = poplib.POP3_SSL("127.0.0.1", server.pop3s_port, timeout=TIMEOUT, context=tls_context())
    try:
        assert "STLS" not in client.capa()
        client.user(user.username)
        client.pass_(user.password)
        assert client.stat()[0] == 1
        _, lines, _ = client.retr(1)
        assert lines
        client.quit()
    finally:
        client.close()


def test_plaintext_login_refused_before_tls(instances):
    srv = instances.start(env={"SEALPOST_POP3_ALLOW_PLAINTEXT_AUTH": "never"})
    api = srv.api()
    data = ok(api.post("/users", json={"username": "tlsonly", "password": PASSWORD}))
    assert data["id"]
    client = poplib.POP3("127.0.0.1", srv.pop3_port, timeout=TIMEOUT)
    try:
        caps = client.capa()
        assert "STLS" in caps and "USER" not in caps and "SASL" not in caps
        with pytest.raises(poplib.error_proto) as e:
            client.user("tlsonly")
        assert e.value.args[0].startswith(b"-ERR [AUTH]")
        client.stls(tls_context())
        caps = client.capa()
        assert "USER" in caps and caps["SASL"] == ["PLAIN"]
        client.user("tlsonly")
        assert client.pass_(PASSWORD).startswith(b"+OK")
        client.quit()
    finally:
        client.close()


# ---- configured limits ----


def test_configured_limits(instances):
    """maxMessages, sessions per user ([IN-USE]), connections per address, and the
    failed-login throttle, on one server configured tightly."""
    srv = instances.start(env={
        "SEALPOST_POP3_MAX_MESSAGES": "3",
        "SEALPOST_POP3_MAX_CONNECTIONS_PER_USER": "1",
        "SEALPOST_POP3_MAX_CONNECTIONS_PER_IP": "2",
        "SEALPOST_POP3_MAX_AUTH_FAILURES_PER_USER": "2",
    })
    api = srv.api()
    uid = ok(api.post("/users", json={"username": "capped", "password": PASSWORD}))["id"]
    assert ok(api.post("/users", json={"username": "guessed", "password": PASSWORD}))["id"]

    class U:
        id = uid
        username = "capped"
        password = PASSWORD

    mid, uids, _ = fill(api, U, 5)
    sizes = [len(eml(api, U, mid, u)) for u in uids]
    r = Raw(srv.pop3_port)
    try:
        r.login(U)
        assert r.command("STAT") == f"+OK 3 {sum(sizes[2:])}".encode()
        r.send(b"LIST\r\n")
        r.line()
        assert r.multiline() == [f"{i + 1} {s}".encode() for i, s in enumerate(sizes[2:])]
        r.send(b"UIDL\r\n")
        r.line()
        listed = [line.split(b" ")[1].split(b"-")[1] for line in r.multiline()]
        assert listed == [str(u).encode() for u in uids[2:]]

        # A second session of the same user is refused while the first is open.
        second = Raw(srv.pop3_port)
        try:
            assert second.command("USER capped").startswith(b"+OK")
            assert second.command(f"PASS {PASSWORD}").startswith(b"-ERR [IN-USE]")
            # A third connection from this address is one too many.
            third = socket.create_connection(("127.0.0.1", srv.pop3_port), timeout=TIMEOUT)
            try:
                reply = third.recv(1024)
                assert reply.startswith(b"-ERR [SYS/TEMP]"), reply
                assert third.recv(1024) == b""
            finally:
                third.close()
            # Two failed logins for a name refuse its logins for a while, right password or not.
            for _ in range(2):
                assert second.command("USER guessed").startswith(b"+OK")
                assert second.command("PASS wrong").startswith(b"-ERR [AUTH]")
            assert second.command("USER guessed").startswith(b"+OK")
            reply = second.command(f"PASS {PASSWORD}")
            assert reply.startswith(b"-ERR [SYS/TEMP]"), reply
            # That was the connection's third failed login: it is closed.
            assert second.line().startswith(b"-ERR")
            assert second.closed()
        finally:
            second.close()

        assert r.command("DELE 1").startswith(b"+OK")
        assert r.command("QUIT").startswith(b"+OK")
    finally:
        r.close()
    assert not exists(api, U, mid, uids[2])
    assert exists(api, U, mid, uids[0]) and exists(api, U, mid, uids[1])

