"""The JSON-RPC provisioning API's methods beyond the model (test_jsonrpc.py has the
transport, sessions, the model and the table-driven access test over every method):

- capabilities at three levels (account, domain, mail user; the most specific wins) and
  what they act on: IMAP/POP3/SMTP logins, spam protection, the blacklist, backups;
- the delete list: mail users deleted and still restorable, restored through the REST API,
  purged for good by domain.deletelist.delete;
- spam protection acting at LMTP delivery on the MTA's score headers (route, reject);
- password reset with a temporary password; SMS answered "not supported";
- backups: restore points of the archive and restoring what was deleted in a time range;
- mailing lists and groups: fan-out at LMTP delivery to local members and, through the
  relay, to others, with RFC 2369/2919 List-* headers.
"""

from __future__ import annotations

import datetime
import email
import imaplib
import poplib
import smtplib

import pytest
from mailbox_org_api.APIError import APIError

from helpers import unique
from test_jsonrpc import (PW, Rpc, admin, client, dns, imap_login, lmtp_rcpt, make_tree, rest,  # noqa: F401
                          rpc, site, sink)


def add_mail(admin: Rpc, domain: str, local: str) -> str:
    mail = f"{local}@{domain}"
    admin.ok("mail.add", {"mail": mail, "password": PW, "plan": "light"})
    return mail


def user_id(site, mail: str) -> str:
    return rest(site).get("/users", params={"query": mail}).json()["results"][0]["id"]


def lmtp_send(site, to: str, raw: bytes, sender: str = "sender@outside.test") -> tuple[int, bytes]:
    """One message to one recipient over LMTP; the recipient's answer after DATA."""
    c = smtplib.LMTP("127.0.0.1", site.lmtp_port, timeout=30)
    try:
        c.ehlo("test")
        c.mail(sender)
        code, _ = c.rcpt(to)
        if code != 250:
            return code, b""
        return c.data(raw)
    finally:
        c.quit()


def count(site, mail: str, mailbox: str = "INBOX") -> int:
    m = imaplib.IMAP4("127.0.0.1", site.imap_port, timeout=30)
    try:
        m.login(mail, PW)
        typ, data = m.select(mailbox)
        assert typ == "OK", (mailbox, data)
        return int(data[0])
    finally:
        m.logout()


def headers_of_last(site, mail: str, mailbox: str = "INBOX") -> email.message.Message:
    m = imaplib.IMAP4("127.0.0.1", site.imap_port, timeout=30)
    try:
        m.login(mail, PW)
        typ, data = m.select(mailbox)
        n = data[0].decode()
        typ, data = m.fetch(n, "(BODY.PEEK[HEADER])")
        return email.message_from_bytes(data[0][1])
    finally:
        m.logout()


def msg(subject: str, extra: str = "") -> bytes:
    return (f"From: sender@outside.test\r\nSubject: {subject}\r\n{extra}\r\nbody of {subject}\r\n").encode()


# ---- capabilities ----


