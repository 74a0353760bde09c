"""Account security over real sockets: application specific passwords (scopes, spaces,
Apple configuration profiles), TOTP 2FA (pyotp codes, the QR code read back by zbarimg,
the master password refused by IMAP once 2FA is on), the authentication log, password
reset, and logging a user out of a live IDLE session."""

from __future__ import annotations

import base64
import plistlib
import poplib
import shutil
import subprocess
import time
import urllib.parse

import pyotp
import pytest

from helpers import HEX24, ISO_DATE, UNKNOWN_ID, assert_paging, err, invalid, ok, imap_login
from imap_client import Raw




def pop3_login(server, username: str, password: str) -> bool:
    """USER/PASS on a fresh POP3 connection: True when accepted."""
    client = poplib.POP3("127.0.0.1", server.pop3_port, timeout=30)
    try:
        client.user(username)
        client.pass_(password)
        return True
    except poplib.error_proto:
        return False
    finally:
        try:
            client.quit()
        except Exception:
            pass


def authenticate(api, username, password, scope="master", **extra):
    return api.post("/authenticate", json={"username": username, "password": password, "scope": scope, **extra})


def create_asp(api, user, **body) -> dict:
    body.setdefault("description", "Mail client")
    data = ok(api.post(f"/users/{user.id}/asps", json=body))
    assert HEX24.match(data["id"]), data
    assert len(data["password"]) == 16 and data["password"].isalpha() and data["password"].islower(), data
    return data


def authlog(api, user, **params) -> dict:
    data = ok(api.get(f"/users/{user.id}/authlog", params=params))
    assert_paging(data, int(params.get("page", 1)))
    return data


# ---- application specific passwords ----


def test_asp_create_list_delete(api, user):
    a = create_asp(api, user, description="Phone", scopes=["imap", "smtp"], ip="192.0.2.7", sess="web-1")
    b = create_asp(api, user, description="Everything")
    listed = ok(api.get(f"/users/{user.id}/asps"))["results"]
    by_id = {x["id"]: x for x in listed}
    assert set(by_id) == {a["id"], b["id"]}
    assert by_id[a["id"]]["description"] == "Phone"
    assert by_id[a["id"]]["scopes"] == ["imap", "smtp"]
    # "*" is listed as every scope, as today's WildDuck lists it.
    assert by_id[b["id"]]["scopes"] == ["imap", "pop3", "smtp"]
    assert ISO_DATE.match(by_id[a["id"]]["created"])
    assert all("password" not in x for x in listed), "the password is shown only once"
    # The singular /user/ spelling lists the same.
    assert ok(api.get(f"/user/{user.id}/asps"))["results"] == listed
    ok(api.delete(f"/users/{user.id}/asps/{a['id']}", params={"ip": "192.0.2.8"}))
    assert [x["id"] for x in ok(api.get(f"/users/{user.id}/asps"))["results"]] == [b["id"]]
    err(api.delete(f"/users/{user.id}/asps/{a['id']}"), 404)
    # A deleted password no longer authenticates.
    err(authenticate(api, user.username, a["password"], "imap"), 403)


def test_asp_validation(api, user):
    invalid(api.post(f"/users/{user.id}/asps", json={}))
    invalid(api.post(f"/users/{user.id}/asps", json={"description": "x", "scopes": ["master"]}))
    invalid(api.post(f"/users/{user.id}/asps", json={"description": "x", "scopes": 5}))
    err(api.post(f"/users/{user.id}/asps", json={"description": "x", "scopes": ["pop3"], "generateMobileconfig": True}),
        400, "InvalidAuthScope")
    err(api.post(f"/users/{UNKNOWN_ID}/asps", json={"description": "x"}), 404)
    err(api.get(f"/users/{UNKNOWN_ID}/asps"), 404)
    invalid(api.get("/users/nothex/asps"))


