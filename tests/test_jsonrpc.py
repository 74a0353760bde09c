"""The JSON-RPC 2.0 provisioning API at POST /v1/ (mailbox.org's), driven with the real
client `mailbox-org-api` (pip) and with raw JSON over `requests`:

- the transport: HTTP 200 for everything, -32700/-32600/-32601/-32602 (naming the
  parameter), batches (at most 100) and notifications, the id echoed as sent, no REST
  access token needed, methods this server does not support;
- sessions: `auth` (code 2 on bad credentials, counted by the [auth] throttle), the
  HPLS-AUTH header, code 253, `deauth` ending only its Auth-ID, a restart keeping sessions;
- the model: accounts, domains, mail users, plans and their limits, aliases;
- a table-driven access test: every method with every level's session, on objects of its
  own tree and of another account's;
- mail users made here are real users: IMAP and POP3 log in with the full address, LMTP
  delivers, GET /users?query= lists them, mail.set's password replaces the old one,
  mail.del makes LMTP answer 550, account.del removes exactly its subtree.
"""

from __future__ import annotations

import imaplib
import itertools
import poplib
import smtplib

import pytest
import requests
from mailbox_org_api.APIClient import APIClient
from mailbox_org_api.APIError import APIError

from harness import Instances
from helpers import unique, imap_login
from mail_fixtures import Dns, Sink
from test_outbound import relay_env

TOKEN = "rest-access-token-for-jsonrpc-tests"
ADMIN_PW = "admin pass 1"
RES_PW = "reseller pass 1"
PW = "mail pass 12345"


# ---- clients ----


class Rpc:
    """Raw JSON-RPC over requests: every answer must be HTTP 200."""

    _ids = itertools.count(1)

    def __init__(self, server, auth: str | None = None):
        self.url = server.base_url + "/v1/"
        self.auth = auth

    def post(self, body, auth: str | None = None, raw: bytes | None = None) -> requests.Response:
        headers = {"Content-Type": "application/json"}
        if auth or self.auth:
            headers["HPLS-AUTH"] = auth or self.auth
        if raw is not None:
            r = requests.post(self.url, data=raw, headers=headers, timeout=60)
        else:
            r = requests.post(self.url, json=body, headers=headers, timeout=60)
        assert r.status_code == 200, (r.status_code, r.text)
        return r

    def call(self, method: str, params=None, auth: str | None = None) -> dict:
        rid = str(next(self._ids))
        body = {"jsonrpc": "2.0", "method": method, "params": params if params is not None else {}, "id": rid}
        answer = self.post(body, auth=auth).json()
        assert answer["jsonrpc"] == "2.0" and answer["id"] == rid, answer
        return answer

    def ok(self, method: str, params=None, auth: str | None = None):
        answer = self.call(method, params, auth)
        assert "error" not in answer, (method, params, answer)
        return answer["result"]

    def error(self, method: str, params=None, auth: str | None = None) -> dict:
        answer = self.call(method, params, auth)
        assert "error" in answer and "result" not in answer, (method, params, answer)
        return answer["error"]

    def login(self, user: str, password: str) -> "Rpc":
        result = self.ok("auth", {"user": user, "pass": password})
        return Rpc.__new__(Rpc)._init(self.url, result["session"])

    def _init(self, url: str, auth: str) -> "Rpc":
        self.url = url
        self.auth = auth
        return self


def client(server) -> APIClient:
    """The PyPI client pointed at our server (it knows only https://api.mailbox.org)."""
    c = APIClient(max_retries=0)
    c.url = server.base_url + "/v1/"
    return c


# ---- the installation: a server with an access token, an admin and two resellers ----


@pytest.fixture(scope="module")
def dns():
    d = Dns().start()
    yield d
    d.stop()


@pytest.fixture(scope="module")
def sink():
    s = Sink().start()
    yield s
    s.stop()


@pytest.fixture(scope="module")
def site(tmp_path_factory, engine, dns, sink):
    made = Instances(tmp_path_factory, engine)
    inst = made.new({"SEALPOST_ACCESS_TOKEN": TOKEN, "SEALPOST_AUTH_MAX_FAILURES_PER_USER": "5",
                     "SEALPOST_DNS_SERVERS": f"127.0.0.1:{dns.port}", **relay_env(sink.port)})
    for name, level, pw in [("root", "admin", ADMIN_PW), ("res1", "reseller", RES_PW), ("res2", "reseller", RES_PW)]:
        r = inst.run("jsonrpc-admin", "add", name, "--level", level, "--password-stdin", input=pw + "\n")
        assert r.returncode == 0, r.stderr
    srv = inst.start()
    srv.instance = inst
    yield srv
    alive = srv.alive()
    made.cleanup()
    assert alive, f"the server died during the tests:\n{srv.log()[-4000:]}"


@pytest.fixture
def rpc(site) -> Rpc:
    return Rpc(site)


@pytest.fixture
def admin(rpc) -> Rpc:
    return rpc.login("root", ADMIN_PW)


def rest(site):
    return site.api(token=TOKEN)


def make_tree(admin: Rpc, reseller: Rpc | None = None, plan: str = "profi") -> dict:
    """An account (made by `reseller`, or the admin), a domain of it and a mail user in it."""
    acct = unique("acct")
    dom = f"{unique('d')}.example"
    mail = f"user@{dom}"
    (reseller or admin).ok("account.add", {"account": acct, "password": PW, "plan": plan,
                                           "company": "ACME", "max_mailinglist": 3})
    admin.ok("domain.add", {"account": acct, "domain": dom, "password": PW, "memo": "m"})
    admin.ok("mail.add", {"mail": mail, "password": PW, "plan": "standard", "first_name": "Ann",
                          "last_name": "Lee", "inboxsave": True, "forwards": [], "uid_extern": "ext-" + acct})
    return {"account": acct, "domain": dom, "mail": mail, "uid": "ext-" + acct}




