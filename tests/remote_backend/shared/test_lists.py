"""``list`` replies stored ahead (``shared/lists.py``): a coprocess sends one only when
it was built from exactly the names it reads, byte for byte what it would build
itself; a publication only invalidates the zones it touched and builds nothing; a
stale, malformed or tampered stored reply is never sent, and validation refuses a
file whose usable stored reply differs from its names."""

from __future__ import annotations

import json
import tempfile
from dataclasses import replace
from ipaddress import IPv4Address, IPv6Address, ip_address, ip_network
from pathlib import Path
from typing import Any, cast

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from infra.rb_support import MemoryNotified

from remote_backend.build.publisher import Publisher
from remote_backend.errors import SnapshotRefusedError
from remote_backend.protocol.answers import build_list_reply
from remote_backend.protocol.handler import BackendHandler
from remote_backend.protocol.view import ZoneInfo
from remote_backend.shared.layout import LISTS_DB, zone_prefix
from remote_backend.shared.lists import reply_key, stamp_key
from remote_backend.shared.reader import SharedReader, SnapshotView
from remote_backend.shared.validate import validate_environment
from remote_backend.shared.writer import SharedSnapshot
from remote_backend.snapshot import Snapshot, assemble, compute_zone_contents
from remote_backend.state import StateStore
from remote_backend.zones import ZoneSettings
from remote_backend.zones.static import StaticData, StaticRecord, StaticZone
from validators.model import AddressRecord, PtrRecord, Publication

ZONES = ZoneSettings(
    forward=("example.com", "lab.example.com"),
    reverse=(ip_network("10.0.0.0/8"), ip_network("2001:db8::/32")),
    nameservers=("ns1.example.com",),
    hostmaster="hostmaster.example.com",
    nameserver_addresses={"ns1.example.com": (ip_address("10.0.0.53"),)},
)
STATIC = StaticData(
    {
        "example.com": StaticZone(
            "example.com",
            (
                StaticRecord("example.com", "MX", 300, "10 mail.example.com"),
                StaticRecord("a.example.com", "TXT", 60, '"hello, \\"world\\" ]}"'),
                StaticRecord("deep.x.y.example.com", "TXT", 3600, '"an ENT above"'),
                StaticRecord("a\\032b.example.com", "A", 3600, "10.9.9.9"),
            ),
        )
    }
)

Row = tuple[str, str, IPv4Address | IPv6Address]
rows = st.lists(
    st.tuples(
        st.sampled_from(["a", "b", "h.x", "mail", "example.com"]),
        st.sampled_from(["example.com", "lab.example.com"]),
        st.one_of(
            st.integers(0, 2**10).map(lambda n: IPv4Address((10 << 24) + n)),
            st.integers(0, 2**10).map(lambda n: IPv6Address((0x20010DB8 << 96) + n)),
        ),
    ),
    max_size=20,
    unique_by=lambda row: row[2],  # one row per address, as validation leaves them
)


def draft(hosts: list[Row], static: StaticData | None = None) -> Snapshot:
    records = tuple(
        AddressRecord(label if label == "example.com" else f"{label}.{parent}", address, i)
        for i, (label, parent, address) in enumerate(hosts, 1)
    )
    ptrs = tuple(PtrRecord(r.address, r.fqdn, r.row_id) for r in records)
    return assemble(
        compute_zone_contents(Publication(records, ptrs, ()), replace(ZONES), static),
        None,
        ZONES,
    )


def built(view: SnapshotView, zone_id: int) -> bytes:
    """What the coprocess builds itself from the names it reads."""
    owners, values = view.list_raw(view.zone_by_id[zone_id])
    return build_list_reply(owners, values, zone_id)


def sent(view: SnapshotView, zone: ZoneInfo) -> bytes:
    """The ``list`` reply a coprocess answering from ``view`` sends for ``zone``."""
    handler = BackendHandler(lambda: view, MemoryNotified())
    params = {"zonename": zone.name + ".", "domain_id": zone.id}
    return handler.handle_line(json.dumps({"method": "list", "parameters": params}))


def check_sent_equals_built(view: SnapshotView) -> None:
    for zone in view.zones:
        assert sent(view, zone) == built(view, zone.id)


