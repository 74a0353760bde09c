"""Access control: with `api.accessToken` set every request must carry it (`accessToken` query
argument or `X-Access-Token` header), else 403. Without a token the API stays on loopback unless
`[api] allowInsecure = true`."""

import subprocess

import pytest

from harness import Instances, clean_env, free_port, port_open
from helpers import err, inbox, make_message, ok, upload_ok

TOKEN = "s3cret-token-for-tests"


@pytest.fixture(scope="module")
def token_server(tmp_path_factory, engine):
    made = Instances(tmp_path_factory, engine)
    server = made.start(env={"SEALPOST_ACCESS_TOKEN": TOKEN})
    yield server
    made.cleanup()


def test_missing_token_is_403(token_server):
    anonymous = token_server.api()
    err(anonymous.get("/users"), 403)
    err(anonymous.post("/users", json={"username": "sneaky", "password": "secret pass"}), 403)
    err(anonymous.post("/authenticate", json={"username": "sneaky", "password": "secret pass"}), 403)
    err(anonymous.get("/openapi.json"), 403)
    # nothing was created
    listed = ok(token_server.api(TOKEN).get("/users", params={"query": "sneaky"}))
    assert listed["results"] == []


@pytest.mark.parametrize("token_in", ["header", "query"])
def test_wrong_token_is_403(token_server, token_in):
    for wrong in ("wrong", TOKEN + "x", TOKEN[:-1], TOKEN.upper()):
        err(token_server.api(wrong, token_in=token_in).get("/users"), 403)


@pytest.mark.parametrize("token_in", ["header", "query"])
def test_token_accepted(token_server, token_in):
    api = token_server.api(TOKEN, token_in=token_in)
    ok(api.get("/users"))
    uid = ok(api.post("/users", json={"username": f"tok{token_in}", "password": "secret pass"}))["id"]
    ok(api.get(f"/users/{uid}"))
    ok(api.post("/authenticate", json={"username": f"tok{token_in}", "password": "secret pass"}))
    mid = inbox(api, uid)
    upload_ok(api, uid, mid, make_message())
    r = api.get("/openapi.json")
    assert r.status_code == 200


def test_query_form_from_the_spec(token_server):
    r = token_server.api().get("/users", params={"query": "testuser01", "accessToken": TOKEN})
    ok(r)


def run_serve(instance, env, config=None, timeout=60):
    """Runs `sealpost serve` expecting it to exit by itself; returns (exit code, output)."""
    cmd = instance.command("serve")
    if config is not None:
        path = instance.dir / "exposure.toml"
        path.write_text(config)
        cmd = [cmd[0], "--config", str(path), *cmd[1:]]
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=clean_env({**instance.env, **env}))
    except subprocess.TimeoutExpired:
        pytest.fail("sealpost serve kept running on a non-loopback address without an access token")
    return p.returncode, p.stdout + p.stderr


def test_non_loopback_without_token_is_refused(instances):
    instance = instances.new()
    port = free_port()
    code, output = run_serve(instance, {"SEALPOST_API_LISTEN": f"0.0.0.0:{port}"})
    assert code == 2, output
    assert "accessToken" in output or "access token" in output.lower(), output
    assert not port_open(port)


def test_non_loopback_with_token_or_allow_insecure_starts(instances):
    instance = instances.new()
    server = instance.start(env={"SEALPOST_ACCESS_TOKEN": TOKEN}, listen_host="0.0.0.0")
    ok(server.api(TOKEN).get("/users"))
    err(server.api().get("/users"), 403)
    server.stop()

    server = instance.start(config="[api]\nallowInsecure = true\n", listen_host="0.0.0.0")
    ok(server.api().get("/users"))
