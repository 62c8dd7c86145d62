"""Addresses of secondaries (``zones.secondaries``): "IP", "IP:port" or "[IPv6]:port"."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from remote_backend.errors import SecondaryAddressError

DEFAULT_PORT = 53


# -- addresses -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Secondary:
    address: ipaddress.IPv4Address | ipaddress.IPv6Address
    port: int = DEFAULT_PORT

    @property
    def label(self) -> str:
        """How the secondary is named everywhere (check, metrics, mails, state store):
        the address, with the port only when it is not 53."""
        if self.port == DEFAULT_PORT:
            return str(self.address)
        if self.address.version == 6:
            return f"[{self.address}]:{self.port}"
        return f"{self.address}:{self.port}"


def parse_secondary(text: str) -> Secondary:
    """``"192.0.2.1"``, ``"192.0.2.1:5353"``, ``"2001:db8::1"`` or ``"[2001:db8::1]:5353"``."""
    value = text.strip()
    host, port_text = value, ""
    if value.startswith("["):
        host, sep, rest = value[1:].partition("]")
        if not sep or (rest and not rest.startswith(":")):
            raise SecondaryAddressError(
                f"{text!r}: write an IPv6 address with a port as [2001:db8::1]:5353"
            )
        port_text = rest[1:]
        if rest and not port_text:
            raise SecondaryAddressError(f"{text!r}: the port after ':' is missing")
    elif value.count(":") == 1:  # IPv4:port (a bare IPv6 address has several colons)
        host, _, port_text = value.partition(":")
        if not port_text:
            raise SecondaryAddressError(f"{text!r}: the port after ':' is missing")
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        raise SecondaryAddressError(
            f'{text!r} is not an IP address: give the secondary as "IP" or "IP:port" '
            "(not a host name: watching must not depend on DNS)"
        ) from None
    if value.startswith("[") and address.version != 6:
        raise SecondaryAddressError(f"{text!r}: brackets are for IPv6 addresses only")
    port = DEFAULT_PORT
    if port_text:
        if not port_text.isdigit() or not 0 < int(port_text) < 65536:
            raise SecondaryAddressError(f"{text!r}: the port must be a number from 1 to 65535")
        port = int(port_text)
    return Secondary(address, port)


def as_secondary(value: str | Secondary) -> Secondary:
    return value if isinstance(value, Secondary) else parse_secondary(value)
