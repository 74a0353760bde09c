"""Domain aliases (`/domainaliases`) and domain access lists (`/domainaccess`), as today's
WildDuck has them, every answer checked against its OpenAPI document; and what they do:
mail to an alias domain is delivered over LMTP, a login by an address at the alias domain
works, the sender rule of submission accepts it; for a user with the tag, mail from a
blocked domain goes to Junk even without a spam verdict, mail from an allowed one to INBOX
even with one."""

from __future__ import annotations

import smtplib

import pytest

from delivery_helpers import inbox_messages, junk_messages
from harness import Instances
from helpers import PASSWORD, UNKNOWN_ID, create_user, make_message, unique
from wildduck_schema import check

TOKEN = "a-long-random-access-token-for-domain-tests"


@pytest.fixture(scope="module")
def server(tmp_path_factory, engine):
    made = Instances(tmp_path_factory, engine)
    srv = made.start(env={"SEALPOST_ACCESS_TOKEN": TOKEN})
    yield srv
    made.cleanup()


@pytest.fixture
def api(server):
    return server.api(token=TOKEN)


def lmtp_send(server, mail_from: str, rcpt: str, raw: bytes) -> dict:
    with smtplib.LMTP("127.0.0.1", server.lmtp_port, timeout=30) as c:
        c.ehlo("mta.example.org")
        return c.sendmail(mail_from, [rcpt], raw)


# ---- domain aliases ----


def test_alias_create_get_resolve_delete(api):
    alias, domain = f"{unique('al')}.example", f"{unique('dom')}.example"
    created = check("post", "/domainaliases", api.post("/domainaliases", json={"alias": alias.upper(), "domain": domain}), 200)
    assert set(created) == {"success", "id"}
    got = check("get", "/domainaliases/{alias}", api.get(f"/domainaliases/{created['id']}"), 200)
    assert (got["id"], got["alias"], got["domain"]) == (created["id"], alias, domain)
    assert got["created"].endswith("Z")
    resolved = check("get", "/domainaliases/resolve/{alias}", api.get(f"/domainaliases/resolve/{alias}"), 200)
    assert resolved["id"] == created["id"]
    dup = check("post", "/domainaliases", api.post("/domainaliases", json={"alias": alias, "domain": "other.example"}), 400)
    assert dup["code"] == "AliasExists" and dup["error"] == "This domain alias already exists"
    check("delete", "/domainaliases/{alias}", api.delete(f"/domainaliases/{created['id']}"), 200)
    for r in (api.get(f"/domainaliases/{created['id']}"), api.delete(f"/domainaliases/{created['id']}"),
              api.get(f"/domainaliases/resolve/{alias}")):
        body = check("get", "/domainaliases/{alias}", r, 404)
        assert body["code"] == "AliasNotFound" and body["error"] == "This alias does not exist"


def test_alias_idn_is_stored_in_unicode(api):
    tag = unique("idn")
    created = check("post", "/domainaliases",
                    api.post("/domainaliases", json={"alias": f"xn--bcher-kva.{tag}.example", "domain": f"{tag}.example"}), 200)
    got = check("get", "/domainaliases/{alias}", api.get(f"/domainaliases/{created['id']}"), 200)
    assert got["alias"] == f"bücher.{tag}.example"
    assert check("get", "/domainaliases/resolve/{alias}", api.get(f"/domainaliases/resolve/BÜCHER.{tag}.example"), 200)["id"] == created["id"]


def test_alias_validation(api):
    for body in ({"domain": "a.example"}, {"alias": "a.example"}, {"alias": "bad alias", "domain": "a.example"},
                 {"alias": "a.example", "domain": "b..example"}, {"alias": "same.example", "domain": "same.example"}):
        r = check("post", "/domainaliases", api.post("/domainaliases", json=body), 400)
        assert r["code"] == "InputValidationError", body
    assert check("get", "/domainaliases/{alias}", api.get("/domainaliases/not-an-id"), 400)["code"] == "InputValidationError"
    assert check("get", "/domainaliases/{alias}", api.get(f"/domainaliases/{UNKNOWN_ID}"), 404)["code"] == "AliasNotFound"
    assert check("get", "/domainaliases", api.get("/domainaliases", params={"limit": "0"}), 400)["code"] == "InputValidationError"


