"""Publishes what a build made into the shared snapshot, as the difference from what is
stored there, in one durable transaction.

Order, so that a serial is never served and then lost: the zones' fingerprints are
computed from the encoded values, the state store turns them into serials (committed
there first), then the values that differ from the stored ones, the apexes with their
new SOA and the zones' meta go into the shared snapshot in one fsynced commit, and
only then does the generation counter move (what readers watch).
"""

from __future__ import annotations

import logging
import time
from bisect import bisect_left
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from remote_backend.build.two_cores import hashed_items
from remote_backend.shared.layout import ZoneMeta, key_name, name_key
from remote_backend.shared.packing import pack
from remote_backend.shared.writer import SharedSnapshot
from remote_backend.snapshot import Snapshot
from remote_backend.snapshot.assemble import with_serials
from remote_backend.state import StateStore
from remote_backend.zones import ZoneSettings

log = logging.getLogger("pphook.publisher")


@dataclass(frozen=True, slots=True)
class Published:
    """What one publication did."""

    generation: int
    zones: tuple[ZoneMeta, ...]
    changed_names: frozenset[str]  # names whose answer moved (purged from pdns's caches)
    changed_zones: frozenset[str]  # zones whose serial moved
    seconds: float


def zone_metas(snapshot: Snapshot) -> tuple[ZoneMeta, ...]:
    return tuple(
        ZoneMeta(z.id, z.name, z.serial, z.soa_content, z.fingerprint, z.record_count)
        for z in snapshot.zones
    )


class Publisher:
    """Writes drafts (``SnapshotBuilder.draft``) into the shared snapshot."""

    def __init__(self, shared: SharedSnapshot, store: StateStore, settings: ZoneSettings) -> None:
        self.shared = shared
        self.store = store
        self.settings = settings

    def publish(self, draft: Snapshot) -> Published:
        """Publish a whole draft: every zone's names compared with the stored ones."""
        started = time.perf_counter()
        stored = {z.id: z for z in self.shared.stored_zones() or ()}
        # zones whose id now means another zone (the config changed): rebuilt whole
        renamed = [
            zid
            for zid, z in stored.items()
            if draft.zone_by_id.get(zid, None) is None or draft.zone_by_id[zid].name != z.name
        ]
        items: dict[str, list[tuple[bytes, bytes]]] = {}
        prints: dict[str, str] = {}
        # every name encoded and hashed: on two cores at a first publication (two_cores)
        for name, (zone_list, fingerprint) in hashed_items(draft, self.settings).items():
            items[name] = zone_list
            prints[name] = fingerprint.hex()
        serials = self.store.serials_for(prints)
        snapshot = with_serials(draft, serials, prints, self.settings)
        puts: list[tuple[bytes, bytes]] = []
        deletes: list[bytes] = []
        changed: set[str] = set()
        append = self.shared.is_empty()
        for zone in snapshot.zones:
            zone_list = items.pop(zone.name)
            apex_value = snapshot.value(zone.name)
            if apex_value is not None:  # the apex with its SOA (it has the serial now)
                apex_key = name_key(zone.id, zone.name)
                at = bisect_left(zone_list, (apex_key,))
                if at < len(zone_list) and zone_list[at][0] == apex_key:
                    zone_list[at] = (apex_key, pack(apex_value, zone.id))
            if append:  # zones in id order, each in key order: the puts are in key order
                puts += zone_list
                continue
            old = iter(()) if zone.id in renamed else self.shared.zone_items(zone.id)
            for key, value, action in _merge(old, zone_list):
                changed.add(key_name(key))
                if action == "delete":
                    deletes.append(key)
                else:
                    puts.append((key, value))
        ids = [z.id for z in snapshot.zones]
        if append and ids != sorted(ids):
            puts.sort()
        gone = [zid for zid in stored if zid not in snapshot.zone_by_id]
        for zid in gone:
            changed.add(stored[zid].name)
        metas = zone_metas(snapshot)
        before = {z.name: z.serial for z in stored.values()}
        generation = self.shared.publish(
            metas, puts, deletes, drop_zones=[*renamed, *gone], append=append
        )
        seconds = time.perf_counter() - started
        moved = frozenset(z.name for z in metas if before.get(z.name) != z.serial)
        log.info(
            "generation %d published: %d names written, %d removed, %d zones with a new "
            "serial, %.3f s",
            generation,
            len(puts),
            len(deletes),
            len(moved),
            seconds,
        )
        return Published(generation, metas, frozenset(changed), moved, seconds)


def _merge(
    old: Iterable[tuple[bytes, bytes]], new: Iterable[tuple[bytes, bytes]]
) -> Iterator[tuple[bytes, bytes, str]]:
    """Walk two key-ordered item streams: (key, value, "put") for new or different
    values, (key, old value, "delete") for keys only in ``old``."""
    old_iter = iter(old)
    new_iter = iter(new)
    o = next(old_iter, None)
    n = next(new_iter, None)
    while o is not None or n is not None:
        if n is None or (o is not None and o[0] < n[0]):
            assert o is not None
            yield o[0], o[1], "delete"
            o = next(old_iter, None)
        elif o is None or n[0] < o[0]:
            yield n[0], n[1], "put"
            n = next(new_iter, None)
        else:
            if o[1] != n[1]:
                yield n[0], n[1], "put"
            o = next(old_iter, None)
            n = next(new_iter, None)
