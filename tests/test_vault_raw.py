"""The vault over raw HTTP (`requests`): GPGAuth 1.3.0 stage by stage with its headers and its
%XX escaping, every handshake error (wrong, malformed, reused token; unknown key), CSRF, the
envelope on successes and failures, validation errors, secrets that are not encrypted to the
right key, a table of every resource operation with every kind of caller, and a search of
the data directory for a stored secret's plaintext. Both engines.
"""

from __future__ import annotations

import re
import subprocess
import urllib.parse
import uuid
from pathlib import Path

import pytest
import requests

from harness import Instances, clean_env
from vault_helpers import UUID, body, enroll_cli, login, vault_url


@pytest.fixture(scope="module")
def vault(tmp_path_factory, engine):
    made = Instances(tmp_path_factory, engine)
    inst = made.new()
    srv = inst.start()
    yield inst, srv
    alive = srv.alive()
    made.cleanup()
    assert alive, f"the server died during the tests:\n{srv.log()[-4000:]}"


@pytest.fixture(scope="module")
def people(vault):
    inst, srv = vault
    api = srv.api()
    members = {
        "owner": enroll_cli(inst, srv, api),
        "reader": enroll_cli(inst, srv, api),
        "stranger": enroll_cli(inst, srv, api),
        "admin": enroll_cli(inst, srv, api, admin=True),
    }
    yield members
    for m in members.values():
        m.gpg.cleanup()


def stage1(srv, fpr: str) -> requests.Response:
    return requests.post(f"{vault_url(srv)}/auth/login.json", json={"gpg_auth": {"keyid": fpr}}, timeout=60)


def decode_token(header: str) -> str:
    # Both decodings clients use: python's (unquote, then `\+` to space) and go-passbolt's
    # (QueryUnescape, which reads `+` as a space) must give the same armored text.
    py = urllib.parse.unquote(header).replace("\\+", " ")
    go = urllib.parse.unquote_plus(header.replace("\\+", " "))
    assert py == go
    return py


def test_envelope_and_server_key(vault):
    inst, srv = vault
    r = requests.get(f"{vault_url(srv)}/auth/verify.json", timeout=30)
    assert r.status_code == 200
    j = r.json()
    header = j["header"]
    assert set(header) >= {"id", "status", "servertime", "action", "message", "url", "code"}
    assert UUID.match(header["id"]) and UUID.match(header["action"])
    assert header["status"] == "success" and header["code"] == 200
    assert header["url"] == "/vault/auth/verify.json"
    assert isinstance(header["servertime"], int)
    assert re.fullmatch(r"[0-9A-F]{40}", j["body"]["fingerprint"])
    assert "BEGIN PGP PUBLIC KEY BLOCK" in j["body"]["keydata"]
    assert r.headers["X-GPGAuth-Version"] == "1.3.0"
    assert r.headers["X-GPGAuth-Login-URL"] == "/vault/auth/login"
    assert r.headers["X-GPGAuth-Verify-URL"] == "/vault/auth/verify"
    assert r.headers["X-GPGAuth-Logout-URL"] == "/vault/auth/logout"
    # The key file: made at first start, mode 0600.
    key = inst.data_dir / "vault-server.key"
    assert key.is_file() and (key.stat().st_mode & 0o777) == 0o600
    # Errors have the envelope too: an unknown route, no session, a bad id.
    r = requests.get(f"{vault_url(srv)}/no-such-thing.json", timeout=30)
    assert r.status_code == 404 and r.json()["header"]["status"] == "error" and r.json()["header"]["code"] == 404
    r = requests.get(f"{vault_url(srv)}/resources.json", timeout=30)
    assert r.status_code == 401 and r.json()["header"]["code"] == 401
    assert r.headers["X-GPGAuth-Version"] == "1.3.0"
    r = requests.get(f"{vault_url(srv)}/healthcheck/status.json", timeout=30)
    assert r.json()["body"] == "OK"
    settings = requests.get(f"{vault_url(srv)}/settings.json", timeout=30).json()["body"]
    assert "metadata" not in settings["passbolt"]["plugins"]


