"""The immutable snapshot every answer comes from.

Built from the validators' ``Publication`` plus zone settings and serials. It is never
mutated after construction: a refresh builds a new one and swaps a single reference,
so a lookup, a ``list`` and the SOA that frames an AXFR all see one consistent state.

Names are stored lowercase without the trailing dot. Each owner name maps to a tuple
of ``(qtype, content)`` pairs; the TTL is zone-wide (``zones.ttl``) and the SOA record
is kept per zone. Behind that mapping (``RecordTable``) the usual owner, with one A,
AAAA or PTR record, costs one dict entry: a million addresses are two million owners.
"""

from __future__ import annotations

import hashlib
import time
from bisect import bisect_left
from collections.abc import ItemsView, Iterable, Iterator, KeysView, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import chain
from typing import Any, overload

from remote_backend.zones import (
    OCTETS,
    RecordPlacer,
    ZoneIndex,
    ZoneSettings,
    ipv4_text,
    ipv4_value,
)
from validators.model import Publication, record_columns

RR = tuple[str, str]  # (qtype, content)

_REVERSE_SUFFIXES = (".in-addr.arpa", ".ip6.arpa")

Content = str | int  # record content; an int is an IPv4 address (an A record)


def implied_type(owner: str, content: Content) -> str:
    """The type of a lone record ``RecordTable`` keeps as bare content: A for an IPv4
    address kept as an int, PTR under in-addr.arpa and ip6.arpa, else AAAA for an
    address with ':', else A."""
    if type(content) is int:
        return "A"
    if owner.endswith(_REVERSE_SUFFIXES):
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
        if owner.endswith(_REVERSE_SUFFIXES):
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
            elif owner.endswith(_REVERSE_SUFFIXES):
                yield owner, "PTR", content  # type: ignore[misc]
            else:
                yield owner, "AAAA" if ":" in content else "A", content  # type: ignore[misc,operator]

    def record_count(self) -> int:
        return len(self.single) + sum(map(len, self.multi.values()))


@dataclass(frozen=True, slots=True)
class Zone:
    """One served zone: its id (stable, 1-based config order), apex and SOA."""

    id: int
    name: str
    serial: int
    soa_content: str  # the 7 SOA fields in presentation format
    fingerprint: str  # hash of the served content, SOA serial excluded
    record_count: int  # records served in the zone, SOA and NS included


