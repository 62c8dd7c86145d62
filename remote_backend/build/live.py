"""Keeps the shared snapshot fresh: polls phpIPAM, rebuilds what changed, publishes it,
and keeps the last good publication served through database outages.

`serve` runs one ``LiveSnapshot``. What it publishes lives in the shared snapshot
(``remote_backend/shared``): pdns's coprocesses and `serve`'s own unix socket answer
from there, so nothing is served from this process's memory and a restart serves the
last publication at once, database or not.
"""

from __future__ import annotations

import gc
import logging
import threading
import time
from collections.abc import Callable

from remote_backend.build.builder import SnapshotBuilder
from remote_backend.build.incremental import IncrementalPublisher
from remote_backend.build.merge import same_input
from remote_backend.build.publisher import Published, Publisher
from remote_backend.errors import (
    CustomFieldError,
    PphookError,
    SharedSnapshotError,
    StateStoreError,
)
from remote_backend.ipam import ChangeToken
from remote_backend.memory import release_free_memory
from remote_backend.monitor.health import CircuitBreaker, CircuitState, Health
from remote_backend.shared.layout import ZoneMeta
from remote_backend.shared.writer import SharedSnapshot
from validators.engine import gc_paused

log = logging.getLogger("pphook.service")

STATUS_INTERVAL = 5.0  # seconds between two status records in the shared snapshot
# Stored ``list`` replies (shared/lists.py): built once no new generation came for
# LIST_QUIET seconds (a transfer follows a change by seconds: NOTIFY, then the
# secondary's SOA query), at most LIST_BUDGET seconds of zones started per round, and
# only for zones up to LIST_MAX_RECORDS records: a bigger zone's reply takes seconds to
# build and its C-level steps would hold the GIL for tens of ms each, long enough to
# delay the next poll; its transfers build the reply as before.
LIST_QUIET = 5.0
LIST_BUDGET = 5.0
LIST_MAX_RECORDS = 250_000
PHPIPAM = "phpIPAM"
STATE_STORE = "state store"


