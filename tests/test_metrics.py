"""Prometheus `/metrics` on its own listener (issue 21): off unless `[metrics] listen` /
SEALPOST_METRICS_LISTEN is set; the text is read with the Prometheus client's own parser
(`prometheus_client.parser`), and the counters move after an LMTP delivery (stored and
refused), IMAP logins (good and bad) and API requests."""

from __future__ import annotations

import imaplib
import smtplib

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from harness import Instances, free_port
from helpers import PASSWORD, ok, unique


@pytest.fixture(scope="module")
def monitored(tmp_path_factory, engine):
    made = Instances(tmp_path_factory, engine)
    port = free_port()
    server = made.start(env={"SEALPOST_METRICS_LISTEN": f"127.0.0.1:{port}"})
    server.metrics_url = f"http://127.0.0.1:{port}/metrics"
    yield server
    made.cleanup()


def scrape(server) -> dict[tuple[str, frozenset], float]:
    """Every sample of `/metrics`, parsed by prometheus_client: (name, labels) -> value."""
    resp = requests.get(server.metrics_url, timeout=30)
    assert resp.status_code == 200, resp.text
    assert resp.headers["Content-Type"].startswith("text/plain; version=0.0.4"), resp.headers
    samples = {}
    for family in text_string_to_metric_families(resp.text):
        for s in family.samples:
            samples[(s.name, frozenset(s.labels.items()))] = s.value
    return samples


def value(samples, name: str, **labels) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def test_listening_line_and_families(monitored):
    assert "metrics listening on 127.0.0.1:" in monitored.log()
    ok(monitored.api().get("/users"))  # one API request: the families by status show after it
    resp = requests.get(monitored.metrics_url, timeout=30)
    families = {f.name: f.type for f in text_string_to_metric_families(resp.text)}
    for name, kind in [("sealpost_deliveries", "counter"), ("sealpost_logins", "counter"),
                       ("sealpost_connections", "counter"), ("sealpost_connections_open", "gauge"),
                       ("sealpost_api_requests", "counter"), ("sealpost_outbound_queue_messages", "gauge"),
                       ("sealpost_store_commit_seconds", "histogram"), ("process_resident_memory_bytes", "gauge"),
                       ("sealpost_uptime_seconds", "gauge"), ("process_start_time_seconds", "gauge")]:
        assert families.get(name) == kind, (name, families)
    samples = scrape(monitored)
    assert value(samples, "process_resident_memory_bytes") > 1 << 20
    assert value(samples, "sealpost_uptime_seconds") > 0
    assert ("sealpost_outbound_queue_messages", frozenset({("status", "queued")})) in samples
    # Anything else on that listener is not found; the admin API is not served there.
    assert requests.get(monitored.metrics_url.replace("/metrics", "/users"), timeout=30).status_code == 404


def test_lmtp_delivery_counts(monitored):
    api = monitored.api()
    name = unique("metr")
    ok(api.post("/users", json={"username": name, "password": PASSWORD}))
    before = scrape(monitored)
    with smtplib.LMTP("127.0.0.1", monitored.lmtp_port, timeout=30) as lmtp:
        lmtp.ehlo("client.example")
        refused = lmtp.sendmail("sender@example.org", [f"{name}@example.test", "nobody-here@example.test"],
                                b"Subject: counted\r\n\r\nhello\r\n")
        assert "nobody-here@example.test" in refused
    after = scrape(monitored)
    assert value(after, "sealpost_deliveries_total", channel="lmtp", outcome="stored") == \
        value(before, "sealpost_deliveries_total", channel="lmtp", outcome="stored") + 1
    assert value(after, "sealpost_delivery_refusals_total", stage="rcpt", reason="unknown_recipient") == \
        value(before, "sealpost_delivery_refusals_total", stage="rcpt", reason="unknown_recipient") + 1
    assert value(after, "sealpost_connections_total", protocol="lmtp") == \
        value(before, "sealpost_connections_total", protocol="lmtp") + 1
    # The message went through the group commit: one more observation of its latency.
    assert value(after, "sealpost_store_commit_seconds_count") > value(before, "sealpost_store_commit_seconds_count")


def test_imap_logins_and_connections(monitored):
    api = monitored.api()
    name = unique("metr")
    ok(api.post("/users", json={"username": name, "password": PASSWORD}))
    before = scrape(monitored)
    good = imaplib.IMAP4("127.0.0.1", monitored.imap_port, timeout=30)
    good.login(name, PASSWORD)
    during = scrape(monitored)
    assert value(during, "sealpost_connections_open", protocol="imap") == \
        value(before, "sealpost_connections_open", protocol="imap") + 1
    bad = imaplib.IMAP4("127.0.0.1", monitored.imap_port, timeout=30)
    with pytest.raises(imaplib.IMAP4.error):
        bad.login(name, "not the password")
    bad.logout()
    good.logout()
    after = scrape(monitored)
    assert value(after, "sealpost_logins_total", protocol="imap", outcome="success") == \
        value(before, "sealpost_logins_total", protocol="imap", outcome="success") + 1
    assert value(after, "sealpost_logins_total", protocol="imap", outcome="failure") == \
        value(before, "sealpost_logins_total", protocol="imap", outcome="failure") + 1
    assert value(after, "sealpost_connections_total", protocol="imap") == \
        value(before, "sealpost_connections_total", protocol="imap") + 2


def test_api_requests_by_class_and_status(monitored):
    api = monitored.api()
    before = scrape(monitored)
    ok(api.get("/users"))
    assert api.get("/users/0123456789abcdef01234567").status_code == 404
    assert api.get("/health").status_code == 200
    after = scrape(monitored)
    for labels, n in [({"api": "wildduck", "status": "200"}, 1), ({"api": "wildduck", "status": "404"}, 1),
                      ({"api": "public", "status": "200"}, 1)]:
        assert value(after, "sealpost_api_requests_total", **labels) == \
            value(before, "sealpost_api_requests_total", **labels) + n, labels
    # Scraping is not an API request.
    assert value(scrape(monitored), "sealpost_api_requests_total", api="wildduck", status="200") == \
        value(after, "sealpost_api_requests_total", api="wildduck", status="200")


def test_off_by_default(instances):
    server = instances.start()
    assert "metrics listening" not in server.log()