def test_stage0_server_verification(vault, people):
    inst, srv = vault
    m = people["owner"]
    key = requests.get(f"{vault_url(srv)}/auth/verify.json", timeout=30).json()["body"]
    m.gpg.run("--import", input=key["keydata"].encode())
    token = f"gpgauthv1.3.0|36|{uuid.uuid4()}|gpgauthv1.3.0"
    enc = m.gpg.encrypt_to(key["fingerprint"], token)
    r = requests.post(f"{vault_url(srv)}/auth/verify.json", timeout=60,
                      json={"gpg_auth": {"keyid": m.fpr, "server_verify_token": enc}})
    assert r.status_code == 200, r.text
    assert r.headers["X-GPGAuth-Verify-Response"] == token
    assert r.headers["X-GPGAuth-Progress"] == "stage0"
    # A token of the wrong shape is refused.
    bad = m.gpg.encrypt_to(key["fingerprint"], "not a token")
    r = requests.post(f"{vault_url(srv)}/auth/verify.json", timeout=60,
                      json={"gpg_auth": {"keyid": m.fpr, "server_verify_token": bad}})
    assert r.status_code == 400 and r.headers["X-GPGAuth-Error"] == "true"


def test_gpgauth_stages_and_errors(vault, people):
    inst, srv = vault
    m = people["owner"]
    r = stage1(srv, m.fpr)
    assert r.status_code == 200, r.text
    assert r.headers["X-GPGAuth-Authenticated"] == "false"
    assert r.headers["X-GPGAuth-Progress"] == "stage1"
    raw = r.headers["X-GPGAuth-User-Auth-Token"]
    assert " " not in raw and "+" not in raw and "%0A" in raw, raw[:80]
    token = m.gpg.decrypt(decode_token(raw))
    assert re.fullmatch(r"gpgauthv1\.3\.0\|36\|[0-9a-f-]{36}\|gpgauthv1\.3\.0", token), token
    # The token is signed by the server key.
    verify = m.gpg.run("--decrypt", input=decode_token(raw).encode())
    assert b"Good signature" in verify.stderr

    # A wrong token (right shape), a malformed one: 400 with X-GPGAuth-Error.
    base = f"{vault_url(srv)}/auth/login.json"
    wrong = f"gpgauthv1.3.0|36|{uuid.uuid4()}|gpgauthv1.3.0"
    for bad in (wrong, "garbage"):
        r = requests.post(base, json={"gpg_auth": {"keyid": m.fpr, "user_token_result": bad}}, timeout=30)
        assert r.status_code == 400, r.text
        assert r.headers["X-GPGAuth-Error"] == "true"
        assert r.headers["X-GPGAuth-Authenticated"] == "false"
        assert r.json()["header"]["status"] == "error"

    # The right one works once: stage 2 with the session cookie.
    s = requests.Session()
    r = s.post(base, json={"gpg_auth": {"keyid": m.fpr, "user_token_result": token}}, timeout=30)
    assert r.status_code == 200, r.text
    assert r.headers["X-GPGAuth-Authenticated"] == "true"
    assert r.headers["X-GPGAuth-Progress"] == "complete"
    cookies = r.raw.headers.getlist("Set-Cookie")
    session = next(c for c in cookies if c.startswith("passbolt_session="))
    assert "HttpOnly" in session and "SameSite" in session and "Secure" not in session, session
    assert s.get(f"{vault_url(srv)}/users/me.json", timeout=30).status_code == 200
    # Reused: refused.
    r = requests.post(base, json={"gpg_auth": {"keyid": m.fpr, "user_token_result": token}}, timeout=30)
    assert r.status_code == 400 and r.headers["X-GPGAuth-Error"] == "true"

    # An unknown key.
    r = stage1(srv, "0" * 40)
    assert r.status_code == 400
    assert r.headers["X-GPGAuth-Debug"] == "There is no user associated with this key. User not found."
    assert r.headers["X-GPGAuth-Error"] == "true"

    # Logout ends the session.
    assert s.get(f"{vault_url(srv)}/auth/logout.json", timeout=30).status_code == 200
    assert s.get(f"{vault_url(srv)}/users/me.json", timeout=30).status_code == 401


