"""Asking secondaries for the SOA serial of each zone, all queries of a round at once.

One round sends every SOA query at once (one UDP socket per secondary) and waits at
most ``timeout`` seconds in all, however many zones there are and however many
secondaries are down.
"""

from __future__ import annotations

import logging
import random
import selectors
import socket
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdatatype

from remote_backend.secondaries.address import Secondary, as_secondary

log = logging.getLogger("pphook.secondaries")

QUERY_TIMEOUT = 2.0  # seconds for a whole round


# -- SOA queries -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SoaAnswer:
    """What a secondary said about one zone: a serial, or why there is none."""

    serial: int | None
    error: str | None = None  # timeout, REFUSED, SERVFAIL, not authoritative, ...


_TIMED_OUT = SoaAnswer(None, "timeout")


def query_soa(
    secondaries: Iterable[str | Secondary], zones: Sequence[str], timeout: float = QUERY_TIMEOUT
) -> dict[str, dict[str, SoaAnswer]]:
    """Ask every secondary for the SOA of every zone (UDP, no recursion), all at once.

    Only an authoritative NOERROR answer holding the zone's SOA counts; anything else
    (timeout, port unreachable, REFUSED for a zone it does not serve, SERVFAIL for an
    expired zone, a non-authoritative answer) is a None serial with the reason.
    """
    exchanges = [_Exchange(as_secondary(s), zones) for s in secondaries]
    try:
        _run(exchanges, timeout)
    finally:
        for ex in exchanges:
            ex.close()
    result: dict[str, dict[str, SoaAnswer]] = {}
    for ex in exchanges:
        result[ex.target.label] = {z: ex.answers.get(z, _TIMED_OUT) for z in zones}
    return result


def query_serials(
    secondaries: Iterable[str | Secondary], zones: Sequence[str], timeout: float = QUERY_TIMEOUT
) -> dict[str, dict[str, int | None]]:
    """``query_soa`` without the reasons: secondary label -> zone -> serial or None."""
    answers = query_soa(secondaries, zones, timeout)
    return {
        label: {z: a.serial for z, a in per_zone.items()} for label, per_zone in answers.items()
    }


class _Exchange:
    """The queries of one round to one secondary, over one connected UDP socket
    (connected: only its replies arrive, and ICMP port unreachable is reported)."""

    def __init__(self, target: Secondary, zones: Sequence[str]) -> None:
        self.target = target
        self.answers: dict[str, SoaAnswer] = {}
        self.queries: dict[int, tuple[str, dns.message.Message]] = {}
        first = random.randrange(65536)  # sequential ids from a random start: unique per socket
        for i, zone in enumerate(zones[:65536]):
            query = dns.message.make_query(zone, dns.rdatatype.SOA)
            query.flags &= ~dns.flags.RD  # we want the secondary's own data, not a resolver's
            query.id = (first + i) & 0xFFFF
            self.queries[query.id] = (zone, query)
        self.sock: socket.socket | None = None
        family = socket.AF_INET6 if target.address.version == 6 else socket.AF_INET
        try:
            self.sock = socket.socket(family, socket.SOCK_DGRAM)
            self.sock.setblocking(False)
            self.sock.connect((str(target.address), target.port))
        except OSError as exc:
            self.fail(exc)

    @property
    def pending(self) -> list[tuple[str, dns.message.Message]]:
        return [(z, q) for z, q in self.queries.values() if z not in self.answers]

    def send_pending(self) -> None:
        if self.sock is None:
            return
        for _zone, query in self.pending:
            try:
                self.sock.send(query.to_wire())
            except BlockingIOError:
                return  # send buffer full: the retry sends the rest
            except OSError as exc:
                self.fail(exc)
                return

    def receive(self) -> None:
        while self.sock is not None:
            try:
                wire = self.sock.recv(65535)
            except BlockingIOError:
                return
            except OSError as exc:
                self.fail(exc)
                return
            self._handle(wire)

    def _handle(self, wire: bytes) -> None:
        try:
            response = dns.message.from_wire(wire)
        except dns.exception.DNSException:
            return  # garbage: the query may still get a real answer
        entry = self.queries.get(response.id)
        if entry is None or entry[0] in self.answers or not entry[1].is_response(response):
            return
        self.answers[entry[0]] = _soa_answer(entry[0], response)

    def fail(self, exc: OSError) -> None:
        """The secondary cannot be reached at all: every unanswered zone gets the reason."""
        if isinstance(exc, ConnectionRefusedError):
            reason = "port unreachable"
        else:
            reason = exc.strerror or type(exc).__name__
        for zone, _query in self.pending:
            self.answers[zone] = SoaAnswer(None, reason)

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None


def _soa_answer(zone: str, response: dns.message.Message) -> SoaAnswer:
    rcode = response.rcode()
    if rcode != dns.rcode.NOERROR:
        # REFUSED: the secondary does not serve the zone; SERVFAIL: expired or not loaded
        return SoaAnswer(None, dns.rcode.to_text(rcode))
    if not response.flags & dns.flags.AA:
        return SoaAnswer(None, "not authoritative")
    name = dns.name.from_text(zone)
    for rrset in response.answer:
        if rrset.rdtype == dns.rdatatype.SOA and rrset.name == name:
            return SoaAnswer(int(rrset[0].serial))
    return SoaAnswer(None, "no SOA in the answer")


def _run(exchanges: Sequence[_Exchange], timeout: float) -> None:
    with selectors.DefaultSelector() as selector:
        for ex in exchanges:
            ex.send_pending()
            if ex.sock is not None and ex.pending:
                selector.register(ex.sock, selectors.EVENT_READ, ex)
        start = time.monotonic()
        retry_at, deadline = start + timeout / 2, start + timeout
        retried = False
        while selector.get_map():
            now = time.monotonic()
            if now >= deadline:
                return
            if not retried and now >= retry_at:
                # UDP may lose a query or its reply: send what is unanswered once more
                for ex in exchanges:
                    ex.send_pending()
                retried = True
            for key, _events in selector.select((deadline if retried else retry_at) - now):
                ex = key.data
                ex.receive()
                if not ex.pending:
                    selector.unregister(key.fileobj)
