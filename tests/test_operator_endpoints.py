"""Endpoints for load balancers and mail clients (issue 21): `/health` and `/ready` without
the access token, and client autoconfiguration (Thunderbird autoconfig, Outlook autodiscover,
an Apple profile) pointing at the public host name and the listeners' real ports."""

import plistlib
import shutil
import xml.etree.ElementTree as ET

import pytest
import requests

from harness import Instances
from wildduck_schema import check

HOST = "mail.example.test"
TOKEN = "operator-endpoint-token"


@pytest.fixture(scope="module")
def made(tmp_path_factory, engine):
    instances = Instances(tmp_path_factory, engine)
    yield instances
    instances.cleanup()


@pytest.fixture(scope="module")
def server(made):
    # With an access token: none of these routes may need it.
    return made.start(env={"SEALPOST_PUBLIC_HOSTNAME": HOST, "SEALPOST_ACCESS_TOKEN": TOKEN})


def get(server, path, **kw):
    return requests.get(server.base_url + path, timeout=30, **kw)


def test_health_and_ready_without_token(server):
    check("get", "/health", get(server, "/health"), 200)
    r = get(server, "/ready")
    assert r.status_code == 200 and r.json() == {"status": "ready"}, r.text
    # The admin API itself still needs the token.
    assert get(server, "/users").status_code == 403


def servers_of(root, tag):
    return [
        {child.tag: child.text for child in node}
        | {"type": node.get("type")}
        for node in root.iter(tag)
    ]


@pytest.mark.parametrize("path", ["/.well-known/autoconfig/mail/config-v1.1.xml", "/mail/config-v1.1.xml"])
def test_thunderbird_autoconfig(server, path):
    r = get(server, path, params={"emailaddress": "alice@example.org"})
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"].startswith("application/xml")
    root = ET.fromstring(r.content)
    assert root.tag == "clientConfig" and root.get("version") == "1.1"
    provider = root.find("emailProvider")
    assert provider.get("id") == "example.org"
    incoming = servers_of(root, "incomingServer")
    outgoing = servers_of(root, "outgoingServer")
    got_in = {(s["type"], int(s["port"]), s["socketType"]) for s in incoming}
    got_out = {(int(s["port"]), s["socketType"]) for s in outgoing}
    assert got_in == {
        ("imap", server.imaps_port, "SSL"),
        ("imap", server.imap_port, "STARTTLS"),
        ("pop3", server.pop3s_port, "SSL"),
    }, incoming
    assert got_out == {(server.submissions_port, "SSL"), (server.submission_port, "STARTTLS")}, outgoing
    for s in incoming + outgoing:
        assert s["hostname"] == HOST
        assert s["username"] == "%EMAILADDRESS%"
        assert s["authentication"] == "password-cleartext"


def test_autoconfig_ignores_a_bad_address(server):
    r = get(server, "/mail/config-v1.1.xml", params={"emailaddress": "<script>@x"})
    assert r.status_code == 200
    root = ET.fromstring(r.content)
    assert root.find("emailProvider").get("id") == "example.test"  # the server's own domain
    assert b"<script>" not in r.content


NS = {
    "a": "http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006",
    "o": "http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a",
}

REQUEST = """<?xml version="1.0" encoding="utf-8"?>
<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006">
  <Request>
    <EMailAddress>bob@example.org</EMailAddress>
    <AcceptableResponseSchema>http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a</AcceptableResponseSchema>
  </Request>
</Autodiscover>"""


@pytest.mark.parametrize("path", ["/autodiscover/autodiscover.xml", "/Autodiscover/Autodiscover.xml"])
def test_outlook_autodiscover(server, path):
    r = requests.post(server.base_url + path, data=REQUEST, headers={"Content-Type": "text/xml"}, timeout=30)
    assert r.status_code == 200, r.text
    root = ET.fromstring(r.content)
    protocols = {
        p.find("o:Type", NS).text: p for p in root.findall("o:Response/o:Account/o:Protocol", NS)
    }
    assert set(protocols) == {"IMAP", "SMTP"}, r.text
    imap, smtp = protocols["IMAP"], protocols["SMTP"]
    assert imap.find("o:Server", NS).text == HOST
    assert int(imap.find("o:Port", NS).text) == server.imaps_port
    assert int(smtp.find("o:Port", NS).text) == server.submissions_port
    assert imap.find("o:SSL", NS).text == "on"
    assert imap.find("o:LoginName", NS).text == "bob@example.org"
    # Too large a request is refused, not read whole.
    big = requests.post(server.base_url + path, data=b"x" * 100_000, timeout=30)
    assert big.status_code == 413


def test_apple_profile(server):
    r = get(server, "/mail/profile.mobileconfig", params={"emailaddress": "carol@example.org"})
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"] == "application/x-apple-aspen-config"
    profile = plistlib.loads(r.content)
    mail = profile["PayloadContent"][0]
    assert mail["EmailAddress"] == "carol@example.org"
    assert mail["IncomingMailServerHostName"] == HOST
    assert mail["IncomingMailServerPortNumber"] == server.imaps_port
    assert mail["OutgoingMailServerPortNumber"] == server.submissions_port
    assert "IncomingPassword" not in mail  # the device asks
    assert get(server, "/mail/profile.mobileconfig").status_code == 400


def test_ready_fails_when_the_store_is_gone(made, engine):
    instance = made.new()
    server = instance.start()
    assert get(server, "/ready").status_code == 200
    if engine == "postgres":
        instance.db.drop()  # WITH (FORCE): the server's connections are cut
    else:
        shutil.rmtree(instance.data_dir / "blobs")
    r = get(server, "/ready")
    assert r.status_code == 503, r.text
    assert r.json()["status"] == "unavailable" and r.json()["error"], r.text
    h = get(server, "/health")
    assert h.status_code == 500 and h.json()["success"] is False and h.json()["message"], h.text
