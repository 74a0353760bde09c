"""Shared pieces of the vault tests: an installation with a server, vault users enrolled the
way a passbolt administrator does it (the CLI's `vault invite`, or an administrator's
`POST /users.json` delivered into the INBOX), each with a GnuPG home and a key of their own,
and `passbolt-python-api` clients logged in with GPGAuth.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

import gnupg
import requests

from harness import clean_env
from helpers import create_user, ok

KEY_PW = "vault key pass 1"
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
SETUP_URL = re.compile(r"/vault/setup/start/([0-9a-f-]{36})/([0-9a-f-]{36})")


class Gpg:
    """gpg with its own home directory (and python-gnupg over it)."""

    def __init__(self):
        self.home = Path(tempfile.mkdtemp(prefix="gpg-vault-"))
        os.chmod(self.home, 0o700)
        (self.home / "gpg-agent.conf").write_text("allow-loopback-pinentry\n")
        self.py = gnupg.GPG(gnupghome=str(self.home))

    def run(self, *args: str, input: bytes | None = None, check: bool = True) -> subprocess.CompletedProcess:
        cmd = ["gpg", "--homedir", str(self.home), "--batch", "--yes", "--no-tty", "--trust-model", "always",
               "--pinentry-mode", "loopback", "--passphrase", KEY_PW]
        r = subprocess.run(cmd + list(args), input=input, capture_output=True, timeout=120, env=clean_env())
        if check:
            assert r.returncode == 0, (args, r.stderr.decode(errors="replace"))
        return r

    def gen(self, uid: str) -> str:
        self.run("--quick-gen-key", uid, "default", "default", "never")
        out = self.run("--with-colons", "--list-keys", uid).stdout.decode()
        return next(line.split(":")[9] for line in out.splitlines() if line.startswith("fpr:"))

    def export(self, fpr: str) -> str:
        return self.run("--armor", "--export", fpr).stdout.decode()

    def encrypt_to(self, fpr: str, text: str) -> str:
        return self.run("--armor", "--encrypt", "--recipient", fpr, input=text.encode()).stdout.decode()

    def decrypt(self, armored: str) -> str:
        return self.run("--decrypt", input=armored.encode()).stdout.decode()

    def cleanup(self):
        subprocess.run(["gpgconf", "--homedir", str(self.home), "--kill", "all"], capture_output=True, env=clean_env())
        shutil.rmtree(self.home, ignore_errors=True)


@dataclass
class Member:
    """A vault user: the mail user, their key, their vault id."""

    mail_id: str
    address: str
    gpg: Gpg
    fpr: str
    id: str


def vault_url(srv) -> str:
    return srv.base_url + "/vault"


def setup_account(srv, address: str, url: str, gpg: Gpg) -> Member:
    """Runs the setup of a setup URL with a fresh key for `address`."""
    m = SETUP_URL.search(url)
    assert m, url
    user_id, token = m.group(1), m.group(2)
    base = vault_url(srv)
    start = requests.get(f"{base}/setup/start/{user_id}/{token}.json", timeout=30)
    assert start.status_code == 200, start.text
    assert start.json()["body"]["user"]["username"] == address
    # As a client does at setup: fetch the server key (GPGAuth stage 0 checks it later).
    server = requests.get(f"{base}/auth/verify.json", timeout=30).json()["body"]
    gpg.run("--import", input=server["keydata"].encode())
    fpr = gpg.gen(f"Vault User <{address}>")
    r = requests.post(f"{base}/setup/complete/{user_id}.json", timeout=60, json={
        "authentication_token": {"token": token},
        "gpgkey": {"armored_key": gpg.export(fpr)},
    })
    assert r.status_code == 200, r.text
    return Member(mail_id="", address=address, gpg=gpg, fpr=fpr, id=user_id)


def enroll_cli(inst, srv, api, admin: bool = False) -> Member:
    """A new mail user invited with `sealpost vault invite` and set up with a new key."""
    user = create_user(api)
    args = ["vault", "invite", user.address] + (["--admin"] if admin else [])
    r = inst.run(*args)
    assert r.returncode == 0, r.stderr
    member = setup_account(srv, user.address, r.stdout.strip(), Gpg())
    member.mail_id = user.id
    return member


def login(srv, member: Member) -> requests.Session:
    """A raw GPGAuth login (stages 1 and 2); the session holds the cookies."""
    s = requests.Session()
    base = vault_url(srv)
    r = s.post(f"{base}/auth/login.json", json={"gpg_auth": {"keyid": member.fpr}}, timeout=60)
    assert r.status_code == 200, r.text
    token = urllib.parse.unquote(r.headers["X-GPGAuth-User-Auth-Token"]).replace("\\+", " ")
    plain = member.gpg.decrypt(token)
    r = s.post(f"{base}/auth/login.json", json={"gpg_auth": {"keyid": member.fpr, "user_token_result": plain}},
               timeout=60)
    assert r.status_code == 200, r.text
    assert r.headers["X-GPGAuth-Authenticated"] == "true"
    me = s.get(f"{base}/users/me.json", timeout=30)
    assert me.status_code == 200, me.text
    s.headers["X-CSRF-Token"] = s.cookies["csrfToken"]
    return s


def client(srv, member: Member):
    """A passbolt-python-api client for the member, logged in (GPGAuth, then users/me)."""
    from passboltapi import PassboltAPI

    old = os.environ.get("GNUPGHOME")
    os.environ["GNUPGHOME"] = str(member.gpg.home)
    try:
        c = PassboltAPI(config={"PASSBOLT": {"SERVER": vault_url(srv), "USER_FINGERPRINT": member.fpr,
                                             "PASSPHRASE": KEY_PW}})
    finally:
        if old is None:
            os.environ.pop("GNUPGHOME", None)
        else:
            os.environ["GNUPGHOME"] = old
    # From here on, this client's own keyring whatever GNUPGHOME says.
    c.gpg = gnupg.GPG(gnupghome=str(member.gpg.home))
    return c


def body(resp: requests.Response, status: int = 200):
    assert resp.status_code == status, (resp.status_code, resp.text)
    j = resp.json()
    assert j["header"]["code"] == status, j
    assert j["header"]["status"] == ("success" if status < 400 else "error"), j
    return j["body"]


__all__ = ["Gpg", "Member", "enroll_cli", "setup_account", "login", "client", "body", "vault_url", "ok", "UUID",
           "KEY_PW", "SETUP_URL"]
