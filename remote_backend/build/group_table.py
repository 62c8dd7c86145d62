"""Row ids by key, in 16 bytes per row: one table of ``GroupIndex``.

At 1M addresses the index holds a million FQDNs, a million addresses and half a million
MACs. As dicts of key -> row id those took ~100 MiB of `serve`'s memory for the hash
tables alone. Here the rows of every key at build time sit in two sorted arrays (the
key's hash, the row id), and what changed since in an overlay of dicts, so that a
change costs what it changes. The overlay is folded into the arrays only once it
holds ``FOLD_AT`` pairs (a rebuild of the arrays, about a second at a million rows);
a full publication, which builds a new index, comes long before.

Keys are matched by a 64-bit hash (``digest``), so a lookup may also return the rows
of another key of the same hash (about one pair in 10^7 at a million keys). Not
Python's ``hash`` of an int: that is the int itself modulo 2^61 - 1, so addresses (an
IPv6 key is its value plus 2^128) collide by the hundred, and one change would then
walk tens of thousands of rows (measured: 66,000 rows, 9 s at 1M). Strings and bytes
hash with SipHash, so ints go through their bytes. That superset is
harmless by construction: every caller (``GroupIndex.dns_component``, ``mac_groups``)
follows groups to their closure and validates the rows it gets against their real
names, addresses and MACs. What it must never do is miss a row, and it cannot: every
row of a key is under that key's hash.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left, bisect_right
from collections import Counter
from collections.abc import Hashable, Iterable

FOLD_AT = 100_000  # overlay pairs (~20 MB) that make the next change rebuild the arrays
_OFFSET = 1 << 63  # hash() is a signed 64-bit value; shifted to sort as unsigned
_ROW_MASK = (1 << 64) - 1


def digest(key: Hashable) -> int:
    """The 64-bit hash a key is filed under (see the module's docstring)."""
    if key.__class__ is int:
        number: int = key
        return hash(number.to_bytes((number.bit_length() + 8) // 8, "big", signed=True))
    return hash(key)


class GroupTable:
    """Row ids by key (see the module's docstring). A multiset of (key hash, row)
    pairs: a row under two keys of one hash is held twice, so deleting one of the pairs
    leaves it under the other. ``delete`` takes only a pair that was inserted (what
    ``GroupIndex`` does: it removes a row under the keys it was added with)."""

    __slots__ = ("_added", "_hashes", "_overlay", "_removed", "_rows")

    def __init__(self, pairs: Iterable[tuple[Hashable, int]] = ()) -> None:
        """``pairs``: (key, row id) of every row that has a key."""
        self._hashes = array("q")
        self._rows = array("q")
        self._added: dict[int, Counter[int]] = {}  # hash -> rows added since the arrays
        self._removed: dict[int, Counter[int]] = {}  # hash -> rows of the arrays removed
        self._overlay = 0  # pairs in the overlay
        self._fill(sorted(((digest(key) + _OFFSET) << 64 | row) for key, row in pairs))

    def _fill(self, packed: list[int]) -> None:
        """Set the arrays from ascending (hash + offset) << 64 | row values."""
        self._hashes = array("q", [(p >> 64) - _OFFSET for p in packed])
        self._rows = array("q", [p & _ROW_MASK for p in packed])

    def _counts(self, h: int) -> Counter[int]:
        lo = bisect_left(self._hashes, h)
        hi = bisect_right(self._hashes, h, lo)
        counts = Counter(self._rows[lo:hi])
        removed = self._removed.get(h)
        if removed:
            counts -= removed
        added = self._added.get(h)
        if added:
            counts += added
        return counts

    def get(self, key: Hashable) -> list[int]:
        """The rows under ``key``'s hash, ascending (empty: none)."""
        return sorted(self._counts(digest(key)))

    def insert(self, key: Hashable, row: int) -> None:
        h = digest(key)
        if not _take(self._removed, h, row):
            self._added.setdefault(h, Counter())[row] += 1
        self._changed()

    def delete(self, key: Hashable, row: int) -> None:
        h = digest(key)
        if not _take(self._added, h, row):
            self._removed.setdefault(h, Counter())[row] += 1
        self._changed()

    def _changed(self) -> None:
        self._overlay += 1
        if self._overlay >= FOLD_AT:
            self.fold()

    def fold(self) -> None:
        """Merge the overlay into the arrays."""
        self._overlay = 0
        if not self._added and not self._removed:
            return
        pairs = Counter(
            (h + _OFFSET) << 64 | r for h, r in zip(self._hashes, self._rows, strict=True)
        )
        for changes, sign in ((self._removed, -1), (self._added, 1)):
            for h, rows in changes.items():
                for r, n in rows.items():
                    pairs[(h + _OFFSET) << 64 | r] += sign * n
        self._fill(sorted(pairs.elements()))
        self._added.clear()
        self._removed.clear()

    def pairs(self) -> Counter[tuple[int, int]]:
        """Every (hash, row) pair held, with its count (for tests and comparisons)."""
        out = Counter(zip(self._hashes, self._rows, strict=True))
        for h, rows in self._removed.items():
            out.subtract({(h, r): n for r, n in rows.items()})
        for h, rows in self._added.items():
            out.update({(h, r): n for r, n in rows.items()})
        return +out

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, GroupTable):
            return NotImplemented
        return self.pairs() == other.pairs()

    __hash__ = None  # type: ignore[assignment]  # mutable


def _take(changes: dict[int, Counter[int]], h: int, row: int) -> bool:
    """Take one ``row`` off ``changes[h]``; False when there was none."""
    rows = changes.get(h)
    if not rows or rows[row] <= 0:
        return False
    rows[row] -= 1
    if rows[row] == 0:
        del rows[row]
        if not rows:
            del changes[h]
    return True
