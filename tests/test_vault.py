"""The password vault under /vault driven by passbolt's own python client
(`passbolt-python-api`) and GnuPG, for several users with their own keys: invitation (CLI and
an administrator's `POST /users.json` into the INBOX), setup, GPGAuth login, a resource with its
secret, sharing with a user and with a group, what read-only users cannot do, removal from a
group, folders and moves, deletion. Both engines.
"""

from __future__ import annotations

import email
import email.policy
import json

import pytest
import requests

from harness import Instances
from helpers import create_user, inbox, list_messages
from vault_helpers import SETUP_URL, Gpg, body, client, enroll_cli, login, setup_account, vault_url


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
    """alice (administrator, from the CLI), bob (invited by alice through the API, setup link
    read from his INBOX), carol (from the CLI)."""
    inst, srv = vault
    api = srv.api()
    alice = enroll_cli(inst, srv, api, admin=True)
    a = login(srv, alice)
    bob_mail = create_user(api)
    created = body(a.post(f"{vault_url(srv)}/users.json", json={
        "username": bob_mail.address, "profile": {"first_name": "Bob", "last_name": "Builder"}}))
    assert created["username"] == bob_mail.address and created["active"] is False
    mbox = inbox(api, bob_mail.id)
    msgs = list_messages(api, bob_mail.id, mbox)["results"]
    assert msgs, "the invitation was not delivered into the INBOX"
    raw = api.get(f"/users/{bob_mail.id}/mailboxes/{mbox}/messages/{msgs[0]['id']}/message.eml").content
    text = email.message_from_bytes(raw, policy=email.policy.default).get_body(("plain",)).get_content()
    url = SETUP_URL.search(text)
    assert url, text
    bob = setup_account(srv, bob_mail.address, url.group(0), Gpg())
    bob.mail_id = bob_mail.id
    carol = enroll_cli(inst, srv, api)
    yield {"alice": alice, "bob": bob, "carol": carol}
    for m in (alice, bob, carol):
        m.gpg.cleanup()


def share_payload(c, resource_id: str, password: str, adds: list[tuple[str, str, int]], encrypt_for: list):
    """permissions for (aro, id, type) and secrets for each member in `encrypt_for`."""
    return {
        "permissions": [{"is_new": True, "aro": aro, "aro_foreign_key": key, "type": t} for aro, key, t in adds],
        "secrets": [{"user_id": m.id, "data": c.encrypt(password, m.fpr)} for m in encrypt_for],
    }


def test_python_client_full_flow(vault, people):
    inst, srv = vault
    alice, bob, carol = people["alice"], people["bob"], people["carol"]
    a = client(srv, alice)
    # Create and read back through the client.
    resource = a.create_resource(name="mail account", password="hunter2-plain", username="ada", uri="https://m.test")
    assert a.get_password(resource.id) == "hunter2-plain"
    listed = [r["id"] for r in a.iterate_resources()]
    assert resource.id in listed
    a.import_public_keys()

    # Share with bob, read only: simulate, then share.
    payload = share_payload(a, resource.id, "hunter2-plain", [("User", bob.id, 1)], [bob])
    sim = a.post(f"/share/simulate/resource/{resource.id}.json", payload)
    assert sim["body"]["changes"]["added"] == [{"User": {"id": bob.id}}]
    a.put(f"/share/resource/{resource.id}.json", payload)
    b = client(srv, bob)
    assert b.get_password(resource.id) == "hunter2-plain"
    users = {u.id for u in a.list_users(resource_or_folder_id=resource.id)}
    assert users == {alice.id, bob.id}

    # Read-only bob can neither update nor share.
    b_raw = login(srv, bob)
    base = vault_url(srv)
    r = b_raw.put(f"{base}/resources/{resource.id}.json", json={"name": "renamed"})
    assert r.status_code == 403, r.text
    r = b_raw.put(f"{base}/share/resource/{resource.id}.json", json={"permissions": []})
    assert r.status_code == 403, r.text

    # A group with alice (manager) and carol; share with it (update), carol decrypts.
    a_raw = login(srv, alice)
    group = body(a_raw.post(f"{base}/groups.json", json={"name": "ops", "groups_users": [
        {"user_id": alice.id, "is_admin": True}, {"user_id": carol.id, "is_admin": False}]}))
    a.import_public_keys()
    payload = share_payload(a, resource.id, "hunter2-plain", [("Group", group["id"], 7)], [carol])
    a.put(f"/share/resource/{resource.id}.json", payload)
    c = client(srv, carol)
    assert c.get_password(resource.id) == "hunter2-plain"
    # carol may update through the group (with one secret for each user with access)...
    c.import_public_keys()
    c.update_resource(resource.id, name="mail account (ops)", password="rotated-pass")
    assert a.get_password(resource.id) == "rotated-pass"
    assert b.get_password(resource.id) == "rotated-pass"
    # ...but not share.
    c_raw = login(srv, carol)
    r = c_raw.put(f"{base}/share/resource/{resource.id}.json", json={"permissions": []})
    assert r.status_code == 403, r.text

    # Removing carol from the group removes her access and her copy.
    described = a.describe_group(group["id"])
    membership = next(m for m in described.groups_users if m["user_id"] == carol.id)
    body(a_raw.put(f"{base}/groups/{group['id']}.json", json={"groups_users": [{"id": membership["id"], "delete": True}]}))
    assert c_raw.get(f"{base}/resources/{resource.id}.json").status_code == 404
    assert c_raw.get(f"{base}/secrets/resource/{resource.id}.json").status_code == 404

    # Folders: a folder, a resource created into it by the client (share + move), a move out.
    folder = body(a_raw.post(f"{base}/folders.json", json={"name": "Team"}))
    inner = a.create_resource(name="in folder", password="folder-secret", folder_id=folder["id"])
    children = [r.id for r in a.list_resources(folder_id=folder["id"])]
    assert children == [inner.id]
    a.move_resource_to_folder(resource.id, folder["id"])
    assert {r.id for r in a.list_resources(folder_id=folder["id"])} == {inner.id, resource.id}
    body(a_raw.post(f"{base}/move/resource/{resource.id}.json", json={"folder_parent_id": None}))
    assert [r.id for r in a.list_resources(folder_id=folder["id"])] == [inner.id]
    # bob cannot move it into alice's folder: that folder is not in his tree (passbolt: 400).
    r = b_raw.post(f"{base}/move/resource/{resource.id}.json", json={"folder_parent_id": folder["id"]})
    assert r.status_code == 400 and "folder_exists" in r.json()["body"]["folder_parent_id"], r.text

    # Delete: gone for everyone.
    a.delete(f"/resources/{resource.id}.json")
    assert b_raw.get(f"{base}/resources/{resource.id}.json").status_code == 404
    assert resource.id not in [r["id"] for r in b.iterate_resources()]


