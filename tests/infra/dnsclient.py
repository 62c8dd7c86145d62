"""dnspython helpers to question the test DNS servers on 127.0.0.1 (or ``host``)."""

from __future__ import annotations

import socket

import dns.exception
import dns.flags
import dns.message
import dns.query
import dns.rcode
import dns.rdatatype
import dns.zone

HOST = "127.0.0.1"


def query(
    server_port: int,
    name: str,
    rdtype: str | dns.rdatatype.RdataType,
    tcp: bool = False,
    *,
    timeout: float = 3.0,
    host: str = HOST,
    recursion: bool = False,
) -> dns.message.Message:
    """Send one question and return the whole response. No recursion wanted unless
    ``recursion`` (a resolver): authoritative servers only; makes REFUSED vs NXDOMAIN
    clear."""
    q = dns.message.make_query(name, rdtype)
    if not recursion:
        q.flags &= ~dns.flags.RD
    if tcp:
        return dns.query.tcp(q, host, port=server_port, timeout=timeout)
    return dns.query.udp(q, host, port=server_port, timeout=timeout)


def answers(
    server_port: int, name: str, rdtype: str, tcp: bool = False, *, host: str = HOST
) -> set[str]:
    """The answer RRset of ``name``/``rdtype`` as presentation strings (empty if none)."""
    resp = query(server_port, name, rdtype, tcp, host=host)
    out: set[str] = set()
    for rrset in resp.answer:
        if rrset.rdtype == dns.rdatatype.from_text(rdtype):
            out.update(rd.to_text() for rd in rrset)
    return out


def soa_serial(
    server_port: int, zone: str, *, timeout: float = 2.0, host: str = HOST
) -> int | None:
    """The SOA serial the server answers for ``zone``, or None (no answer, not authoritative)."""
    try:
        resp = query(server_port, zone, "SOA", timeout=timeout, host=host)
    except (dns.exception.Timeout, OSError):
        return None
    if resp.rcode() != dns.rcode.NOERROR:
        return None
    for rrset in resp.answer:
        if rrset.rdtype == dns.rdatatype.SOA:
            return int(rrset[0].serial)
    return None


def axfr(server_port: int, zone: str, *, timeout: float = 30.0, host: str = HOST) -> dns.zone.Zone:
    """Transfer ``zone`` over TCP; raises if the server refuses or the zone is broken."""
    return dns.zone.from_xfr(
        dns.query.xfr(host, zone, port=server_port, timeout=timeout, lifetime=timeout)
    )


def zone_record_set(zone: dns.zone.Zone) -> set[tuple[str, str, str]]:
    """(owner, type, rdata) of every record, absolute and lowercase: two zones with
    the same records compare equal whatever their order or relativisation."""
    assert zone.origin is not None
    return {
        (
            name.derelativize(zone.origin).to_text().lower(),
            dns.rdatatype.to_text(rds.rdtype),
            rd.to_text(origin=zone.origin, relativize=False).lower(),
        )
        for name, rds in zone.iterate_rdatasets()
        for rd in rds
    }


def port_open(server_port: int, host: str = HOST) -> bool:
    """TCP connect test: fails at once while nothing listens (UDP would just time out)."""
    try:
        with socket.create_connection((host, server_port), timeout=0.5):
            return True
    except OSError:
        return False


def is_answering(server_port: int, host: str = HOST) -> bool:
    """True once the server sends any DNS response at all (any rcode) over UDP."""
    if not port_open(server_port, host):
        return False
    try:
        query(server_port, ".", "SOA", timeout=1.0, host=host)
    except (dns.exception.Timeout, OSError):
        return False
    return True