def test_capabilities_at_three_levels(site, admin):
    t = make_tree(admin)
    other = add_mail(admin, t["domain"], "other")
    acct = client(site)
    acct.auth(t["account"], PW)
    assert acct.account_capabilities_get(t["account"]) == {
        "MAIL_IMAP": "on", "MAIL_POP3": "on", "MAIL_SMTP": "on", "MAIL_SPAMPROTECTION": "on",
        "MAIL_BLACKLIST": "on", "MAIL_BACKUPRECOVER": "on", "MAIL_OTP": "on", "MAIL_PASSWORDRESET_SMS": "on"}
    raw = Rpc(site, acct.auth_id)
    # The domain shuts IMAP for all its mail users but the exception.
    assert raw.ok("domain.capabilities.set", {"domain": t["domain"], "capabilities": {"MAIL_IMAP": "off"},
                                              "exceptions": {"MAIL_IMAP": [other]}}) is True
    assert raw.ok("domain.get", {"domain": t["domain"]})["capabilities"] == {"MAIL_IMAP": "off"}
    assert not imap_login(site, t["mail"], PW)
    assert imap_login(site, other, PW)
    pop = poplib.POP3("127.0.0.1", site.pop3_port, timeout=30)
    pop.user(t["mail"])
    pop.pass_(PW)
    pop.quit()
    assert raw.ok("mail.capabilities.get", {"mail": t["mail"]})["MAIL_IMAP"] == "off"
    assert raw.ok("mail.capabilities.get", {"mail": other})["MAIL_IMAP"] == "on"
    assert rest(site).get(f"/users/{user_id(site, t['mail'])}").json()["disabledScopes"] == ["imap"]
    # The mail user's own intent wins over its domain's.
    assert raw.ok("mail.capabilities.set", {"mail": t["mail"], "capabilities": {"MAIL_IMAP": "on"}}) is True
    assert imap_login(site, t["mail"], PW)
    assert raw.ok("mail.capabilities.set", {"mail": t["mail"], "capabilities": {"MAIL_IMAP": "inherit"}}) is True
    assert not imap_login(site, t["mail"], PW)
    # The account's setting reaches everything below it: the domain's and mail users' intents go.
    # (the real client knows only mailbox.org's capability names: raw JSON for ours)
    assert raw.ok("account.capabilities.set", {"account": t["account"], "capabilities": {"MAIL_IMAP": "on"}}) is True
    assert raw.ok("domain.get", {"domain": t["domain"]})["capabilities"] == {}
    assert imap_login(site, t["mail"], PW) and imap_login(site, other, PW)
    # Spam protection and the blacklist off for the account, the blacklist kept for one user.
    assert acct.account_capabilities_set(t["account"], {"MAIL_SPAMPROTECTION": "off", "MAIL_BLACKLIST": "off"},
                                         exceptions={"MAIL_BLACKLIST": [t["mail"]]}) is True
    got = acct.account_capabilities_get(t["account"])
    assert got["MAIL_SPAMPROTECTION"] == "off" and got["MAIL_BLACKLIST"] == "off" and got["MAIL_IMAP"] == "on"
    e = raw.error("mail.spamprotect.set", {"mail": t["mail"], "tag2level": 4})
    assert e["code"] == 1007 and "MAIL_SPAMPROTECTION" in e["message"]
    assert raw.ok("mail.blacklist.add", {"mail": t["mail"], "add_address": "pest@spam.example"}) == ["pest@spam.example"]
    e = raw.error("mail.blacklist.add", {"mail": other, "add_address": "pest@spam.example"})
    assert e["code"] == 1007 and "MAIL_BLACKLIST" in e["message"]
    # Bad names, intents and exceptions.
    e = raw.error("account.capabilities.set", {"account": t["account"], "capabilities": {"MAIL_FLY": "on"}})
    assert e["code"] == -32602 and "capabilities" in e["message"]
    e = raw.error("domain.capabilities.set", {"domain": t["domain"], "capabilities": {"MAIL_IMAP": "maybe"}})
    assert e["code"] == -32602
    e = raw.error("domain.capabilities.set", {"domain": t["domain"], "capabilities": {"MAIL_IMAP": "off"},
                                             "exceptions": {"MAIL_POP3": [other]}})
    assert e["code"] == -32602 and "exceptions" in e["message"]
    stranger = make_tree(admin)
    e = raw.error("domain.capabilities.set", {"domain": t["domain"], "capabilities": {"MAIL_IMAP": "off"},
                                             "exceptions": {"MAIL_IMAP": [stranger["mail"]]}})
    assert e["code"] == 1002
    assert raw.error("domain.capabilities.set", {"domain": stranger["domain"],
                                                 "capabilities": {"MAIL_IMAP": "off"}})["code"] == 1002
    assert imap_login(site, stranger["mail"], PW)


# ---- the delete list ----


