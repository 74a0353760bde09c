"""Runs the real `sealpost` binary for black-box tests.

An `Instance` is one installation: a data directory and, for PostgreSQL, a fresh database. It can
run CLI commands against that installation and start `sealpost serve` on a free loopback port.
Nothing here builds the binary: `SEALPOST_BIN` names it (default `target/debug/sealpost`).
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import time
import urllib.parse
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent


def _resolve_bin() -> Path:
    raw = os.environ.get("SEALPOST_BIN", "target/debug/sealpost")
    path = Path(raw)
    return path if path.is_absolute() else ROOT / path


BIN = _resolve_bin()
PG_URL = os.environ.get("SEALPOST_TEST_DATABASE_URL") or None
ENGINES = ["sqlite"] + (["postgres"] if PG_URL else [])

# Generous bounds that only guard against hanging forever; no test asserts a duration.
START_TIMEOUT = 90.0
STOP_TIMEOUT = 10.0
CLI_TIMEOUT = 120.0


def clean_env(extra: dict[str, str | None] | None = None) -> dict[str, str]:
    """The test process's environment without any SEALPOST_* variable, plus `extra` (a value
    of None leaves that variable unset)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEALPOST_")}
    env.setdefault("RUST_BACKTRACE", "1")
    env.update(extra or {})
    return {k: v for k, v in env.items() if v is not None}


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def free_ports(n: int) -> list[int]:
    """`n` distinct free ports: all held open together while they are chosen, so that the
    kernel cannot hand the same one out twice (one at a time, it sometimes does)."""
    held = []
    try:
        for _ in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            held.append(s)
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in held]
    finally:
        for s in held:
            s.close()


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


# ---- PostgreSQL databases ----