def test_alias_list_paging_and_query(api):
    tag = unique("list")
    ids = [check("post", "/domainaliases", api.post("/domainaliases", json={"alias": f"{tag}{i}.example", "domain": f"t{i}.{tag}.example"}), 200)["id"]
           for i in range(3)]
    ids.sort()  # listed by id
    first = check("get", "/domainaliases", api.get("/domainaliases", params={"query": tag, "limit": 2}), 200)
    assert first["total"] == 3 and first["page"] == 1 and first["previousCursor"] is False
    assert [r["id"] for r in first["results"]] == ids[:2]
    assert set(first["results"][0]) == {"id", "alias", "domain"}
    second = check("get", "/domainaliases",
                   api.get("/domainaliases", params={"query": tag, "limit": 2, "next": first["nextCursor"], "page": 2}), 200)
    assert [r["id"] for r in second["results"]] == ids[2:] and second["nextCursor"] is False
    back = check("get", "/domainaliases", api.get("/domainaliases", params={"query": tag, "limit": 2, "previous": second["previousCursor"]}), 200)
    assert [r["id"] for r in back["results"]] == ids[:2]
    # The query matches the target domain too.
    assert check("get", "/domainaliases", api.get("/domainaliases", params={"query": f"t1.{tag}"}), 200)["total"] == 1
    # LIKE wildcards in a query are literal characters: `_` stands for no other character.
    assert check("get", "/domainaliases", api.get("/domainaliases", params={"query": f"t_.{tag}"}), 200)["total"] == 0


def test_alias_domain_receives_mail_and_logs_in(api, server):
    domain, alias = f"{unique('main')}.example", f"{unique('alias')}.example"
    name = unique("bob")
    user = create_user(api, address=f"{name}@{domain}")
    # Without the alias the address is unknown.
    with pytest.raises(smtplib.SMTPRecipientsRefused):
        lmtp_send(server, "sender@remote.example", f"{name}@{alias}", make_message(subject="too early"))
    check("post", "/domainaliases", api.post("/domainaliases", json={"alias": alias, "domain": domain}), 200)
    assert lmtp_send(server, "sender@remote.example", f"{name.upper()}+news@{alias}", make_message(subject="via alias")) == {}
    assert any(b"Subject: via alias" in m for m in inbox_messages(api, user.id))
    # Login by address at the alias domain.
    auth = api.post("/authenticate", json={"username": f"{name}@{alias}", "password": PASSWORD, "scope": "master"})
    assert auth.status_code == 200, auth.text
    assert auth.json()["id"] == user.id
    bad = api.post("/authenticate", json={"username": f"{name}@{alias}", "password": "wrong password", "scope": "master"})
    assert bad.status_code == 403


def test_alias_sender_rule_over_submission(api, server):
    if server.submission_port is None:
        pytest.skip("no submission listener")
    domain, alias = f"{unique('sm')}.example", f"{unique('sa')}.example"
    name = unique("sue")
    user = create_user(api, address=f"{name}@{domain}")
    check("post", "/domainaliases", api.post("/domainaliases", json={"alias": alias, "domain": domain}), 200)
    # Sent to itself, so that nothing leaves the server.
    with smtplib.SMTP("127.0.0.1", server.submission_port, timeout=30) as c:
        c.ehlo("client.example")
        if c.has_extn("STARTTLS"):
            import ssl
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            c.starttls(context=ctx)
            c.ehlo("client.example")
        c.login(user.username, PASSWORD)
        raw = make_message(subject="from the alias", sender=f"{name}@{alias}", to=f"{name}@{domain}")
        assert c.sendmail(f"{name}@{alias}", [f"{name}@{domain}"], raw) == {}
        with pytest.raises(smtplib.SMTPException):
            c.sendmail(f"{unique('nobody')}@{alias}", [f"{name}@{domain}"],
                       make_message(subject="not mine", sender=f"other@{alias}", to=f"{name}@{domain}"))


