"""The vault's per-user folder trees (passbolt's `folders_relations`: `folder_parent_id` is each
user's own placement), `personal` (only one user has access), the `contain[...]` parts of the
resource listing that passbolt's clients send, multipart request bodies, and the JWT login of
a user with TOTP on (passbolt's flow: the reply lists the MFA providers, the client passes
`/mfa/verify/totp.json` with its access token and sends the `passbolt_mfa` cookie after).
Raw `requests`, both engines.
"""

from __future__ import annotations

import json
import time
import uuid

import pytest
import requests

from harness import Instances
from helpers import ok
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
        "alice": enroll_cli(inst, srv, api, admin=True),
        "bob": enroll_cli(inst, srv, api),
        "carol": enroll_cli(inst, srv, api),
    }
    # Everyone can encrypt to everyone.
    for m in members.values():
        for other in members.values():
            if other is not m:
                m.gpg.run("--import", input=other.gpg.export(other.fpr).encode())
    yield members
    for m in members.values():
        m.gpg.cleanup()


def new_resource(srv, s, m, name: str, folder: str | None = None) -> str:
    data = m.gpg.encrypt_to(m.fpr, "pw-" + name)
    j = {"name": name, "secrets": [{"data": data}]}
    if folder:
        j["folder_parent_id"] = folder
    return body(s.post(f"{vault_url(srv)}/resources.json", json=j))["id"]


def new_folder(srv, s, name: str, parent: str | None = None) -> str:
    j = {"name": name}
    if parent:
        j["folder_parent_id"] = parent
    return body(s.post(f"{vault_url(srv)}/folders.json", json=j))["id"]


def share_resource(srv, s, owner, rid: str, user, kind: int = 1):
    body(s.put(f"{vault_url(srv)}/share/resource/{rid}.json", json={
        "permissions": [{"is_new": True, "aro": "User", "aro_foreign_key": user.id, "type": kind}],
        "secrets": [{"user_id": user.id, "data": owner.gpg.encrypt_to(user.fpr, "pw")}]}))


def share_folder(srv, s, fid: str, user, kind: int = 1):
    body(s.put(f"{vault_url(srv)}/share/folder/{fid}.json", json={
        "permissions": [{"is_new": True, "aro": "User", "aro_foreign_key": user.id, "type": kind}]}))


def parent_of(srv, s, kind: str, item: str):
    return body(s.get(f"{vault_url(srv)}/{kind}/{item}.json"))["folder_parent_id"]


