"""Zone naming and membership: which served zone holds a name, reverse names of IPs.

Pure functions over lowercase names without a trailing dot (the form used everywhere
inside pphook; the protocol layer adds and strips dots at the edge).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass

from validators.model import IPAddress

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True, slots=True)
class SoaTimers:
    refresh: int = 10800
    retry: int = 3600
    expire: int = 1209600
    minimum: int = 3600  # negative-caching TTL (RFC 2308)


@dataclass(frozen=True, slots=True)
class ZoneSettings:
    """The ``[zones]`` section, checked and normalised."""

    forward: tuple[str, ...]
    reverse: tuple[IPNetwork, ...]
    nameservers: tuple[str, ...]
    hostmaster: str
    ttl: int = 3600
    default_domain: str | None = None
    soa: SoaTimers = SoaTimers()
    secondaries: tuple[str, ...] = ()
    serial_format: str = "unixtime"  # unixtime | date | counter (state.store.SerialFormat)

    @property
    def reverse_zone_names(self) -> tuple[str, ...]:
        return tuple(reverse_zone_name(n) for n in self.reverse)

    @property
    def all_zone_names(self) -> tuple[str, ...]:
        """Forward zones first, then reverse zones, in config order (this gives zone ids)."""
        return self.forward + self.reverse_zone_names


def reverse_zone_name(network: IPNetwork) -> str:
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


def is_at_or_below(name: str, zone: str) -> bool:
    """True when ``name`` equals ``zone`` or sits under it at a label boundary."""
    return name == zone or name.endswith("." + zone)


class ZoneIndex:
    """Finds the longest served zone that holds a name (label-boundary suffix match)."""

    __slots__ = ("_max_labels", "_zones")

    def __init__(self, zones: Iterable[str]) -> None:
        self._zones = frozenset(zones)
        self._max_labels = max((z.count(".") + 1 for z in self._zones), default=0)

    def __contains__(self, zone: str) -> bool:
        return zone in self._zones

    def find(self, name: str) -> str | None:
        """The longest zone equal to or above ``name``, or None."""
        zones = self._zones
        if name in zones:
            return name
        labels = name.split(".")
        # Try suffixes from the longest that could still be a zone, down to one label.
        start = max(1, len(labels) - self._max_labels)
        for i in range(start, len(labels)):
            suffix = ".".join(labels[i:])
            if suffix in zones:
                return suffix
        return None
