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
from collections.abc import Mapping
from dataclasses import dataclass

from remote_backend.build.merge import differing_rows, merge_columns, rows_held, same_input
from remote_backend.config import Config
from remote_backend.ipam import IpamReader, make_engine
from remote_backend.ipam.changes import KnownIds, ReadMark
from remote_backend.memory import fix_mmap_threshold
from remote_backend.snapshot import Snapshot, assemble, compute_zone_contents
from remote_backend.snapshot.assemble import with_serials
from remote_backend.snapshot.encoded import fingerprints
from remote_backend.snapshot.extras import zone_facts
from remote_backend.state import SerialFormat, StateStore
from remote_backend.state.floors import secondary_floors
from remote_backend.zones.static import StaticData, StaticFilesError, StaticSource
from validators import Validator
from validators.engine import gc_paused
from validators.model import IpamData, Policy, Publication, ZoneFacts

log = logging.getLogger("pphook.builder")


@dataclass(frozen=True, slots=True)
class Draft:
    """One pass of the chain before serials: the rows, the validators' verdict, and a
    snapshot whose zones have serial 0 and no fingerprint yet.

    """

    data: IpamData
    policy: Policy
    publication: Publication
    snapshot: Snapshot
    seconds: float
    full: bool = True  # False: only the rows that changed since the last build were read


@dataclass(frozen=True, slots=True)
class RowDelta:
    """What an incremental read found: the rows before and after, and which rows differ."""

    old: IpamData
    new: IpamData
    changed: frozenset[int]  # ids of rows that are new or whose values differ
    deleted: frozenset[int]
    tables_changed: bool  # subnets, sections or tags differ (then every row may move)

    @property
    def empty(self) -> bool:
        return not (self.changed or self.deleted or self.tables_changed)


@dataclass(frozen=True, slots=True)
class Build:
    """One pass of the chain with serials, kept together for `check` and `explain`."""

    data: IpamData
    policy: Policy
    publication: Publication
    snapshot: Snapshot
    seconds: float
    full: bool = True
    static: StaticData | None = None  # the static zone files it was built with