def lmtp_rcpt(site, address: str) -> int:
    c = smtplib.LMTP("127.0.0.1", site.lmtp_port, timeout=30)
    try:
        c.ehlo("test")
        c.mail("sender@outside.test")
        code, _ = c.rcpt(address)
        return code
    finally:
        c.quit()


# ---- transport ----


def test_hello_auth_deauth_with_the_real_client(site):
    c = client(site)
    assert c.hello_world() == "Hello World!"
    with pytest.raises(APIError) as e:
        c.hello_innerworld()
    assert e.value.code == 253 and e.value.message == "This Auth-ID is invalid"
    with pytest.raises(APIError) as e:
        c.auth("root", "wrong password")
    assert e.value.code == 2 and e.value.message == "Access denied"
    answer = c.auth("root", ADMIN_PW)
    assert answer["level"] == "admin" and len(answer["session"]) >= 32
    assert c.hello_innerworld() == "Hello Inner-World!"
    # A second session of the same login survives the first one's deauth.
    other = client(site)
    other.auth("root", ADMIN_PW)
    assert c.deauth() is True
    c.session.headers["HPLS-AUTH"] = answer["session"]
    with pytest.raises(APIError) as e:
        c.hello_innerworld()
    assert e.value.code == 253
    assert other.hello_innerworld() == "Hello Inner-World!"


def test_spec_examples_with_empty_params_and_id_echo(rpc, admin):
    body = {"jsonrpc": "2.0", "id": "1", "method": "hello.world", "params": ""}
    assert rpc.post(body).json() == {"jsonrpc": "2.0", "result": "Hello World!", "id": "1"}
    body = {"jsonrpc": "2.0", "id": 77, "method": "hello.innerworld"}
    assert rpc.post(body, auth=admin.auth).json() == {"jsonrpc": "2.0", "result": "Hello Inner-World!", "id": 77}
    body = {"jsonrpc": "2.0", "id": None, "method": "hello.world", "params": None}
    assert rpc.post(body).json()["id"] is None


def test_protocol_errors_are_http_200_with_json_rpc_codes(rpc, admin):
    assert rpc.post(None, raw=b"{not json").json()["error"]["code"] == -32700
    big = b'{"jsonrpc":"2.0","method":"hello.world","id":1,"params":{"x":"' + b"a" * (1 << 20) + b'"}}'
    assert rpc.post(None, raw=big).json()["error"]["code"] == -32700
    for bad in [{"method": "hello.world", "id": 1}, {"jsonrpc": "2.0", "id": 1},
                {"jsonrpc": "2.0", "method": 5, "id": 1}, 7, "x"]:
        answer = rpc.post(bad).json()
        assert answer["error"]["code"] == -32600, (bad, answer)
    answer = rpc.post({"jsonrpc": "2.0", "method": "hello.world", "id": [1]}).json()
    assert answer["error"]["code"] == -32600 and answer["id"] is None
    e = rpc.error("no.such.method")
    assert e["code"] == -32601 and "Method not found" in e["message"]
    for m in ["account.invoice.list", "account.invoice.get", "context.list", "evac.resetaccount",
              "additionalmailaccount.add", "mail.passwordreset.sendsms"]:
        e = rpc.error(m, {}, auth=admin.auth)
        assert e == {"code": -32601, "message": f"{m}: not supported by this server"}, e
    e = admin.error("account.get", {"account": "x", "colour": "red"})
    assert e["code"] == -32602 and '"colour"' in e["message"]
    e = admin.error("account.get", {})
    assert e["code"] == -32602 and '"account"' in e["message"]
    e = admin.error("mail.list", {"domain": "x.example", "page_size": "many"})
    assert e["code"] == -32602 and '"page_size"' in e["message"]
    e = admin.error("account.add", {"account": unique("a"), "password": PW, "plan": "gold"})
    assert e["code"] == -32602 and "plan" in e["message"]
    assert rpc.post({"jsonrpc": "2.0", "method": "hello.world", "params": [1], "id": 1}).json()["error"]["code"] == -32602


def test_batches_and_notifications(rpc, admin):
    batch = [
        {"jsonrpc": "2.0", "method": "hello.world", "id": "a"},
        {"jsonrpc": "2.0", "method": "hello.world"},  # a notification: no answer
        {"jsonrpc": "2.0", "method": "nope", "id": 2},
        {"jsonrpc": "2.0", "method": "hello.innerworld", "id": 3},
        1,
    ]
    answers = rpc.post(batch, auth=admin.auth).json()
    assert answers == [
        {"jsonrpc": "2.0", "result": "Hello World!", "id": "a"},
        {"jsonrpc": "2.0", "error": {"code": -32601, "message": "Method not found: nope"}, "id": 2},
        {"jsonrpc": "2.0", "result": "Hello Inner-World!", "id": 3},
        {"jsonrpc": "2.0", "error": {"code": -32600, "message": "Invalid Request: a call must be an object"}, "id": None},
    ]
    # Only notifications: nothing to answer, still HTTP 200.
    r = rpc.post([{"jsonrpc": "2.0", "method": "hello.world"}] * 3)
    assert r.content == b""
    r = rpc.post({"jsonrpc": "2.0", "method": "hello.world"})
    assert r.content == b""
    # A notification changes things all the same.
    acct = unique("notif")
    rpc.post({"jsonrpc": "2.0", "method": "account.add",
              "params": {"account": acct, "password": PW, "plan": "basic"}}, auth=admin.auth)
    assert admin.ok("account.get", {"account": acct})["account"] == acct
    assert rpc.post([], auth=admin.auth).json()["error"]["code"] == -32600
    assert len(rpc.post([{"jsonrpc": "2.0", "method": "hello.world", "id": i} for i in range(100)]).json()) == 100
    too_many = rpc.post([{"jsonrpc": "2.0", "method": "hello.world", "id": i} for i in range(101)]).json()
    assert too_many["error"]["code"] == -32600 and "100" in too_many["error"]["message"]


