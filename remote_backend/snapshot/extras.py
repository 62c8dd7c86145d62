"""What a zone serves besides phpIPAM hosts and their PTRs.

- static records (``zones.static_dir``), with their own TTLs; NS at an apex join the
  zone's NS set;
- A/AAAA of name servers (``zones.nameserver_addresses``): in-zone name servers and
  glue below delegations resolve, so pdns can NOTIFY them and resolvers follow
  referrals;
- the parent side of RFC 2317 classless blocks: in the enclosing reverse zone, NS at the
  child label (pphook's own name servers for a block it serves, the named ones for a
  block in ``zones.classless_delegations``) and, for every address of the block, a
  CNAME ``<d>.<c>.<b>.<a>.in-addr.arpa`` -> ``<d>.<child zone>``;
- aliases (``policy.alias_field``): CNAMEs decided by the validators.

The facts the validators need about all this (``ZoneFacts``) come from here too, so
what the rules avoid and what the zones hold are one and the same.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from remote_backend.records import content_name
from remote_backend.snapshot.table import RR
from remote_backend.zones import ZoneSettings
from remote_backend.zones.naming import (
    classless_label,
    is_classless,
    reverse_name,
    reverse_zone_name,
)
from remote_backend.zones.static import StaticData
from validators.model import Alias, IPAddress, ZoneFacts
from validators.zones import ZoneIndex


@dataclass(slots=True)
class Extras:
    """Per zone, owner -> records to add; the TTL of RRsets not at ``zones.ttl``; the
    extra NS names of each apex."""

    records: dict[str, dict[str, list[RR]]] = field(default_factory=dict)
    ttls: dict[tuple[str, str], int] = field(default_factory=dict)
    apex_ns: dict[str, list[str]] = field(default_factory=dict)

    def add(self, zone: str, owner: str, rtype: str, content: str) -> None:
        rrs = self.records.setdefault(zone, {}).setdefault(owner, [])
        if (rtype, content) not in rrs:
            rrs.append((rtype, content))


def zone_extras(
    settings: ZoneSettings, static: StaticData | None, aliases: Iterable[Alias] = ()
) -> Extras:
    extras = Extras()
    index = ZoneIndex(settings.member_zone_names)  # never the catalog: config makes it
    for zone_name, static_zone in static.zones.items() if static is not None else ():
        for ns in static_zone.apex_ns:
            if ns not in settings.nameservers and ns not in extras.apex_ns.get(zone_name, []):
                extras.apex_ns.setdefault(zone_name, []).append(ns)
        for record in static_zone.records:
            extras.add(zone_name, record.owner, record.rtype, record.content)
            if record.ttl != settings.ttl:
                extras.ttls[(record.owner, record.rtype)] = record.ttl
    for name, addresses in settings.nameserver_addresses.items():
        zone = index.find(name)
        if zone is None:
            continue
        for address in addresses:
            extras.add(zone, name, "A" if address.version == 4 else "AAAA", str(address))
    for block, servers in _classless_parents(settings):
        _parent_side(extras, index, settings, block, servers)
    for alias in aliases:
        zone = index.find(alias.name)
        if zone is not None:
            extras.add(zone, alias.name, "CNAME", content_name(alias.target))
    return extras


def _classless_parents(
    settings: ZoneSettings,
) -> Iterable[tuple[ipaddress.IPv4Network, tuple[str, ...]]]:
    for network in settings.reverse:
        if isinstance(network, ipaddress.IPv4Network) and is_classless(network):
            yield network, settings.nameservers
    yield from settings.classless_delegations.items()


def _parent_side(
    extras: Extras,
    index: ZoneIndex,
    settings: ZoneSettings,
    block: ipaddress.IPv4Network,
    servers: tuple[str, ...],
) -> None:
    parent = reverse_zone_name(block.supernet(new_prefix=24))
    zone = index.find(parent)
    if zone is None:
        return  # pphook does not serve the enclosing zone: the parent side is not ours
    child = f"{classless_label(block, settings.classless_name)}.{parent}"
    for server in servers:
        extras.add(zone, child, "NS", content_name(server))
    for address in block:
        last = int(address) & 255
        extras.add(zone, f"{last}.{parent}", "CNAME", content_name(f"{last}.{child}"))


def classless_map(settings: ZoneSettings) -> dict[int, list[tuple[int, int, str]]]:
    """/24 (address value >> 8) -> the served classless blocks in it, as (first value,
    last value, child zone): where their PTRs go (``RecordPlacer``)."""
    blocks: dict[int, list[tuple[int, int, str]]] = {}
    for network in settings.reverse:
        if isinstance(network, ipaddress.IPv4Network) and is_classless(network):
            first, last = int(network.network_address), int(network.broadcast_address)
            blocks.setdefault(first >> 8, []).append(
                (first, last, reverse_zone_name(network, settings.classless_name))
            )
    return blocks


def zone_facts(settings: ZoneSettings, static: StaticData | None) -> ZoneFacts:
    """What the rules must know about the zones (``validators.model.ZoneFacts``)."""
    cuts: set[str] = set()
    cnames: set[str] = set()
    names: set[str] = set(settings.nameserver_addresses)
    for zone in static.zones.values() if static is not None else ():
        cuts.update(zone.cuts)
        cnames.update(zone.cname_owners)
        names.update(zone.owners)
    return ZoneFacts(
        apexes=frozenset(settings.member_zone_names),
        cuts=frozenset(cuts),
        cnames=frozenset(cnames),
        names=frozenset(names),
    )


def merge_extras(
    more: Mapping[str, dict[str, list[RR]]],
    cuts: dict[str, dict[str, tuple[RR, ...]]],
    extras: Extras,
) -> Iterable[tuple[str, str]]:
    """Put the extras into ``more`` (zone -> owner -> rrs), or into ``cuts`` for an
    owner that is the apex of another served zone (the parent side of a delegation to
    it, kept apart from that zone's own apex); yields (zone, owner) of every owner
    added, for the empty non-terminals above them."""
    for zone, owners in extras.records.items():
        target = more.get(zone)
        if target is None:
            continue
        for owner, rrs in owners.items():
            if owner != zone and owner in more:
                cuts.setdefault(zone, {})[owner] = tuple(sorted(set(rrs)))
            else:
                have = target.setdefault(owner, [])
                have.extend(rr for rr in rrs if rr not in have)
            yield zone, owner


class PtrOwners:
    """The owner name of an address's PTR, as ``compute_zone_contents`` places it: in
    a served classless block, the name in the block's child zone (RFC 2317)."""

    def __init__(self, settings: ZoneSettings) -> None:
        self._blocks = classless_map(settings)

    def owner(self, address: IPAddress) -> str:
        if address.version == 4 and self._blocks:
            value = int(address)
            for first, last, child in self._blocks.get(value >> 8, ()):
                if first <= value <= last:
                    return f"{value & 255}.{child}"
        return reverse_name(address)
