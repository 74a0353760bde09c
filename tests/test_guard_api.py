"""The OX Guard key-management API under /guard: sessions from POST /authenticate (token: true)
and the Guard login, key rings created through the API and used by GnuPG, keys made by GnuPG
uploaded and re-protected, the errors that change nothing, password resets mailed through
the relay, the decrypted message source for a Guard `auth` token, and a scan of the database
and the server log for key passwords and unprotected secret keys.

GnuPG runs with a temporary home per test (`--batch --pinentry-mode loopback`).
"""

from __future__ import annotations

import base64
import email
import email.policy
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from harness import Instances, clean_env
from helpers import PASSWORD, create_user, err, inbox, ok, upload_ok
from test_outbound import Sink, relay_env

KEY_PW = "correct key horse 1"


# ---- GnuPG ----


class Gpg:
    """gpg with its own home directory."""

    def __init__(self):
        self.home = Path(tempfile.mkdtemp(prefix="gpg-"))
        os.chmod(self.home, 0o700)
        # No passphrase caching: a wrong passphrase must fail after a right one.
        (self.home / "gpg-agent.conf").write_text("default-cache-ttl 0\nmax-cache-ttl 0\nallow-loopback-pinentry\n")

    def run(self, *args: str, passphrase: str | None = None, input: bytes | None = None,
            check: bool = True, faked_time: str | None = None) -> subprocess.CompletedProcess:
        cmd = ["gpg", "--homedir", str(self.home), "--batch", "--yes", "--no-tty", "--trust-model", "always"]
        if faked_time:
            cmd += ["--faked-system-time", faked_time]
        if passphrase is not None:
            cmd += ["--pinentry-mode", "loopback", "--passphrase", passphrase]
        r = subprocess.run(cmd + list(args), input=input, capture_output=True, timeout=120, env=clean_env())
        if check:
            assert r.returncode == 0, (args, r.stderr.decode(errors="replace"))
        return r

    def gen(self, uid: str, passphrase: str, algo: str = "default", usage: str = "default",
            expire: str = "never", faked_time: str | None = None) -> str:
        self.run("--quick-gen-key", uid, algo, usage, expire, passphrase=passphrase, faked_time=faked_time)
        return self.fingerprint(uid)

    def fingerprint(self, uid: str) -> str:
        out = self.run("--with-colons", "--list-keys", uid).stdout.decode()
        return next(line.split(":")[9] for line in out.splitlines() if line.startswith("fpr:"))

    def export(self, fpr: str) -> str:
        return self.run("--armor", "--export", fpr).stdout.decode()

    def export_secret(self, fpr: str, passphrase: str) -> str:
        return self.run("--armor", "--export-secret-keys", fpr, passphrase=passphrase).stdout.decode()

    def import_key(self, data: str | bytes, passphrase: str | None = None, check: bool = True):
        raw = data.encode() if isinstance(data, str) else data
        return self.run("--import", passphrase=passphrase, input=raw, check=check)

    def cleanup(self):
        subprocess.run(["gpgconf", "--homedir", str(self.home), "--kill", "all"], capture_output=True, env=clean_env())
        shutil.rmtree(self.home, ignore_errors=True)


@pytest.fixture
def gpg():
    g = Gpg()
    yield g
    g.cleanup()


@pytest.fixture
def gpg2():
    g = Gpg()
    yield g
    g.cleanup()


# ---- the server and Guard calls ----


@pytest.fixture(scope="module")
def sink():
    s = Sink().start()
    yield s
    s.stop()


@pytest.fixture(scope="module")
def installation(tmp_path_factory, engine, sink):
    """This module's installation and server: relay pointed at the sink."""
    made = Instances(tmp_path_factory, engine)
    inst = made.new(env=relay_env(sink.port))
    srv = inst.start()
    yield inst, srv
    alive = srv.alive()
    made.cleanup()
    assert alive, f"the server died during the tests:\n{srv.log()[-4000:]}"


@pytest.fixture(scope="module")
def server(installation):
    return installation[1]


