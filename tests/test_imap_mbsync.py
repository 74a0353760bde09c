"""A real IMAP client: isync's `mbsync` syncs a mailbox of a few hundred messages down to a
local Maildir, then local changes (a flag, a new message, a deleted message) back up and a
REST change down again. The server's state is checked through the REST API.

Maildir stores LF line ends and mbsync converts CRLF<->LF on the way, and it adds an `X-TUID`
header to every message it copies (its own marker to find the copy again after an interrupted
run), so a local file is the server's raw message with CRLF turned into LF and that header
taken out, byte for byte otherwise.

Skipped only when mbsync is missing outside CI (`.ci/run` installs the `isync` package; with
CI set a missing mbsync fails the test).
"""

from __future__ import annotations

import base64
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from helpers import all_uids, create_mailbox, inbox, make_message, message_path, ok, upload_ok

MESSAGES = 300
MBSYNC = shutil.which("mbsync")


@pytest.fixture(autouse=True)
def _need_mbsync():
    if MBSYNC is None:
        if os.environ.get("CI"):
            pytest.fail("mbsync (Debian package isync) is not installed, and CI must run this test")
        pytest.skip("mbsync (Debian package isync) is not installed")


def mbsync_version() -> tuple[int, ...]:
    out = subprocess.run([MBSYNC, "--version"], capture_output=True, text=True, timeout=30).stdout
    found = re.search(r"(\d+)\.(\d+)", out)
    return tuple(int(x) for x in found.groups()) if found else (1, 4)


def write_config(path: Path, port: int, user, maildir: Path, patterns: str) -> None:
    """An mbsyncrc for one account: plain text on loopback (the server allows it there)."""
    version = mbsync_version()
    # isync 1.5 renamed SSLType to TLSType; 1.4 renamed Master/Slave to Far/Near.
    tls = "TLSType None" if version >= (1, 5) else "SSLType None"
    far, near = ("Far", "Near") if version >= (1, 4) else ("Master", "Slave")
    password = user.password.replace("\\", "\\\\").replace('"', '\\"')
    path.write_text(
        f"""IMAPAccount test
Host 127.0.0.1
Port {port}
User {user.username}
Pass "{password}"
{tls}
AuthMechs LOGIN
Timeout 60

IMAPStore remote
Account test

MaildirStore local
Path {maildir}/
Inbox {maildir}/INBOX
SubFolders Verbatim

Channel test
{far} :remote:
{near} :local:
Patterns {patterns}
Create Both
Expunge Both
Sync All
SyncState *
"""
    )


