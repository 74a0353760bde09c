"""Messages: list (order, cursors, limit), get, message.eml, update (flags, expires, moveTo; one
id, a comma list or a range), delete, the flagged list and the account-wide search."""

import random
import string

import pytest

from helpers import (
    HEX24,
    ISO_DATE,
    UNKNOWN_ID,
    all_uids,
    assert_paging,
    create_mailbox,
    err,
    inbox,
    invalid,
    list_messages,
    mailbox_by_use,
    mailboxes,
    make_message,
    message_path,
    ok,
    upload,
    upload_ok,
)


def word() -> str:
    """A random letters-only word that no other message contains."""
    return "zq" + "".join(random.choice(string.ascii_lowercase) for _ in range(10))


def by_uid(api, user_id, mailbox_id) -> dict[int, dict]:
    data = list_messages(api, user_id, mailbox_id, limit=250)
    return {m["id"]: m for m in data["results"]}


def test_list_empty(api, user):
    data = list_messages(api, user.id, inbox(api, user.id))
    assert_paging(data)
    assert data["total"] == 0
    assert data["results"] == []
    assert data["previousCursor"] is False and data["nextCursor"] is False
    assert "specialUse" in data
    trash = mailbox_by_use(api, user.id, "\\Trash")["id"]
    assert list_messages(api, user.id, trash)["specialUse"] == "\\Trash"


def test_upload_and_list_shape(api, user):
    mid = inbox(api, user.id)
    raw = make_message(subject="Subject line", body="Beginning text in the message and more.")
    uid = upload_ok(api, user.id, mid, raw)
    data = list_messages(api, user.id, mid)
    assert_paging(data)
    assert data["total"] == 1
    assert data["previousCursor"] is False and data["nextCursor"] is False
    [m] = data["results"]
    assert m["id"] == uid
    assert m["mailbox"] == mid
    assert HEX24.match(m["thread"]), m
    assert m["from"] == {"address": "sender@example.com", "name": "Sender Name"}
    assert m["subject"] == "Subject line"
    assert m["date"] == "2022-11-15T10:00:00.000Z"
    assert "Beginning text" in m["intro"]
    assert m["attachments"] is False
    # WildDuck semantics: an uploaded message is \Seen unless `unseen=true`
    assert (m["seen"], m["deleted"], m["flagged"], m["draft"]) == (True, False, False, False)


def test_upload_flag_parameters(api, user):
    mid = create_mailbox(api, user.id, "Params")
    a = upload_ok(api, user.id, mid, make_message(subject="a"), {"unseen": "true"})
    b = upload_ok(api, user.id, mid, make_message(subject="b"), {"flagged": "true"})
    c = upload_ok(api, user.id, mid, make_message(subject="c"), {"draft": "true", "unseen": "true"})
    d = upload_ok(api, user.id, mid, make_message(subject="d"), {"date": "2020-01-02T03:04:05.000Z"})
    listed = by_uid(api, user.id, mid)
    assert (listed[a]["seen"], listed[a]["flagged"], listed[a]["draft"]) == (False, False, False)
    assert (listed[b]["seen"], listed[b]["flagged"], listed[b]["draft"]) == (True, True, False)
    assert (listed[c]["seen"], listed[c]["flagged"], listed[c]["draft"]) == (False, False, True)
    assert listed[d]["seen"] is True
    assert a < b < c < d, "UIDs grow with every message"


def test_upload_parameter_validation(api, user):
    mid = inbox(api, user.id)
    raw = make_message()
    invalid(upload(api, user.id, mid, raw, {"unseen": "perhaps"}))
    invalid(upload(api, user.id, mid, raw, {"date": "not a date"}))
    invalid(upload(api, user.id, "nothex", raw))
    err(upload(api, user.id, UNKNOWN_ID, raw), 404)
    err(upload(api, UNKNOWN_ID, mid, raw), 404)
    assert list_messages(api, user.id, mid)["total"] == 0


