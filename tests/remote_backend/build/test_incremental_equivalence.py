"""Incremental publication equals a full build, after any sequence of changes.

Random phpIPAM rows built to collide (shared names, addresses, MACs; dual stack;
invalid and short names; filtered states and sections), then random inserts, edits and
deletes, each published incrementally (``IncrementalPublisher.apply``). After every
step the shared snapshot must hold exactly what a full build of the same rows
publishes: every name's value (so records, PTR holders, empty non-terminals and SOA),
every zone's fingerprint and serial, and the problem counts.
"""

from __future__ import annotations

import tempfile
from dataclasses import replace
from datetime import datetime
from ipaddress import ip_address, ip_network
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from remote_backend.build.builder import RowDelta
from remote_backend.build.incremental import IncrementalPublisher
from remote_backend.build.publisher import Publisher
from remote_backend.protocol.encode import record_types
from remote_backend.shared.layout import key_zone
from remote_backend.shared.packing import unpack
from remote_backend.shared.validate import validate_environment
from remote_backend.shared.writer import SharedSnapshot
from remote_backend.snapshot import assemble, compute_zone_contents
from remote_backend.snapshot.assemble import with_serials
from remote_backend.snapshot.encoded import fingerprints, zone_items
from remote_backend.snapshot.extras import zone_facts
from remote_backend.state import StateStore
from remote_backend.zones import ZoneSettings
from remote_backend.zones.static import StaticData, StaticRecord, StaticZone
from validators.engine import Validator
from validators.model import (
    AddressColumns,
    AddressRow,
    DuplicateHostnamePolicy,
    IpamData,
    Policy,
    SubnetRow,
)

ZONES = ZoneSettings(
    forward=("example.com", "lab.example.com"),
    reverse=(ip_network("10.0.0.0/8"), ip_network("2001:db8::/32")),
    nameservers=("ns1.example.com",),
    hostmaster="hostmaster.example.com",
    ttl=300,
    catalog="catalog.invalid",  # a zone no phpIPAM row may ever change
)
SUBNETS = {
    1: SubnetRow(1, str(0x0A000000), "24", 1),
    2: SubnetRow(2, str(0x20010DB8 << 96), "64", 1),
    3: SubnetRow(3, "0", "", 1, is_folder=True),
    4: SubnetRow(4, str(0x0A000100), "24", 2, dns_recursive=True),
}
SECTIONS = {1: "Main", 2: "Lab"}
TAGS = {1: "Offline", 2: "Used", 3: "Reserved", 4: "DHCP"}

HOSTNAMES = [
    "a.example.com",
    "b.example.com",
    "A.Example.com",
    "c.lab.example.com",
    "d.sub.example.com",
    "e.deep.sub.example.com",
    "bad_name.example.com",
    "x.other.org",
    "h.catalog.invalid",
    "short",
    None,
    "",
    "f.example.com.",
    "example.com",
]
V4 = [0x0A000001 + i for i in range(4)] + [0x0A000101, 0x0A000102]
V6 = [(0x20010DB8 << 96) + i for i in (1, 2)] + [(0x20010DB8 << 96) + (5 << 64) + 7]
IPS: list[str | int] = [*V4, *V6, "bogus", "42949672960000000000000000000000000000000000"]
MACS = [None, "aa:bb:cc:dd:ee:01", "AA-BB-CC-DD-EE-01", "aa:bb:cc:dd:ee:02", "zz", ""]


def rows_strategy(first_id: int) -> st.SearchStrategy[AddressRow]:
    return st.builds(
        AddressRow,
        id=st.just(first_id),
        subnet_id=st.sampled_from([1, 2, 3, 4, None, 99]),
        ip_addr=st.sampled_from(IPS).map(lambda v: v if isinstance(v, str) else str(v)),
        hostname=st.sampled_from(HOSTNAMES),
        mac=st.sampled_from(MACS),
        state=st.sampled_from([None, 1, 2, 3, 7]),
        ptr_ignore=st.booleans(),
        edit_date=st.just(datetime(2026, 1, 1)),
    )


