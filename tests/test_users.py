"""Users: GET/POST /users, GET/PUT/DELETE /users/{user}."""

from helpers import (
    HEX24,
    PASSWORD,
    UNKNOWN_ID,
    assert_paging,
    err,
    invalid,
    ok,
    unique,
)

DEFAULT_QUOTA = 5368709120  # SEALPOST_DEFAULT_QUOTA of the test server


def test_create_and_get_minimal(api, create_user):
    u = create_user()
    data = ok(api.get(f"/users/{u.id}"))
    assert data["id"] == u.id
    assert data["username"] == u.username
    assert data["name"] == ""
    assert data["address"] == f"{u.username}@example.test"  # generated from SEALPOST_DOMAIN
    assert "retention" not in data  # "Not present if not enabled"
    assert data["enabled2fa"] == []
    assert data["encryptMessages"] is False
    assert data["encryptForwarded"] is False
    assert data["pubKey"] == ""
    assert data["keyInfo"] is False
    limits = data["limits"]
    assert limits["quota"] == {"allowed": DEFAULT_QUOTA, "used": 0}
    for key in ("recipients", "forwards"):
        assert limits[key]["allowed"] == 2000, limits
        assert limits[key]["used"] == 0, limits
        assert limits[key]["ttl"] == 0, limits
    assert data["tags"] == []
    assert data["hasPasswordSet"] is True
    assert data["activated"] is True
    assert data["disabled"] is False


def test_create_with_every_field(api):
    username = unique("full")
    address = f"{username}.main@example.org"
    body = {
        "username": username,
        "password": PASSWORD,
        "address": address,
        "name": "Full Name",
        "quota": 123456789,
        "retention": 86400000,
        "language": "en",
        "recipients": 100,
        "forwards": 50,
        "tags": ["alpha", "beta"],
        "encryptMessages": False,
        "encryptForwarded": False,
        "ip": "192.168.10.10",
        "sess": "session-1",
    }
    created = ok(api.post("/users", json=body))
    assert set(created) == {"success", "id"}
    assert HEX24.match(created["id"])
    data = ok(api.get(f"/users/{created['id']}"))
    assert data["username"] == username
    assert data["name"] == "Full Name"
    assert data["address"] == address
    assert data["retention"] == 86400000
    assert data["limits"]["quota"] == {"allowed": 123456789, "used": 0}
    assert data["limits"]["recipients"]["allowed"] == 100
    assert data["limits"]["forwards"]["allowed"] == 50
    assert sorted(data["tags"]) == ["alpha", "beta"]
    addresses = ok(api.get(f"/users/{created['id']}/addresses"))["results"]
    assert [(a["address"], a["main"]) for a in addresses] == [(address, True)]


def test_create_with_empty_address(api, create_user):
    u = create_user(emptyAddress=True)
    assert ok(api.get(f"/users/{u.id}/addresses"))["results"] == []
    data = ok(api.get(f"/users/{u.id}"))
    assert not data["address"], data  # null/empty: no main address


def test_create_without_password(api, create_user):
    u = create_user(password=False)
    data = ok(api.get(f"/users/{u.id}"))
    assert data["hasPasswordSet"] is False
    err(api.post("/authenticate", json={"username": u.username, "password": "anything at all"}), 403)


def test_create_validation(api):
    invalid(api.post("/users", json={"password": PASSWORD}))  # no username
    invalid(api.post("/users", json={"username": unique("nopw")}))  # no password
    invalid(api.post("/users", json={"username": "bad user!", "password": PASSWORD}))
    invalid(api.post("/users", json={"username": "", "password": PASSWORD}))
    invalid(api.post("/users", json={"username": unique("q"), "password": PASSWORD, "quota": -1}))
    invalid(api.post("/users", json={"username": unique("q"), "password": PASSWORD, "quota": "lots"}))
    invalid(api.post("/users", json={"username": unique("t"), "password": PASSWORD, "tags": [1, 2]}))
    invalid(api.post("/users", json={"username": unique("a"), "password": PASSWORD, "address": "not-an-address"}))
    invalid(api.post("/users", json={"username": 12345, "password": PASSWORD}))


def test_duplicate_username_refused(api, create_user):
    u = create_user()
    body = err(api.post("/users", json={"username": u.username, "password": PASSWORD, "emptyAddress": True}), 400)
    assert body.get("code") != "InputValidationError"
    # exactly one user has that name
    listed = ok(api.get("/users", params={"query": u.username}))
    assert [r["id"] for r in listed["results"] if r["username"] == u.username] == [u.id]


def test_duplicate_address_refused(api, create_user):
    u = create_user()
    err(api.post("/users", json={"username": unique("dup"), "password": PASSWORD, "address": u.address}), 400)


def test_get_unknown_and_malformed_ids(api):
    err(api.get(f"/users/{UNKNOWN_ID}"), 404)
    err(api.put(f"/users/{UNKNOWN_ID}", json={"name": "x"}), 404)
    err(api.delete(f"/users/{UNKNOWN_ID}"), 404)
    invalid(api.get("/users/123"))
    invalid(api.get("/users/zzzzzzzzzzzzzzzzzzzzzzzz"))


def test_list_shape_and_query(api, create_user):
    marker = unique("lq")
    a = create_user(username=marker + "a", name="A", tags=["green", "blue"])
    b = create_user(username=marker + "b")
    create_user()  # does not match
    data = ok(api.get("/users", params={"query": marker}))
    assert_paging(data)
    assert data["query"] == marker
    assert data["total"] == 2
    assert data["previousCursor"] is False and data["nextCursor"] is False
    by_id = {r["id"]: r for r in data["results"]}
    assert set(by_id) == {a.id, b.id}
    ra = by_id[a.id]
    assert ra["username"] == a.username
    assert ra["name"] == "A"
    assert ra["address"] == a.address
    assert sorted(ra["tags"]) == ["blue", "green"]
    assert ra["encryptMessages"] is False and ra["encryptForwarded"] is False
    assert ra["quota"] == {"allowed": DEFAULT_QUOTA, "used": 0}
    assert ra["hasPasswordSet"] is True
    assert ra["activated"] is True
    assert ra["disabled"] is False


