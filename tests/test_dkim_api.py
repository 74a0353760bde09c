"""The WildDuck `/dkim` API: create (generated RSA 2048 or Ed25519, imported PEM), replace
keeping the id, get, list with paging and query, resolve, delete, and its errors; every
operation with no access token, a wrong one and the right one."""

from __future__ import annotations

import subprocess

import pytest

from harness import Instances
from helpers import UNKNOWN_ID, assert_paging, err, invalid, ok, unique

TOKEN = "a-long-random-access-token-for-dkim-tests"


@pytest.fixture(scope="module")
def server(tmp_path_factory, engine):
    made = Instances(tmp_path_factory, engine)
    srv = made.start(env={"SEALPOST_ACCESS_TOKEN": TOKEN})
    yield srv
    made.cleanup()


@pytest.fixture
def api(server):
    return server.api(token=TOKEN)


def test_generate_get_replace_delete(api, server):
    domain = f"{unique('k')}.example"
    created = ok(api.post("/dkim", json={"domain": domain.upper(), "selector": "oct17", "description": "Key for marketing"}))
    assert set(created) == {"success", "id", "domain", "selector", "description", "fingerprint", "publicKey", "dnsTxt"}
    assert created["domain"] == domain and created["selector"] == "oct17"
    assert created["publicKey"].startswith("-----BEGIN PUBLIC KEY-----")
    assert created["dnsTxt"]["name"] == f"oct17._domainkey.{domain}"
    assert created["dnsTxt"]["value"].startswith("v=DKIM1;t=s;p=MII")
    assert len(created["fingerprint"].split(":")) == 32
    got = ok(api.get(f"/dkim/{created['id']}"))
    assert got["created"].endswith("Z") and got["dnsTxt"] == created["dnsTxt"]
    assert "privateKey" not in got
    assert ok(api.get(f"/dkim/resolve/{domain}"))["id"] == created["id"]
    # One key per domain: a second POST replaces it under the same id.
    ed = ok(api.post("/dkim", json={"domain": domain, "selector": "ed1", "algorithm": "ed25519"}))
    assert ed["id"] == created["id"] and ed["selector"] == "ed1"
    assert ed["dnsTxt"]["value"].startswith("v=DKIM1;k=ed25519;t=s;p=")
    ok(api.delete(f"/dkim/{created['id']}"))
    err(api.get(f"/dkim/{created['id']}"), 404, "DkimNotFound")
    err(api.delete(f"/dkim/{created['id']}"), 404, "DkimNotFound")
    err(api.get(f"/dkim/resolve/{domain}"), 404, "DkimNotFound")


def test_import_pem(api, tmp_path):
    pem = subprocess.run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"],
                         capture_output=True, check=True, text=True).stdout
    public = subprocess.run(["openssl", "pkey", "-pubout"], input=pem, capture_output=True, check=True, text=True).stdout
    domain = f"{unique('p')}.example"
    key = ok(api.post("/dkim", json={"domain": domain, "selector": "imp", "privateKey": pem}))
    assert key["publicKey"].split() == public.split()
    edpem = subprocess.run(["openssl", "genpkey", "-algorithm", "ED25519"], capture_output=True, check=True, text=True).stdout
    key = ok(api.post("/dkim", json={"domain": "*", "selector": "any", "privateKey": edpem}))
    assert key["domain"] == "*" and "k=ed25519" in key["dnsTxt"]["value"]
    ok(api.delete(f"/dkim/{key['id']}"))
    for bad in ["-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----", "not a key"]:
        invalid(api.post("/dkim", json={"domain": domain, "selector": "x", "privateKey": bad}))


def test_validation(api):
    invalid(api.post("/dkim", json={"selector": "x"}))
    invalid(api.post("/dkim", json={"domain": "a.example"}))
    invalid(api.post("/dkim", json={"domain": "bad domain", "selector": "x"}))
    invalid(api.post("/dkim", json={"domain": "a.example", "selector": "bad selector"}))
    invalid(api.post("/dkim", json={"domain": "a.example", "selector": "x", "algorithm": "dsa"}))
    invalid(api.get("/dkim/not-an-id"))
    err(api.get(f"/dkim/{UNKNOWN_ID}"), 404, "DkimNotFound")
    invalid(api.get("/dkim", params={"limit": "0"}))


def test_list_paging_and_query(api):
    tag = unique("list")
    ids = [ok(api.post("/dkim", json={"domain": f"{tag}{i}.example", "selector": "s", "algorithm": "ed25519"}))["id"]
           for i in range(3)]
    first = ok(api.get("/dkim", params={"query": tag, "limit": 2}))
    assert_paging(first)
    assert first["query"] == tag and first["total"] == 3
    assert [r["domain"] for r in first["results"]] == [f"{tag}0.example", f"{tag}1.example"]
    assert set(first["results"][0]) == {"id", "domain", "selector", "description", "fingerprint", "created"}
    second = ok(api.get("/dkim", params={"query": tag, "limit": 2, "next": first["nextCursor"], "page": 2}))
    assert [r["id"] for r in second["results"]] == [ids[2]] and second["nextCursor"] is False
    back = ok(api.get("/dkim", params={"query": tag, "limit": 2, "previous": second["previousCursor"]}))
    assert [r["id"] for r in back["results"]] == ids[:2]


@pytest.mark.parametrize("credential", ["none", "wrong", "right"])
def test_every_operation_needs_the_access_token(server, credential):
    api = server.api(token={"none": None, "wrong": "nope", "right": TOKEN}[credential])
    calls = [
        lambda: api.get("/dkim"),
        lambda: api.post("/dkim", json={"domain": f"{unique('t')}.example", "selector": "s", "algorithm": "ed25519"}),
        lambda: api.get(f"/dkim/{UNKNOWN_ID}"),
        lambda: api.delete(f"/dkim/{UNKNOWN_ID}"),
        lambda: api.get("/dkim/resolve/nothing.example"),
    ]
    for call in calls:
        r = call()
        if credential == "right":
            assert r.status_code in (200, 404), r.text
        else:
            err(r, 403, "InvalidToken")
