"""Read phpIPAM rows into validator input, read-only, each call in one consistent
transaction. Columns are always named (custom columns and column order do not matter).

Address rows come as columns (``validators.model.AddressColumns``), read on a raw
DB-API connection: on MariaDB/MySQL a chunk of ids at a time as one ``GROUP_CONCAT``
string split in C (see ``transaction.CHUNK_SQL``), otherwise row by row. The address
``description`` is not read: no rule uses it. ``read_changes`` re-reads only what
may have changed since an earlier read (incremental builds).
"""

from __future__ import annotations

import logging
import os
import time
from bisect import bisect_left
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from remote_backend.config import redact_url
from remote_backend.errors import CustomFieldError, IpamError
from remote_backend.ipam import tables as t
from remote_backend.ipam.changes import (
    AddressChanges,
    ChangeToken,
    KnownIds,
    ReadMark,
    bucket_shift,
    differing_buckets,
)
from remote_backend.ipam.transaction import ChangeScan, ReadTransaction
from validators.model import AddressColumns, IpamData

log = logging.getLogger("pphook.ipam")

# From this many rows held, ``read_changes`` scans the table in two halves at once
# (``_changed_ids``): at 100k rows the scan takes ~60 ms, at 1M ~0.6 s.
PARALLEL_SCAN_ROWS = 100_000