def test_deleted_mail_users_are_listed_restored_and_purged(site, admin):
    t = make_tree(admin)
    c = client(site)
    c.auth(t["domain"], PW)
    uid = user_id(site, t["mail"])
    assert c.domain_deletelist_search(t["domain"]) == []
    assert c.mail_del(t["mail"]) is True
    listed = c.domain_deletelist_search(t["domain"])
    assert [(d["mail"], d["user"]) for d in listed] == [(t["mail"], uid)]
    assert listed[0]["deletion_date"] and listed[0]["purge_date"] > listed[0]["deletion_date"]
    assert lmtp_rcpt(site, t["mail"]) == 550
    assert not imap_login(site, t["mail"], PW)
    assert c.domain_get(t["domain"])["count_mails"] == 0
    with pytest.raises(APIError) as e:
        c.mail_get(t["mail"])
    assert e.value.code == 1002
    # Restored through the REST API: the same user with its address, password and mail.
    r = rest(site).post(f"/users/{uid}/restore", json={})
    assert r.status_code == 200 and r.json()["success"] is True, r.text
    assert c.mail_get(t["mail"])["mail"] == t["mail"]
    assert imap_login(site, t["mail"], PW)
    assert c.domain_deletelist_search(t["domain"]) == []
    # Deleted again and purged for good: nothing left to restore.
    assert c.mail_del(t["mail"]) is True
    assert c.domain_deletelist_delete(t["mail"]) is True
    assert c.domain_deletelist_search(t["domain"]) == []
    assert rest(site).get(f"/users/{uid}/restore").status_code == 404
    with pytest.raises(APIError) as e:
        c.domain_deletelist_delete(t["mail"])
    assert e.value.code == 1002
    # Another account's delete list is not ours to see, nor to purge.
    stranger = make_tree(admin)
    admin.ok("mail.del", {"mail": stranger["mail"]})
    with pytest.raises(APIError) as e:
        c.domain_deletelist_search(stranger["domain"])
    assert e.value.code == 1002
    with pytest.raises(APIError) as e:
        c.domain_deletelist_delete(stranger["mail"])
    assert e.value.code == 1002
    d2 = client(site)
    d2.auth(stranger["domain"], PW)
    assert [d["mail"] for d in d2.domain_deletelist_search(stranger["domain"])] == [stranger["mail"]]
    # The address is free again; a domain with only deleted mail users can go.
    admin.ok("mail.add", {"mail": t["mail"], "password": PW, "plan": "light"})
    admin.ok("mail.del", {"mail": t["mail"]})
    assert [d["mail"] for d in c.domain_deletelist_search(t["domain"])] == [t["mail"]]
    assert admin.ok("domain.del", {"account": t["account"], "domain": t["domain"]}) is True
    assert admin.error("domain.get", {"domain": t["domain"]})["code"] == 1002


# ---- spam protection ----


def test_spam_protection_acts_on_the_mta_score(site, admin):
    t = make_tree(admin)
    mail = t["mail"]
    m = client(site)
    m.auth(mail, PW)
    assert m.mail_spamprotect_get(mail) == {
        "tag2level": 5.0, "killevel": "route", "kill_score": None, "route_to": "Junk", "greylist": True,
        "smtp_plausibility": True, "rbl": True, "bypass_banned_checks": False}
    # Nothing stored yet: the MTA's score alone moves nothing.
    assert lmtp_send(site, mail, msg("scored", "X-Spam-Score: 30\r\n"))[0] == 250
    assert count(site, mail) == 1
    got = m.mail_spamprotect_set(mail, greylist=False, smtp_plausibility=True, rbl=True, bypass_banned_checks=False,
                                 tag2level=5.04, killlevel="reject", route_to="Junk")
    assert got["tag2level"] == 5.0 and got["killevel"] == "reject" and got["greylist"] is False
    raw = Rpc(site, m.auth_id)
    got = raw.ok("mail.spamprotect.set", {"mail": mail, "kill_score": 10})
    assert got["kill_score"] == 10.0 and got["killevel"] == "reject"
    assert lmtp_send(site, mail, msg("ham", "X-Spam-Score: 1.5\r\n"))[0] == 250
    assert lmtp_send(site, mail, msg("suspect", "X-Spam-Status: No, score=7.2 required=5.0\r\n"))[0] == 250
    code, text = lmtp_send(site, mail, msg("killed", "X-Rspamd-Score: 12.5\r\n"))
    assert code == 550 and b"spam" in text.lower(), (code, text)
    assert count(site, mail) == 2
    assert count(site, mail, "Junk") == 1
    assert headers_of_last(site, mail, "Junk")["Subject"] == "suspect"
    # Routed to a mailbox of the user's; only routed, never refused.
    mb = imaplib.IMAP4("127.0.0.1", site.imap_port, timeout=30)
    mb.login(mail, PW)
    assert mb.create("Suspect")[0] == "OK"
    mb.logout()
    raw.ok("mail.spamprotect.set", {"mail": mail, "killevel": "route", "route_to": "Suspect"})
    assert lmtp_send(site, mail, msg("routed", "X-Spamd-Result: default: True [14.00 / 15.00]\r\n"))[0] == 250
    assert count(site, mail, "Suspect") == 1 and count(site, mail, "Junk") == 1
    assert m.mail_spamprotect_get(mail)["route_to"] == "Suspect"
    # Bad settings.
    e = raw.error("mail.spamprotect.set", {"mail": mail, "killevel": "explode"})
    assert e["code"] == -32602 and "killevel" in e["message"]
    e = raw.error("mail.spamprotect.set", {"mail": mail, "tag2level": "high"})
    assert e["code"] == -32602 and "tag2level" in e["message"]
    e = raw.error("mail.spamprotect.set", {"mail": mail, "tag2level": 20, "kill_score": 10})
    assert e["code"] == -32602 and "kill_score" in e["message"]
    stranger = make_tree(admin)
    assert raw.error("mail.spamprotect.get", {"mail": stranger["mail"]})["code"] == 1002