def test_get_details(api, user):
    mid = inbox(api, user.id)
    raw = make_message(
        subject="Details please",
        body="The body text of the message.\nSecond line.",
        to="Test User <testuser@example.test>, other@example.test",
        message_id="<FA472D2A-092E-44BC-9D38-AFACE48AB98E@example.com>",
        headers={"Cc": "Carbon Copy <cc@example.net>"},
    )
    uid = upload_ok(api, user.id, mid, raw, {"flagged": "true"})
    data = ok(api.get(message_path(user.id, mid, uid)))
    assert data["id"] == uid
    assert data["from"] == {"address": "sender@example.com", "name": "Sender Name"}
    assert [t["address"] for t in data["to"]] == ["testuser@example.test", "other@example.test"]
    assert data["to"][0] == {"address": "testuser@example.test", "name": "Test User"}
    assert not data["to"][1].get("name")
    assert data["cc"] == [{"address": "cc@example.net", "name": "Carbon Copy"}]
    assert data["subject"] == "Details please"
    assert data["messageId"] == "<FA472D2A-092E-44BC-9D38-AFACE48AB98E@example.com>"
    assert data["date"] == "2022-11-15T10:00:00.000Z"
    assert ISO_DATE.match(data["date"])
    assert (data["seen"], data["deleted"], data["flagged"], data["draft"]) == (True, False, True, False)
    assert isinstance(data["html"], list) and all(isinstance(h, str) for h in data["html"])
    assert "The body text of the message." in data["text"]
    assert "Second line." in data["text"]
    assert data["attachments"] == []


def test_html_message_details(api, user):
    mid = inbox(api, user.id)
    raw = (
        "From: a@example.com\r\nTo: b@example.test\r\nSubject: html\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/alternative; boundary="b1"\r\n\r\n'
        "--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nPlain version\r\n"
        "--b1\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>Notice the <b>HTML</b> content</p>\r\n"
        "--b1--\r\n"
    ).encode()
    uid = upload_ok(api, user.id, mid, raw)
    data = ok(api.get(message_path(user.id, mid, uid)))
    assert any("<b>HTML</b>" in h for h in data["html"]), data["html"]
    assert "Plain version" in data["text"]
    assert data["attachments"] == []


def test_message_eml_is_byte_identical(api, user):
    mid = inbox(api, user.id)
    raw = make_message(subject="raw", body="Tabs\tand trailing spaces   \nand ünïcödé\n\n\nend")
    uid = upload_ok(api, user.id, mid, raw)
    r = api.get(message_path(user.id, mid, uid) + "/message.eml")
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("message/rfc822")
    assert r.content == raw


def test_message_id_validation(api, user):
    mid = inbox(api, user.id)
    uid = upload_ok(api, user.id, mid, make_message())
    base = f"/users/{user.id}/mailboxes/{mid}/messages"
    invalid(api.get(f"{base}/abc"))
    invalid(api.get(f"{base}/0"))
    invalid(api.get(f"{base}/-1"))
    invalid(api.get(f"{base}/99999999999999999999"))
    err(api.get(f"{base}/{uid + 1000}"), 404)
    err(api.get(f"{base}/{uid + 1000}/message.eml"), 404)
    err(api.get(f"{base}/{uid}/attachments/ATT00099"), 404)
    assert api.get(f"{base}/{uid}/attachments/..%2F..%2Fetc").status_code in (400, 404)
    err(api.get(f"/users/{user.id}/mailboxes/{UNKNOWN_ID}/messages/{uid}"), 404)
    invalid(api.get(f"/users/{user.id}/mailboxes/123/messages/{uid}"))


@pytest.mark.parametrize("order", ["desc", "asc"])
def test_paging_forward_and_back(api, user, order):
    mid = create_mailbox(api, user.id, f"Paging {order}")
    uploaded = [upload_ok(api, user.id, mid, make_message(subject=f"page test {i}")) for i in range(30)]
    expected = sorted(uploaded, reverse=(order == "desc"))
    params = {"limit": 7} if order == "desc" else {"limit": 7, "order": "asc"}  # desc is the default

    pages: list[list[int]] = []
    data = list_messages(api, user.id, mid, page=1, **params)
    page = 1
    while True:
        assert_paging(data, page=page)
        assert data["total"] == 30
        uids = [m["id"] for m in data["results"]]
        assert 1 <= len(uids) <= 7
        pages.append(uids)
        assert (data["previousCursor"] is False) == (page == 1), (page, data["previousCursor"])
        if data["nextCursor"] is False:
            break
        page += 1
        assert page <= 10, "paging does not end"
        data = list_messages(api, user.id, mid, page=page, next=data["nextCursor"], **params)
    assert [len(p) for p in pages] == [7, 7, 7, 7, 2]
    seen = [u for p in pages for u in p]
    assert seen == expected, "every uid exactly once, in order"

    # and back from the last page with `previous`
    while page > 1:
        page -= 1
        data = list_messages(api, user.id, mid, page=page, previous=data["previousCursor"], **params)
        assert_paging(data, page=page)
        assert [m["id"] for m in data["results"]] == pages[page - 1]
        assert isinstance(data["nextCursor"], str)
    assert data["previousCursor"] is False


