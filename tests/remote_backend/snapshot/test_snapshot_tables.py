"""The compact snapshot internals give exactly what the plain forms give.

RecordTable/ZoneRecords read as owner -> records mappings, the cached text helpers
equal ``str()``/``reverse_name()``, and fingerprints depend on content only.
"""

from __future__ import annotations

import random
from ipaddress import IPv4Address, IPv6Address, ip_address, ip_network

from remote_backend.snapshot import (
    RecordTable,
    ZoneContent,
    assemble,
    compute_zone_contents,
)
from remote_backend.snapshot.encoded import fingerprints
from remote_backend.snapshot.placer import RecordPlacer
from remote_backend.zones import ZoneSettings, reverse_name
from validators.address import ipv4_text, ipv4_value
from validators.model import (
    AddressRecord,
    AddressRecords,
    PtrRecord,
    PtrRecords,
    Publication,
    RecordColumns,
)
from validators.zones import ZoneIndex

SETTINGS = ZoneSettings(
    forward=("example.com", "lab.example.com"),
    reverse=(ip_network("10.0.0.0/8"), ip_network("10.1.2.3/32"), ip_network("2001:db8::/32")),
    nameservers=("ns1.example.com", "ns2.example.com"),
    hostmaster="hostmaster.example.com",
)


def publication(pairs: list[tuple[str, str]]) -> Publication:
    records = tuple(AddressRecord(f, ip_address(a), i) for i, (f, a) in enumerate(pairs, 1))
    ptrs = tuple(PtrRecord(r.address, r.fqdn, r.row_id) for r in records)
    return Publication(records, ptrs, ())


def sample(n: int, seed: int = 1) -> list[tuple[str, str]]:
    rng = random.Random(seed)
    pairs = []
    for i in range(n):
        if rng.random() < 0.2:
            address = str(IPv6Address((0x20010DB8 << 96) + rng.getrandbits(20)))
        else:
            address = str(IPv4Address((10 << 24) + rng.getrandbits(18)))
        pairs.append((f"h{i}.{rng.choice(['a.example.com', 'lab.example.com'])}", address))
    pairs.append(("example.com", "10.9.9.9"))  # at an apex, with the NS records
    pairs.append(("dual.example.com", "10.1.2.3"))  # PTR at the apex of a /32 zone
    pairs.append(("dual.example.com", "2001:db8::1"))
    return pairs


def test_text_helpers_equal_the_stdlib() -> None:
    rng = random.Random(3)
    index = ZoneIndex(SETTINGS.all_zone_names)
    placer = RecordPlacer(index, SETTINGS.all_zone_names)
    for _ in range(20000):
        v4 = IPv4Address(rng.getrandbits(32))
        assert ipv4_text(int(v4)) == str(v4)
        assert ipv4_value(str(v4)) == int(v4)
        owner, zone = placer.ipv4_reverse(int(v4))
        assert owner == reverse_name(v4) and zone == index.find(owner)
        hextets = [0 if rng.random() < 0.5 else rng.getrandbits(16) for _ in range(8)]
        v6 = IPv6Address(sum(h << (16 * (7 - i)) for i, h in enumerate(hextets)))
        assert placer.ipv6_text(int(v6)) == str(v6)
        owner, zone = placer.ipv6_reverse(int(v6))
        assert owner == reverse_name(v6) and zone == index.find(owner)
    for text in ("010.0.0.1", "1.2.3", "256.1.1.1", "1.2.3.4.5", "a.b.c.d", "1..2.3"):
        assert ipv4_value(text) is None


def test_record_table_reads_like_a_dict() -> None:
    plain = {
        "a.example.com": (("A", "10.0.0.1"),),
        "b.example.com": (("AAAA", "2001:db8::1"),),
        "1.0.0.10.in-addr.arpa": (("PTR", "a.example.com"),),
        "example.com": (("NS", "ns1.example.com"), ("NS", "ns2.example.com")),
        "dual.example.com": (("A", "10.0.0.2"), ("AAAA", "2001:db8::2")),
        "odd.example.com": (("A", "010.0.0.3"),),  # not a canonical dotted quad
        "x.in-addr.arpa": (("A", "10.0.0.4"),),  # an A where a PTR is implied
        "empty.example.com": (),
    }
    table = RecordTable.of(plain)
    assert dict(table) == plain and len(table) == len(plain)
    assert set(table.multi) == {"example.com", "dual.example.com", "empty.example.com"}
    assert table.single["a.example.com"] == int(IPv4Address("10.0.0.1"))
    assert table.get("nope") is None and table.get("nope", ()) == ()
    assert "a.example.com" in table and "nope" not in table
    assert list(table.records(["a.example.com", "example.com"])) == [
        ("a.example.com", "A", "10.0.0.1"),
        ("example.com", "NS", "ns1.example.com"),
        ("example.com", "NS", "ns2.example.com"),
    ]
    assert table.record_count() == sum(map(len, plain.values()))