class SnapshotBuilder:
    """Runs reader -> validators -> snapshot, with serials from the state store."""

    def __init__(self, config: Config, reader: IpamReader, store: StateStore) -> None:
        fix_mmap_threshold()
        self.config = config
        self.reader = reader
        self.store = store
        # one Validator across refreshes: it remembers hostname verdicts
        self.validator = Validator(config.policy)
        zones = config.zones
        self.static = StaticSource(
            zones.static_dir, zones.member_zone_names, zones.ttl, zones.catalog
        )
        self._generation = 0
        # the rows of the last build and where that read stood, for incremental builds
        self._data: IpamData | None = None
        self._mark: ReadMark | None = None

    def build(self, full: bool = True, *, strict_static: bool = True) -> Build:
        """One pass of the chain with serials (the one-shot verbs: `check`, `explain`,
        `export`); `serve` publishes drafts instead (``build.publisher``). Static files
        that cannot be read are an error here (`serve` keeps their last good content);
        ``strict_static=False``: built without them (`check` lists them itself)."""
        self.static.refresh(log_problems=False)  # raised, or listed by the caller
        if self.static.data.errors and strict_static:
            raise StaticFilesError(sorted(self.static.data.errors.values()))
        draft = self.draft(full, always=True)
        assert draft is not None
        started = time.perf_counter()
        prints = fingerprints(draft.snapshot, self.config.zones)
        serials = self.store.serials_for(prints)
        snapshot = with_serials(draft.snapshot, serials, prints, self.config.zones)
        seconds = draft.seconds + time.perf_counter() - started
        return Build(
            draft.data,
            draft.policy,
            draft.publication,
            snapshot,
            seconds,
            draft.full,
            self.static.data,
        )

    def draft(self, full: bool = True, always: bool = False) -> Draft | None:
        """One pass of the chain up to a snapshot without serials; None when the rows
        and tables read equal the previous pass's (the content is the same: nothing to
        do), unless ``always``. ``full=False``: the caller saw a change token move, and
        only the rows that changed are read again (the result is the same as a full
        read's)."""
        started = time.perf_counter()
        with gc_paused():  # validate's own pause nests inside
            previous = self._data
            data = None if full else self._read_changes()
            incremental = data is not None
            if data is None:
                # rows equal to the last read's come back as its objects: no second copy
                self._data = self._mark = None
                data, self._mark = self.reader.read_marked(
                    previous.columns if previous is not None else None
                )
            unchanged = previous is not None and (data is previous or same_input(previous, data))
            self._data = data
            del previous  # the last rows' lists go before anything new is built
            if unchanged and not always:
                log.debug("no row changed since the last build")
                return None
            static = self.static.data
            publication = self.validator.validate(data, facts=self.facts())
            contents = compute_zone_contents(publication, self.config.zones, static)
            self._generation += 1
            snapshot = assemble(contents, None, self.config.zones, generation=self._generation)
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
        return Draft(data, self.config.policy, publication, snapshot, seconds, not incremental)

    def facts(self) -> ZoneFacts:
        """What the rules must know about the zones now (static files, config)."""
        return zone_facts(self.config.zones, self.static.data)

    @property
    def data(self) -> IpamData | None:
        """The rows of the last read."""
        return self._data

    def read_all(self) -> IpamData:
        """Every row, in one consistent read (kept for the next ``read_delta``)."""
        previous = self._data
        self._data = self._mark = None
        # rows equal to the last read's come back as its objects: no second copy
        data, self._mark = self.reader.read_marked(
            previous.columns if previous is not None else None
        )
        self._data = data
        return data

    def read_delta(self) -> RowDelta | None:
        """The rows that changed since the last read, patched into the rows held; None
        when there is nothing to start from or reading everything is cheaper."""
        previous, mark = self._data, self._mark
        if previous is None or mark is None:
            return None
        columns = previous.columns
        changes = self.reader.read_changes(mark, KnownIds(columns.ids))
        if changes is None:
            return None
        self._mark = changes.mark
        tables_changed = (changes.subnets, changes.sections, changes.tags) != (
            previous.subnets,
            previous.sections,
            previous.tags,
        )
        changed = set(differing_rows(columns, changes.rows))
        aliases = dict(previous.aliases)
        if self.reader.alias_field is not None:
            for row_id in changes.rows.ids:
                new_text = (changes.aliases or {}).get(row_id)
                if aliases.get(row_id) != new_text:
                    changed.add(row_id)
                if new_text is None:
                    aliases.pop(row_id, None)
                else:
                    aliases[row_id] = new_text
            for row_id in changes.deleted:
                aliases.pop(row_id, None)
        deleted = frozenset(changes.deleted)
        if not (changed or deleted or tables_changed):
            return RowDelta(previous, previous, frozenset(), deleted, False)
        merged = merge_columns(columns, changes.rows, changes.deleted)
        new = IpamData.from_columns(
            merged, changes.subnets, changes.sections, changes.tags, aliases
        )
        self._data = new
        return RowDelta(previous, new, frozenset(changed), deleted, tables_changed)

    def draft_of(self, data: IpamData) -> Draft:
        """The chain from rows already read up to a snapshot without serials."""
        started = time.perf_counter()
        with gc_paused():
            static = self.static.data
            publication = self.validator.validate(data, facts=self.facts())
            contents = compute_zone_contents(publication, self.config.zones, static)
            self._generation += 1
            snapshot = assemble(contents, None, self.config.zones, generation=self._generation)
            del contents
        seconds = time.perf_counter() - started
        return Draft(data, self.config.policy, publication, snapshot, seconds, True)

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
        reread = set(changes.rows.ids)
        reread_aliases = {i: t for i, t in previous.aliases.items() if i in reread}
        if (
            not changes.deleted
            and (changes.subnets, changes.sections, changes.tags)
            == (previous.subnets, previous.sections, previous.tags)
            and rows_held(columns, changes.rows)
            and reread_aliases == (changes.aliases or {})
        ):
            return previous  # nothing changed (build() reuses the last snapshot)
        merged = merge_columns(columns, changes.rows, changes.deleted)
        aliases = {
            i: t
            for i, t in previous.aliases.items()
            if i not in changes.deleted and i not in reread
        }
        aliases.update(changes.aliases or {})
        return IpamData.from_columns(
            merged, changes.subnets, changes.sections, changes.tags, aliases
        )


def open_builder(
    config: Config, floors: Mapping[str, int] | None = None, *, edit_dates: bool = True
) -> SnapshotBuilder:
    """Reader + state store + builder for ``config``; ``floors``: serials already served
    from elsewhere (the shared snapshot on disk) that no new serial may go below;
    ``edit_dates`` False: rows without their editDate (``IpamReader``)."""
    engine = make_engine(config.ipam, config.ipam_password())
    secondaries = config.zones.secondaries
    return SnapshotBuilder(
        config,
        IpamReader(engine, config.policy.alias_field, edit_dates=edit_dates),
        StateStore(
            config.state.url,
            SerialFormat(config.zones.serial_format),
            floors=floors,
            # a zone new to the store starts above what the secondaries hold
            floor_source=secondary_floors(secondaries) if secondaries else None,
        ),
    )
