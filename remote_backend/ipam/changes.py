"""What a change check and an incremental read hand over: tokens, marks, known ids."""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from validators.model import AddressColumns, SubnetRow


@dataclass(frozen=True, slots=True)
class ChangeToken:
    """A cheap summary of the watched tables; when it differs, something changed."""

    value: tuple[Any, ...]
    # a change committed in the same second as the last read may not move the
    # second-granular UPDATE_TIME again: such a token asks for one more reload
    settle: bool = False


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
    aliases: dict[int, str] | None = None  # alias field of the re-read rows (not empty)


# Rows whose editDate is this close before the last read's start are read again: a
# row updated (editDate = statement time) in a transaction that committed after our
# snapshot was taken is still caught, as long as that transaction took less than this.
CHANGE_MARGIN = 60


# ``changed_ids``: about this many buckets of ids (a power of two wide) over the table
ID_BUCKETS = 64


def bucket_shift(max_id: int) -> int:
    """The shift (``id >> shift``) that cuts ids up to ``max_id`` into about
    ``ID_BUCKETS`` buckets (at least 1,024 ids wide)."""
    return max(10, max_id.bit_length() - (ID_BUCKETS.bit_length() - 1))


def differing_buckets(
    held: Sequence[int],
    also_present: Iterable[int],
    found: Mapping[int, tuple[int, int]],
    shift: int,
) -> list[int]:
    """The buckets (``id >> shift``) where the ids in the table differ from the ids
    held: ``found`` is the table's (row count, sum of ids) per bucket, ``held`` the
    ids held (ascending) and ``also_present`` ids known to be in the table besides.
    Every id held but gone, or present but not held, lies in one of them (a bucket
    whose count and sum both match holds the same ids, short of a deletion and an
    insertion that cancel out exactly: the periodic full read catches those)."""
    mine: dict[int, list[int]] = {}
    start = 0
    n = len(held)
    while start < n:
        bucket = held[start] >> shift
        stop = bisect_left(held, (bucket + 1) << shift, start)
        mine[bucket] = [stop - start, sum(held[start:stop])]
        start = stop
    for row_id in also_present:
        counted = mine.setdefault(row_id >> shift, [0, 0])
        counted[0] += 1
        counted[1] += row_id
    return sorted(
        b for b in mine.keys() | found.keys() if tuple(mine.get(b, (0, 0))) != found.get(b, (0, 0))
    )