def test_no_access_token_needed_but_rest_still_needs_it(site, rpc):
    assert rpc.ok("hello.world") == "Hello World!"
    assert requests.post(site.base_url + "/v1", json={"jsonrpc": "2.0", "method": "hello.world", "id": 1},
                         timeout=30).json()["result"] == "Hello World!"
    assert site.api().get("/users").status_code == 403
    assert rest(site).get("/users").status_code == 200


def test_bad_credentials_are_throttled(rpc):
    name = unique("throttled")
    for _ in range(5):
        assert rpc.error("auth", {"user": name, "pass": "guess"}) == {"code": 2, "message": "Access denied"}
    e = rpc.error("auth", {"user": name, "pass": "guess"})
    assert e["code"] == 1006
    assert rpc.error("auth", {"user": "", "pass": ""})["code"] == 2
    assert rpc.error("hello.innerworld", auth="0" * 64)["code"] == 253
    assert rpc.error("hello.innerworld", auth="garbage")["code"] == 253


def test_sessions_survive_a_restart(tmp_path_factory, engine):
    made = Instances(tmp_path_factory, engine)
    try:
        inst = made.new()
        assert inst.run("jsonrpc-admin", "add", "boss", "--password-stdin", input="pw-boss\n").returncode == 0
        srv = inst.start()
        rpc = Rpc(srv)
        s = rpc.login("boss", "pw-boss")
        assert s.ok("hello.innerworld") == "Hello Inner-World!"
        srv.stop()
        srv = inst.start()
        s.url = srv.base_url + "/v1/"
        assert s.ok("hello.innerworld") == "Hello Inner-World!"
        # The CLI works on the running server's data: a new password at once, the old refused.
        assert inst.run("jsonrpc-admin", "passwd", "boss", "--password-stdin", input="pw-new\n").returncode == 0
        assert Rpc(srv).error("auth", {"user": "boss", "pass": "pw-boss"})["code"] == 2
        Rpc(srv).login("boss", "pw-new")
        listing = inst.run("jsonrpc-admin", "list")
        assert "boss" in listing.stdout and "admin" in listing.stdout
        assert inst.run("jsonrpc-admin", "del", "boss").returncode == 0
        assert s.error("hello.innerworld")["code"] == 253
        assert inst.run("jsonrpc-admin", "del", "boss").returncode != 0
        r = inst.run("jsonrpc-admin", "add", "x", "--level", "account", "--password", "p")
        assert r.returncode != 0
    finally:
        made.cleanup()


# ---- the model ----


def test_accounts_domains_mail_with_the_real_client(site, admin):
    c = client(site)
    c.auth("res1", RES_PW)
    acct, dom = unique("cl"), f"{unique('cl')}.example"
    assert c.account_add(acct, PW, "basic", company="Example Ltd", address_main_town="Berlin",
                         address_payment_same_as_main=True) is True
    got = c.account_get(acct)
    assert got["account"] == acct and got["plan"] == "basic" and got["company"] == "Example Ltd"
    assert got["address_main_town"] == "Berlin" and got["address_payment_same_as_main"] is True
    assert c.account_set(acct, memo="vip", plan="profi") is True
    got = c.account_get_object(acct)
    assert got.memo == "vip" and got.plan == "profi"
    assert acct in [a["account"] for a in c.account_list()]
    assert acct in [a["account"] for a in c.account_list(query=acct[:6], extended_results=True)]
    assert c.domain_add(acct, dom, PW, memo="first") is True
    assert c.domain_get(dom)["account"] == acct
    assert c.domain_set(dom, memo="changed") is True
    assert c.domain_get(dom)["memo"] == "changed"
    mail = f"ann@{dom}"
    assert c.mail_add(mail, PW, "light", "Ann", "Lee", uid_extern="u-1", memo="hello") is True
    got = c.mail_get(mail, include_quota_usage=True)
    assert got["mail"] == mail and got["plan"] == "light" and got["first_name"] == "Ann"
    assert got["memo"] == "hello" and got["active"] is True and got["quota_usage"] == 0
    assert got["quota"] == 2048
    assert c.mail_get_object(mail).last_name == "Lee"
    assert c.mail_set_plan(mail, "premium") is True
    assert c.mail_get(mail)["quota"] == 50 * 1024
    assert c.mail_set(mail, plan="premium", additional_mail_quota=100) is True
    assert c.mail_get(mail)["quota"] == 50 * 1024 + 100
    assert c.mail_set_aliases(mail, [f"ann.lee@{dom}", f"al@{dom}"]) is True
    assert sorted(c.mail_get(mail)["aliases"]) == sorted([f"ann.lee@{dom}", f"al@{dom}"])
    assert c.mail_set_aliases(mail, [f"al@{dom}"]) is True
    assert c.mail_get(mail)["aliases"] == [f"al@{dom}"]
    assert c.mail_externaluid(acct, "u-1")["mail"] == mail
    assert c.domain_list(acct) == [{"domain": dom, "count_mails": 1}]
    assert c.domain_get_list(acct) == [dom]
    assert c.mail_get_list(dom) == [mail]
    found = c.search(acct[:8])
    assert found["accounts"] == [acct]
    assert c.search(f"ann@{dom}")["mails"] == [mail]
    assert c.search(dom)["domains"] == [dom]
    assert c.mail_set_state(mail, False) is True
    assert c.mail_get(mail)["active"] is False
    assert not imap_login(site, mail, PW)
    assert c.mail_set_state(mail, True) is True
    with pytest.raises(APIError) as e:
        c.domain_del(acct, dom)
    assert e.value.code == 1005
    assert c.mail_del(mail) is True
    assert c.domain_del(acct, dom) is True
    assert c.account_del(acct) is True
    with pytest.raises(APIError) as e:
        c.account_get(acct)
    assert e.value.code == 1002