def data_of(rows: dict[int, AddressRow]) -> IpamData:
    columns = AddressColumns.from_rows(rows.values())
    return IpamData.from_columns(columns, SUBNETS, SECTIONS, TAGS)


policies = st.builds(
    Policy,
    forward_zones=st.just(ZONES.forward),
    default_domain=st.sampled_from([None, "example.com"]),
    publish_states=st.sampled_from([(), (2, "Reserved"), ("Used",)]),
    sections=st.sampled_from([(), ("Main",)]),
    duplicate_hostname=st.sampled_from(list(DuplicateHostnamePolicy)),
    ptr_requires_subnet_flag=st.booleans(),
)


def reference(data: IpamData, policy: Policy, store: StateStore) -> dict[bytes, bytes]:
    """Every (key, value) a full build publishes, serials from the same store."""
    publication = Validator(policy).validate(data)
    draft = assemble(compute_zone_contents(publication, ZONES), None, ZONES)
    prints = fingerprints(draft, ZONES)
    snapshot = with_serials(draft, store.serials_for(prints), prints, ZONES)
    items: dict[bytes, bytes] = {}
    for zone in snapshot.zones:
        items.update(zone_items(snapshot, zone, soa=True))
    return items


def stored(shared: SharedSnapshot) -> dict[bytes, bytes]:
    items: dict[bytes, bytes] = {}
    for zone in shared.stored_zones() or ():
        items.update(shared.zone_items(zone.id))
    return items


def problems(data: IpamData, policy: Policy) -> dict[str, int]:
    counts: dict[str, int] = {}
    seen: set[tuple[int, str]] = set()
    for f in Validator(policy).validate(data).findings:
        if f.is_problem and (f.row_id, f.code.value) not in seen:
            seen.add((f.row_id, f.code.value))
            counts[f.code.value] = counts.get(f.code.value, 0) + 1
    return counts


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    policy=policies,
    initial=st.lists(rows_strategy(0), min_size=0, max_size=14),
    steps=st.lists(
        st.tuples(
            st.sampled_from(["insert", "edit", "delete", "edit2"]),
            st.integers(0, 30),
            rows_strategy(0),
        ),
        min_size=1,
        max_size=12,
    ),
)
def test_incremental_publication_equals_a_full_build(
    policy: Policy, initial: list[AddressRow], steps: list[tuple[str, int, AddressRow]]
) -> None:
    rows = {i: replace(r, id=i) for i, r in enumerate(initial, start=1)}
    with tempfile.TemporaryDirectory() as tmp:
        shared = SharedSnapshot(Path(tmp) / "snap")
        store = StateStore(f"sqlite:///{tmp}/state.db")
        try:
            validator = Validator(policy)
            incremental = IncrementalPublisher(shared, store, ZONES, validator)
            data = data_of(rows)
            publication = validator.validate(data)
            draft = assemble(compute_zone_contents(publication, ZONES), None, ZONES)
            published = Publisher(shared, store, ZONES).publish(draft)
            incremental.reset(data, draft, publication, published)
            next_id = len(rows) + 1
            for action, pick, values in steps:
                old = data
                changed: set[int] = set()
                deleted: set[int] = set()
                ids = sorted(rows)
                if action == "insert" or not ids:
                    rows[next_id] = replace(values, id=next_id)
                    changed.add(next_id)
                    next_id += 1
                elif action == "delete":
                    victim = ids[pick % len(ids)]
                    del rows[victim]
                    deleted.add(victim)
                else:
                    target = ids[pick % len(ids)]
                    if action == "edit":  # one field
                        field = ["hostname", "ip_addr", "mac", "state", "ptr_ignore"][pick % 5]
                        rows[target] = replace(rows[target], **{field: getattr(values, field)})
                    else:  # everything
                        rows[target] = replace(values, id=target)
                    changed.add(target)
                data = data_of(rows)
                delta = RowDelta(old, data, frozenset(changed), frozenset(deleted), False)
                result = incremental.apply(delta)
                assert result is not None
                assert stored(shared) == reference(data, policy, store), (action, rows)
                assert incremental.rejections() == problems(data, policy)
                metas = {z.name: (z.serial, z.fingerprint) for z in shared.stored_zones() or ()}
                draft = assemble(
                    compute_zone_contents(Validator(policy).validate(data), ZONES), None, ZONES
                )
                prints = fingerprints(draft, ZONES)
                assert {z: fp for z, (_, fp) in metas.items()} == prints
                # what serve checks at start accepts every generation it publishes
                validate_environment(shared.env, shared.directory)
        finally:
            shared.close()
            store.close()


