"""WildDuck encryption at rest with GnuPG (`gpg`) as the other side: `pubKey` checked and shown
as `keyInfo`, mail delivered over LMTP (and uploaded over REST) stored as RFC 3156 PGP/MIME
that `gpg --decrypt` turns back into the original message, mail that is already encrypted
kept as it is, forwarded copies encrypted with `encryptForwarded`, and every bad key refused
with a 400 that changes nothing.

Every test has its own GNUPGHOME (pytest's tmp_path); keys are made by gpg there.
"""

from __future__ import annotations

import re
import smtplib
import subprocess
from pathlib import Path

import pytest

from helpers import create_user, err, inbox, invalid, list_messages, make_message, message_path, ok, unique, upload
from test_outbound import Sink, relay_env

PASS = "correct horse battery"
ARMOR = re.compile(rb"-----BEGIN PGP MESSAGE-----\r?\n.*?-----END PGP MESSAGE-----", re.S)


class Gpg:
    def __init__(self, home: Path):
        self.home = home
        home.mkdir(mode=0o700, exist_ok=True)
        (home / "gpg-agent.conf").write_text("allow-loopback-pinentry\n")

    def run(self, *args: str, input: bytes = b"", check: bool = True) -> bytes:
        cmd = ["gpg", "--homedir", str(self.home), "--batch", "--yes", "--pinentry-mode", "loopback",
               "--passphrase", PASS, "--trust-model", "always", *args]
        p = subprocess.run(cmd, input=input, capture_output=True, timeout=120)
        if check:
            assert p.returncode == 0, f"{cmd}: {p.stderr.decode(errors='replace')}"
        return p.stdout

    def generate(self, uid: str, algo: str = "future-default", usage: str = "default", expire: str = "never",
                 *extra: str) -> str:
        self.run(*extra, "--quick-gen-key", uid, algo, usage, expire)
        return self.fingerprint(uid)

    def fingerprint(self, uid: str) -> str:
        out = self.run("--with-colons", "--list-keys", uid).decode()
        return next(l.split(":")[9] for l in out.splitlines() if l.startswith("fpr:")).lower()

    def export(self, fpr: str) -> str:
        return self.run("--armor", "--export", fpr).decode()

    def decrypt(self, data: bytes) -> bytes:
        return self.run("--decrypt", input=data)

    def stop(self) -> None:
        subprocess.run(["gpgconf", "--homedir", str(self.home), "--kill", "all"], capture_output=True)


@pytest.fixture
def gpg(tmp_path):
    g = Gpg(tmp_path / "gnupg")
    yield g
    g.stop()


@pytest.fixture(scope="module")
def sink():
    s = Sink().start()
    yield s
    s.stop()


@pytest.fixture(scope="module")
def server(tmp_path_factory, engine, sink):
    """This module's server, its relay pointed at the sink (for forwarded copies)."""
    from harness import Instances

    made = Instances(tmp_path_factory, engine)
    srv = made.start(env=relay_env(sink.port))
    yield srv
    alive = srv.alive()
    log = srv.log()
    made.cleanup()
    assert alive, f"the server died during the tests:\n{log[-4000:]}"
    assert PASS not in log


def lmtp_send(server, rcpt: str, raw: bytes, mail_from: str = "sender@remote.test") -> None:
    client = smtplib.LMTP("127.0.0.1", server.lmtp_port, timeout=30)
    try:
        assert not client.sendmail(mail_from, [rcpt], raw)
    finally:
        client.quit()


def stored(api, user) -> list[bytes]:
    box = inbox(api, user.id)
    uids = sorted(m["id"] for m in list_messages(api, user.id, box, limit=250)["results"])
    return [api.get(message_path(user.id, box, uid) + "/message.eml").content for uid in uids]


def encrypted_user(api, gpg, **fields):
    fpr = gpg.generate(f"Reader <{unique('r')}@example.test>")
    user = create_user(api, pubKey=gpg.export(fpr), encryptMessages=True, **fields)
    return user, fpr


def armored_part(raw: bytes) -> bytes:
    m = ARMOR.search(raw)
    assert m, raw[:2000]
    return m.group(0)