@dataclass(frozen=True, slots=True)
class ZoneContent:
    """What a zone serves, before a serial is attached to it.

    ``parents``: the parent name of every owner, when known (``assemble`` derives the
    empty non-terminals from them; None: it works them out from the owners).
    """

    name: str
    records: Mapping[str, tuple[RR, ...]]  # owner -> rrs, SOA excluded
    fingerprint: str
    parents: frozenset[str] | None = None


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Everything pphook answers from. Lookups cost a dict access."""

    zones: tuple[Zone, ...]
    names: Mapping[str, tuple[RR, ...]]  # every owner name of every zone (no SOA)
    ents: frozenset[str]  # empty non-terminals
    ttl: int
    built_at: float = field(default_factory=time.time)
    generation: int = 0
    zone_by_name: Mapping[str, Zone] = field(default_factory=dict)
    zone_by_id: Mapping[int, Zone] = field(default_factory=dict)
    index: ZoneIndex = field(default_factory=lambda: ZoneIndex(()))
    # every owner of a zone, apex first; never modified (a list: the build's own)
    owners_by_zone: Mapping[str, Sequence[str]] = field(default_factory=dict)

    def zone_of(self, name: str) -> Zone | None:
        """The served zone holding ``name`` (lowercase, no trailing dot), or None."""
        zone = self.index.find(name)
        return self.zone_by_name[zone] if zone is not None else None

    def rrs(self, name: str) -> tuple[RR, ...]:
        """The records at ``name`` (SOA excluded); empty for ENTs and unknown names."""
        return self.names.get(name, ())

    def zone_records(self, zone: Zone, *, sort: bool = False) -> Iterator[tuple[str, str, str]]:
        """(owner, qtype, content) of every record of ``zone``, SOA first.

        ``sort=True`` orders owners canonically (labels compared from the right), for
        zone files people read; transfers do not need it.
        """
        yield zone.name, "SOA", zone.soa_content
        owners = self.owners_by_zone.get(zone.name, ())
        if sort:
            owners = tuple(sorted(owners, key=_canonical_key))
        names = self.names
        if isinstance(names, RecordTable):
            yield from names.records(owners)
            return
        for owner in owners:
            for qtype, content in names[owner]:
                yield owner, qtype, content

    @property
    def record_count(self) -> int:
        return sum(z.record_count for z in self.zones)


def _canonical_key(name: str) -> tuple[str, ...]:
    """DNSSEC canonical order approximation: compare labels from the right."""
    return tuple(reversed(name.split(".")))


def _content_name(name: str) -> str:
    """A domain name inside record content, as pdns itself prints it: no trailing dot.

    pdns parses content names as absolute either way, but `pdnsutil check-zone` warns
    when the text it got differs from its own rendering ("Parsed and original record
    content are not equal").
    """
    return name


class ZoneRecords(Mapping[str, tuple[RR, ...]]):
    """The records of one zone, inside a ``RecordTable`` shared by every zone of a build
    (so ``assemble`` takes that table as it is instead of merging copies)."""

    __slots__ = ("_index", "multi_owners", "owners", "record_count", "table", "zone")

    def __init__(
        self,
        zone: str,
        table: RecordTable,
        owners: list[str],
        multi_owners: list[str],
        index: ZoneIndex,
    ) -> None:
        self.zone = zone
        self.table = table
        self.owners = owners  # every owner of the zone, apex first
        self.multi_owners = multi_owners  # those kept in table.multi
        self._index = index
        self.record_count = (
            len(owners) - len(multi_owners) + sum(len(table.multi[o]) for o in multi_owners)
        )

    def _holds(self, owner: object) -> bool:
        return (
            isinstance(owner, str) and owner in self.table and self._index.find(owner) == self.zone
        )

    def __getitem__(self, owner: str) -> tuple[RR, ...]:
        if not self._holds(owner):
            raise KeyError(owner)
        return self.table[owner]

    def __contains__(self, owner: object) -> bool:
        return self._holds(owner)

    def __iter__(self) -> Iterator[str]:
        return iter(self.owners)

    def __len__(self) -> int:
        return len(self.owners)


def compute_zone_contents(publication: Publication, settings: ZoneSettings) -> list[ZoneContent]:
    """Place every published record in its longest matching zone; add apex NS records.

    Records whose name is in no served zone are dropped here (the validators already
    rejected forward names outside the zones; PTRs of IPs outside ``zones.reverse``
    are simply not served).

    One pass over the records and one over the PTRs, on the validators' columns:
    each record's text and zone cost a few dict accesses (work shared per parent
    name, /24 or /64 is cached), and it lands straight in the ``single`` dict of one
    ``RecordTable`` for all zones; the few owners with more than one record are
    gathered on the side.
    """
    zone_names = settings.all_zone_names
    index = ZoneIndex(zone_names)
    zones = frozenset(zone_names)
    placer = RecordPlacer(index, zone_names)
    table = RecordTable()
    single = table.single
    owners: dict[str, list[str]] = {z: [z] for z in zone_names}  # apex first
    more: dict[str, dict[str, list[RR]]] = {z: {} for z in zone_names}  # owner -> extra rrs
    parents: dict[str, set[str]] = {z: set() for z in zone_names}
    ns_rrs = [("NS", _content_name(ns)) for ns in settings.nameservers]
    for z in zone_names:
        more[z][z] = list(ns_rrs)
    # a forward owner under in-addr.arpa/ip6.arpa would need its type spelled out
    plain_forward = {
        z: not (z.endswith(_REVERSE_SUFFIXES) or z in ("arpa", "in-addr.arpa", "ip6.arpa"))
        for z in zone_names
    }

    # parent name -> (zone, its owner list, whether A/AAAA there is implied)
    by_parent: dict[str, tuple[str, list[str], bool] | None] = {}
    ipv6_text = placer.ipv6_text
    records = record_columns(publication.records)
    for fqdn, value, family in zip(records.fqdns, records.values, records.families, strict=True):
        content: Content = value if family == 4 else ipv6_text(value)
        if fqdn in zones:  # at an apex: next to the NS records
            more[fqdn].setdefault(fqdn, []).append(_rr(content))
            continue
        parent = fqdn.partition(".")[2]
        place = by_parent.get(parent, _MISSING)
        if place is _MISSING:
            zone = index.find(parent)
            place = by_parent[parent] = (
                None if zone is None else (zone, owners[zone], plain_forward[zone])
            )
            if zone is not None:
                parents[zone].add(parent)
        if place is None:
            continue
        zone, zone_owners, plain = place
        if plain and single.setdefault(fqdn, content) is content:
            zone_owners.append(fqdn)
            continue
        # a second record for this owner (dual stack, round robin), or a spelled-out type
        more[zone].setdefault(fqdn, []).append(_rr(content))

    ipv4_reverse = placer.ipv4_reverse
    ipv6_reverse = placer.ipv6_reverse
    # The usual IPv4 PTR, inline: its owner is new (one PTR per address, and no zone
    # apex or forward name can be an IPv4 reverse name when no zone is below a /24 and
    # no forward zone is under arpa), and its zone that of its /24.
    fast_v4 = placer.v4_zone_per_24 and all(plain_forward[z] for z in settings.forward)
    per_24: dict[int, tuple[str, list[str] | None]] = {}  # value >> 8 -> (suffix, owners)
    octets = OCTETS
    ptrs = record_columns(publication.ptrs)
    for fqdn, value, family in zip(ptrs.fqdns, ptrs.values, ptrs.families, strict=True):
        if family == 4 and fast_v4:
            entry = per_24.get(value >> 8)
            if entry is None:
                owner, zone = ipv4_reverse(value)
                entry = per_24[value >> 8] = (
                    owner[owner.index(".") :],
                    None if zone is None else owners[zone],
                )
            if entry[1] is not None:
                owner = octets[value & 255] + entry[0]
                single[owner] = _content_name(fqdn)
                entry[1].append(owner)
            continue
        owner, zone = ipv4_reverse(value) if family == 4 else ipv6_reverse(value)
        if zone is None:
            continue
        name = _content_name(fqdn)
        if owner not in zones and single.setdefault(owner, name) is name:
            owners[zone].append(owner)
            continue
        more[zone].setdefault(owner, []).append(("PTR", name))

    contents = []
    for z in zone_names:
        zone_owners = owners[z]
        multi_owners = []
        for owner, rrs in more[z].items():
            first = single.pop(owner, None)
            if first is not None:
                rrs.append((implied_type(owner, first), content_text(first)))
            elif owner != z:
                zone_owners.append(owner)  # only ever went to the side
            table.put(owner, tuple(sorted(set(rrs))))
            if owner in table.multi:
                multi_owners.append(owner)
        zone_parents = parents[z]
        zone_parents.update(placer.reverse_parents(z))
        records_of_zone = ZoneRecords(z, table, zone_owners, multi_owners, index)
        contents.append(
            ZoneContent(
                z,
                records_of_zone,
                fingerprint(z, records_of_zone, settings),
                frozenset(zone_parents),
            )
        )
    return contents


_MISSING: Any = object()


def _rr(content: Content) -> RR:
    """An A (IPv4 as an int) or AAAA record."""
    if type(content) is int:
        return ("A", ipv4_text(content))
    return ("AAAA", content)  # type: ignore[return-value]


_FINGERPRINT_BATCH = 4096  # owners per hashed batch (part of the format: keep it)


def fingerprint(zone: str, records: Mapping[str, tuple[RR, ...]], settings: ZoneSettings) -> str:
    """SHA-256 of what the zone serves, serial excluded: stable across processes and
    nodes, and independent of the order records were found in.

    Hashed, each part after its length: a header with the TTL and the SOA fields
    other than the serial; then, for each batch of ``_FINGERPRINT_BATCH`` owners in
    sorted order, their names newline-joined and their records newline-joined. An
    owner's records are written as its bare content when that is its only record and
    of the type ``implied_type`` gives (the usual case: no Python code runs per
    record; an IPv4 address as its decimal integer, which nothing else in a zone
    can look like: other contents hold a '.' or a ':'), else as every record's type
    and content behind a \\x01. Names and contents hold no newline nor control
    character, so this text is unambiguous.
    """
    if isinstance(records, ZoneRecords):
        table, owners, multi_owners = records.table, sorted(records.owners), records.multi_owners
    else:
        table = RecordTable.of(records)
        owners, multi_owners = sorted(table), list(table.multi)
    soa = settings.soa
    header = (
        f"pphook-zone-v2|{zone}|{settings.ttl}|"
        f"{settings.nameservers[0] if settings.nameservers else ''}|"
        f"{settings.hostmaster}|{soa.refresh}|{soa.retry}|{soa.expire}|{soa.minimum}"
    )
    digest = hashlib.sha256()

    def part(text: str) -> None:
        data = text.encode()
        digest.update(len(data).to_bytes(8, "big"))
        digest.update(data)

    part(header)
    entries: list[Content | None] = list(map(table.single.get, owners))
    for owner in multi_owners:
        entries[bisect_left(owners, owner)] = "\x01" + "\x02".join(
            f"{q}\x03{c}" for q, c in table.multi[owner]
        )
    for start in range(0, len(owners), _FINGERPRINT_BATCH):
        stop = start + _FINGERPRINT_BATCH
        part("\n".join(owners[start:stop]))
        part("\n".join(map(str, entries[start:stop])))
    return digest.hexdigest()


def soa_content(settings: ZoneSettings, serial: int) -> str:
    mname = _content_name(settings.nameservers[0]) if settings.nameservers else "."
    rname = _content_name(settings.hostmaster)
    soa = settings.soa
    return f"{mname} {rname} {serial} {soa.refresh} {soa.retry} {soa.expire} {soa.minimum}"


def assemble(
    contents: list[ZoneContent],
    serials: Mapping[str, int],
    settings: ZoneSettings,
    generation: int = 0,
) -> Snapshot:
    """Join zone contents and their serials into one immutable Snapshot."""
    shared = {id(c.records.table) for c in contents if isinstance(c.records, ZoneRecords)}
    if len(shared) == 1 and all(isinstance(c.records, ZoneRecords) for c in contents):
        # compute_zone_contents' zones share one table: it is the snapshot's as it is
        names = contents[0].records.table  # type: ignore[attr-defined]
        single, multi = names.single, names.multi
    else:
        names = None
        single, multi = {}, {}
    ents: set[str] = set()
    zones = []
    owners_by_zone: dict[str, Sequence[str]] = {}
    for zone_id, content in enumerate(contents, start=1):
        apex = content.name
        records = content.records
        if isinstance(records, ZoneRecords) and names is not None:
            owners_by_zone[apex] = records.owners  # shared, not copied: 2M names at 1M rows
            count = records.record_count
        else:
            table = RecordTable.of(records)
            single.update(table.single)
            multi.update(table.multi)
            owners_by_zone[apex] = tuple(records)  # in the order given
            count = table.record_count()
        parents = content.parents
        if parents is None:
            parents = frozenset(o.partition(".")[2] for o in owners_by_zone[apex] if o != apex)
        # every ancestor strictly between an owner and the apex is an empty
        # non-terminal unless it owns records itself (removed below)
        for parent in parents:
            name = parent
            while name != apex and name not in ents and name.endswith(apex):
                ents.add(name)
                name = name.partition(".")[2]
        serial = serials[apex]
        zones.append(
            Zone(
                id=zone_id,
                name=apex,
                serial=serial,
                soa_content=soa_content(settings, serial),
                fingerprint=content.fingerprint,
                record_count=1 + count,  # the SOA, then the rest
            )
        )
    if names is None:
        names = RecordTable(single, multi)
    zone_tuple = tuple(zones)
    return Snapshot(
        zones=zone_tuple,
        names=names,
        ents=frozenset(e for e in ents if e not in names),
        ttl=settings.ttl,
        generation=generation,
        zone_by_name={z.name: z for z in zone_tuple},
        zone_by_id={z.id: z for z in zone_tuple},
        index=ZoneIndex(z.name for z in zone_tuple),
        owners_by_zone=owners_by_zone,
    )


def changed_names(old: Snapshot, new: Snapshot) -> set[str]:
    """Owner names whose answer differs between two snapshots (apexes of re-serialed zones,
    names with other records, names that appeared, disappeared or became/stopped being ENTs).
    """
    changed: set[str] = set()
    old_names, new_names = old.names, new.names
    if isinstance(old_names, RecordTable) and isinstance(new_names, RecordTable):
        # compare the tables as they are stored: no record is formatted
        for new_part, old_part in (
            (new_names.single, old_names.single),
            (new_names.multi, old_names.multi),
        ):
            get = old_part.get
            changed.update(n for n, v in new_part.items() if get(n, _MISSING) != v)
            changed.update(n for n in old_part if n not in new_part)
    else:
        for name, rrs in new_names.items():
            if old_names.get(name) != rrs:
                changed.add(name)
        changed.update(name for name in old_names if name not in new_names)
    changed.update(old.ents.symmetric_difference(new.ents))
    old_serials = {z.name: z.serial for z in old.zones}
    changed.update(z.name for z in new.zones if old_serials.get(z.name) != z.serial)
    changed.update(name for name in old_serials if name not in new.zone_by_name)
    return changed