def session_for(api, user) -> str:
    body = ok(api.post("/authenticate", json={"username": user.username, "password": PASSWORD, "token": True}))
    assert re.fullmatch(r"[0-9a-f]{64}", body["token"]), body
    return body["token"]


class Guard:
    """Guard actions for one user's session."""

    def __init__(self, api, session: str):
        self.api = api
        self.session = session

    def call(self, method: str, module: str, action: str, json=None, **params):
        params["session"] = self.session
        return self.api.request(method, f"/guard/{module}/{action}", params=params, json=json)

    def ok(self, method: str, module: str, action: str, json=None, **params):
        r = self.call(method, module, action, json=json, **params)
        assert r.status_code == 200, (action, r.status_code, r.text)
        return r.json()

    def rings(self) -> list[dict]:
        return self.ok("GET", "keys", "getKeys")["data"]["keyRings"]

    def create(self, password: str = KEY_PW, name: str = "Ann Example") -> dict:
        return self.ok("POST", "keys", "create", json={"password": password, "name": name})["data"]


def guard_for(api) -> tuple[Guard, object]:
    user = create_user(api)
    return Guard(api, session_for(api, user)), user


def guard_err(resp, status: int, code: str) -> dict:
    assert resp.status_code == status, (resp.status_code, resp.text)
    body = resp.json()
    assert body["code"] == code, body
    for field in ("error", "error_params", "error_id", "error_desc", "categories", "category"):
        assert field in body, body
    return body


# ---- sessions and login ----


def test_authenticate_token_and_session(api):
    user = create_user(api)
    plain = ok(api.post("/authenticate", json={"username": user.username, "password": PASSWORD}))
    assert "token" not in plain
    err(api.post("/authenticate", json={"username": user.username, "password": PASSWORD, "token": True,
                                        "scope": "imap"}), 400)
    err(api.post("/authenticate", json={"username": user.username, "password": "wrong", "token": True}), 403)
    g = Guard(api, session_for(api, user))
    assert g.ok("GET", "keys", "checkKeys") == {"data": {"hasPrivateKey": False, "hasPublicKey": False}}
    # OX clients' spelling: /guard/keys?action=checkKeys
    r = api.get("/guard/keys", params={"action": "checkKeys", "session": g.session})
    assert r.json()["data"]["hasPublicKey"] is False
    guard_err(api.get("/guard/keys/checkKeys"), 401, "SessionExpired")
    guard_err(api.get("/guard/keys/checkKeys", params={"session": "0" * 64}), 401, "SessionExpired")
    guard_err(api.get("/guard/keys/checkKeys", params={"session": "nonsense"}), 401, "SessionExpired")
    guard_err(g.call("GET", "keys", "noSuchAction"), 404, "NotFound")


def test_login_settings_and_auth(api):
    g, user = guard_for(api)
    body = g.ok("POST", "login", "login", json={"language": "de_DE"})
    assert body["primaryEmail"] == user.address
    assert body["auth"] is None and body["pubKey"] == ""
    assert body["recoveryAvail"] is True and body["settings"]["noRecovery"] is False
    assert body["settings"]["min_password_length"] >= 6
    assert body["language"] == "de_DE" and "de_DE" in body["lang"]
    # No key yet: a key password cannot be checked.
    guard_err(g.call("POST", "login", "login", json={"ox_password": KEY_PW}), 404, "NotFound")
    g.create()
    body = g.ok("POST", "login", "login", json={"ox_password": KEY_PW})
    assert body["auth"] and "BEGIN PGP PUBLIC KEY BLOCK" in body["pubKey"]
    guard_err(g.call("POST", "login", "login", json={"ox_password": "wrong password"}), 403, "BadPassword")
    # The Guard login also starts a session from the account password.
    r = api.post("/guard/login/login", json={"username": user.username, "password": PASSWORD})
    assert r.status_code == 200, r.text
    other = Guard(api, r.json()["session"])
    assert other.ok("GET", "keys", "checkKeys")["data"] == {"hasPrivateKey": True, "hasPublicKey": True}
    guard_err(api.post("/guard/login/login", json={"username": user.username, "password": "nope"}), 403, "BadPassword")