def test_changed_small_tables_need_a_full_build(tmp_path: Path) -> None:
    shared = SharedSnapshot(tmp_path / "snap")
    store = StateStore(f"sqlite:///{tmp_path}/state.db")
    policy = Policy(forward_zones=ZONES.forward)
    validator = Validator(policy)
    incremental = IncrementalPublisher(shared, store, ZONES, validator)
    data = data_of({1: AddressRow(1, 1, str(V4[0]), "a.example.com")})
    publication = validator.validate(data)
    draft = assemble(compute_zone_contents(publication, ZONES), None, ZONES)
    incremental.reset(data, draft, publication, Publisher(shared, store, ZONES).publish(draft))
    delta: Any = RowDelta(data, data, frozenset(), frozenset(), True)
    assert incremental.apply(delta) is None
    shared.close()


# -- whole zones: static records, delegations, aliases, RFC 2317 -----------------------

WHOLE = replace(
    ZONES,
    reverse=(
        ip_network("10.0.0.0/8"),
        ip_network("2001:db8::/32"),
        ip_network("192.0.2.0/24"),
        ip_network("192.0.2.64/26"),
    ),
    nameserver_addresses={"ns1.example.com": (ip_address("192.0.2.53"),)},
    classless_delegations={ip_network("192.0.2.128/27"): ("ns1.customer.example",)},  # type: ignore[dict-item]
)
STATIC = StaticData(
    {
        "example.com": StaticZone(
            "example.com",
            (
                StaticRecord("example.com", "MX", 300, "10 mail.example.com"),
                StaticRecord("a.example.com", "TXT", 60, '"hello"'),
                StaticRecord("www.example.com", "CNAME", 300, "a.example.com"),
                StaticRecord("sub.example.com", "NS", 300, "ns.sub.example.com"),
                StaticRecord("ns.sub.example.com", "A", 300, "192.0.2.99"),
            ),
            cuts=("sub.example.com",),
        )
    }
)
WHOLE_SUBNETS = {**SUBNETS, 5: SubnetRow(5, str(0xC0000200), "24", 1)}
V4_WHOLE = [*V4, 0xC0000246, 0xC0000247, 0xC0000282]  # .70, .71 (served block), .130 (delegated)
WHOLE_HOSTNAMES = [
    "a.example.com",
    "b.example.com",
    "x.sub.example.com",
    "www.example.com",
    "host",
    "c.lab.example.com",
    "alias1.example.com",
    "mail.example.com",
    None,
]
ALIASES = [
    None,
    "www",
    "alias1",
    "alias1.example.com, alias2",
    "a.example.com",
    "bad_alias!",
    "x.sub.example.com",
    "example.com",
    "c.lab.example.com\nalias3.lab.example.com",
    "elsewhere.org",
    "ns1",
]


def whole_rows(first_id: int) -> st.SearchStrategy[tuple[AddressRow, str | None]]:
    row = st.builds(
        AddressRow,
        id=st.just(first_id),
        subnet_id=st.sampled_from([1, 2, 4, 5, None]),
        ip_addr=st.sampled_from([*V4_WHOLE, *V6]).map(str),
        hostname=st.sampled_from(WHOLE_HOSTNAMES),
        mac=st.sampled_from(MACS),
        state=st.sampled_from([None, 2]),
        ptr_ignore=st.booleans(),
        edit_date=st.just(datetime(2026, 1, 1)),
    )
    return st.tuples(row, st.sampled_from(ALIASES))


