"""Read phpIPAM rows into validator input, read-only, in one consistent transaction.

Text columns that may hold hostile data (hostname, mac, ip_addr, subnet and section
text) are fetched as bytes and decoded here with replacement characters: invalid
UTF-8 stored by a lax SQL mode must become a rejected hostname, never a crashed read.
Columns are always named (custom columns and column order do not matter).

Address rows come as columns (``validators.model.AddressColumns``), read on a raw
DB-API connection: on MariaDB/MySQL a chunk of ids at a time as one ``GROUP_CONCAT``
string split in C (see ``_CHUNK_SQL``), otherwise row by row. The address
``description`` is not read: no rule uses it. ``read_changes`` re-reads only what
may have changed since an earlier read (incremental builds).
"""

from __future__ import annotations

import logging
import os
import queue
import re
import threading
import time
from bisect import bisect_left
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url

from remote_backend.config import IpamSettings, redact_url
from remote_backend.errors import IpamError
from remote_backend.ipam import tables as t
from validators.model import AddressColumns, IpamData, SubnetRow, compact_ip_addr

log = logging.getLogger("pphook.ipam")


def make_engine(settings: IpamSettings, password: str | None = None) -> Engine:
    """An engine that can only read: read-only sessions on MariaDB, query_only on SQLite."""
    url = make_url(settings.url)
    if password is not None and url.get_backend_name() != "sqlite":  # SQLite has no password
        url = url.set(password=password)
    if url.get_backend_name() == "sqlite":
        engine = sa.create_engine(url, poolclass=sa.pool.NullPool)

        @sa.event.listens_for(engine, "connect")
        def _sqlite_read_only(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.execute("PRAGMA query_only = ON")

        return engine
    connect_args: dict[str, Any] = {}
    if url.get_backend_name() == "mysql":
        timeout = max(1, int(settings.connect_timeout))
        connect_args = {
            "connect_timeout": timeout,
            "read_timeout": max(30, timeout),
            "charset": "utf8mb4",
        }
    engine = sa.create_engine(
        url,
        pool_pre_ping=True,
        pool_recycle=3600,
        pool_size=2,
        max_overflow=2,
        connect_args=connect_args,
    )
    if url.get_backend_name() == "mysql":

        @sa.event.listens_for(engine, "connect")
        def _mysql_read_only(dbapi_conn: Any, _record: Any) -> None:
            with dbapi_conn.cursor() as cur:
                # pphook never writes to phpIPAM: make the session refuse writes too.
                cur.execute("SET SESSION TRANSACTION READ ONLY")

    return engine


def _text(value: bytes | str | None) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return value.decode("utf-8", errors="replace")


def _int(value: Any) -> int | None:
    if value is None:
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


@dataclass(frozen=True, slots=True)
class ChangeToken:
    """A cheap summary of the watched tables; when it differs, something changed."""

    value: tuple[Any, ...]
    # a change committed in the same second as the last read may not move the
    # second-granular UPDATE_TIME again: such a token asks for one more reload
    settle: bool = False


@dataclass(frozen=True, slots=True)
class ChangeInfo:
    """Who last changed a phpIPAM address, when the changelog knows it."""

    row_id: int
    action: str
    user: str | None
    email: str | None
    date: datetime | None


@dataclass(frozen=True, slots=True)
class PhpipamUser:
    username: str
    real_name: str | None
    email: str | None


@dataclass(frozen=True, slots=True)
class ReadMark:
    """Where a read stood, for the next ``read_changes``: the database's clock (unix
    seconds, taken just before the read's snapshot) and the highest address id."""

    db_time: int
    max_id: int


class KnownIds:
    """The address ids a caller holds (ascending) and their sum, for ``read_changes``."""

    __slots__ = ("id_sum", "ids")

    def __init__(self, ids: Sequence[int], id_sum: int | None = None) -> None:
        self.ids = ids
        self.id_sum = sum(ids) if id_sum is None else id_sum

    def __len__(self) -> int:
        return len(self.ids)

    def __contains__(self, row_id: int) -> bool:
        i = bisect_left(self.ids, row_id)
        return i < len(self.ids) and self.ids[i] == row_id


@dataclass(frozen=True, slots=True)
class AddressChanges:
    """What ``read_changes`` found: rows to (re)place, ids gone, the small tables."""

    rows: AddressColumns  # new or possibly edited rows (may be unchanged), ascending id
    deleted: frozenset[int]  # ids of the caller's rows that no longer exist
    subnets: dict[int, SubnetRow]
    sections: dict[int, str]
    tags: dict[int, str]
    mark: ReadMark


# Rows whose editDate is this close before the last read's start are read again: a
# row updated (editDate = statement time) in a transaction that committed after our
# snapshot was taken is still caught, as long as that transaction took less than this.
CHANGE_MARGIN = 60

# Target rows per GROUP_CONCAT chunk; chunks also stay well below max_allowed_packet.
_CHUNK_ROWS = 25_000
_MIN_SPAN = 256
_ROWS_PER_QUERY = 1000  # ids per "WHERE id IN (...)"

# One string per chunk of ids: every field of every row joined by 0x1f (one
# GROUP_CONCAT of CONCAT_WS costs the server a fraction of one per column, and one
# split gives all the fields, the columns then being slices). NULLs become '' (CONCAT_WS
# and GROUP_CONCAT skip NULLs) and a digit field says which text columns were NULL; an
# 'e' field ends each row. A chunk whose string was cut short (a warning, e.g. from
# max_allowed_packet) or has a separator inside a value (the fields do not count up)
# is read again in halves, down to plain rows.
_CHUNK_FIELDS = 10
_CHUNK_SQL = (
    "SELECT COUNT(*), GROUP_CONCAT(CONCAT_WS(0x1f, id, IFNULL(subnetId, ''),"
    " IFNULL(CAST(ip_addr AS BINARY), ''), IFNULL(CAST(hostname AS BINARY), ''),"
    " IFNULL(CAST(mac AS BINARY), ''), IFNULL(state, ''), IFNULL(PTRignore <> 0, 0),"
    " IFNULL(editDate, ''),"
    " (ip_addr IS NULL) + 2 * (hostname IS NULL) + 4 * (mac IS NULL), 'e')"
    " SEPARATOR 0x1f)"
    " FROM ipaddresses WHERE id > %s AND id <= %s"
)
_SEP = "\x1f"  # ASCII unit separator: never part of a multi-byte UTF-8 sequence
_IDS_SQL = (
    "SELECT COUNT(*), GROUP_CONCAT(id SEPARATOR ','), SUM(LENGTH(id))"
    " FROM ipaddresses WHERE id > %s AND id <= %s"
)


class _ChunkError(Exception):
    """A chunk's concatenations did not check out (truncated, or a separator inside)."""


class _ReadTransaction:
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
                subnet=_text(subnet),
                mask=_text(mask),
                section_id=_int(section),
                is_folder=bool(folder),
                dns_recursive=bool(recursive),
                vrf_id=_int(vrf),
                description=_text(descr),
            )
        sections = {
            int(i): _text(name) or ""
            for i, name in self._query(f"SELECT id, CAST(name AS {b}) FROM sections")
            if i is not None
        }
        tags = {
            int(i): _text(kind) or ""
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
            return _columns_of_rows(self._query(self._row_select() + " ORDER BY id"))
        parts = _ColumnLists()
        interned = _Interned()
        # chunks after one that must be read again wait here, to keep the id order
        pending: list[_ColumnLists | tuple[int, int]] = []
        with _Prefetcher(self, _CHUNK_SQL) as chunks:
            for lo, hi, row in chunks:
                try:
                    piece = _decode_chunk(row, interned)
                except _ChunkError:
                    pending.append((lo, hi))
                    continue
                if previous is not None:
                    _reuse(piece, previous)
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

    def all_ids(self) -> list[int]:
        """Every address id, ascending."""
        if not self.mysql:
            return [int(r[0]) for r in self._query("SELECT id FROM ipaddresses ORDER BY id")]
        ids: list[int] = []
        again: list[tuple[int, int]] = []
        with _Prefetcher(self, _IDS_SQL) as chunks:
            for lo, hi, (n, text, total) in chunks:
                try:
                    found = _ascii(text)
                    if len(found) != int(total or 0) + int(n) - 1:
                        raise _ChunkError("truncated")
                    chunk_ids = _ints(found.split(","))
                    if len(chunk_ids) != int(n):
                        raise _ChunkError("count")
                    ids += sorted(chunk_ids)
                except _ChunkError:
                    again.append((lo, hi))
        for lo, hi in again:
            rows = self._query(
                "SELECT id FROM ipaddresses WHERE id > %s AND id <= %s ORDER BY id", (lo, hi)
            )
            ids += [int(r[0]) for r in rows]
        if again:
            ids.sort()
        return ids

    def _chunk_or_halves(self, lo: int, hi: int, parts: _ColumnLists) -> tuple[int, int]:
        """Rows (lo, hi] into ``parts``; (row count, bytes per row of all columns)."""
        try:
            return self._chunk(lo, hi, parts)
        except _ChunkError:
            if hi - lo <= _MIN_SPAN:
                rows = self._query(
                    self._row_select() + " WHERE id > %s AND id <= %s ORDER BY id", (lo, hi)
                )
                parts.extend(_columns_of_rows(rows))
                return len(rows), 256
            mid = (lo + hi) // 2
            n1, w1 = self._chunk_or_halves(lo, mid, parts)
            n2, w2 = self._chunk_or_halves(mid, hi, parts)
            return n1 + n2, max(w1, w2)

    def _chunk(self, lo: int, hi: int, parts: _ColumnLists) -> tuple[int, int]:
        (row,) = self._query(_CHUNK_SQL, (lo, hi))
        n = int(row[0])
        if n:
            (warnings,) = self._query("SELECT @@warning_count")[0]
            if int(warnings):
                raise _ChunkError("cut short")
            parts.extend(_decode_chunk(row, _Interned()))
        return n, len(row[1] or "") // max(n, 1) + 1

    def addresses_by_id(self, ids: Sequence[int]) -> AddressColumns:
        """The rows with these ids (ascending; missing ids are skipped)."""
        parts = _ColumnLists()
        for start in range(0, len(ids), _ROWS_PER_QUERY):
            batch = tuple(int(i) for i in ids[start : start + _ROWS_PER_QUERY])
            marks = ", ".join([self.param] * len(batch))
            rows = self._query(self._row_select() + f" WHERE id IN ({marks}) ORDER BY id", batch)
            parts.extend(_columns_of_rows(rows))
        return parts.columns()

    def changed_ids(self, since: ReadMark) -> tuple[int, int, list[int]] | None:
        """(row count, sum of ids, ids changed since ``since``), in one table scan;
        None when the list does not fit (then read everything)."""
        cond = "id > %s OR UNIX_TIMESTAMP(editDate) >= %s"
        args = (since.max_id, since.db_time - CHANGE_MARGIN)
        (n, id_sum, text, total) = self._query(
            f"SELECT COUNT(*), SUM(id), GROUP_CONCAT(IF({cond}, id, NULL) SEPARATOR ','),"
            f" SUM(IF({cond}, LENGTH(id) + 1, 0)) FROM ipaddresses",
            args + args,
        )[0]
        expected = int(total or 0)
        if expected == 0:
            return int(n), int(id_sum or 0), []
        found = _ascii(text)
        if len(found) != expected - 1:
            return None
        return int(n), int(id_sum or 0), [int(i) for i in found.split(",")]


_REUSED = ("ip_addrs", "hostnames", "macs", "edit_dates")  # the columns of many objects


def _reuse(piece: _ColumnLists, previous: AddressColumns) -> None:
    """Swap the values of ``piece`` (a chunk just read) for the equal objects of the
    same rows in ``previous``: the new ones are freed at once instead of living on
    beside the old ones (still held by the snapshot being served), and the strings
    the validators cache are the very ones they will be asked about.

    Rows are matched by position within the chunk's id range, which holds when no
    row was inserted or deleted there (the usual case; otherwise nothing is swapped).
    Equal slices are compared in C, one column at a time.
    """
    ids = piece.ids
    if not ids:
        return
    old_ids = previous.ids
    start = bisect_left(old_ids, ids[0])
    stop = start + len(ids)
    if old_ids[stop - 1 : stop] != ids[-1:] or list(old_ids[start:stop]) != ids:
        return
    piece.ids = list(old_ids[start:stop])
    for name in _REUSED:
        old = getattr(previous, name)[start:stop]
        new = getattr(piece, name)
        if old == new:
            setattr(piece, name, list(old))
        else:  # some rows edited: keep their new values only
            setattr(piece, name, [o if o == n else n for o, n in zip(old, new, strict=True)])


def _decode_chunk(row: tuple[Any, ...], interned: _Interned) -> _ColumnLists:
    """The columns of one _CHUNK_SQL result (raises _ChunkError if it does not check out);
    subnet ids and states through ``interned``."""
    count, joined = row[0], row[1]
    n = int(count)
    piece = _ColumnLists()
    if n == 0:
        return piece
    if joined is None:
        raise _ChunkError("no string")
    # Decoding the whole string with replacement is the same as decoding each value:
    # the separator is ASCII, so no invalid sequence can reach across it.
    text = joined if isinstance(joined, str) else joined.decode("utf-8", "replace")
    fields = text.split(_SEP)
    k = _CHUNK_FIELDS
    if len(fields) != k * n or fields[k - 1 :: k].count("e") != n:
        raise _ChunkError("fields do not count up")
    ids_t, sids_t, ips, hosts, macs, states_t, flags_t, edits_t, nulls_t = (
        fields[i::k] for i in range(k - 1)
    )
    ids = _ints(ids_t)
    if ids != sorted(ids):
        raise _ChunkError("ids not ascending")
    piece.ids = ids
    intern = interned.__getitem__
    piece.subnet_ids = list(map(intern, sids_t))
    null_counts = Counter(nulls_t)  # counted once for the three text columns
    piece.ip_addrs = _compact_ip_addrs(_with_nulls(ips, nulls_t, 1, null_counts))
    piece.hostnames = _with_nulls(hosts, nulls_t, 2, null_counts)
    piece.macs = _with_nulls(macs, nulls_t, 4, null_counts)
    piece.states = list(map(intern, states_t))
    piece.ptr_ignores = _flags(flags_t)
    piece.edit_dates = _dates(edits_t)
    return piece


_Chunk = tuple[int, int, tuple[Any, ...]]  # (lo, hi, result row)


class _Prefetcher:
    """Runs a chunk query (``COUNT(*)``, the joined string, ...; ids in (%s, %s]) over
    consecutive id ranges covering every address, in a thread, one chunk ahead of the
    caller: the server builds the next string while this one is being split.

    Each range is sized for about ``_CHUNK_ROWS`` rows and a string of at most a
    quarter of max_allowed_packet, from the density and width of the previous one;
    a gap in the ids is skipped. A result with a warning (e.g. the string cut at
    max_allowed_packet) comes without its string, so it never checks out. Iterate
    inside ``with``: leaving it stops the thread before the connection is used again.
    """

    def __init__(self, tx: _ReadTransaction, sql: str) -> None:
        self._tx = tx
        self._sql = sql
        self._queue: queue.Queue[_Chunk | BaseException | None] = queue.Queue(maxsize=2)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="pphook-read", daemon=True)

    def __enter__(self) -> _Prefetcher:
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