def test_failed_logins_are_throttled(tmp_path_factory, engine):
    made = Instances(tmp_path_factory, engine)
    try:
        inst = made.new(env={"SEALPOST_AUTH_MAX_FAILURES_PER_USER": "3"})
        srv = inst.start()
        m = enroll_cli(inst, srv, srv.api())
        base = f"{vault_url(srv)}/auth/login.json"
        bad = f"gpgauthv1.3.0|36|{uuid.uuid4()}|gpgauthv1.3.0"
        codes = [requests.post(base, json={"gpg_auth": {"keyid": m.fpr, "user_token_result": bad}},
                               timeout=30).status_code for _ in range(4)]
        assert codes[:3] == [400, 400, 400]
        assert codes[3] == 429
        # Refused even with the right token now.
        assert stage1(srv, m.fpr).status_code == 429
        # The failures are in the mail user's authentication log.
        log = srv.api().get(f"/users/{m.mail_id}/authlog").json()
        assert any(e.get("action") == "vault login" and e.get("result") == "fail" for e in log["results"]), log
        m.gpg.cleanup()
    finally:
        made.cleanup()


def test_csrf(vault, people):
    inst, srv = vault
    s = login(srv, people["owner"])
    base = vault_url(srv)
    token = s.headers.pop("X-CSRF-Token")
    r = s.post(f"{base}/folders.json", json={"name": "no csrf"}, timeout=30)
    assert r.status_code == 403, r.text
    assert r.json()["header"]["status"] == "error"
    r = s.post(f"{base}/folders.json", json={"name": "wrong csrf"}, headers={"X-CSRF-Token": "x" * 64}, timeout=30)
    assert r.status_code == 403
    r = s.post(f"{base}/folders.json", json={"name": "with csrf"}, headers={"X-CSRF-Token": token}, timeout=30)
    assert r.status_code == 200, r.text
    # Reads need no CSRF token.
    assert s.get(f"{base}/folders.json", timeout=30).status_code == 200


def new_resource(srv, s, member, name="thing", password="pw") -> str:
    data = member.gpg.encrypt_to(member.fpr, password)
    return body(s.post(f"{vault_url(srv)}/resources.json", json={"name": name, "secrets": [{"data": data}]}))["id"]


def test_validation_errors(vault, people):
    inst, srv = vault
    m, other = people["owner"], people["reader"]
    s = login(srv, m)
    base = vault_url(srv)
    good = m.gpg.encrypt_to(m.fpr, "pw")
    r = s.post(f"{base}/resources.json", json={"secrets": [{"data": good}]})
    assert r.status_code == 400 and "_required" in r.json()["body"]["name"], r.text
    # Not an OpenPGP message; encrypted to someone else's key.
    r = s.post(f"{base}/resources.json", json={"name": "x", "secrets": [{"data": "plain text"}]})
    assert r.status_code == 400, r.text
    other.gpg.run("--import", input=m.gpg.export(m.fpr).encode())
    someone_else = other.gpg.encrypt_to(other.fpr, "pw")
    r = s.post(f"{base}/resources.json", json={"name": "x", "secrets": [{"data": someone_else}]})
    assert r.status_code == 400, r.text
    assert "secrets" in r.json()["body"]
    # Sharing with a reader without their secret: 400, nothing changes.
    rid = new_resource(srv, s, m)
    r = s.put(f"{base}/share/resource/{rid}.json", json={"permissions": [
        {"is_new": True, "aro": "User", "aro_foreign_key": other.id, "type": 1}], "secrets": []})
    assert r.status_code == 400, r.text
    assert len(body(s.get(f"{base}/permissions/resource/{rid}.json"))) == 1
    # Removing the only owner: 400.
    perm = body(s.get(f"{base}/permissions/resource/{rid}.json"))[0]
    r = s.put(f"{base}/share/resource/{rid}.json", json={"permissions": [{"id": perm["id"], "delete": True}]})
    assert r.status_code == 400, r.text
    # A bad id: 400; a well-formed unknown one: 404.
    assert s.get(f"{base}/resources/not-a-uuid.json").status_code == 400
    assert s.get(f"{base}/resources/{uuid.uuid4()}.json").status_code == 404


