"""External recipients' public keys (the Guard external-key endpoints), Autocrypt on LMTP
delivery, and the Web Key Directory, against the real server with keys made by GnuPG.

Every test makes its own users (and its own domain where domains matter)."""

from __future__ import annotations

import base64
import os
import secrets
import shutil
import smtplib
import subprocess
import tempfile
from pathlib import Path

import pytest
import requests

from helpers import create_user, make_message, ok, unique

GPG = shutil.which("gpg")
pytestmark = pytest.mark.skipif(GPG is None, reason="gpg is not installed")


# ---- GnuPG in a throw-away home ----


class Gpg:
    def __init__(self):
        self.home = tempfile.mkdtemp(prefix="sealpost-gpg-")
        os.chmod(self.home, 0o700)

    def run(self, *args: str, input: bytes | None = None) -> bytes:
        r = subprocess.run(
            [GPG, "--homedir", self.home, "--batch", "--pinentry-mode", "loopback", "--passphrase", "", *args],
            input=input,
            capture_output=True,
            timeout=120,
        )
        assert r.returncode == 0, r.stderr.decode(errors="replace")
        return r.stdout

    def gen(self, uid: str, algo: str = "future-default", usage: str = "default", expire: str = "1y",
            faked_time: str | None = None) -> str:
        """Makes a key; returns its fingerprint."""
        extra = ["--faked-system-time", faked_time] if faked_time else []
        self.run(*extra, "--quick-gen-key", uid, algo, usage, expire)
        return self.fingerprint(uid)

    def fingerprint(self, uid: str) -> str:
        out = self.run("--with-colons", "--list-keys", uid).decode()
        return next(line.split(":")[9] for line in out.splitlines() if line.startswith("fpr:"))

    def export(self, fpr: str, armor: bool = True) -> bytes:
        return self.run(*(["--armor"] if armor else []), "--export", fpr)

    def revoke(self, fpr: str) -> None:
        rev = (Path(self.home) / "openpgp-revocs.d" / f"{fpr}.rev").read_text()
        self.run("--import", input=rev.replace(":-----BEGIN", "-----BEGIN").encode())

    def wkd_hash(self, address: str) -> str:
        out = self.run("--with-wkd-hash", "--list-keys", address).decode()
        suffix = "@" + address.split("@")[1]
        return next(line.strip().split("@")[0] for line in out.splitlines() if line.strip().endswith(suffix)
                    and "<" not in line)

    def imported_fingerprints(self, data: bytes) -> list[str]:
        self.run("--import", input=data)
        out = self.run("--with-colons", "--list-keys").decode().splitlines()
        # The primary keys' fingerprints: each `fpr` record right after a `pub` record.
        return [b.split(":")[9] for a, b in zip(out, out[1:]) if a.startswith("pub:") and b.startswith("fpr:")]

    def cleanup(self) -> None:
        shutil.rmtree(self.home, ignore_errors=True)


@pytest.fixture(scope="module")
def gpg():
    g = Gpg()
    yield g
    g.cleanup()


@pytest.fixture
def fresh_gpg():
    g = Gpg()
    yield g
    g.cleanup()


def new_domain() -> str:
    return f"d{secrets.token_hex(4)}.test"


# ---- Web Key Directory ----


def wkd_get(server, path: str, host: str | None = None, **params) -> requests.Response:
    headers = {"Host": host} if host else {}
    return requests.get(server.base_url + path, headers=headers, params=params, timeout=60)