def test_each_user_has_a_tree_of_their_own(vault, people):
    inst, srv = vault
    alice, bob = people["alice"], people["bob"]
    a, b = login(srv, alice), login(srv, bob)
    base = vault_url(srv)
    f = new_folder(srv, a, "alice's " + uuid.uuid4().hex[:6])
    r = new_resource(srv, a, alice, "in alice's folder", folder=f)
    assert parent_of(srv, a, "resources", r) == f
    # Shared with bob, not the folder: at bob's root, still in f for alice.
    share_resource(srv, a, alice, r, bob)
    assert parent_of(srv, b, "resources", r) is None
    assert parent_of(srv, a, "resources", r) == f
    # bob files it in a personal folder of his: his tree only (read access is enough there).
    g = new_folder(srv, b, "bob's " + uuid.uuid4().hex[:6])
    body(b.post(f"{base}/move/resource/{r}.json", json={"folder_parent_id": g}))
    assert parent_of(srv, b, "resources", r) == g
    assert parent_of(srv, a, "resources", r) == f
    listed = {x["id"]: x for x in body(b.get(f"{base}/resources.json?filter[has-parent]={g}"))}
    assert set(listed) == {r} and listed[r]["folder_parent_id"] == g
    # bob cannot put it into alice's folder, which is not in his tree.
    resp = b.post(f"{base}/move/resource/{r}.json", json={"folder_parent_id": f})
    assert resp.status_code == 400, resp.text
    assert "folder_exists" in resp.json()["body"]["folder_parent_id"]
    # alice shares her folder with bob: it joins his tree at the root; r stays where he put it.
    share_folder(srv, a, f, bob)
    assert parent_of(srv, b, "folders", f) is None
    assert parent_of(srv, b, "resources", r) == g
    # A resource alice shares later follows her organisation in bob's tree: bob sees f.
    r2 = new_resource(srv, a, alice, "second in f", folder=f)
    share_resource(srv, a, alice, r2, bob)
    assert parent_of(srv, b, "resources", r2) == f
    children = body(b.get(f"{base}/folders/{f}.json?contain[children_resources]=1"))["children_resources"]
    assert [c["id"] for c in children] == [r2] and children[0]["folder_parent_id"] == f
    # bob (read only) cannot move r2 out of the shared folder f.
    resp = b.post(f"{base}/move/resource/{r2}.json", json={"folder_parent_id": None})
    assert resp.status_code == 400 and "has_folder_access" in resp.json()["body"]["folder_parent_id"], resp.text
    # alice moves r2 to the root: everyone who had it in f, as she had, gets it at the root.
    body(a.post(f"{base}/move/resource/{r2}.json", json={"folder_parent_id": None}))
    assert parent_of(srv, a, "resources", r2) is None
    assert parent_of(srv, b, "resources", r2) is None
    # And back into f: for everyone who sees f.
    body(a.post(f"{base}/move/resource/{r2}.json", json={"folder_parent_id": f}))
    assert parent_of(srv, b, "resources", r2) == f
    # bob loses f: what he had in it goes to his root; his own folder is untouched.
    perms = body(a.get(f"{base}/folders/{f}.json?contain[permissions]=1"))["permissions"]
    bobs = next(p for p in perms if p["aro_foreign_key"] == bob.id)
    body(a.put(f"{base}/share/folder/{f}.json", json={"permissions": [{"id": bobs["id"], "delete": True}]}))
    assert b.get(f"{base}/folders/{f}.json").status_code == 404
    assert parent_of(srv, b, "resources", r2) is None
    assert parent_of(srv, b, "resources", r) == g
    assert parent_of(srv, a, "resources", r2) == f


def test_folder_moves_and_loops(vault, people):
    inst, srv = vault
    alice, carol = people["alice"], people["carol"]
    a, c = login(srv, alice), login(srv, carol)
    base = vault_url(srv)
    top = new_folder(srv, a, "top")
    mid = new_folder(srv, a, "mid", parent=top)
    low = new_folder(srv, a, "low", parent=mid)
    assert parent_of(srv, a, "folders", low) == mid
    # Into its own descendant, or itself: refused, nothing changes.
    for target in (low, top):
        r = a.post(f"{base}/move/folder/{top}.json", json={"folder_parent_id": target})
        assert r.status_code == 400, r.text
    assert parent_of(srv, a, "folders", top) is None
    r = a.post(f"{base}/move/folder/{top}.json", json={"folder_parent_id": low})
    assert "cycle" in r.json()["body"]["folder_parent_id"]
    # An unknown folder, or one not in the caller's tree: 400; an item not in it: 404.
    r = a.post(f"{base}/move/folder/{low}.json", json={"folder_parent_id": str(uuid.uuid4())})
    assert r.status_code == 400 and "folder_exists" in r.json()["body"]["folder_parent_id"]
    assert c.post(f"{base}/move/folder/{low}.json", json={"folder_parent_id": None}).status_code == 404
    # Shared with carol: each folder she gains is placed where alice has it, when she has that.
    share_folder(srv, a, top, carol)
    share_folder(srv, a, mid, carol)
    assert parent_of(srv, c, "folders", top) is None
    assert parent_of(srv, c, "folders", mid) == top
    # children_folders and has-parent read the caller's tree.
    kids = body(c.get(f"{base}/folders/{top}.json?contain[children_folders]=1"))["children_folders"]
    assert [k["id"] for k in kids] == [mid]
    assert [x["id"] for x in body(c.get(f"{base}/folders.json?filter[has-parent]={top}"))] == [mid]
    # Deleting a folder: its content goes to the root of every tree.
    body(a.delete(f"{base}/folders/{top}.json"))
    assert parent_of(srv, a, "folders", mid) is None
    assert parent_of(srv, c, "folders", mid) is None
    assert parent_of(srv, a, "folders", low) == mid