@settings(max_examples=40, deadline=None)
@given(rows, rows, st.sampled_from([None, STATIC]))
def test_a_stored_reply_is_sent_only_for_the_names_it_was_built_from(
    first: list[Row], second: list[Row], static: StaticData | None
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        shared = SharedSnapshot(Path(tmp) / "snap")
        publisher = Publisher(shared, StateStore(f"sqlite:///{tmp}/state.db"), ZONES)
        try:
            publisher.publish(draft(first, static))
            reader = SharedReader(shared.directory, shared.env)
            # nothing stored by the publication itself: it costs what the change costs
            assert all(reader.current().stored_list(z) is None for z in reader.current().zones)
            assert shared.store_lists(60.0) == len(reader.current().zones)
            view = reader.current()
            before = {z.id: built(view, z.id) for z in view.zones}
            for zone in view.zones:
                assert view.stored_list(zone) == before[zone.id]  # byte for byte
            check_sent_equals_built(view)

            publisher.publish(draft(second, static))
            view = reader.current()
            for zone in view.zones:
                stored = view.stored_list(zone)
                if built(view, zone.id) != before.get(zone.id):
                    assert stored is None  # the zone changed: its old reply is never sent
                elif stored is not None:
                    assert stored == before[zone.id]  # untouched: still good
            check_sent_equals_built(view)
            shared.store_lists(60.0)
            view = reader.current()
            for zone in view.zones:
                assert view.stored_list(zone) == built(view, zone.id)
            validate_environment(shared.env, shared.directory)  # accepted
        finally:
            shared.close()


@pytest.fixture
def shared(tmp_path: Path) -> SharedSnapshot:
    snap = SharedSnapshot(tmp_path / "snap")
    hosts: list[Row] = [("a", "example.com", IPv4Address("10.0.0.1"))]
    hosts += [("h.x", "lab.example.com", IPv6Address("2001:db8::7"))]
    Publisher(snap, StateStore(f"sqlite:///{tmp_path}/state.db"), ZONES).publish(
        draft(hosts, STATIC)
    )
    snap.store_lists(60.0)
    return snap


def put_list(shared: SharedSnapshot, key: bytes, value: bytes) -> None:
    with shared.env.begin(write=True) as txn:
        txn.put(key, value, db=shared.lists)


def example_com(shared: SharedSnapshot) -> tuple[SnapshotView, int]:
    view = SharedReader(shared.directory, shared.env).current()
    return view, view.zone_by_name["example.com"].id


def test_a_tampered_reply_a_reader_would_send_is_refused(shared: SharedSnapshot) -> None:
    view, zone_id = example_com(shared)
    stored = view.stored_list(view.zone_by_id[zone_id])
    assert stored is not None and b'"a.example.com."' in stored
    header = str(shared.generation()).encode() + b"\n"
    put_list(shared, reply_key(zone_prefix(zone_id)), header + stored.replace(b'"a.', b'"z.'))
    with pytest.raises(SnapshotRefusedError, match="stored list reply"):
        validate_environment(shared.env, shared.directory)


@pytest.mark.parametrize(
    "value",
    [
        b"{G-1}\n" + b'{"result":[]}\n',  # built before the zone's last change (stamp G)
        b"{G+1}\n" + b'{"result":[]}\n',  # built after the generation read
        b'{"result":[]}\n',  # no header
        b"x\n" + b'{"result":[]}\n',
        b"{G}\n" + b'{"result":[',  # cut short
        b"{G}\n" + b"[]\n",
    ],
)
def test_a_stale_or_malformed_reply_is_never_sent(shared: SharedSnapshot, value: bytes) -> None:
    view, zone_id = example_com(shared)
    generation = shared.generation()
    for mark, number in ((b"{G-1}", generation - 1), (b"{G+1}", generation + 1)):
        value = value.replace(mark, str(number).encode())
    value = value.replace(b"{G}", str(generation).encode())
    put_list(shared, reply_key(zone_prefix(zone_id)), value)
    zone = view.zone_by_id[zone_id]
    assert view.stored_list(zone) is None
    assert sent(view, zone) == built(view, zone_id)
    validate_environment(shared.env, shared.directory)  # never sent: no reason to refuse


def test_a_file_without_stored_replies_is_served_and_gets_them(
    shared: SharedSnapshot, tmp_path: Path
) -> None:
    """A file `serve` wrote before list replies were stored: no lists database."""
    with shared.env.begin(write=True) as txn:
        txn.drop(shared.lists, delete=True)
    reader = SharedReader(shared.directory, shared.env)
    view = reader.current()
    assert all(view.stored_list(z) is None for z in view.zones)
    check_sent_equals_built(view)
    validate_environment(shared.env, shared.directory)
    directory = shared.directory
    shared.close()
    # the next `serve` creates the database; zones it has no stamp for are stamped
    # with the generation they are built at (no names move while they are built)
    writer = SharedSnapshot(directory)
    try:
        assert writer.store_lists(60.0) == len(view.zones)
        view = SharedReader(directory, writer.env).current()
        for zone in view.zones:
            assert view.stored_list(zone) == built(view, zone.id)
        with writer.env.begin() as txn:
            assert txn.get(stamp_key(zone_prefix(1)), db=writer.env.open_db(LISTS_DB))
    finally:
        writer.close()


def test_a_publication_drops_only_the_replies_of_the_zones_it_touches(
    shared: SharedSnapshot, tmp_path: Path
) -> None:
    publisher = Publisher(shared, StateStore(f"sqlite:///{tmp_path}/state.db"), ZONES)
    hosts: list[Row] = [("a", "example.com", IPv4Address("10.0.0.1"))]
    hosts += [("h.x", "lab.example.com", IPv6Address("2001:db8::7"))]
    hosts += [("b", "lab.example.com", IPv4Address("10.0.0.2"))]  # lab and 10.in-addr
    publisher.publish(draft(hosts, STATIC))
    view = SharedReader(shared.directory, shared.env).current()
    kept = {z.name for z in view.zones if view.stored_list(z) is not None}
    assert "example.com" in kept and "lab.example.com" not in kept
    assert not any(z.name.endswith("in-addr.arpa") and z.name in kept for z in view.zones)
    check_sent_equals_built(view)


def test_zones_over_the_size_cap_are_left_to_their_transfers(tmp_path: Path) -> None:
    """`serve` stores no reply for a zone bigger than its cap (building it would hold the
    refresh thread's GIL too long): that zone's transfers still get the whole zone."""
    snap = SharedSnapshot(tmp_path / "snap")
    hosts: list[Row] = [(f"h{i}", "example.com", IPv4Address(f"10.0.0.{i}")) for i in range(1, 9)]
    Publisher(snap, StateStore(f"sqlite:///{tmp_path}/state.db"), ZONES).publish(draft(hosts, None))
    try:
        view = SharedReader(snap.directory, snap.env).current()
        big = view.zone_by_name["example.com"]
        small = [z for z in view.zones if z.record_count < big.record_count]
        assert small, "the test needs a zone smaller than example.com"
        stored = snap.store_lists(60.0, max_records=big.record_count - 1)
        view = SharedReader(snap.directory, snap.env).current()
        assert view.stored_list(big) is None
        assert stored == sum(1 for z in view.zones if z.record_count < big.record_count)
        check_sent_equals_built(view)  # example.com's reply is built, and complete
    finally:
        snap.close()


class CountingView:
    """A view that counts the reads a ``list`` makes (everything else passes through)."""

    def __init__(self, view: SnapshotView) -> None:
        self.view = view
        self.built = 0
        self.stored = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.view, name)

    def list_raw(self, zone: ZoneInfo) -> tuple[list[bytes], list[bytes]]:
        self.built += 1
        return self.view.list_raw(zone)

    def stored_list(self, zone: ZoneInfo) -> bytes | None:
        self.stored += 1
        return self.view.stored_list(zone)


