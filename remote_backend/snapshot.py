"""The immutable snapshot every answer comes from.

Built from the validators' ``Publication`` plus zone settings and serials. It is never
mutated after construction: a refresh builds a new one and swaps a single reference,
so a lookup, a ``list`` and the SOA that frames an AXFR all see one consistent state.

Names are stored lowercase without the trailing dot. Each owner name maps to a tuple
of ``(qtype, content)`` pairs; the TTL is zone-wide (``zones.ttl``) and the SOA record
is kept per zone.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from remote_backend.zones import ZoneIndex, ZoneSettings, reverse_name
from validators.model import Publication

RR = tuple[str, str]  # (qtype, content)


@dataclass(frozen=True, slots=True)
class Zone:
    """One served zone: its id (stable, 1-based config order), apex and SOA."""

    id: int
    name: str
    serial: int
    soa_content: str  # the 7 SOA fields in presentation format
    fingerprint: str  # hash of the served content, SOA serial excluded
    record_count: int  # records served in the zone, SOA and NS included


@dataclass(frozen=True, slots=True)
class ZoneContent:
    """What a zone serves, before a serial is attached to it."""

    name: str
    records: Mapping[str, tuple[RR, ...]]  # owner -> rrs, SOA excluded
    fingerprint: str


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Everything pphook answers from. Lookups cost a dict access."""

    zones: tuple[Zone, ...]
    names: Mapping[str, tuple[RR, ...]]  # every owner name of every zone (no SOA)
    ents: frozenset[str]  # empty non-terminals
    ttl: int
    built_at: float = field(default_factory=time.time)
    generation: int = 0
    zone_by_name: Mapping[str, Zone] = field(default_factory=dict)
    zone_by_id: Mapping[int, Zone] = field(default_factory=dict)
    index: ZoneIndex = field(default_factory=lambda: ZoneIndex(()))
    owners_by_zone: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def zone_of(self, name: str) -> Zone | None:
        """The served zone holding ``name`` (lowercase, no trailing dot), or None."""
        zone = self.index.find(name)
        return self.zone_by_name[zone] if zone is not None else None

    def rrs(self, name: str) -> tuple[RR, ...]:
        """The records at ``name`` (SOA excluded); empty for ENTs and unknown names."""
        return self.names.get(name, ())

    def zone_records(self, zone: Zone, *, sort: bool = False) -> Iterator[tuple[str, str, str]]:
        """(owner, qtype, content) of every record of ``zone``, SOA first.

        ``sort=True`` orders owners canonically (labels compared from the right), for
        zone files people read; transfers do not need it.
        """
        yield zone.name, "SOA", zone.soa_content
        owners = self.owners_by_zone.get(zone.name, ())
        if sort:
            owners = tuple(sorted(owners, key=_canonical_key))
        names = self.names
        for owner in owners:
            for qtype, content in names[owner]:
                yield owner, qtype, content

    @property
    def record_count(self) -> int:
        return sum(z.record_count for z in self.zones)


def _canonical_key(name: str) -> tuple[str, ...]:
    """DNSSEC canonical order approximation: compare labels from the right."""
    return tuple(reversed(name.split(".")))


def _content_name(name: str) -> str:
    """A domain name inside record content, as pdns itself prints it: no trailing dot.

    pdns parses content names as absolute either way, but `pdnsutil check-zone` warns
    when the text it got differs from its own rendering ("Parsed and original record
    content are not equal").
    """
    return name


def compute_zone_contents(publication: Publication, settings: ZoneSettings) -> list[ZoneContent]:
    """Place every published record in its longest matching zone; add apex NS records.

    Records whose name is in no served zone are dropped here (the validators already
    rejected forward names outside the zones; PTRs of IPs outside ``zones.reverse``
    are simply not served).
    """
    zone_names = settings.all_zone_names
    index = ZoneIndex(zone_names)
    per_zone: dict[str, dict[str, list[RR]]] = {z: {} for z in zone_names}
    ns_rrs = [("NS", _content_name(ns)) for ns in settings.nameservers]
    for z in zone_names:
        per_zone[z][z] = list(ns_rrs)

    for rec in publication.records:
        zone = index.find(rec.fqdn)
        if zone is None:
            continue
        qtype = "A" if rec.address.version == 4 else "AAAA"
        per_zone[zone].setdefault(rec.fqdn, []).append((qtype, str(rec.address)))
    for ptr in publication.ptrs:
        owner = reverse_name(ptr.address)
        zone = index.find(owner)
        if zone is None:
            continue
        per_zone[zone].setdefault(owner, []).append(("PTR", _content_name(ptr.fqdn)))

    contents = []
    for z in zone_names:
        records = {owner: tuple(sorted(set(rrs))) for owner, rrs in per_zone[z].items()}
        contents.append(ZoneContent(z, records, _fingerprint(z, records, settings)))
    return contents