def whole_data(rows: dict[int, tuple[AddressRow, str | None]]) -> IpamData:
    columns = AddressColumns.from_rows(r for r, _ in rows.values())
    aliases = {i: a for i, (_, a) in rows.items() if a}
    return IpamData.from_columns(columns, WHOLE_SUBNETS, SECTIONS, TAGS, aliases)


def whole_reference(data: IpamData, policy: Policy, store: StateStore) -> dict[bytes, bytes]:
    facts = zone_facts(WHOLE, STATIC)
    publication = Validator(policy).validate(data, facts=facts)
    draft = assemble(compute_zone_contents(publication, WHOLE, STATIC), None, WHOLE)
    prints = fingerprints(draft, WHOLE)
    snapshot = with_serials(draft, store.serials_for(prints), prints, WHOLE)
    items: dict[bytes, bytes] = {}
    for zone in snapshot.zones:
        items.update(zone_items(snapshot, zone, soa=True))
    return items


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    default_domain=st.sampled_from([None, "example.com"]),
    initial=st.lists(whole_rows(0), max_size=10),
    steps=st.lists(
        st.tuples(st.sampled_from(["insert", "edit", "delete"]), st.integers(0, 30), whole_rows(0)),
        min_size=1,
        max_size=10,
    ),
)
def test_incremental_whole_zones_equal_a_full_build(
    default_domain: str | None,
    initial: list[tuple[AddressRow, str | None]],
    steps: list[tuple[str, int, tuple[AddressRow, str | None]]],
) -> None:
    policy = Policy(
        forward_zones=WHOLE.forward,
        default_domain=default_domain,
        alias_field="custom_aliases",
        delegated_reverse=tuple(WHOLE.classless_delegations),
    )
    rows = {i: (replace(r, id=i), a) for i, (r, a) in enumerate(initial, start=1)}
    with tempfile.TemporaryDirectory() as tmp:
        shared = SharedSnapshot(Path(tmp) / "snap")
        store = StateStore(f"sqlite:///{tmp}/state.db")
        try:
            validator = Validator(policy)
            incremental = IncrementalPublisher(shared, store, WHOLE, validator)
            data = whole_data(rows)
            facts = zone_facts(WHOLE, STATIC)
            publication = validator.validate(data, facts=facts)
            draft = assemble(compute_zone_contents(publication, WHOLE, STATIC), None, WHOLE)
            published = Publisher(shared, store, WHOLE).publish(draft)
            incremental.reset(data, draft, publication, published, STATIC)
            next_id = len(rows) + 1
            for action, pick, (values, alias) in steps:
                old = data
                changed: set[int] = set()
                deleted: set[int] = set()
                ids = sorted(rows)
                if action == "insert" or not ids:
                    rows[next_id] = (replace(values, id=next_id), alias)
                    changed.add(next_id)
                    next_id += 1
                elif action == "delete":
                    victim = ids[pick % len(ids)]
                    del rows[victim]
                    deleted.add(victim)
                else:
                    target = ids[pick % len(ids)]
                    if pick % 2:
                        rows[target] = (rows[target][0], alias)  # only the alias field
                    else:
                        rows[target] = (replace(values, id=target), alias)
                    changed.add(target)
                data = whole_data(rows)
                delta = RowDelta(old, data, frozenset(changed), frozenset(deleted), False)
                assert incremental.apply(delta) is not None
                got, want = stored(shared), whole_reference(data, policy, store)
                assert got == want, _difference(got, want, action, rows)
                # never a CNAME beside other data, never one at an apex
                for key, value in stored(shared).items():
                    kinds = set(record_types(unpack(value, key_zone(key))))
                    assert not ("CNAME" in kinds and len(kinds - {"CNAME"}) > 0), (key, kinds)
                validate_environment(shared.env, shared.directory)
        finally:
            shared.close()
            store.close()


def _difference(
    got: dict[bytes, bytes], want: dict[bytes, bytes], action: str, rows: object
) -> str:
    lines = [f"after {action}: {rows}"]
    for key in sorted(set(got) | set(want)):
        if got.get(key) != want.get(key):
            lines.append(
                f"  {key!r}:\n    incremental {got.get(key)!r}\n    full        {want.get(key)!r}"
            )
    return "\n".join(lines)