class IpamReader:
    """Everything pphook reads from phpIPAM, each call in one read-only transaction."""

    def __init__(
        self, engine: Engine, alias_field: str | None = None, *, edit_dates: bool = True
    ) -> None:
        """``edit_dates`` False: rows come without their editDate (None), for a reader
        that keeps a million rows and never shows when one was edited (`serve`: 18 MiB
        of RSS at 1M addresses). Changes are still found by editDate, in SQL."""
        self.engine = engine
        self.alias_field = alias_field  # policy.alias_field: a custom column to read
        self.edit_dates = edit_dates
        self.backend = engine.url.get_backend_name()
        self.database = engine.url.database
        # the database's clock (epoch seconds) when the last read began (see change_token)
        self._last_read_started: int | None = None
        self._dbapi_error: type[Exception] = getattr(
            engine.dialect.loaded_dbapi, "Error", sa.exc.DBAPIError
        )

    def describe(self) -> str:
        return redact_url(self.engine.url.render_as_string(hide_password=True))

    def fail(self, exc: Exception, doing: str) -> IpamError:
        detail = str(getattr(exc, "orig", None) or exc).splitlines()[0]
        return IpamError(
            f"cannot {doing} the phpIPAM database at {self.describe()}: {detail} "
            "(check ipam.url, ipam.password_file, that the server runs and that the "
            "account has SELECT on the phpIPAM tables)"
        )

    def read(self) -> IpamData:
        """All addresses, subnets, sections and tags, from one consistent read."""
        return self.read_marked()[0]

    def read_marked(self, previous: AddressColumns | None = None) -> tuple[IpamData, ReadMark]:
        """``read()``, plus the mark a later ``read_changes`` starts from; values equal
        to those of ``previous`` (rows of an earlier read) are its objects."""
        with self._transaction("read") as tx:
            mark = tx.mark()
            subnets, sections, tags = tx.small_tables()
            columns = self._dated(tx.addresses(previous))
            aliases = self._aliases(tx)
        self._last_read_started = mark.db_time
        return IpamData.from_columns(columns, subnets, sections, tags, aliases), mark

    def _dated(self, columns: AddressColumns) -> AddressColumns:
        """``columns`` with their edit dates only if this reader keeps them."""
        if not self.edit_dates:
            columns.edit_dates = [None] * len(columns)
        return columns

    def _aliases(self, tx: ReadTransaction, ids: list[int] | None = None) -> dict[int, str]:
        column = self.alias_field
        if column is None:
            return {}
        if not tx.has_column(column):
            raise CustomFieldError(
                f"policy.alias_field: phpIPAM's ipaddresses table has no column {column!r}"
                f" in {self.describe()} (custom fields are columns such as "
                '"custom_aliases": check the name under Administration > Custom fields, '
                "or remove policy.alias_field)"
            )
        return tx.aliases(column, ids)

    @property
    def reads_changes(self) -> bool:
        """Whether ``read_changes`` can work here (MariaDB/MySQL: editDate moves by
        itself; the SQLite demo is small enough to read whole)."""
        return self.backend == "mysql"

    def read_changes(self, since: ReadMark, known: KnownIds) -> AddressChanges | None:
        """What changed in ``ipaddresses`` since the read that gave ``since``, and the
        small tables (subnets, sections, tags) in full, from one consistent read.

        ``known``: the ids the caller holds from that read. Rows are read again when
        their id is above that read's highest id or their editDate is at most
        ``CHANGE_MARGIN`` seconds before it started (database clock). The row count
        and the sum of ids per bucket of ids, from the same table scan, tell whether
        rows were deleted or appeared below the highest id without an editDate
        (explicit ids), and where: only then are the ids of those buckets read. None
        when reading everything is cheaper (many changes) or not possible here.

        An UPDATE that sets editDate itself to an old value is not seen: the periodic
        full read (``server.full_reload_interval``) catches it.
        """
        if not self.reads_changes:
            return None
        with self._transaction("read") as tx:
            mark = tx.mark()
            subnets, sections, tags = tx.small_tables()
            ids = known.ids
            shift = bucket_shift(ids[-1] if ids else 0)
            scan = self._changed_ids(tx, since, known, shift)
            if scan is None:
                return None
            count, changed = scan.count, sorted(scan.changed)
            new_ids = [i for i in changed if i not in known]
            deleted: frozenset[int] = frozenset()
            if count != len(known) + len(new_ids) or scan.id_sum != known.id_sum + sum(new_ids):
                present, held = self._ids_where_differing(tx, known, new_ids, scan, shift)
                have = set(held)
                deleted = frozenset(have.difference(present))
                hidden = [i for i in present if i not in have]
                changed = sorted(set(changed).union(hidden))
            if len(changed) > max(500, count // 4):  # then reading everything is faster
                return None
            rows = self._dated(tx.addresses_by_id(changed))
            aliases = self._aliases(tx, changed) if changed else {}
        self._last_read_started = mark.db_time
        return AddressChanges(rows, deleted, subnets, sections, tags, mark, aliases)

    @staticmethod
    def _ids_where_differing(
        tx: ReadTransaction, known: KnownIds, new_ids: list[int], scan: ChangeScan, shift: int
    ) -> tuple[list[int], list[int]]:
        """(ids in the table, ids held) in the buckets of ids where the two differ:
        rows were deleted, or inserted below the highest id without an editDate.

        The change scan counted and summed the ids per bucket, so only the ids of the
        buckets that differ are read, not the whole table's, and no other scan is
        needed (a deletion at 1M rows: ~1.5 s less than reading every id, ~0.6 s less
        than a second scan for the buckets)."""
        ids = known.ids
        buckets = differing_buckets(ids, new_ids, scan.buckets, shift)
        present: list[int] = []
        held: list[int] = []
        for bucket in buckets:
            lo, hi = bucket << shift, (bucket + 1) << shift
            present += tx.ids_between(lo - 1, hi - 1)
            held += ids[bisect_left(ids, lo) : bisect_left(ids, hi)]
        return present, held

    def _changed_ids(
        self, tx: ReadTransaction, since: ReadMark, known: KnownIds, shift: int
    ) -> ChangeScan | None:
        """``tx.changed_ids(since, shift)``; from ``PARALLEL_SCAN_ROWS`` rows on, as two
        scans at once: the upper half of the ids on a second connection.

        phpIPAM has no index on editDate, so finding the edited rows is a scan of the
        whole table (~0.6 s at 1M rows, on every change); MariaDB runs one query on one
        core, so two halves on two connections take half the time. The upper half is
        seen from its own snapshot, taken just after ``tx``'s, and every row lies in one
        half: what changes between the two snapshots has an editDate after ``since``
        and moves the change token, so the next refresh reads it again (as for any
        change committed during a read); a deletion in between makes a bucket differ,
        whose ids are then read in ``tx``."""
        ids = known.ids
        if len(ids) < PARALLEL_SCAN_ROWS:
            return tx.changed_ids(since, shift)
        split = ids[len(ids) // 2]
        with ThreadPoolExecutor(1, thread_name_prefix="pphook-scan") as pool:
            upper = pool.submit(self._changed_ids_above, since, shift, split)
            lower = tx.changed_ids(since, shift, upto=split)
            higher = upper.result()
        if lower is None or higher is None:
            return None
        return lower.merge(higher)

    def _changed_ids_above(self, since: ReadMark, shift: int, split: int) -> ChangeScan | None:
        with self._transaction("read") as tx:
            return tx.changed_ids(since, shift, above=split)

    def address_ids(self) -> list[int]:
        """Every address id, ascending (to find deleted rows)."""
        with self._transaction("read") as tx:
            return tx.all_ids()

    def read_addresses(self, ids: Iterable[int]) -> AddressColumns:
        """The address rows with these ids (missing ids are skipped), ascending."""
        with self._transaction("read") as tx:
            return tx.addresses_by_id(sorted(set(ids)))

    @contextmanager
    def _transaction(self, doing: str) -> Iterator[ReadTransaction]:
        """One read-only transaction on a raw DB-API connection (rows as plain tuples)."""
        try:
            raw = self.engine.raw_connection()
        except (sa.exc.SQLAlchemyError, self._dbapi_error) as exc:
            raise self.fail(exc, doing) from exc
        try:
            cursor = raw.cursor()
            try:
                tx = ReadTransaction(self.backend, cursor)
                tx.begin()
                yield tx
            finally:
                try:
                    raw.rollback()
                finally:
                    cursor.close()
        except (sa.exc.SQLAlchemyError, self._dbapi_error) as exc:
            raw.invalidate()
            raise self.fail(exc, doing) from exc
        finally:
            raw.close()

    def change_token(self) -> ChangeToken:
        """A cheap probe of the watched tables (one indexed query, no table scan).

        MariaDB keeps ``information_schema.TABLES.UPDATE_TIME`` for InnoDB in memory
        (second resolution); together with row counts of the small tables and the
        highest address id it moves on every insert, edit and delete. SQLite (the
        demo) uses the file's modification time.
        """
        try:
            if self.backend == "sqlite":
                return self._sqlite_token()
            with self.engine.connect() as conn:
                rows = conn.execute(
                    sa.text(
                        "SELECT TABLE_NAME, UPDATE_TIME, UNIX_TIMESTAMP(UPDATE_TIME) "
                        "FROM information_schema.TABLES "
                        "WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME IN "
                        "('ipaddresses', 'subnets', 'sections', 'ipTags')"
                    )
                ).all()
                max_id = conn.execute(sa.select(sa.func.max(t.ipaddresses.c.id))).scalar()
        except sa.exc.SQLAlchemyError as exc:
            raise self.fail(exc, "probe") from exc
        times = tuple(sorted((str(r[0]), r[1]) for r in rows))
        newest = max((int(r[2]) for r in rows if r[2] is not None), default=None)
        settle = False
        if newest is not None and self._last_read_started is not None:
            # UPDATE_TIME has one-second resolution: a change committed after our last
            # read started, in the second of the newest UPDATE_TIME, leaves the token
            # as it was; possible only while that second is not before the one the
            # read started in. Both sides are the database's clock (epoch seconds), so
            # neither clock skew nor the session time zone can hide such a change.
            settle = newest >= self._last_read_started
        return ChangeToken(value=(times, max_id), settle=settle)

    def _sqlite_token(self) -> ChangeToken:
        path = self.database or ""
        parts: list[Any] = []
        for suffix in ("", "-wal"):
            try:
                st = os.stat(path + suffix)
                parts.append((st.st_mtime_ns, st.st_size))
            except OSError:
                parts.append(None)
        return ChangeToken(value=tuple(parts))

    def ping(self) -> float:
        """Round-trip time of a trivial query, in seconds."""
        start = time.perf_counter()
        try:
            with self.engine.connect() as conn:
                conn.execute(sa.text("SELECT 1"))
        except sa.exc.SQLAlchemyError as exc:
            raise self.fail(exc, "connect to") from exc
        return time.perf_counter() - start