def test_list_validation(api, user):
    mid = inbox(api, user.id)
    base = f"/users/{user.id}/mailboxes/{mid}/messages"
    invalid(api.get(base, params={"limit": 0}))
    invalid(api.get(base, params={"limit": 100000}))
    invalid(api.get(base, params={"limit": "ten"}))
    invalid(api.get(base, params={"order": "sideways"}))
    invalid(api.get(base, params={"next": "not a cursor!"}))
    invalid(api.get(base, params={"page": 0}))
    ok(api.get(base, params={"limit": 250, "order": "asc"}))


def test_flags_single_list_and_range(api, user):
    mid = create_mailbox(api, user.id, "Flags")
    uids = [upload_ok(api, user.id, mid, make_message(subject=f"f{i}"), {"unseen": "true"}) for i in range(8)]
    u = uids

    r = ok(api.put(message_path(user.id, mid, u[0]), json={"seen": True}))
    assert r["updated"] == 1
    ok(api.put(message_path(user.id, mid, f"{u[1]},{u[2]}"), json={"flagged": True}))
    r = ok(api.put(message_path(user.id, mid, f"{u[3]}:{u[5]}"), json={"draft": True, "deleted": True}))
    assert r["updated"] == 3

    listed = by_uid(api, user.id, mid)
    assert [listed[x]["seen"] for x in u] == [True] + [False] * 7
    assert [listed[x]["flagged"] for x in u] == [False, True, True, False, False, False, False, False]
    assert [listed[x]["draft"] for x in u] == [False, False, False, True, True, True, False, False]
    assert [listed[x]["deleted"] for x in u] == [False, False, False, True, True, True, False, False]

    # and back off again, details agree with the listing
    ok(api.put(message_path(user.id, mid, f"{u[1]},{u[2]}"), json={"flagged": False, "seen": True}))
    for x in (u[1], u[2]):
        d = ok(api.get(message_path(user.id, mid, x)))
        assert (d["flagged"], d["seen"]) == (False, True)


def test_update_validation(api, user):
    mid = inbox(api, user.id)
    uid = upload_ok(api, user.id, mid, make_message())
    invalid(api.put(message_path(user.id, mid, "1-3"), json={"seen": True}))
    invalid(api.put(message_path(user.id, mid, "abc"), json={"seen": True}))
    invalid(api.put(message_path(user.id, mid, uid), json={"seen": "perhaps"}))
    invalid(api.put(message_path(user.id, mid, uid), json={"expires": "not a date"}))
    invalid(api.put(message_path(user.id, mid, uid), json={"moveTo": "nothex"}))
    err(api.put(message_path(user.id, mid, uid), json={"moveTo": UNKNOWN_ID}), 404)
    assert all_uids(api, user.id, mid) == [uid]


def test_expires(api, user):
    mid = inbox(api, user.id)
    uid = upload_ok(api, user.id, mid, make_message())
    ok(api.put(message_path(user.id, mid, uid), json={"expires": "2099-01-01T00:00:00.000Z"}))
    ok(api.put(message_path(user.id, mid, uid), json={"expires": False}))
    ok(api.get(message_path(user.id, mid, uid)))