def _fingerprint(zone: str, records: Mapping[str, tuple[RR, ...]], settings: ZoneSettings) -> str:
    """Order-independent hash of what the zone serves, serial excluded.

    Summing per-record digests avoids sorting millions of strings; anything that
    changes an answer (records, TTL, SOA fields other than the serial) changes it.
    """
    total = 0
    count = 0
    for owner, rrs in records.items():
        for qtype, content in rrs:
            digest = hashlib.blake2b(f"{owner} {qtype} {content}".encode(), digest_size=8)
            total = (total + int.from_bytes(digest.digest(), "big")) % (1 << 64)
            count += 1
    soa = settings.soa
    header = (
        f"{zone}|{settings.ttl}|{settings.nameservers[0] if settings.nameservers else ''}|"
        f"{settings.hostmaster}|{soa.refresh}|{soa.retry}|{soa.expire}|{soa.minimum}"
    )
    return hashlib.sha256(f"{header}|{count}|{total:016x}".encode()).hexdigest()


def soa_content(settings: ZoneSettings, serial: int) -> str:
    mname = _content_name(settings.nameservers[0]) if settings.nameservers else "."
    rname = _content_name(settings.hostmaster)
    soa = settings.soa
    return f"{mname} {rname} {serial} {soa.refresh} {soa.retry} {soa.expire} {soa.minimum}"


def assemble(
    contents: list[ZoneContent],
    serials: Mapping[str, int],
    settings: ZoneSettings,
    generation: int = 0,
) -> Snapshot:
    """Join zone contents and their serials into one immutable Snapshot."""
    names: dict[str, tuple[RR, ...]] = {}
    ents: set[str] = set()
    zones = []
    owners_by_zone: dict[str, tuple[str, ...]] = {}
    for zone_id, content in enumerate(contents, start=1):
        owners_by_zone[content.name] = tuple(content.records)
        serial = serials[content.name]
        count = 1  # the SOA
        apex = content.name
        for owner, rrs in content.records.items():
            names[owner] = rrs
            count += len(rrs)
            # every ancestor strictly between owner and apex is an empty non-terminal
            # unless it owns records itself (removed below)
            name = owner
            while name != apex:
                name = name.partition(".")[2]
                if name == apex or name in ents:
                    break
                ents.add(name)
        zones.append(
            Zone(
                id=zone_id,
                name=apex,
                serial=serial,
                soa_content=soa_content(settings, serial),
                fingerprint=content.fingerprint,
                record_count=count,
            )
        )
    ents.difference_update(names)
    zone_tuple = tuple(zones)
    return Snapshot(
        zones=zone_tuple,
        names=names,
        ents=frozenset(ents),
        ttl=settings.ttl,
        generation=generation,
        zone_by_name={z.name: z for z in zone_tuple},
        zone_by_id={z.id: z for z in zone_tuple},
        index=ZoneIndex(z.name for z in zone_tuple),
        owners_by_zone=owners_by_zone,
    )


def changed_names(old: Snapshot, new: Snapshot) -> set[str]:
    """Owner names whose answer differs between two snapshots (apexes of re-serialed zones,
    names with other records, names that appeared, disappeared or became/stopped being ENTs).
    """
    changed: set[str] = set()
    old_names, new_names = old.names, new.names
    for name, rrs in new_names.items():
        if old_names.get(name) != rrs:
            changed.add(name)
    changed.update(name for name in old_names if name not in new_names)
    changed.update(old.ents.symmetric_difference(new.ents))
    old_serials = {z.name: z.serial for z in old.zones}
    changed.update(z.name for z in new.zones if old_serials.get(z.name) != z.serial)
    changed.update(name for name in old_serials if name not in new.zone_by_name)
    return changed