def run_mbsync(config: Path, server) -> str:
    proc = subprocess.run(
        [MBSYNC, "-c", str(config), "-a"], capture_output=True, text=True, timeout=300
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, f"mbsync failed ({proc.returncode}):\n{output[-4000:]}\nserver log:\n{server.log()[-4000:]}"
    return output


def maildir_messages(folder: Path) -> dict[str, Path]:
    """Message files of a Maildir folder by their Subject header."""
    found = {}
    for sub in ("cur", "new"):
        for file in (folder / sub).iterdir():
            subject = re.search(rb"^Subject: (.*)$", file.read_bytes(), re.M)
            assert subject, file
            found[subject.group(1).decode()] = file
    return found


def local_bytes(file: Path) -> bytes:
    """A Maildir file without the X-TUID header mbsync adds when it copies a message."""
    return re.sub(rb"^X-TUID: [^\n]*\n", b"", file.read_bytes(), count=1, flags=re.M)


def maildir_flags(file: Path) -> str:
    return file.name.split(":2,", 1)[1] if ":2," in file.name else ""


def set_maildir_flags(file: Path, flags: str) -> Path:
    """Renames a message file to carry `flags` (Maildir keeps them sorted) in cur/."""
    base = file.name.split(":2,", 1)[0]
    target = file.parent.parent / "cur" / f"{base}:2,{''.join(sorted(flags))}"
    file.rename(target)
    return target


def message_details(api, user_id: str, mailbox_id: str) -> dict[str, dict]:
    """The mailbox's messages from the REST API, by subject."""
    result = {}
    for uid in all_uids(api, user_id, mailbox_id):
        data = ok(api.get(message_path(user_id, mailbox_id, uid)))
        result[data["subject"]] = data
    return result


def test_mbsync_round_trip(server, api, user, tmp_path):
    box = inbox(api, user.id)
    archive = create_mailbox(api, user.id, "Projects/2024")
    raws: dict[str, bytes] = {}
    for i in range(MESSAGES):
        subject = f"message {i:04d}"
        body = f"Body of message {i}.\n" + ("Some longer text line. " * (i % 40) + "\n") * (i % 7)
        raw = make_message(subject=subject, body=body)
        raws[subject] = raw
        upload_ok(api, user.id, box, raw, {"unseen": "true" if i % 2 else "false"})
    # One large MIME message (a 300 KB attachment): a long literal on the way down.
    boundary = "b0undary"
    attachment = base64.encodebytes(os.urandom(300_000)).decode()
    large = (
        f"From: a@example.com\r\nTo: b@example.test\r\nSubject: large one\r\n"
        f"Date: Wed, 16 Nov 2022 10:00:00 +0000\r\nMIME-Version: 1.0\r\n"
        f'Content-Type: multipart/mixed; boundary="{boundary}"\r\n\r\n'
        f"--{boundary}\r\nContent-Type: text/plain\r\n\r\nSee attached.\r\n"
        f"--{boundary}\r\nContent-Type: application/octet-stream\r\n"
        f"Content-Transfer-Encoding: base64\r\n\r\n{attachment.replace(chr(10), chr(13) + chr(10))}"
        f"--{boundary}--\r\n"
    ).encode()
    raws["large one"] = large
    upload_ok(api, user.id, box, large)
    archived = make_message(subject="archived one", body="In a second mailbox.")
    upload_ok(api, user.id, archive, archived)

    maildir = tmp_path / "Mail"
    maildir.mkdir()
    config = tmp_path / "mbsyncrc"
    write_config(config, server.imap_port, user, maildir, "*")

    # 1. Everything comes down, byte for byte (LF line ends), with the seen flags.
    run_mbsync(config, server)
    local = maildir_messages(maildir / "INBOX")
    assert sorted(local) == sorted(raws)
    for subject, file in local.items():
        assert local_bytes(file) == raws[subject].replace(b"\r\n", b"\n"), subject
        seen = subject == "large one" or int(subject.split()[1]) % 2 == 0
        assert ("S" in maildir_flags(file)) == seen, (subject, file.name)
    for uid in all_uids(api, user.id, box)[:3]:
        eml = api.get(message_path(user.id, box, uid) + "/message.eml")
        assert eml.status_code == 200
        subject = re.search(rb"^Subject: (.*)\r$", eml.content, re.M).group(1).decode()
        assert local_bytes(local[subject]) == eml.content.replace(b"\r\n", b"\n")
    archive_local = maildir_messages(maildir / "Projects" / "2024")
    assert list(archive_local) == ["archived one"]
    assert local_bytes(archive_local["archived one"]) == archived.replace(b"\r\n", b"\n")

    # 2. Local changes: flag one message, mark one read, delete one, add a new one.
    set_maildir_flags(local["message 0001"], maildir_flags(local["message 0001"]) + "F")
    set_maildir_flags(local["message 0003"], maildir_flags(local["message 0003"]) + "S")
    set_maildir_flags(local["message 0004"], maildir_flags(local["message 0004"]) + "T")
    new_raw = make_message(subject="written locally", body="A new message from the Maildir side.")
    (maildir / "INBOX" / "new" / "1700000000.mbsync-test.localhost").write_bytes(
        new_raw.replace(b"\r\n", b"\n")
    )
    # And a change on the server side that must come down.
    uid_five = message_details(api, user.id, box)["message 0005"]["id"]
    ok(api.put(message_path(user.id, box, uid_five), json={"flagged": True, "seen": True}))

    run_mbsync(config, server)
    remote = message_details(api, user.id, box)
    assert remote["message 0001"]["flagged"] is True
    assert remote["message 0001"]["seen"] is False
    assert remote["message 0003"]["seen"] is True
    assert "message 0004" not in remote, "a message trashed locally is expunged on the server"
    assert "written locally" in remote
    assert len(remote) == MESSAGES + 1  # 300 + the large one - 1 deleted + 1 new
    new_uid = remote["written locally"]["id"]
    eml = api.get(message_path(user.id, box, new_uid) + "/message.eml").content
    # mbsync adds its X-TUID header on the way up too; the rest is the file.
    without_tuid = re.sub(rb"^X-TUID: [^\r\n]*\r\n", b"", eml, count=1, flags=re.M)
    assert without_tuid == new_raw
    local = maildir_messages(maildir / "INBOX")
    assert "message 0004" not in local
    assert set(maildir_flags(local["message 0005"])) == {"F", "S"}
    assert "F" in maildir_flags(local["message 0001"])

    # 3. A third run has nothing left to do: the states agree.
    output = run_mbsync(config, server)
    assert sorted(maildir_messages(maildir / "INBOX")) == sorted(remote)
    assert message_details(api, user.id, box).keys() == remote.keys(), output
