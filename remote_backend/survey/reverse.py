"""Reverse zones from phpIPAM's subnets (pure).

Zones are octet aligned for IPv4 (/8, /16, /24) and nibble aligned for IPv6, chosen
to cover every subnet without claiming much more than phpIPAM holds:

- IPv4: a subnet gets the zones of the next octet boundary at or below its prefix
  (a /22 is four /24 zones), or the boundary above when that would take more than
  ``MAX_PIECES`` zones (a /12 is one /8). More than ``MAX_PIECES`` zones under one
  /16 (or /16 zones under one /8) become that one zone.
- IPv6: the nibble boundary at or above the prefix (a /62 is a /60 zone); zones
  longer than /48 that share a /48 become that /48 (one zone per site, not one per
  /64); more than ``MAX_PIECES`` /48s under one /32 become the /32.
- Subnets smaller than /24: in private (not globally routed) space their /24; in
  public space, unless another zone covers them, a classless RFC 2317 block
  (``zones.reverse`` entry /25-/32): such a block is usually delegated by the
  provider who serves the /24.

A zone inside another one is dropped. Subnets wider than /8 (IPv4) or /16 (IPv6) are
containers, not something to serve whole: they are only counted.
"""

from __future__ import annotations

import bisect
import ipaddress
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from remote_backend.zones import IPNetwork
from validators.model import IPAddress

MAX_PIECES = 16
IPV4_WIDEST = 8
IPV6_WIDEST = 16
IPV6_SITE = 48
IPV6_ALLOCATION = 32


@dataclass(frozen=True, slots=True)
class ReverseZone:
    network: IPNetwork
    classless: bool = False  # an RFC 2317 block (IPv4 /25-/32)
    subnets: int = 0  # phpIPAM subnets inside it (or overlapping it)
    addresses: int = 0  # phpIPAM address rows whose IP is in it


@dataclass(frozen=True, slots=True)
class ReversePlan:
    zones: tuple[ReverseZone, ...]  # IPv4 then IPv6, by address
    too_wide: tuple[IPNetwork, ...]  # container subnets not served whole
    uncovered_addresses: int  # address rows in no proposed zone (folders, containers)


def plan_reverse(networks: Iterable[IPNetwork], addresses: Iterable[IPAddress]) -> ReversePlan:
    """Zones for these subnet networks; ``addresses`` (one per address row) are counted."""
    nets = sorted(set(networks), key=_order)
    too_wide = tuple(n for n in nets if n.prefixlen < _widest(n))
    usable = [n for n in nets if n.prefixlen >= _widest(n)]
    v4 = [n for n in usable if isinstance(n, ipaddress.IPv4Network)]
    v6 = [n for n in usable if isinstance(n, ipaddress.IPv6Network)]
    classless_candidates = [n for n in v4 if n.prefixlen > 24 and n.is_global]
    zones4 = _ipv4_zones([n for n in v4 if not (n.prefixlen > 24 and n.is_global)])
    blocks = _outermost([n for n in classless_candidates if not _covered(n, zones4)])
    zones6 = _ipv6_zones(v6)
    chosen: list[tuple[IPNetwork, bool]] = [(z, False) for z in zones4]
    chosen += [(b, True) for b in blocks]
    chosen.sort(key=lambda item: _order(item[0]))
    chosen += [(z, False) for z in zones6]
    counts = _Counter([z for z, _ in chosen])
    for net in usable:
        counts.add_subnet(net)
    uncovered = 0
    for address in addresses:
        if not counts.add_address(address):
            uncovered += 1
    zones = tuple(
        ReverseZone(z, classless, counts.subnets[i], counts.addresses[i])
        for i, (z, classless) in enumerate(chosen)
    )
    return ReversePlan(zones, too_wide, uncovered)


def _order(net: IPNetwork) -> tuple[int, int, int]:
    return (net.version, int(net.network_address), net.prefixlen)


def _widest(net: IPNetwork) -> int:
    return IPV4_WIDEST if net.version == 4 else IPV6_WIDEST