def test_asp_scopes_are_enforced(api, server, user):
    imap_only = create_asp(api, user, scopes="imap")["password"]
    smtp_pop = create_asp(api, user, scopes=["smtp", "pop3"])["password"]
    assert ok(authenticate(api, user.username, imap_only, "imap"))["scope"] == "imap"
    err(authenticate(api, user.username, imap_only, "pop3"), 403)
    err(authenticate(api, user.username, imap_only, "smtp"), 403)
    assert ok(authenticate(api, user.username, smtp_pop, "pop3"))["id"] == user.id
    err(authenticate(api, user.username, smtp_pop, "imap"), 403)
    # No application password works for the master scope.
    err(authenticate(api, user.username, imap_only, "master"), 403)
    err(authenticate(api, user.username, imap_only), 403)
    # Spaces (as the password is often shown) and letter case do not matter.
    spaced = " ".join(imap_only[i : i + 4] for i in range(0, 16, 4))
    assert ok(authenticate(api, user.address, spaced.upper(), "imap"))["id"] == user.id
    # Over IMAP: the imap password logs in, the other one does not.
    assert imap_login(server, user.username, spaced)
    assert not imap_login(server, user.username, smtp_pop)


def test_mobileconfig(api, user):
    data = create_asp(api, user, description="My Mac", scopes=["imap", "smtp"], generateMobileconfig=True)
    profile = plistlib.loads(base64.b64decode(data["mobileconfig"]))
    assert profile["PayloadType"] == "Configuration"
    assert profile["PayloadVersion"] == 1
    (mail,) = profile["PayloadContent"]
    assert mail["PayloadType"] == "com.apple.mail.managed"
    assert mail["EmailAccountType"] == "EmailTypeIMAP"
    assert mail["EmailAddress"] == user.address
    assert mail["IncomingMailServerUsername"] == user.username
    assert mail["IncomingPassword"] == data["password"]
    assert mail["OutgoingPassword"] == data["password"]
    assert isinstance(mail["IncomingMailServerPortNumber"], int) and mail["IncomingMailServerPortNumber"] > 0
    assert isinstance(mail["OutgoingMailServerPortNumber"], int) and mail["OutgoingMailServerPortNumber"] > 0
    assert mail["IncomingMailServerHostName"] and mail["OutgoingMailServerHostName"]
    # The password in the profile works for IMAP.
    assert ok(authenticate(api, user.username, mail["IncomingPassword"], "imap"))["id"] == user.id
    # Without the flag there is no profile.
    assert "mobileconfig" not in create_asp(api, user)


# ---- TOTP 2FA ----


def setup_totp(api, user, **body) -> tuple[str, dict]:
    data = ok(api.post(f"/users/{user.id}/2fa/totp/setup", json={"issuer": "Sealpost Test", **body}))
    assert data["qrcode"].startswith("data:image/png;base64,")
    return data["seed"], data


def enable_totp(api, user) -> pyotp.TOTP:
    seed, _ = setup_totp(api, user)
    totp = pyotp.TOTP(seed)
    ok(api.post(f"/users/{user.id}/2fa/totp/enable", json={"token": totp.now(), "ip": "192.0.2.1"}))
    return totp


