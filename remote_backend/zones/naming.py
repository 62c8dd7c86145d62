"""Reverse names: the zone of a network and the PTR owner of an address.

Pure functions over lowercase names without a trailing dot (the form used everywhere
inside pphook; the protocol layer adds and strips dots at the edge). Which zone holds
a name is decided in one place, ``validators.zones.ZoneIndex``.
"""

from __future__ import annotations

import ipaddress

from validators.model import IPAddress


def reverse_zone_name(network: ipaddress.IPv4Network | ipaddress.IPv6Network) -> str:
    """``10.0.0.0/8`` -> ``10.in-addr.arpa``; ``2001:db8::/32`` -> ``8.b.d.0.1.0.0.2.ip6.arpa``.

    The network must be octet (IPv4) or nibble (IPv6) aligned; config checks that.
    """
    if network.version == 4:
        octets = str(network.network_address).split(".")[: network.prefixlen // 8]
        return ".".join([*reversed(octets), "in-addr.arpa"])
    nibbles = f"{int(network.network_address):032x}"[: network.prefixlen // 4]
    return ".".join([*reversed(nibbles), "ip6.arpa"])


def reverse_name(address: IPAddress) -> str:
    """The owner name of the PTR of ``address`` (lowercase, no trailing dot)."""
    if address.version == 4:
        a, b, c, d = str(address).split(".")
        return f"{d}.{c}.{b}.{a}.in-addr.arpa"
    return ".".join(reversed(f"{int(address):032x}")) + ".ip6.arpa"
