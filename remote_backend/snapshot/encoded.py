"""A snapshot as what is stored: each name's key and stored value (its encoded answer
packed: ``shared/packing.py``), and each zone's fingerprint over them
(``fingerprint.py``).

``zone_items`` runs once per name of a full publication (two million names at 1M
addresses), so the usual owner (one A, AAAA or PTR record at the zone-wide TTL, kept
as bare content in ``RecordTable.single``) is formatted here in one step, in its stored
form; every other name goes through ``Snapshot.zone_value`` and ``pack``, and a test
holds the two byte for byte alike (tests/remote_backend/snapshot/test_encoded.py).
"""

from __future__ import annotations

from remote_backend.shared.layout import zone_prefix
from remote_backend.shared.packing import HEAD_MARK, HEADS, TAIL_MARK, pack
from remote_backend.snapshot.fingerprint import (
    Fingerprint,
    header_hash,
    item_hash,
    sum_of_item_hashes,
)
from remote_backend.snapshot.model import Snapshot, Zone
from remote_backend.snapshot.table import REVERSE_SUFFIXES, RecordTable
from remote_backend.zones import ZoneSettings
from validators.address import ipv4_text


def zone_items(snapshot: Snapshot, zone: Zone, soa: bool = False) -> list[tuple[bytes, bytes]]:
    """(key, stored value) of every name of ``zone`` (owners and empty non-terminals)
    in key order; the apex without its SOA unless ``soa``."""
    # A key is the zone's prefix and the name's ASCII: ordering names as str orders
    # their keys.
    names = sorted(
        [*snapshot.owners_by_zone.get(zone.name, ()), *snapshot.ents_by_zone.get(zone.name, ())]
    )
    table = snapshot.names
    single = table.single if isinstance(table, RecordTable) else {}
    # names whose value is not one bare record at the zone-wide TTL
    special = {owner for owner, _qtype in snapshot.ttls}
    special.update(snapshot.zone_cuts.get(zone.name, ()))
    special.add(zone.name)
    tail = f'","ttl":{snapshot.ttl}{_TAIL_MARK}'
    a, aaaa, ptr = (_STORED_HEADS[t] for t in _BARE)
    text = ipv4_text
    get = single.get
    reverse = zone.name.endswith(REVERSE_SUFFIXES)
    # The usual names formatted in one expression each (None: the generic path);
    # this runs for every name of a full publication.
    contents = [None if n in special else get(n) for n in names]
    if reverse:
        lines = [None if c is None else ptr + c + tail for c in contents]  # type: ignore[operator]
    else:
        lines = [
            None
            if c is None
            else a + text(c) + tail
            if c.__class__ is int
            else (aaaa if ":" in c else a) + c + tail  # type: ignore[operator]
            for c in contents
        ]
    missing = [i for i, line in enumerate(lines) if line is None]
    multi = table.multi if isinstance(table, RecordTable) else {}
    if multi:
        # one record of another plain type at the zone-wide TTL (an alias's CNAME): the
        # same one-step format; what escapes it needs is caught below
        still = []
        for i in missing:
            name = names[i]
            rrs = multi.get(name) if name not in special else None
            if rrs is not None and len(rrs) == 1 and rrs[0][0] in _PLAIN_HEADS:
                qtype, content = rrs[0]
                lines[i] = _PLAIN_HEADS[qtype] + content + tail
            else:
                still.append(i)
        missing = still
    encoded, escaped = _encode_all(lines, missing)
    values: list[bytes | None] = encoded  # type: ignore[assignment]
    if escaped:  # a static record's content with master-file escapes: JSON-escaped there
        missing = sorted({*missing, *escaped})
    generic = snapshot.zone_value
    apex = zone.name
    dropped = False
    for i in missing:
        name = names[i]
        value = generic(zone, name, soa=soa or name != apex)
        values[i] = None if value is None else pack(value, zone.id)
        dropped = dropped or value is None
    items = list(zip(_keys(zone_prefix(zone.id), names), values, strict=True))
    if dropped:
        return [item for item in items if item[1] is not None]  # type: ignore[misc]
    return items  # type: ignore[return-value]


_BARE = ("A", "AAAA", "PTR")
# the stored head of a value whose one record is of a type ``packing`` packs, by type
_STORED_HEADS = {
    head.split(b'"qtype":"')[1].split(b'"')[0].decode(): (HEAD_MARK + letter).decode()
    for letter, head in HEADS.items()
}
_TAIL_MARK = TAIL_MARK.decode()
# types whose content is written as it is (records.RecordType.wire), by stored head
_PLAIN_HEADS = {t: _STORED_HEADS[t] for t in ("CNAME", "NS", "A", "AAAA", "PTR")}
# never in a name nor a stored line (validated text, no control characters but the
# packing marks)
_SEP = "\x03"


def _encode_all(lines: list[str | None], missing: list[int]) -> tuple[list[bytes], list[int]]:
    """``line.encode()`` of each line (b"" where None, at the ``missing`` positions), in
    one C-level pass when the separator allows; and the lines holding a backslash (a
    static record's master-file escape, which JSON must escape: the generic path does)."""
    if missing:
        lines = lines.copy()
        for i in missing:
            lines[i] = ""
    present: list[str] = lines  # type: ignore[assignment]
    if not present:
        return [], []
    joined = _SEP.join(present)
    escaped = [i for i, line in enumerate(present) if "\\" in line] if "\\" in joined else []
    encoded = joined.encode().split(_SEP.encode())
    if len(encoded) != len(present):  # a separator inside a line: one by one
        encoded = [line.encode() for line in present]
    return encoded, escaped


def _keys(prefix: bytes, names: list[str]) -> list[bytes]:
    """``name_key`` of each name of one zone."""
    if not names:
        return []
    raw = _SEP.join(names).encode("ascii").split(_SEP.encode())
    if len(raw) != len(names):
        raw = [n.encode("ascii") for n in names]
    return [prefix + n for n in raw]


def hashed_zone_items(
    snapshot: Snapshot, zone: Zone, settings: ZoneSettings
) -> tuple[list[tuple[bytes, bytes]], Fingerprint]:
    """``zone_items`` (apex without its SOA) and the zone's fingerprint over them (over
    the stored values: what validation hashes as it reads them)."""
    items = zone_items(snapshot, zone)
    total = header_hash(zone.name, settings) + sum_of_item_hashes(items)
    return items, Fingerprint(total)


def zone_fingerprint(snapshot: Snapshot, zone: Zone, settings: ZoneSettings) -> str:
    return hashed_zone_items(snapshot, zone, settings)[1].hex()


def fingerprints(snapshot: Snapshot, settings: ZoneSettings) -> dict[str, str]:
    """The fingerprint of every zone of ``snapshot``."""
    return {z.name: zone_fingerprint(snapshot, z, settings) for z in snapshot.zones}


__all__ = ["fingerprints", "hashed_zone_items", "item_hash", "zone_fingerprint", "zone_items"]