def test_personal_is_computed(vault, people):
    inst, srv = vault
    alice, bob, carol = people["alice"], people["bob"], people["carol"]
    a = login(srv, alice)
    base = vault_url(srv)
    r = new_resource(srv, a, alice, "personal or not")
    f = new_folder(srv, a, "personal folder")
    assert body(a.get(f"{base}/resources/{r}.json"))["personal"] is True
    assert body(a.get(f"{base}/folders/{f}.json"))["personal"] is True
    share_resource(srv, a, alice, r, bob)
    share_folder(srv, a, f, bob)
    assert body(a.get(f"{base}/resources/{r}.json"))["personal"] is False
    assert body(a.get(f"{base}/folders/{f}.json"))["personal"] is False
    listed = {x["id"]: x["personal"] for x in body(a.get(f"{base}/resources.json"))}
    assert listed[r] is False
    # Through a group with carol as the only member: still one more user.
    g = body(a.post(f"{base}/groups.json", json={"name": "solo " + uuid.uuid4().hex[:6], "groups_users": [
        {"user_id": carol.id, "is_admin": True}]}))
    r2 = new_resource(srv, a, alice, "group shared")
    body(a.put(f"{base}/share/resource/{r2}.json", json={
        "permissions": [{"is_new": True, "aro": "Group", "aro_foreign_key": g["id"], "type": 1}],
        "secrets": [{"user_id": carol.id, "data": alice.gpg.encrypt_to(carol.fpr, "pw")}]}))
    assert body(a.get(f"{base}/resources/{r2}.json"))["personal"] is False
    c = login(srv, carol)
    assert body(c.get(f"{base}/resources/{r2}.json"))["folder_parent_id"] is None
    # Carol leaves the group: r2 is alice's alone again, and gone from carol's tree.
    members = body(a.get(f"{base}/groups/{g['id']}.json"))["groups_users"]
    body(a.put(f"{base}/groups/{g['id']}.json", json={"groups_users": [
        {"user_id": alice.id, "is_admin": True},
        {"id": members[0]["id"], "delete": True}]}))
    assert body(a.get(f"{base}/resources/{r2}.json"))["personal"] is True
    assert c.get(f"{base}/resources/{r2}.json").status_code == 404


def test_listing_contains(vault, people):
    inst, srv = vault
    alice, bob = people["alice"], people["bob"]
    a, b = login(srv, alice), login(srv, bob)
    base = vault_url(srv)
    r = new_resource(srv, a, alice, "contained")
    share_resource(srv, a, alice, r, bob, kind=7)
    g = body(a.post(f"{base}/groups.json", json={"name": "readers " + uuid.uuid4().hex[:6], "groups_users": [
        {"user_id": alice.id, "is_admin": True}]}))
    body(a.put(f"{base}/share/resource/{r}.json", json={
        "permissions": [{"is_new": True, "aro": "Group", "aro_foreign_key": g["id"], "type": 1}], "secrets": []}))
    fav = body(b.post(f"{base}/favorites/resource/{r}.json"))
    # Without contain: none of the parts.
    plain = next(x for x in body(b.get(f"{base}/resources.json")) if x["id"] == r)
    assert not {"permission", "favorite", "creator", "modifier", "permissions", "secrets", "tags"} & set(plain)
    assert plain["created_by"] == alice.id and plain["personal"] is False
    q = ("contain[permission]=1&contain[favorite]=1&contain[creator]=1&contain[modifier]=1&contain[tag]=1"
         "&contain[permissions.user.profile]=1&contain[permissions.group]=1&contain[secret]=1&contain[nonsense]=1")
    full = {x["id"]: x for x in body(b.get(f"{base}/resources.json?{q}"))}
    x = full[r]
    assert x["permission"]["aro_foreign_key"] == bob.id and x["permission"]["type"] == 7
    assert x["favorite"]["id"] == fav["id"] and x["favorite"]["foreign_key"] == r
    assert x["creator"]["id"] == alice.id and x["creator"]["profile"]["first_name"] is not None
    assert x["modifier"]["id"] == alice.id
    assert x["tags"] == []
    by_aro = {p["aro_foreign_key"]: p for p in x["permissions"]}
    assert set(by_aro) == {alice.id, bob.id, g["id"]}
    assert by_aro[bob.id]["user"]["username"] == bob.address
    assert by_aro[g["id"]]["group"]["name"] == g["name"] and "user" not in by_aro[g["id"]]
    assert len(x["secrets"]) == 1 and x["secrets"][0]["user_id"] == bob.id
    assert bob.gpg.decrypt(x["secrets"][0]["data"]) == "pw"
    assert UUID.match(x["secrets"][0]["id"])
    # The same parts on one resource; `permission` always.
    one = body(b.get(f"{base}/resources/{r}.json?contain[favorite]=1&contain[creator]=1"))
    assert one["permission"]["type"] == 7 and one["favorite"]["id"] == fav["id"] and one["creator"]["id"] == alice.id
    # Filters.
    ids = [y["id"] for y in body(b.get(f"{base}/resources.json?filter[is-favorite]=1"))]
    assert ids == [r]
    ids = [y["id"] for y in body(a.get(f"{base}/resources.json?filter[is-shared-with-group]={g['id']}"))]
    assert ids == [r]
    assert body(b.get(f"{base}/resources.json?filter[is-owned-by-me]=1&filter[has-id][]={r}")) == []
    assert [y["id"] for y in body(b.get(f"{base}/resources.json?filter[is-shared-with-me]=1&filter[has-id][]={r}"))] == [r]
    # A stranger to the resource: 404 on it, nothing of it in the listing.
    c = login(srv, people["carol"])
    assert c.get(f"{base}/resources/{r}.json?contain[secret]=1").status_code == 404
    assert r not in {y["id"] for y in body(c.get(f"{base}/resources.json?{q}"))}