def test_move_to(api, user):
    src = create_mailbox(api, user.id, "Move source")
    dst = create_mailbox(api, user.id, "Move target")
    existing = [upload_ok(api, user.id, dst, make_message(subject=f"already here {i}")) for i in range(3)]
    raws = {f"moving {i}": make_message(subject=f"moving {i}") for i in range(4)}
    uids = {subject: upload_ok(api, user.id, src, raw) for subject, raw in raws.items()}

    # one message
    r = ok(api.put(message_path(user.id, src, uids["moving 0"]), json={"moveTo": dst}))
    assert r["mailbox"] == dst
    assert r["updated"] == 1
    err(api.get(message_path(user.id, src, uids["moving 0"])), 404)
    # a range
    ok(api.put(message_path(user.id, src, f"{uids['moving 1']}:{uids['moving 2']}"), json={"moveTo": dst}))

    src_subjects = {m["subject"] for m in by_uid(api, user.id, src).values()}
    assert src_subjects == {"moving 3"}
    in_dst = by_uid(api, user.id, dst)
    moved = {m["subject"]: uid for uid, m in in_dst.items() if m["subject"].startswith("moving")}
    assert set(moved) == {"moving 0", "moving 1", "moving 2"}
    for subject, uid in moved.items():
        assert uid > max(existing), "a moved message gets a new UID in its destination"
        assert in_dst[uid]["mailbox"] == dst
        r = api.get(message_path(user.id, dst, uid) + "/message.eml")
        assert r.status_code == 200 and r.content == raws[subject]
    counts = {m["id"]: m["total"] for m in mailboxes(api, user.id, counters=True)}
    assert counts[src] == 1 and counts[dst] == 6


def test_delete_message(api, user):
    mid = inbox(api, user.id)
    keep = upload_ok(api, user.id, mid, make_message(subject="keep"))
    gone = upload_ok(api, user.id, mid, make_message(subject="gone"))
    r = ok(api.delete(message_path(user.id, mid, gone)))
    assert set(r) == {"success"}
    err(api.get(message_path(user.id, mid, gone)), 404)
    err(api.get(message_path(user.id, mid, gone) + "/message.eml"), 404)
    err(api.delete(message_path(user.id, mid, gone)), 404)
    assert all_uids(api, user.id, mid) == [keep]
    assert list_messages(api, user.id, mid)["total"] == 1


def test_flagged_list(api, user):
    mbx_inbox = inbox(api, user.id)
    custom = create_mailbox(api, user.id, "Flag custom")
    trash = mailbox_by_use(api, user.id, "\\Trash")["id"]
    junk = mailbox_by_use(api, user.id, "\\Junk")["id"]
    a = upload_ok(api, user.id, mbx_inbox, make_message(subject="flagged in inbox"), {"flagged": "true"})
    b = upload_ok(api, user.id, custom, make_message(subject="flagged later"))
    ok(api.put(message_path(user.id, custom, b), json={"flagged": True}))
    upload_ok(api, user.id, mbx_inbox, make_message(subject="not flagged"))
    upload_ok(api, user.id, trash, make_message(subject="flagged in trash"), {"flagged": "true"})
    upload_ok(api, user.id, junk, make_message(subject="flagged in junk"), {"flagged": "true"})

    data = ok(api.get(f"/users/{user.id}/flagged"))
    assert_paging(data)
    assert data["total"] == 2
    got = {(m["mailbox"], m["id"]) for m in data["results"]}
    assert got == {(mbx_inbox, a), (custom, b)}
    for m in data["results"]:
        assert m["flagged"] is True
        assert set(m) >= {"id", "mailbox", "thread", "from", "subject", "date", "intro", "attachments", "seen", "deleted", "flagged", "draft"}
    asc = ok(api.get(f"/users/{user.id}/flagged", params={"order": "asc"}))
    assert {(m["mailbox"], m["id"]) for m in asc["results"]} == got
    invalid(api.get(f"/users/{user.id}/flagged", params={"order": "up"}))
    err(api.get(f"/users/{UNKNOWN_ID}/flagged"), 404)


def test_search_excludes_trash_and_junk(api, user):
    needle = word()
    mbx_inbox = inbox(api, user.id)
    custom = create_mailbox(api, user.id, "Search custom")
    trash = mailbox_by_use(api, user.id, "\\Trash")["id"]
    junk = mailbox_by_use(api, user.id, "\\Junk")["id"]
    body = f"Somewhere in this text is the word {needle} hidden among others."
    a = upload_ok(api, user.id, mbx_inbox, make_message(subject="first hit", body=body))
    b = upload_ok(api, user.id, custom, make_message(subject="second hit", body=body))
    upload_ok(api, user.id, trash, make_message(subject="in trash", body=body))
    upload_ok(api, user.id, junk, make_message(subject="in junk", body=body))
    upload_ok(api, user.id, mbx_inbox, make_message(subject="no hit", body="Nothing to see here."))

    data = ok(api.get(f"/users/{user.id}/search", params={"query": needle}))
    assert_paging(data)
    assert data["query"] == needle
    assert data["total"] == 2
    assert {(m["mailbox"], m["id"]) for m in data["results"]} == {(mbx_inbox, a), (custom, b)}
    for m in data["results"]:
        assert set(m) >= {"id", "mailbox", "thread", "from", "subject", "date", "intro", "attachments", "seen", "deleted", "flagged", "draft"}

    nothing = ok(api.get(f"/users/{user.id}/search", params={"query": word()}))
    assert nothing["total"] == 0 and nothing["results"] == []