def test_list_partial_match(api, create_user):
    marker = unique("pm")
    u = create_user(username="x" + marker + "y")
    data = ok(api.get("/users", params={"query": marker}))
    assert [r["id"] for r in data["results"]] == [u.id]


def test_list_tags_and_required_tags(api, create_user):
    t = unique("tag")
    red, green, blue = t + "red", t + "green", t + "blue"
    u1 = create_user(tags=[red, green])
    u2 = create_user(tags=[green])
    u3 = create_user(tags=[blue])
    create_user(tags=["unrelated"])

    def ids(**params):
        data = ok(api.get("/users", params={"limit": 250, **params}))
        return {r["id"] for r in data["results"]}

    assert ids(tags=f"{red},{blue}") == {u1.id, u3.id}
    assert ids(tags=green) == {u1.id, u2.id}
    assert ids(requiredTags=f"{red},{green}") == {u1.id}
    assert ids(requiredTags=green) == {u1.id, u2.id}
    assert ids(tags=f"{green},{blue}", requiredTags=green) == {u1.id, u2.id}


def test_list_limit_and_cursors(api, create_user):
    marker = unique("pg")
    made = {create_user(username=f"{marker}{i}").id for i in range(5)}
    seen: list[str] = []
    pages: list[list[str]] = []
    data = ok(api.get("/users", params={"query": marker, "limit": 2}))
    assert_paging(data, page=1)
    assert data["previousCursor"] is False
    page = 1
    while True:
        assert data["total"] == 5
        assert len(data["results"]) <= 2
        ids = [r["id"] for r in data["results"]]
        pages.append(ids)
        seen += ids
        if data["nextCursor"] is False:
            break
        page += 1
        data = ok(api.get("/users", params={"query": marker, "limit": 2, "next": data["nextCursor"], "page": page}))
        assert_paging(data, page=page)
        assert isinstance(data["previousCursor"], str)
    assert len(pages) == 3
    assert sorted(seen) == sorted(made) and len(seen) == 5
    # and back again
    while page > 1:
        page -= 1
        data = ok(api.get("/users", params={"query": marker, "limit": 2, "previous": data["previousCursor"], "page": page}))
        assert_paging(data, page=page)
        assert [r["id"] for r in data["results"]] == pages[page - 1]
    assert data["previousCursor"] is False


def test_list_limit_validation(api):
    invalid(api.get("/users", params={"limit": 0}))
    invalid(api.get("/users", params={"limit": 100000}))
    invalid(api.get("/users", params={"limit": "many"}))
    ok(api.get("/users", params={"limit": 250}))


def test_update_fields(api, create_user):
    u = create_user()
    r = ok(api.put(f"/users/{u.id}", json={"name": "New Name", "quota": 1024, "tags": ["x1", "y1"], "retention": 1000, "language": "de"}))
    assert set(r) == {"success"}
    data = ok(api.get(f"/users/{u.id}"))
    assert data["name"] == "New Name"
    assert data["limits"]["quota"]["allowed"] == 1024
    assert sorted(data["tags"]) == ["x1", "y1"]
    assert data["retention"] == 1000
    # fields not sent stay as they were
    ok(api.put(f"/users/{u.id}", json={"quota": 2048}))
    data = ok(api.get(f"/users/{u.id}"))
    assert data["name"] == "New Name"
    assert data["limits"]["quota"]["allowed"] == 2048


def test_update_validation(api, user):
    invalid(api.put(f"/users/{user.id}", json={"quota": "big"}))
    invalid(api.put(f"/users/{user.id}", json={"tags": "notalist", "quota": -5}))
    invalid(api.put("/users/nothex", json={"name": "x"}))


def test_update_password_with_existing_password(api, create_user):
    u = create_user()
    wrong = api.put(f"/users/{u.id}", json={"password": "new password 1", "existingPassword": "not it"})
    err(wrong, 403)
    # nothing changed
    ok(api.post("/authenticate", json={"username": u.username, "password": u.password}))
    err(api.post("/authenticate", json={"username": u.username, "password": "new password 1"}), 403)

    ok(api.put(f"/users/{u.id}", json={"password": "new password 1", "existingPassword": u.password}))
    ok(api.post("/authenticate", json={"username": u.username, "password": "new password 1"}))
    err(api.post("/authenticate", json={"username": u.username, "password": u.password}), 403)


def test_update_password_without_check(api, create_user):
    u = create_user()
    ok(api.put(f"/users/{u.id}", json={"password": "another secret 2"}))
    ok(api.post("/authenticate", json={"username": u.username, "password": "another secret 2"}))


def test_delete_user(api, create_user):
    u = create_user()
    r = ok(api.delete(f"/users/{u.id}"))
    assert r["code"] == "TaskScheduled" and r["user"] == u.id and r["addresses"] == {"deleted": 1}
    err(api.get(f"/users/{u.id}"), 404)
    err(api.get(f"/users/{u.id}/mailboxes"), 404)
    err(api.post("/authenticate", json={"username": u.username, "password": u.password}), 403)
    found = ok(api.get("/addresses", params={"query": u.address}))["results"]
    assert [a for a in found if a["address"] == u.address] == []
    # the username and address are free again
    ok(api.post("/users", json={"username": u.username, "password": PASSWORD, "address": u.address}))
    err(api.delete(f"/users/{u.id}"), 404)
