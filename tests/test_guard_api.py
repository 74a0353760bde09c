"""The OX Guard key-management API under /guard: sessions from POST /authenticate (token: true),
the login, key rings created, uploaded, downloaded and used by GnuPG, passwords, recovery,
and a scan of the database and the server log for key passwords and unprotected secret keys.
"""

from __future__ import annotations

import pytest

from helpers import PASSWORD, create_user, err, ok


def session_for(api, user) -> str:
    body = ok(api.post("/authenticate", json={"username": user.username, "password": PASSWORD, "token": True}))
    assert len(body["token"]) == 64
    return body["token"]


def guard(api, method: str, module: str, action: str, session: str | None, json=None, **params):
    if session is not None:
        params["session"] = session
    return api.request(method, f"/guard/{module}/{action}", params=params, json=json)


def guard_err(resp, status: int, code: str) -> dict:
    assert resp.status_code == status, (resp.status_code, resp.text)
    body = resp.json()
    assert body["code"] == code, body
    for field in ("error", "error_params", "error_id", "error_desc", "categories", "category"):
        assert field in body, body
    return body


def test_authenticate_token_and_session(api):
    user = create_user(api)
    plain = ok(api.post("/authenticate", json={"username": user.username, "password": PASSWORD}))
    assert "token" not in plain
    err(api.post("/authenticate", json={"username": user.username, "password": PASSWORD, "token": True,
                                        "scope": "imap"}), 400)
    session = session_for(api, user)
    body = guard(api, "GET", "keys", "checkKeys", session).json()
    assert body == {"data": {"hasPrivateKey": False, "hasPublicKey": False}}
    # OX clients' spelling: /guard/keys?action=checkKeys
    r = api.get("/guard/keys", params={"action": "checkKeys", "session": session})
    assert r.json()["data"]["hasPublicKey"] is False
    guard_err(guard(api, "GET", "keys", "checkKeys", None), 401, "SessionExpired")
    guard_err(guard(api, "GET", "keys", "checkKeys", "0" * 64), 401, "SessionExpired")
    guard_err(guard(api, "GET", "keys", "checkKeys", "nonsense"), 401, "SessionExpired")
    guard_err(guard(api, "GET", "keys", "noSuchAction", session), 404, "NotFound")


def test_login_settings(api):
    user = create_user(api)
    session = session_for(api, user)
    body = ok_json(guard(api, "POST", "login", "login", session, json={"language": "de_DE"}))
    assert body["primaryEmail"] == user.address
    assert body["auth"] is None and body["pubKey"] == ""
    assert body["recoveryAvail"] is True and body["settings"]["noRecovery"] is False
    assert body["settings"]["min_password_length"] >= 6
    assert body["language"] == "de_DE" and "de_DE" in body["lang"]


def ok_json(resp) -> dict:
    assert resp.status_code == 200, (resp.status_code, resp.text)
    return resp.json()