def test_search_is_per_user(api, create_user):
    needle = word()
    a = create_user()
    b = create_user()
    upload_ok(api, a.id, inbox(api, a.id), make_message(body=f"private {needle}"))
    assert ok(api.get(f"/users/{b.id}/search", params={"query": needle}))["total"] == 0
    assert ok(api.get(f"/users/{a.id}/search", params={"query": needle}))["total"] == 1


def test_search_subject_and_paging(api, user):
    needle = word()
    mid = inbox(api, user.id)
    uids = {upload_ok(api, user.id, mid, make_message(subject=f"About {needle} number {i}", body="plain")) for i in range(5)}
    seen = []
    data = ok(api.get(f"/users/{user.id}/search", params={"query": needle, "limit": 2}))
    page = 1
    while True:
        assert_paging(data, page=page)
        assert data["total"] == 5
        seen += [m["id"] for m in data["results"]]
        if data["nextCursor"] is False:
            break
        page += 1
        data = ok(api.get(f"/users/{user.id}/search", params={"query": needle, "limit": 2, "next": data["nextCursor"], "page": page}))
    assert sorted(seen) == sorted(uids)


def test_search_finds_words_however_often_and_wherever_they_occur(api, user):
    """The full-text index keeps each distinct word of a body once: a word seen first in
    another case, one after many repeated lines, and an address searched as one word are all
    still found."""
    needle = word()
    address = f"{word()}.desk@example.org"
    body = f"{needle.upper()} opens the text.\n" + "the same line again and again\n" * 400
    body += f"Write to {address} about {needle} or the same line.\n"
    mid = inbox(api, user.id)
    uid = upload_ok(api, user.id, mid, make_message(subject="repeats", body=body))
    upload_ok(api, user.id, mid, make_message(subject="other", body="the same line again"))
    for q in [needle, needle.upper(), address, f"{address} {needle}"]:
        data = ok(api.get(f"/users/{user.id}/search", params={"query": q}))
        assert data["total"] == 1, q
        assert [(m["mailbox"], m["id"]) for m in data["results"]] == [(mid, uid)], q
    assert ok(api.get(f"/users/{user.id}/search", params={"query": f"{needle} {word()}"}))["total"] == 0


def test_search_validation(api, user):
    invalid(api.get(f"/users/{user.id}/search"))
    invalid(api.get(f"/users/{user.id}/search", params={"query": "x", "limit": 0}))
    err(api.get(f"/users/{UNKNOWN_ID}/search", params={"query": "x"}), 404)
    # query syntax characters are just text
    for q in ['"unbalanced', "a AND OR NOT", "*", "(x", "'; DROP TABLE messages; --", "NEAR(a b)"]:
        r = api.get(f"/users/{user.id}/search", params={"query": q})
        assert r.status_code in (200, 400), (q, r.status_code, r.text)


def test_threading(api, user):
    mid = create_mailbox(api, user.id, "Threads")
    a = upload_ok(api, user.id, mid, make_message(subject="Project kickoff", message_id="<root@t.example>"))
    b = upload_ok(
        api,
        user.id,
        mid,
        make_message(
            subject="Re: Project kickoff",
            message_id="<reply@t.example>",
            headers={"In-Reply-To": "<root@t.example>", "References": "<root@t.example>"},
        ),
    )
    c = upload_ok(api, user.id, mid, make_message(subject="Something else entirely"))
    # a reply whose parent we never saw joins by its normalised subject
    d = upload_ok(api, user.id, mid, make_message(subject="Lunch plans"))
    e = upload_ok(
        api,
        user.id,
        mid,
        make_message(subject="RE: Lunch plans", headers={"In-Reply-To": "<never-seen@elsewhere.example>"}),
    )
    t = {uid: m["thread"] for uid, m in by_uid(api, user.id, mid).items()}
    assert t[a] == t[b]
    assert t[c] != t[a]
    assert t[d] == t[e]
    assert t[d] != t[a] and t[d] != t[c]
