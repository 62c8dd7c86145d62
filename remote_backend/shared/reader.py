"""Readers of the shared snapshot: every `pphook pipe` coprocess (and `serve` itself).

A reader never blocks on anything but its own memory: LMDB read transactions take no
lock, and the generation counter is a mapped file compared on each request (one
integer comparison). What a request reads comes from one committed state. Until
`serve` has published once (or when the directory is missing or damaged) every
request gets ``SnapshotUnavailableError``, which the protocol turns into SERVFAIL,
never NXDOMAIN.

What is checked once per generation, when the counter moves, never per request: the
generation is marked validated (`serve` built it, or checked it at start:
``validate``), so a file nobody checked or one `serve` refused is never served; the
data file is as long as its pages (a truncated file would fault this process); and
the data file is still the one opened (`serve` replaces a file LMDB cannot read: the
reader then opens the new one).
"""

from __future__ import annotations

import json
import mmap
import os
import struct
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import lmdb

from remote_backend.errors import SnapshotUnavailableError
from remote_backend.protocol.view import ZoneInfo
from remote_backend.shared.layout import (
    FORMAT,
    LISTS_DB,
    MAP_SIZE,
    MAX_KEY,
    MAX_STATUS,
    META_DB,
    META_FORMAT,
    META_GENERATION,
    META_STATUS,
    META_VALIDATED,
    META_ZONES,
    NAMES_DB,
    ZoneMeta,
    data_path,
    generation_path,
    key_name,
    name_key,
    zone_prefix,
    zones_from_json,
)
from remote_backend.shared.lists import usable, zone_raw
from remote_backend.shared.packing import unpack
from validators.zones import ZoneIndex

_COUNTER = struct.Struct("<Q")
RETRY_OPEN = 0.5  # seconds between attempts to open a snapshot that is not there yet


class SnapshotView:
    """One generation of the shared snapshot (``protocol.view.AnswerView``);
    ``generation``: the counter's value when it was read."""

    __slots__ = (
        "_env",
        "_index",
        "_lists",
        "_meta",
        "_names",
        "generation",
        "zone_by_id",
        "zone_by_name",
        "zones",
    )

    def __init__(
        self,
        env: lmdb.Environment,
        dbs: tuple[Any, Any, Any],
        generation: int,
        zones: tuple[ZoneMeta, ...],
    ) -> None:
        """``dbs``: the names, meta and lists databases (lists None: a file written
        before `serve` stored list replies)."""
        self._env = env
        self._names, self._meta, self._lists = dbs
        self.generation = generation
        self.zones = zones
        self.zone_by_name: Mapping[str, ZoneMeta] = {z.name: z for z in zones}
        self.zone_by_id: Mapping[int, ZoneMeta] = {z.id: z for z in zones}
        self._index = ZoneIndex(self.zone_by_name)

    def zone_of(self, name: str) -> ZoneMeta | None:
        zone = self._index.find(name)
        return None if zone is None else self.zone_by_name[zone]

    def value(self, name: str) -> bytes | None:
        zone = self._index.find(name)
        if zone is None or not name.isascii():
            return None
        zone_id = self.zone_by_name[zone].id
        key = name_key(zone_id, name)
        if len(key) > MAX_KEY:
            return None
        with self._env.begin(db=self._names) as txn:
            stored = txn.get(key)
        return None if stored is None else unpack(stored, zone_id)

    def list_raw(self, zone: ZoneInfo) -> tuple[list[bytes], list[bytes]]:
        with self._env.begin() as txn:
            return zone_raw(txn, self._names, zone.id)

    def stored_list(self, zone: ZoneInfo) -> bytes | None:
        if self._lists is None:
            return None
        # buffers: only the reply is copied, once, out of the map
        with self._env.begin(buffers=True) as txn:
            return usable(txn, self._meta, self._lists, zone.id)

    def list_values(self, zone: ZoneInfo) -> Iterator[tuple[str, bytes]]:
        prefix = zone_prefix(zone.id)
        with self._env.begin(db=self._names) as txn:
            cursor = txn.cursor()
            if not cursor.set_range(prefix):
                return
            for key, value in cursor:
                if not key.startswith(prefix):
                    return
                yield key_name(key), unpack(value, zone.id)