# ---- key rings and GnuPG ----


def test_created_key_works_with_gpg(api, gpg, gpg2):
    g, user = guard_for(api)
    ring = g.create()
    assert ring["current"] is True
    key = ring["publicRing"]["keys"][0]
    fpr = key["fingerPrint"]
    assert key["encryptionKey"] is True and key["masterKey"] is True and key["hasPrivateKey"] is True
    assert key["revoked"] is False and key["expired"] is False
    assert any(user.address in u for u in key["userIds"])
    assert "BEGIN PGP PRIVATE KEY BLOCK" in ring["privateRing"]["ring"]
    assert g.ok("GET", "keys", "checkKeys")["data"] == {"hasPrivateKey": True, "hasPublicKey": True}
    rings = g.rings()
    assert len(rings) == 1 and rings[0]["current"] and rings[0]["privateRing"] is None

    # Public part without a password; private part only with it.
    pub = g.call("GET", "keys", "downloadKey", keyType="public")
    assert pub.status_code == 200 and "PRIVATE KEY" not in pub.text and "PUBLIC KEY" in pub.text
    guard_err(g.call("GET", "keys", "downloadKey", keyType="private"), 400, "InputValidationError")
    guard_err(g.call("POST", "keys", "downloadKey", json={"keyType": "private", "password": "wrong pass"}),
              403, "BadPassword")
    both = g.call("POST", "keys", "downloadKey", json={"keyType": "public_private", "password": KEY_PW})
    assert both.status_code == 200 and "PRIVATE KEY" in both.text

    # Someone else encrypts to the public key; the owner's gpg decrypts and signs.
    gpg2.import_key(pub.text)
    r = gpg2.run("--armor", "--encrypt", "--recipient", fpr, input=b"Hello Guard\n")
    ciphertext = r.stdout
    gpg.import_key(both.text, passphrase=KEY_PW)
    plain = gpg.run("--decrypt", passphrase=KEY_PW, input=ciphertext).stdout
    assert plain == b"Hello Guard\n"
    assert gpg.run("--decrypt", passphrase="wrong pass", input=ciphertext, check=False).returncode != 0
    signed = gpg.run("--armor", "--sign", "--local-user", fpr, passphrase=KEY_PW, input=b"signed text\n").stdout
    v = gpg2.run("--verify", input=signed)
    assert fpr.upper() in v.stderr.decode().replace(" ", "").upper() or b"Good signature" in v.stderr


def test_encrypted_message_source_with_auth(api, gpg2):
    g, user = guard_for(api)
    ring = g.create()
    gpg2.import_key(ring["publicRing"]["ring"])
    fpr = ring["publicRing"]["keys"][0]["fingerPrint"]
    original = (f"From: Bob <bob@example.org>\r\nTo: {user.address}\r\nSubject: secret\r\n"
                "Content-Type: text/plain\r\n\r\nThe secret text.\r\n").encode()
    armored = gpg2.run("--armor", "--encrypt", "--recipient", fpr, input=original).stdout.decode()
    boundary = "b1"
    stored = (f"From: Bob <bob@example.org>\r\nTo: {user.address}\r\nSubject: secret\r\nMIME-Version: 1.0\r\n"
              f"Content-Type: multipart/encrypted; protocol=\"application/pgp-encrypted\"; boundary=\"{boundary}\"\r\n\r\n"
              f"--{boundary}\r\nContent-Type: application/pgp-encrypted\r\n\r\nVersion: 1\r\n\r\n"
              f"--{boundary}\r\nContent-Type: application/octet-stream\r\n\r\n{armored}\r\n--{boundary}--\r\n").encode()
    mbox = inbox(api, user.id)
    uid = upload_ok(api, user.id, mbox, stored)
    path = f"/users/{user.id}/mailboxes/{mbox}/messages/{uid}/message.eml"
    assert api.get(path).content == stored
    auth = g.ok("POST", "login", "login", json={"ox_password": KEY_PW})["auth"]
    r = api.get(path, params={"guardAuth": auth})
    assert r.status_code == 200, r.text
    assert r.content.replace(b"\r\n", b"\n") == original.replace(b"\r\n", b"\n")
    r = api.get(path, headers={"X-Guard-Auth": auth})
    assert b"The secret text." in r.content
    err(api.get(path, params={"guardAuth": "A" * 64}), 403, "AuthExpired")
    # Another user's token does not work for this user.
    g2, _ = guard_for(api)
    g2.create()
    auth2 = g2.ok("POST", "login", "login", json={"ox_password": KEY_PW})["auth"]
    err(api.get(path, params={"guardAuth": auth2}), 403, "AuthExpired")
    # A changed password ends the old tokens.
    new = g.ok("POST", "login", "changepass", json={"oldpass": KEY_PW, "newpass": "another key pw"})["auth"]
    err(api.get(path, params={"guardAuth": auth}), 403, "AuthExpired")
    assert b"The secret text." in api.get(path, params={"guardAuth": new}).content


