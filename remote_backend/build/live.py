"""Keeps the current snapshot fresh: polls phpIPAM, rebuilds, swaps atomically,
and keeps serving the last good snapshot through database outages."""

from __future__ import annotations

import gc
import logging
import threading
import time
from collections import Counter
from collections.abc import Callable

from sqlalchemy import exc as sa_exc

from remote_backend.build.builder import SnapshotBuilder
from remote_backend.errors import PphookError, SnapshotUnavailableError, StateStoreError
from remote_backend.ipam import ChangeToken
from remote_backend.memory import release_free_memory
from remote_backend.monitor.health import CircuitBreaker, CircuitState, Health
from remote_backend.snapshot import Snapshot
from remote_backend.state.persist import snapshot_from_payload, snapshot_payload

log = logging.getLogger("pphook.service")

PERSIST_INTERVAL = 60.0  # seconds between two saves of the snapshot in the state store
PHPIPAM = "phpIPAM"
STATE_STORE = "state store"


class LiveSnapshot:
    """The current snapshot plus a background thread that refreshes it.

    Every ``server.refresh_interval`` seconds it asks the database for a cheap change
    token; only when that moves (or every ``server.full_reload_interval`` seconds, as a
    safety net) does it rebuild. The new snapshot replaces the old one with a single
    reference assignment, which is atomic for readers in other threads.

    When the database fails, the last good snapshot keeps being served (its serials do
    not move) and a circuit breaker spaces out the retries; the last good snapshot is
    also saved in the state store so a restart during an outage still has data.
    """

    def __init__(
        self,
        builder: SnapshotBuilder,
        on_change: Callable[[Snapshot, Snapshot], None] | None = None,
        *,
        persist: bool = True,
    ) -> None:
        self.builder = builder
        self.on_change = on_change
        server = builder.config.server
        self.breaker = CircuitBreaker(server.breaker_failures, server.breaker_cooldown)
        self.current: Snapshot | None = None
        self.source = "none"  # "database" or "persisted"
        self.last_error: str | None = None
        self.last_error_source = PHPIPAM  # what last_error is about: PHPIPAM or STATE_STORE
        self.last_success: float | None = None
        self.last_build_seconds = 0.0
        self.refreshes = 0
        self.changes = 0
        self.db_errors = 0
        self.rejections: dict[str, int] = {}
        self._persist = persist
        self._persist_lock = threading.Lock()
        self._persist_wanted = threading.Event()
        self._token: ChangeToken | None = None
        self._trim_due = False  # a snapshot was replaced: give its pages back next tick
        self._last_full = 0.0
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def get(self) -> Snapshot:
        snapshot = self.current
        if snapshot is None:
            raise SnapshotUnavailableError(
                "no snapshot yet: phpIPAM has not been read and none was persisted"
            )
        return snapshot

    # -- building ----------------------------------------------------------------

    def refresh(self, force: bool = False) -> bool:
        """Rebuild when the database changed; True when a new snapshot was installed."""
        reader = self.builder.reader
        token = reader.change_token()
        full_due = (
            time.monotonic() - self._last_full >= self.builder.config.server.full_reload_interval
        )
        fresh = self.source == "database"
        if not (force or full_due or not fresh or token != self._token or token.settle):
            self.last_success = time.time()
            return False
        full = force or full_due or not fresh
        build = self.builder.build(full=full)
        self.refreshes += 1
        self._last_full = time.monotonic() if full else self._last_full
        self._token = token
        self.last_success = time.time()
        self.last_error = None
        self.last_build_seconds = build.seconds
        self.rejections = dict(
            Counter(f.code.value for f in build.publication.findings if f.is_problem)
        )
        old = self.current
        self.source = "database"
        if old is not None and _same_content(old, build.snapshot):
            return False
        self.current = build.snapshot
        self.changes += 1
        if old is None:
            # Millions of long-lived objects: keep the cyclic collector from rescanning
            # them after every build (they are still freed by reference counting).
            gc.freeze()
        if self._persist:
            self._persist_wanted.set()
        if old is not None and self.on_change is not None:
            try:
                self.on_change(old, build.snapshot)
            except Exception:  # a purge failing must not stop refreshing
                log.exception("change hook failed")
        self._trim_due = old is not None
        return True

    def load_persisted(self) -> bool:
        """Serve the snapshot saved in the state store (start-up with the DB down)."""
        try:
            saved = self.builder.store.load_snapshot()
            if saved is None:
                return False
            payload, saved_at = saved
            snapshot = snapshot_from_payload(payload, self.builder.config.zones)
        except (PphookError, OSError, sa_exc.SQLAlchemyError) as exc:
            log.error("cannot load the persisted snapshot: %s", exc)
            return False
        self.current = snapshot
        self.source = "persisted"
        log.warning(
            "serving the snapshot persisted at %s (%d zones, %d records): phpIPAM is "
            "unreachable; serials stay as they were until it is back",
            time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(saved_at)),
            len(snapshot.zones),
            snapshot.record_count,
        )
        return True

    def _save(self) -> None:
        snapshot = self.current
        if snapshot is None:
            return
        try:
            payload, digest = snapshot_payload(snapshot)
            if self.builder.store.save_snapshot(payload, digest):
                log.debug("snapshot %d persisted (%d bytes)", snapshot.generation, len(payload))
        except Exception as exc:  # the store being down must not stop serving
            log.warning("cannot persist the snapshot in the state store: %s", exc)

    # -- health --------------------------------------------------------------------

    def health(self) -> Health:
        if self.current is None:
            return Health.UNHEALTHY
        if self.source != "database" or self.breaker.state is not CircuitState.CLOSED:
            return Health.DEGRADED
        if self.last_error is not None:
            return Health.DEGRADED
        return Health.HEALTHY

    def status(self) -> dict[str, object]:
        """What `pphook check` and the metrics report about the running server."""
        snap = self.current
        return {
            "health": self.health().value,
            "source": self.source,
            "circuit": self.breaker.state.value,
            "consecutive_failures": self.breaker.consecutive_failures,
            "last_error": self.last_error,
            "last_success": self.last_success,
            "snapshot_built_at": snap.built_at if snap else None,
            "snapshot_generation": snap.generation if snap else None,
            "snapshot_records": snap.record_count if snap else 0,
            "last_build_seconds": self.last_build_seconds,
            "refreshes": self.refreshes,
            "changes": self.changes,
            "db_errors": self.db_errors,
            "rejections": dict(self.rejections),
            "zones": [
                {"zone": z.name, "serial": z.serial, "records": z.record_count}
                for z in (snap.zones if snap else ())
            ],
        }

    # -- background threads ----------------------------------------------------------

    def start(self) -> None:
        self._threads = [threading.Thread(target=self._run, name="pphook-refresh", daemon=True)]
        if self._persist:
            self._threads.append(
                threading.Thread(target=self._persist_loop, name="pphook-persist", daemon=True)
            )
            if self.source == "database":
                self._persist_wanted.set()
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._persist_wanted.set()
        for thread in self._threads:
            thread.join(timeout=10)

    def tick(self) -> None:
        """One refresh attempt through the circuit breaker."""
        if self._trim_due:
            # one tick after a swap: by now the lookup threads have moved to the new
            # snapshot and dropped their caches of the old one
            self._trim_due = False
            started = time.perf_counter()
            release_free_memory()
            log.debug("freed memory returned in %.3f s", time.perf_counter() - started)
        if not self.breaker.allow():
            return
        try:
            self.refresh()
        except StateStoreError as exc:  # phpIPAM was read; the serials could not be had
            self._failed(str(exc), STATE_STORE)
        except PphookError as exc:
            self._failed(str(exc))
        except Exception as exc:
            log.exception("refresh failed unexpectedly, serving the last snapshot")
            self._failed(f"{type(exc).__name__}: {exc}")
        else:
            if self.breaker.state is not CircuitState.CLOSED or self.breaker.consecutive_failures:
                log.info("phpIPAM reachable again; circuit closed")
            self.breaker.success()

    def _failed(self, message: str, source: str = PHPIPAM) -> None:
        if source == PHPIPAM:  # pphook_db_errors counts phpIPAM's failures only
            self.db_errors += 1
        was = self.breaker.state
        self.breaker.failure()
        if self.last_error != message or was is not self.breaker.state:
            log.warning(
                "refresh failed (%s, circuit %s), serving the last snapshot: %s",
                source,
                self.breaker.state.value,
                message,
            )
        self.last_error = message
        self.last_error_source = source

    def _run(self) -> None:
        # A fixed cadence: the time a rebuild took counts towards the next wait, so a
        # change made during a build is picked up one interval after the last check,
        # not one interval after the build ended.
        interval = self.builder.config.server.refresh_interval
        started = time.monotonic()
        while not self._stop.wait(max(0.0, interval - (time.monotonic() - started))):
            started = time.monotonic()
            self.tick()

    def _persist_loop(self) -> None:
        while not self._stop.is_set():
            self._persist_wanted.wait()
            if self._stop.is_set():
                return
            self._persist_wanted.clear()
            self._save()
            # Serialising a big snapshot costs CPU the lookups and the next build need;
            # the copy only matters for a restart during an outage, so once a minute
            # is plenty (a burst of changes costs one write).
            self._stop.wait(PERSIST_INTERVAL)


def _same_content(a: Snapshot, b: Snapshot) -> bool:
    return [(z.name, z.fingerprint, z.serial) for z in a.zones] == [
        (z.name, z.fingerprint, z.serial) for z in b.zones
    ]
