"""Today's WildDuck authentication (issue 17, directory half): imported password hashes
(`hashedPassword`) verified over IMAP and re-hashed to Argon2id, `POST /preauth`, user access
tokens (`POST /authenticate {token: true}`) acting as that user only, `DELETE /authenticate`,
`address` in the answer. Every answer is checked against WildDuck's OpenAPI document."""

import base64
import crypt  # noqa: the standard library's crypt(3), libxcrypt: bcrypt, MD5, SHA-2, DES
import hashlib
import os
import warnings

import pytest

from helpers import PASSWORD, unique, imap_login
from wildduck_schema import check

warnings.filterwarnings("ignore", category=DeprecationWarning)

PLAIN = "imported secret 1"


def pbkdf2_phc(password: str) -> str:
    salt = os.urandom(16)
    dk = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, 1000, 64)
    b64 = lambda b: base64.b64encode(b).decode().rstrip("=")  # noqa: E731
    return f"$pbkdf2-sha512$i=1000,l=64${b64(salt)}${b64(dk)}"


HASHES = {
    "bcrypt": lambda p: crypt.crypt(p, crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=16)),
    "md5-crypt": lambda p: crypt.crypt(p, crypt.mksalt(crypt.METHOD_MD5)),
    "sha256-crypt": lambda p: crypt.crypt(p, crypt.mksalt(crypt.METHOD_SHA256)),
    "sha512-crypt": lambda p: crypt.crypt(p, crypt.mksalt(crypt.METHOD_SHA512)),
    "des-crypt": lambda p: crypt.crypt(p, "ab"),
    "pbkdf2-sha512": pbkdf2_phc,
}




@pytest.mark.parametrize("kind", sorted(HASHES))
def test_imported_hash_logs_in_over_imap_and_is_rehashed(api, server, kind):
    hashed = HASHES[kind](PLAIN)
    username = unique("hash")
    created = check("post", "/users", api.post("/users", json={
        "username": username, "password": hashed, "hashedPassword": True}), 200)
    assert not imap_login(server, username, "wrong password")
    assert imap_login(server, username, PLAIN)
    # Re-hashed to Argon2id at that login: the same password keeps working everywhere.
    assert imap_login(server, username, PLAIN)
    auth = check("post", "/authenticate", api.post("/authenticate", json={
        "username": username, "password": PLAIN}), 200)
    assert auth["id"] == created["id"]
    log = api.get(f"/users/{created['id']}/authlog").json()
    assert log["success"] is True
    lines = [line for line in server.log_path.read_text(errors="replace").splitlines()
             if "imported password hash replaced by Argon2id" in line and created["id"] in line]
    assert len(lines) == 1, lines  # once: the second login found an Argon2id hash


def test_unsupported_hash_refused(api):
    for bad in ["$7$whatever", "plain text", "$2b$04$short"]:
        e = check("post", "/users", api.post("/users", json={
            "username": unique("bad"), "password": bad, "hashedPassword": True}), 400)
        assert e["code"] == "InputValidationError"


def test_costly_hash_refused(api):
    """A client-chosen hash cost would make every login against it burn a hashing thread."""
    salt, out = "c2FsdHNhbHRzYWx0c2FsdA", "A" * 43
    for costly in [
        "$2b$31$" + "a" * 53,
        "$6$rounds=999999999$saltsalt$" + "a" * 86,
        f"$pbkdf2-sha256$i=4000000000,l=32${salt}${out}",
        f"$argon2id$v=19$m=4194304,t=2,p=1${salt}${out}",
    ]:
        e = check("post", "/users", api.post("/users", json={
            "username": unique("costly"), "password": costly, "hashedPassword": True}), 400)
        assert e["code"] == "InputValidationError", costly
        assert "cost" in e["error"], e


def test_authenticate_answers_address(api, create_user):
    u = create_user()
    auth = check("post", "/authenticate", api.post("/authenticate", json={
        "username": u.username, "password": PASSWORD}), 200)
    assert auth["address"] == u.address and auth["require2fa"] == []


def test_preauth(api, create_user):
    u = create_user()
    got = check("post", "/preauth", api.post("/preauth", json={"username": u.username, "scope": "imap"}), 200)
    assert got["id"] == u.id and got["address"] == u.address and got["scope"] == "imap"
    check("put", "/users/{user}", api.put(f"/users/{u.id}", json={"disabledScopes": ["imap"]}), 200)
    assert check("post", "/preauth", api.post("/preauth", json={"username": u.username, "scope": "imap"}), 403)["code"] == "AuthFailed"
    check("post", "/preauth", api.post("/preauth", json={"username": u.username}), 200)
    assert check("post", "/preauth", api.post("/preauth", json={"username": unique("ghost")}), 404)["code"] == "UserNotFound"
    check("post", "/preauth", api.post("/preauth", json={}), 400)


def test_user_token_acts_as_that_user_only(api, create_user):
    u = create_user()
    other = create_user()
    auth = check("post", "/authenticate", api.post("/authenticate", json={
        "username": u.username, "password": PASSWORD, "token": True}), 200)
    token = auth["token"]
    assert isinstance(token, str) and token
    h = {"X-Access-Token": token}
    me = api.get("/users/me", headers=h).json()
    assert me["id"] == u.id and me["internalData"] == {}
    assert api.get(f"/users/{u.id}/mailboxes", headers=h).json()["success"] is True
    assert api.get("/users/me/mailboxes", params={"accessToken": token}).json()["success"] is True
    # Table: everything outside the user's own resources is MissingPrivileges.
    for method, path in [
        ("get", f"/users/{other.id}"),
        ("get", f"/users/{other.id}/mailboxes"),
        ("put", f"/users/{other.id}"),
        ("get", "/users"),
        ("post", "/users"),
        ("get", "/addresses"),
        ("delete", "/users/me"),
        ("post", "/quota/reset"),
    ]:
        r = api.request(method, path, headers=h, json={} if method in ("post", "put") else None)
        assert r.status_code == 403 and r.json()["code"] == "MissingPrivileges", (method, path, r.text)
    ended = check("delete", "/authenticate", api.delete("/authenticate", headers=h), 200)
    assert ended["success"] is True
    r = api.get("/users/me", headers=h)
    assert r.status_code in (400, 403, 404), r.text
    assert r.json().get("id") != u.id
