"""Serialise a snapshot for the state store, so pphook can start with the DB down.

JSON (not pickle): the state store may be a shared MariaDB, and loading must never
execute anything a tampered row could carry. zlib keeps it compact.
"""

from __future__ import annotations

import hashlib
import json
import zlib
from typing import Any

from remote_backend.errors import StateStoreError
from remote_backend.snapshot import Snapshot, ZoneContent, assemble
from remote_backend.zones import ZoneSettings

FORMAT = 1


def snapshot_payload(snapshot: Snapshot) -> tuple[bytes, str]:
    """(compressed payload, digest of the served content)."""
    zones = []
    for zone in snapshot.zones:
        owners = snapshot.owners_by_zone.get(zone.name, ())
        zones.append(
            {
                "name": zone.name,
                "serial": zone.serial,
                "fingerprint": zone.fingerprint,
                "records": {o: [list(rr) for rr in snapshot.names[o]] for o in owners},
            }
        )
    digest = hashlib.sha256(
        "|".join(f"{z.name}:{z.serial}:{z.fingerprint}" for z in snapshot.zones).encode()
    ).hexdigest()
    body = json.dumps({"format": FORMAT, "zones": zones}, separators=(",", ":")).encode()
    return zlib.compress(body, 1), digest


def snapshot_from_payload(payload: bytes, settings: ZoneSettings) -> Snapshot:
    """Rebuild the snapshot saved by :func:`snapshot_payload`."""
    try:
        data: Any = json.loads(zlib.decompress(payload))
        if data.get("format") != FORMAT:
            raise ValueError(f"format {data.get('format')!r}, expected {FORMAT}")
        contents = []
        serials: dict[str, int] = {}
        for zone in data["zones"]:
            records = {
                str(owner): tuple((str(t), str(c)) for t, c in rrs)
                for owner, rrs in zone["records"].items()
            }
            contents.append(ZoneContent(str(zone["name"]), records, str(zone["fingerprint"])))
            serials[str(zone["name"])] = int(zone["serial"])
    except (ValueError, KeyError, TypeError, zlib.error) as exc:
        raise StateStoreError(
            f"the persisted snapshot cannot be read ({exc}); ignoring it"
        ) from exc
    return assemble(contents, serials, settings)