# ---- domain access lists ----


def test_access_lists_crud(api):
    tag = unique("tag")
    allowed = check("post", "/domainaccess/{tag}/allow", api.post(f"/domainaccess/{tag}/allow", json={"domain": "Good.Example"}), 200)
    blocked = check("post", "/domainaccess/{tag}/block", api.post(f"/domainaccess/{tag}/block", json={"domain": "bad.example"}), 200)
    allow = check("get", "/domainaccess/{tag}/allow", api.get(f"/domainaccess/{tag.upper()}/allow"), 200)
    assert allow["results"] == [{"id": allowed["id"], "domain": "good.example", "action": "allow"}]
    block = check("get", "/domainaccess/{tag}/block", api.get(f"/domainaccess/{tag}/block"), 200)
    assert block["results"] == [{"id": blocked["id"], "domain": "bad.example", "action": "block"}]
    # One entry per tag and domain: blocking an allowed domain moves it, same id.
    moved = check("post", "/domainaccess/{tag}/block", api.post(f"/domainaccess/{tag}/block", json={"domain": "good.example"}), 200)
    assert moved["id"] == allowed["id"]
    assert check("get", "/domainaccess/{tag}/allow", api.get(f"/domainaccess/{tag}/allow"), 200)["results"] == []
    assert {r["domain"] for r in check("get", "/domainaccess/{tag}/block", api.get(f"/domainaccess/{tag}/block"), 200)["results"]} == {"good.example", "bad.example"}
    deleted = check("delete", "/domainaccess/{domain}", api.delete(f"/domainaccess/{blocked['id']}"), 200)
    assert deleted == {"success": True, "deleted": blocked["id"]}
    assert check("delete", "/domainaccess/{domain}", api.delete(f"/domainaccess/{blocked['id']}"), 404)["code"] == "NotFound"
    assert check("post", "/domainaccess/{tag}/allow", api.post(f"/domainaccess/{tag}/allow", json={}), 400)["code"] == "InputValidationError"
    assert check("post", "/domainaccess/{tag}/allow", api.post(f"/domainaccess/{tag}/allow", json={"domain": "not a domain"}), 400)["code"] == "InputValidationError"
    assert check("delete", "/domainaccess/{domain}", api.delete("/domainaccess/bad.example"), 400)["code"] == "InputValidationError"


def test_access_lists_apply_at_delivery_to_tagged_users(api, server):
    tag = unique("vip")
    blocked, allowed = f"{unique('spam')}.example", f"{unique('friend')}.example"
    check("post", "/domainaccess/{tag}/block", api.post(f"/domainaccess/{tag}/block", json={"domain": blocked}), 200)
    check("post", "/domainaccess/{tag}/allow", api.post(f"/domainaccess/{tag}/allow", json={"domain": allowed}), 200)
    tagged = create_user(api, tags=[tag.upper(), "other"])
    untagged = create_user(api)
    for u in (tagged, untagged):
        assert lmtp_send(server, f"news@{blocked}", u.address, make_message(subject="blocked sender")) == {}
        spam = make_message(subject="allowed sender", headers={"X-Spam-Status": "Yes, score=9.1"})
        assert lmtp_send(server, f"friend@{allowed}", u.address, spam) == {}
    # Tagged: the blocked domain is spam, the allowed one is not, whatever the MTA said.
    assert [m for m in junk_messages(api, tagged.id) if b"blocked sender" in m]
    assert not [m for m in inbox_messages(api, tagged.id) if b"blocked sender" in m]
    assert [m for m in inbox_messages(api, tagged.id) if b"allowed sender" in m]
    # Untagged: the lists do not apply.
    assert [m for m in inbox_messages(api, untagged.id) if b"blocked sender" in m]
    assert [m for m in junk_messages(api, untagged.id) if b"allowed sender" in m]


# ---- credentials ----


