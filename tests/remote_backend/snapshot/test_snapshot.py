"""Snapshot: records land in the longest zone, ENTs exist, fingerprints track content."""

from __future__ import annotations

from ipaddress import ip_address, ip_network

import dns.zone

from remote_backend.inspection.zonefile import zone_to_text
from remote_backend.snapshot import assemble, compute_zone_contents
from remote_backend.snapshot.encoded import fingerprints
from remote_backend.zones import ZoneSettings, reverse_name, reverse_zone_name
from validators.model import AddressRecord, PtrRecord, Publication
from validators.zones import ZoneIndex

SETTINGS = ZoneSettings(
    forward=("example.com", "lab.example.com"),
    reverse=(ip_network("10.0.0.0/8"), ip_network("10.1.0.0/16"), ip_network("2001:db8::/32")),
    nameservers=("ns1.example.com", "ns2.example.com"),
    hostmaster="hostmaster.example.com",
    ttl=600,
)


def publication(*pairs: tuple[str, str]) -> Publication:
    records = tuple(
        AddressRecord(fqdn, ip_address(ip), row_id=i) for i, (fqdn, ip) in enumerate(pairs, 1)
    )
    ptrs = tuple(PtrRecord(r.address, r.fqdn, r.row_id) for r in records)
    return Publication(records=records, ptrs=ptrs, findings=())


def build(pub: Publication, serial: int = 7):  # type: ignore[no-untyped-def]
    contents = compute_zone_contents(pub, SETTINGS)
    return assemble(contents, {c.name: serial for c in contents}, SETTINGS)


def test_reverse_names() -> None:
    assert reverse_name(ip_address("10.1.2.3")) == "3.2.1.10.in-addr.arpa"
    v6 = reverse_name(ip_address("2001:db8::1"))
    assert v6.startswith("1.0.0.0.") and v6.endswith(".8.b.d.0.1.0.0.2.ip6.arpa")
    assert len(v6.split(".")) == 34
    assert reverse_zone_name(ip_network("10.0.0.0/8")) == "10.in-addr.arpa"
    assert reverse_zone_name(ip_network("192.168.0.0/16")) == "168.192.in-addr.arpa"
    assert reverse_zone_name(ip_network("2001:db8::/32")) == "8.b.d.0.1.0.0.2.ip6.arpa"


def test_zone_index_label_boundary() -> None:
    index = ZoneIndex(["example.com", "lab.example.com"])
    assert index.find("a.lab.example.com") == "lab.example.com"
    assert index.find("lab.example.com") == "lab.example.com"
    assert index.find("a.example.com") == "example.com"
    assert index.find("xexample.com") is None
    assert index.find("com") is None


def test_records_in_longest_zone_and_apex_has_ns() -> None:
    snap = build(
        publication(
            ("www.example.com", "10.0.0.5"),
            ("pc.lab.example.com", "10.1.2.3"),
            ("v6.example.com", "2001:db8::10"),
        )
    )
    assert snap.rrs("www.example.com") == (("A", "10.0.0.5"),)
    assert snap.rrs("v6.example.com") == (("AAAA", "2001:db8::10"),)
    assert snap.zone_of("pc.lab.example.com").name == "lab.example.com"  # type: ignore[union-attr]
    assert snap.zone_of("3.2.1.10.in-addr.arpa").name == "1.10.in-addr.arpa"  # type: ignore[union-attr]
    assert snap.zone_of("5.0.0.10.in-addr.arpa").name == "10.in-addr.arpa"  # type: ignore[union-attr]
    assert snap.rrs("3.2.1.10.in-addr.arpa") == (("PTR", "pc.lab.example.com"),)
    assert ("NS", "ns1.example.com") in snap.rrs("example.com")
    assert ("NS", "ns2.example.com") in snap.rrs("1.10.in-addr.arpa")
    assert snap.zone_of("example.org") is None


def test_empty_non_terminals() -> None:
    snap = build(publication(("a.b.c.example.com", "10.1.2.3")))
    assert "b.c.example.com" in snap.ents and "c.example.com" in snap.ents
    assert "2.1.10.in-addr.arpa" in snap.ents
    assert "1.10.in-addr.arpa" not in snap.ents  # a zone apex owns NS records
    assert "example.com" not in snap.ents
    assert "a.b.c.example.com" not in snap.ents
    assert "x.a.b.c.example.com" not in snap.ents  # below a leaf: NXDOMAIN


def prints(pub: Publication) -> dict[str, str]:
    draft = assemble(compute_zone_contents(pub, SETTINGS), None, SETTINGS)
    return fingerprints(draft, SETTINGS)


def test_fingerprint_changes_with_content_and_only_then() -> None:
    fp = prints(publication(("a.example.com", "10.0.0.1")))
    assert fp == prints(publication(("a.example.com", "10.0.0.1")))
    other = prints(publication(("a.example.com", "10.0.0.2")))
    changed = {zone for zone, value in other.items() if value != fp[zone]}
    assert changed == {"example.com", "10.in-addr.arpa"}


def test_deletion_changes_fingerprint() -> None:
    full = prints(publication(("a.example.com", "10.0.0.1"), ("b.example.com", "10.0.0.2")))
    fewer = prints(publication(("a.example.com", "10.0.0.1")))
    assert full["example.com"] != fewer["example.com"]


def test_soa_and_record_counts() -> None:
    snap = build(publication(("a.example.com", "10.0.0.1")), serial=2026112201)
    zone = snap.zone_by_name["example.com"]
    assert zone.soa_content == (
        "ns1.example.com hostmaster.example.com 2026112201 10800 3600 1209600 3600"
    )
    assert zone.record_count == 1 + 2 + 1  # SOA, 2 NS, A
    assert [z.id for z in snap.zones] == [1, 2, 3, 4, 5]


def test_export_is_a_loadable_master_file() -> None:
    snap = build(publication(("a.example.com", "10.0.0.1"), ("b.example.com", "10.0.0.2")))
    zone = snap.zone_by_name["example.com"]
    text = zone_to_text(snap, zone)
    parsed = dns.zone.from_text(text, origin="example.com.", relativize=False)
    names = {str(n) for n in parsed.nodes}
    assert names == {"example.com.", "a.example.com.", "b.example.com."}
    a = parsed.find_rdataset("a.example.com.", "A")
    assert a.ttl == 600 and {r.address for r in a} == {"10.0.0.1"}


def test_export_names_are_absolute() -> None:
    snap = build(publication(("a.example.com", "10.0.0.1")))
    text = zone_to_text(snap, snap.zone_by_name["10.in-addr.arpa"])
    assert "IN NS ns1.example.com.\n" in text
    assert "1.0.0.10.in-addr.arpa. 600 IN PTR a.example.com.\n" in text
    assert "IN SOA ns1.example.com. hostmaster.example.com. 7 " in text