def test_gpg_key_is_accepted_and_shown_as_key_info(api, gpg):
    fpr = gpg.generate("Alice Example <alice@example.test>")
    user = create_user(api, pubKey=gpg.export(fpr))
    info = ok(api.get(f"/users/{user.id}"))
    assert info["keyInfo"] == {"name": "Alice Example", "address": "alice@example.test", "fingerprint": fpr}
    assert info["pubKey"].startswith("-----BEGIN PGP PUBLIC KEY BLOCK-----")
    # An RSA key set later by update; "" removes it again.
    rsa = gpg.generate("Bob <bob@example.test>", "rsa3072")
    gpg.run("--quick-add-key", rsa, "rsa3072", "encr", "never")
    ok(api.put(f"/users/{user.id}", json={"pubKey": gpg.export(rsa), "encryptMessages": True}))
    info = ok(api.get(f"/users/{user.id}"))
    assert info["keyInfo"]["fingerprint"] == rsa and info["encryptMessages"] is True
    ok(api.put(f"/users/{user.id}", json={"pubKey": ""}))
    info = ok(api.get(f"/users/{user.id}"))
    assert info["keyInfo"] is False and info["pubKey"] == ""


def test_lmtp_delivery_is_stored_encrypted_and_gpg_gives_back_the_original(api, server, gpg):
    user, _ = encrypted_user(api, gpg)
    secret_line = "The launch code is 0000, " + unique("s")
    original = make_message(subject="Quarterly numbers", body=secret_line + "\nsecond line",
                            headers={"X-Private": "inside only"})
    lmtp_send(server, user.address, original)
    [raw] = stored(api, user)
    text = raw.decode()
    # Readable outer header, RFC 3156 structure, nothing of the body or other fields in clear.
    assert "Subject: Quarterly numbers\r\n" in text and "From: Sender Name <sender@example.com>\r\n" in text
    assert re.search(r"Content-Type: multipart/encrypted; protocol=\"application/pgp-encrypted\"", text)
    assert "Content-Type: application/pgp-encrypted\r\n" in text and "Version: 1\r\n" in text
    assert secret_line not in text and "X-Private" not in text
    # gpg decrypts the stored body back to the message as delivered: our trace header
    # (Received:) and then the original bytes, byte for byte (the input was CRLF already, so
    # RFC 3156 canonicalisation changed nothing).
    plain = gpg.decrypt(armored_part(raw))
    assert plain.startswith(b"Return-Path: ") and b"\r\nReceived: " in plain, plain[:500]
    assert plain.endswith(original), plain[-500:]
    # The listing shows the readable header; the index holds no body text.
    box = inbox(api, user.id)
    [listed] = list_messages(api, user.id, box)["results"]
    assert listed["subject"] == "Quarterly numbers"
    assert secret_line not in str(listed)
    found = ok(api.get(f"/users/{user.id}/search", params={"query": "launch"}))
    assert found["total"] == 0, found
    found = ok(api.get(f"/users/{user.id}/search", params={"query": "Quarterly"}))
    assert found["total"] == 1, found


def test_rest_upload_is_encrypted_and_drafts_are_not(api, gpg):
    user, _ = encrypted_user(api, gpg)
    box = inbox(api, user.id)
    original = make_message(subject="uploaded", body="uploaded secret")
    ok(upload(api, user.id, box, original))
    draft = make_message(subject="draft", body="draft text")
    ok(upload(api, user.id, box, draft, params={"draft": "true"}))
    got = stored(api, user)
    assert len(got) == 2
    [kept] = [r for r in got if r == draft]  # the draft, as it was
    [encrypted] = [r for r in got if r is not kept]
    assert b"uploaded secret" not in encrypted and b"Subject: uploaded\r\n" in encrypted
    assert gpg.decrypt(armored_part(encrypted)) == original


