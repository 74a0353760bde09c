"""How a session with a mailbox selected learns about changes made elsewhere: a few changes
are applied one by one from the mailbox's journal, many changes (more journal rows than the
session reads at once) reload the whole mailbox, and a deleted mailbox empties. The
responses must be the same either way: FETCH for flag changes, EXPUNGE, EXISTS."""

from __future__ import annotations

import imaplib
import re

import pytest

from helpers import create_mailbox, inbox, make_message, upload_ok



def append(client: imaplib.IMAP4, mailbox: str, n: int) -> None:
    for i in range(n):
        typ, _ = client.append(mailbox, "", None, make_message(subject=f"m{i}"))
        assert typ == "OK"


def fetched_flags(responses) -> dict[int, set[str]]:
    """Sequence number -> flags of the untagged FETCH responses."""
    out: dict[int, set[str]] = {}
    for r in responses:
        m = re.match(rb"(\d+) \(.*FLAGS \(([^)]*)\)", r)
        assert m, r
        out[int(m.group(1))] = set(m.group(2).decode().split())
    return out


def test_many_changes_reload_the_view(connect, user):
    one = connect(user)
    two = connect(user)
    append(one, "INBOX", 340)
    one.select("INBOX")
    typ, data = two.select("INBOX")
    assert data == [b"340"]
    # 1,020 journal rows: more than a session reads at once, so `two` reloads the view.
    one.store("1:*", "+FLAGS.SILENT", "(\\Flagged)")
    one.store("1:*", "+FLAGS.SILENT", "(\\Seen)")
    one.store("1:*", "+FLAGS.SILENT", "(\\Answered)")
    one.store("3", "+FLAGS.SILENT", "(\\Deleted)")
    one.expunge()
    one.append("INBOX", "", None, make_message(subject="late"))
    typ, _ = two.noop()
    assert typ == "OK"
    fetches = fetched_flags(two.untagged_responses.pop("FETCH", []))
    assert len(fetches) >= 339
    assert all({"\\Flagged", "\\Seen", "\\Answered"} <= f for f in fetches.values()), fetches
    assert two.untagged_responses.pop("EXPUNGE") == [b"3"]
    assert two.untagged_responses.pop("EXISTS")[-1] == b"340"
    # The snapshot is right afterwards: sequence numbers and UIDs match the other session.
    assert two.uid("SEARCH", "ALL")[1] == one.uid("SEARCH", "ALL")[1]
    # And later small changes are applied incrementally on top of it.
    one.store("1", "-FLAGS.SILENT", "(\\Seen)")
    two.noop()
    fetches = fetched_flags(two.untagged_responses.pop("FETCH", []))
    assert fetches == {1: {"\\Flagged", "\\Answered"}}


def test_few_changes_are_applied_in_order(connect, user):
    one = connect(user)
    two = connect(user)
    append(one, "INBOX", 5)
    one.select("INBOX")
    two.select("INBOX")
    # A flag change, an expunge and two new messages between two commands of `two`.
    one.store("4", "+FLAGS.SILENT", "(\\Answered)")
    one.store("2", "+FLAGS.SILENT", "(\\Deleted)")
    one.expunge()
    append(one, "INBOX", 2)
    # Not during a FETCH by sequence number: the flag change only, numbers unchanged.
    typ, data = two.fetch("5", "(UID)")
    assert typ == "OK"
    assert "EXPUNGE" not in two.untagged_responses
    # (imaplib hands the unsolicited FETCH back with the command's own.)
    assert fetched_flags([d for d in data if b"FLAGS" in d]) == {4: {"\\Answered"}}, data
    # New messages may be announced then (EXISTS is allowed during a FETCH).
    assert two.untagged_responses.pop("EXISTS")[-1] == b"7"
    two.noop()
    assert two.untagged_responses.pop("EXPUNGE") == [b"2"]
    assert "EXISTS" not in two.untagged_responses
    assert two.uid("SEARCH", "ALL")[1] == one.uid("SEARCH", "ALL")[1]
    # A message added and expunged before `two` looks never shows up.
    append(one, "INBOX", 1)
    one.store("7", "+FLAGS.SILENT", "(\\Deleted)")
    one.expunge()
    two.noop()
    assert "EXISTS" not in two.untagged_responses
    assert "EXPUNGE" not in two.untagged_responses
    assert two.uid("SEARCH", "ALL")[1] == one.uid("SEARCH", "ALL")[1]


def test_selected_mailbox_deleted_elsewhere(api, connect, user):
    create_mailbox(api, user.id, "Gone")
    one = connect(user)
    two = connect(user)
    append(one, "Gone", 3)
    typ, data = two.select("Gone")
    assert data == [b"3"]
    typ, _ = one.delete("Gone")
    assert typ == "OK"
    two.noop()
    assert two.untagged_responses.pop("EXPUNGE") == [b"3", b"2", b"1"]
    # The session goes on with another mailbox.
    upload_ok(api, user.id, inbox(api, user.id), make_message(subject="still works"))
    typ, data = two.select("INBOX")
    assert typ == "OK" and data == [b"1"]
