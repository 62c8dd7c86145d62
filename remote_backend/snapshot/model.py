"""The immutable snapshot every answer comes from, and its zones.

Built from the validators' ``Publication`` plus zone settings and serials. It is never
mutated after construction: a refresh builds a new one and swaps a single reference,
so a lookup, a ``list`` and the SOA that frames an AXFR all see one consistent state.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field

from remote_backend.protocol.encode import encode_value, ent_value, record_fragment
from remote_backend.protocol.view import ZoneInfo
from remote_backend.snapshot.table import RR, RecordTable
from validators.zones import ZoneIndex


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
    """What a zone serves, before a serial is attached to it.

    ``parents``: the parent name of every owner, when known (``assemble`` derives the
    empty non-terminals from them; None: it works them out from the owners).
    """

    name: str
    records: Mapping[str, tuple[RR, ...]]  # owner -> rrs, SOA excluded
    parents: frozenset[str] | None = None
    # (owner, type) -> TTL of the RRsets not at zones.ttl (static records)
    ttls: Mapping[tuple[str, str], int] | None = None


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
    # every owner of a zone, apex first; never modified (a list: the build's own)
    owners_by_zone: Mapping[str, Sequence[str]] = field(default_factory=dict)
    # (owner, type) -> TTL of the RRsets whose TTL is not ``ttl`` (static records)
    ttls: Mapping[tuple[str, str], int] = field(default_factory=dict)
    # the empty non-terminals of each zone
    ents_by_zone: Mapping[str, Sequence[str]] = field(default_factory=dict)
    # zone -> owner -> records, for owners that are the apex of another served zone
    # (the parent side of a delegation to it)
    zone_cuts: Mapping[str, Mapping[str, tuple[RR, ...]]] = field(default_factory=dict)

    def zone_of(self, name: str) -> Zone | None:
        """The served zone holding ``name`` (lowercase, no trailing dot), or None."""
        zone = self.index.find(name)
        return self.zone_by_name[zone] if zone is not None else None

    def rrs(self, name: str) -> tuple[RR, ...]:
        """The records at ``name`` (SOA excluded); empty for ENTs and unknown names."""
        return self.names.get(name, ())

    def ttl_for(self, owner: str, qtype: str) -> int:
        """The TTL of the ``qtype`` records at ``owner`` (one TTL per RRset)."""
        if self.ttls:
            return self.ttls.get((owner, qtype), self.ttl)
        return self.ttl

    # -- protocol.view.AnswerView ------------------------------------------------------

    def value(self, name: str, soa: bool = True) -> bytes | None:
        """The encoded lookup answer of ``name`` (``protocol/encode.py``); ``soa=False``:
        an apex without its SOA record (what the zone's fingerprint hashes)."""
        apex = self.zone_by_name.get(name)
        rrs = self.names.get(name)
        if rrs is None and apex is None:
            if name in self.ents:
                zone = self.zone_of(name)
                if zone is not None:
                    return ent_value(zone.id, self.ttl)
            return None
        zone = apex or self.zone_of(name)
        if zone is None:  # cannot happen for a snapshot built by assemble(); be safe anyway
            return None
        fragments = []
        if apex is not None and soa:
            fragments.append(record_fragment("SOA", apex.soa_content, self.ttl, apex.id))
        fragments.extend(
            record_fragment(t, c, self.ttl_for(name, t), zone.id) for t, c in rrs or ()
        )
        return encode_value(fragments)

    def zone_value(self, zone: ZoneInfo, name: str, soa: bool = True) -> bytes | None:
        """The value of ``name`` as zone ``zone`` holds it: the same as ``value`` but
        for the parent side of a delegation to another served zone."""
        cut = self.zone_cuts.get(zone.name, {}).get(name)
        if cut is not None:
            return encode_value(
                record_fragment(t, c, self.ttl_for(name, t), zone.id) for t, c in cut
            )
        return self.value(name, soa=soa)

    def list_values(self, zone: ZoneInfo) -> Iterator[tuple[str, bytes]]:
        """(owner, value) of every owner of ``zone``, in name order (as the shared
        snapshot keeps them, so both reply alike)."""
        for owner in sorted(self.owners_by_zone.get(zone.name, ())):
            value = self.zone_value(zone, owner)
            if value is not None:
                yield owner, value

    def stored_list(self, zone: ZoneInfo) -> bytes | None:
        return None  # in memory, nothing is built ahead: list replies come from list_raw

    def list_raw(self, zone: ZoneInfo) -> tuple[list[bytes], list[bytes]]:
        owners: list[bytes] = []
        values: list[bytes] = []
        for owner, value in self.list_values(zone):
            owners.append(owner.encode("ascii"))
            values.append(value)
        return owners, values

    def zone_records(self, zone: Zone, *, sort: bool = False) -> Iterator[tuple[str, str, str]]:
        """(owner, qtype, content) of every record of ``zone``, SOA first.

        ``sort=True`` orders owners canonically (labels compared from the right), for
        zone files people read; transfers do not need it.
        """
        yield zone.name, "SOA", zone.soa_content
        owners = self.owners_by_zone.get(zone.name, ())
        cuts = self.zone_cuts.get(zone.name, {})
        if sort:
            owners = tuple(sorted(owners, key=_canonical_key))
        names = self.names
        if isinstance(names, RecordTable) and not cuts:
            yield from names.records(owners)
            return
        for owner in owners:
            for qtype, content in cuts.get(owner) or names[owner]:
                yield owner, qtype, content

    @property
    def record_count(self) -> int:
        return sum(z.record_count for z in self.zones)


def _canonical_key(name: str) -> tuple[str, ...]:
    """DNSSEC canonical order approximation: compare labels from the right."""
    return tuple(reversed(name.split(".")))