def test_gpg_secret_key_upload_reprotected(api, gpg, gpg2):
    g, user = guard_for(api)
    fpr = gpg.gen(f"Gee Pee <{user.address}>", "gpg old pass")
    secret = gpg.export_secret(fpr, "gpg old pass")
    guard_err(g.call("POST", "keys", "upload", json={"key": secret, "keyPassword": "wrong one",
                                                     "newPassword": "brand new pw"}), 403, "BadPassword")
    guard_err(g.call("POST", "keys", "upload", json={"key": secret}), 400, "InputValidationError")
    assert g.rings() == []
    assert g.ok("POST", "keys", "upload", json={"key": secret, "keyPassword": "gpg old pass",
                                                "newPassword": "brand new pw"}) == {"data": {}}
    rings = g.rings()
    assert len(rings) == 1 and rings[0]["current"]
    assert rings[0]["publicRing"]["keys"][0]["fingerPrint"] == fpr.upper()
    # Only the new password unlocks it now.
    guard_err(g.call("POST", "login", "login", json={"ox_password": "gpg old pass"}), 403, "BadPassword")
    assert g.ok("POST", "login", "login", json={"ox_password": "brand new pw"})["auth"]
    guard_err(g.call("POST", "keys", "getKey", json={"keyType": "private", "password": "gpg old pass"}),
              403, "BadPassword")
    body = g.ok("POST", "keys", "getKey", json={"keyType": "private", "password": "brand new pw"})["data"]
    assert body["publicRing"] is None
    exported = body["privateRing"]["ring"]
    # GnuPG unlocks the exported key with the new password only.
    ciphertext = gpg.run("--armor", "--encrypt", "--recipient", fpr, input=b"for the uploaded key\n").stdout
    assert gpg2.import_key(exported, passphrase="gpg old pass", check=False) is not None
    assert gpg2.run("--decrypt", passphrase="gpg old pass", input=ciphertext, check=False).returncode != 0
    assert gpg2.run("--decrypt", passphrase="brand new pw", input=ciphertext).stdout == b"for the uploaded key\n"
    # A public key alone uploads without passwords and does not replace the current ring.
    other = gpg.gen(f"Other <other-{user.username}@example.org>", "x pass word")
    ok_body = g.ok("POST", "keys", "upload", json={"key": gpg.export(other)})
    assert ok_body == {"data": {}}
    rings = g.rings()
    assert len(rings) == 2
    by_fpr = {r["publicRing"]["keys"][0]["fingerPrint"]: r for r in rings}
    assert by_fpr[fpr.upper()]["current"] and not by_fpr[other.upper()]["current"]
    assert by_fpr[other.upper()]["publicRing"]["keys"][0]["hasPrivateKey"] is False
    # Mark the other current, then delete it (public only: no password to check) and the first
    # comes back as current.
    other_id = by_fpr[other.upper()]["publicRing"]["keys"][0]["id"]
    first_id = by_fpr[fpr.upper()]["publicRing"]["keys"][0]["id"]
    assert g.ok("PUT", "keys", "setCurrentKey", keyid=other_id) == {"data": {}}
    assert g.ok("GET", "keys", "getKey", keyType="public")["data"]["publicRing"]["keys"][0]["id"] == other_id
    g.ok("POST", "keys", "delete", json={"keyid": other_id, "password": "anything"})
    assert [r["current"] for r in g.rings()] == [True]
    # Deleting a ring with a private key needs its password.
    guard_err(g.call("POST", "keys", "delete", json={"keyid": first_id, "password": "gpg old pass"}),
              403, "BadPassword")
    assert len(g.rings()) == 1
    guard_err(g.call("POST", "keys", "delete", json={"keyid": 12345, "password": "brand new pw"}), 404, "NotFound")
    g.ok("POST", "keys", "delete", json={"keyid": first_id, "password": "brand new pw"})
    assert g.rings() == []


