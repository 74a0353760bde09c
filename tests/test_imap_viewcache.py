"""The server keeps the views of mailboxes it has read (UIDs, flags, modseqs) in memory and
brings them up to date through the mailbox journal before each use. Whatever changed a
mailbox while its view was cached (another IMAP session, the REST API, nobody having it
selected), a new SELECT must show exactly the stored state, which the REST API reports.
Also: change notifications are per user, and IDLE for one user is not confused by another
user's changes."""

from __future__ import annotations

import imaplib
import re

from helpers import inbox, make_message, mailbox_by_path, message_path, ok, upload_ok
from imap_client import Raw

# Above the smallest mailbox the server caches (64 messages).
COUNT = 80


def append(client: imaplib.IMAP4, mailbox: str, n: int) -> None:
    for i in range(n):
        typ, _ = client.append(mailbox, "", None, make_message(subject=f"m{i}"))
        assert typ == "OK"


def imap_state(client: imaplib.IMAP4) -> list[tuple[int, set[str]]]:
    """(UID, flags) of every message of the selected mailbox, in sequence order."""
    client.untagged_responses.clear()  # unsolicited FETCHes from earlier commands
    typ, data = client.fetch("1:*", "(UID FLAGS)")
    assert typ == "OK"
    out = []
    for i, line in enumerate(data):
        m = re.match(rb"(\d+) \((?=.*UID (\d+))(?=.*FLAGS \(([^)]*)\)).*\)$", line)
        assert m, line
        assert int(m.group(1)) == i + 1
        out.append((int(m.group(2)), set(m.group(3).decode().split())))
    return out


def rest_state(api, user, mailbox_id) -> list[tuple[int, set[str]]]:
    data = ok(api.get(f"/users/{user.id}/mailboxes/{mailbox_id}/messages",
                      params={"limit": 250, "order": "asc"}))
    out = []
    for m in data["results"]:
        flags = set(m.get("flags") or [])
        for key, flag in [("seen", "\\Seen"), ("flagged", "\\Flagged"),
                          ("deleted", "\\Deleted"), ("draft", "\\Draft")]:
            if m.get(key):
                flags.add(flag)
            else:
                flags.discard(flag)
        out.append((m["id"], flags & {"\\Seen", "\\Flagged", "\\Deleted", "\\Draft"}))
    return out


def fresh_select(connect, user) -> list[tuple[int, set[str]]]:
    client = connect(user)
    typ, data = client.select("INBOX")
    assert typ == "OK"
    state = imap_state(client) if data != [b"0"] else []
    assert int(data[0]) == len(state)
    client.logout()
    return [(uid, flags & {"\\Seen", "\\Flagged", "\\Deleted", "\\Draft"}) for uid, flags in state]


def change_through_rest(api, user, mid, uids) -> int:
    """Flags uids[3], deletes uids[5], moves uids[7] to Trash, uploads one; its UID."""
    ok(api.put(message_path(user.id, mid, uids[3]), json={"flagged": True}))
    assert api.delete(message_path(user.id, mid, uids[5])).status_code == 200
    ok(api.put(message_path(user.id, mid, uids[7]),
               json={"moveTo": mailbox_by_path(api, user.id, "Trash")["id"]}))
    return upload_ok(api, user.id, mid, make_message(subject="new"))


