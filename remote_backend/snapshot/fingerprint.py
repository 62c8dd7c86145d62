"""A zone's content fingerprint: what decides whether its serial moves."""

from __future__ import annotations

import hashlib
from bisect import bisect_left
from collections.abc import Mapping

from remote_backend.snapshot.table import RR, Content, RecordTable, ZoneRecords
from remote_backend.zones import ZoneSettings

_FINGERPRINT_BATCH = 4096  # owners per hashed batch (part of the format: keep it)


def fingerprint(zone: str, records: Mapping[str, tuple[RR, ...]], settings: ZoneSettings) -> str:
    """SHA-256 of what the zone serves, serial excluded: stable across processes and
    nodes, and independent of the order records were found in.

    Hashed, each part after its length: a header with the TTL and the SOA fields
    other than the serial; then, for each batch of ``_FINGERPRINT_BATCH`` owners in
    sorted order, their names newline-joined and their records newline-joined. An
    owner's records are written as its bare content when that is its only record and
    of the type ``implied_type`` gives (the usual case: no Python code runs per
    record; an IPv4 address as its decimal integer, which nothing else in a zone
    can look like: other contents hold a '.' or a ':'), else as every record's type
    and content behind a \\x01. Names and contents hold no newline nor control
    character, so this text is unambiguous.
    """
    if isinstance(records, ZoneRecords):
        table, owners, multi_owners = records.table, sorted(records.owners), records.multi_owners
    else:
        table = RecordTable.of(records)
        owners, multi_owners = sorted(table), list(table.multi)
    soa = settings.soa
    header = (
        f"pphook-zone-v2|{zone}|{settings.ttl}|"
        f"{settings.nameservers[0] if settings.nameservers else ''}|"
        f"{settings.hostmaster}|{soa.refresh}|{soa.retry}|{soa.expire}|{soa.minimum}"
    )
    digest = hashlib.sha256()

    def part(text: str) -> None:
        data = text.encode()
        digest.update(len(data).to_bytes(8, "big"))
        digest.update(data)

    part(header)
    entries: list[Content | None] = list(map(table.single.get, owners))
    for owner in multi_owners:
        entries[bisect_left(owners, owner)] = "\x01" + "\x02".join(
            f"{q}\x03{c}" for q, c in table.multi[owner]
        )
    for start in range(0, len(owners), _FINGERPRINT_BATCH):
        stop = start + _FINGERPRINT_BATCH
        part("\n".join(owners[start:stop]))
        part("\n".join(map(str, entries[start:stop])))
    return digest.hexdigest()
