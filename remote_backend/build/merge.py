"""Rows of the last read with what changed since patched in (incremental builds)."""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence
from typing import Any

from validators.model import AddressColumns, IpamData


def rows_held(held: AddressColumns, read: AddressColumns) -> bool:
    """Whether every row in ``read`` is already in ``held`` with the same values."""
    ids = held.ids
    columns = [(getattr(held, name), getattr(read, name)) for name in _COLUMNS]
    for k, row_id in enumerate(read.ids):
        pos = bisect_left(ids, row_id)
        if pos == len(ids) or ids[pos] != row_id:
            return False
        if any(mine[pos] != theirs[k] for mine, theirs in columns):
            return False
    return True


def differing_rows(held: AddressColumns, read: AddressColumns) -> list[int]:
    """Ids of the rows in ``read`` that are not in ``held`` or differ from it there."""
    ids = held.ids
    columns = [(getattr(held, name), getattr(read, name)) for name in _COLUMNS]
    found = []
    for k, row_id in enumerate(read.ids):
        pos = bisect_left(ids, row_id)
        if (
            pos == len(ids)
            or ids[pos] != row_id
            or any(mine[pos] != theirs[k] for mine, theirs in columns)
        ):
            found.append(row_id)
    return found


def same_input(old: IpamData, new: IpamData) -> bool:
    """Whether two reads give the validators the same input (then the same output).

    Unchanged values are the same objects after a read that reuses the last one's
    (see ``IpamReader.read_marked``), so comparing the columns mostly compares
    pointers: a few tens of milliseconds per million rows.
    """
    if (old.subnets, old.sections, old.tags, old.aliases) != (
        new.subnets,
        new.sections,
        new.tags,
        new.aliases,
    ):
        return False
    a, b = old.columns, new.columns
    return len(a) == len(b) and all(
        _as_list(getattr(a, name)) == _as_list(getattr(b, name)) for name in _COLUMNS
    )


def _as_list(values: Sequence[Any]) -> list[Any]:
    return values if isinstance(values, list) else list(values)


# Above this many deleted or inserted-in-the-middle rows, rebuild the lists in one pass
# instead of editing them in place (each edit moves the tail of every column).
_IN_PLACE_EDITS = 256


def merge_columns(
    old: AddressColumns, changed: AddressColumns, deleted: frozenset[int] | set[int]
) -> AddressColumns:
    """``old`` with the ``deleted`` ids removed and the ``changed`` rows put in (replacing
    a row with the same id, else inserted in id order). ``old`` is left as it was."""
    names = _COLUMNS
    if not deleted:
        edited = _edited_in_place(old, changed)
        if edited is not None:
            return edited
    columns: list[list[Any]] = [list(getattr(old, name)) for name in names]
    ids = columns[0]
    new_rows = [getattr(changed, name) for name in names]
    inserts: list[int] = []  # indexes into ``changed`` of rows with new ids
    for k, row_id in enumerate(changed.ids):
        pos = bisect_left(ids, row_id)
        if pos < len(ids) and ids[pos] == row_id:
            for column, values in zip(columns, new_rows, strict=True):
                column[pos] = values[k]
        else:
            inserts.append(k)
    last = ids[-1] if ids else None
    middle = [k for k in inserts if last is not None and changed.ids[k] < last]
    gone = [i for i in deleted if i in _Present(ids)]
    if len(gone) + len(middle) > _IN_PLACE_EDITS:
        return _rebuilt(columns, new_rows, inserts, frozenset(gone))
    for pos in sorted((bisect_left(ids, i) for i in gone), reverse=True):
        for column in columns:
            del column[pos]
    for k in inserts:  # ascending ids: each lands after the previous one
        pos = bisect_left(ids, changed.ids[k])
        for column, values in zip(columns, new_rows, strict=True):
            column.insert(pos, values[k])
    return AddressColumns(*columns)


def _edited_in_place(old: AddressColumns, changed: AddressColumns) -> AddressColumns | None:
    """``merge_columns`` when every changed row already exists (edits only; None
    otherwise): only the columns where a value differs are copied and patched, the
    others are ``old``'s own lists (columns are never modified, so they can be
    shared). An edit usually touches two columns (hostname and editDate), so this
    copies two lists of a million values per change instead of eight."""
    ids = old.ids
    positions: list[int] = []
    for row_id in changed.ids:
        pos = bisect_left(ids, row_id)
        if pos == len(ids) or ids[pos] != row_id:
            return None
        positions.append(pos)
    columns: list[Sequence[Any]] = []
    for name in _COLUMNS:
        values: Sequence[Any] = getattr(old, name)
        new_values = getattr(changed, name)
        patch = [
            (pos, value)
            for pos, value in zip(positions, new_values, strict=True)
            if values[pos] != value or type(values[pos]) is not type(value)
        ]
        if patch:
            copied = list(values)
            for pos, value in patch:
                copied[pos] = value
            values = copied
        columns.append(values)
    return AddressColumns(*columns)


_COLUMNS = (
    "ids",
    "subnet_ids",
    "ip_addrs",
    "hostnames",
    "macs",
    "states",
    "ptr_ignores",
    "edit_dates",
)


class _Present:
    """``row_id in _Present(ids)`` for ascending ``ids``, by bisection."""

    __slots__ = ("ids",)

    def __init__(self, ids: Sequence[int]) -> None:
        self.ids = ids

    def __contains__(self, row_id: int) -> bool:
        pos = bisect_left(self.ids, row_id)
        return pos < len(self.ids) and self.ids[pos] == row_id


def _rebuilt(
    columns: list[list[Any]],
    new_rows: list[Sequence[Any]],
    inserts: list[int],
    gone: frozenset[int],
) -> AddressColumns:
    rows = [row for row in zip(*columns, strict=True) if row[0] not in gone]
    rows += [tuple(values[k] for values in new_rows) for k in inserts]
    rows.sort(key=_first)
    if not rows:
        return AddressColumns([], [], [], [], [], [], [], [])
    return AddressColumns(*(list(c) for c in zip(*rows, strict=True)))


def _first(row: tuple[Any, ...]) -> Any:
    return row[0]
