"""Owner name -> records, compactly: the storage every snapshot answers from.

Names are stored lowercase without the trailing dot. Each owner name maps to a tuple
of ``(qtype, content)`` pairs; the TTL is zone-wide (``zones.ttl``). Behind that
mapping (``RecordTable``) the usual owner, with one A, AAAA or PTR record, costs one
dict entry: a million addresses are two million owners.
"""

from __future__ import annotations

from collections.abc import ItemsView, Iterable, Iterator, KeysView, Mapping
from itertools import chain
from typing import Any, overload

from validators.address import ipv4_text, ipv4_value
from validators.zones import ZoneIndex

RR = tuple[str, str]  # (qtype, content)

REVERSE_SUFFIXES = (".in-addr.arpa", ".ip6.arpa")

Content = str | int  # record content; an int is an IPv4 address (an A record)


def implied_type(owner: str, content: Content) -> str:
    """The type of a lone record ``RecordTable`` keeps as bare content: A for an IPv4
    address kept as an int, PTR under in-addr.arpa and ip6.arpa, else AAAA for an
    address with ':', else A."""
    if type(content) is int:
        return "A"
    if owner.endswith(REVERSE_SUFFIXES):
        return "PTR"
    return "AAAA" if ":" in content else "A"  # type: ignore[operator]


def content_text(content: Content) -> str:
    """Record content as served: an int (IPv4 address) in dotted quad."""
    return ipv4_text(content) if type(content) is int else content  # type: ignore[return-value]


def _compact_content(qtype: str, content: str) -> Content:
    """An A record's dotted quad as its int when the int gives that very text back."""
    if qtype == "A":
        value = ipv4_value(content)
        if value is not None:
            return value
    return content


class RecordTable(Mapping[str, tuple[RR, ...]]):
    """Owner -> its records, compactly.

    An owner with a single record whose type ``implied_type`` gives maps to the bare
    content in ``single`` (no tuples: two fewer objects per owner; an IPv4 address
    as the int the validators computed, shared with the rows: no string at all);
    every other owner (an apex with its NS records, a dual-stack name, a round-robin
    set) maps to its sorted records in ``multi``. Read as a Mapping it is the plain
    owner -> records mapping, content as text. Never modified once built.
    """

    __slots__ = ("multi", "single")

    def __init__(
        self,
        single: dict[str, Content] | None = None,
        multi: dict[str, tuple[RR, ...]] | None = None,
    ) -> None:
        self.single: dict[str, Content] = {} if single is None else single
        self.multi: dict[str, tuple[RR, ...]] = {} if multi is None else multi

    @classmethod
    def of(cls, records: Mapping[str, tuple[RR, ...]]) -> RecordTable:
        """``records`` as a table (itself when it is one)."""
        if isinstance(records, RecordTable):
            return records
        if isinstance(records, ZoneRecords):
            table = cls()
            for owner in records.owners:
                table.put(owner, records.table[owner])
            return table
        table = cls()
        for owner, rrs in records.items():
            table.put(owner, rrs)
        return table

    def put(self, owner: str, rrs: tuple[RR, ...]) -> None:
        """Add an owner (building only); ``rrs`` sorted, without duplicates."""
        if len(rrs) == 1:
            qtype, text = rrs[0]
            content = _compact_content(qtype, text)
            if qtype == implied_type(owner, content):
                self.single[owner] = content
                return
        self.multi[owner] = rrs

    def __getitem__(self, owner: str) -> tuple[RR, ...]:
        content = self.single.get(owner)
        if content is not None:
            return ((implied_type(owner, content), content_text(content)),)
        return self.multi[owner]

    @overload
    def get(self, owner: str, /) -> tuple[RR, ...] | None: ...
    @overload
    def get(self, owner: str, /, default: tuple[RR, ...] | Any) -> tuple[RR, ...] | Any: ...
    def get(self, owner: str, /, default: Any = None) -> Any:
        content = self.single.get(owner)
        if content is None:
            return self.multi.get(owner, default)
        if content.__class__ is int:
            return (("A", ipv4_text(content)),)
        if owner.endswith(REVERSE_SUFFIXES):
            return (("PTR", content),)
        return (("AAAA" if ":" in content else "A", content),)  # type: ignore[operator]

    def __contains__(self, owner: object) -> bool:
        return owner in self.single or owner in self.multi

    def __iter__(self) -> Iterator[str]:
        return chain(self.single, self.multi)

    def __len__(self) -> int:
        return len(self.single) + len(self.multi)

    def keys(self) -> KeysView[str]:
        return KeysView(self)

    def items(self) -> ItemsView[str, tuple[RR, ...]]:
        return ItemsView(self)

    def records(self, owners: Iterable[str]) -> Iterator[tuple[str, str, str]]:
        """(owner, qtype, content) of every record of ``owners``."""
        get, multi, text = self.single.get, self.multi, ipv4_text
        for owner in owners:
            content = get(owner)
            if content is None:
                for qtype, value in multi[owner]:
                    yield owner, qtype, value
            elif content.__class__ is int:
                yield owner, "A", text(content)
            elif owner.endswith(REVERSE_SUFFIXES):
                yield owner, "PTR", content  # type: ignore[misc]
            else:
                yield owner, "AAAA" if ":" in content else "A", content  # type: ignore[misc,operator]

    def record_count(self) -> int:
        return len(self.single) + sum(map(len, self.multi.values()))


class ZoneRecords(Mapping[str, tuple[RR, ...]]):
    """The records of one zone, inside a ``RecordTable`` shared by every zone of a build
    (so ``assemble`` takes that table as it is instead of merging copies)."""

    __slots__ = ("_index", "cuts", "multi_owners", "owners", "record_count", "table", "zone")

    def __init__(
        self,
        zone: str,
        table: RecordTable,
        owners: list[str],
        multi_owners: list[str],
        index: ZoneIndex,
        cuts: Mapping[str, tuple[RR, ...]] | None = None,
    ) -> None:
        self.zone = zone
        self.table = table
        self.owners = owners  # every owner of the zone, apex first
        self.multi_owners = multi_owners  # those kept in table.multi
        self._index = index
        # owners that are the apex of another served zone (the parent side of a
        # delegation to it): their records here are not the child apex's
        self.cuts: Mapping[str, tuple[RR, ...]] = cuts or {}
        self.record_count = (
            len(owners)
            - len(multi_owners)
            - len(self.cuts)
            + sum(len(table.multi[o]) for o in multi_owners)
            + sum(map(len, self.cuts.values()))
        )

    def _holds(self, owner: object) -> bool:
        return isinstance(owner, str) and (
            owner in self.cuts or (owner in self.table and self._index.find(owner) == self.zone)
        )

    def __getitem__(self, owner: str) -> tuple[RR, ...]:
        cut = self.cuts.get(owner)
        if cut is not None:
            return cut
        if not self._holds(owner):
            raise KeyError(owner)
        return self.table[owner]

    def __contains__(self, owner: object) -> bool:
        return self._holds(owner)

    def __iter__(self) -> Iterator[str]:
        return iter(self.owners)

    def __len__(self) -> int:
        return len(self.owners)
