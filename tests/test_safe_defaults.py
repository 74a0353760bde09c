"""Safe defaults (issue 21): a private data directory whatever the umask, an access token made
at first start, and no password-less account by accident."""

import os
import stat
import subprocess

import pytest

from harness import BIN, Instances, clean_env
from helpers import PASSWORD, err, inbox, make_message, ok, upload_ok

DEFAULT_TOKEN = {"SEALPOST_ACCESS_TOKEN": None}  # unset: the generated token file


@pytest.fixture
def umask_022():
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def modes_open_to_others(root):
    """Every path under `root` (itself included) with a group or other permission bit."""
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        for name in [dirpath, *(os.path.join(dirpath, n) for n in dirnames + filenames)]:
            mode = stat.S_IMODE(os.lstat(name).st_mode)
            if mode & 0o077:
                found.append((name, oct(mode)))
    return sorted(set(found))


def test_data_dir_is_private_under_umask_022(instances, umask_022):
    # Blob files too: messages over 16 bytes are stored as files.
    server = instances.start(env={"SEALPOST_INLINE_MAX": "16"})
    api = server.api()
    uid = ok(api.post("/users", json={"username": "modes", "password": PASSWORD}))["id"]
    upload_ok(api, uid, inbox(api, uid), make_message(subject="private", body="x" * 5000))
    data_dir = server_data_dir(instances)
    blobs = [p for p, _, files in os.walk(data_dir) for f in files if "blob" in p]
    assert blobs, "the upload made no blob file: the test would check nothing"
    assert stat.S_IMODE(os.stat(data_dir).st_mode) == 0o700
    assert modes_open_to_others(data_dir) == []


def test_existing_open_data_dir_is_closed_at_start(instances, umask_022):
    instance = instances.new()
    instance.data_dir.mkdir(parents=True)
    os.chmod(instance.data_dir, 0o755)
    instance.start()
    assert stat.S_IMODE(os.stat(instance.data_dir).st_mode) == 0o700


def server_data_dir(instances):
    return instances._made[-1].data_dir


def test_token_made_at_first_start_and_required(instances, umask_022):
    instance = instances.new(env=DEFAULT_TOKEN)
    server = instance.start()
    path = instance.data_dir / "api-token"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    token = path.read_text().strip()
    assert len(token) >= 32
    assert token not in server.log(), "the token itself must never be printed"
    assert str(path) in server.log()
    err(server.api().get("/users"), 403)
    err(server.api("not-" + token).get("/users"), 403)
    ok(server.api(token).get("/users"))
    ok(server.api(token, token_in="query").get("/users"))
    # A restart keeps the same token.
    server.stop()
    server = instance.start()
    assert path.read_text().strip() == token
    ok(server.api(token).get("/users"))
    err(server.api().get("/users"), 403)


def test_token_turned_off_explicitly(instances):
    instance = instances.new(env={"SEALPOST_ACCESS_TOKEN": ""})
    server = instance.start()
    ok(server.api().get("/users"))
    assert not (instance.data_dir / "api-token").exists()
    server.stop()
    server = instance.start(config='[api]\naccessToken = ""\n', env=DEFAULT_TOKEN)
    ok(server.api().get("/users"))


def test_configured_token_wins_over_the_file(instances):
    instance = instances.new(env=DEFAULT_TOKEN)
    server = instance.start()
    file_token = (instance.data_dir / "api-token").read_text().strip()
    server.stop()
    server = instance.start(env={"SEALPOST_ACCESS_TOKEN": "configured-token-1234"})
    err(server.api(file_token).get("/users"), 403)
    ok(server.api("configured-token-1234").get("/users"))


def test_public_listener_with_the_generated_token_starts(instances):
    instance = instances.new(env=DEFAULT_TOKEN)
    server = instance.start(listen_host="0.0.0.0")
    token = (instance.data_dir / "api-token").read_text().strip()
    err(server.api().get("/users"), 403)
    ok(server.api(token).get("/users"))


def test_user_add_without_password_refuses_without_a_terminal(instances):
    instance = instances.new()
    p = instance.run("user", "add", "nopass")
    assert p.returncode == 2, p
    assert "--password-stdin" in p.stderr and "--no-password" in p.stderr, p.stderr
    listed = instance.run("user", "list", "--json")
    assert "nopass" not in listed.stdout
    # Asked for explicitly, the password-less account is made.
    p = instance.run("user", "add", "nopass", "--no-password")
    assert p.returncode == 0, p
    assert "nopass" in instance.run("user", "list", "--json").stdout
    # --no-password conflicts with a password.
    p = instance.run("user", "add", "other", "--no-password", "--password", "x y z w")
    assert p.returncode == 2, p


def test_listening_lines_once(instances):
    server = instances.start()
    lines = server.log().splitlines()
    for service in ("api", "imap", "lmtp"):
        said = [line for line in lines if f"{service} listening" in line]
        assert len(said) == 1, said
        assert f"{service} listening on 127.0.0.1:" in said[0], said
