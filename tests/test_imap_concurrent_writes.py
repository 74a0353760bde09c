"""Many sessions writing to one mailbox at once (flag STOREs on the same messages, APPENDs,
FETCHes that set \\Seen, MOVEs out and back, EXPUNGEs): every command succeeds (no
transaction lost to a deadlock between the writes' row locks on PostgreSQL), no flag change
is lost to another made at the same time, and the counts add up afterwards through IMAP and
the REST API."""

from __future__ import annotations

import imaplib
import threading

from helpers import ok

THREADS = 6
ROUNDS = 25
BASE = 20


def mail(subject: str) -> bytes:
    return f"From: w@example.org\r\nSubject: {subject}\r\n\r\nbody {subject}\r\n".encode()


def connect(server, user) -> imaplib.IMAP4:
    c = imaplib.IMAP4("127.0.0.1", server.imap_port, timeout=60)
    c.login(user.username, user.password)
    return c


def check(result, what):
    typ, data = result
    assert typ == "OK", (what, typ, data)
    return data


def worker(server, user, n: int, errors: list, appended: list, expunged: list) -> None:
    try:
        c = connect(server, user)
        check(c.select("INBOX"), "select")
        kw = f"kw{n}"
        for r in range(ROUNDS):
            # The same messages for everyone: +/- this thread's keyword, ending with +.
            check(c.store(f"1:{BASE}", "+FLAGS" if r % 2 == 0 else "-FLAGS", f"({kw})"), "store")
            check(c.append("INBOX", "", None, mail(f"t{n} r{r}")), "append")
            appended.append(1)
            check(c.fetch("1:5", "(FLAGS BODY[HEADER.FIELDS (SUBJECT)])"), "fetch")
            if r % 4 == 3:
                # Its own latest message, deleted and expunged by UID.
                data = check(c.uid("SEARCH", None, "SUBJECT", f'"t{n} r{r}"'), "search")
                uids = data[0].split()
                if uids:
                    check(c.uid("STORE", uids[-1].decode(), "+FLAGS.SILENT", "(\\Deleted)"), "delete")
                    check(c.uid("EXPUNGE", uids[-1].decode()), "expunge")
                    expunged.append(1)
        check(c.store(f"1:{BASE}", "+FLAGS", f"({kw})"), "final store")
        c.logout()
    except Exception as e:  # noqa: BLE001 - reported by the test
        errors.append(f"thread {n}: {e!r}")


def mover(server, user, errors: list) -> None:
    """Moves the base messages' copies back and forth between two other mailboxes."""
    try:
        c = connect(server, user)
        for r in range(ROUNDS):
            src, dst = ("A", "B") if r % 2 == 0 else ("B", "A")
            check(c.select(src), "select")
            check(c.uid("MOVE", "1:*", dst), "move")
        c.logout()
    except Exception as e:  # noqa: BLE001
        errors.append(f"mover: {e!r}")


def test_concurrent_writes_to_one_mailbox(server, api, user):
    c = connect(server, user)
    for i in range(BASE):
        check(c.append("INBOX", "", None, mail(f"base {i}")), "seed")
    check(c.create("A"), "create")
    check(c.create("B"), "create")
    for i in range(10):
        check(c.append("A", "", None, mail(f"moving {i}")), "seed")

    errors: list[str] = []
    appended: list[int] = []
    expunged: list[int] = []
    threads = [threading.Thread(target=worker, args=(server, user, n, errors, appended, expunged))
               for n in range(THREADS)]
    threads.append(threading.Thread(target=mover, args=(server, user, errors)))
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=600)
    assert not any(t.is_alive() for t in threads), "a session hung"
    assert errors == [], errors

    check(c.select("INBOX"), "select")
    data = check(c.fetch(f"1:{BASE}", "(FLAGS)"), "fetch")
    for line in data:
        flags = line.decode()
        for n in range(THREADS):
            assert f"kw{n}" in flags, f"keyword kw{n} lost: {flags}"
    total = BASE + len(appended) - len(expunged)
    data = check(c.status("INBOX", "(MESSAGES)"), "status")
    assert f"MESSAGES {total}" in data[0].decode(), (data, total)
    moved = [check(c.status(m, "(MESSAGES)"), "status")[0].decode() for m in ("A", "B")]
    assert sum(int(s.split("MESSAGES ")[1].rstrip(")")) for s in moved) == 10, moved
    c.logout()

    boxes = ok(api.get(f"/users/{user.id}/mailboxes", params={"counters": "true"}))["results"]
    inbox = next(b for b in boxes if b["path"] == "INBOX")
    assert inbox["total"] == total, inbox
    listed = ok(api.get(f"/users/{user.id}/mailboxes/{inbox['id']}/messages", params={"limit": 250}))
    assert listed["total"] == total, listed["total"]
