"""Which owner names answer differently between two snapshots (cache purges)."""

from __future__ import annotations

from typing import Any

from remote_backend.snapshot.model import Snapshot
from remote_backend.snapshot.table import RecordTable

_MISSING: Any = object()


def changed_names(old: Snapshot, new: Snapshot) -> set[str]:
    """Owner names whose answer differs between two snapshots (apexes of re-serialed zones,
    names with other records, names that appeared, disappeared or became/stopped being ENTs).
    """
    changed: set[str] = set()
    old_names, new_names = old.names, new.names
    if isinstance(old_names, RecordTable) and isinstance(new_names, RecordTable):
        # compare the tables as they are stored: no record is formatted
        for new_part, old_part in (
            (new_names.single, old_names.single),
            (new_names.multi, old_names.multi),
        ):
            get = old_part.get
            changed.update(n for n, v in new_part.items() if get(n, _MISSING) != v)
            changed.update(n for n in old_part if n not in new_part)
    else:
        for name, rrs in new_names.items():
            if old_names.get(name) != rrs:
                changed.add(name)
        changed.update(name for name in old_names if name not in new_names)
    changed.update(old.ents.symmetric_difference(new.ents))
    old_serials = {z.name: z.serial for z in old.zones}
    changed.update(z.name for z in new.zones if old_serials.get(z.name) != z.serial)
    changed.update(name for name in old_serials if name not in new.zone_by_name)
    return changed