# ---- password reset ----


def test_password_reset_with_a_temporary_password(site, admin, rpc):
    t = make_tree(admin)
    mail = t["mail"]
    d = client(site)
    d.auth(t["domain"], PW)
    assert d.mail_passwordreset_listmethods(mail) == ["temporary_password"]
    with pytest.raises(APIError) as e:
        d.mail_passwordreset_sendsms(mail, "+491701234567")
    assert e.value.code == -32601 and "not supported by this server" in e.value.message
    anon = client(site)
    # The user's own password is no reset token.
    with pytest.raises(APIError) as e:
        anon.mail_passwordreset_setpassword(mail, PW, "a new password 1")
    assert e.value.code == 2
    temporary = rest(site).post(f"/users/{user_id(site, mail)}/password/reset", json={}).json()["password"]
    with pytest.raises(APIError) as e:
        anon.mail_passwordreset_setpassword(mail, "wrong token", "a new password 1")
    assert e.value.code == 2
    with pytest.raises(APIError) as e:
        anon.mail_passwordreset_setpassword(f"nobody@{t['domain']}", temporary, "a new password 1")
    assert e.value.code == 2
    e = rpc.error("mail.passwordreset.setpassword", {"mail": mail, "token": temporary, "password": ""})
    assert e["code"] == -32602 and "password" in e["message"]
    assert anon.mail_passwordreset_setpassword(mail, temporary, "a new password 1") is True
    assert imap_login(site, mail, "a new password 1")
    assert not imap_login(site, mail, temporary)
    # Used once: the token is gone with the temporary password.
    with pytest.raises(APIError) as e:
        anon.mail_passwordreset_setpassword(mail, temporary, "another password")
    assert e.value.code == 2


# ---- backups ----


