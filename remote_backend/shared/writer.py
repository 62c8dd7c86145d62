"""The writer of the shared snapshot: `serve`, and nothing else.

Every publication is one LMDB write transaction (readers see all of it or none of it),
committed with fsync (``_commit``) before the generation counter moves
(``_announce``): what a coprocess answers is on disk first, so a serial is never
served and then lost by a crash. The transaction also marks its generation validated
(``layout.META_VALIDATED``): `serve` built it, so readers may serve it. Generations
only move forward, across restarts and replaced files alike (the counter file keeps
the highest one announced).
"""

from __future__ import annotations

import grp
import json
import logging
import os
import stat
import time
from collections.abc import Iterable, Iterator, Sequence
from itertools import islice
from operator import itemgetter
from pathlib import Path
from typing import Any

import lmdb

from remote_backend.errors import SharedSnapshotError
from remote_backend.memory import release_mapped_file
from remote_backend.shared.layout import (
    DATA_FILE,
    FORMAT,
    LISTS_DB,
    LOCK_FILE,
    MAP_SIZE,
    MAX_READERS,
    MAX_VALUE,
    META_DB,
    META_FORMAT,
    META_GENERATION,
    META_PUBLISHED_AT,
    META_STATUS,
    META_VALIDATED,
    META_ZONES,
    NAMES_DB,
    NOTIFIED_DIR,
    STATS_DIR,
    ZoneMeta,
    data_path,
    generation_path,
    key_zone,
    zone_prefix,
    zones_from_json,
    zones_to_json,
)
from remote_backend.shared.lists import stamp_zones, store_one, zone_raw
from remote_backend.shared.packing import unpack

log = logging.getLogger("pphook.shared")

_PUT_BATCH = 65536  # items handed to LMDB per putmulti call
_KEY = itemgetter(0)
_VALUE = itemgetter(1)
_PREFIX = itemgetter(slice(0, 2))  # a key's zone prefix (``layout.zone_prefix``)


def _zone_prefixes(batch: Sequence[tuple[bytes, bytes]], in_key_order: bool) -> set[bytes]:
    """The zone prefixes of the keys of ``batch``. In key order (``append``: a first
    publication) a batch whose first and last keys share a zone holds that zone only."""
    first = batch[0][0][:2]
    if in_key_order and batch[-1][0][:2] == first:
        return {first}
    return set(map(_PREFIX, map(_KEY, batch)))


def _refuse_oversized(batch: Sequence[tuple[bytes, bytes]]) -> None:
    """Readers refuse a value over MAX_VALUE: such a publication is refused whole,
    before anything of it is committed."""
    if max(map(len, map(_VALUE, batch)), default=0) <= MAX_VALUE:
        return
    key, value = next(item for item in batch if len(item[1]) > MAX_VALUE)
    raise SharedSnapshotError(
        f"{key[2:].decode(errors='replace')}: an answer of {len(value)} bytes, more "
        f"than {MAX_VALUE}; nothing was published (fewer records at that name)"
    )