def test_multipart_bodies(vault, people):
    inst, srv = vault
    alice = people["alice"]
    a = login(srv, alice)
    base = vault_url(srv)
    # A form as a browser's FormData sends it (a file part, an avatar, is not kept).
    files = {"name": (None, "from a form"), "profile[avatar][file]": ("a.png", b"\x89PNG\r\n", "image/png")}
    made = body(a.post(f"{base}/folders.json", files=files))
    assert made["name"] == "from a form" and UUID.match(made["id"])
    data = alice.gpg.encrypt_to(alice.fpr, "multipart secret")
    r = body(a.post(f"{base}/resources.json", files={
        "name": (None, "multipart resource"), "secrets[0][data]": (None, data),
        "folder_parent_id": (None, made["id"])}))
    assert r["folder_parent_id"] == made["id"]
    secret = body(a.get(f"{base}/secrets/resource/{r['id']}.json"))
    assert alice.gpg.decrypt(secret["data"]) == "multipart secret"
    # Broken multipart: the envelope's 400.
    resp = a.post(f"{base}/folders.json", data=b"--x\r\nno end",
                  headers={"Content-Type": "multipart/form-data; boundary=x"})
    assert resp.status_code == 400 and resp.json()["header"]["status"] == "error", resp.text


def jwt_challenge(srv, m) -> str:
    key = requests.get(f"{vault_url(srv)}/auth/verify.json", timeout=30).json()["body"]
    m.gpg.run("--import", input=key["keydata"].encode())
    c = {"version": "1.0.0", "domain": vault_url(srv), "verify_token": str(uuid.uuid4()),
         "verify_token_expiry": int(time.time()) + 120}
    return m.gpg.run("--armor", "--sign", "--encrypt", "--local-user", m.fpr, "--recipient", key["fingerprint"],
                     input=json.dumps(c).encode()).stdout.decode()


def jwt_login(srv, m, cookies: dict | None = None) -> dict:
    r = requests.post(f"{vault_url(srv)}/auth/jwt/login.json", json={"user_id": m.id, "challenge": jwt_challenge(srv, m)},
                      cookies=cookies or {}, timeout=60)
    return json.loads(m.gpg.decrypt(body(r)["challenge"]))


