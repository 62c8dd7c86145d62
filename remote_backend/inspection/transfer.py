"""AXFR of a zone from the DNS server an operator runs today (`pphook compare`)."""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass

import dns.exception
import dns.name
import dns.query
import dns.rcode
import dns.xfr
import dns.zone

from remote_backend.errors import TransferError

DEFAULT_PORT = 53


@dataclass(frozen=True, slots=True)
class Server:
    host: str  # as given: an address or a name
    port: int = DEFAULT_PORT

    @property
    def label(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"


def parse_server(text: str) -> Server:
    """``HOST``, ``HOST:PORT``, ``IPv6`` or ``[IPv6]:PORT``; HOST an address or a name."""
    value = text.strip()
    host, port_text = value, ""
    if value.startswith("["):
        host, sep, rest = value[1:].partition("]")
        if not sep or (rest and not rest.startswith(":")):
            raise TransferError(f"--server {text!r}: write an IPv6 address with a port as [::1]:53")
        port_text = rest[1:]
    elif value.count(":") == 1:  # HOST:PORT (a bare IPv6 address has several colons)
        host, _, port_text = value.partition(":")
    if not host:
        raise TransferError(f"--server {text!r}: no host")
    port = DEFAULT_PORT
    if port_text or value.endswith(":"):
        if not port_text.isdigit() or not 0 < int(port_text) < 65536:
            raise TransferError(f"--server {text!r}: the port must be a number from 1 to 65535")
        port = int(port_text)
    return Server(host, port)


def _address(server: Server) -> str:
    try:
        return str(ipaddress.ip_address(server.host))
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(server.host, server.port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise TransferError(f"--server {server.host}: cannot resolve it ({exc})") from exc
    return str(infos[0][4][0])


def transfer_zone(server: Server, zone: str, timeout: float) -> dns.zone.Zone:
    """The whole zone by AXFR over TCP (names absolute); TransferError says why not."""
    where = _address(server)
    result = dns.zone.Zone(dns.name.from_text(zone), relativize=False)
    what = f"AXFR of {zone} from {server.label}"
    try:
        # connect within the timeout (dnspython would wait as long as the whole
        # transfer may take), then no limit on the transfer as long as each answer
        # message comes within the timeout: a big zone may take minutes
        socket.create_connection((where, server.port), timeout=timeout).close()
        dns.query.inbound_xfr(where, result, port=server.port, timeout=timeout)
    except dns.xfr.TransferError as exc:
        rcode = dns.rcode.to_text(exc.rcode)
        raise TransferError(
            f"{what} failed: {rcode}. The server must serve {zone} and allow transfers "
            "to this host (BIND: allow-transfer; PowerDNS: allow-axfr-ips)"
        ) from exc
    except (dns.exception.Timeout, TimeoutError) as exc:
        raise TransferError(f"{what}: no answer within {timeout:g} s") from exc
    except ConnectionRefusedError as exc:
        raise TransferError(
            f"{what}: connection refused on TCP port {server.port} (no DNS server there?)"
        ) from exc
    except EOFError as exc:
        raise TransferError(
            f"{what}: the server closed the connection without answering (does it allow "
            "transfers to this host?)"
        ) from exc
    except OSError as exc:
        raise TransferError(f"{what} failed: {exc or type(exc).__name__}") from exc
    except dns.exception.DNSException as exc:
        raise TransferError(f"{what} failed: {exc}") from exc
    if not _has_soa(result):
        raise TransferError(f"{what} gave no SOA: the server does not serve {zone}")
    return result


def _has_soa(zone: dns.zone.Zone) -> bool:
    try:
        zone.get_soa()
    except dns.zone.NoSOA:
        return False
    return True