def test_names_conflicts_and_limits(admin, rpc):
    t = make_tree(admin, plan="basic")
    # The same names again.
    assert admin.error("account.add", {"account": t["account"], "password": PW, "plan": "basic"})["code"] == 1003
    assert admin.error("account.add", {"account": "res1", "password": PW, "plan": "basic"})["code"] == 1003
    assert admin.error("domain.add", {"account": t["account"], "domain": t["domain"], "password": PW})["code"] == 1003
    assert admin.error("mail.add", {"mail": t["mail"], "password": PW, "plan": "light"})["code"] == 1003
    # A mail user in no domain of ours.
    assert admin.error("mail.add", {"mail": "x@nowhere.example", "password": PW, "plan": "light"})["code"] == 1002
    e = admin.error("mail.add", {"mail": "not an address", "password": PW, "plan": "light"})
    assert e["code"] == -32602 and "mail" in e["message"]
    e = admin.error("mail.add", {"mail": f"nopw@{t['domain']}", "plan": "light"})
    assert e["code"] == -32602 and "password" in e["message"]
    e = admin.error("mail.add", {"mail": f"fw@{t['domain']}", "password": PW, "plan": "light", "forwards": ["not an address"]})
    assert e["code"] == -32602 and "forwards" in e["message"]
    assert admin.error("mail.get", {"mail": f"fw@{t['domain']}"})["code"] == 1002
    e = admin.error("domain.add", {"account": t["account"], "domain": "no_dots", "password": PW})
    assert e["code"] == -32602 and "domain" in e["message"]
    # basic: 5 domains per account.
    for _ in range(4):
        admin.ok("domain.add", {"account": t["account"], "domain": f"{unique('lim')}.example", "password": PW})
    e = admin.error("domain.add", {"account": t["account"], "domain": f"{unique('lim')}.example", "password": PW})
    assert e["code"] == 1004
    # A plan that the account has outgrown.
    assert admin.ok("account.set", {"account": t["account"], "plan": "profi"}) is True
    admin.ok("domain.add", {"account": t["account"], "domain": f"{unique('lim')}.example", "password": PW})
    e = admin.error("account.set", {"account": t["account"], "plan": "basic"})
    assert e["code"] == 1004
    assert admin.ok("account.get", {"account": t["account"]})["plan"] == "profi"
    # standard: 25 aliases; aliases in another account's domain are refused.
    other = make_tree(admin)
    e = admin.error("mail.set", {"mail": t["mail"], "aliases": [f"a@{other['domain']}"]})
    assert e["code"] == -32602 and "aliases" in e["message"]
    e = admin.error("mail.set", {"mail": t["mail"], "aliases": [f"a{i}@{t['domain']}" for i in range(26)]})
    assert e["code"] == 1004
    # The domain's own password opens a domain session; the mail user's a mail session.
    d = rpc.login(t["domain"], PW)
    assert d.ok("domain.get", {"domain": t["domain"]})["count_mails"] == 1
    m = rpc.login(t["mail"], PW)
    assert m.ok("mail.get", {"mail": t["mail"]})["mail"] == t["mail"]
    assert m.ok("mail.set", {"mail": t["mail"], "first_name": "Zed"}) is True
    e = m.error("mail.set", {"mail": t["mail"], "plan": "premium"})
    assert e["code"] == 1001 and "plan" in e["message"]


def test_mail_list_pages_and_sorts(admin):
    t = make_tree(admin)
    names = ["carl", "anna", "bert", "dora", "emil"]
    for i, n in enumerate(names):
        admin.ok("mail.add", {"mail": f"{n}@{t['domain']}", "password": PW, "plan": "light",
                              "first_name": n.title(), "last_name": str(9 - i)})
    everyone = admin.ok("mail.list", {"domain": t["domain"]})
    assert [m["mail"].split("@")[0] for m in everyone] == sorted(names + ["user"])
    assert all(m["status"] == "active" and m["type"] == "inbox" and m["domain"] == t["domain"] for m in everyone)
    page = admin.ok("mail.list", {"domain": t["domain"], "page_size": 2, "page": 2})
    assert [m["mail"].split("@")[0] for m in page] == ["carl", "dora"]
    desc = admin.ok("mail.list", {"domain": t["domain"], "sort_field": "last_name", "sort_order": "desc",
                                  "page_size": 3, "page": 1})
    assert [m["last_name"] for m in desc] == ["Lee", "9", "8"]
    detailed = admin.ok("mail.list", {"domain": t["domain"], "details": True})
    assert any(m.get("uid_extern") == t["uid"] for m in detailed)
    assert admin.error("mail.list", {"domain": t["domain"], "sort_field": "password"})["code"] == -32602
    assert admin.error("mail.list", {"domain": t["domain"], "page_size": 0, "page": 1})["code"] == -32602
    assert admin.ok("domain.list", {"account": t["account"]}) == [{"domain": t["domain"], "count_mails": 6}]


# ---- mail users are Sealpost users ----