def test_bad_uploads_change_nothing(api, gpg):
    g, user = guard_for(api)
    g.create()
    before = g.rings()

    def refused(body, status, code):
        guard_err(g.call("POST", "keys", "upload", json=body), status, code)
        assert g.rings() == before

    refused({"key": "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nnot a key\n-----END PGP PUBLIC KEY BLOCK-----\n"},
            400, "MalformedKey")
    refused({"key": "hello"}, 400, "MalformedKey")
    refused({}, 400, "InputValidationError")
    # Signing-only key: no encryption subkey.
    sign_only = gpg.gen("Sign Only <sign@example.org>", "pw sign only", algo="ed25519", usage="sign")
    refused({"key": gpg.export(sign_only)}, 400, "NoEncryptionSubkey")
    # Expired: made in 2020, valid for one day.
    expired = gpg.gen("Old Key <old@example.org>", "pw old key", expire="1d", faked_time="20200101T000000")
    refused({"key": gpg.export(expired)}, 400, "KeyExpired")
    # Revoked: gpg's own revocation certificate, imported.
    revoked = gpg.gen("Gone Key <gone@example.org>", "pw gone key")
    rev = (gpg.home / "openpgp-revocs.d" / f"{revoked}.rev").read_text()
    gpg.import_key(rev.replace(":-----BEGIN PGP PUBLIC KEY BLOCK-----", "-----BEGIN PGP PUBLIC KEY BLOCK-----"))
    refused({"key": gpg.export(revoked)}, 400, "KeyRevoked")
    # One bad certificate in a ring refuses all of it.
    good = gpg.gen("Good Key <good@example.org>", "pw good key")
    refused({"key": gpg.export(good) + gpg.export(revoked)}, 400, "KeyRevoked")
    # Oversized.
    refused({"key": "A" * (300 * 1024)}, 413, "TooLarge")
    r = g.call("POST", "keys", "upload", json={"key": "A" * (2 * 1024 * 1024)})
    assert r.status_code == 413 and r.json()["code"] == "TooLarge"
    # A secret key with a too-short new password.
    secret = gpg.export_secret(good, "pw good key")
    refused({"key": secret, "keyPassword": "pw good key", "newPassword": "123"}, 400, "InputValidationError")
    # Bad parameters elsewhere.
    guard_err(g.call("POST", "keys", "create", json={"password": "short", "name": "x"}), 400, "InputValidationError")
    guard_err(g.call("POST", "keys", "create", json={"name": "x"}), 400, "InputValidationError")
    guard_err(g.call("GET", "keys", "getKey", keyid="not-a-number", keyType="public"), 400, "InputValidationError")
    guard_err(g.call("GET", "keys", "getKey", keyType="secret"), 400, "InputValidationError")
    guard_err(g.call("PUT", "keys", "setCurrentKey", keyid=42), 404, "NotFound")
    guard_err(g.call("POST", "login", "changepass", json={"oldpass": "wrong one", "newpass": "whatever pw"}),
              403, "BadPassword")
    assert g.rings() == before
    assert g.ok("POST", "login", "login", json={"ox_password": KEY_PW})["auth"]


# ---- secondary address and password reset ----


def reset_password_from(raw: bytes) -> str:
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    text = msg.get_body(preferencelist=("plain",)).get_content()
    return re.search(r"new key password: (\S+)", text).group(1)