def test_select_after_changes_made_while_nobody_had_it_selected(api, connect, user):
    one = connect(user)
    append(one, "INBOX", COUNT)
    mid = inbox(api, user.id)
    before = fresh_select(connect, user)  # reads (and caches) the view
    assert len(before) == COUNT
    assert before == rest_state(api, user, mid)
    uids = [u for u, _ in before]

    # Changes through REST and through an IMAP session that then leaves the mailbox.
    new_uid = change_through_rest(api, user, mid, uids)
    one.select("INBOX")
    one.uid("STORE", str(uids[10]), "+FLAGS", "(\\Seen \\Deleted)")
    one.uid("STORE", str(uids[11]), "+FLAGS", "(\\Deleted)")
    one.expunge()
    one.close()

    after = fresh_select(connect, user)
    assert after == rest_state(api, user, mid)
    got = [u for u, _ in after]
    assert uids[5] not in got and uids[7] not in got and uids[10] not in got and uids[11] not in got
    assert got[-1] == new_uid and len(got) == COUNT - 4 + 1
    assert dict(after)[uids[3]] == {"\\Flagged"}

    # More changes than the journal batch the cache applies: a full reload, same result.
    for _ in range(14):
        one.select("INBOX")
        one.store("1:*", "+FLAGS", "(\\Draft)")
        one.store("1:*", "-FLAGS", "(\\Draft)")
        one.close()
    ok(api.put(message_path(user.id, mid, got[0]), json={"seen": True}))
    after = fresh_select(connect, user)
    assert after == rest_state(api, user, mid)
    assert "\\Seen" in dict(after)[got[0]]


def test_two_sessions_and_rest_with_a_cached_view(api, connect, user):
    one = connect(user)
    append(one, "INBOX", COUNT)
    mid = inbox(api, user.id)
    one.select("INBOX")
    two = connect(user)
    two.select("INBOX")  # from the cache brought up to date
    uids = [u for u, _ in imap_state(two)]
    assert uids == [u for u, _ in rest_state(api, user, mid)]

    ok(api.put(message_path(user.id, mid, uids[0]), json={"seen": True}))
    one.uid("STORE", str(uids[1]), "+FLAGS", "(\\Flagged)")
    assert api.delete(message_path(user.id, mid, uids[2])).status_code == 200
    # Both sessions see all of it at the next command.
    for client in (one, two):
        typ, _ = client.noop()
        assert typ == "OK"
        state = dict(imap_state(client))
        assert "\\Seen" in state[uids[0]] and "\\Flagged" in state[uids[1]]
        assert uids[2] not in state
    # A third session selecting now gets the same state from the cache.
    third = connect(user)
    typ, data = third.select("INBOX")
    assert data == [str(COUNT - 1).encode()]
    assert imap_state(third) == imap_state(two)


def test_idle_sees_its_users_changes_not_another_users(api, server, create_user):
    a = create_user()
    b = create_user()
    mid_a = inbox(api, a.id)
    mid_b = inbox(api, b.id)
    upload_ok(api, a.id, mid_a, make_message(subject="a1"))
    upload_ok(api, b.id, mid_b, make_message(subject="b0"))
    r = Raw(server.imap_port)
    try:
        assert r.command(b"i1", f'LOGIN {a.username} "{a.password}"'.encode())[-1].startswith(b"i1 OK")
        assert r.command(b"i2", b"SELECT INBOX")[-1].startswith(b"i2 OK")
        rb = Raw(server.imap_port)
        assert rb.command(b"k1", f'LOGIN {b.username} "{b.password}"'.encode())[-1].startswith(b"k1 OK")
        assert rb.command(b"k2", b"SELECT INBOX")[-1].startswith(b"k2 OK")
        r.sock.sendall(b"i3 IDLE\r\n")
        assert r.file.readline().startswith(b"+ ")
        # User b's changes (REST and IMAP) are not a's: the first thing a hears is its own.
        for i in range(1, 3):
            upload_ok(api, b.id, mid_b, make_message(subject=f"b{i}"))
        assert rb.command(b"k3", b"STORE 1 +FLAGS (\\Flagged)")[-1].startswith(b"k3 OK")
        upload_ok(api, a.id, mid_a, make_message(subject="a2"))
        assert r.file.readline() == b"* 2 EXISTS\r\n"
        r.sock.sendall(b"DONE\r\n")
        lines = []
        while not (line := r.file.readline()).startswith(b"i3 "):
            lines.append(line)
        assert line.startswith(b"i3 OK") and lines == []
        # b's session saw its own changes.
        lines = rb.command(b"k4", b"NOOP")
        assert lines[-1].startswith(b"k4 OK")
        assert rb.command(b"k5", b"SEARCH ALL")[0] == b"* SEARCH 1 2 3\r\n"
        rb.sock.close()
    finally:
        r.sock.close()