class SharedSnapshot:
    """The shared snapshot, opened for writing.

    ``group``: the group that may read it (pdns's coprocesses run as user pdns): the
    directory becomes ``rwxr-s---`` with that group, the lock file group-writable (LMDB
    readers register in it), the data file group-readable.
    """

    def __init__(self, directory: str | Path, group: str | None = None) -> None:
        self.directory = Path(directory)
        gid = _group_id(group) if group else None
        try:
            _make_dir(self.directory, 0o2750, gid)
            _make_dir(self.directory / NOTIFIED_DIR, 0o2770, gid)
            _make_dir(self.directory / STATS_DIR, 0o2770, gid)
            self.env = lmdb.open(
                str(self.directory),
                map_size=MAP_SIZE,
                max_dbs=4,
                max_readers=MAX_READERS,
                mode=0o660,
                metasync=True,
                sync=True,
                # Pages are written in the map itself. Without it LMDB copies every page
                # a transaction dirties into malloc'd memory and keeps those buffers for
                # reuse until the environment closes: after the first publication at 1M
                # addresses that was ~280 MiB of `serve`'s resident memory for nothing.
                writemap=True,
            )
        except (OSError, lmdb.Error) as exc:
            raise SharedSnapshotError(
                f"cannot open the shared snapshot in {self.directory}: {exc} (check "
                "server.snapshot_dir: a local directory writable by the pphook user)"
            ) from exc
        self.names = self.env.open_db(NAMES_DB)
        self.meta = self.env.open_db(META_DB)
        self.lists = self.env.open_db(LISTS_DB)
        # zone id -> the (stamp, generation) whose list reply was over MAX_LIST
        self.too_big: dict[int, tuple[bytes | None, int]] = {}
        # zone id -> the stamp its stored list reply was last usable (or stored) at
        self.usable_at: dict[int, bytes] = {}
        for name, mode in ((DATA_FILE, 0o640), (LOCK_FILE, 0o660)):
            _own(self.directory / name, mode, gid)
        self._generation_fd = _open_counter(generation_path(self.directory), gid)
        with self.env.begin(write=True, db=self.meta) as txn:
            stored = txn.get(META_FORMAT)
            if stored is None:
                txn.put(META_FORMAT, FORMAT)
            elif stored != FORMAT:
                raise SharedSnapshotError(
                    f"{self.directory} holds a shared snapshot of another format "
                    f"({stored[:40]!r}); remove the directory, `serve` writes a new one"
                )

    # -- reading what was published ------------------------------------------------------

    def generation(self) -> int:
        with self.env.begin(db=self.meta) as txn:
            raw = txn.get(META_GENERATION)
        return int(raw) if raw else 0

    def stored_zones(self) -> tuple[ZoneMeta, ...] | None:
        """The zones of the last publication; None before the first one."""
        with self.env.begin(db=self.meta) as txn:
            raw = txn.get(META_ZONES)
        if raw is None:
            return None
        try:
            return zones_from_json(raw)
        except ValueError as exc:
            raise SharedSnapshotError(
                f"the shared snapshot in {self.directory} is damaged ({exc})"
            ) from exc

    def get(self, key: bytes) -> bytes | None:
        """The encoded value stored at ``key`` (unpacked: ``packing``)."""
        with self.env.begin(db=self.names) as txn:
            stored = txn.get(key)
        return None if stored is None else unpack(stored, key_zone(key))

    def get_many(self, keys: Iterable[bytes]) -> dict[bytes, bytes | None]:
        with self.env.begin(db=self.names) as txn:
            stored = {k: txn.get(k) for k in keys}
        return {k: None if v is None else unpack(v, key_zone(k)) for k, v in stored.items()}

    def zone_items(self, zone_id: int) -> Iterator[tuple[bytes, bytes]]:
        """(key, stored value) of every name of a zone, in key order (one read
        transaction): what a full publication compares its items with."""
        with self.env.begin() as txn:
            owners, stored = zone_raw(txn, self.names, zone_id, unpacked=False)
        prefix = zone_prefix(zone_id)
        return zip([prefix + o for o in owners], stored, strict=True)

    def validated(self) -> int | None:
        """The generation marked validated, if any."""
        with self.env.begin(db=self.meta) as txn:
            raw = txn.get(META_VALIDATED)
        return int(raw) if raw else None

    def is_empty(self) -> bool:
        with self.env.begin(db=self.names) as txn:
            return txn.stat(self.names)["entries"] == 0

    # -- publishing ----------------------------------------------------------------------

    def publish(
        self,
        zones: Sequence[ZoneMeta],
        puts: Iterable[tuple[bytes, bytes]] = (),
        deletes: Iterable[bytes] = (),
        *,
        drop_zones: Iterable[int] = (),
        append: bool = False,
    ) -> int:
        """One atomic, durable publication; returns its generation. ``puts``: (key,
        stored value) items (``packing``).

        ``drop_zones``: zone ids whose every key goes first (a zone no longer served, or
        a zone rebuilt whole); ``append``: the puts come in key order after every key
        already stored (a first publication: LMDB then fills pages in order).
        """
        started = time.perf_counter()
        generation = self._commit(zones, puts, deletes, drop_zones, append)
        # committed and fsynced: now readers may learn that it moved
        self._announce(generation)
        self.release_pages()
        log.debug("published generation %d in %.3f s", generation, time.perf_counter() - started)
        return generation

    def _commit(
        self,
        zones: Sequence[ZoneMeta],
        puts: Iterable[tuple[bytes, bytes]],
        deletes: Iterable[bytes],
        drop_zones: Iterable[int],
        append: bool,
    ) -> int:
        """The publication's one write transaction, committed with fsync; its
        generation."""
        # the zones whose names this publication writes: their stored list replies go
        # (``lists``); collected per key, so this costs what the change costs
        touched: set[bytes] = set()
        with self.env.begin(write=True) as txn:
            for zone_id in drop_zones:
                touched.add(zone_prefix(zone_id))
                _drop_range(txn, self.names, zone_prefix(zone_id))
            for key in deletes:
                touched.add(key[:2])
                txn.delete(key, db=self.names)
            cursor = txn.cursor(db=self.names)
            # a batch at a time, checked in C: a first publication puts two million
            # items at 1M addresses (measured: 0.26 s with a Python step per
            # item, 0.17 s this way)
            pending = iter(puts)
            while batch := list(islice(pending, _PUT_BATCH)):
                _refuse_oversized(batch)
                touched.update(_zone_prefixes(batch, append))
                cursor.putmulti(batch, append=append)
            generation = self._next_generation(txn)
            served = {zone_prefix(z.id) for z in zones}
            stamp_zones(txn, self.lists, sorted(touched), generation, served)
            txn.put(META_ZONES, zones_to_json(zones), db=self.meta)
            txn.put(META_PUBLISHED_AT, repr(time.time()).encode(), db=self.meta)
            # built by `serve` itself: valid by construction
            txn.put(META_VALIDATED, str(generation).encode(), db=self.meta)
        return generation

    def _next_generation(self, txn: lmdb.Transaction) -> int:
        """Above both the stored generation and the highest one ever announced (a
        replaced file starts over at 0), written into ``txn``."""
        raw = txn.get(META_GENERATION, db=self.meta)
        generation = max(int(raw) if raw else 0, self._announced()) + 1
        txn.put(META_GENERATION, str(generation).encode(), db=self.meta)
        return generation

    def _announced(self) -> int:
        return int.from_bytes(os.pread(self._generation_fd, 8, 0), "little")

    def _announce(self, generation: int) -> None:
        """Move the counter readers watch to ``generation`` (never back)."""
        if generation > self._announced():
            os.pwrite(self._generation_fd, generation.to_bytes(8, "little"), 0)

    # -- validation (``validate``, ``admission``) --------------------------------------

    def mark_validated(self, generation: int) -> None:
        """Let readers serve ``generation``, checked by ``validate`` (serve's start), and
        announce it: a `serve` killed between a commit and its announcement left the
        counter behind."""
        with self.env.begin(write=True, db=self.meta) as txn:
            raw = txn.get(META_GENERATION)
            if (int(raw) if raw else 0) != generation:
                raise SharedSnapshotError(
                    f"the shared snapshot in {self.directory} moved while it was validated"
                )
            txn.put(META_VALIDATED, str(generation).encode())
        self._announce(generation)

    def discard(self) -> int:
        """Empty it, at a generation above every one announced (the new file that
        replaces a refused one starts at 0): readers see the counter move, open it and
        answer nothing (SERVFAIL) until the next publication writes every name anew.
        Its generation."""
        with self.env.begin(write=True) as txn:
            txn.drop(self.names, delete=False)
            txn.drop(self.lists, delete=False)
            txn.delete(META_ZONES, db=self.meta)
            txn.delete(META_VALIDATED, db=self.meta)
            generation = self._next_generation(txn)
        self._announce(generation)
        return generation

    def store_lists(self, budget: float, max_records: int | None = None) -> int:
        """Build and store the ``list`` reply of each zone that has no usable one
        (``lists``), largest zone first: the AXFR coprocess then sends it instead of
        building it. No zone is started once ``budget`` seconds have passed (one zone's
        is not interrupted); zones over ``max_records`` records are left to their
        transfers. The number of replies stored."""
        started = time.monotonic()
        zones = self.stored_zones()
        stored = 0
        for zone in sorted(zones or (), key=lambda z: (-z.record_count, z.id)):
            if time.monotonic() - started >= budget:
                break
            if max_records is not None and zone.record_count > max_records:
                continue
            dbs = (self.names, self.meta, self.lists)
            if store_one(self.env, dbs, zone, self.too_big, self.usable_at):
                stored += 1
        if stored:
            self.release_pages()
            log.debug("stored %d list replies in %.3f s", stored, time.monotonic() - started)
        return stored

    def release_pages(self) -> None:
        """Unmap the pages of the data file this process touched (``memory``
        ``.release_mapped_file``): the coprocesses read them, not `serve`."""
        release_mapped_file(data_path(self.directory))

    def set_status(self, status: dict[str, Any]) -> None:
        """What `serve` says about itself (health, source, errors), for readers."""
        with self.env.begin(write=True, db=self.meta) as txn:
            txn.put(META_STATUS, json.dumps(status, separators=(",", ":")).encode())

    def reader_check(self) -> int:
        """Free the reader slots of dead processes (pdns SIGKILLs its coprocesses): a
        stale slot would keep old pages from being reused."""
        return self.env.reader_check()

    def close(self) -> None:
        try:
            os.close(self._generation_fd)
        finally:
            self.env.close()