def test_a_coprocess_keeps_only_the_replies_it_built(shared: SharedSnapshot) -> None:
    """A stored reply is read from the map for each transfer (the map already holds
    it: a copy kept would cost its size in every coprocess that once ran an AXFR); a
    reply the coprocess had to build is built once for all the secondaries."""
    view, zone_id = example_com(shared)
    counting = CountingView(view)
    handler = BackendHandler(lambda: cast(SnapshotView, counting), MemoryNotified())
    params = {"zonename": "example.com.", "domain_id": zone_id}
    first = handler.handle_line(json.dumps({"method": "list", "parameters": params}))
    assert handler.handle_line(json.dumps({"method": "list", "parameters": params})) == first
    assert (counting.stored, counting.built) == (2, 0)
    assert json.loads(first)["result"]

    with shared.env.begin(write=True) as txn:  # as if `serve` had not stored it yet
        txn.delete(reply_key(zone_prefix(zone_id)), db=shared.lists)
    counting = CountingView(SharedReader(shared.directory, shared.env).current())
    handler = BackendHandler(lambda: cast(SnapshotView, counting), MemoryNotified())
    for _ in range(3):
        assert handler.handle_line(json.dumps({"method": "list", "parameters": params})) == first
    assert (counting.stored, counting.built) == (1, 1)