def test_resource_types_and_password_with_description(vault, people):
    inst, srv = vault
    alice = people["alice"]
    a = client(srv, alice)
    types = a.get("/resource-types.json")["body"]
    by_slug = {t["slug"]: t for t in types}
    assert by_slug["password-string"]["id"] == "669f8c64-242a-59fb-92fc-81f660975fd3"
    view = a.get(f"/resource-types/{by_slug['password-and-description']['id']}.json")["body"]
    assert isinstance(view["definition"], str) and json.loads(view["definition"])["secret"]["type"] == "object"
    secret = json.dumps({"password": "pw-and-desc", "description": "encrypted note"})
    r = a.post("/resources.json", {"name": "with description", "resource_type_id": by_slug["password-and-description"]["id"],
                                   "secrets": [{"data": a.encrypt(secret)}]})
    rid = r["body"]["id"]
    assert a.get_password_and_description(rid) == {"password": "pw-and-desc", "description": "encrypted note"}


def test_unknown_address_cannot_be_invited(vault, people):
    inst, srv = vault
    r = inst.run("vault", "invite", "nobody-here@example.test")
    assert r.returncode != 0
    assert "not the address of a mail user" in r.stderr
    a = login(srv, people["alice"])
    resp = a.post(f"{vault_url(srv)}/users.json", json={"username": "nobody-here@example.test",
                                                        "profile": {"first_name": "N", "last_name": "O"}})
    assert resp.status_code == 400, resp.text
    assert "username" in resp.json()["body"]


def test_non_admin_cannot_add_users(vault, people):
    inst, srv = vault
    api = srv.api()
    other = create_user(api)
    b = login(srv, people["bob"])
    resp = b.post(f"{vault_url(srv)}/users.json", json={"username": other.address,
                                                        "profile": {"first_name": "N", "last_name": "O"}})
    assert resp.status_code == 403, resp.text


def test_deleting_the_mail_user_ends_the_vault_user(vault):
    inst, srv = vault
    api = srv.api()
    m = enroll_cli(inst, srv, api)
    try:
        s = login(srv, m)
        assert s.get(f"{vault_url(srv)}/users/me.json").status_code == 200
        assert api.delete(f"/users/{m.mail_id}").status_code == 200
        assert s.get(f"{vault_url(srv)}/users/me.json").status_code == 401
        r = requests.post(f"{vault_url(srv)}/auth/login.json", json={"gpg_auth": {"keyid": m.fpr}}, timeout=30)
        assert r.status_code == 400 and r.headers["X-GPGAuth-Error"] == "true"
    finally:
        m.gpg.cleanup()