def test_wkd_direct_and_advanced(server, api, gpg, fresh_gpg):
    domain = new_domain()
    address = f"Wkd.User@{domain}"
    fpr = gpg.gen(f"Wkd User <{address.lower()}>")
    create_user(api, address=address, pubKey=gpg.export(fpr).decode())
    # GnuPG's own hash of the local part: the server must answer at exactly that path.
    h = gpg.wkd_hash(address.lower())
    assert len(h) == 32

    r = wkd_get(server, f"/.well-known/openpgpkey/hu/{h}", host=domain, l="Wkd.User")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/octet-stream"
    assert not r.content.startswith(b"-----BEGIN"), "WKD serves binary keys"
    assert fpr in fresh_gpg.imported_fingerprints(r.content)

    # Without `l` (the server finds the address by hashing), and the advanced method.
    assert wkd_get(server, f"/.well-known/openpgpkey/hu/{h}", host=f"{domain}:443").content == r.content
    adv = wkd_get(server, f"/.well-known/openpgpkey/{domain}/hu/{h}", host=f"openpgpkey.{domain}")
    assert adv.status_code == 200 and adv.content == r.content
    for path, host in ((f"/.well-known/openpgpkey/policy", domain),
                       (f"/.well-known/openpgpkey/{domain}/policy", f"openpgpkey.{domain}")):
        assert wkd_get(server, path, host=host).status_code == 200

    # Unknown local part, a wrong `l`, a malformed hash, a domain not hosted here: 404.
    other = gpg.wkd_hash(address.lower()).replace(h[0], "y" if h[0] != "y" else "b", 1)
    assert wkd_get(server, f"/.well-known/openpgpkey/hu/{other}", host=domain).status_code == 404
    assert wkd_get(server, f"/.well-known/openpgpkey/hu/{h}", host=domain, l="someone").status_code == 404
    assert wkd_get(server, "/.well-known/openpgpkey/hu/not-a-hash", host=domain).status_code == 404
    stranger = new_domain()
    assert wkd_get(server, f"/.well-known/openpgpkey/hu/{h}", host=stranger).status_code == 404
    assert wkd_get(server, "/.well-known/openpgpkey/policy", host=stranger).status_code == 404
    assert wkd_get(server, f"/.well-known/openpgpkey/{stranger}/policy").status_code == 404


def zbase32_sha1(local: str) -> str:
    """The WKD hash as the draft defines it (checked against GnuPG's in the test above)."""
    import hashlib

    alphabet = "ybndrfg8ejkmcpqxot1uwisza345h769"
    bits = "".join(f"{b:08b}" for b in hashlib.sha1(local.lower().encode()).digest())
    return "".join(alphabet[int(bits[i:i + 5], 2)] for i in range(0, 160, 5))


def test_wkd_hash_helper_matches_gpg(gpg):
    assert zbase32_sha1("Joe.Doe") == "iy9q119eutrkn8s1mk4r39qejnbu3n5q"
    fpr = gpg.gen("Mixed <Mixed.Case@example.net>")
    assert fpr
    assert gpg.wkd_hash("mixed.case@example.net") == zbase32_sha1("Mixed.Case")


def test_wkd_user_without_key_or_other_address(server, api, gpg):
    domain = new_domain()
    create_user(api, address=f"nokey@{domain}")
    # A key whose user ids do not name the address is not published for it.
    fpr = gpg.gen(f"Someone Else <someone@{new_domain()}>")
    create_user(api, address=f"mismatch@{domain}", pubKey=gpg.export(fpr).decode())
    for local in ("nokey", "mismatch"):
        h = zbase32_sha1(local)
        assert wkd_get(server, f"/.well-known/openpgpkey/hu/{h}", host=domain, l=local).status_code == 404
        assert wkd_get(server, f"/.well-known/openpgpkey/hu/{h}", host=domain).status_code == 404


def test_wkd_serves_the_current_guard_key(server, api, gpg, fresh_gpg):
    domain = new_domain()
    address = f"guarded@{domain}"
    old = gpg.gen(f"Guarded <{address}>")
    user = create_user(api, address=address, pubKey=gpg.export(old).decode())
    h = zbase32_sha1("guarded")
    first = wkd_get(server, f"/.well-known/openpgpkey/hu/{h}", host=domain, l="guarded")
    assert first.status_code == 200
    # A Guard key ring, once created, is the current key: WKD serves it instead of pubKey.
    session = session_for(api, user)
    r = api.post("/guard/keys/create", params={"session": session},
                 json={"password": "guard key password", "name": "Guarded"})
    assert r.status_code == 200, r.text
    guard_fpr = r.json()["data"]["publicRing"]["keys"][0]["fingerPrint"]
    served = wkd_get(server, f"/.well-known/openpgpkey/hu/{h}", host=domain, l="guarded")
    assert served.status_code == 200 and served.content != first.content
    assert fresh_gpg.imported_fingerprints(served.content) == [guard_fpr.upper()]