@pytest.mark.parametrize("credential", ["none", "wrong", "right"])
def test_every_operation_needs_the_access_token(server, credential):
    api = server.api(token={"none": None, "wrong": "nope", "right": TOKEN}[credential])
    calls = [
        lambda: api.get("/domainaliases"),
        lambda: api.post("/domainaliases", json={"alias": f"{unique('c')}.example", "domain": "d.example"}),
        lambda: api.get(f"/domainaliases/{UNKNOWN_ID}"),
        lambda: api.delete(f"/domainaliases/{UNKNOWN_ID}"),
        lambda: api.get("/domainaliases/resolve/nothing.example"),
        lambda: api.get("/domainaccess/t/allow"),
        lambda: api.post("/domainaccess/t/allow", json={"domain": "a.example"}),
        lambda: api.get("/domainaccess/t/block"),
        lambda: api.post("/domainaccess/t/block", json={"domain": "b.example"}),
        lambda: api.delete(f"/domainaccess/{UNKNOWN_ID}"),
        lambda: api.put("/addresses/renameDomain", json={"oldDomain": f"{unique('n')}.example", "newDomain": f"{unique('m')}.example"}),
    ]
    for call in calls:
        r = call()
        if credential == "right":
            assert r.status_code in (200, 404), r.text
        else:
            assert r.status_code == 403 and r.json()["code"] == "InvalidToken", r.text


# ---- renaming a domain ----


def test_rename_domain_moves_addresses_main_addresses_and_aliases(api, server):
    old, new, alias = f"{unique('old')}.example", f"{unique('new')}.example", f"{unique('ral')}.example"
    name = unique("dan")
    user = create_user(api, address=f"{name}@{old}")
    second = check("post", "/users/{user}/addresses", api.post(f"/users/{user.id}/addresses", json={"address": f"Other.{name}@{old.upper()}"}), 200)
    fwd = check("post", "/addresses/forwarded", api.post("/addresses/forwarded", json={"address": f"desk@{old}"}), 200)
    check("post", "/domainaliases", api.post("/domainaliases", json={"alias": alias, "domain": old}), 200)
    untouched = create_user(api, address=f"{name}@x{old}")
    r = check("put", "/addresses/renameDomain", api.put("/addresses/renameDomain", json={"oldDomain": old, "newDomain": new}), 200)
    assert r == {"success": True, "modifiedAddresses": 3, "modifiedUsers": 1, "modifiedDkim": 0, "modifiedAliases": 1}
    got = api.get(f"/users/{user.id}").json()
    assert got["address"] == f"{name}@{new}"
    listed = {a["id"]: a["address"] for a in api.get(f"/users/{user.id}/addresses").json()["results"]}
    assert listed[second["id"]] == f"Other.{name}@{new}"
    assert check("get", "/addresses/forwarded/{address}", api.get(f"/addresses/forwarded/{fwd['id']}"), 200)["address"] == f"desk@{new}"
    assert api.get(f"/users/{untouched.id}").json()["address"] == f"{name}@x{old}"
    # Mail and logins follow: the new domain, and the alias now pointing at it.
    assert lmtp_send(server, "s@remote.example", f"{name}@{alias}", make_message(subject="after the rename")) == {}
    assert any(b"after the rename" in m for m in inbox_messages(api, user.id))
    with pytest.raises(smtplib.SMTPRecipientsRefused):
        lmtp_send(server, "s@remote.example", f"{name}@{old}", make_message(subject="old domain"))
    # Errors.
    other = create_user(api, address=f"{name}@{old}")
    clash = check("put", "/addresses/renameDomain", api.put("/addresses/renameDomain", json={"oldDomain": old, "newDomain": new}), 400)
    assert clash["code"] == "AddressExistsError"
    assert api.get(f"/users/{other.id}").json()["address"] == f"{name}@{old}"
    for body in ({"oldDomain": old}, {"newDomain": new}, {"oldDomain": "bad domain", "newDomain": new}, {"oldDomain": new, "newDomain": new}):
        assert check("put", "/addresses/renameDomain", api.put("/addresses/renameDomain", json=body), 400)["code"] == "InputValidationError"