def test_access_table(vault, people):
    """Each operation on a resource with each kind of caller."""
    inst, srv = vault
    owner, reader, stranger, admin = (people[k] for k in ("owner", "reader", "stranger", "admin"))
    base = vault_url(srv)
    sessions = {k: login(srv, m) for k, m in people.items()}
    sessions["anonymous"] = requests.Session()
    rid = new_resource(srv, sessions["owner"], owner, password="table-pw")
    owner.gpg.run("--import", input=reader.gpg.export(reader.fpr).encode())
    body(sessions["owner"].put(f"{base}/share/resource/{rid}.json", json={
        "permissions": [{"is_new": True, "aro": "User", "aro_foreign_key": reader.id, "type": 1}],
        "secrets": [{"user_id": reader.id, "data": owner.gpg.encrypt_to(reader.fpr, "table-pw")}]}))
    ops = {
        "view": lambda s: s.get(f"{base}/resources/{rid}.json"),
        "secret": lambda s: s.get(f"{base}/secrets/resource/{rid}.json"),
        "permissions": lambda s: s.get(f"{base}/permissions/resource/{rid}.json"),
        "update": lambda s: s.put(f"{base}/resources/{rid}.json", json={"name": "renamed"}),
        "share": lambda s: s.put(f"{base}/share/resource/{rid}.json", json={"permissions": []}),
        "simulate": lambda s: s.post(f"{base}/share/simulate/resource/{rid}.json", json={"permissions": []}),
        "favorite": lambda s: s.post(f"{base}/favorites/resource/{rid}.json"),
        "comments": lambda s: s.get(f"{base}/comments/resource/{rid}.json"),
        "delete": lambda s: s.delete(f"{base}/resources/{rid}.json"),
    }
    expected = {
        "owner": {"view": 200, "secret": 200, "permissions": 200, "update": 200, "share": 200, "simulate": 200,
                  "favorite": 200, "comments": 200, "delete": 200},
        "reader": {"view": 200, "secret": 200, "permissions": 200, "update": 403, "share": 403, "simulate": 403,
                   "favorite": 200, "comments": 200, "delete": 403},
        "stranger": {op: 404 for op in ops},
        "admin": {op: 404 for op in ops},
        "anonymous": {op: 401 for op in ops},
    }
    got = {}
    # Deletion last, and by the owner last of all.
    for who in ("anonymous", "stranger", "admin", "reader", "owner"):
        got[who] = {op: fn(sessions[who]).status_code for op, fn in ops.items()}
    assert got == expected
    # The secret copy a reader gets is their own, encrypted to their key.
    assert sessions["reader"].get(f"{base}/resources/{rid}.json").status_code == 404


def test_data_dir_never_holds_plaintext(vault, people):
    inst, srv = vault
    m = people["owner"]
    s = login(srv, m)
    plaintext = "PLAINTEXT-" + uuid.uuid4().hex
    rid = new_resource(srv, s, m, name="scan me", password=plaintext)
    secret = body(s.get(f"{vault_url(srv)}/secrets/resource/{rid}.json"))
    assert m.gpg.decrypt(secret["data"]) == plaintext
    # Let SQLite's WAL be written out; search every file of the data dir.
    needle = plaintext.encode()
    hits = [p for p in Path(inst.data_dir).rglob("*") if p.is_file() and needle in p.read_bytes()]
    assert hits == []
    assert needle not in srv.log().encode()
    if inst.db is not None:
        # PostgreSQL: the whole database, dumped.
        dump = subprocess.run(["pg_dump", inst.db.url], capture_output=True, timeout=120, env=clean_env())
        assert dump.returncode == 0, dump.stderr
        assert b"vault_secrets" in dump.stdout and needle not in dump.stdout


