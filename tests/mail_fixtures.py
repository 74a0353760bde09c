"""Fakes of the outside world for the outbound tests: an SMTP sink (aiosmtpd) acting as relay
or as a domain's MX, and a DNS server (dnslib) answering from a zone the test fills. Both run
in the test process on free loopback ports."""

from __future__ import annotations

import socket
import threading
import time

from aiosmtpd.controller import Controller
from dnslib import AAAA, MX, QTYPE, RCODE, RR, TXT, A, DNSRecord
from dnslib.server import BaseResolver, DNSLogger, DNSServer

from harness import free_port

WAIT = 60.0


class Sink:
    """An SMTP server keeping what it accepts: (mail_from, rcpts, bytes). Recipients whose
    local part starts with `reject` get 550, `later` 451 (always) and `once` 451 the first
    time only."""

    def __init__(self, port: int | None = None):
        self.port = port or free_port()
        self.messages: list[tuple[str, list[str], bytes]] = []
        self.lock = threading.Lock()
        self.seen_once: set[str] = set()
        self.attempts: dict[str, int] = {}
        self.controller: Controller | None = None

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        local = address.split("@", 1)[0].lower()
        with self.lock:
            self.attempts[address.lower()] = self.attempts.get(address.lower(), 0) + 1
        if local.startswith("reject"):
            return "550 5.1.1 No such user here"
        if local.startswith("later"):
            return "451 4.3.0 Try again later"
        if local.startswith("once"):
            with self.lock:
                first = address.lower() not in self.seen_once
                self.seen_once.add(address.lower())
            if first:
                return "451 4.7.1 Greylisted, try again"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.messages.append((envelope.mail_from, list(envelope.rcpt_tos),
                                  bytes(envelope.original_content or envelope.content)))
        return "250 2.0.0 Queued"

    def start(self) -> "Sink":
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self.controller.start()
        return self

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def to(self, rcpt: str) -> list[tuple[str, list[str], bytes]]:
        with self.lock:
            return [m for m in self.messages if rcpt.lower() in (r.lower() for r in m[1])]

    def wait_to(self, rcpt: str, count: int = 1, timeout: float = WAIT):
        deadline = time.monotonic() + timeout
        while True:
            found = self.to(rcpt)
            if len(found) >= count or time.monotonic() > deadline:
                return found
            time.sleep(0.05)


class Zone(BaseResolver):
    """Records by (lower-case name without the final dot, type): TXT, MX, A, AAAA."""

    def __init__(self):
        self.records: dict[tuple[str, str], list] = {}
        self.lock = threading.Lock()

    def add(self, name: str, rtype: str, value) -> None:
        with self.lock:
            self.records.setdefault((name.lower().rstrip("."), rtype), []).append(value)

    def resolve(self, request, handler):
        reply = request.reply()
        qname = str(request.q.qname).lower().rstrip(".")
        qtype = QTYPE[request.q.qtype]
        with self.lock:
            found = list(self.records.get((qname, qtype), []))
            known = any(n == qname for n, _ in self.records)
        for value in found:
            if qtype == "TXT":
                # Long values are split in 255-byte strings, as a zone file would.
                data = value.encode()
                reply.add_answer(RR(qname, QTYPE.TXT, rdata=TXT([data[i:i + 255] for i in range(0, len(data), 255)]), ttl=5))
            elif qtype == "MX":
                pref, host = value
                reply.add_answer(RR(qname, QTYPE.MX, rdata=MX(host, pref), ttl=5))
            elif qtype == "A":
                reply.add_answer(RR(qname, QTYPE.A, rdata=A(value), ttl=5))
            elif qtype == "AAAA":
                reply.add_answer(RR(qname, QTYPE.AAAA, rdata=AAAA(value), ttl=5))
        if not found and not known:
            reply.header.rcode = RCODE.NXDOMAIN
        return reply


class Dns:
    """A DNS server on a free loopback port (UDP and TCP) answering from `zone`."""

    def __init__(self):
        self.zone = Zone()
        self.port = free_udp_port()
        quiet = DNSLogger("-request,-reply,-truncated,-error,-recv,-send,-data", prefix=False)
        self.udp = DNSServer(self.zone, address="127.0.0.1", port=self.port, logger=quiet)
        self.tcp = DNSServer(self.zone, address="127.0.0.1", port=self.port, tcp=True, logger=quiet)

    def start(self) -> "Dns":
        self.udp.start_thread()
        self.tcp.start_thread()
        return self

    def stop(self) -> None:
        self.udp.stop()
        self.tcp.stop()

    def txt(self, name, timeout: float = 5) -> bytes | None:
        """The TXT record of `name` as dkimpy's `dnsfunc` wants it, asked over the wire."""
        if isinstance(name, bytes):
            name = name.decode()
        answer = DNSRecord.parse(DNSRecord.question(name.rstrip("."), "TXT").send("127.0.0.1", self.port, timeout=5))
        for rr in answer.rr:
            if rr.rtype == QTYPE.TXT:
                return b"".join(rr.rdata.data)
        return None


def free_udp_port() -> int:
    """A port free for both UDP and TCP."""
    for _ in range(50):
        port = free_port()
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            try:
                s.bind(("127.0.0.1", port))
                return port
            except OSError:
                continue
    raise RuntimeError("no free port")
