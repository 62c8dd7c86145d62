"""Reverse names: the zone of a network and the PTR owner of an address.

Pure functions over lowercase names without a trailing dot (the form used everywhere
inside pphook; the protocol layer adds and strips dots at the edge). Which zone holds
a name is decided in one place, ``validators.zones.ZoneIndex``.

IPv4 networks from /25 to /32 are classless blocks (RFC 2317): their zone is a child of
the /24's zone, named by a label such as ``64/26`` (``zones.classless_name``).
"""

from __future__ import annotations

import ipaddress

from validators.model import IPAddress

DEFAULT_CLASSLESS_NAME = "{first}/{prefix}"


def is_classless(network: ipaddress.IPv4Network | ipaddress.IPv6Network) -> bool:
    """An IPv4 block smaller than a /24 (RFC 2317)."""
    return network.version == 4 and network.prefixlen > 24


def classless_label(network: ipaddress.IPv4Network, template: str = DEFAULT_CLASSLESS_NAME) -> str:
    """The child label of a classless block: ``192.0.2.64/26`` -> ``64/26``."""
    first = int(network.network_address) & 255
    last = int(network.broadcast_address) & 255
    return template.format(first=first, prefix=network.prefixlen, last=last)


def reverse_zone_name(
    network: ipaddress.IPv4Network | ipaddress.IPv6Network,
    classless_name: str = DEFAULT_CLASSLESS_NAME,
) -> str:
    """``10.0.0.0/8`` -> ``10.in-addr.arpa``; ``2001:db8::/32`` -> ``8.b.d.0.1.0.0.2.ip6.arpa``;
    ``192.0.2.64/26`` -> ``64/26.2.0.192.in-addr.arpa``.

    The network must be octet (IPv4) or nibble (IPv6) aligned, or a classless IPv4 block;
    config checks that.
    """
    if network.version == 4:
        if is_classless(network):
            assert isinstance(network, ipaddress.IPv4Network)
            parent = reverse_zone_name(network.supernet(new_prefix=24))
            return f"{classless_label(network, classless_name)}.{parent}"
        octets = str(network.network_address).split(".")[: network.prefixlen // 8]
        return ".".join([*reversed(octets), "in-addr.arpa"])
    nibbles = f"{int(network.network_address):032x}"[: network.prefixlen // 4]
    return ".".join([*reversed(nibbles), "ip6.arpa"])


def reverse_name(address: IPAddress) -> str:
    """The owner name of the PTR of ``address`` (lowercase, no trailing dot), before
    any classless block moves it into a child zone (``zones.placement``)."""
    if address.version == 4:
        a, b, c, d = str(address).split(".")
        return f"{d}.{c}.{b}.{a}.in-addr.arpa"
    return ".".join(reversed(f"{int(address):032x}")) + ".ip6.arpa"