class LiveSnapshot:
    """The publication `serve` keeps current, and a background thread that refreshes it.

    Every ``server.refresh_interval`` seconds it asks the database for a cheap change
    token; only when that moves (or every ``server.full_reload_interval`` seconds, as a
    safety net) does it rebuild, and only what differs from the shared snapshot is
    written.

    When the database fails, the last publication keeps being served (its serials do
    not move) and a circuit breaker spaces out the retries.
    """

    def __init__(
        self,
        builder: SnapshotBuilder,
        shared: SharedSnapshot,
        on_change: Callable[[Published], None] | None = None,
    ) -> None:
        self.builder = builder
        self.shared = shared
        self.publisher = Publisher(shared, builder.store, builder.config.zones)
        self.incremental = IncrementalPublisher(
            shared, builder.store, builder.config.zones, builder.validator
        )
        self.on_change = on_change
        server = builder.config.server
        self.breaker = CircuitBreaker(server.breaker_failures, server.breaker_cooldown)
        self.zones: tuple[ZoneMeta, ...] | None = None  # what is published now
        self.generation = 0
        self.published_at: float | None = None
        self.source = "none"  # "database" or "persisted"
        self.last_error: str | None = None
        self.last_error_source = PHPIPAM  # what last_error is about: PHPIPAM or STATE_STORE
        self.last_success: float | None = None
        self.last_build_seconds = 0.0
        self.refreshes = 0
        self.changes = 0
        self.db_errors = 0
        self.rejections: dict[str, int] = {}
        self.static_errors: dict[str, str] = {}  # zone or file -> why it is not (re)read
        self._token: ChangeToken | None = None
        self._in_sync = False  # the last draft was published completely
        self._trim_due = False  # a build was released: give its pages back next tick
        self._last_full = 0.0
        self._last_status = 0.0
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._published_at_mono = 0.0  # monotonic time of the last new generation

    # -- building ----------------------------------------------------------------

    def refresh(self, force: bool = False) -> bool:
        """Publish what changed in the database; True when a new generation changed
        what is served.

        The cyclic GC stays out of it: each change makes new lists of every row's
        column (the merged rows), and a collection triggered by a refresh's
        allocations would scan them (~0.2 s per change at 1M addresses) before the
        change is published; nothing a refresh builds forms reference cycles. After a
        full publication everything is collected once and what is alive is frozen
        (millions of rows, never scanned again; still freed by reference counting).
        Only then: an object frozen while alive and dropped later in a cycle (a
        closed connection) waits for the next full publication's collection."""
        generation = self.generation
        with gc_paused():
            changed = self._refresh(force)
        if self.generation != generation and self._trim_due:
            gc.unfreeze()
            gc.collect()
            gc.freeze()
        return changed

    def _refresh(self, force: bool) -> bool:
        reader = self.builder.reader
        # static zone files are re-read when they change (a parse error keeps the last
        # good content of that zone); any change there means a full build
        static_moved = self.builder.static.refresh()
        self.static_errors = dict(self.builder.static.data.errors)
        token = reader.change_token()
        full_due = (
            time.monotonic() - self._last_full >= self.builder.config.server.full_reload_interval
        )
        fresh = self.source == "database" and self._in_sync
        if not (
            force or full_due or static_moved or not fresh or token != self._token or token.settle
        ):
            self.last_success = time.time()
            return False
        full = force or full_due or static_moved or not fresh or not self.incremental.ready
        published: Published | None = None
        data = None
        index_due = None  # rows whose group index is built once DNS serves them
        if not full:
            delta = self.builder.read_delta()
            if delta is not None and delta.empty:
                self._done(token, full=False)
                return False
            if delta is not None:
                self._in_sync = False
                published = self.incremental.apply(delta)
                if published is None:  # the small tables changed: rebuild everything
                    data = delta.new
                else:
                    self.last_build_seconds = published.seconds
                    self.rejections = self.incremental.rejections()
        if published is None:
            previous = self.builder.data
            if data is None:
                data = self.builder.read_all()
            unchanged = previous is not None and same_input(previous, data) and not static_moved
            if unchanged and self._in_sync and self.source == "database":
                self._done(token, full=True)
                return False
            self._in_sync = False
            draft = self.builder.draft_of(data)
            self.last_build_seconds = draft.seconds
            published = self.publisher.publish(draft.snapshot)
            # DNS answers the new generation from here on. The group index only the
            # next changes need is built after it (at 1M addresses it is seconds that
            # a cold start no longer waits for) and after the draft is freed.
            self.incremental.reset(
                data,
                draft.snapshot,
                draft.publication,
                published,
                self.builder.static.data,
                build_index=False,
            )
            # counted as the incremental publications count them (a row once per code)
            self.rejections = self.incremental.rejections()
            del draft
            index_due = data
            full = True
        self._in_sync = True
        self._done(token, full=full)
        self.zones = published.zones
        self.generation = published.generation
        self.published_at = time.time()
        self.source = "database"
        self._trim_due = full
        changed = self._changed(published)
        if index_due is not None:
            self.incremental.build_index(index_due)
        return changed

    def _changed(self, published: Published) -> bool:
        """Count a publication that changed answers and run the change hook (the purge
        of pdns's caches); True when it changed answers."""
        if not published.changed_names:
            return False
        self.changes += 1
        if self.on_change is not None:
            try:
                self.on_change(published)
            except Exception:  # a purge failing must not stop refreshing
                log.exception("change hook failed")
        return True

    def _done(self, token: ChangeToken, *, full: bool) -> None:
        self.refreshes += 1
        if full:
            self._last_full = time.monotonic()
        self._token = token
        self.last_success = time.time()
        self.last_error = None

    def load_persisted(self) -> bool:
        """Serve the last publication found in the shared snapshot (start-up with the
        database down): its zones must be the configured ones."""
        try:
            zones = self.shared.stored_zones()
        except SharedSnapshotError as exc:
            log.error("%s", exc)
            return False
        if not zones:
            return False
        wanted = self.builder.config.zones.all_zone_names
        if tuple(z.name for z in sorted(zones, key=lambda z: z.id)) != wanted:
            log.error(
                "the shared snapshot serves zones %s, the config %s: not serving it; "
                "waiting for phpIPAM",
                ", ".join(z.name for z in zones),
                ", ".join(wanted),
            )
            return False
        self.zones = zones
        self.generation = self.shared.generation()
        self.source = "persisted"
        log.warning(
            "serving the last publication (generation %d, %d zones, %d records): phpIPAM "
            "is unreachable; serials stay as they were until it is back",
            self.generation,
            len(zones),
            sum(z.record_count for z in zones),
        )
        return True

    # -- health --------------------------------------------------------------------

    def health(self) -> Health:
        if self.zones is None:
            return Health.UNHEALTHY
        if self.source != "database" or self.breaker.state is not CircuitState.CLOSED:
            return Health.DEGRADED
        if self.last_error is not None or self.static_errors:
            return Health.DEGRADED
        return Health.HEALTHY

    def status(self) -> dict[str, object]:
        """What `pphook check` and the metrics report about the running server."""
        zones = self.zones or ()
        return {
            "health": self.health().value,
            "source": self.source,
            "circuit": self.breaker.state.value,
            "consecutive_failures": self.breaker.consecutive_failures,
            "last_error": self.last_error,
            "last_success": self.last_success,
            "snapshot_built_at": self.published_at,
            "snapshot_generation": self.generation if self.zones is not None else None,
            "snapshot_records": sum(z.record_count for z in zones),
            "last_build_seconds": self.last_build_seconds,
            "refreshes": self.refreshes,
            "changes": self.changes,
            "db_errors": self.db_errors,
            "rejections": dict(self.rejections),
            "static_errors": sorted(self.static_errors.values()),
            "zones": [
                {"zone": z.name, "serial": z.serial, "records": z.record_count} for z in zones
            ],
        }

    def serials(self) -> dict[str, int]:
        """The serial of each published zone (empty before the first publication)."""
        return {z.name: z.serial for z in self.zones or ()}

    # -- background threads ----------------------------------------------------------

    def start(self) -> None:
        self._threads = [
            threading.Thread(target=self._run, name="pphook-refresh", daemon=True),
            threading.Thread(target=self._run_lists, name="pphook-lists", daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=10)

    def tick(self, *, starting: bool = False) -> None:
        """One refresh attempt through the circuit breaker (``starting``: the first,
        which raises CustomFieldError instead of serving on without aliases)."""
        if self._trim_due:
            # one tick after a publication: the build's objects are gone by now
            self._trim_due = False
            started = time.perf_counter()
            release_free_memory()
            log.debug("freed memory returned in %.3f s", time.perf_counter() - started)
        try:
            freed = self.shared.reader_check()
            if freed:
                log.debug("freed %d reader slots of exited coprocesses", freed)
        except Exception:  # bookkeeping only
            log.debug("reader check failed", exc_info=True)
        if self.breaker.allow():
            try:
                self.refresh()
            except (StateStoreError, SharedSnapshotError) as exc:
                # not phpIPAM's fault: say so, and keep the breaker for the database
                self._failed(str(exc), database=False)
            except CustomFieldError as exc:
                if starting:
                    raise  # the config asks for what phpIPAM lacks: no outage to wait out
                self._failed(str(exc))
            except PphookError as exc:
                self._failed(str(exc))
            except Exception as exc:
                log.exception("refresh failed unexpectedly, serving the last publication")
                self._failed(f"{type(exc).__name__}: {exc}")
            else:
                if (
                    self.breaker.state is not CircuitState.CLOSED
                    or self.breaker.consecutive_failures
                ):
                    log.info("phpIPAM reachable again; circuit closed")
                self.breaker.success()
        self._write_status()

    def store_lists(self) -> int:
        """The ``list`` replies of zones whose names moved, built once here instead of
        in every AXFR's coprocess (``shared/lists.py``); the number stored."""
        if self.zones is None:
            return 0
        try:
            return self.shared.store_lists(LIST_BUDGET, max_records=LIST_MAX_RECORDS)
        except Exception:  # a cache only: transfers build the reply themselves
            log.warning("cannot store list replies in the shared snapshot", exc_info=True)
            return 0

    def _write_status(self) -> None:
        now = time.monotonic()
        if now - self._last_status < STATUS_INTERVAL:
            return
        self._last_status = now
        try:
            self.shared.set_status(self.status())
        except Exception:
            log.debug("cannot write the status into the shared snapshot", exc_info=True)

    def _failed(self, message: str, database: bool = True) -> None:
        """A refresh failed: phpIPAM's failures count (pphook_db_errors) and open the
        circuit; the state store's or the shared snapshot's are said to be theirs."""
        source = PHPIPAM if database else STATE_STORE
        was = self.breaker.state
        if database:
            self.db_errors += 1
            self.breaker.failure()
        if self.last_error != message or was is not self.breaker.state:
            log.warning(
                "refresh failed (%s, circuit %s), serving the last publication: %s",
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
            generation = self.generation
            self.tick()
            if self.generation != generation:
                self._published_at_mono = time.monotonic()

    def _run_lists(self) -> None:
        # Its own thread, so a reply being built never delays a poll (the refresh
        # thread takes the GIL back between the builder's C-level steps); and only once
        # the zones have been quiet for LIST_QUIET seconds, so a phpIPAM that changes all
        # the time does not keep a core busy with replies the next change drops.
        interval = self.builder.config.server.refresh_interval
        while not self._stop.wait(max(interval, 0.1)):
            if time.monotonic() - self._published_at_mono >= max(LIST_QUIET, interval):
                self.store_lists()