def test_jwt_login_with_totp(vault, people):
    import pyotp

    inst, srv = vault
    api = srv.api()
    base = vault_url(srv)
    m = enroll_cli(inst, srv, api)
    try:
        # Without TOTP: no providers, the access token works at once.
        reply = jwt_login(srv, m)
        assert "providers" not in reply
        bearer = {"Authorization": f"Bearer {reply['access_token']}"}
        assert body(requests.get(f"{base}/users/me.json", headers=bearer, timeout=30))["id"] == m.id
        seed = ok(api.post(f"/users/{m.mail_id}/2fa/totp/setup", json={"issuer": "Vault Test"}))["seed"]
        totp = pyotp.TOTP(seed)
        ok(api.post(f"/users/{m.mail_id}/2fa/totp/enable", json={"token": totp.now()}))
        # With TOTP: the reply lists the providers; the token is good for MFA only.
        reply = jwt_login(srv, m)
        assert reply["providers"] == ["totp"]
        bearer = {"Authorization": f"Bearer {reply['access_token']}"}
        r = requests.get(f"{base}/users/me.json", headers=bearer, timeout=30)
        assert r.status_code == 403 and r.json()["header"]["message"] == "MFA authentication is required."
        assert requests.get(f"{base}/resources.json", headers=bearer, timeout=30).status_code == 403
        wrong = "000000" if totp.now() != "000000" else "111111"
        r = requests.post(f"{base}/mfa/verify/totp.json", json={"totp": wrong}, headers=bearer, timeout=30)
        assert r.status_code == 400, r.text
        r = requests.post(f"{base}/mfa/verify/totp.json", json={"totp": totp.at(time.time() + 30), "remember": True},
                          headers=bearer, timeout=30)
        assert r.status_code == 200, r.text
        proof = r.cookies.get("passbolt_mfa")
        assert proof and "HttpOnly" in r.headers["Set-Cookie"] and "Max-Age=" in r.headers["Set-Cookie"]
        mfa = {"passbolt_mfa": proof}
        assert body(requests.get(f"{base}/users/me.json", headers=bearer, cookies=mfa, timeout=30))["id"] == m.id
        # A wrong proof is no proof; a later login that carries the proof needs no MFA.
        bad = {"passbolt_mfa": "0" * 64}
        assert requests.get(f"{base}/users/me.json", headers=bearer, cookies=bad, timeout=30).status_code == 403
        again = jwt_login(srv, m, cookies=mfa)
        assert "providers" not in again
        assert requests.get(f"{base}/users/me.json", headers={"Authorization": f"Bearer {again['access_token']}"},
                            cookies=mfa, timeout=30).status_code == 200
        # The proof is this user's only: another user with TOTP on still has to pass MFA.
        n = enroll_cli(inst, srv, api)
        try:
            seed_n = ok(api.post(f"/users/{n.mail_id}/2fa/totp/setup", json={"issuer": "Vault Test"}))["seed"]
            ok(api.post(f"/users/{n.mail_id}/2fa/totp/enable", json={"token": pyotp.TOTP(seed_n).now()}))
            theirs = jwt_login(srv, n, cookies=mfa)
            assert theirs["providers"] == ["totp"]
            r = requests.get(f"{base}/users/me.json", headers={"Authorization": f"Bearer {theirs['access_token']}"},
                             cookies=mfa, timeout=30)
            assert r.status_code == 403
        finally:
            n.gpg.cleanup()
        # GPGAuth with the proof: the session starts past MFA.
        s = requests.Session()
        s.cookies.set("passbolt_mfa", proof)
        r = s.post(f"{base}/auth/login.json", json={"gpg_auth": {"keyid": m.fpr}}, timeout=60)
        import urllib.parse
        token = m.gpg.decrypt(urllib.parse.unquote(r.headers["X-GPGAuth-User-Auth-Token"]).replace("\\+", " "))
        r = s.post(f"{base}/auth/login.json", json={"gpg_auth": {"keyid": m.fpr, "user_token_result": token}},
                   timeout=60)
        assert r.status_code == 200 and "X-Passbolt-Mfa" not in r.headers
        assert s.get(f"{base}/users/me.json", timeout=30).status_code == 200
    finally:
        m.gpg.cleanup()