def test_wkd_needs_no_access_token(instances, gpg, fresh_gpg):
    token = "wkd-" + secrets.token_hex(8)
    server = instances.start(env={"SEALPOST_ACCESS_TOKEN": token})
    api = server.api(token)
    domain = new_domain()
    fpr = gpg.gen(f"Tok <tok@{domain}>")
    create_user(api, address=f"tok@{domain}", pubKey=gpg.export(fpr).decode())
    assert server.api().get("/users").status_code == 403
    h = gpg.wkd_hash(f"tok@{domain}")
    r = wkd_get(server, f"/.well-known/openpgpkey/hu/{h}", host=domain, l="tok")
    assert r.status_code == 200
    assert fpr in fresh_gpg.imported_fingerprints(r.content)


# ---- the Guard external-key endpoints ----


def session_for(api, user) -> str:
    body = ok(api.post("/authenticate", json={"username": user.username, "password": user.password, "token": True}))
    return body["token"]


class Guard:
    """The external-key actions for one user's session."""

    def __init__(self, api, user):
        self.api = api
        self.session = session_for(api, user)

    def call(self, action: str, json=None, **params) -> requests.Response:
        params["session"] = self.session
        return self.api.request("POST" if json is not None else "GET", f"/guard/keys/{action}", params=params,
                                json=json)

    def upload(self, key: bytes | str) -> requests.Response:
        return self.call("uploadExternalPublicKey", json={"key": key.decode() if isinstance(key, bytes) else key})

    def rings(self, **params) -> list[dict]:
        r = self.call("getExternalPublicKeys", **params)
        assert r.status_code == 200, r.text
        return r.json()["data"]["externalPublicKeyRings"]

    def fingerprints(self, **params) -> list[str]:
        return [ring["publicRing"]["keys"][0]["fingerPrint"] for ring in self.rings(**params)]


def guard_error(resp: requests.Response, status: int) -> dict:
    assert resp.status_code == status, (resp.status_code, resp.text)
    body = resp.json()
    for field in ("error", "error_id", "code"):
        assert field in body, body
    return body


def test_upload_list_delete(api, gpg):
    domain = new_domain()
    user = create_user(api, address=f"owner@{domain}")
    g = Guard(api, user)
    bob = gpg.gen(f"Bob <bob@{new_domain()}>")
    carol = gpg.gen(f"Carol <carol@{new_domain()}>")
    assert g.rings() == []
    r = g.upload(gpg.export(bob))
    assert r.status_code == 200 and r.json() == {"data": {}}, r.text
    # Several keys in one upload; the same key again refreshes it (one row per fingerprint).
    g.upload(gpg.export(bob) + gpg.export(carol))
    rings = g.rings()
    assert sorted(ring["publicRing"]["keys"][0]["fingerPrint"] for ring in rings) == sorted([bob, carol])
    ring = next(r for r in rings if r["publicRing"]["keys"][0]["fingerPrint"] == bob)
    assert ring["shareLevel"] == 0 and ring["shared"] is False and ring["inline"] is False
    assert ring["source"] == "upload" and ring["ids"] == bob[-16:]
    key = ring["publicRing"]["keys"][0]
    assert key["masterKey"] and key["encryptionKey"] and not key["expired"] and not key["revoked"]
    assert key["hasPrivateKey"] is False and key["validSeconds"] == 365 * 86400
    assert "BEGIN PGP PUBLIC KEY BLOCK" in ring["publicRing"]["ring"]
    # The stored ring is the key GnuPG made.
    check = Gpg()
    try:
        assert check.imported_fingerprints(ring["publicRing"]["ring"].encode()) == [bob]
    finally:
        check.cleanup()
    # Lookup by address.
    bob_address = f"bob@{ring['publicRing']['keys'][0]['userIds'][0].split('@')[1].rstrip('>')}"
    assert g.fingerprints(email=bob_address.upper()) == [bob]
    # Delete by key id, then by fingerprint; an unknown id is a 404 and changes nothing.
    guard_error(g.call("deleteExternalPublicKey", ids="0123456789ABCDEF"), 404)
    assert len(g.rings()) == 2
    assert g.call("deleteExternalPublicKey", ids=bob[-16:]).status_code == 200
    assert g.fingerprints() == [carol]
    assert g.call("deleteExternalPublicKey", ids=carol.lower()).status_code == 200
    assert g.rings() == []
    # Inline preference.
    g.upload(gpg.export(carol))
    assert g.call("inlineExternalPublicKey", ids=carol, inline="true").status_code == 200
    assert g.rings()[0]["inline"] is True


