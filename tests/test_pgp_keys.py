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
        out = self.run("--with-colons", "--list-keys").decode()
        return [line.split(":")[9] for line in out.splitlines() if line.startswith("fpr:")]

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
