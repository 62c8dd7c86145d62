"""A snapshot as what is served: each name's key and encoded value, and each zone's
fingerprint over them (``fingerprint.py``)."""

from __future__ import annotations

from collections.abc import Iterator

from remote_backend.shared.layout import name_key
from remote_backend.snapshot.fingerprint import Fingerprint, header_hash
from remote_backend.snapshot.model import Snapshot, Zone
from remote_backend.zones import ZoneSettings


def zone_items(snapshot: Snapshot, zone: Zone, soa: bool = False) -> Iterator[tuple[bytes, bytes]]:
    """(key, value) of every name of ``zone`` (owners and empty non-terminals) in key
    order; the apex without its SOA unless ``soa``."""
    names = [*snapshot.owners_by_zone.get(zone.name, ()), *snapshot.ents_by_zone.get(zone.name, ())]
    keyed = sorted((name_key(zone.id, n), n) for n in names)
    value = snapshot.zone_value
    apex = zone.name
    for key, name in keyed:
        encoded = value(zone, name, soa=soa or name != apex)
        if encoded is not None:
            yield key, encoded


def zone_fingerprint(snapshot: Snapshot, zone: Zone, settings: ZoneSettings) -> str:
    fingerprint = Fingerprint(header_hash(zone.name, settings))
    for key, value in zone_items(snapshot, zone):
        fingerprint.add(key, value)
    return fingerprint.hex()


def fingerprints(snapshot: Snapshot, settings: ZoneSettings) -> dict[str, str]:
    """The fingerprint of every zone of ``snapshot``."""
    return {z.name: zone_fingerprint(snapshot, z, settings) for z in snapshot.zones}
