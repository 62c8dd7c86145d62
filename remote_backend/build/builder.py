"""Builds snapshots: reader -> validators -> snapshot, with serials from the state store.

This is the only place that runs that chain, so `serve`, `pipe`, `check`, `explain`
and `export` all publish exactly the same data.

A full build reads every row. An incremental one (``build(full=False)``, what a
refresh after a moved change token asks for) re-reads only the address rows that may
have changed since the last read (new ids, a recent editDate, plus deletions found
by count and id sum; see ``IpamReader.read_changes``), patches them into the rows it
kept, and runs the rest of the chain on the result, which is therefore identical to
a full build. What it cannot see (an UPDATE that sets editDate itself to an old
value) the periodic full build catches (``server.full_reload_interval``).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from remote_backend.build.merge import merge_columns, rows_held, same_input
from remote_backend.config import Config
from remote_backend.ipam import IpamReader, make_engine
from remote_backend.ipam.changes import KnownIds, ReadMark
from remote_backend.memory import fix_mmap_threshold
from remote_backend.snapshot import Snapshot, ZoneContent, assemble, compute_zone_contents
from remote_backend.state import SerialFormat, StateStore
from remote_backend.state.floors import secondary_floors
from validators import Validator
from validators.engine import gc_paused
from validators.model import IpamData, Policy, Publication

log = logging.getLogger("pphook.builder")


@dataclass(frozen=True, slots=True)
class Build:
    """One pass of the chain, kept together for `check` and `explain`.

    Holding a Build keeps its rows and its publication alive; a long-running server
    only needs ``snapshot`` (and counts) once the build is installed.
    """

    data: IpamData
    policy: Policy
    publication: Publication
    snapshot: Snapshot
    seconds: float
    full: bool = True  # False: only the rows that changed since the last build were read


class SnapshotBuilder:
    """Runs reader -> validators -> snapshot, with serials from the state store."""

    def __init__(self, config: Config, reader: IpamReader, store: StateStore) -> None:
        fix_mmap_threshold()
        self.config = config
        self.reader = reader
        self.store = store
        # one Validator across refreshes: it remembers hostname verdicts
        self.validator = Validator(config.policy)
        self._generation = 0
        # the rows of the last build and where that read stood, for incremental builds
        self._data: IpamData | None = None
        self._mark: ReadMark | None = None
        # what the last build made of them: when nothing changed, it is the answer
        self._last: tuple[Publication, list[ZoneContent]] | None = None
        self._last_snapshot: Snapshot | None = None

    def build(self, full: bool = True) -> Build:
        """One pass of the chain. ``full=False``: the caller saw a change token move, and
        only the rows that changed are read again (the result is the same)."""
        started = time.perf_counter()
        with gc_paused():  # validate's own pause nests inside
            previous = self._data
            data = None if full else self._read_changes()
            incremental = data is not None
            if data is not None and data is previous and self._last and self._last_snapshot:
                # The rows read again (recent edits) equal the ones held and no table
                # changed: the last snapshot is the answer. This is what the re-reads
                # after a change (second-granular token) and every refresh during an
                # outage-free idle hour come down to; at 1M rows it saves the merge,
                # comparison and assembly (~1 s) of a build that changes nothing.
                seconds = time.perf_counter() - started
                log.debug("no row changed since snapshot %d", self._last_snapshot.generation)
                return Build(
                    data, self.config.policy, self._last[0], self._last_snapshot, seconds, False
                )
            if data is None:
                # rows equal to the last read's come back as its objects: no second copy
                self._data = self._mark = None
                data, self._mark = self.reader.read_marked(
                    previous.columns if previous is not None else None
                )
            self._data = data
            self._last_snapshot = None  # set again only once this build has completed
            last, self._last = self._last, None
            same = last is not None and previous is not None and same_input(previous, data)
            # the last rows' lists (8 per million rows) go before anything new is built
            del previous
            if last is not None and same:
                publication, contents = last  # same rows, same tables: same result
            else:
                del last  # before the new ones are built: one set at a time
                publication = self.validator.validate(data)
                contents = compute_zone_contents(publication, self.config.zones)
            self._last = (publication, contents)
            serials = self.store.serials_for({c.name: c.fingerprint for c in contents})
            self._generation += 1
            snapshot = assemble(contents, serials, self.config.zones, generation=self._generation)
            self._last_snapshot = snapshot
            del contents
        seconds = time.perf_counter() - started
        log.info(
            "snapshot %d built (%s): %d addresses, %d records in %d zones, %d rejected, %.3f s",
            snapshot.generation,
            "changed rows" if incremental else "full read",
            len(data.addresses),
            snapshot.record_count,
            len(snapshot.zones),
            sum(1 for f in publication.findings if f.is_problem),
            seconds,
        )
        return Build(data, self.config.policy, publication, snapshot, seconds, not incremental)

    def _read_changes(self) -> IpamData | None:
        """The last build's rows with what changed since patched in; None when there is
        nothing to start from or reading everything is cheaper."""
        previous, mark = self._data, self._mark
        if previous is None or mark is None:
            return None
        columns = previous.columns
        changes = self.reader.read_changes(mark, KnownIds(columns.ids))
        if changes is None:
            return None
        self._mark = changes.mark
        if (
            not changes.deleted
            and (changes.subnets, changes.sections, changes.tags)
            == (previous.subnets, previous.sections, previous.tags)
            and rows_held(columns, changes.rows)
        ):
            return previous  # nothing changed (build() reuses the last snapshot)
        merged = merge_columns(columns, changes.rows, changes.deleted)
        return IpamData.from_columns(merged, changes.subnets, changes.sections, changes.tags)


def open_builder(config: Config) -> SnapshotBuilder:
    """Reader + state store + builder for ``config``."""
    engine = make_engine(config.ipam, config.ipam_password())
    secondaries = config.zones.secondaries
    return SnapshotBuilder(
        config,
        IpamReader(engine),
        StateStore(
            config.state.url,
            SerialFormat(config.zones.serial_format),
            # a zone new to the store starts above what the secondaries hold
            floor_source=secondary_floors(secondaries) if secondaries else None,
        ),
    )
