"""Durability: a message acknowledged with HTTP 200 survives SIGKILL of the server right after."""

import hashlib
import os
from email import policy
from email.message import EmailMessage

from helpers import all_uids, create_mailbox, inbox, make_message, message_path, ok, quota_used, upload_ok


def message(i: int) -> bytes:
    """Message number i: plain ones of varying size, and every fifth with a binary attachment."""
    if i % 5:
        return make_message(subject=f"durable {i}", body=f"message {i}\n" + "lorem ipsum dolor sit amet\n" * (i * 37))
    msg = EmailMessage()
    msg["From"] = "durable@example.com"
    msg["To"] = "keeper@example.test"
    msg["Subject"] = f"durable {i} with attachment"
    msg["Message-ID"] = f"<durable-{i}-{os.urandom(4).hex()}@example.com>"
    msg.set_content(f"message {i} has an attachment\n")
    msg.add_attachment(os.urandom(20000 + i * 1000), maintype="application", subtype="octet-stream", filename=f"f{i}.bin")
    return msg.as_bytes(policy=policy.SMTP)


def test_acknowledged_messages_survive_sigkill(instances):
    instance = instances.new()
    server = instance.start()
    api = server.api()
    uid_user = ok(api.post("/users", json={"username": "durable", "password": "secret pass"}))["id"]
    mid = inbox(api, uid_user)
    other = create_mailbox(api, uid_user, "Kept/Folder")

    stored: dict[int, bytes] = {}
    for i in range(50):
        raw = message(i)
        uid = upload_ok(api, uid_user, mid, raw)
        assert uid not in stored
        stored[uid] = raw
    server.kill()  # immediately after the last 200 OK

    server = instance.start()
    api = server.api()
    assert ok(api.get(f"/users/{uid_user}"))["username"] == "durable"
    assert other in [m["id"] for m in ok(api.get(f"/users/{uid_user}/mailboxes"))["results"]]
    assert all_uids(api, uid_user, mid) == sorted(stored, reverse=True)
    for uid, raw in stored.items():
        r = api.get(message_path(uid_user, mid, uid) + "/message.eml")
        assert r.status_code == 200, (uid, r.status_code)
        assert hashlib.sha256(r.content).hexdigest() == hashlib.sha256(raw).hexdigest(), f"uid {uid} differs"
    assert quota_used(api, uid_user) == sum(len(r) for r in stored.values())

    # UIDs keep growing after the restart
    new_uid = upload_ok(api, uid_user, mid, make_message(subject="after restart"))
    assert new_uid > max(stored)


def test_changes_survive_sigkill(instances):
    instance = instances.new()
    server = instance.start()
    api = server.api()
    user = ok(api.post("/users", json={"username": "changes", "password": "secret pass"}))["id"]
    mid = inbox(api, user)
    uids = [upload_ok(api, user, mid, make_message(subject=f"c{i}"), {"unseen": "true"}) for i in range(3)]
    ok(api.put(message_path(user, mid, uids[0]), json={"seen": True, "flagged": True}))
    ok(api.delete(message_path(user, mid, uids[1])))
    ok(api.put(f"/users/{user}", json={"password": "changed pass"}))
    server.kill()

    server = instance.start()
    api = server.api()
    assert all_uids(api, user, mid) == [uids[2], uids[0]]
    first = ok(api.get(message_path(user, mid, uids[0])))
    assert (first["seen"], first["flagged"]) == (True, True)
    ok(api.post("/authenticate", json={"username": "changes", "password": "changed pass"}))
