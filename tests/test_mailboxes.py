"""Mailboxes: GET/POST /users/{user}/mailboxes, GET/PUT/DELETE /users/{user}/mailboxes/{mailbox}."""

import pytest

from helpers import (
    ENGLISH_NAMES,
    HEX24,
    SPECIAL_USES,
    UNKNOWN_ID,
    create_mailbox,
    err,
    inbox,
    invalid,
    mailbox_by_path,
    mailbox_by_use,
    mailboxes,
    make_message,
    message_path,
    ok,
    upload_ok,
)


def test_default_set_in_english(api, user):
    results = mailboxes(api, user.id)
    for m in results:
        assert set(m) >= {"id", "name", "path", "specialUse", "modifyIndex", "subscribed"}, m
        assert HEX24.match(m["id"])
        assert isinstance(m["modifyIndex"], int)
        assert m["subscribed"] is True
        assert m["name"] == m["path"].split("/")[-1]
    by_path = {m["path"]: m for m in results}
    assert set(by_path) == {"INBOX", "Drafts", "Sent Mail", "Trash", "Junk", "Archive"}
    assert by_path["INBOX"]["specialUse"] in (None, "\\Inbox")
    for use, path in ENGLISH_NAMES.items():
        assert by_path[path]["specialUse"] == use
    assert len({m["id"] for m in results}) == 6


@pytest.mark.parametrize("language", ["de", "et", "fr", "es"])
def test_default_set_localised(api, create_user, language):
    u = create_user(language=language)
    results = mailboxes(api, u.id)
    assert len(results) == 6
    assert {m["specialUse"] for m in results} - {None, "\\Inbox"} == SPECIAL_USES
    assert "INBOX" in [m["path"] for m in results]
    if language == "de":
        for m in results:
            if m["specialUse"] in SPECIAL_USES:
                assert m["path"] != ENGLISH_NAMES[m["specialUse"]], m


def test_get_one(api, user):
    mid = inbox(api, user.id)
    data = ok(api.get(f"/users/{user.id}/mailboxes/{mid}"))
    assert data["id"] == mid
    assert data["name"] == "INBOX" and data["path"] == "INBOX"
    assert data["specialUse"] in (None, "\\Inbox")
    assert isinstance(data["modifyIndex"], int)
    assert data["subscribed"] is True
    assert data["total"] == 0 and data["unseen"] == 0


def test_create_and_nested_parents(api, user):
    mid = create_mailbox(api, user.id, "Some parent/Subfolder/My New mailbox")
    paths = [m["path"] for m in mailboxes(api, user.id)]
    for p in ("Some parent", "Some parent/Subfolder", "Some parent/Subfolder/My New mailbox"):
        assert paths.count(p) == 1, paths
    data = ok(api.get(f"/users/{user.id}/mailboxes/{mid}"))
    assert data["path"] == "Some parent/Subfolder/My New mailbox"
    assert data["name"] == "My New mailbox"
    assert data["specialUse"] is None
    # creating a sibling reuses the existing parents
    create_mailbox(api, user.id, "Some parent/Other")
    paths = [m["path"] for m in mailboxes(api, user.id)]
    assert paths.count("Some parent") == 1


def test_create_unicode_and_retention(api, user):
    mid = create_mailbox(api, user.id, "Ünïcödé/Почта 📬", retention=86400000)
    data = ok(api.get(f"/users/{user.id}/mailboxes/{mid}"))
    assert data["path"] == "Ünïcödé/Почта 📬"
    assert data["name"] == "Почта 📬"


def test_create_duplicate_and_invalid(api, user):
    create_mailbox(api, user.id, "Dup")
    err(api.post(f"/users/{user.id}/mailboxes", json={"path": "Dup"}), 400)
    err(api.post(f"/users/{user.id}/mailboxes", json={"path": "INBOX"}), 400)
    invalid(api.post(f"/users/{user.id}/mailboxes", json={}))
    invalid(api.post(f"/users/{user.id}/mailboxes", json={"path": ""}))
    invalid(api.post(f"/users/{user.id}/mailboxes", json={"path": "a//b"}))
    invalid(api.post(f"/users/{user.id}/mailboxes", json={"path": 7}))
    invalid(api.post(f"/users/{user.id}/mailboxes", json={"path": "Ok", "retention": "forever"}))
    assert [m["path"] for m in mailboxes(api, user.id)].count("Dup") == 1


def test_rename_moves_children(api, user):
    parent = create_mailbox(api, user.id, "Parent")
    child = create_mailbox(api, user.id, "Parent/Child")
    grandchild = create_mailbox(api, user.id, "Parent/Child/Leaf")
    uid = upload_ok(api, user.id, grandchild, make_message(subject="kept across rename"))
    r = ok(api.put(f"/users/{user.id}/mailboxes/{parent}", json={"path": "Renamed"}))
    assert set(r) == {"success"}
    by_id = {m["id"]: m["path"] for m in mailboxes(api, user.id)}
    assert by_id[parent] == "Renamed"
    assert by_id[child] == "Renamed/Child"
    assert by_id[grandchild] == "Renamed/Child/Leaf"
    assert not [p for p in by_id.values() if p == "Parent" or p.startswith("Parent/")]
    assert ok(api.get(message_path(user.id, grandchild, uid)))["subject"] == "kept across rename"