def test_backup_restores_what_was_deleted(site, admin):
    t = make_tree(admin)
    mail = t["mail"]
    for i in range(3):
        assert lmtp_send(site, mail, msg(f"keep {i}"))[0] == 250
    m = client(site)
    m.auth(mail, PW)
    assert m.mail_backup_list(mail) == []
    im = imaplib.IMAP4("127.0.0.1", site.imap_port, timeout=30)
    im.login(mail, PW)
    im.create("Work")
    im.select("INBOX")
    im.copy("3", "Work")
    im.store("1:2", "+FLAGS", "(\\Deleted)")
    im.expunge()
    im.select("Work")
    im.store("1", "+FLAGS", "(\\Deleted)")
    im.expunge()
    im.logout()
    assert count(site, mail) == 1 and count(site, mail, "Work") == 0
    today = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d")
    points = m.mail_backup_list(mail)
    assert [(p["id"], p["messages"]) for p in points] == [(today, 3)], points
    # Only what was deleted from Work, then everything else.
    assert m.mail_backup_import(mail, today, "", "Work") == {"restored": 1, "failed": 0}
    assert count(site, mail, "Work") == 1 and count(site, mail) == 1
    assert m.mail_backup_import(mail, today, today, "all") == {"restored": 2, "failed": 0}
    assert count(site, mail) == 3
    assert m.mail_backup_list(mail) == []
    # A range that ends before today restores nothing; bad ids, times and filters are refused.
    assert m.mail_backup_import(mail, "2020-01-01", "", "all") == {"restored": 0, "failed": 0}
    for bad in [("07.12.2026", "", "all", "id"), (today, "soon", "all", "time")]:
        with pytest.raises(APIError) as e:
            m.mail_backup_import(mail, bad[0], bad[1], bad[2])
        assert e.value.code == -32602 and bad[3] in e.value.message
    with pytest.raises(APIError) as e:
        m.mail_backup_import(mail, today, "", "No Such Folder")
    assert e.value.code == 1002
    # Off for the user: refused.
    admin.ok("mail.capabilities.set", {"mail": mail, "capabilities": {"MAIL_BACKUPRECOVER": "off"}})
    with pytest.raises(APIError) as e:
        m.mail_backup_import(mail, today, "", "all")
    assert e.value.code == 1007


# ---- mailing lists and groups ----


def test_mailing_list_fans_out_with_list_headers(site, admin, sink):
    t = make_tree(admin)
    second = add_mail(admin, t["domain"], "second")
    ml = f"team@{t['domain']}"
    outside = f"{unique('member')}@remote.example"
    c = client(site)
    c.auth(t["account"], PW)
    assert c.mailinglist_add(ml, PW, t["account"], adminmail=f"owner@{t['domain']}") is True
    raw = Rpc(site, c.auth_id)
    assert raw.ok("mailinglist.set", {"mailinglist": ml, "account": t["account"],
                                      "members": [t["mail"], second, outside]}) is True
    got = c.mailinglist_get(ml, t["account"])
    assert got["mailinglist"] == ml and got["adminmail"] == f"owner@{t['domain']}"
    assert got["members"] == sorted([t["mail"], second, outside])
    assert c.mailinglist_list(t["account"]) == [{"mailinglist": ml, "adminmail": f"owner@{t['domain']}",
                                                 "count_members": 3}]
    assert lmtp_send(site, ml, msg("to the team"))[0] == 250
    for member in [t["mail"], second]:
        h = headers_of_last(site, member)
        assert h["Subject"] == "to the team"
        assert h["List-Id"] == f"<team.{t['domain']}>"
        assert h["List-Post"] == f"<mailto:{ml}>"
        assert h["List-Unsubscribe"] == f"<mailto:owner@{t['domain']}?subject=unsubscribe>"
        assert h["Precedence"] == "list"
    sent = sink.wait_to(outside)
    assert len(sent) == 1, site.log()[-3000:]
    mail_from, _, data = sent[0]
    assert mail_from == f"owner@{t['domain']}"
    relayed = email.message_from_bytes(data)
    assert relayed["List-Id"] == f"<team.{t['domain']}>" and relayed["Subject"] == "to the team"
    # A message that already went through the list is not sent round again.
    assert lmtp_send(site, ml, msg("looped", f"List-Id: <team.{t['domain']}>\r\n"))[0] == 250
    assert count(site, second) == 1
    # Members removed; bad members refused; the owner's password and address changed.
    assert raw.ok("mailinglist.set", {"mailinglist": ml, "account": t["account"],
                                      "remove_members": [second, outside]}) is True
    assert c.mailinglist_set(ml, t["account"], password="list pass 2", adminmail="") is True
    assert c.mailinglist_get(ml, t["account"])["members"] == [t["mail"]]
    e = raw.error("mailinglist.set", {"mailinglist": ml, "account": t["account"], "add_members": ["nope"]})
    assert e["code"] == -32602 and "add_members" in e["message"]
    assert lmtp_send(site, ml, msg("second round"))[0] == 250
    assert count(site, t["mail"]) == 2 and count(site, second) == 1
    # Names: taken addresses, other domains, other accounts.
    with pytest.raises(APIError) as e:
        c.mailinglist_add(ml, PW, t["account"])
    assert e.value.code == 1003
    with pytest.raises(APIError) as e:
        c.mailinglist_add(t["mail"], PW, t["account"])
    assert e.value.code == 1003
    stranger = make_tree(admin)
    with pytest.raises(APIError) as e:
        c.mailinglist_add(f"list@{stranger['domain']}", PW, t["account"])
    assert e.value.code == -32602 and "mailinglist" in e.value.message
    with pytest.raises(APIError) as e:
        c.mailinglist_get(ml, stranger["account"])
    assert e.value.code == 1002
    # max_mailinglist (3 in make_tree) bounds the account's lists.
    c.mailinglist_add(f"l2@{t['domain']}", PW, t["account"])
    c.mailinglist_add(f"l3@{t['domain']}", PW, t["account"])
    with pytest.raises(APIError) as e:
        c.mailinglist_add(f"l4@{t['domain']}", PW, t["account"])
    assert e.value.code == 1004
    assert c.mailinglist_del(ml, t["account"]) is True
    assert lmtp_rcpt(site, ml) == 550
    with pytest.raises(APIError) as e:
        c.mailinglist_del(ml, t["account"])
    assert e.value.code == 1002


