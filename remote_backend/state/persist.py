"""Serialise a snapshot for the state store, so pphook can start with the DB down.

Plain text lines (not pickle: the state store may be a shared MariaDB, and loading
must never execute anything a tampered row could carry), compressed as a stream: at
1M addresses the snapshot is never turned into one big string in memory, only the
compressed bytes are (tens of MB).

Format 2::

    pphook-snapshot 2
    Z <TAB> zone <TAB> serial <TAB> fingerprint
    owner <TAB> qtype <TAB> content          (records of the zone above; no SOA)
"""

from __future__ import annotations

import hashlib
import zlib
from collections.abc import Iterator

from remote_backend.errors import StateStoreError
from remote_backend.snapshot import RR, Snapshot, ZoneContent, assemble
from remote_backend.zones import ZoneSettings

HEADER = "pphook-snapshot 2\n"
_BATCH = 20_000  # lines compressed at a time


def snapshot_digest(snapshot: Snapshot) -> str:
    """Identifies the served content: zones, serials and fingerprints."""
    return hashlib.sha256(
        "|".join(f"{z.name}:{z.serial}:{z.fingerprint}" for z in snapshot.zones).encode()
    ).hexdigest()


def _lines(snapshot: Snapshot) -> Iterator[str]:
    yield HEADER
    for zone in snapshot.zones:
        yield f"Z\t{zone.name}\t{zone.serial}\t{zone.fingerprint}\n"
        for owner, qtype, content in snapshot.zone_records(zone):
            if qtype != "SOA":  # rebuilt from the settings and the serial on load
                yield f"{owner}\t{qtype}\t{content}\n"


def snapshot_payload(snapshot: Snapshot) -> tuple[bytes, str]:
    """(compressed payload, digest of the served content)."""
    compressor = zlib.compressobj(1)
    chunks: list[bytes] = []
    batch: list[str] = []
    for line in _lines(snapshot):
        batch.append(line)
        if len(batch) >= _BATCH:
            chunks.append(compressor.compress("".join(batch).encode()))
            batch.clear()
    chunks.append(compressor.compress("".join(batch).encode()))
    chunks.append(compressor.flush())
    return b"".join(chunks), snapshot_digest(snapshot)


def _decompressed_lines(payload: bytes) -> Iterator[str]:
    decompressor = zlib.decompressobj()
    rest = ""
    for start in range(0, len(payload), 1 << 20):
        rest += decompressor.decompress(payload[start : start + (1 << 20)]).decode()
        *lines, rest = rest.split("\n")
        yield from lines
    rest += decompressor.flush().decode()
    if rest:
        yield from rest.split("\n")


def snapshot_from_payload(payload: bytes, settings: ZoneSettings) -> Snapshot:
    """Rebuild the snapshot saved by :func:`snapshot_payload`."""
    contents: list[ZoneContent] = []
    serials: dict[str, int] = {}
    try:
        lines = _decompressed_lines(payload)
        if next(lines, None) != HEADER.strip():
            raise ValueError("not a pphook snapshot of format 2")
        zone: str | None = None
        fingerprint = ""
        records: dict[str, list[RR]] = {}

        def close_zone() -> None:
            if zone is not None:
                frozen = {owner: tuple(rrs) for owner, rrs in records.items()}
                contents.append(ZoneContent(zone, frozen, fingerprint))

        for line in lines:
            if not line:
                continue
            fields = line.split("\t")
            if fields[0] == "Z" and len(fields) == 4:
                close_zone()
                zone, serials[fields[1]], fingerprint = fields[1], int(fields[2]), fields[3]
                records = {}
            elif len(fields) == 3 and zone is not None:
                records.setdefault(fields[0], []).append((fields[1], fields[2]))
            else:
                raise ValueError(f"unexpected line {line[:80]!r}")
        close_zone()
    except (ValueError, UnicodeDecodeError, zlib.error) as exc:
        raise StateStoreError(
            f"the persisted snapshot cannot be read ({exc}); ignoring it"
        ) from exc
    return assemble(contents, serials, settings)
