"""One consistent read of phpIPAM: the queries of a read, on one DB-API cursor inside
one transaction, with the address rows fetched a chunk of ids at a time."""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import suppress
from dataclasses import dataclass
from typing import Any

from remote_backend.ipam.changes import CHANGE_MARGIN, ReadMark
from remote_backend.ipam.decode import (
    ChunkError,
    ColumnLists,
    Interned,
    ascii_text,
    columns_of_rows,
    decode_chunk,
    int_list,
    int_or_none,
    reuse_equal,
    text_or_none,
)
from validators.model import AddressColumns, SubnetRow

# Target rows per GROUP_CONCAT chunk; chunks also stay well below max_allowed_packet.
_CHUNK_ROWS = 25_000
_MIN_SPAN = 256
_ROWS_PER_QUERY = 1000  # ids per "WHERE id IN (...)"
_UNKNOWN_COLUMN = 1054  # MariaDB/MySQL ER_BAD_FIELD_ERROR

# One string per chunk of ids: every field of every row joined by 0x1f (one
# GROUP_CONCAT of CONCAT_WS costs the server a fraction of one per column, and one
# split gives all the fields, the columns then being slices). NULLs become '' (CONCAT_WS
# and GROUP_CONCAT skip NULLs) and a digit field says which text columns were NULL; an
# 'e' field ends each row. A chunk whose string was cut short (a warning, e.g. from
# max_allowed_packet) or has a separator inside a value (the fields do not count up)
# is read again in halves, down to plain rows.
CHUNK_FIELDS = 10
CHUNK_SQL = (
    "SELECT COUNT(*), GROUP_CONCAT(CONCAT_WS(0x1f, id, IFNULL(subnetId, ''),"
    " IFNULL(CAST(ip_addr AS BINARY), ''), IFNULL(CAST(hostname AS BINARY), ''),"
    " IFNULL(CAST(mac AS BINARY), ''), IFNULL(state, ''), IFNULL(PTRignore <> 0, 0),"
    " IFNULL(editDate, ''),"
    " (ip_addr IS NULL) + 2 * (hostname IS NULL) + 4 * (mac IS NULL), 'e')"
    " SEPARATOR 0x1f)"
    " FROM ipaddresses WHERE id > %s AND id <= %s"
)
IDS_SQL = (
    "SELECT COUNT(*), GROUP_CONCAT(id SEPARATOR ','), SUM(LENGTH(id))"
    " FROM ipaddresses WHERE id > %s AND id <= %s"
)


