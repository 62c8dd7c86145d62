"""Publishing a change at the cost of the change.

After a full publication, ``IncrementalPublisher`` keeps what it needs to publish the
next changes without looking at every row again: the group index (``groups.py``), the
number of owners below each name (empty non-terminals), and each zone's fingerprint.
For a change it:

1. follows the groups from the changed rows (their old and new values) to every row
   whose verdict or records may have moved, and validates only those rows (the
   verdicts equal a full pass's: a row is only ever compared with its groups);
2. builds those rows' names (FQDNs, PTR owners) from that verdict, with everything
   else a name holds (NS, static data), and compares them with the shared snapshot;
3. updates the empty non-terminals above names that appeared or went, and the
   fingerprints by subtracting the old names' hashes and adding the new ones;
4. gets serials for the zones whose fingerprint moved and publishes everything in
   one transaction (``SharedSnapshot.publish``).

A property test holds the result equal to a full build after any sequence of
changes (tests/remote_backend/build/test_incremental_equivalence.py).
"""

from __future__ import annotations

import ipaddress
import logging
import time
from collections import Counter
from collections.abc import Callable, Iterable

from remote_backend.build.builder import RowDelta
from remote_backend.build.groups import V6, GroupIndex, RowKeys, row_values, subset
from remote_backend.build.publisher import Published
from remote_backend.memory import renewed
from remote_backend.protocol.encode import (
    ent_value,
    is_ent,
    record_count,
    record_fragment,
    with_first,
    without_first,
)
from remote_backend.shared.layout import ZoneMeta, name_key
from remote_backend.shared.packing import pack
from remote_backend.shared.writer import SharedSnapshot
from remote_backend.snapshot import Snapshot, assemble, compute_zone_contents
from remote_backend.snapshot.assemble import soa_content
from remote_backend.snapshot.extras import PtrOwners, zone_facts
from remote_backend.snapshot.fingerprint import Fingerprint
from remote_backend.state import StateStore
from remote_backend.zones import ZoneSettings
from remote_backend.zones.static import StaticData
from validators.address import forget_ipv4_prefixes
from validators.codes import Code
from validators.engine import Validator
from validators.model import Finding, IPAddress, IpamData, Publication, ZoneFacts
from validators.zones import ZoneIndex

log = logging.getLogger("pphook.incremental")

_MAC_CODES = frozenset({Code.MAC_INVALID, Code.DUPLICATE_MAC})


