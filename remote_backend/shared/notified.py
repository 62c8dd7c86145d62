"""Notified serials (pdns primary mode), kept by the coprocesses themselves.

pdns's communicator asks ``getUpdatedMasters`` and reports ``setNotified`` on one
long-lived backend instance, a coprocess. Those answers must be fast and must never
fail (an error there makes pdns exit), so the coprocess keeps them in a small LMDB
environment of its own next to the snapshot, never waiting for `serve` or a database.
They describe what this host's pdns has notified, so they are per host.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path

import lmdb

from remote_backend.shared.layout import DATA_FILE, NOTIFIED_DIR

log = logging.getLogger("pphook.shared")

_MAP_SIZE = 1 << 26  # 64 MiB: a few bytes per zone
_SERIAL_MAX = (1 << 32) - 1


class SharedNotified:
    """``protocol.handler.NotifiedSerials`` over ``<snapshot_dir>/notified``."""

    def __init__(self, snapshot_dir: str | Path) -> None:
        self.directory = Path(snapshot_dir) / NOTIFIED_DIR
        self._env: lmdb.Environment | None = None

    def _opened(self) -> lmdb.Environment:
        env = self._env
        if env is None:
            env = self._env = lmdb.open(
                str(self.directory), map_size=_MAP_SIZE, max_dbs=1, mode=0o660, create=False
            )
        return env

    def get_all(self) -> Mapping[str, int]:
        """Zone -> notified serial; entries that are not what ``set`` writes (a zone
        name in ASCII, a 32-bit serial in digits) are left out."""
        with self._opened().begin() as txn:
            return {
                k.decode(): int(v)
                for k, v in txn.cursor()
                if k.isascii() and len(v) <= 10 and v.isdigit() and int(v) <= _SERIAL_MAX
            }

    def floors(self) -> Mapping[str, int]:
        """``get_all`` for `serve`'s start: nothing (and a warning) when the environment
        is missing or cannot be read, instead of an error that stops `serve`."""
        if not (self.directory / DATA_FILE).exists():
            return {}
        try:
            return self.get_all()
        except (lmdb.Error, OSError) as exc:
            log.warning(
                "notified serials in %s cannot be read (%s): not used as floors",
                self.directory,
                exc,
            )
            return {}

    def set(self, zone: str, serial: int) -> None:
        with self._opened().begin(write=True) as txn:
            txn.put(zone.encode(), str(serial).encode())
