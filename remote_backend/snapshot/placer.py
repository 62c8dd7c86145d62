"""Record texts, reverse names and zones for many addresses, the work shared per network."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from validators.address import OCTETS
from validators.zones import ZoneIndex

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
        "_classless",
        "_index",
        "_parents",
        "_v4_rev",
        "_v4_zone_per_24",
        "_v6_rev",
        "_v6_upper",
        "_v6_zone_per_64",
        "_zones",
    )

    def __init__(
        self,
        index: ZoneIndex,
        zones: Iterable[str],
        classless: Mapping[int, list[tuple[int, int, str]]] | None = None,
    ) -> None:
        self._index = index
        self._zones = frozenset(zones)
        # /24 (value >> 8) -> served RFC 2317 blocks in it: (first, last, child zone)
        self._classless = classless or {}
        # a reverse zone below a /24 (/64) can hold a name its network's zone does not
        self._v4_zone_per_24 = not any(
            z.endswith(".in-addr.arpa") and z.count(".") > 4 for z in self._zones
        )
        self._v6_zone_per_64 = not any(
            z.endswith(".ip6.arpa") and z.count(".") > 17 for z in self._zones
        )
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
        """(reverse name, its zone) of an IPv4 address value; in a served classless
        block, the name in its child zone (RFC 2317)."""
        if self._classless:
            for first, last, child in self._classless.get(value >> 8, ()):
                if first <= value <= last:
                    owner = f"{OCTETS[value & 255]}.{child}"
                    self._add_parent(child, owner, child)
                    return owner, child
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
