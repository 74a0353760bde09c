"""SIGHUP (issue 21): reads the configuration again and applies the TLS certificate and the log
level without a restart. A new TLS connection gets the new certificate, sessions open before
(plain and TLS) keep working; a certificate that does not load leaves the old one in place."""

from __future__ import annotations

import imaplib
import signal
import ssl
import subprocess
import time

from helpers import PASSWORD, ok, unique


def make_pair(directory, name: str):
    """A self-signed certificate and key (openssl), named after `name`."""
    cert, key = directory / f"{name}.crt", directory / f"{name}.key"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                    "-nodes", "-days", "2", "-subj", f"/CN={name}", "-addext", "subjectAltName=DNS:localhost",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    return cert.read_bytes(), key.read_bytes()


def context() -> ssl.SSLContext:
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def presented(port: int) -> bytes:
    """The DER certificate a new IMAPS connection is shown."""
    client = imaplib.IMAP4_SSL("127.0.0.1", port, ssl_context=context(), timeout=30)
    try:
        return client.sock.getpeercert(binary_form=True)
    finally:
        client.logout()


def der(pem: bytes) -> bytes:
    return ssl.PEM_cert_to_DER_cert(pem.decode())


def wait_log(server, text: str, count: int = 1, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while server.log().count(text) < count:
        assert time.monotonic() < deadline, f"{text!r} not logged:\n{server.log()[-3000:]}"
        assert server.alive(), server.log()[-3000:]
        time.sleep(0.05)


def test_sighup_reloads_certificate_and_log_level(instances, tmp_path):
    instance = instances.new()
    first_cert, first_key = make_pair(tmp_path, "first")
    second_cert, second_key = make_pair(tmp_path, "second")
    cert, key = instance.dir / "tls.crt", instance.dir / "tls.key"
    cert.write_bytes(first_cert)
    key.write_bytes(first_key)
    config = f'[tls]\ncert = "{cert}"\nkey = "{key}"\n[log]\nlevel = "info"\n'
    # The level comes from the file alone (the harness sets SEALPOST_LOG otherwise).
    server = instance.start(env={"SEALPOST_LOG": None}, config=config)
    config_path = next(instance.dir.glob("config-*.toml"))
    api = server.api()
    name = unique("hup")
    ok(api.post("/users", json={"username": name, "password": PASSWORD}))
    assert presented(server.imaps_port) == der(first_cert)

    # Sessions open across the reload: one plain, one over TLS with the first certificate.
    plain = imaplib.IMAP4("127.0.0.1", server.imap_port, timeout=30)
    plain.login(name, PASSWORD)
    secure = imaplib.IMAP4_SSL("127.0.0.1", server.imaps_port, ssl_context=context(), timeout=30)
    secure.login(name, PASSWORD)
    assert " DEBUG " not in server.log()

    key.write_bytes(second_key)
    cert.write_bytes(second_cert)
    config_path.write_text(config_path.read_text().replace('level = "info"', 'level = "debug"'))
    server.proc.send_signal(signal.SIGHUP)
    wait_log(server, "SIGHUP: TLS certificate reloaded")
    assert "SIGHUP: log level set" in server.log()

    assert presented(server.imaps_port) == der(second_cert)
    assert plain.noop()[0] == "OK"
    assert plain.select("INBOX")[0] == "OK"
    assert secure.noop()[0] == "OK"
    assert secure.sock.getpeercert(binary_form=True) == der(first_cert)
    ok(api.get("/users"))
    wait_log(server, " DEBUG ")  # the new level applies
    plain.logout()
    secure.logout()

    # A broken certificate: refused, the one in use stays, the server lives on.
    cert.write_bytes(b"-----BEGIN CERTIFICATE-----\nbroken\n-----END CERTIFICATE-----\n")
    server.proc.send_signal(signal.SIGHUP)
    wait_log(server, "SIGHUP: TLS certificate not reloaded")
    assert presented(server.imaps_port) == der(second_cert)
    # A configuration that does not parse: nothing changes either.
    config_path.write_text("[log\n")
    server.proc.send_signal(signal.SIGHUP)
    wait_log(server, "SIGHUP: configuration not reloaded")
    assert server.alive()
    assert presented(server.imaps_port) == der(second_cert)
    assert server.stop() == 0
