"""Builds snapshots: reader -> validators -> snapshot, with serials from the state store.

This is the only place that runs that chain, so `serve`, `pipe`, `check`, `explain`
and `export` all publish exactly the same data.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from remote_backend.config import Config
from remote_backend.ipam import IpamReader, make_engine
from remote_backend.snapshot import Snapshot, assemble, compute_zone_contents
from remote_backend.state import SerialFormat, StateStore
from validators import Validator
from validators.model import IpamData, Policy, Publication

log = logging.getLogger("pphook.builder")


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

    def build(self, full: bool = True) -> Build:
        """One pass of the chain. ``full=False``: the caller saw a change token move and
        a cheaper incremental read may be used (the result must be identical)."""
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
    return SnapshotBuilder(
        config,
        IpamReader(engine),
        StateStore(config.state.url, SerialFormat(config.zones.serial_format)),
    )
