"""Addresses: GET /addresses, GET/POST /users/{user}/addresses, GET/PUT/DELETE
/users/{user}/addresses/{address}."""

from helpers import HEX24, ISO_DATE, UNKNOWN_ID, assert_paging, err, invalid, ok, unique

IDN_ADDRESS = "андрис@уайлддак.орг"


def addresses(api, user_id):
    return ok(api.get(f"/users/{user_id}/addresses"))["results"]


def test_user_address_list_shape(api, user):
    results = addresses(api, user.id)
    assert len(results) == 1
    a = results[0]
    assert set(a) >= {"id", "address", "main", "created"}
    assert HEX24.match(a["id"])
    assert a["address"] == user.address
    assert a["main"] is True
    assert ISO_DATE.match(a["created"]), a


def test_create_get_alias(api, user):
    alias = unique("alias") + "@example.org"
    created = ok(api.post(f"/users/{user.id}/addresses", json={"address": alias}))
    assert set(created) == {"success", "id"}
    assert HEX24.match(created["id"])
    data = ok(api.get(f"/users/{user.id}/addresses/{created['id']}"))
    assert data["id"] == created["id"]
    assert data["address"] == alias
    assert data["main"] is False
    assert ISO_DATE.match(data["created"])
    assert {a["address"]: a["main"] for a in addresses(api, user.id)} == {user.address: True, alias: False}


def test_create_as_main(api, user):
    alias = unique("newmain") + "@example.org"
    ok(api.post(f"/users/{user.id}/addresses", json={"address": alias, "main": True}))
    assert {a["address"]: a["main"] for a in addresses(api, user.id)} == {user.address: False, alias: True}
    assert ok(api.get(f"/users/{user.id}"))["address"] == alias


def test_set_main(api, user):
    alias = unique("m") + "@example.org"
    aid = ok(api.post(f"/users/{user.id}/addresses", json={"address": alias}))["id"]
    r = ok(api.put(f"/users/{user.id}/addresses/{aid}", json={"main": True}))
    assert set(r) == {"success"}
    assert {a["address"]: a["main"] for a in addresses(api, user.id)} == {user.address: False, alias: True}
    assert ok(api.get(f"/users/{user.id}"))["address"] == alias
    # main must be true
    invalid(api.put(f"/users/{user.id}/addresses/{aid}", json={"main": "perhaps"}))


def test_delete_alias_and_refuse_main(api, user):
    alias = unique("del") + "@example.org"
    aid = ok(api.post(f"/users/{user.id}/addresses", json={"address": alias}))["id"]
    main_id = next(a["id"] for a in addresses(api, user.id) if a["main"])
    err(api.delete(f"/users/{user.id}/addresses/{main_id}"), 400)
    assert len(addresses(api, user.id)) == 2
    r = ok(api.delete(f"/users/{user.id}/addresses/{aid}"))
    assert set(r) == {"success"}
    err(api.get(f"/users/{user.id}/addresses/{aid}"), 404)
    assert [a["address"] for a in addresses(api, user.id)] == [user.address]


def test_one_address_belongs_to_one_user(api, create_user):
    a = create_user()
    b = create_user()
    err(api.post(f"/users/{b.id}/addresses", json={"address": a.address}), 400)
    err(api.post(f"/users/{a.id}/addresses", json={"address": a.address}), 400)
    # addresses compare case-insensitively
    err(api.post(f"/users/{b.id}/addresses", json={"address": a.address.upper()}), 400)
    assert [x["address"] for x in addresses(api, b.id)] == [b.address]


def test_other_users_address_is_not_found(api, create_user):
    a = create_user()
    b = create_user()
    a_addr = addresses(api, a.id)[0]["id"]
    err(api.get(f"/users/{b.id}/addresses/{a_addr}"), 404)
    err(api.delete(f"/users/{b.id}/addresses/{a_addr}"), 404)
    err(api.put(f"/users/{b.id}/addresses/{a_addr}", json={"main": True}), 404)


def test_unknown_and_invalid(api, user):
    err(api.get(f"/users/{user.id}/addresses/{UNKNOWN_ID}"), 404)
    err(api.get(f"/users/{UNKNOWN_ID}/addresses"), 404)
    err(api.post(f"/users/{UNKNOWN_ID}/addresses", json={"address": unique("x") + "@example.org"}), 404)
    invalid(api.get(f"/users/{user.id}/addresses/xyz"))
    invalid(api.post(f"/users/{user.id}/addresses", json={"address": "no at sign"}))
    invalid(api.post(f"/users/{user.id}/addresses", json={"address": "two@@example.org"}))
    invalid(api.post(f"/users/{user.id}/addresses", json={}))
    invalid(api.post(f"/users/{user.id}/addresses", json={"address": 42}))


def test_internationalised_address(api, user):
    created = ok(api.post(f"/users/{user.id}/addresses", json={"address": IDN_ADDRESS}))
    data = ok(api.get(f"/users/{user.id}/addresses/{created['id']}"))
    assert data["address"] == IDN_ADDRESS
    assert IDN_ADDRESS in [a["address"] for a in addresses(api, user.id)]
    auth = ok(api.post("/authenticate", json={"username": IDN_ADDRESS, "password": user.password}))
    assert auth["id"] == user.id
    found = ok(api.get("/addresses", params={"query": "андрис"}))["results"]
    assert {"id": created["id"], "address": IDN_ADDRESS, "user": user.id} in [
        {k: r[k] for k in ("id", "address", "user")} for r in found
    ]
    # the same address belongs to nobody else
    other = ok(api.post("/users", json={"username": unique("idn"), "password": "pw pw pw pw", "emptyAddress": True}))["id"]
    err(api.post(f"/users/{other}/addresses", json={"address": IDN_ADDRESS}), 400)


def test_global_search_shape(api, user):
    data = ok(api.get("/addresses", params={"query": user.username}))
    assert_paging(data)
    assert data["query"] == user.username
    assert data["total"] == 1
    assert data["previousCursor"] is False and data["nextCursor"] is False
    [r] = data["results"]
    assert set(r) >= {"id", "address", "user"}
    assert r["address"] == user.address
    assert r["user"] == user.id
    assert HEX24.match(r["id"])


def test_global_search_paging(api, user):
    marker = unique("gs")
    made = set()
    for i in range(5):
        addr = f"{marker}{i}@example.org"
        ok(api.post(f"/users/{user.id}/addresses", json={"address": addr}))
        made.add(addr)
    seen = []
    data = ok(api.get("/addresses", params={"query": marker, "limit": 2}))
    page = 1
    while True:
        assert_paging(data, page=page)
        assert data["total"] == 5
        seen += [r["address"] for r in data["results"]]
        if data["nextCursor"] is False:
            break
        page += 1
        data = ok(api.get("/addresses", params={"query": marker, "limit": 2, "next": data["nextCursor"], "page": page}))
    assert page == 3
    assert sorted(seen) == sorted(made)


def test_global_search_validation(api):
    invalid(api.get("/addresses", params={"limit": 0}))
    invalid(api.get("/addresses", params={"limit": 100000}))