def test_mail_user_is_a_real_user(site, admin):
    t = make_tree(admin)
    mail = t["mail"]
    assert imap_login(site, mail, PW)
    pop = poplib.POP3("127.0.0.1", site.pop3_port, timeout=30)
    pop.user(mail)
    pop.pass_(PW)
    assert pop.stat() == (0, 0)
    pop.quit()
    # LMTP delivery into its INBOX.
    c = smtplib.LMTP("127.0.0.1", site.lmtp_port, timeout=30)
    c.sendmail("sender@outside.test", [mail], b"Subject: hi\r\nFrom: sender@outside.test\r\n\r\nhello\r\n")
    c.quit()
    users = rest(site).get("/users", params={"query": mail}).json()
    assert [u["username"] for u in users["results"]] == [mail]
    user_id = users["results"][0]["id"]
    assert rest(site).get(f"/users/{user_id}").json()["limits"]["quota"]["allowed"] == 10 << 30
    m = imaplib.IMAP4("127.0.0.1", site.imap_port, timeout=30)
    m.login(mail, PW)
    typ, data = m.select("INBOX")
    assert typ == "OK" and data == [b"1"]
    m.logout()
    # A new password replaces the old one.
    admin.ok("mail.set", {"mail": mail, "password": "brand new pass"})
    assert not imap_login(site, mail, PW)
    assert imap_login(site, mail, "brand new pass")
    # mail.del: LMTP refuses the address, IMAP refuses the login.
    assert lmtp_rcpt(site, mail) == 250
    admin.ok("mail.del", {"mail": mail})
    assert lmtp_rcpt(site, mail) == 550
    assert not imap_login(site, mail, "brand new pass")
    assert rest(site).get("/users", params={"query": mail}).json()["results"] == []


def test_account_del_removes_its_subtree_and_nothing_else(site, admin):
    keep = make_tree(admin)
    gone = make_tree(admin)
    extra_dom = f"{unique('x')}.example"
    admin.ok("domain.add", {"account": gone["account"], "domain": extra_dom, "password": PW})
    admin.ok("mail.add", {"mail": f"two@{extra_dom}", "password": PW, "plan": "light"})
    plain = rest(site).post("/users", json={"username": unique("plain"), "password": PW}).json()
    assert plain["success"]
    domain_session = Rpc(site).login(gone["domain"], PW)
    admin.ok("account.del", {"account": gone["account"]})
    assert admin.error("account.get", {"account": gone["account"]})["code"] == 1002
    assert admin.error("domain.get", {"domain": extra_dom})["code"] == 1002
    for mail in [gone["mail"], f"two@{extra_dom}"]:
        assert admin.error("mail.get", {"mail": mail})["code"] == 1002
        assert lmtp_rcpt(site, mail) == 550
        assert rest(site).get("/users", params={"query": mail}).json()["results"] == []
    assert domain_session.error("hello.innerworld")["code"] == 253
    # The rest is untouched.
    assert admin.ok("mail.get", {"mail": keep["mail"]})["mail"] == keep["mail"]
    assert imap_login(site, keep["mail"], PW)
    assert rest(site).get(f"/users/{plain['id']}").json()["success"]


# ---- who may call what ----

# The lowest level of each method (as core's table says).
NEEDS = {
    "hello.innerworld": "mail", "deauth": "mail", "search": "account",
    "account.add": "reseller", "account.list": "reseller", "account.del": "reseller",
    "account.get": "account", "account.set": "account",
    "domain.add": "account", "domain.list": "account", "domain.del": "account",
    "domain.get": "domain", "domain.set": "domain", "domain.validate.spf": "domain",
    "mail.add": "domain", "mail.del": "domain", "mail.list": "domain",
    "mail.externaluid": "account", "mail.get": "mail", "mail.set": "mail",
    "mail.capabilities.get": "mail", "mail.capabilities.set": "domain",
    "mail.apppassword.list": "mail", "mail.apppassword.add": "mail", "mail.apppassword.del": "mail",
    "mail.vacation.get": "mail", "mail.vacation.set": "mail", "mail.vacation.delete": "mail",
    "mail.blacklist.list": "mail", "mail.blacklist.add": "mail", "mail.blacklist.del": "mail",
    "account.capabilities.get": "account", "account.capabilities.set": "account",
    "domain.capabilities.set": "account",
    "domain.deletelist.search": "domain", "domain.deletelist.delete": "domain",
    "mail.spamprotect.get": "mail", "mail.spamprotect.set": "mail",
    "mail.passwordreset.listmethods": "domain", "mail.passwordreset.setpassword": "anonymous",
    "mail.backup.list": "mail", "mail.backup.import": "mail",
    "mailinglist.add": "account", "mailinglist.get": "account", "mailinglist.set": "account",
    "mailinglist.del": "account", "mailinglist.list": "account",
    "group.add": "account", "group.get": "account", "group.set": "account",
    "group.del": "account", "group.list": "account",
}
ORDER = ["anonymous", "mail", "domain", "account", "reseller", "admin"]


def group_id(admin: Rpc, account: str, name: str) -> int:
    return next(g["group_id"] for g in admin.ok("group.list", {"account": account}) if g["name"] == name)