def test_mfa_with_the_mail_users_totp(vault):
    import time

    import pyotp

    from helpers import ok

    inst, srv = vault
    api = srv.api()
    m = enroll_cli(inst, srv, api)
    try:
        seed = ok(api.post(f"/users/{m.mail_id}/2fa/totp/setup", json={"issuer": "Vault Test"}))["seed"]
        totp = pyotp.TOTP(seed)
        ok(api.post(f"/users/{m.mail_id}/2fa/totp/enable", json={"token": totp.now()}))
        # Raw: after GPGAuth the session must pass MFA first.
        s = requests.Session()
        base = vault_url(srv)
        r = s.post(f"{base}/auth/login.json", json={"gpg_auth": {"keyid": m.fpr}}, timeout=60)
        import urllib.parse
        token = m.gpg.decrypt(urllib.parse.unquote(r.headers["X-GPGAuth-User-Auth-Token"]))
        r = s.post(f"{base}/auth/login.json", json={"gpg_auth": {"keyid": m.fpr, "user_token_result": token}},
                   timeout=60)
        assert r.status_code == 200
        r = s.get(f"{base}/users/me.json", timeout=30)
        assert r.status_code == 403 and r.json()["header"]["message"] == "MFA authentication is required."
        csrf = {"X-CSRF-Token": s.cookies["csrfToken"]}
        r = s.post(f"{base}/mfa/verify/totp.json", json={"totp": "000000" if totp.now() != "000000" else "111111"},
                   headers=csrf, timeout=30)
        assert r.status_code == 400, r.text
        # The next step's code (the current one was used to enable TOTP).
        r = s.post(f"{base}/mfa/verify/totp.json", json={"totp": totp.at(time.time() + 30)}, headers=csrf, timeout=30)
        assert r.status_code == 200, r.text
        assert s.get(f"{base}/users/me.json", timeout=30).status_code == 200
        # passbolt-python-api does the same with its OTP setting (another user: each code works once).
        n = enroll_cli(inst, srv, api)
        try:
            seed_n = ok(api.post(f"/users/{n.mail_id}/2fa/totp/setup", json={"issuer": "Vault Test"}))["seed"]
            totp_n = pyotp.TOTP(seed_n)
            ok(api.post(f"/users/{n.mail_id}/2fa/totp/enable", json={"token": totp_n.now()}))
            from passboltapi import PassboltAPI
            import os
            os.environ["GNUPGHOME"] = str(n.gpg.home)
            try:
                c = PassboltAPI(config={"PASSBOLT": {"SERVER": base, "USER_FINGERPRINT": n.fpr,
                                                     "PASSPHRASE": "vault key pass 1",
                                                     "OTP": totp_n.at(time.time() + 30)}})
                assert c.get("/users/me.json")["body"]["id"] == n.id
            finally:
                os.environ.pop("GNUPGHOME", None)
        finally:
            n.gpg.cleanup()
    finally:
        m.gpg.cleanup()


def test_account_recovery_through_the_inbox(vault):
    import re as _re

    inst, srv = vault
    api = srv.api()
    base = vault_url(srv)
    m = enroll_cli(inst, srv, api)
    try:
        body(requests.post(f"{base}/users/recover.json", json={"username": m.address}, timeout=30))
        # An unknown address tells nothing.
        body(requests.post(f"{base}/users/recover.json", json={"username": "nobody@example.test"}, timeout=30))
        mbox = inbox(api, m.mail_id)
        msgs = list_messages(api, m.mail_id, mbox)["results"]
        raw = api.get(f"/users/{m.mail_id}/mailboxes/{mbox}/messages/{msgs[0]['id']}/message.eml").content
        text = email.message_from_bytes(raw, policy=email.policy.default).get_body(("plain",)).get_content()
        link = _re.search(r"/vault/setup/recover/start/([0-9a-f-]{36})/([0-9a-f-]{36})", text)
        assert link, text
        user_id, token = link.group(1), link.group(2)
        assert user_id == m.id
        start = body(requests.get(f"{base}/setup/recover/start/{user_id}/{token}.json", timeout=30))
        assert start["user"]["gpgkey"]["fingerprint"] == m.fpr
        # Another key is refused (and the token stays usable); the registered one works once.
        other = Gpg()
        try:
            ofpr = other.gen(f"Other <{m.address}>")
            r = requests.post(f"{base}/setup/recover/complete/{user_id}.json", timeout=60, json={
                "authentication_token": {"token": token}, "gpgkey": {"armored_key": other.export(ofpr)}})
            assert r.status_code == 400, r.text
        finally:
            other.cleanup()
        done = {"authentication_token": {"token": token}, "gpgkey": {"armored_key": m.gpg.export(m.fpr)}}
        body(requests.post(f"{base}/setup/recover/complete/{user_id}.json", json=done, timeout=60))
        r = requests.post(f"{base}/setup/recover/complete/{user_id}.json", json=done, timeout=60)
        assert r.status_code == 400
        # And the user logs in as before.
        assert login(srv, m).get(f"{base}/users/me.json").status_code == 200
    finally:
        m.gpg.cleanup()