def test_zone_contents_and_snapshot_equal_the_plain_computation() -> None:
    pub = publication(sample(3000))
    contents = compute_zone_contents(pub, SETTINGS)
    # the same content as plain dicts: the same fingerprints, the same snapshot
    plain = [ZoneContent(c.name, dict(c.records)) for c in contents]
    for c, p in zip(contents, plain, strict=True):
        assert set(c.records) == set(p.records)
        for owner, rrs in p.records.items():
            assert c.records[owner] == rrs and owner in c.records
    assert "h1.a.example.com" not in contents[1].records  # lab.example.com's records
    serials = {c.name: 5 for c in contents}
    fast, slow = assemble(contents, serials, SETTINGS), assemble(plain, serials, SETTINGS)
    assert fingerprints(fast, SETTINGS) == fingerprints(slow, SETTINGS)
    assert dict(fast.names) == dict(slow.names)
    assert fast.ents == slow.ents
    assert [z.record_count for z in fast.zones] == [z.record_count for z in slow.zones]
    for zone in fast.zones:
        assert fast.owners_by_zone[zone.name][0] == zone.name  # apex first
        assert list(fast.zone_records(zone)) == list(slow.zone_records(zone))
    assert fast.rrs("1.2.1.10.in-addr.arpa") == ()  # none given
    # 10.1.2.3/32 is a classless block (RFC 2317): the PTR in its child zone, and in the
    # enclosing zone a CNAME to it, with the child delegated by NS
    child = "3/32.2.1.10.in-addr.arpa"
    assert fast.rrs("3.2.1.10.in-addr.arpa") == (("CNAME", f"3.{child}"),)
    assert fast.rrs(f"3.{child}") == (("PTR", "dual.example.com"),)
    assert fast.rrs(child) == (("NS", "ns1.example.com"), ("NS", "ns2.example.com"))
    assert fast.zone_cuts["10.in-addr.arpa"][child] == (
        ("NS", "ns1.example.com"),
        ("NS", "ns2.example.com"),
    )
    assert fast.rrs("dual.example.com") == (("A", "10.1.2.3"), ("AAAA", "2001:db8::1"))


def test_fingerprints_ignore_the_order_records_come_in() -> None:
    pairs = sample(2000, seed=9)
    shuffled = pairs[:]
    random.Random(4).shuffle(shuffled)
    one = _prints(pairs)
    assert one == _prints(shuffled)
    # one PTR content swapped between two addresses: both zones change
    swapped = pairs[:]
    (f0, a0), (f1, a1) = swapped[0], swapped[1]
    swapped[0], swapped[1] = (f0, a1), (f1, a0)
    three = _prints(swapped)
    assert sum(one[zone] != three[zone] for zone in one) >= 2


def _prints(pairs: list[tuple[str, str]]) -> dict[str, str]:
    draft = assemble(compute_zone_contents(publication(pairs), SETTINGS), None, SETTINGS)
    return fingerprints(draft, SETTINGS)


def test_columns_and_objects_give_the_same_contents() -> None:
    pub = publication(sample(500, seed=2))
    columns = Publication(
        AddressRecords(RecordColumns.from_records(pub.records)),
        PtrRecords(RecordColumns.from_records(pub.ptrs)),
        (),
    )
    assert columns == pub
    a, b = compute_zone_contents(pub, SETTINGS), compute_zone_contents(columns, SETTINGS)
    assert [(c.name, dict(c.records)) for c in a] == [(c.name, dict(c.records)) for c in b]
    assert fingerprints(assemble(a, None, SETTINGS), SETTINGS) == fingerprints(
        assemble(b, None, SETTINGS), SETTINGS
    )