def test_every_method_with_every_level(site, admin, rpc):
    res1 = rpc.login("res1", RES_PW)
    res2 = rpc.login("res2", RES_PW)
    own = make_tree(admin, reseller=res1)
    other = make_tree(admin, reseller=res2)
    for t in (own, other):
        # Room for the mailing lists the table makes; one list and one group to name.
        admin.ok("account.set", {"account": t["account"], "max_mailinglist": 100})
        t["list"] = f"{unique('list')}@{t['domain']}"
        admin.ok("mailinglist.add", {"mailinglist": t["list"], "password": PW, "account": t["account"]})
        admin.ok("group.add", {"name": "team", "display_name": "Team", "mail_addresses_to_add": [t["mail"]],
                               "account": t["account"]})
        t["group"] = group_id(admin, t["account"], "team")
        t["user_id"] = rest(site).get("/users", params={"query": t["mail"]}).json()["results"][0]["id"]
    sessions = {
        "admin": admin,
        "reseller": res1,
        "account": rpc.login(own["account"], PW),
        "domain": rpc.login(own["domain"], PW),
        "mail": rpc.login(own["mail"], PW),
    }

    def params(method: str, t: dict, reseller: Rpc, level: str) -> dict:
        """Parameters naming objects of tree `t` (fresh ones for adds and deletes)."""
        if method == "account.del":
            victim = unique("victim")
            reseller.ok("account.add", {"account": victim, "password": PW, "plan": "basic"})
            return {"account": victim}
        if method == "domain.del":
            victim = f"{unique('victim')}.example"
            admin.ok("domain.add", {"account": t["account"], "domain": victim, "password": PW})
            return {"account": t["account"], "domain": victim}
        if method == "mail.apppassword.del":
            made = admin.ok("mail.apppassword.add", {"mail": t["mail"], "memo": "victim"})
            return {"id": made["id"]}
        if method == "mail.blacklist.del":
            victim = f"{unique('victim')}@spam.example"
            admin.ok("mail.blacklist.add", {"mail": t["mail"], "add_address": victim})
            return {"mail": t["mail"], "delete_address": victim}
        if method in ("mail.del", "domain.deletelist.delete"):
            victim = f"{unique('victim')}@{t['domain']}"
            admin.ok("mail.add", {"mail": victim, "password": PW, "plan": "light"})
            if method == "domain.deletelist.delete":
                admin.ok("mail.del", {"mail": victim})
            return {"mail": victim}
        if method == "mail.passwordreset.setpassword":
            temporary = rest(site).post(f"/users/{t['user_id']}/password/reset", json={}).json()["password"]
            return {"mail": t["mail"], "token": temporary, "password": PW}
        if method == "mailinglist.del":
            victim = f"{unique('victim')}@{t['domain']}"
            admin.ok("mailinglist.add", {"mailinglist": victim, "password": PW, "account": t["account"]})
            return {"mailinglist": victim, "account": t["account"]}
        if method == "group.del":
            name = unique("victim")
            admin.ok("group.add", {"name": name, "display_name": "", "mail_addresses_to_add": [],
                                   "account": t["account"]})
            return {"group_id": group_id(admin, t["account"], name), "account": t["account"]}
        return {
            "hello.innerworld": {}, "deauth": {}, "search": {"query": "zzz-nothing"},
            "account.add": {"account": unique("new"), "password": PW, "plan": "basic"},
            "account.list": {},
            "account.get": {"account": t["account"]},
            "account.set": {"account": t["account"], "memo": f"by-{level}"},
            "domain.add": {"account": t["account"], "domain": f"{unique('new')}.example", "password": PW},
            "domain.list": {"account": t["account"]},
            "domain.get": {"domain": t["domain"]},
            "domain.set": {"domain": t["domain"], "memo": f"by-{level}"},
            "domain.validate.spf": {"domain": t["domain"]},
            "mail.add": {"mail": f"{unique('new')}@{t['domain']}", "password": PW, "plan": "light"},
            "mail.list": {"domain": t["domain"]},
            "mail.externaluid": {"account": t["account"], "uid_extern": t["uid"]},
            "mail.get": {"mail": t["mail"]},
            "mail.set": {"mail": t["mail"], "first_name": f"by-{level}"},
            "mail.capabilities.get": {"mail": t["mail"]},
            "mail.capabilities.set": {"mail": t["mail"], "capabilities": {"MAIL_POP3": "on"}},
            "mail.apppassword.list": {"mail": t["mail"]},
            "mail.apppassword.add": {"mail": t["mail"], "memo": f"by-{level}", "imap_allowed": True},
            "mail.vacation.get": {"mail": t["mail"]},
            "mail.vacation.set": {"mail": t["mail"], "subject": f"by-{level}", "body": "away",
                                  "start_date": "2026-01-01", "end_date": "2026-01-02"},
            "mail.vacation.delete": {"mail": t["mail"]},
            "mail.blacklist.list": {"mail": t["mail"]},
            "mail.blacklist.add": {"mail": t["mail"], "add_address": f"{level}@spam.example"},
            "account.capabilities.get": {"account": t["account"]},
            "account.capabilities.set": {"account": t["account"], "capabilities": {"MAIL_OTP": "on"}},
            "domain.capabilities.set": {"domain": t["domain"], "capabilities": {"MAIL_OTP": "on"}},
            "domain.deletelist.search": {"domain": t["domain"]},
            "mail.spamprotect.get": {"mail": t["mail"]},
            "mail.spamprotect.set": {"mail": t["mail"], "tag2level": 6.5},
            "mail.passwordreset.listmethods": {"mail": t["mail"]},
            "mail.backup.list": {"mail": t["mail"]},
            "mail.backup.import": {"mail": t["mail"], "id": "2026-01-01", "filter": "all"},
            "mailinglist.add": {"mailinglist": f"{unique('new')}@{t['domain']}", "password": PW,
                                "account": t["account"]},
            "mailinglist.get": {"mailinglist": t["list"], "account": t["account"]},
            "mailinglist.set": {"mailinglist": t["list"], "account": t["account"], "adminmail": f"{level}@x.example"},
            "mailinglist.list": {"account": t["account"]},
            "group.add": {"name": unique("g"), "display_name": level, "mail_addresses_to_add": [t["mail"]],
                          "account": t["account"]},
            "group.get": {"group_id": t["group"], "account": t["account"]},
            "group.set": {"group_id": t["group"], "display_name": f"by-{level}", "account": t["account"]},
            "group.list": {"account": t["account"]},
        }[method]

    # Methods that name no object of a tree: "own" and "other" are the same call.
    # setpassword needs no session: its token is the proof.
    targetless = {"hello.innerworld", "deauth", "search", "account.add", "account.list",
                  "mail.passwordreset.setpassword"}
    checked = 0
    for method, need in NEEDS.items():
        for level, session in sessions.items():
            allowed = ORDER.index(level) >= ORDER.index(need)
            for which, t, owner in [("own", own, res1), ("other", other, res2)]:
                if method == "deauth":
                    # Tried on a session of its own, so that the table keeps its sessions.
                    user = {"admin": ("root", ADMIN_PW), "reseller": ("res1", RES_PW),
                            "account": (own["account"], PW), "domain": (own["domain"], PW),
                            "mail": (own["mail"], PW)}[level]
                    s = rpc.login(*user)
                    assert s.ok("deauth") is True
                    assert s.error("hello.innerworld")["code"] == 253
                    assert session.ok("hello.innerworld") == "Hello Inner-World!"
                    checked += 1
                    continue
                p = params(method, t, owner, level)
                answer = session.call(method, p)
                if not allowed:
                    expect = 1001
                elif which == "own" or method in targetless or level == "admin":
                    expect = None
                else:
                    expect = 1002
                if expect is None:
                    assert "error" not in answer, (method, level, which, answer)
                else:
                    assert answer.get("error", {}).get("code") == expect, (method, level, which, answer)
                checked += 1
    assert checked == len(NEEDS) * len(sessions) * 2
    # The other tree was changed only by the admin's calls (the last allowed one), and the
    # own tree by the last level allowed there (the table tries the admin first).
    assert admin.ok("mail.get", {"mail": other["mail"]})["first_name"] == "by-admin"
    assert admin.ok("account.get", {"account": other["account"]})["memo"] == "by-admin"
    assert admin.ok("domain.get", {"domain": other["domain"]})["memo"] == "by-admin"
    assert admin.ok("mail.get", {"mail": own["mail"]})["first_name"] == "by-mail"
    assert admin.ok("account.get", {"account": own["account"]})["memo"] == "by-account"
    assert admin.ok("domain.get", {"domain": own["domain"]})["memo"] == "by-domain"
    # search shows each session only what it owns.
    for level in ["reseller", "account"]:
        found = sessions[level].ok("search", {"query": "acct"})
        assert own["account"] in found["accounts"] and other["account"] not in found["accounts"]
    found = sessions["account"].ok("search", {"query": ".example"})
    assert own["domain"] in found["domains"] and other["domain"] not in found["domains"]
    found = res2.ok("account.list", {})
    assert other["account"] in [a["account"] for a in found]
    assert own["account"] not in [a["account"] for a in found]


