"""Zone contents plus serials -> one immutable Snapshot."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

from remote_backend.records import content_name
from remote_backend.snapshot.model import Snapshot, Zone, ZoneContent
from remote_backend.snapshot.table import RR, RecordTable, ZoneRecords
from remote_backend.zones import ZoneSettings
from validators.zones import ZoneIndex


def soa_content(settings: ZoneSettings, serial: int) -> str:
    mname = content_name(settings.nameservers[0]) if settings.nameservers else "."
    rname = content_name(settings.hostmaster)
    soa = settings.soa
    return f"{mname} {rname} {serial} {soa.refresh} {soa.retry} {soa.expire} {soa.minimum}"


def assemble(
    contents: list[ZoneContent],
    serials: Mapping[str, int] | None,
    settings: ZoneSettings,
    generation: int = 0,
    fingerprints: Mapping[str, str] | None = None,
) -> Snapshot:
    """Join zone contents and their serials into one immutable Snapshot (serials None:
    a draft, serial 0, whose fingerprints are computed next: ``with_serials``)."""
    shared = {id(c.records.table) for c in contents if isinstance(c.records, ZoneRecords)}
    if len(shared) == 1 and all(isinstance(c.records, ZoneRecords) for c in contents):
        # compute_zone_contents' zones share one table: it is the snapshot's as it is
        names = contents[0].records.table  # type: ignore[attr-defined]
        single, multi = names.single, names.multi
    else:
        names = None
        single, multi = {}, {}
    ents: set[str] = set()
    ents_of_zone: dict[str, set[str]] = {}
    ttls: dict[tuple[str, str], int] = {}
    zone_cuts: dict[str, Mapping[str, tuple[RR, ...]]] = {}
    zones = []
    owners_by_zone: dict[str, Sequence[str]] = {}
    apexes = {c.name for c in contents}
    for zone_id, content in enumerate(contents, start=1):
        apex = content.name
        records = content.records
        if isinstance(records, ZoneRecords) and names is not None:
            owners_by_zone[apex] = records.owners  # shared, not copied: 2M names at 1M rows
            count = records.record_count
        else:
            # another served zone's apex here is the parent side of a delegation to it
            cuts = {o: tuple(r) for o, r in records.items() if o != apex and o in apexes}
            table = RecordTable.of({o: r for o, r in records.items() if o not in cuts})
            single.update(table.single)
            multi.update(table.multi)
            owners_by_zone[apex] = tuple(records)  # in the order given
            count = table.record_count() + sum(map(len, cuts.values()))
            if cuts:
                zone_cuts[apex] = cuts
        ttls.update(content.ttls or {})
        if isinstance(records, ZoneRecords) and records.cuts:
            zone_cuts[apex] = records.cuts
        parents = content.parents
        if parents is None:
            parents = frozenset(o.partition(".")[2] for o in owners_by_zone[apex] if o != apex)
        # every ancestor strictly between an owner and the apex is an empty
        # non-terminal unless it owns records itself (removed below)
        zone_ents = ents_of_zone[apex] = set()
        for parent in parents:
            name = parent
            while name != apex and name not in zone_ents and name.endswith("." + apex):
                zone_ents.add(name)
                name = name.partition(".")[2]
        ents.update(zone_ents)
        serial = serials[apex] if serials is not None else 0
        zones.append(
            Zone(
                id=zone_id,
                name=apex,
                serial=serial,
                soa_content=soa_content(settings, serial),
                fingerprint=(fingerprints or {}).get(apex, ""),
                record_count=1 + count,  # the SOA, then the rest
            )
        )
    if names is None:
        names = RecordTable(single, multi)
    zone_tuple = tuple(zones)
    return Snapshot(
        zones=zone_tuple,
        names=names,
        ents=frozenset(e for e in ents if e not in names),
        ents_by_zone={
            z: tuple(sorted(e for e in zone_ents if e not in names))
            for z, zone_ents in ents_of_zone.items()
        },
        ttl=settings.ttl,
        generation=generation,
        zone_by_name={z.name: z for z in zone_tuple},
        zone_by_id={z.id: z for z in zone_tuple},
        index=ZoneIndex(z.name for z in zone_tuple),
        owners_by_zone=owners_by_zone,
        ttls=ttls,
        zone_cuts=zone_cuts,
    )


def with_serials(
    snapshot: Snapshot,
    serials: Mapping[str, int],
    fingerprints: Mapping[str, str],
    settings: ZoneSettings,
) -> Snapshot:
    """``snapshot`` with these serials and fingerprints (the records are shared)."""
    zones = tuple(
        replace(
            z,
            serial=serials[z.name],
            soa_content=soa_content(settings, serials[z.name]),
            fingerprint=fingerprints[z.name],
        )
        for z in snapshot.zones
    )
    return replace(
        snapshot,
        zones=zones,
        zone_by_name={z.name: z for z in zones},
        zone_by_id={z.id: z for z in zones},
    )
