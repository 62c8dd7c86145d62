"""Builds snapshots from phpIPAM and keeps the current one fresh.

reader -> validators -> snapshot: this module is the only place that runs that chain,
so `serve`, `pipe`, `check`, `explain` and `export` all publish exactly the same data.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from remote_backend.config import Config
from remote_backend.errors import IpamError, PphookError
from remote_backend.ipam import ChangeToken, IpamReader, make_engine
from remote_backend.snapshot import Snapshot, assemble, compute_zone_contents
from remote_backend.state import StateStore
from validators import Validator
from validators.model import IpamData, Policy, Publication

log = logging.getLogger("pphook.service")


@dataclass(frozen=True, slots=True)
class Build:
    """One pass of the chain, kept together for `check` and `explain`."""

    data: IpamData
    policy: Policy
    publication: Publication
    snapshot: Snapshot
    seconds: float


class SnapshotBuilder:
    """Runs reader -> validators -> snapshot once, with serials from the state store."""

    def __init__(self, config: Config, reader: IpamReader, store: StateStore) -> None:
        self.config = config
        self.reader = reader
        self.store = store
        # one Validator across refreshes: it remembers hostname verdicts
        self.validator = Validator(config.policy)
        self._generation = 0

    def build(self) -> Build:
        started = time.perf_counter()
        data = self.reader.read()
        publication = self.validator.validate(data)
        contents = compute_zone_contents(publication, self.config.zones)
        serials = self.store.serials_for({c.name: c.fingerprint for c in contents})
        self._generation += 1
        snapshot = assemble(contents, serials, self.config.zones, generation=self._generation)
        seconds = time.perf_counter() - started
        log.info(
            "snapshot %d built: %d addresses read, %d records in %d zones, %d rejected, %.3f s",
            snapshot.generation,
            len(data.addresses),
            snapshot.record_count,
            len(snapshot.zones),
            sum(1 for f in publication.findings if f.is_problem),
            seconds,
        )
        return Build(data, self.config.policy, publication, snapshot, seconds)


def open_builder(config: Config) -> SnapshotBuilder:
    """Reader + state store + builder for ``config``."""
    engine = make_engine(config.ipam, config.ipam_password())
    return SnapshotBuilder(config, IpamReader(engine), StateStore(config.state.url))


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
        build = self.builder.build()
        self._last_full = time.monotonic() if (force or full_due) else self._last_full
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