class _ColumnLists:
    """Address columns being filled, chunk after chunk (``columns()`` freezes them)."""

    __slots__ = AddressColumns.__slots__  # the same columns, as growing lists

    def __init__(self) -> None:
        self.ids: list[int] = []
        self.subnet_ids: list[int | None] = []
        self.ip_addrs: list[str | int | None] = []
        self.hostnames: list[str | None] = []
        self.macs: list[str | None] = []
        self.states: list[int | None] = []
        self.ptr_ignores: list[bool] = []
        self.edit_dates: list[datetime | None] = []

    def extend(self, columns: AddressColumns | _ColumnLists) -> None:
        self.ids += columns.ids
        self.subnet_ids += columns.subnet_ids
        self.ip_addrs += columns.ip_addrs
        self.hostnames += columns.hostnames
        self.macs += columns.macs
        self.states += columns.states
        self.ptr_ignores += columns.ptr_ignores
        self.edit_dates += columns.edit_dates

    def columns(self) -> AddressColumns:
        return AddressColumns(
            self.ids,
            self.subnet_ids,
            self.ip_addrs,
            self.hostnames,
            self.macs,
            self.states,
            self.ptr_ignores,
            self.edit_dates,
        )


def _columns_of_rows(rows: Iterable[Sequence[Any]]) -> AddressColumns:
    """Columns from plain rows (id, subnetId, ip_addr, hostname, mac, state, PTRignore,
    editDate), text as bytes: decoded here, invalid UTF-8 replaced."""
    parts = _ColumnLists()
    for rid, subnet_id, ip, host, mac, state, ptr_ignore, edit in rows:
        parts.ids.append(int(rid))
        parts.subnet_ids.append(_int(subnet_id))
        parts.ip_addrs.append(compact_ip_addr(_text(ip)))
        parts.hostnames.append(_text(host))
        parts.macs.append(_text(mac))
        parts.states.append(_int(state))
        parts.ptr_ignores.append(bool(ptr_ignore))
        parts.edit_dates.append(edit if isinstance(edit, datetime) else _date(edit))
    return parts.columns()