def test_rename_into_new_parent(api, user):
    mid = create_mailbox(api, user.id, "Loose")
    ok(api.put(f"/users/{user.id}/mailboxes/{mid}", json={"path": "Fresh parent/Loose"}))
    paths = [m["path"] for m in mailboxes(api, user.id)]
    assert "Fresh parent" in paths and "Fresh parent/Loose" in paths and "Loose" not in paths


def test_rename_refusals(api, user):
    a = create_mailbox(api, user.id, "Alpha")
    create_mailbox(api, user.id, "Beta")
    err(api.put(f"/users/{user.id}/mailboxes/{a}", json={"path": "Beta"}), 400)
    err(api.put(f"/users/{user.id}/mailboxes/{inbox(api, user.id)}", json={"path": "Not inbox"}), 400)
    assert mailbox_by_path(api, user.id, "INBOX")
    assert mailbox_by_path(api, user.id, "Alpha")["id"] == a


def test_update_retention_and_subscription(api, user):
    mid = create_mailbox(api, user.id, "Settings")
    ok(api.put(f"/users/{user.id}/mailboxes/{mid}", json={"retention": 3600000}))
    ok(api.put(f"/users/{user.id}/mailboxes/{mid}", json={"subscribed": False}))
    assert ok(api.get(f"/users/{user.id}/mailboxes/{mid}"))["subscribed"] is False
    invalid(api.put(f"/users/{user.id}/mailboxes/{mid}", json={"subscribed": "maybe"}))


def test_delete_only_user_mailboxes(api, user):
    mid = create_mailbox(api, user.id, "Disposable")
    upload_ok(api, user.id, mid, make_message(subject="goes with the mailbox"))
    r = ok(api.delete(f"/users/{user.id}/mailboxes/{mid}"))
    assert set(r) == {"success"}
    err(api.get(f"/users/{user.id}/mailboxes/{mid}"), 404)
    err(api.get(f"/users/{user.id}/mailboxes/{mid}/messages"), 404)
    assert "Disposable" not in [m["path"] for m in mailboxes(api, user.id)]

    for use in (None, *sorted(SPECIAL_USES)):
        target = inbox(api, user.id) if use is None else mailbox_by_use(api, user.id, use)["id"]
        err(api.delete(f"/users/{user.id}/mailboxes/{target}"), 400)
    assert len(mailboxes(api, user.id)) == 6


def test_unknown_and_foreign_mailboxes(api, create_user):
    a = create_user()
    b = create_user()
    err(api.get(f"/users/{a.id}/mailboxes/{UNKNOWN_ID}"), 404)
    err(api.put(f"/users/{a.id}/mailboxes/{UNKNOWN_ID}", json={"path": "X"}), 404)
    err(api.delete(f"/users/{a.id}/mailboxes/{UNKNOWN_ID}"), 404)
    err(api.get(f"/users/{UNKNOWN_ID}/mailboxes"), 404)
    err(api.post(f"/users/{UNKNOWN_ID}/mailboxes", json={"path": "X"}), 404)
    invalid(api.get(f"/users/{a.id}/mailboxes/not-an-id"))
    # another user's mailbox is not found through this user
    b_inbox = inbox(api, b.id)
    err(api.get(f"/users/{a.id}/mailboxes/{b_inbox}"), 404)
    err(api.delete(f"/users/{a.id}/mailboxes/{create_mailbox(api, b.id, 'Mine')}"), 404)


def test_counters(api, user):
    mid = create_mailbox(api, user.id, "Counted")
    uids = [upload_ok(api, user.id, mid, make_message(subject=f"c{i}"), {"unseen": "true"}) for i in range(3)]
    ok(api.put(message_path(user.id, mid, uids[0]), json={"seen": True}))
    listed = {m["id"]: m for m in mailboxes(api, user.id, counters=True)}
    assert listed[mid]["total"] == 3
    assert listed[mid]["unseen"] == 2
    assert listed[inbox(api, user.id)]["total"] == 0
    one = ok(api.get(f"/users/{user.id}/mailboxes/{mid}"))
    assert (one["total"], one["unseen"]) == (3, 2)
    before = one["modifyIndex"]
    ok(api.put(message_path(user.id, mid, uids[1]), json={"seen": True}))
    after = ok(api.get(f"/users/{user.id}/mailboxes/{mid}"))
    assert (after["total"], after["unseen"]) == (3, 1)
    assert after["modifyIndex"] > before