class SharedReader:
    """Opens the shared snapshot lazily and hands out its current generation.

    ``env``: the writer's environment, for a reader in the writing process (LMDB opens
    an environment once per process).
    """

    def __init__(self, directory: str | Path, env: lmdb.Environment | None = None) -> None:
        self.directory = Path(directory)
        self._given_env = env
        self._env: lmdb.Environment | None = None
        self._names: Any = None
        self._meta: Any = None
        self._lists: Any = None
        self._counter: mmap.mmap | None = None
        self._view: SnapshotView | None = None
        self._next_try = 0.0
        self._problem = "not opened yet"
        self._file: tuple[int, int] | None = None  # (device, inode) of the data file opened

    def current(self) -> SnapshotView:
        """The newest generation (raises SnapshotUnavailableError when there is none)."""
        counter = self._counter
        view = self._view
        if (
            counter is not None
            and view is not None
            and view.generation >= _COUNTER.unpack_from(counter)[0]
        ):
            return view  # the per-request path: one comparison
        if counter is None:
            self._open()
        elif self._given_env is None and self._replaced():
            self._close()
            self._open()
        view = self._view = self._read_view()
        return view

    def status(self) -> dict[str, Any] | None:
        """What `serve` last said about itself (health, source, errors), if anything."""
        self.current()
        assert self._env is not None
        with self._env.begin(db=self._meta) as txn:
            raw = txn.get(META_STATUS)
        try:
            status = json.loads(raw) if raw and len(raw) <= MAX_STATUS else None
        except ValueError:
            return None
        return status if isinstance(status, dict) else None

    def _replaced(self) -> bool:
        """Is the data file another one than the one opened (`serve` moved an unreadable
        one aside)? One stat, when the counter moved."""
        try:
            st = os.stat(data_path(self.directory))
        except OSError:
            return True
        return (st.st_dev, st.st_ino) != self._file

    def _close(self) -> None:
        env, counter = self._env, self._counter
        self._env = self._names = self._meta = self._lists = self._counter = self._view = None
        self._file = None
        self._next_try = 0.0
        if counter is not None:
            counter.close()
        if env is not None:
            env.close()

    def _open(self) -> None:
        now = time.monotonic()
        if now < self._next_try:
            raise SnapshotUnavailableError(f"no shared snapshot: {self._problem}")
        self._next_try = now + RETRY_OPEN
        env = None
        try:
            fd = os.open(generation_path(self.directory), os.O_RDONLY)
            try:
                counter = mmap.mmap(fd, 8, prot=mmap.PROT_READ)
            finally:
                os.close(fd)
            # before opening: a file replaced in between is then opened again later
            st = os.stat(data_path(self.directory))
            env = self._given_env or lmdb.open(
                str(self.directory),
                map_size=MAP_SIZE,
                readonly=True,
                create=False,
                max_dbs=4,
                lock=True,
            )
            _check_length(env, self.directory)  # before the first page is read
            names = env.open_db(NAMES_DB, create=False)
            meta = env.open_db(META_DB, create=False)
            lists = _open_lists(env)
        except (OSError, ValueError, lmdb.Error) as exc:
            if env is not None and env is not self._given_env:
                env.close()
            self._problem = f"{self.directory}: {exc} (is `pphook serve` running?)"
            raise SnapshotUnavailableError(f"no shared snapshot: {self._problem}") from None
        self._env, self._names, self._meta, self._counter = env, names, meta, counter
        self._lists = lists
        self._file = (st.st_dev, st.st_ino)

    def _read_view(self) -> SnapshotView:
        assert self._env is not None and self._counter is not None
        # The view answers to the counter as read before the data: any later move makes
        # it read again, even when the file holds a higher generation than announced
        # (a `serve` killed before announcing, or a file `serve` then refused).
        announced = int(_COUNTER.unpack_from(self._counter)[0])
        try:
            _check_length(self._env, self.directory)
            with self._env.begin(db=self._meta) as txn:
                fmt = txn.get(META_FORMAT)
                generation = txn.get(META_GENERATION)
                zones = txn.get(META_ZONES)
                validated = txn.get(META_VALIDATED)
            if fmt != FORMAT or generation is None or zones is None:
                raise ValueError("nothing published yet" if fmt == FORMAT else "another format")
            if validated != generation:
                raise ValueError(
                    f"generation {int(generation)} is not marked validated (`pphook serve` "
                    "checks what it finds at start, and refuses a damaged file)"
                )
            if self._lists is None:  # `serve` may have created it since
                self._lists = _open_lists(self._env)
            dbs = (self._names, self._meta, self._lists)
            return SnapshotView(self._env, dbs, announced, zones_from_json(zones))
        except (OSError, ValueError, lmdb.Error) as exc:
            raise SnapshotUnavailableError(
                f"the shared snapshot in {self.directory} cannot be served: {exc}"
            ) from None


def _open_lists(env: lmdb.Environment) -> Any:
    """The lists database, or None in a file written before `serve` stored list
    replies (every list reply is then built)."""
    try:
        return env.open_db(LISTS_DB, create=False)
    except lmdb.NotFoundError:
        return None


def length_problem(env: lmdb.Environment, directory: Path) -> str | None:
    """What is wrong with the data file's length, if anything: shorter than its pages
    (truncated: reading a page past its end kills the process with SIGBUS, so this
    runs before any page but the meta pages is read), or longer than the map."""
    pages = (int(env.info()["last_pgno"]) + 1) * int(env.stat()["psize"])
    size = os.stat(data_path(directory)).st_size
    if size < pages:
        return f"truncated: {size} bytes, its pages need {pages}"
    if size > MAP_SIZE:
        return f"{size} bytes, more than the map of {MAP_SIZE}"
    return None


def _check_length(env: lmdb.Environment, directory: Path) -> None:
    problem = length_problem(env, directory)
    if problem:
        raise ValueError(f"{data_path(directory)}: {problem}")