class ReadTransaction:
    """The queries of one read, on one DB-API cursor inside one transaction."""

    def __init__(self, backend: str, cursor: Any) -> None:
        self.mysql = backend == "mysql"
        self.cur = cursor
        self.param = "%s" if self.mysql else "?"
        self.binary = "BINARY" if self.mysql else "BLOB"
        self._db_time: int | None = None

    def _query(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        self.cur.execute(sql, params)
        return list(self.cur.fetchall())

    def begin(self) -> None:
        if self.mysql:
            # the clock before the snapshot: every change it misses is at or after it
            self._db_time = int(self._query("SELECT UNIX_TIMESTAMP()")[0][0])
            self.cur.execute("SET SESSION group_concat_max_len = 4294967295")
            self.cur.execute("START TRANSACTION WITH CONSISTENT SNAPSHOT")
        else:
            self._db_time = int(time.time())
            self.cur.execute("BEGIN")

    def mark(self) -> ReadMark:
        (max_id,) = self._query("SELECT MAX(id) FROM ipaddresses")[0]
        return ReadMark(db_time=self._db_time or 0, max_id=int(max_id or 0))

    def small_tables(self) -> tuple[dict[int, SubnetRow], dict[int, str], dict[int, str]]:
        b = self.binary
        subnets: dict[int, SubnetRow] = {}
        for sid, subnet, mask, section, folder, recursive, vrf, descr in self._query(
            f"SELECT id, CAST(subnet AS {b}), CAST(mask AS {b}), sectionId, isFolder,"
            f" DNSrecursive, vrfId, CAST(description AS {b}) FROM subnets"
        ):
            subnets[int(sid)] = SubnetRow(
                id=int(sid),
                subnet=text_or_none(subnet),
                mask=text_or_none(mask),
                section_id=int_or_none(section),
                is_folder=bool(folder),
                dns_recursive=bool(recursive),
                vrf_id=int_or_none(vrf),
                description=text_or_none(descr),
            )
        sections = {
            int(i): text_or_none(name) or ""
            for i, name in self._query(f"SELECT id, CAST(name AS {b}) FROM sections")
            if i is not None
        }
        tags = {
            int(i): text_or_none(kind) or ""
            for i, kind in self._query(f"SELECT id, CAST(type AS {b}) FROM ipTags")
            if i is not None
        }
        return subnets, sections, tags

    # -- addresses ---------------------------------------------------------------

    def _row_select(self) -> str:
        b = self.binary
        return (
            f"SELECT id, subnetId, CAST(ip_addr AS {b}), CAST(hostname AS {b}),"
            f" CAST(mac AS {b}), state, PTRignore, editDate FROM ipaddresses"
        )

    def addresses(self, previous: AddressColumns | None = None) -> AddressColumns:
        """Every address row. MariaDB/MySQL: one big string per chunk of ids, split in
        C, while the next chunk is being fetched; otherwise (and for a chunk that does
        not check out) row by row. Values equal to ``previous``'s (an earlier read) are
        that read's very objects (see ``_reuse``)."""
        if not self.mysql:
            return columns_of_rows(self._query(self._row_select() + " ORDER BY id"))
        parts = ColumnLists()
        interned = Interned()
        # chunks after one that must be read again wait here, to keep the id order
        pending: list[ColumnLists | tuple[int, int]] = []
        with Prefetcher(self, CHUNK_SQL) as chunks:
            for lo, hi, row in chunks:
                try:
                    piece = decode_chunk(row, interned)
                except ChunkError:
                    pending.append((lo, hi))
                    continue
                if previous is not None:
                    reuse_equal(piece, previous)
                if pending:
                    pending.append(piece)
                else:
                    parts.extend(piece)
        for item in pending:
            if isinstance(item, tuple):
                self._chunk_or_halves(*item, parts)
            else:
                parts.extend(item)
        return parts.columns()

    def ids_between(self, lo: int, hi: int) -> list[int]:
        """The address ids with ``lo < id <= hi``, ascending: one string on MariaDB (a
        bucket of ids is thousands of rows, each a packet to parse otherwise)."""
        p = self.param
        if self.mysql:
            ((n, text),) = self._query(
                f"SELECT COUNT(*), GROUP_CONCAT(id ORDER BY id SEPARATOR ',') FROM ipaddresses"
                f" WHERE id > {p} AND id <= {p}",
                (lo, hi),
            )
            found = ascii_text(text).split(",") if n else []
            if len(found) == int(n):  # else cut at group_concat_max_len: row by row
                return [int(i) for i in found]
        rows = self._query(
            f"SELECT id FROM ipaddresses WHERE id > {p} AND id <= {p} ORDER BY id", (lo, hi)
        )
        return [int(r[0]) for r in rows]

    def all_ids(self) -> list[int]:
        """Every address id, ascending."""
        if not self.mysql:
            return [int(r[0]) for r in self._query("SELECT id FROM ipaddresses ORDER BY id")]
        ids: list[int] = []
        again: list[tuple[int, int]] = []
        with Prefetcher(self, IDS_SQL) as chunks:
            for lo, hi, (n, text, total) in chunks:
                try:
                    found = ascii_text(text)
                    if len(found) != int(total or 0) + int(n) - 1:
                        raise ChunkError("truncated")
                    chunk_ids = int_list(found.split(","))
                    if len(chunk_ids) != int(n):
                        raise ChunkError("count")
                    ids += sorted(chunk_ids)
                except ChunkError:
                    again.append((lo, hi))
        for lo, hi in again:
            ids += self.ids_between(lo, hi)
        if again:
            ids.sort()
        return ids

    def _chunk_or_halves(self, lo: int, hi: int, parts: ColumnLists) -> tuple[int, int]:
        """Rows (lo, hi] into ``parts``; (row count, bytes per row of all columns)."""
        try:
            return self._chunk(lo, hi, parts)
        except ChunkError:
            if hi - lo <= _MIN_SPAN:
                rows = self._query(
                    self._row_select() + " WHERE id > %s AND id <= %s ORDER BY id", (lo, hi)
                )
                parts.extend(columns_of_rows(rows))
                return len(rows), 256
            mid = (lo + hi) // 2
            n1, w1 = self._chunk_or_halves(lo, mid, parts)
            n2, w2 = self._chunk_or_halves(mid, hi, parts)
            return n1 + n2, max(w1, w2)

    def _chunk(self, lo: int, hi: int, parts: ColumnLists) -> tuple[int, int]:
        (row,) = self._query(CHUNK_SQL, (lo, hi))
        n = int(row[0])
        if n:
            (warnings,) = self._query("SELECT @@warning_count")[0]
            if int(warnings):
                raise ChunkError("cut short")
            parts.extend(decode_chunk(row, Interned()))
        return n, len(row[1] or "") // max(n, 1) + 1

    def addresses_by_id(self, ids: Sequence[int]) -> AddressColumns:
        """The rows with these ids (ascending; missing ids are skipped)."""
        parts = ColumnLists()
        for start in range(0, len(ids), _ROWS_PER_QUERY):
            batch = tuple(int(i) for i in ids[start : start + _ROWS_PER_QUERY])
            marks = ", ".join([self.param] * len(batch))
            rows = self._query(self._row_select() + f" WHERE id IN ({marks}) ORDER BY id", batch)
            parts.extend(columns_of_rows(rows))
        return parts.columns()

    def aliases(self, column: str, ids: Sequence[int] | None = None) -> dict[int, str]:
        """Row id -> the text of custom field ``column`` (a checked column name), for
        rows where it is not empty; only ``ids`` when given."""
        quoted = f"`{column}`" if self.mysql else f'"{column}"'
        sql = (
            f"SELECT id, CAST({quoted} AS {self.binary}) FROM ipaddresses"
            f" WHERE {quoted} IS NOT NULL AND {quoted} <> ''"
        )
        found: dict[int, str] = {}
        if ids is None:
            batches: list[tuple[int, ...]] = [()]
        else:
            ordered = [int(i) for i in ids]
            batches = [
                tuple(ordered[i : i + _ROWS_PER_QUERY])
                for i in range(0, len(ordered), _ROWS_PER_QUERY)
            ]
        for batch in batches:
            if ids is not None and not batch:
                continue
            where = f" AND id IN ({', '.join([self.param] * len(batch))})" if batch else ""
            for row_id, value in self._query(sql + where, batch):
                text = text_or_none(value)
                if text and text.strip():
                    found[int(row_id)] = text
        return found

    def has_column(self, column: str) -> bool:
        """Whether ``ipaddresses`` has the column (a custom field)."""
        if not self.mysql:
            # SQLite reads "name" of a missing column as a string literal: a query
            # would succeed and give every row the column's name as its value
            names = {str(r[1]).lower() for r in self._query("PRAGMA table_info(ipaddresses)")}
            return column.lower() in names
        try:
            self._query(f"SELECT `{column}` FROM ipaddresses WHERE 1 = 0")
        except Exception as exc:
            if exc.args and exc.args[0] == _UNKNOWN_COLUMN:
                return False
            raise  # the database, not the column: the caller says so
        return True

    def changed_ids(
        self, since: ReadMark, shift: int, above: int | None = None, upto: int | None = None
    ) -> ChangeScan | None:
        """The rows with ``above < id <= upto`` (None: unbounded) in one table scan: the
        ids changed since ``since``, and the row count and sum of ids per bucket of ids
        (``id >> shift``: where rows were deleted, without another scan). None when the
        list does not fit (then read everything)."""
        cond = "id > %s OR UNIX_TIMESTAMP(editDate) >= %s"
        args = (since.max_id, since.db_time - CHANGE_MARGIN)
        where = ""
        bounds: tuple[int, ...] = ()
        if above is not None or upto is not None:
            where = " WHERE id > %s AND id <= %s"
            bounds = (-1 if above is None else above, (1 << 63) if upto is None else upto)
        rows = self._query(
            f"SELECT id >> %s, COUNT(*), SUM(id), GROUP_CONCAT(IF({cond}, id, NULL)"
            f" SEPARATOR ','), SUM(IF({cond}, LENGTH(id) + 1, 0)) FROM ipaddresses{where}"
            " GROUP BY 1",
            (shift, *args, *args, *bounds),
        )
        scan = ChangeScan({}, [])
        for bucket, n, id_sum, text, total in rows:
            scan.buckets[int(bucket)] = (int(n), int(id_sum or 0))
            expected = int(total or 0)
            if expected == 0:
                continue
            found = ascii_text(text)
            if len(found) != expected - 1:
                return None
            scan.changed += [int(i) for i in found.split(",")]
        return scan


@dataclass(slots=True)
class ChangeScan:
    """What one scan of the address table found (``ReadTransaction.changed_ids``)."""

    buckets: dict[int, tuple[int, int]]  # id >> shift -> (row count, sum of ids)
    changed: list[int]  # ids changed since the mark (any order)

    @property
    def count(self) -> int:
        return sum(n for n, _ in self.buckets.values())

    @property
    def id_sum(self) -> int:
        return sum(total for _, total in self.buckets.values())

    def merge(self, other: ChangeScan) -> ChangeScan:
        """Both halves of the table as one scan (a bucket may hold rows of both)."""
        buckets = dict(self.buckets)
        for bucket, (n, total) in other.buckets.items():
            n0, total0 = buckets.get(bucket, (0, 0))
            buckets[bucket] = (n0 + n, total0 + total)
        return ChangeScan(buckets, self.changed + other.changed)


_Chunk = tuple[int, int, tuple[Any, ...]]  # (lo, hi, result row)


class Prefetcher:
    """Runs a chunk query (``COUNT(*)``, the joined string, ...; ids in (%s, %s]) over
    consecutive id ranges covering every address, in a thread, one chunk ahead of the
    caller: the server builds the next string while this one is being split.

    Each range is sized for about ``_CHUNK_ROWS`` rows and a string of at most a
    quarter of max_allowed_packet, from the density and width of the previous one;
    a gap in the ids is skipped. A result with a warning (e.g. the string cut at
    max_allowed_packet) comes without its string, so it never checks out. Iterate
    inside ``with``: leaving it stops the thread before the connection is used again.
    """

    def __init__(self, tx: ReadTransaction, sql: str) -> None:
        self._tx = tx
        self._sql = sql
        self._queue: queue.Queue[_Chunk | BaseException | None] = queue.Queue(maxsize=2)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="pphook-read", daemon=True)

    def __enter__(self) -> Prefetcher:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        while self._thread.is_alive():
            with suppress(queue.Empty):
                self._queue.get(timeout=0.05)
        self._thread.join()

    def __iter__(self) -> Iterator[_Chunk]:
        while True:
            item = self._queue.get()
            if item is None:
                return
            if isinstance(item, BaseException):
                raise item
            yield item

    def _put(self, item: _Chunk | BaseException | None) -> None:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.05)
                return
            except queue.Full:
                pass

    def _run(self) -> None:
        try:
            query = self._tx._query
            first, last = query("SELECT MIN(id), MAX(id) FROM ipaddresses")[0]
            if first is not None:
                packet = int(query("SELECT @@max_allowed_packet")[0][0] or 1 << 20)
                self._ranges(int(first) - 1, int(last), packet)
            self._put(None)
        except BaseException as exc:  # handed over to the caller's thread
            self._put(exc)

    def _ranges(self, lo: int, last: int, packet: int) -> None:
        query = self._tx._query
        span = _CHUNK_ROWS
        while lo < last and not self._stop.is_set():
            hi = min(last, lo + span)
            (row,) = query(self._sql, (lo, hi))
            n = int(row[0])
            if n and int(query("SELECT @@warning_count")[0][0]):
                row = (row[0], None, *row[2:])  # cut short: have it read again
            self._put((lo, hi, row))
            covered, lo = hi - lo, hi
            if n == 0:  # a gap in the ids: go straight to the next one
                (following,) = query("SELECT MIN(id) FROM ipaddresses WHERE id > %s", (hi,))[0]
                if following is None:
                    return
                lo = int(following) - 1
                continue
            width = len(row[1]) // n + 1 if row[1] is not None else 256
            want = min(_CHUNK_ROWS, max(1, packet // 4 // width))
            span = max(_MIN_SPAN, int(want * covered / n))