class IncrementalPublisher:
    """The state kept between publications for incremental ones (see module doc)."""

    def __init__(
        self,
        shared: SharedSnapshot,
        store: StateStore,
        settings: ZoneSettings,
        validator: Validator,
    ) -> None:
        self.shared = shared
        self.store = store
        self.settings = settings
        self.validator = validator
        self.index: GroupIndex | None = None
        self.zones: dict[str, ZoneMeta] = {}
        self.fingerprints: dict[str, Fingerprint] = {}
        self.below: dict[str, int] = {}  # name -> owners strictly below it, in its zone
        self.problems: dict[int, tuple[Code, ...]] = {}  # row id -> its problem codes
        self._counts: Counter[Code] = Counter()  # problems by code over every row
        self.static: StaticData | None = None
        self.facts = ZoneFacts()
        self.ptr_owners = PtrOwners(settings)
        # phpIPAM names only ever change member zones, never the catalog
        self._zone_index = ZoneIndex(settings.member_zone_names)

    @property
    def ready(self) -> bool:
        return self.index is not None

    def reset(
        self,
        data: IpamData,
        draft: Snapshot,
        publication: Publication,
        published: Published,
        static: StaticData | None = None,
        *,
        build_index: bool = True,
    ) -> None:
        """Take the state of a full publication (``Publisher.publish`` of ``draft``,
        built with ``static``). ``build_index=False``: not ready until the caller
        runs ``build_index(data)`` (after freeing the draft)."""
        self.static = static
        self.facts = zone_facts(self.settings, static)
        self.index = None
        self.zones = {z.name: z for z in published.zones}
        self.fingerprints = {z.name: Fingerprint.from_hex(z.fingerprint) for z in published.zones}
        self.below = _below_counts(draft)
        self.problems = _problems(publication.findings)
        self._counts = Counter(code for codes in self.problems.values() for code in codes)
        if build_index:
            self.build_index(data)

    def build_index(self, data: IpamData) -> None:
        """The group index of ``data`` (the rows of the last full publication): ready
        for incremental publications from here on."""
        started = time.perf_counter()
        # made again now that the draft is gone: kept as they were, these few objects
        # would hold ~100 MB of the draft's memory at 1M addresses (memory.renewed)
        self.problems = renewed(self.problems)
        self.below = renewed(self.below)
        self._counts = renewed(self._counts)
        forget_ipv4_prefixes()
        self.index = GroupIndex.build(data, self.validator)
        # every name was just resolved twice (validation, index) from the validator's
        # cache; changes resolve a handful each, so it is not worth its memory until
        # the next full publication
        self.validator.forget_names()
        log.info(
            "group index of %d rows built, %.3f s",
            len(data.columns.ids),
            time.perf_counter() - started,
        )

    def rejections(self) -> dict[str, int]:
        """Problem counts by code (the metrics), kept up to date by every change: a
        count over every row's problems took ~0.1 s per change at 1M addresses."""
        return {code.value: n for code, n in self._counts.items() if n}

    def _set_problems(self, row_id: int, codes: tuple[Code, ...]) -> None:
        """Row ``row_id`` has problems ``codes`` now (none: forgotten)."""
        counts = self._counts
        for code in self.problems.get(row_id, ()):
            counts[code] -= 1
        if codes:
            self.problems[row_id] = codes
            for code in codes:
                counts[code] += 1
        else:
            self.problems.pop(row_id, None)

    def apply(self, delta: RowDelta) -> Published | None:
        """Publish what ``delta`` changed; None when only a full build can (the small
        tables changed, or nothing is held yet)."""
        index = self.index
        if index is None or delta.tables_changed:
            return None
        started = time.perf_counter()
        old_data, new_data = delta.old, delta.new
        fqdns: set[str] = set()
        ips: set[int] = set()
        macs: set[str] = set()
        touched = delta.changed | delta.deleted
        for row_id in touched:
            before = row_values(old_data, row_id)
            if before is not None:
                keys = index.keys(*before)
                index.remove(row_id, keys)
                _collect(keys, fqdns, ips, macs)
            after = row_values(new_data, row_id) if row_id in delta.changed else None
            if after is not None:
                keys = index.keys(*after)
                index.add(row_id, keys)
                _collect(keys, fqdns, ips, macs)

        def keys_of(row_id: int) -> RowKeys:
            values = row_values(new_data, row_id)
            assert values is not None
            return index.keys(*values)

        rows, names, addresses = index.dns_component(fqdns, ips, keys_of)
        rows |= delta.changed  # a row in no group (no valid name nor address) still has a verdict
        mac_rows = index.mac_groups(macs)
        facts = self.facts
        publication = self.validator.validate(subset(delta.new, rows), whole=False, facts=facts)
        mac_publication = self.validator.validate(
            subset(delta.new, mac_rows), whole=False, facts=facts
        )
        part = assemble(
            compute_zone_contents(publication, self.settings, self.static), None, self.settings
        )
        owners = set(names) | {self.ptr_owners.owner(_address(k)) for k in addresses}
        published = self._publish(part, owners)
        # each side gives again the codes it decides, and only those
        self._forget_problems(rows | delta.deleted, keep=lambda c: c in _MAC_CODES)
        self._forget_problems(mac_rows | touched, keep=lambda c: c not in _MAC_CODES)
        self._note_problems(publication, rows, keep=lambda c: c not in _MAC_CODES)
        self._note_problems(mac_publication, mac_rows, keep=lambda c: c in _MAC_CODES)
        log.info(
            "%d changed rows: %d rows and %d MAC rows validated again, %d names checked, %.3f s",
            len(touched),
            len(rows),
            len(mac_rows),
            len(owners),
            time.perf_counter() - started,
        )
        return published

    def _forget_problems(
        self, rows: set[int] | frozenset[int], keep: Callable[[Code], bool]
    ) -> None:
        for row_id in rows:
            codes = self.problems.get(row_id)
            if codes is not None:
                self._set_problems(row_id, tuple(c for c in codes if keep(c)))

    def _note_problems(
        self, publication: Publication, rows: set[int], keep: Callable[[Code], bool]
    ) -> None:
        for finding in publication.findings:
            if finding.is_problem and finding.row_id in rows and keep(finding.code):
                codes = self.problems.get(finding.row_id, ())
                if finding.code not in codes:
                    self._set_problems(finding.row_id, (*codes, finding.code))

    def _publish(self, part: Snapshot, owners: set[str]) -> Published:
        """Write the names ``owners`` as ``part`` serves them (with the empty
        non-terminals they make or unmake), in one transaction."""
        started = time.perf_counter()
        zone_of = self._zone_index.find
        by_zone: dict[str, set[str]] = {}
        for owner in owners:
            zone = zone_of(owner)
            if zone is not None:
                by_zone.setdefault(zone, set()).add(owner)
        new_values: dict[bytes, bytes | None] = {}  # key -> value without SOA at the apex
        key_zone: dict[bytes, str] = {}
        ent_candidates: dict[str, set[str]] = {}
        for zone, names in by_zone.items():
            meta = self.zones[zone]
            keys = {name_key(meta.id, n): n for n in names}
            before = self.shared.get_many(keys)
            for key, name in keys.items():
                value = part.value(name, soa=False) if name in part.names or name == zone else None
                stored = before[key]
                had = stored is not None and not is_ent(stored)
                if (value is not None) != had and name != zone:
                    self._count_below(name, zone, +1 if value is not None else -1)
                    ent_candidates.setdefault(zone, set()).update(_ancestors(name, zone))
                if value is None:
                    ent_candidates.setdefault(zone, set()).add(name)
                new_values[key] = value
                key_zone[key] = zone
        # empty non-terminals: a name without records of its own with owners below it
        for zone, names in ent_candidates.items():
            meta = self.zones[zone]
            keys = {name_key(meta.id, n): n for n in names}
            current = self.shared.get_many(k for k in keys if k not in new_values)
            for key, name in keys.items():
                if key in new_values:
                    has_records = new_values[key] is not None
                else:
                    held = current[key]
                    has_records = held is not None and not is_ent(held)
                if has_records:
                    continue
                below = self.below.get(name, 0)
                new_values[key] = ent_value(meta.id, self.settings.ttl) if below > 0 else None
                key_zone[key] = zone
        old_values = self.shared.get_many(new_values)
        puts: list[tuple[bytes, bytes]] = []
        deletes: list[bytes] = []
        changed_names: set[str] = set()
        counts: dict[str, int] = {}
        apex_keys = {name_key(self.zones[z].id, z): z for z in self.zones}
        moved_zones: set[str] = set()
        for key, value in new_values.items():
            old = old_values[key]
            zone = key_zone[key]
            is_apex = key in apex_keys
            old_plain = without_first(old) if (is_apex and old is not None) else old
            if old_plain == value:
                continue
            fingerprint = self.fingerprints[zone]
            zone_id = self.zones[zone].id
            # fingerprints are over stored values (``snapshot.encoded``)
            if old_plain is not None:
                fingerprint.remove(key, pack(old_plain, zone_id))
                counts[zone] = counts.get(zone, 0) - record_count(old_plain)
            if value is not None:
                fingerprint.add(key, pack(value, zone_id))
                counts[zone] = counts.get(zone, 0) + record_count(value)
            moved_zones.add(zone)
            changed_names.add(key[2:].decode())
            if is_apex:
                continue  # written below with its (new) SOA
            if value is None:
                deletes.append(key)
            else:
                puts.append((key, pack(value, zone_id)))
        serials = (
            self.store.serials_for({z: self.fingerprints[z].hex() for z in sorted(moved_zones)})
            if moved_zones
            else {}
        )
        new_zones = dict(self.zones)
        for zone in moved_zones:
            meta = self.zones[zone]
            serial = serials[zone]
            apex_key = name_key(meta.id, zone)
            soa = soa_content(self.settings, serial)
            apex_plain = new_values.get(apex_key)
            if apex_plain is None:  # not changed itself: the stored one without its SOA
                stored_apex = old_values.get(apex_key) or self.shared.get(apex_key)
                assert stored_apex is not None
                apex_plain = without_first(stored_apex)
            apex = with_first(apex_plain, record_fragment("SOA", soa, self.settings.ttl, meta.id))
            puts.append((apex_key, pack(apex, meta.id)))
            changed_names.add(zone)
            new_zones[zone] = ZoneMeta(
                meta.id,
                zone,
                serial,
                soa,
                self.fingerprints[zone].hex(),
                meta.record_count + counts.get(zone, 0),
            )
        metas = tuple(sorted(new_zones.values(), key=lambda z: z.id))
        generation = (
            self.shared.publish(metas, sorted(puts), deletes)
            if (puts or deletes)
            else (self.shared.generation())
        )
        previous_zones = self.zones
        self.zones = new_zones
        moved = frozenset(z for z in new_zones if previous_zones[z].serial != new_zones[z].serial)
        return Published(
            generation,
            metas,
            frozenset(changed_names),
            moved,
            time.perf_counter() - started,
        )

    def _count_below(self, name: str, zone: str, step: int) -> None:
        for ancestor in _ancestors(name, zone):
            count = self.below.get(ancestor, 0) + step
            if count > 0:
                self.below[ancestor] = count
            else:
                self.below.pop(ancestor, None)


