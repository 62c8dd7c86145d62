"""Address rows from what the database sends: GROUP_CONCAT chunks split in C, plain
rows, and the values of an earlier read reused where equal.

Text columns that may hold hostile data (hostname, mac, ip_addr) arrive as bytes and
are decoded here with replacement characters: invalid UTF-8 stored by a lax SQL mode
must become a rejected hostname, never a crashed read.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from validators.model import AddressColumns, compact_ip_addr, compact_ip_addrs

SEP = "\x1f"  # ASCII unit separator: never part of a multi-byte UTF-8 sequence
CHUNK_FIELDS = 10  # fields per row in a chunk string (see transaction.CHUNK_SQL)


class ChunkError(Exception):
    """A chunk's concatenations did not check out (truncated, or a separator inside)."""


def text_or_none(value: bytes | str | None) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return value.decode("utf-8", errors="replace")


def int_or_none(value: Any) -> int | None:
    if value is None:
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


_REUSED = ("ip_addrs", "hostnames", "macs", "edit_dates")  # the columns of many objects


def reuse_equal(piece: ColumnLists, previous: AddressColumns) -> None:
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


def decode_chunk(row: tuple[Any, ...], interned: Interned) -> ColumnLists:
    """The columns of one CHUNK_SQL result (raises ChunkError if it does not check out);
    subnet ids and states through ``interned``."""
    count, joined = row[0], row[1]
    n = int(count)
    piece = ColumnLists()
    if n == 0:
        return piece
    if joined is None:
        raise ChunkError("no string")
    # Decoding the whole string with replacement is the same as decoding each value:
    # the separator is ASCII, so no invalid sequence can reach across it.
    text = joined if isinstance(joined, str) else joined.decode("utf-8", "replace")
    fields = text.split(SEP)
    k = CHUNK_FIELDS
    if len(fields) != k * n or fields[k - 1 :: k].count("e") != n:
        raise ChunkError("fields do not count up")
    ids_t, sids_t, ips, hosts, macs, states_t, flags_t, edits_t, nulls_t = (
        fields[i::k] for i in range(k - 1)
    )
    ids = int_list(ids_t)
    if ids != sorted(ids):
        raise ChunkError("ids not ascending")
    piece.ids = ids
    intern = interned.__getitem__
    piece.subnet_ids = list(map(intern, sids_t))
    null_counts = Counter(nulls_t)  # counted once for the three text columns
    piece.ip_addrs = compact_ip_addrs(_with_nulls(ips, nulls_t, 1, null_counts))
    piece.hostnames = _with_nulls(hosts, nulls_t, 2, null_counts)
    piece.macs = _with_nulls(macs, nulls_t, 4, null_counts)
    piece.states = list(map(intern, states_t))
    piece.ptr_ignores = _flags(flags_t)
    piece.edit_dates = _dates(edits_t)
    return piece


class ColumnLists:
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

    def extend(self, columns: AddressColumns | ColumnLists) -> None:
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


def columns_of_rows(rows: Iterable[Sequence[Any]]) -> AddressColumns:
    """Columns from plain rows (id, subnetId, ip_addr, hostname, mac, state, PTRignore,
    editDate), text as bytes: decoded here, invalid UTF-8 replaced."""
    parts = ColumnLists()
    for rid, subnet_id, ip, host, mac, state, ptr_ignore, edit in rows:
        parts.ids.append(int(rid))
        parts.subnet_ids.append(int_or_none(subnet_id))
        parts.ip_addrs.append(compact_ip_addr(text_or_none(ip)))
        parts.hostnames.append(text_or_none(host))
        parts.macs.append(text_or_none(mac))
        parts.states.append(int_or_none(state))
        parts.ptr_ignores.append(bool(ptr_ignore))
        parts.edit_dates.append(edit if isinstance(edit, datetime) else _date(edit))
    return parts.columns()


def ascii_text(value: bytes | str | None) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else value.decode("ascii", "replace")


def int_list(texts: Sequence[str]) -> list[int]:
    """Integers, none NULL; anything else does not check out."""
    try:
        return list(map(int, texts))
    except ValueError as exc:
        raise ChunkError("not an integer") from exc


class Interned(dict[str, "int | None"]):
    """Integer text -> int ('' -> None), one int object per distinct text: a million
    rows in a few thousand subnets then hold a few thousand ints, not a million."""

    def __init__(self) -> None:
        super().__init__({"": None})

    def __missing__(self, text: str) -> int:
        try:
            value = self[text] = int(text)
        except ValueError as exc:
            raise ChunkError("not an integer") from exc
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


def _flags(texts: Sequence[str]) -> list[bool]:
    if not set(texts) <= {"0", "1"}:
        raise ChunkError("not a flag")
    return list(map("1".__eq__, texts))


def _dates(texts: Sequence[str]) -> list[datetime | None]:
    if not set(map(len, texts)) <= {0, 19, 26}:  # DATETIME/TIMESTAMP, with microseconds
        raise ChunkError("not a DATETIME")
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
        return _fromiso(ascii_text(value))
    except ValueError:
        return None