def _drop_range(txn: lmdb.Transaction, db: Any, prefix: bytes) -> None:
    cursor = txn.cursor(db=db)
    if not cursor.set_range(prefix):
        return
    while bytes(cursor.key()).startswith(prefix):
        if not cursor.delete():
            break


def _group_id(group: str) -> int:
    try:
        return int(group) if group.isdigit() else grp.getgrnam(group).gr_gid
    except KeyError:
        raise SharedSnapshotError(
            f"group {group!r} does not exist (server.socket_group: the group pdns runs as)"
        ) from None


def _make_dir(path: Path, mode: int, gid: int | None) -> None:
    path.mkdir(parents=True, exist_ok=True)
    st = path.stat()
    if not stat.S_ISDIR(st.st_mode):
        raise SharedSnapshotError(f"{path} is not a directory")
    if gid is not None and st.st_gid != gid:
        os.chown(path, -1, gid)
    if stat.S_IMODE(st.st_mode) != mode:
        os.chmod(path, mode)


def _own(path: Path, mode: int, gid: int | None) -> None:
    if gid is not None:
        os.chown(path, -1, gid)
    os.chmod(path, mode)


def _open_counter(path: Path, gid: int | None) -> int:
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o640)
    if os.fstat(fd).st_size < 8:
        os.pwrite(fd, bytes(8), 0)
    if gid is not None:
        os.fchown(fd, -1, gid)
    os.fchmod(fd, 0o640)
    return fd
