"""POST /authenticate: username or any address of the user, password, scope; 403 on failure."""

import pytest

from helpers import PASSWORD, err, invalid, ok, unique


def test_authenticate_by_username(api, user):
    data = ok(api.post("/authenticate", json={"username": user.username, "password": user.password}))
    assert data["id"] == user.id
    assert data["username"] == user.username
    assert data["scope"] == "master"
    assert data["require2fa"] == []
    assert data["address"] == user.address
    assert data["requirePasswordChange"] is False


def test_authenticate_by_main_address_and_alias(api, user):
    alias = unique("alias") + "@example.org"
    ok(api.post(f"/users/{user.id}/addresses", json={"address": alias}))
    for name in (user.address, alias):
        data = ok(api.post("/authenticate", json={"username": name, "password": user.password}))
        assert data["id"] == user.id
        assert data["username"] == user.username


@pytest.mark.parametrize("scope", ["master", "imap", "pop3", "smtp"])
def test_scopes(api, user, scope):
    body = {"username": user.username, "password": user.password, "scope": scope, "protocol": "API", "ip": "127.0.0.1", "sess": "s1"}
    data = ok(api.post("/authenticate", json=body))
    assert data["scope"] == scope


def test_wrong_password_is_403(api, user):
    err(api.post("/authenticate", json={"username": user.username, "password": "wrong password"}), 403)
    err(api.post("/authenticate", json={"username": user.address, "password": "wrong password"}), 403)


def test_unknown_user_is_403_and_indistinguishable(api, user):
    unknown = err(api.post("/authenticate", json={"username": unique("ghost"), "password": PASSWORD}), 403)
    err(api.post("/authenticate", json={"username": unique("ghost") + "@example.test", "password": PASSWORD}), 403)
    wrong = err(api.post("/authenticate", json={"username": user.username, "password": "wrong password"}), 403)
    assert unknown == wrong, "a failed login must not reveal whether the user exists"


def test_password_is_case_sensitive(api, user):
    err(api.post("/authenticate", json={"username": user.username, "password": user.password.upper()}), 403)


def test_validation(api, user):
    invalid(api.post("/authenticate", json={"username": user.username}))
    invalid(api.post("/authenticate", json={"password": user.password}))
    invalid(api.post("/authenticate", json={"username": user.username, "password": user.password, "scope": "root"}))
    invalid(api.post("/authenticate", json={"username": user.username, "password": 12345}))
    invalid(api.post("/authenticate", data="{not json", headers={"Content-Type": "application/json"}))
