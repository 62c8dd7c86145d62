"""From the validators' publication to what each zone serves (before serials)."""

from __future__ import annotations

from typing import Any

from remote_backend.records import content_name
from remote_backend.snapshot.extras import classless_map, merge_extras, zone_extras
from remote_backend.snapshot.model import ZoneContent
from remote_backend.snapshot.placer import RecordPlacer
from remote_backend.snapshot.table import (
    REVERSE_SUFFIXES,
    RR,
    Content,
    RecordTable,
    ZoneRecords,
    content_text,
    implied_type,
)
from remote_backend.zones import ZoneSettings
from remote_backend.zones.catalog import catalog_records
from remote_backend.zones.static import StaticData
from validators.address import OCTETS, ipv4_text
from validators.model import Publication, record_columns
from validators.zones import ZoneIndex


def compute_zone_contents(
    publication: Publication, settings: ZoneSettings, static: StaticData | None = None
) -> list[ZoneContent]:
    """Place every published record in its longest matching zone; add apex NS records.

    Records whose name is in no served zone are dropped here (the validators already
    rejected forward names outside the zones; PTRs of IPs outside ``zones.reverse``
    are simply not served).

    One pass over the records and one over the PTRs, on the validators' columns:
    each record's text and zone cost a few dict accesses (work shared per parent
    name, /24 or /64 is cached), and it lands straight in the ``single`` dict of one
    ``RecordTable`` for all zones; the few owners with more than one record are
    gathered on the side.

    The catalog zone (``zones.catalog``) comes last and holds only what the config
    makes (``zones.catalog``): records are placed among the member zones alone, so no
    phpIPAM name, static record or alias can land in it.
    """
    zone_names = settings.member_zone_names
    index = ZoneIndex(zone_names)
    zones = frozenset(zone_names)
    extras = zone_extras(settings, static, publication.aliases)
    placer = RecordPlacer(index, zone_names, classless_map(settings))
    table = RecordTable()
    single = table.single
    owners: dict[str, list[str]] = {z: [z] for z in zone_names}  # apex first
    more: dict[str, dict[str, list[RR]]] = {z: {} for z in zone_names}  # owner -> extra rrs
    parents: dict[str, set[str]] = {z: set() for z in zone_names}
    ns_rrs = [("NS", content_name(ns)) for ns in settings.nameservers]
    for z in zone_names:
        more[z][z] = [*ns_rrs, *(("NS", content_name(ns)) for ns in extras.apex_ns.get(z, ()))]
    # a forward owner under in-addr.arpa/ip6.arpa would need its type spelled out
    plain_forward = {
        z: not (z.endswith(REVERSE_SUFFIXES) or z in ("arpa", "in-addr.arpa", "ip6.arpa"))
        for z in zone_names
    }

    # parent name -> (zone, its owner list, whether A/AAAA there is implied)
    by_parent: dict[str, tuple[str, list[str], bool] | None] = {}
    ipv6_text = placer.ipv6_text
    records = record_columns(publication.records)
    for fqdn, value, family in zip(records.fqdns, records.values, records.families, strict=True):
        content: Content = value if family == 4 else ipv6_text(value)
        if fqdn in zones:  # at an apex: next to the NS records
            more[fqdn].setdefault(fqdn, []).append(_rr(content))
            continue
        parent = fqdn.partition(".")[2]
        place = by_parent.get(parent, _MISSING)
        if place is _MISSING:
            zone = index.find(parent)
            place = by_parent[parent] = (
                None if zone is None else (zone, owners[zone], plain_forward[zone])
            )
            if zone is not None:
                parents[zone].add(parent)
        if place is None:
            continue
        zone, zone_owners, plain = place
        if plain and single.setdefault(fqdn, content) is content:
            zone_owners.append(fqdn)
            continue
        # a second record for this owner (dual stack, round robin), or a spelled-out type
        more[zone].setdefault(fqdn, []).append(_rr(content))

    ipv4_reverse = placer.ipv4_reverse
    ipv6_reverse = placer.ipv6_reverse
    # The usual IPv4 PTR, inline: its owner is new (one PTR per address, and no zone
    # apex or forward name can be an IPv4 reverse name when no zone is below a /24 and
    # no forward zone is under arpa), and its zone that of its /24.
    fast_v4 = placer.v4_zone_per_24 and all(plain_forward[z] for z in settings.forward)
    per_24: dict[int, tuple[str, list[str] | None]] = {}  # value >> 8 -> (suffix, owners)
    octets = OCTETS
    ptrs = record_columns(publication.ptrs)
    for fqdn, value, family in zip(ptrs.fqdns, ptrs.values, ptrs.families, strict=True):
        if family == 4 and fast_v4:
            entry = per_24.get(value >> 8)
            if entry is None:
                owner, zone = ipv4_reverse(value)
                entry = per_24[value >> 8] = (
                    owner[owner.index(".") :],
                    None if zone is None else owners[zone],
                )
            if entry[1] is not None:
                owner = octets[value & 255] + entry[0]
                single[owner] = content_name(fqdn)
                entry[1].append(owner)
            continue
        owner, zone = ipv4_reverse(value) if family == 4 else ipv6_reverse(value)
        if zone is None:
            continue
        name = content_name(fqdn)
        if owner not in zones and single.setdefault(owner, name) is name:
            owners[zone].append(owner)
            continue
        more[zone].setdefault(owner, []).append(("PTR", name))

    cuts: dict[str, dict[str, tuple[RR, ...]]] = {}
    for zone, owner in merge_extras(more, cuts, extras):
        if owner != zone:
            parents[zone].add(owner.partition(".")[2])

    contents = []
    for z in zone_names:
        zone_owners = owners[z]
        multi_owners = []
        for owner, rrs in more[z].items():
            first = single.pop(owner, None)
            if first is not None:
                rrs.append((implied_type(owner, first), content_text(first)))
            elif owner != z:
                zone_owners.append(owner)  # only ever went to the side
            table.put(owner, tuple(sorted(set(rrs))))
            if owner in table.multi:
                multi_owners.append(owner)
        zone_parents = parents[z]
        zone_parents.update(placer.reverse_parents(z))
        zone_cuts = cuts.get(z, {})
        zone_owners.extend(zone_cuts)
        records_of_zone = ZoneRecords(z, table, zone_owners, multi_owners, index, zone_cuts)
        ttls = {k: v for k, v in extras.ttls.items() if index.find(k[0]) == z}
        contents.append(ZoneContent(z, records_of_zone, frozenset(zone_parents), ttls))
    if settings.catalog is not None:
        contents.append(_catalog_content(settings.catalog, zone_names, table))
    return contents


def _catalog_content(catalog: str, members: tuple[str, ...], table: RecordTable) -> ZoneContent:
    """The catalog zone, in the table the member zones share (``assemble`` takes one
    table for every zone)."""
    records = catalog_records(catalog, members)
    for owner, rrs in records.items():
        table.put(owner, rrs)
    owners = list(records)  # the apex first
    multi = [o for o in owners if o in table.multi]
    parents = frozenset(o.partition(".")[2] for o in owners if o != catalog)
    return ZoneContent(
        catalog, ZoneRecords(catalog, table, owners, multi, ZoneIndex((catalog,))), parents
    )


_MISSING: Any = object()


def _rr(content: Content) -> RR:
    """An A (IPv4 as an int) or AAAA record."""
    if type(content) is int:
        return ("A", ipv4_text(content))
    return ("AAAA", content)  # type: ignore[return-value]