def test_secondary_email_and_reset(api, sink):
    g, user = guard_for(api)
    assert g.ok("GET", "login", "getsecondary") == ""
    g.create()
    second = f"second-{user.username}@remote.test"
    guard_err(g.call("POST", "login", "changesecondary", json={"password": "wrong pw!", "email": second}),
              403, "BadPassword")
    guard_err(g.call("POST", "login", "changesecondary", json={"password": KEY_PW, "email": "not an address"}),
              400, "InputValidationError")
    assert g.ok("GET", "login", "getsecondary") == ""
    assert g.ok("POST", "login", "changesecondary", json={"password": KEY_PW, "email": second}) == "OK"
    assert g.ok("GET", "login", "getsecondary") == second

    assert g.ok("POST", "login", "resetpass") == "ok"
    mails = sink.wait_to(second)
    assert len(mails) == 1
    new = reset_password_from(mails[0][2])
    assert len(new) >= 12
    guard_err(g.call("POST", "login", "login", json={"ox_password": KEY_PW}), 403, "BadPassword")
    assert g.ok("POST", "login", "login", json={"ox_password": new})["auth"]

    # Without a secondary address the password goes to the main one.
    g2, user2 = guard_for(api)
    g2.create()
    assert g2.ok("POST", "login", "resetpass") == "primary"
    mails = sink.wait_to(user2.address)
    assert len(mails) == 1
    assert g2.ok("POST", "login", "login", json={"ox_password": reset_password_from(mails[0][2])})["auth"]


def test_no_recovery(instances, sink):
    srv = instances.start(env={**relay_env(sink.port), "SEALPOST_GUARD_RECOVERY": "false"})
    api = srv.api()
    g, user = guard_for(api)
    assert g.ok("POST", "login", "login")["settings"]["noRecovery"] is True
    g.create()
    guard_err(g.call("POST", "login", "resetpass"), 403, "NoRecovery")
    assert g.ok("POST", "login", "login", json={"ox_password": KEY_PW})["auth"]


# ---- nothing secret stored or logged ----


