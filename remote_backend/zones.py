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


OCTETS = tuple(str(i) for i in range(256))
_LOW64 = (1 << 64) - 1
_ZERO_RUNS = tuple(":" + "0:" * n for n in range(8, 1, -1))  # longest first


class RecordPlacer:
    """Record texts, reverse names and their zones for many addresses, with the work
    shared per network.

    Addresses of one /24 (IPv4) or /64 (IPv6) share the text before their last octet,
    the labels after their first reverse labels and, as long as no reverse zone is
    longer than that network, their reverse zone: each of those is worked out once
    per network instead of once per address. Results equal ``str(address)``,
    ``reverse_name(address)`` and ``ZoneIndex.find``; tests compare them. The parent
    names of the reverse names handed out are collected per zone
    (``reverse_parents``), for the empty non-terminals.
    """

    __slots__ = (
        "_index",
        "_parents",
        "_v4_prefix",
        "_v4_rev",
        "_v4_zone_per_24",
        "_v6_rev",
        "_v6_upper",
        "_v6_zone_per_64",
        "_zones",
    )

    def __init__(self, index: ZoneIndex, zones: Iterable[str]) -> None:
        self._index = index
        self._zones = frozenset(zones)
        # a reverse zone below a /24 (/64) can hold a name its network's zone does not
        self._v4_zone_per_24 = not any(
            z.endswith(".in-addr.arpa") and z.count(".") > 4 for z in self._zones
        )
        self._v6_zone_per_64 = not any(
            z.endswith(".ip6.arpa") and z.count(".") > 17 for z in self._zones
        )
        self._v4_prefix: dict[int, str] = {}  # value >> 8 -> "a.b.c."
        self._v4_rev: dict[int, tuple[str, str | None]] = {}  # -> (".c.b.a.in-addr.arpa", zone)
        self._v6_rev: dict[int, tuple[str, str | None]] = {}  # value >> 64 -> (suffix, zone)
        self._v6_upper: dict[int, str] = {}  # value >> 64 -> ":a:b:c:d"
        self._parents: dict[str, set[str]] = {}

    @property
    def v4_zone_per_24(self) -> bool:
        """True when all the IPv4 addresses of a /24 have their PTR in one zone."""
        return self._v4_zone_per_24

    def reverse_parents(self, zone: str) -> set[str]:
        """Parent names of the reverse names handed out so far that lie in ``zone``."""
        return self._parents.get(zone, set())

    def _add_parent(self, zone: str | None, owner: str, parent: str) -> None:
        if zone is not None and owner != zone:
            self._parents.setdefault(zone, set()).add(parent)

    def ipv4_text(self, value: int) -> str:
        """``str(IPv4Address(value))``."""
        prefix = self._v4_prefix.get(value >> 8)
        if prefix is None:
            net = value >> 8
            prefix = self._v4_prefix[net] = f"{net >> 16}.{(net >> 8) & 255}.{net & 255}."
        return prefix + OCTETS[value & 255]

    def ipv6_text(self, value: int) -> str:
        """``str(IPv6Address(value))``: hextets without leading zeros, the longest run
        of two or more zero hextets (the first of equals) written '::' (RFC 5952)."""
        upper = self._v6_upper.get(value >> 64)
        if upper is None:
            net = value >> 64
            upper = self._v6_upper[net] = (
                f":{net >> 48:x}:{(net >> 32) & 0xFFFF:x}:{(net >> 16) & 0xFFFF:x}:{net & 0xFFFF:x}"
            )
        low = value & _LOW64
        text = (
            f"{upper}:{low >> 48:x}:{(low >> 32) & 0xFFFF:x}:{(low >> 16) & 0xFFFF:x}"
            f":{low & 0xFFFF:x}:"
        )  # ':' at both ends, so every hextet is between two
        for run in _ZERO_RUNS:
            if run in text:
                text = text.replace(run, "::", 1)
                break
        # drop the two outer ':' unless they are half of a '::'
        return text[text[1] != ":" : len(text) - (text[-2] != ":")]

    def ipv4_reverse(self, value: int) -> tuple[str, str | None]:
        """(reverse name, its zone) of an IPv4 address value."""
        entry = self._v4_rev.get(value >> 8)
        if entry is None:
            net = value >> 8
            suffix = f".{net & 255}.{(net >> 8) & 255}.{net >> 16}.in-addr.arpa"
            zone = self._index.find(suffix[1:]) if self._v4_zone_per_24 else None
            entry = self._v4_rev[net] = (suffix, zone)
            if self._v4_zone_per_24:
                self._add_parent(zone, "", suffix[1:])
        owner = OCTETS[value & 255] + entry[0]
        if self._v4_zone_per_24:
            return owner, entry[1]
        zone = self._index.find(owner)
        self._add_parent(zone, owner, entry[0][1:])
        return owner, zone

    def ipv6_reverse(self, value: int) -> tuple[str, str | None]:
        """(reverse name, its zone) of an IPv6 address value."""
        entry = self._v6_rev.get(value >> 64)
        if entry is None:
            net = value >> 64
            suffix = "." + ".".join(f"{net:016x}"[::-1]) + ".ip6.arpa"
            zone = self._index.find(suffix[1:]) if self._v6_zone_per_64 else None
            entry = self._v6_rev[net] = (suffix, zone)
        owner = ".".join(f"{value & _LOW64:016x}"[::-1]) + entry[0]
        zone = entry[1] if self._v6_zone_per_64 else self._index.find(owner)
        self._add_parent(zone, owner, owner[2:])
        return owner, zone


_PREFIXES: dict[int, str] = {}  # value >> 8 -> "a.b.c." (bounded)


def ipv4_text(value: int) -> str:
    """``str(IPv4Address(value))`` for an int in range, the work per /24 cached."""
    prefix = _PREFIXES.get(value >> 8)
    if prefix is None:
        if len(_PREFIXES) >= 1 << 16:
            _PREFIXES.clear()
        net = value >> 8
        prefix = _PREFIXES[net] = f"{net >> 16}.{(net >> 8) & 255}.{net & 255}."
    return prefix + OCTETS[value & 255]


def ipv4_value(text: str) -> int | None:
    """The int of a dotted quad that ``ipv4_text`` gives back exactly, else None."""
    parts = text.split(".")
    if len(parts) != 4:
        return None
    value = 0
    for part in parts:
        if not (part.isdigit() and part.isascii() and len(part) <= 3):
            return None
        octet = int(part)
        if octet > 255 or str(octet) != part:
            return None
        value = value << 8 | octet
    return value


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