def _collect(keys: RowKeys, fqdns: set[str], ips: set[int], macs: set[str]) -> None:
    if keys.fqdn is not None:
        fqdns.add(keys.fqdn)
    fqdns.update(keys.aliases)  # names it asked for: they compete with hosts of that name
    if keys.ip is not None:
        ips.add(keys.ip)
    if keys.mac is not None:
        macs.add(keys.mac)


def _ancestors(name: str, zone: str) -> Iterable[str]:
    """The names strictly between ``name`` and its zone's apex."""
    parent = name.partition(".")[2]
    while parent != zone and parent.endswith("." + zone):
        yield parent
        parent = parent.partition(".")[2]


def _below_counts(snapshot: Snapshot) -> dict[str, int]:
    """How many owners sit strictly below each name (within its zone)."""
    below: dict[str, int] = {}
    for zone, owners in snapshot.owners_by_zone.items():
        parents = Counter(o.partition(".")[2] for o in owners if o != zone)
        for parent, count in parents.items():
            name = parent
            while name != zone and name.endswith("." + zone):
                below[name] = below.get(name, 0) + count
                name = name.partition(".")[2]
    return below


def _problems(findings: Iterable[Finding]) -> dict[int, tuple[Code, ...]]:
    problems: dict[int, tuple[Code, ...]] = {}
    for finding in findings:
        if finding.is_problem:
            codes = problems.get(finding.row_id, ())
            if finding.code not in codes:
                problems[finding.row_id] = (*codes, finding.code)
    return problems


def _address(key: int) -> IPAddress:
    """The address of a group key (``groups.ip_key``)."""
    if key >= V6:
        return ipaddress.IPv6Address(key - V6)
    return ipaddress.IPv4Address(key)
