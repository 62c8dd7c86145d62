"""Value objects that flow through the validators.

Input: phpIPAM rows as the IPAM reader hands them over (raw, untrusted: any text can
sit in ``hostname``, ``mac`` or ``ip_addr``). Output: what DNS publishes and a finding
for every row that is not published, or is published with a problem worth reporting.

Everything here is immutable so a snapshot built from it can be shared between
threads and swapped atomically.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import TypeVar, overload

from validators.codes import Code

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True, slots=True)
class SubnetRow:
    """One row of phpIPAM ``subnets`` (folders included), columns we need only."""

    id: int
    subnet: str | None  # network address as a decimal string; folders: '0'
    mask: str | None  # prefix length as a string; folders: ''
    section_id: int | None
    is_folder: bool = False
    dns_recursive: bool = False  # UI "Autocreate reverse records"
    vrf_id: int | None = None
    description: str | None = None


@dataclass(frozen=True, slots=True)
class AddressRow:
    """One row of phpIPAM ``ipaddresses``; text columns exactly as stored."""

    id: int
    subnet_id: int | None
    ip_addr: str | None
    hostname: str | None = None
    mac: str | None = None
    state: int | None = 2
    ptr_ignore: bool = False
    edit_date: datetime | None = None
    description: str | None = None


class AddressColumns:
    """The address rows column by column, in ascending id order.

    This is how the IPAM reader hands rows over and how the validators walk them: one
    list per column costs a fraction of the time and memory of one object per row
    (a million rows). Never modified after construction; ``row(i)`` and
    ``IpamData.addresses`` give ``AddressRow`` objects when one is wanted.
    ``description`` is not a column: no rule uses it, so the reader does not read it.

    ``ip_addrs`` may hold an ``ip_addr`` as the int it spells when the text is exactly
    ``str()`` of that int (ASCII digits, no leading zero, at most 39 digits; see
    ``compact_ip_addr``): the same value in a third of the memory, and already
    parsed. ``ip_addr_text`` and the rows give the text back.
    """

    __slots__ = (
        "edit_dates",
        "hostnames",
        "ids",
        "ip_addrs",
        "macs",
        "ptr_ignores",
        "states",
        "subnet_ids",
    )

    def __init__(
        self,
        ids: Sequence[int],
        subnet_ids: Sequence[int | None],
        ip_addrs: Sequence[str | int | None],
        hostnames: Sequence[str | None],
        macs: Sequence[str | None],
        states: Sequence[int | None],
        ptr_ignores: Sequence[bool],
        edit_dates: Sequence[datetime | None],
    ) -> None:
        n = len(ids)
        columns = (subnet_ids, ip_addrs, hostnames, macs, states, ptr_ignores, edit_dates)
        if any(len(c) != n for c in columns):
            raise ValueError("address columns of different lengths")
        self.ids = ids
        self.subnet_ids = subnet_ids
        self.ip_addrs = ip_addrs
        self.hostnames = hostnames
        self.macs = macs
        self.states = states
        self.ptr_ignores = ptr_ignores
        self.edit_dates = edit_dates

    @classmethod
    def from_rows(cls, rows: Iterable[AddressRow]) -> AddressColumns:
        """Columns of ``rows``, sorted by id (stable: equal ids keep their order)."""
        ordered = sorted(rows, key=_row_id)
        return cls(
            [r.id for r in ordered],
            [r.subnet_id for r in ordered],
            [r.ip_addr for r in ordered],
            [r.hostname for r in ordered],
            [r.mac for r in ordered],
            [r.state for r in ordered],
            [r.ptr_ignore for r in ordered],
            [r.edit_date for r in ordered],
        )

    def __len__(self) -> int:
        return len(self.ids)

    def row(self, i: int) -> AddressRow:
        return AddressRow(
            self.ids[i],
            self.subnet_ids[i],
            ip_addr_text(self.ip_addrs[i]),
            self.hostnames[i],
            self.macs[i],
            self.states[i],
            self.ptr_ignores[i],
            self.edit_dates[i],
        )

    def __iter__(self) -> Iterator[AddressRow]:
        return map(
            AddressRow,
            self.ids,
            self.subnet_ids,
            map(ip_addr_text, self.ip_addrs),
            self.hostnames,
            self.macs,
            self.states,
            self.ptr_ignores,
            self.edit_dates,
        )


def ip_addr_text(value: str | int | None) -> str | None:
    """An ``AddressColumns.ip_addrs`` entry as the text phpIPAM stores."""
    return str(value) if type(value) is int else value  # type: ignore[return-value]


def compact_ip_addr(text: str | None) -> str | int | None:
    """``text`` as an int when ``str()`` of that int gives it back, else unchanged."""
    if text is not None and 0 < len(text) <= 39 and text.isdigit() and text.isascii():
        value = int(text)
        if len(text) == 1 or text[0] != "0":
            return value
    return text


def compact_ip_addrs(texts: list[str | None]) -> list[str | int | None]:
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


_SEP = "\x1f"  # joins values for the checks above; never part of a decimal
_LEADING_ZERO = re.compile(r"(?:^|\x1f)0[0-9]")


def _no_leading_zero(joined: str) -> bool:
    """No value of ``joined`` (digits and separators) has a leading zero. Usually no
    value starts with '0' at all: a substring search tells that several times faster
    than the regular expression."""
    if joined[:1] != "0" and _SEP + "0" not in joined:
        return True
    return _LEADING_ZERO.search(joined) is None


def _row_id(row: AddressRow) -> int:
    return row.id


class AddressRowsView(Sequence[AddressRow]):
    """``AddressRow`` objects made on access from columns (nothing is kept)."""

    __slots__ = ("_columns",)

    def __init__(self, columns: AddressColumns) -> None:
        self._columns = columns

    def __len__(self) -> int:
        return len(self._columns)

    @overload
    def __getitem__(self, index: int) -> AddressRow: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[AddressRow]: ...
    def __getitem__(self, index: int | slice) -> AddressRow | Sequence[AddressRow]:
        if isinstance(index, slice):
            return tuple(self._columns.row(i) for i in range(len(self))[index])
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError("address row index out of range")
        return self._columns.row(index)

    def __iter__(self) -> Iterator[AddressRow]:
        return iter(self._columns)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Sequence):
            return NotImplemented
        return len(self) == len(other) and all(a == b for a, b in zip(self, other, strict=True))

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"<{len(self)} address rows>"


@dataclass(frozen=True, slots=True)
class IpamData:
    """Everything the validators need from one consistent read of phpIPAM.

    ``addresses`` is any sequence of rows; the reader gives a view over columns
    (``from_columns``) and the validators work on ``columns``, made once from the
    rows when the data was built from rows.
    """

    addresses: Sequence[AddressRow]
    subnets: Mapping[int, SubnetRow] = field(default_factory=dict)
    sections: Mapping[int, str] = field(default_factory=dict)  # sections.id -> name
    tags: Mapping[int, str] = field(default_factory=dict)  # ipTags.id -> type
    _columns: AddressColumns | None = field(default=None, compare=False, repr=False)
    # row id -> the raw text of its alias field (policy.alias_field), for rows where
    # it is not empty
    aliases: Mapping[int, str] = field(default_factory=dict)

    @classmethod
    def from_columns(
        cls,
        columns: AddressColumns,
        subnets: Mapping[int, SubnetRow],
        sections: Mapping[int, str],
        tags: Mapping[int, str],
        aliases: Mapping[int, str] | None = None,
    ) -> IpamData:
        return cls(AddressRowsView(columns), subnets, sections, tags, columns, aliases or {})

    @property
    def columns(self) -> AddressColumns:
        """The rows as columns in ascending id order."""
        columns = self._columns
        if columns is None:
            columns = AddressColumns.from_rows(self.addresses)
            object.__setattr__(self, "_columns", columns)  # a cache, not a change
        return columns


@dataclass(frozen=True, slots=True)
class Finding:
    """A decision about one row: a rejection, a problem, or a policy note.

    ``reason`` is one line an operator understands without reading code;
    ``related_ids`` names the other rows involved (e.g. the row that won a duplicate).
    """

    code: Code
    row_id: int
    reason: str
    related_ids: tuple[int, ...] = ()
    subject: str = ""  # what of the row the finding is about when not its hostname (an alias)

    @property
    def is_problem(self) -> bool:
        return self.code.is_problem


@dataclass(frozen=True, slots=True)
class AddressRecord:
    """A published A (IPv4) or AAAA (IPv6) record. ``row_id``: lowest row behind it."""

    fqdn: str  # normalised: lowercase, no trailing dot
    address: IPAddress
    row_id: int


@dataclass(frozen=True, slots=True)
class PtrRecord:
    """A published PTR: ``address`` points back to ``fqdn``."""

    address: IPAddress
    fqdn: str
    row_id: int


class RecordColumns:
    """Published A/AAAA records, or PTRs, column by column in the order published.

    ``values`` are the addresses as integers and ``families`` 4 or 6: what the
    validators compute and the snapshot needs, without an object per record. Never
    modified after construction.
    """

    __slots__ = ("families", "fqdns", "row_ids", "values")

    def __init__(
        self,
        fqdns: Sequence[str],
        values: Sequence[int],
        families: Sequence[int],
        row_ids: Sequence[int],
    ) -> None:
        if not len(fqdns) == len(values) == len(families) == len(row_ids):
            raise ValueError("record columns of different lengths")
        self.fqdns = fqdns
        self.values = values
        # one byte per record instead of an 8-byte pointer (a build keeps the last
        # publication: 14 MB less at 1M addresses); bytes either way, so equal
        # columns compare equal
        self.families: Sequence[int] = families if isinstance(families, bytes) else bytes(families)
        self.row_ids = row_ids

    @classmethod
    def from_records(cls, records: Iterable[AddressRecord | PtrRecord]) -> RecordColumns:
        items = tuple(records)
        return cls(
            [r.fqdn for r in items],
            [int(r.address) for r in items],
            [r.address.version for r in items],
            [r.row_id for r in items],
        )

    def __len__(self) -> int:
        return len(self.fqdns)

    def address(self, i: int) -> IPAddress:
        value = self.values[i]
        if self.families[i] == 4:
            return ipaddress.IPv4Address(value)
        return ipaddress.IPv6Address(value)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, RecordColumns):
            return NotImplemented
        return (
            self.fqdns == other.fqdns
            and self.values == other.values
            and self.families == other.families
            and self.row_ids == other.row_ids
        )

    __hash__ = None  # type: ignore[assignment]


_R = TypeVar("_R", "AddressRecord", "PtrRecord")


class _RecordsView(Sequence[_R]):
    """Record objects made on access from ``RecordColumns`` (nothing is kept).

    Compares equal to any sequence of the same records, tuples included.
    """

    __slots__ = ("columns",)

    def __init__(self, columns: RecordColumns) -> None:
        self.columns = columns

    def _make(self, i: int) -> _R:
        raise NotImplementedError

    def __len__(self) -> int:
        return len(self.columns)

    @overload
    def __getitem__(self, index: int) -> _R: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[_R]: ...
    def __getitem__(self, index: int | slice) -> _R | Sequence[_R]:
        if isinstance(index, slice):
            return tuple(self._make(i) for i in range(len(self))[index])
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError("record index out of range")
        return self._make(index)

    def __iter__(self) -> Iterator[_R]:
        return map(self._make, range(len(self)))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, _RecordsView) and type(other) is type(self):
            return self.columns == other.columns
        if not isinstance(other, Sequence) or isinstance(other, str):
            return NotImplemented
        return len(self) == len(other) and all(a == b for a, b in zip(self, other, strict=True))

    def __hash__(self) -> int:
        return hash(tuple(self))

    def __repr__(self) -> str:
        return repr(tuple(self))


class AddressRecords(_RecordsView[AddressRecord]):
    __slots__ = ()

    def _make(self, i: int) -> AddressRecord:
        c = self.columns
        return AddressRecord(c.fqdns[i], c.address(i), c.row_ids[i])


class PtrRecords(_RecordsView[PtrRecord]):
    __slots__ = ()

    def _make(self, i: int) -> PtrRecord:
        c = self.columns
        return PtrRecord(c.address(i), c.fqdns[i], c.row_ids[i])


def record_columns(records: Sequence[AddressRecord] | Sequence[PtrRecord]) -> RecordColumns:
    """The columns behind ``Publication.records`` or ``.ptrs`` (made if they are objects)."""
    if isinstance(records, _RecordsView):
        return records.columns
    return RecordColumns.from_records(records)


@dataclass(frozen=True, slots=True, order=True)
class Alias:
    """A published alias: a CNAME ``name`` -> ``target`` (the FQDN of row ``row_id``)."""

    name: str
    target: str
    row_id: int


@dataclass(frozen=True, slots=True)
class ZoneFacts:
    """What the served zones hold besides phpIPAM hosts, as the rules need it (static
    files and config): the rules stay pure, the caller reads the files.

    ``cuts``: delegation points (NS below an apex); ``cnames``: names a static CNAME
    holds; ``names``: every name holding data that is not a phpIPAM host (static
    records, ``zones.nameserver_addresses``); ``apexes``: the served zones.
    """

    apexes: frozenset[str] = frozenset()
    cuts: frozenset[str] = frozenset()
    cnames: frozenset[str] = frozenset()
    names: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class Publication:
    """The validators' verdict over one IpamData: the only input a snapshot is built from.

    ``records`` and ``ptrs`` are sequences of record objects: tuples, or, from
    ``validate``, views over columns that make the objects on access
    (``record_columns`` gives the columns either way).
    """

    records: Sequence[AddressRecord]
    ptrs: Sequence[PtrRecord]
    findings: tuple[Finding, ...]
    aliases: tuple[Alias, ...] = ()

    def findings_for(self, row_id: int) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.row_id == row_id)

    @property
    def problems(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.is_problem)


class DuplicateHostnamePolicy(StrEnum):
    KEEP_LOWEST_ID = "keep-lowest-id"
    PUBLISH_ALL = "publish-all"


class MacScope(StrEnum):
    GLOBAL = "global"
    SECTION = "section"
    NONE = "none"


@dataclass(frozen=True, slots=True)
class Policy:
    """Publication policy (config ``[policy]`` plus the zone facts the rules need)."""

    forward_zones: tuple[str, ...] = ()  # normalised zone names, no trailing dot
    default_domain: str | None = None
    publish_states: tuple[str | int, ...] = ()  # tag names or ids; empty = every state
    sections: tuple[str, ...] = ()  # section names; empty = all
    allow_underscore: bool = False
    duplicate_hostname: DuplicateHostnamePolicy = DuplicateHostnamePolicy.KEEP_LOWEST_ID
    ptr_requires_subnet_flag: bool = False
    mac_duplicate_scope: MacScope = MacScope.GLOBAL
    # compared after normalisation (strip ':.-', lowercase)
    mac_ignore: tuple[str, ...] = ("000000000000", "ffffffffffff")
    # the custom field of ipaddresses holding each row's aliases (CNAMEs); None: off
    alias_field: str | None = None
    # classless blocks whose PTRs another server publishes (zones.classless_delegations)
    delegated_reverse: tuple[ipaddress.IPv4Network, ...] = ()
