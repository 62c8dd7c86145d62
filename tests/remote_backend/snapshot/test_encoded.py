"""The bulk encoder of a full publication (``zone_items``) gives, for every name, the
very bytes the generic path (``Snapshot.zone_value``, stored by ``packing.pack``) gives:
what serve writes in one go equals what an incremental publication writes, and
unpacked what the in-memory snapshot answers."""

from __future__ import annotations

from dataclasses import replace
from ipaddress import IPv4Address, IPv6Address, ip_address, ip_network

from hypothesis import given, settings
from hypothesis import strategies as st

from remote_backend.shared.layout import name_key
from remote_backend.shared.packing import pack
from remote_backend.snapshot import assemble, compute_zone_contents
from remote_backend.snapshot.encoded import hashed_zone_items, zone_fingerprint, zone_items
from remote_backend.snapshot.fingerprint import Fingerprint, header_hash, item_hash
from remote_backend.zones import ZoneSettings
from remote_backend.zones.static import StaticData, StaticRecord, StaticZone
from validators.model import AddressRecord, PtrRecord, Publication

SETTINGS = ZoneSettings(
    forward=("example.com", "lab.example.com"),
    reverse=(
        ip_network("10.0.0.0/8"),
        ip_network("192.0.2.0/24"),
        ip_network("192.0.2.64/26"),
        ip_network("2001:db8::/32"),
    ),
    nameservers=("ns1.example.com", "ns2.example.com"),
    hostmaster="hostmaster.example.com",
)
WHOLE = replace(
    SETTINGS,
    nameserver_addresses={"ns1.example.com": (ip_address("192.0.2.53"),)},
    classless_delegations={ip_network("192.0.2.128/27"): ("ns1.customer.example",)},  # type: ignore[dict-item]
)
STATIC = StaticData(
    {
        "example.com": StaticZone(
            "example.com",
            (
                StaticRecord("example.com", "MX", 300, "10 mail.example.com"),
                StaticRecord("a.example.com", "TXT", 60, '"hello \\"there\\""'),
                StaticRecord("c.example.com", "A", 60, "10.0.0.99"),  # one A, its own TTL
                StaticRecord("www.example.com", "CNAME", 300, "a.example.com"),
                # one record of a plain type at the zone-wide TTL: the bulk path
                StaticRecord("www2.example.com", "CNAME", 3600, "a.example.com"),
                StaticRecord("odd.example.com", "CNAME", 3600, "a\\032b.example.com"),
                StaticRecord("sub.example.com", "NS", 300, "ns.sub.example.com"),
                StaticRecord("ns.sub.example.com", "A", 300, "192.0.2.99"),
            ),
            cuts=("sub.example.com",),
        )
    }
)

labels = st.sampled_from(["a", "b", "c", "x.y", "deep.er.name", "lab", "mail", "www"])
parents = st.sampled_from(["example.com", "lab.example.com", "a.example.com"])
addresses = st.one_of(
    st.integers(0, 2**18).map(lambda n: IPv4Address((10 << 24) + n)),
    st.integers(0, 255).map(lambda n: IPv4Address((192 << 24) + (2 << 8) + n)),
    st.integers(0, 2**20).map(lambda n: IPv6Address((0x20010DB8 << 96) + n)),
)
hosts = st.lists(st.tuples(labels, parents, addresses), max_size=40)


def publication(rows: list[tuple[str, str, IPv4Address | IPv6Address]]) -> Publication:
    records = tuple(
        AddressRecord(f"{label}.{parent}", address, i)
        for i, (label, parent, address) in enumerate(rows, 1)
    )
    ptrs = tuple(PtrRecord(r.address, r.fqdn, r.row_id) for r in records)
    return Publication(records, ptrs, ())


@settings(max_examples=150, deadline=None)
@given(hosts, st.booleans())
def test_bulk_encoding_equals_the_generic_path(
    rows: list[tuple[str, str, IPv4Address | IPv6Address]], whole: bool
) -> None:
    zones = WHOLE if whole else SETTINGS
    contents = compute_zone_contents(publication(rows), zones, STATIC if whole else None)
    snapshot = assemble(contents, {c.name: 7 for c in contents}, zones)
    for zone in snapshot.zones:
        names = sorted(
            {*snapshot.owners_by_zone.get(zone.name, ()), *snapshot.ents_by_zone.get(zone.name, ())}
        )
        expected = []
        for name in names:
            value = snapshot.zone_value(zone, name, soa=name != zone.name)
            if value is not None:
                expected.append((name_key(zone.id, name), pack(value, zone.id)))
        assert list(zone_items(snapshot, zone)) == expected
        items, fingerprint = hashed_zone_items(snapshot, zone, zones)
        assert items == expected
        slow = Fingerprint(header_hash(zone.name, zones))
        for key, value in expected:
            slow.add(key, value)
        assert fingerprint.hex() == slow.hex() == zone_fingerprint(snapshot, zone, zones)
        assert all(item_hash(k, v) >= 0 for k, v in items)