def _ascii(value: bytes | str | None) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else value.decode("ascii", "replace")


def _ints(texts: Sequence[str]) -> list[int]:
    """Integers, none NULL; anything else does not check out."""
    try:
        return list(map(int, texts))
    except ValueError as exc:
        raise _ChunkError("not an integer") from exc


class _Interned(dict[str, "int | None"]):
    """Integer text -> int ('' -> None), one int object per distinct text: a million
    rows in a few thousand subnets then hold a few thousand ints, not a million."""

    def __init__(self) -> None:
        super().__init__({"": None})

    def __missing__(self, text: str) -> int:
        try:
            value = self[text] = int(text)
        except ValueError as exc:
            raise _ChunkError("not an integer") from exc
        return value


_NULL_DIGITS = {bit: frozenset(str(d) for d in range(8) if d & bit) for bit in (1, 2, 4)}


def _with_nulls(
    texts: Sequence[str], nulls: Sequence[str], bit: int, counts: Mapping[str, int]
) -> list[str | None]:
    """Text values, None where the row's NULL digit has ``bit`` set (``counts``: how
    many rows have each NULL digit)."""
    values: list[str | None] = list(texts)
    null_digits = _NULL_DIGITS[bit]
    null_count = sum(c for digit, c in counts.items() if digit in null_digits)
    if not null_count:
        return values
    if values.count("") == null_count:  # every empty value is a NULL
        return [t or None for t in values]
    return [None if d in null_digits else t for t, d in zip(values, nulls, strict=True)]