def jwt_challenge(srv, m, verify_token: str | None = None, domain: str | None = None, expiry: int | None = None) -> str:
    import json
    import time
    key = requests.get(f"{vault_url(srv)}/auth/verify.json", timeout=30).json()["body"]
    m.gpg.run("--import", input=key["keydata"].encode())
    c = {"version": "1.0.0", "domain": domain or vault_url(srv), "verify_token": verify_token or str(uuid.uuid4()),
         "verify_token_expiry": expiry or int(time.time()) + 120}
    return m.gpg.run("--armor", "--sign", "--encrypt", "--local-user", m.fpr, "--recipient", key["fingerprint"],
                     input=json.dumps(c).encode()).stdout.decode()


def test_jwt_login_refresh_logout(vault, people):
    import json
    inst, srv = vault
    m, other = people["owner"], people["reader"]
    base = vault_url(srv)
    rsa = body(requests.get(f"{base}/auth/jwt/rsa.json", timeout=30))
    assert "BEGIN PUBLIC KEY" in rsa["keydata"]
    jwks = body(requests.get(f"{base}/auth/jwt/jwks.json", timeout=30))
    assert jwks["keys"][0]["alg"] == "RS256" and jwks["keys"][0]["kty"] == "RSA"
    token = str(uuid.uuid4())
    r = requests.post(f"{base}/auth/jwt/login.json", json={"user_id": m.id, "challenge": jwt_challenge(srv, m, token)},
                      timeout=60)
    reply = json.loads(m.gpg.decrypt(body(r)["challenge"]))
    assert reply["verify_token"] == token
    access, refresh = reply["access_token"], reply["refresh_token"]
    assert access.count(".") == 2 and UUID.match(refresh)
    me = requests.get(f"{base}/users/me.json", headers={"Authorization": f"Bearer {access}"}, timeout=30)
    assert body(me)["id"] == m.id
    # A bearer needs no CSRF token.
    r = requests.post(f"{base}/folders.json", json={"name": "via jwt"}, headers={"Authorization": f"Bearer {access}"},
                      timeout=30)
    assert r.status_code == 200, r.text
    # A tampered token, and a verify token used twice.
    bad = access[:-4] + ("AAAA" if not access.endswith("AAAA") else "BBBB")
    assert requests.get(f"{base}/users/me.json", headers={"Authorization": f"Bearer {bad}"}, timeout=30).status_code == 401
    r = requests.post(f"{base}/auth/jwt/login.json", json={"user_id": m.id, "challenge": jwt_challenge(srv, m, token)},
                      timeout=60)
    assert r.status_code == 400, r.text
    # A challenge for another domain, or signed by someone else for this user.
    r = requests.post(f"{base}/auth/jwt/login.json",
                      json={"user_id": m.id, "challenge": jwt_challenge(srv, m, domain="https://elsewhere.test")},
                      timeout=60)
    assert r.status_code == 400, r.text
    r = requests.post(f"{base}/auth/jwt/login.json", json={"user_id": m.id, "challenge": jwt_challenge(srv, other)},
                      timeout=60)
    assert r.status_code == 400, r.text
    # Refresh rotates; the old refresh token is used up.
    r = requests.post(f"{base}/auth/jwt/refresh.json", json={"user_id": m.id, "refresh_token": refresh}, timeout=30)
    fresh = body(r)
    assert fresh["refresh_token"] != refresh
    assert requests.get(f"{base}/users/me.json", headers={"Authorization": f"Bearer {fresh['access_token']}"},
                        timeout=30).status_code == 200
    r = requests.post(f"{base}/auth/jwt/refresh.json", json={"user_id": m.id, "refresh_token": refresh}, timeout=30)
    assert r.status_code == 400
    # Logout revokes the refresh token.
    body(requests.post(f"{base}/auth/jwt/logout.json", json={"refresh_token": fresh["refresh_token"]}, timeout=30))
    r = requests.post(f"{base}/auth/jwt/refresh.json", json={"user_id": m.id, "refresh_token": fresh["refresh_token"]},
                      timeout=30)
    assert r.status_code == 400
    # The key file: mode 0600.
    key = inst.data_dir / "vault-jwt.key"
    assert (key.stat().st_mode & 0o777) == 0o600