def test_already_encrypted_mail_is_stored_as_it_is(api, server, gpg):
    user, fpr = encrypted_user(api, gpg)
    ciphertext = gpg.run("--armor", "--encrypt", "--recipient", fpr, input=b"Content-Type: text/plain\r\n\r\nhi\r\n")
    ciphertext = ciphertext.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    pgp_mime = (b"From: a@remote.test\r\nTo: b@example.test\r\nSubject: pgp mime\r\nMIME-Version: 1.0\r\n"
                b"Content-Type: multipart/encrypted; protocol=\"application/pgp-encrypted\"; boundary=\"b1\"\r\n\r\n"
                b"--b1\r\nContent-Type: application/pgp-encrypted\r\n\r\nVersion: 1\r\n\r\n"
                b"--b1\r\nContent-Type: application/octet-stream\r\n\r\n" + ciphertext + b"\r\n--b1--\r\n")
    inline = (b"From: a@remote.test\r\nTo: b@example.test\r\nSubject: inline pgp\r\n\r\n" + ciphertext)
    smime = (b"From: a@remote.test\r\nSubject: smime\r\nMIME-Version: 1.0\r\n"
             b"Content-Type: application/pkcs7-mime; smime-type=enveloped-data; name=smime.p7m\r\n"
             b"Content-Transfer-Encoding: base64\r\n\r\nMIAGCSqGSIb3DQEHA6CAMIACAQAxggE=\r\n")
    for m in (pgp_mime, inline, smime):
        lmtp_send(server, user.address, m)
    got = stored(api, user)
    assert len(got) == 3
    for m in (pgp_mime, inline, smime):
        assert sum(r.endswith(m) for r in got) == 1, m[:80]
    assert all(r.count(b"BEGIN PGP MESSAGE") <= 1 for r in got)


def test_bad_keys_are_refused_and_change_nothing(api, gpg):
    good = gpg.generate(f"Good <{unique('g')}@example.test>")
    user = create_user(api, pubKey=gpg.export(good))
    before = ok(api.get(f"/users/{user.id}"))

    sign_only = gpg.generate("Signer <s@example.test>", "ed25519", "sign")
    expired = gpg.generate("Old <old@example.test>", "future-default", "default", "1y",
                           "--faked-system-time", "20200101T000000!")
    revoked = gpg.generate("Gone <gone@example.test>")
    rev = (gpg.home / "openpgp-revocs.d" / f"{revoked.upper()}.rev").read_text()
    gpg.run("--import", input=rev.replace(":-----BEGIN PGP PUBLIC KEY BLOCK-----", "-----BEGIN PGP PUBLIC KEY BLOCK-----").encode())
    bad = {
        "malformed": "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nnot a key\n-----END PGP PUBLIC KEY BLOCK-----\n",
        "garbage": "hello world",
        "no encryption subkey": gpg.export(sign_only),
        "expired": gpg.export(expired),
        "revoked": gpg.export(revoked),
        "oversized": "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\n" + "A" * 70000 + "\n-----END PGP PUBLIC KEY BLOCK-----\n",
        "secret key": gpg.run("--armor", "--export-secret-keys", good).decode(),
    }
    reasons = {}
    for what, key in bad.items():
        body = invalid(api.put(f"/users/{user.id}", json={"pubKey": key, "encryptMessages": True}))
        reasons[what] = body["error"]
        name = unique("bad")
        invalid(api.post("/users", json={"username": name, "password": PASS, "pubKey": key}))
        assert ok(api.get("/users", params={"query": name}))["total"] == 0
    assert ok(api.get(f"/users/{user.id}")) == before
    assert "encryption subkey" in reasons["no encryption subkey"]
    assert "expired" in reasons["expired"] and "revoked" in reasons["revoked"]
    assert "too large" in reasons["oversized"]


def test_forwarded_copy_is_encrypted_with_encrypt_forwarded(api, server, gpg, sink):
    user, _ = encrypted_user(api, gpg, encryptForwarded=True)
    target = unique("fwd") + "@elsewhere.example"
    ok(api.post(f"/users/{user.id}/filters", json={"query_subject": "pass on", "action_forward": target}))
    original = make_message(subject="pass on", body="forwarded secret")
    lmtp_send(server, user.address, original)
    [(_, _, copy)] = sink.wait_to(target)
    assert b"multipart/encrypted" in copy and b"forwarded secret" not in copy
    assert gpg.decrypt(armored_part(copy)).endswith(original)
    # Without encryptForwarded the copy goes as it is (the stored one is still encrypted).
    ok(api.put(f"/users/{user.id}", json={"encryptForwarded": False}))
    second = make_message(subject="pass on", body="plain forward")
    lmtp_send(server, user.address, second)
    copies = sink.wait_to(target, count=2)
    assert len(copies) == 2 and copies[1][2].endswith(second)
    assert all(b"multipart/encrypted" in r for r in stored(api, user))