def test_bad_uploads_change_nothing(api, gpg):
    user = create_user(api, address=f"strict@{new_domain()}")
    g = Guard(api, user)
    good = gpg.gen(f"Good <good@{new_domain()}>")
    g.upload(gpg.export(good))
    before = g.rings()
    sign_only = gpg.gen(f"Signer <signer@{new_domain()}>", algo="ed25519", usage="sign")
    expired = gpg.gen(f"Old <old@{new_domain()}>", expire="1d", faked_time="20200101T000000")
    revoked = gpg.gen(f"Gone <gone@{new_domain()}>")
    gpg.revoke(revoked)
    fresh = gpg.gen(f"Fresh <fresh@{new_domain()}>")
    armored = gpg.export(good).decode()
    cases = {
        "malformed": "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nnot a key\n-----END PGP PUBLIC KEY BLOCK-----\n",
        "truncated": armored[: len(armored) // 2],
        "no encryption subkey": gpg.export(sign_only).decode(),
        "expired": gpg.export(expired).decode(),
        "revoked": gpg.export(revoked).decode(),
        "secret key": gpg.run("--armor", "--export-secret-keys", fresh).decode(),
        # One bad key refuses the whole upload, the good one with it.
        "mixed": (gpg.export(fresh) + gpg.export(sign_only)).decode(),
    }
    for name, key in cases.items():
        body = guard_error(g.upload(key), 400)
        assert body["error"], name
    oversized = "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\n" + ("A" * 76 + "\n") * 4000 + "-----END PGP PUBLIC KEY BLOCK-----\n"
    r = g.upload(oversized)
    assert r.status_code == 413, r.text
    guard_error(g.call("uploadExternalPublicKey", json={}), 400)
    assert g.rings() == before
    # No session: refused.
    r = api.get("/guard/keys/getExternalPublicKeys")
    assert r.status_code == 401


def test_share_within_the_domain(api, gpg):
    domain = new_domain()
    owner = create_user(api, address=f"sharer@{domain}")
    colleague = create_user(api, address=f"colleague@{domain}")
    outsider = create_user(api, address=f"outsider@{new_domain()}")
    go, gc, gx = Guard(api, owner), Guard(api, colleague), Guard(api, outsider)
    dave_address = f"dave@{new_domain()}"
    dave = gpg.gen(f"Dave <{dave_address}>")
    go.upload(gpg.export(dave))
    assert gc.rings() == []
    assert go.call("shareExternalPublicKey", ids=dave, share="true").status_code == 200
    assert go.rings()[0]["shared"] is True
    shared = gc.rings()
    assert [r["publicRing"]["keys"][0]["fingerPrint"] for r in shared] == [dave]
    assert shared[0]["shareLevel"] == 1 and shared[0]["shared"] is True
    assert gc.fingerprints(email=dave_address) == [dave]
    assert gx.rings() == [] and gx.fingerprints(email=dave_address) == []
    # A shared key is read-only for the others.
    guard_error(gc.call("deleteExternalPublicKey", ids=dave), 404)
    guard_error(gc.call("shareExternalPublicKey", ids=dave, share="false"), 404)
    guard_error(go.call("shareExternalPublicKey", ids=dave, share="maybe"), 400)
    assert go.call("shareExternalPublicKey", ids=dave, share="false").status_code == 200
    assert gc.rings() == []


# ---- Autocrypt on LMTP delivery ----


def autocrypt_header(addr: str, keydata: bytes, prefer: str | None = "mutual") -> str:
    b64 = base64.b64encode(keydata).decode()
    folded = "\r\n ".join(b64[i:i + 72] for i in range(0, len(b64), 72))
    pe = f" prefer-encrypt={prefer};" if prefer else ""
    return f"addr={addr};{pe} keydata=\r\n {folded}"


def deliver(server, rcpt: str, sender: str, date: str, autocrypt: list[str], headers: dict | None = None) -> None:
    msg = make_message(sender=sender, to=rcpt, date=date, subject="with Autocrypt", headers=headers)
    head, body = msg.split(b"\r\n\r\n", 1)
    extra = "".join(f"\r\nAutocrypt: {a}" for a in autocrypt).encode()
    raw = head + extra + b"\r\n\r\n" + body
    client = smtplib.LMTP("127.0.0.1", server.lmtp_port, timeout=30)
    try:
        client.sendmail(sender.split("<")[-1].rstrip(">"), [rcpt], raw)
    finally:
        client.quit()


def test_autocrypt(server, api, gpg):
    rcpt = f"reader@{new_domain()}"
    user = create_user(api, address=rcpt)
    g = Guard(api, user)
    peer_domain = new_domain()
    bob_address = f"bob@{peer_domain}"
    bob1 = gpg.gen(f"Bob <{bob_address}>")
    bob2 = gpg.gen(f"Bob Again <{bob_address}>")
    bob3 = gpg.gen(f"Bob Third <{bob_address}>")

    deliver(server, rcpt, f"Bob <{bob_address}>", "Tue, 15 Nov 2022 10:00:00 +0000",
            [autocrypt_header(bob_address.upper(), gpg.export(bob2, armor=False))])
    rings = g.rings()
    assert [r["publicRing"]["keys"][0]["fingerPrint"] for r in rings] == [bob2]
    assert rings[0]["source"] == "autocrypt" and rings[0]["preferEncrypt"] == "mutual"
    assert g.fingerprints(email=bob_address) == [bob2]

    # An older message does not replace it; a newer one does.
    deliver(server, rcpt, bob_address, "Mon, 14 Nov 2022 10:00:00 +0000",
            [autocrypt_header(bob_address, gpg.export(bob1, armor=False))])
    assert g.fingerprints() == [bob2]
    deliver(server, rcpt, bob_address, "Wed, 16 Nov 2022 10:00:00 +0000",
            [autocrypt_header(bob_address, gpg.export(bob3, armor=False), prefer=None)])
    rings = g.rings()
    assert [r["publicRing"]["keys"][0]["fingerPrint"] for r in rings] == [bob3]
    assert rings[0]["preferEncrypt"] == "nopreference"

    # Forged: the header names Bob but the mail is from Eve; a key whose user id is not the
    # address; two valid headers; an unknown critical attribute: all ignored.
    eve_address = f"eve@{peer_domain}"
    eve = gpg.gen(f"Eve <{eve_address}>")
    later = "Thu, 17 Nov 2022 10:00:00 +0000"
    deliver(server, rcpt, eve_address, later, [autocrypt_header(bob_address, gpg.export(eve, armor=False))])
    deliver(server, rcpt, bob_address, later, [autocrypt_header(bob_address, gpg.export(eve, armor=False))])
    deliver(server, rcpt, bob_address, later, [autocrypt_header(bob_address, gpg.export(bob1, armor=False)),
                                               autocrypt_header(bob_address, gpg.export(bob2, armor=False))])
    deliver(server, rcpt, bob_address, later,
            ["type=7; " + autocrypt_header(bob_address, gpg.export(bob1, armor=False))])
    # Spam (marked by the MTA) is not trusted with keys either.
    deliver(server, rcpt, bob_address, later, [autocrypt_header(bob_address, gpg.export(bob1, armor=False))],
            headers={"X-Spam-Flag": "YES"})
    assert g.fingerprints() == [bob3]
    # The same header without the spam mark is taken: the cases above failed for their reason.
    deliver(server, rcpt, bob_address, later, [autocrypt_header(bob_address, gpg.export(bob1, armor=False))])
    assert g.fingerprints() == [bob1]


def test_autocrypt_never_overrides_a_key_uploaded_by_hand(server, api, gpg):
    rcpt = f"careful@{new_domain()}"
    user = create_user(api, address=rcpt)
    g = Guard(api, user)
    carol_address = f"carol@{new_domain()}"
    by_hand = gpg.gen(f"Carol <{carol_address}>")
    other = gpg.gen(f"Carol New <{carol_address}>")
    g.upload(gpg.export(by_hand))
    deliver(server, rcpt, carol_address, "Thu, 17 Nov 2022 10:00:00 +0000",
            [autocrypt_header(carol_address, gpg.export(other, armor=False))])
    assert g.fingerprints() == [by_hand]
    assert g.rings()[0]["source"] == "upload"