def test_delete_user_refused_while_sole_owner_of_shared_resources(vault, people):
    inst, srv = vault
    api = srv.api()
    base = vault_url(srv)
    admin = login(srv, people["admin"])
    sole = enroll_cli(inst, srv, api)
    lonely = enroll_cli(inst, srv, api)
    try:
        s = login(srv, sole)
        rid = new_resource(srv, s, sole, password="shared-pw")
        reader = people["reader"]
        sole.gpg.run("--import", input=reader.gpg.export(reader.fpr).encode())
        body(s.put(f"{base}/share/resource/{rid}.json", json={
            "permissions": [{"is_new": True, "aro": "User", "aro_foreign_key": reader.id, "type": 1}],
            "secrets": [{"user_id": reader.id, "data": sole.gpg.encrypt_to(reader.fpr, "shared-pw")}]}))
        r = admin.delete(f"{base}/users/{sole.id}/dry-run.json")
        assert r.status_code == 400, r.text
        assert r.json()["body"]["errors"]["resources"]["sole_owner"] == [{"id": rid}]
        assert admin.delete(f"{base}/users/{sole.id}.json").status_code == 400
        assert s.get(f"{base}/users/me.json").status_code == 200
        # Not an administrator: 403.
        assert s.delete(f"{base}/users/{lonely.id}.json").status_code == 403
        # A user with only personal resources can go; their resources go with them.
        ls = login(srv, lonely)
        own = new_resource(srv, ls, lonely)
        body(admin.delete(f"{base}/users/{lonely.id}/dry-run.json"))
        body(admin.delete(f"{base}/users/{lonely.id}.json"))
        assert ls.get(f"{base}/users/me.json").status_code == 401
        assert s.get(f"{base}/resources/{own}.json").status_code == 404
        # Making the reader an owner lifts the refusal.
        perms = body(s.get(f"{base}/permissions/resource/{rid}.json"))
        theirs = next(p for p in perms if p["aro_foreign_key"] == reader.id)
        body(s.put(f"{base}/share/resource/{rid}.json", json={"permissions": [{"id": theirs["id"], "type": 15}]}))
        body(admin.delete(f"{base}/users/{sole.id}/dry-run.json"))
    finally:
        sole.gpg.cleanup()
        lonely.gpg.cleanup()


def test_group_delete_and_admin_rules(vault, people):
    inst, srv = vault
    base = vault_url(srv)
    admin = login(srv, people["admin"])
    owner = login(srv, people["owner"])
    # Only administrators create groups.
    r = owner.post(f"{base}/groups.json", json={"name": "nope", "groups_users": [
        {"user_id": people["owner"].id, "is_admin": True}]})
    assert r.status_code == 403
    r = admin.post(f"{base}/groups.json", json={"name": "no managers", "groups_users": [
        {"user_id": people["owner"].id, "is_admin": False}]})
    assert r.status_code == 400
    g = body(admin.post(f"{base}/groups.json", json={"name": "to delete " + uuid.uuid4().hex[:6], "groups_users": [
        {"user_id": people["owner"].id, "is_admin": True}]}))
    # The group is the sole owner of a resource: refused.
    m = people["owner"]
    rid = new_resource(srv, owner, m)
    perms = body(owner.get(f"{base}/permissions/resource/{rid}.json"))
    body(owner.put(f"{base}/share/resource/{rid}.json", json={"permissions": [
        {"is_new": True, "aro": "Group", "aro_foreign_key": g["id"], "type": 15},
        {"id": perms[0]["id"], "delete": True}], "secrets": []}))
    assert admin.delete(f"{base}/groups/{g['id']}/dry-run.json").status_code == 400
    assert owner.delete(f"{base}/groups/{g['id']}.json").status_code == 403
    body(owner.delete(f"{base}/resources/{rid}.json"))
    body(admin.delete(f"{base}/groups/{g['id']}/dry-run.json"))
    body(admin.delete(f"{base}/groups/{g['id']}.json"))
    assert admin.get(f"{base}/groups/{g['id']}.json").status_code == 404