def _ipv4_zones(nets: Sequence[ipaddress.IPv4Network]) -> list[IPNetwork]:
    zones: set[IPNetwork] = set()
    for net in nets:
        if net.prefixlen >= 24:  # a /24, or a smaller subnet: its /24
            zones.add(net.supernet(new_prefix=24))
            continue
        finer = -(-net.prefixlen // 8) * 8  # the next octet boundary at or below
        if 2 ** (finer - net.prefixlen) <= MAX_PIECES:
            zones.update(net.subnets(new_prefix=finer))
        else:
            zones.add(net.supernet(new_prefix=net.prefixlen // 8 * 8))
    for level in (16, 8):  # many /24s under one /16, then many /16s under one /8
        zones = _consolidate(zones, level + 8, level, MAX_PIECES)
    return _outermost(zones)


def _ipv6_zones(nets: Sequence[ipaddress.IPv6Network]) -> list[IPNetwork]:
    zones: set[IPNetwork] = set()
    for net in nets:
        zones.add(net.supernet(new_prefix=net.prefixlen // 4 * 4))
    longer = {z for z in zones if z.prefixlen > IPV6_SITE}
    zones -= longer
    zones.update(z.supernet(new_prefix=IPV6_SITE) for z in longer if _shares_site(z, longer))
    zones.update(z for z in longer if not _shares_site(z, longer))
    zones = _consolidate(zones, IPV6_SITE, IPV6_ALLOCATION, MAX_PIECES)
    return _outermost(zones)


def _shares_site(zone: IPNetwork, zones: set[IPNetwork]) -> bool:
    site = zone.supernet(new_prefix=IPV6_SITE)
    return sum(1 for z in zones if _inside(z, site)) > 1


def _consolidate(zones: set[IPNetwork], prefix: int, parent: int, most: int) -> set[IPNetwork]:
    """Zones of ``prefix`` with more than ``most`` siblings under one ``parent`` become
    that parent."""
    groups: dict[IPNetwork, list[IPNetwork]] = {}
    for zone in zones:
        if zone.prefixlen == prefix:
            groups.setdefault(zone.supernet(new_prefix=parent), []).append(zone)
    result = set(zones)
    for up, members in groups.items():
        if len(members) > most:
            result.difference_update(members)
            result.add(up)
    return result


def _covered(net: IPNetwork, zones: Iterable[IPNetwork]) -> bool:
    return any(_inside(net, z) for z in zones)


def _inside(net: IPNetwork, zone: IPNetwork) -> bool:
    """``net`` lies within ``zone`` (the same family)."""
    return (
        net.version == zone.version
        and int(zone.network_address) <= int(net.network_address)
        and int(net.broadcast_address) <= int(zone.broadcast_address)
    )


def _outermost(nets: Iterable[IPNetwork]) -> list[IPNetwork]:
    """The networks not inside another one of them, by address."""
    ordered = sorted(set(nets), key=_order)
    kept: list[IPNetwork] = []
    for net in ordered:
        if kept and _inside(net, kept[-1]):
            continue
        kept.append(net)
    return kept


class _Counter:
    """Subnets and addresses per zone. The zones are disjoint, so each family's zones,
    sorted by first address, are searched by bisection."""

    def __init__(self, zones: Sequence[IPNetwork]) -> None:
        self.subnets = [0] * len(zones)
        self.addresses = [0] * len(zones)
        self._ranges: dict[int, list[tuple[int, int, int]]] = {4: [], 6: []}
        for i, z in enumerate(zones):
            self._ranges[z.version].append((int(z.network_address), int(z.broadcast_address), i))
        for ranges in self._ranges.values():
            ranges.sort()
        self._firsts = {v: [r[0] for r in ranges] for v, ranges in self._ranges.items()}

    def add_subnet(self, net: IPNetwork) -> None:
        """Count ``net`` in every zone it overlaps."""
        first, last = int(net.network_address), int(net.broadcast_address)
        ranges = self._ranges[net.version]
        at = max(0, bisect.bisect_right(self._firsts[net.version], first) - 1)
        while at < len(ranges) and ranges[at][0] <= last:
            if ranges[at][1] >= first:
                self.subnets[ranges[at][2]] += 1
            at += 1

    def add_address(self, address: IPAddress) -> bool:
        """Count ``address`` in its zone; False when no zone holds it."""
        value = int(address)
        ranges = self._ranges[address.version]
        at = bisect.bisect_right(self._firsts[address.version], value) - 1
        if at < 0 or ranges[at][1] < value:
            return False
        self.addresses[ranges[at][2]] += 1
        return True