def test_group_address_fans_out_to_its_mail_users(site, admin, sink):
    t = make_tree(admin)
    second = add_mail(admin, t["domain"], "second")
    address = f"sales@{t['domain']}"
    c = client(site)
    c.auth(t["account"], PW)
    raw = Rpc(site, c.auth_id)
    # The account session needs no `account`; the address is ours.
    assert raw.ok("group.add", {"name": "sales", "display_name": "Sales", "address": address,
                                "mail_addresses_to_add": [t["mail"], second]}) is True
    groups = c.group_list()
    assert [(g["name"], g["display_name"], g["address"], g["count_members"]) for g in groups] == [
        ("sales", "Sales", address, 2)]
    gid = groups[0]["group_id"]
    assert isinstance(gid, int)
    got = c.group_get(gid)
    assert got["members"] == sorted([t["mail"], second]) and got["account"] == t["account"]
    assert lmtp_send(site, address, msg("to sales"))[0] == 250
    assert count(site, t["mail"]) == 1 and count(site, second) == 1
    h = headers_of_last(site, second)
    assert h["Subject"] == "to sales" and h["List-Id"] is None
    assert c.group_set(gid, "Sales team", mail_addresses_to_remove=[second]) is True
    assert c.group_get(gid)["display_name"] == "Sales team"
    assert lmtp_send(site, address, msg("again"))[0] == 250
    assert count(site, t["mail"]) == 2 and count(site, second) == 1
    # Members are mail users of the account, nothing else.
    stranger = make_tree(admin)
    with pytest.raises(APIError) as e:
        c.group_set(gid, "Sales", mail_addresses_to_add=[stranger["mail"]])
    assert e.value.code == -32602 and "mail_addresses_to_add" in e.value.message
    with pytest.raises(APIError) as e:
        c.group_add("sales", "Again", [])
    assert e.value.code == 1003
    # A group without an address; the admin names the account.
    assert admin.ok("group.add", {"name": "quiet", "display_name": "", "mail_addresses_to_add": [],
                                  "account": t["account"]}) is True
    assert admin.error("group.list", {})["code"] == -32602
    assert [g["address"] for g in admin.ok("group.list", {"account": t["account"]})] == [None, address]
    with pytest.raises(APIError) as e:
        c.group_get(gid, account=stranger["account"])
    assert e.value.code == 1002
    assert c.group_del(gid) is True
    assert lmtp_rcpt(site, address) == 550
    with pytest.raises(APIError) as e:
        c.group_get(gid)
    assert e.value.code == 1002
