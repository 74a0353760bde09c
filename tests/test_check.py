"""`sealpost check` (issue 21): the configuration, data directory, database, blob store and TLS
files checked as `serve` would use them, exit 0 when all work and non-zero with a clear reason
otherwise; and a data directory of another user is named as "permission denied" with its owner,
not as SQLite's "unable to open database file"."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from harness import BIN, clean_env


def test_check_passes_on_a_working_installation(instances):
    instance = instances.new()
    result = instance.run("check")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "config: ok" in out and "data directory: ok" in out
    assert "database and blob store: ok" in out and "tls: ok" in out
    assert out.strip().endswith("sealpost check: everything works")
    # It made the installation the way serve would: a private data directory.
    assert os.stat(instance.data_dir).st_mode & 0o777 == 0o700


def test_check_fails_clearly(instances, tmp_path):
    instance = instances.new()
    bad_config = tmp_path / "bad.toml"
    bad_config.write_text("[imap]\nlisten = \"nowhere\"\n")
    result = instance.run("--config", str(bad_config), "check")
    assert result.returncode == 2
    assert str(bad_config) in result.stderr and '"nowhere" is not host:port' in result.stderr, result.stderr
    missing = tmp_path / "absent.pem"
    result = instance.run("check", env={"SEALPOST_TLS_CERT": str(missing), "SEALPOST_TLS_KEY": str(missing)})
    assert result.returncode != 0
    assert f"cannot read TLS certificate {missing}" in result.stderr, result.stderr


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("setpriv") is None,
                    reason="needs root and setpriv to run the CLI as another user")
def test_permission_denied_names_the_owner(instances, engine):
    if engine != "sqlite":
        pytest.skip("the data directory holds the database on SQLite")
    instance = instances.new()
    # A data directory made by root (0700) where another user can reach it (pytest's own
    # temporary directories are closed to other users).
    outer = Path(tempfile.mkdtemp(prefix="sealpost-perm-"))
    try:
        outer.chmod(0o755)
        data = outer / "data"
        made = subprocess.run([str(BIN), "--data-dir", str(data), "check"], capture_output=True, text=True,
                              timeout=120, env=clean_env(instance.env))
        assert made.returncode == 0, made.stderr
        as_nobody = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", str(BIN),
                     "--data-dir", str(data), "check"]
        result = subprocess.run(as_nobody, capture_output=True, text=True, timeout=120,
                                env=clean_env(instance.env), cwd="/")
    finally:
        shutil.rmtree(outer, ignore_errors=True)
    assert result.returncode == 1, result
    assert "permission denied" in result.stderr, result.stderr
    assert "belongs to uid 0" in result.stderr and "uid 65534" in result.stderr, result.stderr
    assert "unable to open database" not in result.stderr
