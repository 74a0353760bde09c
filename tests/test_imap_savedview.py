"""A mailbox's view (UIDs, flags, modseqs, sizes, dates) is saved in the database after a full
read, so that the first SELECT after a restart reads that copy and the journal above it
instead of every message. The copy is only a starting point: whatever changed the mailbox
after it was saved (REST, IMAP, in a later server run) must show at the next SELECT exactly
as the REST API reports it, and a damaged copy means a full read, never a wrong view."""

from __future__ import annotations

import imaplib
import shutil
import sqlite3
import subprocess
import time

from harness import clean_env
from helpers import create_user, inbox, make_message, message_path, ok, upload_ok
from test_imap_viewcache import COUNT, change_through_rest, fresh_select, rest_state

SAVED = "mailbox view saved"
FROM_SAVED = "mailbox view read from its saved copy"


def connect(srv, user) -> imaplib.IMAP4:
    client = imaplib.IMAP4("127.0.0.1", srv.imap_port, timeout=30)
    assert client.login(user.username, user.password)[0] == "OK"
    return client


def wait_for_log(srv, text: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if text in srv.log():
            return
        time.sleep(0.05)
    raise AssertionError(f"no {text!r} in the server log:\n{srv.log()[-3000:]}")


def sql(inst, statement: str) -> None:
    """Runs a statement on the installation's database (server stopped)."""
    if inst.db is None:
        with sqlite3.connect(inst.data_dir / "sealpost.db") as conn:
            conn.execute(statement)
        return
    if shutil.which("psql"):
        subprocess.run(["psql", inst.db.url, "-v", "ON_ERROR_STOP=1", "-qAtc", statement],
                       check=True, capture_output=True, timeout=60, env=clean_env())
        return
    import psycopg  # type: ignore[import-not-found]

    with psycopg.connect(inst.db.url, autocommit=True) as conn:
        conn.execute(statement)


def filled(inst):
    """A server with a user whose INBOX holds COUNT messages, selected once (so saved)."""
    srv = inst.start()
    api = srv.api()
    user = create_user(api)
    mid = inbox(api, user.id)
    for i in range(COUNT):
        upload_ok(api, user.id, mid, make_message(subject=f"m{i}"))
    state = fresh_select(lambda u: connect(srv, u), user)
    assert state == rest_state(api, user, mid) and len(state) == COUNT
    wait_for_log(srv, SAVED)
    return srv, api, user, mid, state


def test_select_after_restart_uses_the_saved_view_and_the_journal(instances):
    inst = instances.new()
    srv, api, user, mid, before = filled(inst)
    assert FROM_SAVED not in srv.log()
    srv.stop()

    # A second run changes the mailbox through REST and IMAP.
    srv = inst.start()
    api = srv.api()
    uids = [u for u, _ in before]
    new_uid = change_through_rest(api, user, mid, uids)
    one = connect(srv, user)
    assert one.select("INBOX")[0] == "OK"
    one.uid("STORE", str(uids[10]), "+FLAGS", "(\\Seen \\Deleted)")
    one.uid("STORE", str(uids[11]), "+FLAGS", "(\\Deleted)")
    one.uid("STORE", str(uids[12]), "+FLAGS", "(\\Draft)")
    one.expunge()
    one.logout()
    srv.stop()

    # The third run starts from the copy saved by the first one.
    srv = inst.start()
    api = srv.api()
    after = fresh_select(lambda u: connect(srv, u), user)
    assert FROM_SAVED in srv.log()
    assert after == rest_state(api, user, mid)
    got = dict(after)
    assert all(u not in got for u in (uids[5], uids[7], uids[10], uids[11]))
    assert max(got) == new_uid and len(got) == COUNT - 4 + 1
    was = dict(before)
    assert got[uids[3]] == was[uids[3]] | {"\\Flagged"}
    assert got[uids[12]] == was[uids[12]] | {"\\Draft"}


def test_damaged_saved_view_means_a_full_read(instances):
    inst = instances.new()
    srv, api, user, mid, before = filled(inst)
    srv.stop()
    # Change a flag while the copy stays as it is, then damage the copy.
    srv = inst.start()
    ok(srv.api().put(message_path(user.id, mid, before[0][0]), json={"flagged": True}))
    srv.stop()
    damaged = "X'07ff'" if inst.db is None else "'\\x07ff'::bytea"
    sql(inst, f"UPDATE mailbox_views SET data = {damaged} WHERE mailbox_id = '{mid}'")

    srv = inst.start()
    api = srv.api()
    after = fresh_select(lambda u: connect(srv, u), user)
    assert "saved mailbox view unreadable" in srv.log()
    assert FROM_SAVED not in srv.log()
    assert after == rest_state(api, user, mid)
    assert "\\Flagged" in dict(after)[before[0][0]]
    # The full read saved a good copy again, which the next run uses.
    wait_for_log(srv, SAVED)
    srv.stop()
    srv = inst.start()
    assert fresh_select(lambda u: connect(srv, u), user) == rest_state(srv.api(), user, mid)
    assert FROM_SAVED in srv.log()
