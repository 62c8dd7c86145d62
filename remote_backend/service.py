"""Keeps the current snapshot fresh: polls phpIPAM, rebuilds, swaps atomically."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from remote_backend.builder import Build, SnapshotBuilder, open_builder
from remote_backend.errors import IpamError, PphookError
from remote_backend.ipam import ChangeToken
from remote_backend.snapshot import Snapshot

__all__ = ["Build", "LiveSnapshot", "SnapshotBuilder", "open_builder"]

log = logging.getLogger("pphook.service")


class LiveSnapshot:
    """The current snapshot plus a background thread that refreshes it.

    Every ``server.refresh_interval`` seconds it asks the database for a cheap change
    token; only when that moves (or every ``server.full_reload_interval`` seconds, as a
    safety net) does it rebuild. The new snapshot replaces the old one with a single
    reference assignment, which is atomic for readers in other threads.
    """

    def __init__(
        self,
        builder: SnapshotBuilder,
        on_change: Callable[[Snapshot, Snapshot], None] | None = None,
    ) -> None:
        self.builder = builder
        self.on_change = on_change
        self.current: Snapshot | None = None
        self.last_build: Build | None = None
        self.last_error: str | None = None
        self.last_success: float | None = None
        self._token: ChangeToken | None = None
        self._last_full = 0.0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def get(self) -> Snapshot:
        snapshot = self.current
        if snapshot is None:
            raise PphookError("no snapshot yet: the phpIPAM database has not been read")
        return snapshot

    def refresh(self, force: bool = False) -> bool:
        """Rebuild when the database changed; True when a new snapshot was installed."""
        reader = self.builder.reader
        token = reader.change_token()
        full_due = (
            time.monotonic() - self._last_full >= self.builder.config.server.full_reload_interval
        )
        if not (force or full_due or self.current is None or token != self._token or token.settle):
            return False
        full = force or full_due or self.current is None
        build = self.builder.build(full=full)
        self._last_full = time.monotonic() if full else self._last_full
        self._token = token
        self.last_build = build
        self.last_success = time.time()
        self.last_error = None
        old = self.current
        if old is not None and _same_content(old, build.snapshot):
            return False
        self.current = build.snapshot
        if old is not None and self.on_change is not None:
            try:
                self.on_change(old, build.snapshot)
            except Exception:  # a purge failing must not stop refreshing
                log.exception("change hook failed")
        return True

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="pphook-refresh", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _run(self) -> None:
        interval = self.builder.config.server.refresh_interval
        while not self._stop.wait(interval):
            try:
                self.refresh()
            except (IpamError, PphookError) as exc:
                if self.last_error != str(exc):
                    log.warning("refresh failed, serving the last snapshot: %s", exc)
                self.last_error = str(exc)
            except Exception:
                log.exception("refresh failed unexpectedly, serving the last snapshot")


def _same_content(a: Snapshot, b: Snapshot) -> bool:
    return [(z.name, z.fingerprint, z.serial) for z in a.zones] == [
        (z.name, z.fingerprint, z.serial) for z in b.zones
    ]
