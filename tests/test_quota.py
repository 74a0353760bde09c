"""Quota: storage use follows every insert and delete; POST /users/{user}/quota/reset."""

from helpers import (
    UNKNOWN_ID,
    create_mailbox,
    err,
    inbox,
    make_message,
    mailbox_by_use,
    message_path,
    ok,
    quota_used,
    upload_ok,
)


def test_usage_rises_and_falls(api, user):
    mid = inbox(api, user.id)
    assert quota_used(api, user.id) == 0
    raws = [make_message(subject=f"q{i}", body="z" * (100 * (i + 1))) for i in range(3)]
    uids = []
    total = 0
    for raw in raws:
        uids.append(upload_ok(api, user.id, mid, raw))
        total += len(raw)
        assert quota_used(api, user.id) == total
    # the listing shows the same number
    listed = ok(api.get("/users", params={"query": user.username}))["results"]
    assert [r["quota"]["used"] for r in listed if r["id"] == user.id] == [total]

    ok(api.delete(message_path(user.id, mid, uids[1])))
    total -= len(raws[1])
    assert quota_used(api, user.id) == total


def test_move_keeps_usage_and_mailbox_delete_releases_it(api, user):
    src = inbox(api, user.id)
    dst = create_mailbox(api, user.id, "Quota box")
    raw = make_message(subject="moving quota", body="m" * 500)
    uid = upload_ok(api, user.id, src, raw)
    ok(api.put(message_path(user.id, src, uid), json={"moveTo": dst}))
    assert quota_used(api, user.id) == len(raw)
    ok(api.delete(f"/users/{user.id}/mailboxes/{dst}"))
    assert quota_used(api, user.id) == 0


def test_reset_returns_the_sum(api, user):
    inbox_id = inbox(api, user.id)
    trash = mailbox_by_use(api, user.id, "\\Trash")["id"]
    raws = [make_message(subject=f"r{i}", body="r" * (37 * i)) for i in range(4)]
    for i, raw in enumerate(raws):
        upload_ok(api, user.id, trash if i == 0 else inbox_id, raw)
    expected = sum(len(r) for r in raws)
    data = ok(api.post(f"/users/{user.id}/quota/reset", json={}))
    assert data["storageUsed"] == expected
    assert set(data) >= {"success", "storageUsed"}
    assert quota_used(api, user.id) == expected
    # idempotent
    assert ok(api.post(f"/users/{user.id}/quota/reset"))["storageUsed"] == expected


def test_reset_unknown_user(api):
    err(api.post(f"/users/{UNKNOWN_ID}/quota/reset", json={}), 404)
    assert api.post("/users/not-hex/quota/reset", json={}).status_code == 400
