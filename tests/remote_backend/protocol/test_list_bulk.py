"""The bulk ``list`` reply (``answers._bulk_records``) is byte for byte what building it
record by record (``encode.list_records``) gives, for any zone content: apexes, ENTs,
several records per name, static records with their TTLs and escapes, delegations."""

from __future__ import annotations

from dataclasses import replace
from ipaddress import IPv4Address, IPv6Address, ip_address, ip_network
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from remote_backend.build.publisher import Publisher
from remote_backend.protocol.answers import _bulk_records, _owner_json, built_list_reply
from remote_backend.protocol.encode import list_records
from remote_backend.shared.reader import SharedReader
from remote_backend.shared.writer import SharedSnapshot
from remote_backend.snapshot import assemble, compute_zone_contents
from remote_backend.state import StateStore
from remote_backend.zones import ZoneSettings
from remote_backend.zones.static import StaticData, StaticRecord, StaticZone
from validators.model import AddressRecord, PtrRecord, Publication

ZONES = ZoneSettings(
    forward=("example.com", "lab.example.com"),
    reverse=(ip_network("10.0.0.0/8"), ip_network("192.0.2.0/24"), ip_network("2001:db8::/32")),
    nameservers=("ns1.example.com",),
    hostmaster="hostmaster.example.com",
    nameserver_addresses={"ns1.example.com": (ip_address("192.0.2.53"),)},
)
STATIC = StaticData(
    {
        "example.com": StaticZone(
            "example.com",
            (
                StaticRecord("example.com", "MX", 300, "10 mail.example.com"),
                StaticRecord("a.example.com", "TXT", 60, '"hello, \\"world\\" ]}"'),
                StaticRecord("www.example.com", "CNAME", 300, "a.example.com"),
                StaticRecord("sub.example.com", "NS", 300, "ns.sub.example.com"),
                StaticRecord("ns.sub.example.com", "A", 300, "192.0.2.99"),
                StaticRecord("deep.x.y.example.com", "TXT", 3600, '"an ENT above"'),
            ),
            cuts=("sub.example.com",),
        )
    }
)
ESCAPED = StaticData(
    {
        "example.com": StaticZone(
            "example.com", (StaticRecord("a\\032b.example.com", "A", 3600, "192.0.2.7"),)
        )
    }
)

hosts = st.lists(
    st.tuples(
        st.sampled_from(["a", "b", "h.x", "lab", "mail", "example.com"]),
        st.sampled_from(["example.com", "lab.example.com"]),
        st.one_of(
            st.integers(0, 2**12).map(lambda n: IPv4Address((10 << 24) + n)),
            st.integers(0, 255).map(lambda n: IPv4Address((192 << 24) + (2 << 8) + n)),
            st.integers(0, 2**12).map(lambda n: IPv6Address((0x20010DB8 << 96) + n)),
        ),
    ),
    max_size=30,
)


def reference(owners: list[bytes], values: list[bytes]) -> bytes:
    pieces: list[bytes] = []
    for owner, value in zip(owners, values, strict=True):
        pieces += list_records(value, _owner_json(owner.decode()))
    return b'{"result":[' + b",".join(pieces) + b"]}\n"


@settings(max_examples=150, deadline=None)
@given(hosts, st.sampled_from([None, STATIC, ESCAPED]))
def test_bulk_list_equals_record_by_record(
    rows: list[tuple[str, str, IPv4Address | IPv6Address]], static: StaticData | None
) -> None:
    records = tuple(
        AddressRecord(label if label == "example.com" else f"{label}.{parent}", address, i)
        for i, (label, parent, address) in enumerate(rows, 1)
    )
    ptrs = tuple(PtrRecord(r.address, r.fqdn, r.row_id) for r in records)
    zones = replace(ZONES)
    snapshot = assemble(
        compute_zone_contents(Publication(records, ptrs, ()), zones, static),
        {z: 5 for z in zones.all_zone_names},
        zones,
    )
    for zone in snapshot.zones:
        owners, values = snapshot.list_raw(zone)
        assert built_list_reply(snapshot, zone) == reference(owners, values)
        if static is not ESCAPED:  # names without escapes: the bulk path, not the fallback
            assert _bulk_records(owners, values, zone.id) is not None


def test_bulk_list_from_the_shared_snapshot_skips_empty_non_terminals(tmp_path: Path) -> None:
    """The shared snapshot stores empty non-terminals (x.y.example.com here) as ENT
    values among the names: the bulk reply leaves them out, as record by record does."""
    records = (AddressRecord("h.x.example.com", IPv4Address("10.0.0.1"), 1),)
    ptrs = (PtrRecord(IPv4Address("10.0.0.1"), "h.x.example.com", 1),)
    draft = assemble(
        compute_zone_contents(Publication(records, ptrs, ()), ZONES, STATIC), None, ZONES
    )
    shared = SharedSnapshot(tmp_path / "snap")
    Publisher(shared, StateStore(f"sqlite:///{tmp_path}/state.db"), ZONES).publish(draft)
    view = SharedReader(shared.directory, shared.env).current()
    for zone in view.zones:
        owners, values = view.list_raw(zone)
        reply = built_list_reply(view, zone)
        assert reply == reference(owners, values)
        assert _bulk_records(owners, values, zone.id) is not None  # not the fallback
        if zone.name == "example.com":
            assert any(v.startswith(b'{"result":[{"qtype":"ENT"') for v in values)
            assert b'"ENT"' not in reply and b'"h.x.example.com."' in reply
    shared.close()