@pytest.mark.skipif(shutil.which("zbarimg") is None, reason="zbarimg (zbar-tools) is not installed")
def test_qrcode_decodes_to_the_otpauth_uri(api, user, tmp_path):
    seed, data = setup_totp(api, user, label="Demo account")
    png = base64.b64decode(data["qrcode"].split(",", 1)[1])
    path = tmp_path / "qr.png"
    path.write_bytes(png)
    out = subprocess.run(["zbarimg", "--quiet", "--raw", str(path)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    uri = out.stdout.strip()
    parsed = urllib.parse.urlsplit(uri)
    assert (parsed.scheme, parsed.netloc) == ("otpauth", "totp")
    assert urllib.parse.unquote(parsed.path) == "/Demo account"
    query = urllib.parse.parse_qs(parsed.query)
    assert query["secret"] == [seed]
    assert query["issuer"] == ["Sealpost Test"]
    # pyotp reads the same URI.
    assert pyotp.parse_uri(uri).secret == seed


def test_setup_keeps_a_pending_seed_unless_fresh(api, user):
    seed1, _ = setup_totp(api, user)
    seed2, _ = setup_totp(api, user)
    assert seed1 == seed2
    seed3, _ = setup_totp(api, user, fresh=True)
    assert seed3 != seed1
    # The token of the new seed enables, the old seed's does not.
    err(api.post(f"/users/{user.id}/2fa/totp/enable", json={"token": pyotp.TOTP(seed1).now()}), 403, "InvalidToken")
    ok(api.post(f"/users/{user.id}/2fa/totp/enable", json={"token": pyotp.TOTP(seed3).now()}))
    err(api.post(f"/users/{user.id}/2fa/totp/setup", json={}), 400, "TotpEnabled")


def test_two_factor_rules(api, server, user):
    assert ok(api.get(f"/users/{user.id}"))["enabled2fa"] == []
    asp = create_asp(api, user, scopes=["imap"])["password"]
    assert imap_login(server, user.username, user.password)
    totp = enable_totp(api, user)
    assert ok(api.get(f"/users/{user.id}"))["enabled2fa"] == ["totp"]
    # The master password: still fine for the master scope, which now asks for TOTP ...
    data = ok(authenticate(api, user.username, user.password))
    assert data["require2fa"] == ["totp"]
    # ... but no longer for IMAP, POP3 or SMTP, where only application passwords work.
    for scope in ("imap", "pop3", "smtp"):
        err(authenticate(api, user.username, user.password, scope), 403)
    assert not imap_login(server, user.username, user.password)
    assert imap_login(server, user.username, asp)
    # POP3 likewise: the master password is refused, a pop3 password works, an imap one not.
    pop3_asp = create_asp(api, user, scopes=["pop3"])["password"]
    assert not pop3_login(server, user.username, user.password)
    assert not pop3_login(server, user.username, asp)
    assert pop3_login(server, user.username, pop3_asp)
    assert not imap_login(server, user.username, pop3_asp)
    assert ok(authenticate(api, user.username, asp, "imap"))["require2fa"] == []
    # Checking tokens: a valid one passes once, then the same step is refused.
    invalid(api.post(f"/users/{user.id}/2fa/totp/check", json={}))
    err(api.post(f"/users/{user.id}/2fa/totp/check", json={"token": "000000" if totp.now() != "000000" else "111111"}), 403, "InvalidToken")
    code = totp.at(time.time() + 30)
    ok(api.post(f"/users/{user.id}/2fa/totp/check", json={"token": code}))
    err(api.post(f"/users/{user.id}/2fa/totp/check", json={"token": code}), 403, "InvalidToken")
    # Turning 2FA off gives the master password back to IMAP.
    ok(api.delete(f"/users/{user.id}/2fa", params={"ip": "192.0.2.9"}))
    assert ok(api.get(f"/users/{user.id}"))["enabled2fa"] == []
    assert ok(authenticate(api, user.username, user.password))["require2fa"] == []
    assert imap_login(server, user.username, user.password)
    err(api.post(f"/users/{user.id}/2fa/totp/check", json={"token": totp.now()}), 400, "TotpDisabled")


def test_disable_totp_and_errors(api, user):
    err(api.post(f"/users/{user.id}/2fa/totp/enable", json={"token": "123456"}), 400, "TotpDisabled")
    enable_totp(api, user)
    ok(api.delete(f"/users/{user.id}/2fa/totp"))
    assert ok(api.get(f"/users/{user.id}"))["enabled2fa"] == []
    err(api.post(f"/users/{UNKNOWN_ID}/2fa/totp/setup", json={}), 404)
    err(api.delete(f"/users/{UNKNOWN_ID}/2fa"), 404)


def test_token_checks_are_rate_limited(api, user):
    totp = enable_totp(api, user)
    wrong = "000000" if totp.now() != "000000" else "111111"
    statuses = [api.post(f"/users/{user.id}/2fa/totp/check", json={"token": wrong}).status_code for _ in range(10)]
    assert statuses[0] == 403
    assert 429 in statuses, statuses
    # Once limited, even the right token is refused for now.
    err(api.post(f"/users/{user.id}/2fa/totp/check", json={"token": totp.at(time.time() + 30)}), 429, "RateLimitedError")


# ---- authentication log ----


def test_authlog_records_every_protocol(api, server, user):
    ok(authenticate(api, user.username, user.password, protocol="API", ip="198.51.100.1", sess="sess-a"))
    err(authenticate(api, user.username, "wrong password", ip="198.51.100.2", sess="sess-b"), 403)
    asp = create_asp(api, user, scopes=["imap"], ip="198.51.100.3", sess="sess-c")
    assert imap_login(server, user.username, user.password)
    assert not imap_login(server, user.username, "wrong password")
    ok(api.put(f"/users/{user.id}", json={"password": "a new password", "ip": "198.51.100.4"}))
    ok(api.delete(f"/users/{user.id}/asps/{asp['id']}", params={"ip": "198.51.100.5"}))

    entries = authlog(api, user, limit=50)["results"]
    for e in entries:
        assert HEX24.match(e["id"]) and ISO_DATE.match(e["created"]), e
        assert e["result"] in ("success", "fail"), e
    actions = [(e["action"], e["result"], e.get("protocol"), e.get("ip")) for e in entries]
    # Newest first.
    assert actions[0] == ("delete asp", "success", "API", "198.51.100.5")
    assert ("password change", "success", "API", "198.51.100.4") in actions
    assert ("authentication", "success", "API", "198.51.100.1") in actions
    assert ("authentication", "fail", "API", "198.51.100.2") in actions
    imap = [e for e in entries if e.get("protocol") == "IMAP"]
    assert sorted(e["result"] for e in imap) == ["fail", "success"], imap
    assert all(e["ip"] == "127.0.0.1" and e.get("sess") for e in imap), imap
    created = [e for e in entries if e["action"] == "create asp"]
    assert len(created) == 1 and created[0]["asp"] == asp["id"] and created[0]["sess"] == "sess-c"

    # Filters.
    only = authlog(api, user, action="create asp")["results"]
    assert [e["action"] for e in only] == ["create asp"]
    assert [e["ip"] for e in authlog(api, user, sess="sess-b")["results"]] == ["198.51.100.2"]
    assert [e["action"] for e in authlog(api, user, ip="198.51.100.1")["results"]] == ["authentication"]


def test_authlog_paging(api, user):
    for i in range(5):
        ok(authenticate(api, user.username, user.password, sess=f"p{i}"))
    first = authlog(api, user, limit=2, action="authentication")
    assert first["total"] == 5 and len(first["results"]) == 2 and first["previousCursor"] is False
    second = authlog(api, user, limit=2, action="authentication", next=first["nextCursor"], page=2)
    third = authlog(api, user, limit=2, action="authentication", next=second["nextCursor"], page=3)
    assert third["nextCursor"] is False
    sessions = [e["sess"] for page in (first, second, third) for e in page["results"]]
    assert sessions == ["p4", "p3", "p2", "p1", "p0"]
    back = authlog(api, user, limit=2, action="authentication", previous=second["previousCursor"])
    assert [e["sess"] for e in back["results"]] == ["p4", "p3"]
    invalid(api.get(f"/users/{user.id}/authlog", params={"limit": 0}))
    err(api.get(f"/users/{UNKNOWN_ID}/authlog"), 404)


# ---- password reset ----


def test_password_reset(api, server, user):
    enable_totp(api, user)
    data = ok(api.post(f"/users/{user.id}/password/reset", json={"ip": "203.0.113.9"}))
    temporary = data["password"]
    assert isinstance(temporary, str) and len(temporary) >= 12
    err(authenticate(api, user.username, user.password), 403)
    auth = ok(authenticate(api, user.username, temporary))
    assert auth["requirePasswordChange"] is True
    # 2FA was reset with it.
    assert auth["require2fa"] == []
    assert ok(api.get(f"/users/{user.id}"))["enabled2fa"] == []
    assert imap_login(server, user.username, temporary)
    ok(api.put(f"/users/{user.id}", json={"password": "chosen by the user"}))
    assert ok(authenticate(api, user.username, "chosen by the user"))["requirePasswordChange"] is False
    assert [e["ip"] for e in authlog(api, user, action="password reset")["results"]] == ["203.0.113.9"]
    err(api.post(f"/users/{UNKNOWN_ID}/password/reset", json={}), 404)


# ---- logout ----


def idle(server, user) -> Raw:
    r = Raw(server.imap_port)
    r.login(user)
    assert r.command(b"s", b"SELECT INBOX")[-1].startswith(b"s OK")
    r.send(b"i IDLE\r\n")
    assert r.line().startswith(b"+ ")
    return r


def test_logout_ends_idle_sessions_with_bye(api, server, user, create_user):
    first, second = idle(server, user), idle(server, user)
    bystander = create_user()
    other = idle(server, bystander)
    try:
        ok(api.put(f"/users/{user.id}/logout", json={"reason": "Security check"}))
        for r in (first, second):
            assert r.line() == b"* BYE Security check\r\n"
            assert r.file.readline() == b"", "the connection is closed after BYE"
        # A POP3 session of the user ends too, with its DELE marks not applied.
        pop = poplib.POP3("127.0.0.1", server.pop3_port, timeout=30)
        pop.user(user.username)
        pop.pass_(user.password)
        ok(api.put(f"/users/{user.id}/logout", json={"reason": "Again"}))
        with pytest.raises((poplib.error_proto, OSError, EOFError)):
            pop.noop()
            pop.noop()
        pop.close()
        # Another user's session goes on.
        other.send(b"DONE\r\n")
        assert other.line().startswith(b"i OK")
        # The user can log in again afterwards.
        assert imap_login(server, user.username, user.password)
        err(api.put(f"/users/{UNKNOWN_ID}/logout", json={}), 404)
    finally:
        for r in (first, second, other):
            r.close()


def test_disabling_or_deleting_a_user_ends_its_sessions(api, server, create_user):
    a, b = create_user(), create_user()
    ra, rb = idle(server, a), idle(server, b)
    try:
        ok(api.put(f"/users/{a.id}", json={"disabled": True}))
        assert ra.line().startswith(b"* BYE ")
        ok(api.delete(f"/users/{b.id}"))
        assert rb.line().startswith(b"* BYE ")
    finally:
        ra.close()
        rb.close()


# ---- disabledScopes ----


def test_disabled_scopes_refuse_those_services_only(api, server, create_user):
    u = create_user(disabledScopes=["imap"])
    assert ok(api.get(f"/users/{u.id}"))["disabledScopes"] == ["imap"]
    asp = create_asp(api, u, scopes=["*"])["password"]
    # The right password and a matching ASP are both refused for the disabled service...
    assert not imap_login(server, u.username, u.password)
    assert not imap_login(server, u.username, asp)
    err(authenticate(api, u.username, u.password, "imap"), 403, "AuthFailed")
    # ... and work for the others; the API's own (master) check is never disabled.
    assert pop3_login(server, u.username, u.password)
    assert pop3_login(server, u.username, asp)
    assert ok(authenticate(api, u.username, u.password))["id"] == u.id

    # Normalised: case, duplicates and order do not matter.
    ok(api.put(f"/users/{u.id}", json={"disabledScopes": ["SMTP", "pop3", "smtp"]}))
    assert ok(api.get(f"/users/{u.id}"))["disabledScopes"] == ["pop3", "smtp"]
    assert imap_login(server, u.username, u.password)
    assert not pop3_login(server, u.username, u.password)
    err(authenticate(api, u.username, asp, "smtp"), 403, "AuthFailed")
    # Refusals are logged as failed authentications with their scope.
    fails = [e for e in authlog(api, u, action="authentication", limit=50)["results"] if e["result"] == "fail"]
    assert {e.get("protocol") for e in fails} >= {"IMAP", "POP3"}, fails

    ok(api.put(f"/users/{u.id}", json={"disabledScopes": []}))
    assert ok(api.get(f"/users/{u.id}"))["disabledScopes"] == []
    assert pop3_login(server, u.username, u.password)

    # Only imap, pop3 and smtp may be disabled; nothing changes on bad input.
    for bad in (["master"], ["*"], ["imap", "web"], "imap"):
        invalid(api.put(f"/users/{u.id}", json={"disabledScopes": bad}))
    assert ok(api.get(f"/users/{u.id}"))["disabledScopes"] == []
    invalid(api.post("/users", json={"username": "scopes" + u.username[-6:], "password": u.password,
                                     "disabledScopes": ["ftp"]}))