# ---- what a mail user has ----


def test_capabilities_app_passwords_and_vacation(site, admin, rpc):
    t = make_tree(admin)
    mail = t["mail"]
    c = client(site)
    c.auth(t["domain"], PW)
    assert c.mail_capabilities_get(mail) == {
        "MAIL_IMAP": "on", "MAIL_POP3": "on", "MAIL_SMTP": "on", "MAIL_SPAMPROTECTION": "on",
        "MAIL_BLACKLIST": "on", "MAIL_BACKUPRECOVER": "on", "MAIL_OTP": "on", "MAIL_PASSWORDRESET_SMS": "on"}
    # The real client only knows mailbox.org's capability names: raw JSON for ours.
    d = Rpc(site, c.auth_id)
    assert d.ok("mail.capabilities.set", {"mail": mail, "capabilities": {"MAIL_IMAP": "off"}}) is True
    assert not imap_login(site, mail, PW)
    pop = poplib.POP3("127.0.0.1", site.pop3_port, timeout=30)
    pop.user(mail)
    pop.pass_(PW)
    pop.quit()
    users = rest(site).get("/users", params={"query": mail}).json()["results"]
    assert rest(site).get(f"/users/{users[0]['id']}").json()["disabledScopes"] == ["imap"]
    assert d.ok("mail.capabilities.set", {"mail": mail, "capabilities": {"MAIL_IMAP": "inherit"}}) is True
    assert imap_login(site, mail, PW)
    e = d.error("mail.capabilities.set", {"mail": mail, "capabilities": {"MAIL_TELEPATHY": "on"}})
    assert e["code"] == -32602 and "capabilities" in e["message"]
    # Application passwords: IMAP only.
    m = client(site)
    m.auth(mail, PW)
    made = m.mail_apppassword_add(mail, "phone", imap_allowed=True, smtp_allowed=False)
    assert imap_login(site, mail, made["password"])
    listed = m.mail_apppassword_list(mail)
    assert [(a["id"], a["memo"], a["imap_allowed"], a["smtp_allowed"]) for a in listed] == [
        (made["id"], "phone", True, False)]
    assert m.mail_apppassword_del(made["id"]) is True
    assert not imap_login(site, mail, made["password"])
    with pytest.raises(APIError) as e:
        m.mail_apppassword_del(made["id"])
    assert e.value.code == 1002
    # The vacation notice is the user's autoreply.
    assert m.mail_vacation_set(mail, "Away", "2026-12-20", "2026-12-31", body="Back in January") is True
    assert m.mail_vacation_get(mail) == {"active": True, "subject": "Away", "body": "Back in January",
                                         "start_date": "2026-12-20", "end_date": "2026-12-31"}
    auto = rest(site).get(f"/users/{users[0]['id']}/autoreply").json()
    assert auto["status"] is True and auto["subject"] == "Away" and auto["text"] == "Back in January"
    with pytest.raises(APIError) as e:
        m.mail_vacation_set(mail, "Away", "2026-12-31", "2026-12-20")
    assert e.value.code == -32602 and "end_date" in e.value.message
    with pytest.raises(APIError) as e:
        m.mail_vacation_set(mail, "Away", "20.12.2026", "2026-12-31")
    assert e.value.code == -32602 and "start_date" in e.value.message
    assert m.mail_vacation_delete(mail) is True
    assert m.mail_vacation_get(mail)["active"] is False
    # A mail session may not touch its capabilities.
    with pytest.raises(APIError) as e:
        m.mail_capabilities_set(mail, {"MAIL_SPAMPROTECTION": "on"})
    assert e.value.code == 1001