def _compact_ip_addrs(texts: list[str | None]) -> list[str | int | None]:
    """``compact_ip_addr`` of each, in C when (as usual) every one is a plain decimal."""
    if None not in texts and "" not in texts:
        plain: list[str] = texts  # type: ignore[assignment]
        joined = _SEP.join(plain)
        if (
            joined.replace(_SEP, "").isdigit()
            and joined.isascii()
            and max(map(len, plain), default=0) <= 39
            and _no_leading_zero(joined)
        ):
            return list(map(int, plain))
    return [compact_ip_addr(t) for t in texts]


_LEADING_ZERO = re.compile(r"(?:^|\x1f)0[0-9]")


def _no_leading_zero(joined: str) -> bool:
    """No value of ``joined`` (digits and separators) has a leading zero. Usually no
    value starts with '0' at all: a substring search tells that several times faster
    than the regular expression."""
    if joined[:1] != "0" and _SEP + "0" not in joined:
        return True
    return _LEADING_ZERO.search(joined) is None


def _flags(texts: Sequence[str]) -> list[bool]:
    if not set(texts) <= {"0", "1"}:
        raise _ChunkError("not a flag")
    return list(map("1".__eq__, texts))


def _dates(texts: Sequence[str]) -> list[datetime | None]:
    if not set(map(len, texts)) <= {0, 19, 26}:  # DATETIME/TIMESTAMP, with microseconds
        raise _ChunkError("not a DATETIME")
    try:
        return [_fromiso(t) if t else None for t in texts]
    except ValueError:  # a zero date: None, as the row reader gives it
        return [_date(t) for t in texts]