class PgDatabase:
    """A database created for one instance on the server of SEALPOST_TEST_DATABASE_URL."""

    def __init__(self, admin_url: str):
        self.admin_url = admin_url
        self.name = "sealpost_t_" + secrets.token_hex(6)
        parts = urllib.parse.urlsplit(admin_url)
        self.url = urllib.parse.urlunsplit(parts._replace(path="/" + self.name))
        self._sql(f'CREATE DATABASE "{self.name}"')

    def _sql(self, statement: str) -> None:
        if shutil.which("psql"):
            subprocess.run(
                ["psql", self.admin_url, "-v", "ON_ERROR_STOP=1", "-qAtc", statement],
                check=True,
                capture_output=True,
                timeout=CLI_TIMEOUT,
                env=clean_env(),
            )
            return
        import psycopg  # type: ignore[import-not-found]

        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(statement)

    def drop(self) -> None:
        self._sql(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


# ---- the server ----


class Server:
    """A running `sealpost serve`, stopped with SIGTERM (then SIGKILL after 10 s)."""

    def __init__(self, proc: subprocess.Popen, port: int, log_path: Path, log_file, imap_port: int | None = None,
                 imaps_port: int | None = None, pop3_port: int | None = None, pop3s_port: int | None = None):
        self.proc = proc
        self.port = port
        self.imap_port = imap_port
        self.imaps_port = imaps_port
        self.pop3_port = pop3_port
        self.pop3s_port = pop3s_port
        self.base_url = f"http://127.0.0.1:{port}"
        self.log_path = log_path
        self._log_file = log_file

    def api(self, token: str | None = None, token_in: str = "header") -> "Api":
        return Api(self.base_url, token=token, token_in=token_in)

    def alive(self) -> bool:
        return self.proc.poll() is None

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def stop(self) -> int:
        """SIGTERM, wait up to 10 s, then SIGKILL. Returns the exit status."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log_file.close()
        return self.proc.returncode

    def kill(self) -> None:
        """SIGKILL: no chance to flush or clean up."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self._log_file.close()


class Instance:
    """One installation of Sealpost: a data directory and (for PostgreSQL) its own database."""

    def __init__(self, base_dir: Path, engine: str, env: dict[str, str] | None = None):
        self.engine = engine
        self.dir = base_dir
        self.dir.mkdir(parents=True, exist_ok=True)
        self.data_dir = self.dir / "data"
        self.db: PgDatabase | None = None
        # DNS goes to a loopback port nothing answers on, unless a test starts a DNS server of
        # its own: no test ever asks a resolver off this machine.
        # The admin API's access token is off (`""`), as in a WildDuck deployment behind a
        # firewall, so that tests call it plainly; tests/test_access_token.py and
        # tests/test_safe_defaults.py start servers with a token and with the default
        # (`SEALPOST_ACCESS_TOKEN: None`: the generated <data-dir>/api-token).
        self.env: dict[str, str | None] = {"SEALPOST_DOMAIN": "example.test", "SEALPOST_LOG": "info",
                                           "SEALPOST_DNS_SERVERS": "127.0.0.1:9", "SEALPOST_DNS_TIMEOUT": "1",
                                           "SEALPOST_ACCESS_TOKEN": ""}
        if engine == "postgres":
            assert PG_URL, "postgres engine needs SEALPOST_TEST_DATABASE_URL"
            self.db = PgDatabase(PG_URL)
            self.env["SEALPOST_DATABASE_URL"] = self.db.url
        self.env.update(env or {})
        self.servers: list[Server] = []
        self._n = 0

    def command(self, *args: str) -> list[str]:
        return [str(BIN), "--data-dir", str(self.data_dir), *args]

    def run(
        self,
        *args: str,
        input: str | None = None,
        env: dict[str, str] | None = None,
        timeout: float = CLI_TIMEOUT,
    ) -> subprocess.CompletedProcess:
        """Runs a CLI command against this installation; never raises on a non-zero exit."""
        return subprocess.run(
            self.command(*args),
            input=input if input is not None else "",
            capture_output=True,
            text=True,
            timeout=timeout,
            env=clean_env({**self.env, **(env or {})}),
        )

    def start(
        self,
        env: dict[str, str] | None = None,
        config: str | None = None,
        listen_host: str = "127.0.0.1",
        port: int | None = None,
    ) -> Server:
        """Starts `sealpost serve` and waits until it accepts connections.

        By default the API listens on a free port set with SEALPOST_API_LISTEN. With `port`
        given, nothing is set: the caller's config or environment must choose that port.
        IMAP always gets a free loopback port (SEALPOST_IMAP_LISTEN, `Server.imap_port`) unless
        `env` sets SEALPOST_IMAP_LISTEN itself, so that servers never compete for 1143; the
        same for IMAPS (SEALPOST_IMAPS_LISTEN, `Server.imaps_port`), POP3
        (SEALPOST_POP3_LISTEN, `Server.pop3_port`) and POP3S (SEALPOST_POP3S_LISTEN,
        `Server.pop3s_port`).
        """
        last_log = ""
        fixed_port = port
        for _attempt in range(3):
            self._n += 1
            (api_port, imap_port, imaps_port, pop3_port, pop3s_port, lmtp_port, smtp_port,
             submission_port, submissions_port) = free_ports(9)
            port = fixed_port or api_port
            listen = {} if fixed_port else {"SEALPOST_API_LISTEN": f"{listen_host}:{port}"}
            listen["SEALPOST_IMAP_LISTEN"] = f"127.0.0.1:{imap_port}"
            listen["SEALPOST_IMAPS_LISTEN"] = f"127.0.0.1:{imaps_port}"
            listen["SEALPOST_POP3_LISTEN"] = f"127.0.0.1:{pop3_port}"
            listen["SEALPOST_POP3S_LISTEN"] = f"127.0.0.1:{pop3s_port}"
            listen["SEALPOST_LMTP_LISTEN"] = f"127.0.0.1:{lmtp_port}"
            listen["SEALPOST_SMTP_LISTEN"] = f"127.0.0.1:{smtp_port}"
            listen["SEALPOST_SUBMISSION_LISTEN"] = f"127.0.0.1:{submission_port}"
            listen["SEALPOST_SUBMISSIONS_LISTEN"] = f"127.0.0.1:{submissions_port}"
            full_env = {**self.env, **listen, **(env or {})}
            if full_env["SEALPOST_IMAP_LISTEN"] != listen["SEALPOST_IMAP_LISTEN"]:
                imap_port = None
            if full_env["SEALPOST_IMAPS_LISTEN"] != listen["SEALPOST_IMAPS_LISTEN"]:
                imaps_port = None
            if full_env["SEALPOST_POP3_LISTEN"] != listen["SEALPOST_POP3_LISTEN"]:
                pop3_port = None
            if full_env["SEALPOST_POP3S_LISTEN"] != listen["SEALPOST_POP3S_LISTEN"]:
                pop3s_port = None
            args = ["serve"]
            cmd = self.command(*args)
            if config is not None:
                config_path = self.dir / f"config-{self._n}.toml"
                config_path.write_text(config)
                cmd = [str(BIN), "--config", str(config_path), "--data-dir", str(self.data_dir), *args]
            log_path = self.dir / f"server-{self._n}.log"
            log_file = open(log_path, "wb")
            proc = subprocess.Popen(
                cmd,
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                env=clean_env(full_env),
            )
            server = Server(proc, port, log_path, log_file, imap_port, imaps_port,
                            pop3_port=pop3_port, pop3s_port=pop3s_port)
            # LMTP and inbound SMTP listeners (tests/test_lmtp.py, tests/test_smtp_in.py).
            server.lmtp_port = lmtp_port if full_env["SEALPOST_LMTP_LISTEN"] == listen["SEALPOST_LMTP_LISTEN"] else None
            server.smtp_port = smtp_port if full_env["SEALPOST_SMTP_LISTEN"] == listen["SEALPOST_SMTP_LISTEN"] else None
            # Submission listeners (tests/test_submission*.py).
            server.submission_port = (submission_port if full_env["SEALPOST_SUBMISSION_LISTEN"]
                                      == listen["SEALPOST_SUBMISSION_LISTEN"] else None)
            server.submissions_port = (submissions_port if full_env["SEALPOST_SUBMISSIONS_LISTEN"]
                                       == listen["SEALPOST_SUBMISSIONS_LISTEN"] else None)
            deadline = time.monotonic() + START_TIMEOUT
            while time.monotonic() < deadline:
                if proc.poll() is not None:
                    break
                if port_open(port):
                    self.servers.append(server)
                    return server
                time.sleep(0.05)
            server.kill()
            last_log = server.log()
            # A port taken meanwhile by another process (or, with a fixed API port, one of
            # ours equal to it): try again with other ports.
            clash = "in use" in last_log.lower() or "is also the" in last_log
            if not clash:
                break
        raise RuntimeError(f"sealpost serve did not start (binary {BIN}):\n{last_log[-4000:]}")

    def cleanup(self) -> None:
        for server in self.servers:
            server.stop()
        if self.db is not None:
            self.db.drop()
            self.db = None


# ---- the HTTP client ----


class Api:
    """A thin requests wrapper: get/post/put/delete(path, ...) return `requests.Response`."""

    def __init__(self, base_url: str, token: str | None = None, token_in: str = "header"):
        self.base_url = base_url
        self.session = requests.Session()
        self.token = token
        self.token_in = token_in

    def request(self, method: str, path: str, **kwargs) -> requests.Response:
        kwargs.setdefault("timeout", 120)
        if self.token is not None:
            if self.token_in == "header":
                headers = dict(kwargs.pop("headers", None) or {})
                headers.setdefault("X-Access-Token", self.token)
                kwargs["headers"] = headers
            else:
                params = dict(kwargs.pop("params", None) or {})
                params.setdefault("accessToken", self.token)
                kwargs["params"] = params
        return self.session.request(method, self.base_url + path, **kwargs)

    def get(self, path: str, **kwargs) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, json=None, **kwargs) -> requests.Response:
        if json is not None:
            kwargs["json"] = json
        return self.request("POST", path, **kwargs)

    def put(self, path: str, json=None, **kwargs) -> requests.Response:
        if json is not None:
            kwargs["json"] = json
        return self.request("PUT", path, **kwargs)

    def delete(self, path: str, **kwargs) -> requests.Response:
        return self.request("DELETE", path, **kwargs)


class Instances:
    """Makes installations for one test (or module) and cleans all of them up afterwards."""

    def __init__(self, tmp_path_factory, engine: str):
        self._tmp = tmp_path_factory
        self.engine = engine
        self._made: list[Instance] = []

    def new(self, env: dict[str, str] | None = None) -> Instance:
        instance = Instance(self._tmp.mktemp(f"sealpost-{self.engine}"), self.engine, env)
        self._made.append(instance)
        return instance

    def start(self, env: dict[str, str] | None = None, config: str | None = None) -> Server:
        """A fresh installation with a server running on it."""
        return self.new(env).start(config=config)

    def cleanup(self) -> None:
        errors = []
        for instance in self._made:
            try:
                instance.cleanup()
            except Exception as e:  # keep cleaning the others
                errors.append(e)
        if errors:
            raise errors[0]