def secret_scalars(binary: bytes) -> list[bytes]:
    """Secret key material of the unprotected (s2k usage 0) v4 EdDSA/ECDH secret key packets in
    `binary`: the secret MPI's bytes."""
    out = []
    i = 0
    while i < len(binary):
        tag_byte = binary[i]
        if tag_byte & 0x40:  # new format
            tag = tag_byte & 0x3F
            l0 = binary[i + 1]
            if l0 < 192:
                length, hdr = l0, 2
            elif l0 < 224:
                length, hdr = ((l0 - 192) << 8) + binary[i + 2] + 192, 3
            else:
                length, hdr = int.from_bytes(binary[i + 2:i + 6], "big"), 6
        else:
            tag = (tag_byte >> 2) & 0x0F
            lt = tag_byte & 3
            n = {0: 1, 1: 2, 2: 4}[lt]
            length, hdr = int.from_bytes(binary[i + 1:i + 1 + n], "big"), 1 + n
        body = binary[i + hdr:i + hdr + length]
        if tag in (5, 7) and body[0] == 4:
            algo = body[5]
            j = 6
            oid_len = body[j]
            j += 1 + oid_len
            bits = int.from_bytes(body[j:j + 2], "big")
            j += 2 + (bits + 7) // 8
            if algo == 18:  # ECDH KDF parameters
                j += 1 + body[j]
            assert body[j] == 0, "expected an unprotected key"
            j += 1
            bits = int.from_bytes(body[j:j + 2], "big")
            out.append(body[j + 2:j + 2 + (bits + 7) // 8])
        i += hdr + length
    return out


def database_bytes(inst) -> bytes:
    if inst.db is not None:
        r = subprocess.run(["pg_dump", "--data-only", inst.db.url], capture_output=True, timeout=120, env=clean_env())
        assert r.returncode == 0, r.stderr
        return r.stdout
    data = b""
    for p in sorted(inst.data_dir.rglob("*")):
        if p.is_file():
            data += p.read_bytes()
    return data


def dearmored_blocks(text: bytes) -> list[bytes]:
    out = []
    for m in re.finditer(rb"-----BEGIN PGP [A-Z ]+-----(.*?)-----END PGP", text, re.S):
        lines = [ln.strip() for ln in m.group(1).replace(b"\\r\\n", b"\n").replace(b"\\n", b"\n").splitlines()]
        body = b"".join(ln for ln in lines if ln and b":" not in ln and not ln.startswith(b"="))
        try:
            out.append(base64.b64decode(body + b"=" * (-len(body) % 4)))
        except ValueError:
            pass
    return out


def test_no_passphrase_or_unprotected_key_stored_or_logged(installation, api, gpg):
    inst, srv = installation
    g, user = guard_for(api)
    created_pw = "created-ring-pass-5f3a"
    g.create(password=created_pw)
    g.ok("POST", "login", "login", json={"ox_password": created_pw})
    g.ok("POST", "keys", "getKey", json={"keyType": "private", "password": created_pw})
    g.call("POST", "login", "login", json={"ox_password": "wrong-guess-pass-77"})
    # A gpg key without passphrase, uploaded: the server must protect it.
    fpr = gpg.gen(f"Bare <{user.address}>", "", algo="ed25519", usage="sign")
    sub = gpg.run("--quick-add-key", fpr, "cv25519", "encr", passphrase="")
    assert sub.returncode == 0
    bare = gpg.run("--export-secret-keys", fpr, passphrase="").stdout
    scalars = secret_scalars(bare)
    assert len(scalars) == 2 and all(len(s) >= 31 for s in scalars)
    armored_bare = gpg.run("--armor", "--export-secret-keys", fpr, passphrase="").stdout.decode()
    upload_pw = "uploaded-new-pass-91c2"
    g.ok("POST", "keys", "upload", json={"key": armored_bare, "newPassword": upload_pw})
    changed_pw = "changed-pass-0b7e11"
    g.ok("POST", "login", "changepass", json={"oldpass": created_pw, "newpass": changed_pw})

    db = database_bytes(inst)
    log = srv.log().encode()
    assert b"BEGIN PGP PRIVATE KEY BLOCK" in db, "the test must see the stored (protected) keys"
    for haystack, what in ((db, "database"), (log, "server log")):
        for pw in (created_pw, upload_pw, changed_pw, "wrong-guess-pass-77", PASSWORD):
            assert pw.encode() not in haystack, f"{pw!r} found in the {what}"
        for block in dearmored_blocks(haystack) + [haystack]:
            for s in scalars:
                assert s not in block, f"unprotected secret key material in the {what}"
    # Every stored secret key packet is protected (read through SQL: the raw files may hold
    # stale fragments of pages).
    rings = stored_secret_rings(inst)
    assert len(rings) >= 4, rings  # created: private + recovery; uploaded: private + recovery
    for ring in rings:
        r = subprocess.run(["gpg", "--list-packets"], input=ring.encode(), capture_output=True, env=clean_env(),
                           timeout=60)
        listing = r.stdout.decode(errors="replace")
        packets = re.findall(r"^:secret (?:sub)?key packet:(.*?)(?=^:|\Z)", listing, re.S | re.M)
        assert packets, listing
        for p in packets:
            assert "protected" in p, listing


def stored_secret_rings(inst) -> list[str]:
    query = "SELECT private_ring FROM guard_keyrings WHERE private_ring IS NOT NULL " \
            "UNION ALL SELECT recovery FROM guard_keyrings WHERE recovery IS NOT NULL"
    if inst.db is not None:
        r = subprocess.run(["psql", inst.db.url, "-qAt", "-R", "\x1e", "-c", query], capture_output=True, text=True,
                           timeout=60, env=clean_env())
        assert r.returncode == 0, r.stderr
        return [x for x in r.stdout.split("\x1e") if x.strip()]
    import sqlite3
    conn = sqlite3.connect(f"file:{inst.data_dir / 'sealpost.db'}?mode=ro", uri=True)
    try:
        return [row[0] for row in conn.execute(query)]
    finally:
        conn.close()