def test_domain_validate_spf_asks_dns(site, admin, rpc, dns):
    t = make_tree(admin)
    good, bad, two = (f"{unique(k)}.example" for k in ["good", "bad", "two"])
    dns.zone.add(good, "TXT", "v=spf1 mx include:example.test -all")
    dns.zone.add(bad, "TXT", "v=spf1 include:elsewhere.example -all")
    dns.zone.add(two, "TXT", "v=spf1 include:example.test -all")
    dns.zone.add(two, "TXT", "v=spf1 -all")
    dns.zone.add(two, "TXT", "google-site-verification=x")
    for d in [good, bad, two]:
        admin.ok("domain.add", {"account": t["account"], "domain": d, "password": PW})
    c = client(site)
    c.auth(t["account"], PW)
    got = c.domain_validate_spf(good)
    assert got == {"domain": good, "record": "v=spf1 mx include:example.test -all", "valid": True,
                   "expected": "include:example.test", "errors": []}
    got = c.domain_validate_spf(bad)
    assert got["valid"] is False and got["record"] == "v=spf1 include:elsewhere.example -all"
    assert got["errors"] == ["the record does not name include:example.test"]
    got = c.domain_validate_spf(two)
    assert got["valid"] is False and "2 SPF records" in got["errors"][0]
    got = c.domain_validate_spf(t["domain"])
    assert got["valid"] is False and got["record"] is None
    # A domain of another account is not looked up.
    other = make_tree(admin)
    with pytest.raises(APIError) as e:
        c.domain_validate_spf(other["domain"])
    assert e.value.code == 1002


def test_forwards_go_through_the_relay(site, admin, sink):
    t = make_tree(admin)
    mail = f"fwd@{t['domain']}"
    target = f"{unique('out')}@remote.example"
    c = client(site)
    c.auth(t["domain"], PW)
    assert c.mail_add(mail, PW, "light", "Fred", "Ward", inboxsave=False, forwards=[target]) is True
    got = c.mail_get(mail)
    assert got["forwards"] == [target] and got["inboxsave"] is False
    user_id = rest(site).get("/users", params={"query": mail}).json()["results"][0]["id"]
    filters = rest(site).get(f"/users/{user_id}/filters").json()["results"]
    assert [f["name"] for f in filters] == ["JSON-RPC forward"]
    lmtp = smtplib.LMTP("127.0.0.1", site.lmtp_port, timeout=30)
    lmtp.sendmail("sender@outside.test", [mail], b"Subject: forward me\r\nFrom: sender@outside.test\r\n\r\nhello\r\n")
    lmtp.quit()
    sent = sink.wait_to(target)
    assert len(sent) == 1 and b"forward me" in sent[0][2], site.log()[-3000:]
    m = imaplib.IMAP4("127.0.0.1", site.imap_port, timeout=30)
    m.login(mail, PW)
    assert m.select("INBOX") == ("OK", [b"0"])
    m.logout()
    # Forwarding off, the INBOX keeps mail again.
    assert c.mail_set_forwards(mail, []) is True
    assert c.mail_set(mail, inboxsave=True) is True
    got = c.mail_get(mail)
    assert got["forwards"] == [] and got["inboxsave"] is True
    assert rest(site).get(f"/users/{user_id}/filters").json()["results"] == []
    lmtp = smtplib.LMTP("127.0.0.1", site.lmtp_port, timeout=30)
    lmtp.sendmail("sender@outside.test", [mail], b"Subject: keep me\r\nFrom: sender@outside.test\r\n\r\nhello\r\n")
    lmtp.quit()
    m = imaplib.IMAP4("127.0.0.1", site.imap_port, timeout=30)
    m.login(mail, PW)
    assert m.select("INBOX") == ("OK", [b"1"])
    m.logout()
    assert len(sink.to(target)) == 1
    # A mail user's own session may not change its forwards.
    me = client(site)
    me.auth(mail, PW)
    with pytest.raises(APIError) as e:
        me.mail_set_forwards(mail, [target])
    assert e.value.code == 1001


def test_blacklist_sends_to_junk(site, admin):
    t = make_tree(admin)
    mail = t["mail"]
    c = client(site)
    c.auth(mail, PW)
    assert c.mail_blacklist_list(mail) == []
    assert c.mail_blacklist_add(mail, "Pest@Spam.example") == ["pest@spam.example"]
    assert c.mail_blacklist_add(mail, "@junk.example") == ["pest@spam.example", "@junk.example"]
    assert c.mail_blacklist_add(mail, "pest@spam.example") == ["pest@spam.example", "@junk.example"]
    with pytest.raises(APIError) as e:
        c.mail_blacklist_add(mail, "not an address")
    assert e.value.code == -32602 and "add_address" in e.value.message
    lmtp = smtplib.LMTP("127.0.0.1", site.lmtp_port, timeout=30)
    lmtp.sendmail("pest@spam.example", [mail], b"Subject: buy\r\nFrom: pest@spam.example\r\n\r\nbuy now\r\n")
    lmtp.sendmail("friend@good.example", [mail], b"Subject: hi\r\nFrom: friend@good.example\r\n\r\nhello\r\n")
    lmtp.quit()
    m = imaplib.IMAP4("127.0.0.1", site.imap_port, timeout=30)
    m.login(mail, PW)
    assert m.select("INBOX") == ("OK", [b"1"])
    assert m.select("Junk") == ("OK", [b"1"])
    m.logout()
    assert c.mail_blacklist_del(mail, "pest@spam.example") == ["@junk.example"]
    with pytest.raises(APIError) as e:
        c.mail_blacklist_del(mail, "pest@spam.example")
    assert e.value.code == 1002
