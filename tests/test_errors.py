"""Bad input is answered with a clean 4xx JSON error, never a 500, and never kills the server."""

import pytest
import requests

from helpers import UNKNOWN_ID, err, inbox, invalid, make_message, message_path, ok, unique, upload_ok

JSON = {"Content-Type": "application/json"}


@pytest.mark.parametrize(
    "body",
    [b"{", b"{\"username\": }", b"[1, 2", b"\xff\xfe\x00garbage", b"{\"username\": \"a\", \"password\": \"b\"} trailing", b"null x"],
)
def test_malformed_json(api, body):
    data = invalid(api.post("/users", data=body, headers=JSON))
    assert data["error"]


def test_json_must_be_an_object(api):
    invalid(api.post("/users", data=b"[]", headers=JSON))
    invalid(api.post("/users", data=b"\"just a string\"", headers=JSON))
    invalid(api.post("/users", data=b"42", headers=JSON))


@pytest.mark.parametrize(
    "field,value",
    [
        ("username", 42),
        ("username", ["a"]),
        ("password", {"nested": True}),
        ("quota", "lots"),
        ("quota", 1.5),
        ("retention", "soon"),
        ("tags", {"a": 1}),
        ("emptyAddress", "perhaps"),
        ("language", 7),
    ],
)
def test_wrong_types(api, field, value):
    body = {"username": unique("typecheck"), "password": "secret pass", field: value}
    data = invalid(api.post("/users", json=body))
    if "details" in data:
        assert field in data["details"], data


def test_validation_error_shape(api):
    data = invalid(api.post("/users", json={"username": unique("shape"), "password": "secret pass", "quota": "lots"}))
    assert set(data) <= {"error", "code", "details"}
    assert data["code"] == "InputValidationError"
    assert data["details"] == {"quota": data["details"]["quota"]}
    assert isinstance(data["details"]["quota"], str) and data["details"]["quota"]


@pytest.mark.parametrize("bad_id", ["123", "zzzzzzzzzzzzzzzzzzzzzzzz", "0123456789abcdef0123456", "0123456789abcdef012345678", "%20"])
def test_non_hex_ids(api, bad_id):
    invalid(api.get(f"/users/{bad_id}"))
    invalid(api.get(f"/users/{bad_id}/mailboxes"))
    invalid(api.get(f"/users/{UNKNOWN_ID}/mailboxes/{bad_id}"))
    invalid(api.get(f"/users/{UNKNOWN_ID}/addresses/{bad_id}"))


@pytest.mark.parametrize(
    "path",
    ["/users", "/addresses", "/users/{u}/mailboxes/{m}/messages", "/users/{u}/flagged", "/users/{u}/search?query=x"],
)
@pytest.mark.parametrize("limit", ["0", "100000", "-1", "abc", "1e3", ""])
def test_bad_limits(api, user, path, limit):
    path = path.format(u=user.id, m=inbox(api, user.id))
    sep = "&" if "?" in path else "?"
    r = api.get(f"{path}{sep}limit={limit}")
    if limit == "":
        assert r.status_code in (200, 400), r.text  # an empty value may mean "default"
        return
    invalid(r)


def test_bad_order(api, user):
    mid = inbox(api, user.id)
    invalid(api.get(f"/users/{user.id}/mailboxes/{mid}/messages", params={"order": "random"}))
    invalid(api.get(f"/users/{user.id}/flagged", params={"order": "ASC DESC"}))


def test_unknown_ids_are_404(api, user):
    mid = inbox(api, user.id)
    err(api.get(f"/users/{UNKNOWN_ID}"), 404)
    err(api.get(f"/users/{user.id}/mailboxes/{UNKNOWN_ID}"), 404)
    err(api.get(f"/users/{user.id}/addresses/{UNKNOWN_ID}"), 404)
    err(api.get(message_path(user.id, mid, 424242)), 404)
    err(api.get(f"/users/{UNKNOWN_ID}/addresses"), 404)


def test_unknown_route_and_method(api, user):
    r = api.get("/no/such/route")
    assert r.status_code == 404
    r = api.request("PATCH", f"/users/{user.id}", json={})
    assert r.status_code in (404, 405)


def test_oversized_json_body(api):
    # larger than the API's body limit (at least maxMessageSize, 64 MiB by default)
    r = None
    big = b'{"username": "big", "password": "' + b"p" * (80 << 20) + b'"}'
    try:
        r = api.post("/users", data=big, headers=JSON)
    except requests.exceptions.ConnectionError:
        pass  # the server may close the connection after refusing early
    if r is not None:
        assert r.status_code in (400, 413), r.status_code
    ok(api.get("/users", params={"limit": 1}))


def test_no_500_for_odd_requests(api, user):
    mid = inbox(api, user.id)
    uid = upload_ok(api, user.id, mid, make_message())
    attempts = [
        ("GET", f"/users?query={'x' * 5000}"),
        ("GET", "/users?tags=,,,"),
        ("GET", "/users?next=%00%01"),
        ("GET", "/users?previous=" + "A" * 10000),
        ("GET", f"/users/{user.id}/search?query=" + "%22" * 50),
        ("GET", f"/users/{user.id}/mailboxes/{mid}/messages?next=bogus&previous=bogus"),
        ("GET", f"/users/{user.id}/mailboxes/{mid}/messages/{uid}/attachments/ATT"),
        ("GET", f"/users/{user.id}/mailboxes/{mid}/messages/{uid}/attachments/ATT99999999999"),
        ("PUT", f"/users/{user.id}/mailboxes/{mid}/messages/1:99999999999"),
        ("PUT", f"/users/{user.id}/mailboxes/{mid}/messages/" + ",".join(str(i) for i in range(1, 3000))),
        ("PUT", f"/users/{user.id}/mailboxes/{mid}/messages/{uid}"),
        ("DELETE", f"/users/{user.id}/mailboxes/{mid}/messages/{uid},{uid}"),
        ("POST", "/authenticate"),
        ("POST", f"/users/{user.id}/addresses"),
        ("POST", f"/users/{user.id}/mailboxes"),
        ("PUT", f"/users/{user.id}"),
    ]
    for method, path in attempts:
        r = api.request(method, path, data=b"{}", headers=JSON)
        assert r.status_code < 500, (method, path[:120], r.status_code, r.text[:300])
        if r.status_code >= 400 and r.status_code != 404:
            assert "error" in r.json(), (method, path[:120], r.text[:300])
    # form-encoded or text bodies where JSON is expected
    r = api.post("/users", data="username=a&password=b", headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert 400 <= r.status_code < 500
    r = api.post("/users", data="username", headers={"Content-Type": "text/plain"})
    assert 400 <= r.status_code < 500
    ok(api.get(f"/users/{user.id}"))