_fromiso = datetime.fromisoformat


def _date(value: Any) -> datetime | None:
    """A DATETIME as text ('YYYY-MM-DD HH:MM:SS'), else None (zero dates included)."""
    if not isinstance(value, str | bytes) or not value:
        return None
    try:
        return _fromiso(_ascii(value))
    except ValueError:
        return None


class IpamReader:
    """Everything pphook reads from phpIPAM, each call in one read-only transaction."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.backend = engine.url.get_backend_name()
        self.database = engine.url.database
        # the database's clock (epoch seconds) when the last read began (see change_token)
        self._last_read_started: int | None = None
        self._dbapi_error: type[Exception] = getattr(
            engine.dialect.loaded_dbapi, "Error", sa.exc.DBAPIError
        )

    def describe(self) -> str:
        return redact_url(self.engine.url.render_as_string(hide_password=True))

    def _fail(self, exc: Exception, doing: str) -> IpamError:
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
            columns = tx.addresses(previous)
        self._last_read_started = mark.db_time
        return IpamData.from_columns(columns, subnets, sections, tags), mark

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
        and the sum of all ids, from the same table scan, tell whether rows were
        deleted or appeared below the highest id without an editDate (explicit ids);
        only then are all ids read, to find them. None when reading everything is
        cheaper (many changes) or not possible here.

        An UPDATE that sets editDate itself to an old value is not seen: the periodic
        full read (``server.full_reload_interval``) catches it.
        """
        if not self.reads_changes:
            return None
        with self._transaction("read") as tx:
            mark = tx.mark()
            subnets, sections, tags = tx.small_tables()
            found = tx.changed_ids(since)
            if found is None:
                return None
            count, id_sum, changed = found
            new_ids = [i for i in changed if i not in known]
            deleted: frozenset[int] = frozenset()
            if count != len(known) + len(new_ids) or id_sum != known.id_sum + sum(new_ids):
                present = tx.all_ids()
                have = set(known.ids)
                deleted = frozenset(have.difference(present))
                hidden = [i for i in present if i not in have]
                changed = sorted(set(changed).union(hidden))
            if len(changed) > max(500, count // 4):  # then reading everything is faster
                return None
            rows = tx.addresses_by_id(changed)
        self._last_read_started = mark.db_time
        return AddressChanges(rows, deleted, subnets, sections, tags, mark)

    def address_ids(self) -> list[int]:
        """Every address id, ascending (to find deleted rows)."""
        with self._transaction("read") as tx:
            return tx.all_ids()

    def read_addresses(self, ids: Iterable[int]) -> AddressColumns:
        """The address rows with these ids (missing ids are skipped), ascending."""
        with self._transaction("read") as tx:
            return tx.addresses_by_id(sorted(set(ids)))

    @contextmanager
    def _transaction(self, doing: str) -> Iterator[_ReadTransaction]:
        """One read-only transaction on a raw DB-API connection (rows as plain tuples)."""
        try:
            raw = self.engine.raw_connection()
        except (sa.exc.SQLAlchemyError, self._dbapi_error) as exc:
            raise self._fail(exc, doing) from exc
        try:
            cursor = raw.cursor()
            try:
                tx = _ReadTransaction(self.backend, cursor)
                tx.begin()
                yield tx
            finally:
                try:
                    raw.rollback()
                finally:
                    cursor.close()
        except (sa.exc.SQLAlchemyError, self._dbapi_error) as exc:
            raw.invalidate()
            raise self._fail(exc, doing) from exc
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
            raise self._fail(exc, "probe") from exc
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

    def last_changes(self, row_ids: Iterable[int]) -> Mapping[int, ChangeInfo]:
        """The latest changelog entry per address id (the actor may be unknown)."""
        ids = sorted(set(row_ids))
        if not ids:
            return {}
        c, u = t.changelog.c, t.users.c
        result: dict[int, ChangeInfo] = {}
        try:
            with self.engine.connect() as conn:
                for start in range(0, len(ids), 500):
                    chunk = ids[start : start + 500]
                    query = (
                        sa.select(
                            c.coid, c.caction, c.cdate, c.cid, u.username, u.real_name, u.email
                        )
                        .select_from(t.changelog.outerjoin(t.users, u.id == c.cuser))
                        .where(c.ctype == "ip_addr", c.coid.in_(chunk))
                        .order_by(c.coid, c.cid)
                    )
                    for r in conn.execute(query):
                        result[int(r.coid)] = ChangeInfo(
                            row_id=int(r.coid),
                            action=str(r.caction),
                            user=r.real_name or r.username,
                            email=r.email,
                            date=r.cdate if isinstance(r.cdate, datetime) else None,
                        )
        except sa.exc.SQLAlchemyError as exc:
            raise self._fail(exc, "read the changelog of") from exc
        return result

    def notify_admins(self) -> list[PhpipamUser]:
        """phpIPAM users with role Administrator and mailNotify = Yes (not disabled)."""
        u = t.users.c
        query = sa.select(u.username, u.real_name, u.email, u.disabled).where(
            u.role == "Administrator", u.mailNotify == "Yes"
        )
        try:
            with self.engine.connect() as conn:
                rows = conn.execute(query).all()
        except sa.exc.SQLAlchemyError as exc:
            raise self._fail(exc, "read the users of") from exc
        return [
            PhpipamUser(str(r.username), r.real_name, r.email)
            for r in rows
            if r.email and r.disabled != "Yes"
        ]

    def ping(self) -> float:
        """Round-trip time of a trivial query, in seconds."""
        start = time.perf_counter()
        try:
            with self.engine.connect() as conn:
                conn.execute(sa.text("SELECT 1"))
        except sa.exc.SQLAlchemyError as exc:
            raise self._fail(exc, "connect to") from exc
        return time.perf_counter() - start
