"""The command line: --help, migrate, user add|list|passwd, configuration errors, shutdown."""

import re
import subprocess

from harness import BIN, clean_env, free_port, port_open
from helpers import err, ok

HEX24 = re.compile(r"\b[0-9a-f]{24}\b")


def sealpost(*args, **kwargs):
    return subprocess.run([str(BIN), *args], capture_output=True, text=True, timeout=60, env=clean_env(), **kwargs)


def test_help_lists_subcommands():
    p = sealpost("--help")
    assert p.returncode == 0, p.stderr
    for word in ("serve", "migrate", "user", "--data-dir", "--config"):
        assert word in p.stdout, word
    p = sealpost("user", "--help")
    assert p.returncode == 0
    for word in ("add", "list", "passwd"):
        assert re.search(rf"^\s+{word}\b", p.stdout, re.M), p.stdout
    for sub, words in {
        "serve": ["--listen"],
        "migrate": [],
        "user add": ["--password", "--password-stdin", "--address", "--quota"],
        "user list": ["--query"],
        "user passwd": ["--password", "--password-stdin"],
    }.items():
        p = sealpost(*sub.split(), "--help")
        assert p.returncode == 0, (sub, p.stderr)
        for w in words:
            assert w in p.stdout, (sub, w)


def test_version_and_usage_errors():
    p = sealpost("--version")
    assert p.returncode == 0 and p.stdout.startswith("sealpost ")
    assert sealpost("no-such-command").returncode == 2
    assert sealpost().returncode == 2


def test_migrate_on_empty_data_dir(instances):
    instance = instances.new()
    assert not instance.data_dir.exists()
    p = instance.run("migrate")
    assert p.returncode == 0, p.stderr
    assert instance.data_dir.is_dir()
    if instance.engine == "sqlite":
        assert any(instance.data_dir.iterdir()), "the SQLite database lives in the data dir"
    again = instance.run("migrate")
    assert again.returncode == 0, again.stderr
    server = instance.start()
    ok(server.api().get("/users"))


def test_user_add_list_passwd(instances):
    instance = instances.new()
    p = instance.run("user", "add", "alice", "--password", "first pass", "--address", "alice@example.org", "--quota", "12345")
    assert p.returncode == 0, p.stderr
    ids = HEX24.findall(p.stdout)
    assert len(ids) == 1, p.stdout
    alice = ids[0]

    p = instance.run("user", "add", "bob", "--password-stdin", input="bob pass\n")
    assert p.returncode == 0, p.stderr
    bob = HEX24.findall(p.stdout)[0]

    p = instance.run("user", "list")
    assert p.returncode == 0, p.stderr
    assert "alice" in p.stdout and alice in p.stdout and "alice@example.org" in p.stdout
    assert "bob" in p.stdout and bob in p.stdout
    p = instance.run("user", "list", "--query", "ali")
    assert p.returncode == 0
    assert alice in p.stdout and bob not in p.stdout
    p = instance.run("user", "list", "--query", "nobody-matches-this")
    assert p.returncode == 0 and alice not in p.stdout

    dup = instance.run("user", "add", "alice", "--password", "whatever pw")
    assert dup.returncode != 0
    assert dup.stderr.strip()

    p = instance.run("user", "passwd", "alice", "--password-stdin", input="second pass\n")
    assert p.returncode == 0, p.stderr
    p = instance.run("user", "passwd", "bob@example.test", "--password", "bob second")
    assert p.returncode == 0, p.stderr
    missing = instance.run("user", "passwd", "nosuchuser", "--password", "x y z w")
    assert missing.returncode == 1
    assert "nosuchuser" in missing.stderr

    server = instance.start()
    api = server.api()
    auth = ok(api.post("/authenticate", json={"username": "alice", "password": "second pass"}))
    assert auth["id"] == alice
    err(api.post("/authenticate", json={"username": "alice", "password": "first pass"}), 403)
    ok(api.post("/authenticate", json={"username": "bob", "password": "bob second"}))
    data = ok(api.get(f"/users/{alice}"))
    assert data["address"] == "alice@example.org"
    assert data["limits"]["quota"]["allowed"] == 12345
    assert ok(api.get(f"/users/{bob}"))["address"] == "bob@example.test"
    assert len([m for m in ok(api.get(f"/users/{alice}/mailboxes"))["results"]]) == 6


def test_passwd_requires_a_password(instances):
    instance = instances.new()
    p = instance.run("user", "passwd", "alice")
    assert p.returncode == 2
    p = instance.run("user", "add", "carol", "--password", "a", "--password-stdin")
    assert p.returncode == 2


def test_config_errors_exit_2(instances):
    instance = instances.new()
    config = instance.dir / "bad.toml"
    config.write_text('[api]\nlisten = "127.0.0.1:18080"\nacessToken = "typo"\n')
    p = instance.run("--config", str(config), "serve")
    assert p.returncode == 2
    assert "acessToken" in p.stderr

    config.write_text('[imap]\nlisten = "not an address"\n')
    p = instance.run("--config", str(config), "migrate")
    assert p.returncode == 2
    assert "listen" in p.stderr

    p = instance.run("serve", env={"SEALPOST_SMTP_LISTEN": "127.0.0.1:notaport"})
    assert p.returncode == 2
    assert "SEALPOST_SMTP_LISTEN" in p.stderr

    p = instance.run("serve", env={"SEALPOST_MAX_MESSAGE_SIZE": "huge"})
    assert p.returncode == 2
    assert "SEALPOST_MAX_MESSAGE_SIZE" in p.stderr

    p = instance.run("--config", str(instance.dir / "missing.toml"), "serve")
    assert p.returncode == 2


def test_config_file_and_environment_precedence(instances):
    instance = instances.new()
    file_port, env_port = free_port(), free_port()
    config = f'[api]\nlisten = "127.0.0.1:{file_port}"\n[users]\ndomain = "file.example"\ndefaultQuota = 777\n'

    server = instance.start(config=config, port=file_port)
    api = server.api()
    uid = ok(api.post("/users", json={"username": "fromfile", "password": "secret pass"}))["id"]
    data = ok(api.get(f"/users/{uid}"))
    # SEALPOST_DOMAIN (set for every test instance) wins over the file's domain
    assert data["address"] == "fromfile@example.test"
    assert data["limits"]["quota"]["allowed"] == 777
    server.stop()

    server = instance.start(config=config, port=env_port, env={"SEALPOST_API_LISTEN": f"127.0.0.1:{env_port}", "SEALPOST_DEFAULT_QUOTA": "888"})
    assert not port_open(file_port)
    api = server.api()
    uid = ok(api.post("/users", json={"username": "fromenv", "password": "secret pass"}))["id"]
    assert ok(api.get(f"/users/{uid}"))["limits"]["quota"]["allowed"] == 888


def test_sigterm_stops_cleanly(instances):
    instance = instances.new()
    server = instance.start()
    ok(server.api().get("/users"))
    assert server.stop() == 0
    assert "api listening on 127.0.0.1:" in server.log()
    # and it starts again on the same data
    ok(instance.start().api().get("/users"))
