"""Fixtures for the black-box tests: a real `sealpost serve` per storage engine.

Engines: "sqlite" always; "postgres" when SEALPOST_TEST_DATABASE_URL is set (each server
instance then gets a database of its own, created here and dropped at teardown).

- `server`: one server per test module and engine, shared by that module's tests (each test
  makes its own users, so tests do not see each other's data).
- `api`: an HTTP client for `server`.
- `connect`, `raw`: IMAP clients (imaplib, and `imap_client.Raw` for raw protocol).
- `instances`: a factory for installations of the test's own (custom environment, restarts,
  CLI runs); everything it made is stopped and dropped after the test.
"""

from __future__ import annotations

import imaplib

import pytest

from harness import BIN, ENGINES, Api, Instances
from helpers import User, create_user as _create_user
from imap_client import Raw

IMAP_TIMEOUT = 30


def pytest_report_header(config):
    return [f"sealpost binary: {BIN}", f"storage engines: {', '.join(ENGINES)}"]


@pytest.fixture(scope="session", autouse=True)
def _binary_exists():
    if not BIN.is_file():
        pytest.exit(f"sealpost binary not found at {BIN}: build it first (cargo build) or set SEALPOST_BIN", 2)


@pytest.fixture(scope="module", params=ENGINES)
def engine(request) -> str:
    return request.param


@pytest.fixture
def instances(tmp_path_factory, engine):
    made = Instances(tmp_path_factory, engine)
    yield made
    made.cleanup()


def module_server(tmp_path_factory, engine, env: dict[str, str] | None = None):
    """The body of a module's `server` fixture (`yield from`), with extra environment."""
    made = Instances(tmp_path_factory, engine)
    srv = made.start(env={"SEALPOST_DEFAULT_QUOTA": "5368709120", **(env or {})})
    yield srv
    alive = srv.alive()
    made.cleanup()
    assert alive, f"the server died during the tests:\n{srv.log()[-4000:]}"


@pytest.fixture(scope="module")
def server(tmp_path_factory, engine):
    yield from module_server(tmp_path_factory, engine)


CACHE_SIZES = {"cached": {}, "uncached": {"SEALPOST_IMAP_CACHE_SIZE": "0"},
               # A few messages' worth: mailboxes evicted, and found too big, all the time.
               "tiny-cache": {"SEALPOST_IMAP_CACHE_SIZE": "3000"}}


@pytest.fixture(scope="module", params=list(CACHE_SIZES))
def cache_server(request, tmp_path_factory, engine):
    """`server` with the IMAP message caches (the default), without, and nearly without."""
    yield from module_server(tmp_path_factory, engine, CACHE_SIZES[request.param])


@pytest.fixture
def api(server) -> Api:
    return server.api()


@pytest.fixture
def create_user(api):
    """`create_user(**fields)`: POST /users with a fresh username, returns a `User`."""

    def make(**fields) -> User:
        return _create_user(api, **fields)

    return make


@pytest.fixture
def user(create_user) -> User:
    return create_user()


# ---- IMAP clients (closed after the test) ----


@pytest.fixture
def connect(server):
    """`connect(user=None)`: an imaplib client, logged in when a user is given."""
    opened: list[imaplib.IMAP4] = []

    def make(user=None) -> imaplib.IMAP4:
        client = imaplib.IMAP4("127.0.0.1", server.imap_port, timeout=IMAP_TIMEOUT)
        opened.append(client)
        if user is not None:
            typ, _ = client.login(user.username, user.password)
            assert typ == "OK"
        return client

    yield make
    for client in opened:
        try:
            client.logout()
        except Exception:
            pass


@pytest.fixture
def raw(server):
    """`raw(user=None)`: a raw IMAP connection (`imap_client.Raw`), logged in when a user is
    given."""
    opened: list[Raw] = []

    def make(user=None) -> Raw:
        r = Raw(server.imap_port)
        opened.append(r)
        if user is not None:
            r.login(user)
        return r

    yield make
    for r in opened:
        r.close()
