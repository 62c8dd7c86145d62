"""What a zone serves besides phpIPAM hosts (SPEC §10.2, §10.3, §10.5): the parent side
of RFC 2317 blocks, classless delegations, name server addresses as glue, static
records with their TTLs."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from ipaddress import IPv4Network, ip_address, ip_network

from remote_backend.snapshot import Snapshot, assemble, compute_zone_contents
from remote_backend.zones import ZoneSettings
from remote_backend.zones.static import StaticData, StaticRecord, StaticZone
from validators.codes import Code
from validators.engine import Validator
from validators.model import (
    AddressColumns,
    AddressRow,
    IpamData,
    Policy,
    Publication,
    SubnetRow,
)

SETTINGS = ZoneSettings(
    forward=("example.com",),
    reverse=(ip_network("192.0.2.0/24"), ip_network("192.0.2.64/26")),
    nameservers=("ns1.example.com", "ns2.example.com"),
    hostmaster="hostmaster.example.com",
    ttl=300,
)
SUBNET = {1: SubnetRow(1, str(int(ip_address("192.0.2.0"))), "24", 1)}


def build(
    settings: ZoneSettings, rows: Sequence[AddressRow] = (), static: StaticData | None = None
) -> tuple[Snapshot, Publication]:
    data = IpamData.from_columns(AddressColumns.from_rows(rows), SUBNET, {1: "Main"}, {2: "Used"})
    policy = Policy(
        forward_zones=settings.forward,
        delegated_reverse=tuple(settings.classless_delegations),
    )
    publication = Validator(policy).validate(data)
    snapshot = assemble(compute_zone_contents(publication, settings, static), None, settings)
    return snapshot, publication


def row(i: int, ip: str, name: str) -> AddressRow:
    return AddressRow(i, 1, str(int(ip_address(ip))), name)


def test_a_served_block_gets_ns_and_a_cname_per_address_in_the_parent() -> None:
    snap, _ = build(SETTINGS, [row(1, "192.0.2.70", "host.example.com")])
    parent = "2.0.192.in-addr.arpa"
    assert snap.rrs(f"64/26.{parent}") == (("NS", "ns1.example.com"), ("NS", "ns2.example.com"))
    cnames = {o: snap.rrs(o) for o in snap.owners_by_zone[parent] if snap.rrs(o)[0][0] == "CNAME"}
    assert len(cnames) == 64  # .64 to .127, every address of the block
    assert snap.rrs(f"64.{parent}") == (("CNAME", f"64.64/26.{parent}"),)
    assert snap.rrs(f"127.{parent}") == (("CNAME", f"127.64/26.{parent}"),)
    assert f"63.{parent}" not in snap.names and f"128.{parent}" not in snap.names
    # the PTR lives in the child zone, where the CNAME leads
    assert snap.rrs(f"70.64/26.{parent}") == (("PTR", "host.example.com"),)
    assert snap.zone_of(f"70.64/26.{parent}").name == f"64/26.{parent}"  # type: ignore[union-attr]


def test_the_label_template_names_the_child_zone() -> None:
    settings = replace(SETTINGS, classless_name="{first}-{last}")
    snap, _ = build(settings, [row(1, "192.0.2.70", "host.example.com")])
    assert "64-127.2.0.192.in-addr.arpa" in snap.zone_by_name
    assert snap.rrs("70.2.0.192.in-addr.arpa") == (("CNAME", "70.64-127.2.0.192.in-addr.arpa"),)


def test_no_parent_side_when_pphook_does_not_serve_the_enclosing_zone() -> None:
    settings = replace(SETTINGS, reverse=(ip_network("192.0.2.64/26"),))
    snap, _ = build(settings, [row(1, "192.0.2.70", "host.example.com")])
    assert [z.name for z in snap.zones] == ["example.com", "64/26.2.0.192.in-addr.arpa"]
    assert snap.rrs("70.64/26.2.0.192.in-addr.arpa") == (("PTR", "host.example.com"),)
    assert "70.2.0.192.in-addr.arpa" not in snap.names


def test_a_classless_delegation_points_to_the_named_servers_and_takes_no_ptrs() -> None:
    block = ip_network("192.0.2.128/27")
    assert isinstance(block, IPv4Network)
    settings = replace(
        SETTINGS,
        reverse=(ip_network("192.0.2.0/24"),),
        classless_delegations={block: ("ns1.customer.example", "ns2.customer.example")},
    )
    rows = [row(1, "192.0.2.130", "cust.example.com"), row(2, "192.0.2.10", "own.example.com")]
    snap, publication = build(settings, rows)
    parent = "2.0.192.in-addr.arpa"
    assert snap.rrs(f"128/27.{parent}") == (
        ("NS", "ns1.customer.example"),
        ("NS", "ns2.customer.example"),
    )
    assert snap.rrs(f"130.{parent}") == (("CNAME", f"130.128/27.{parent}"),)
    assert len([o for o in snap.owners_by_zone[parent] if o.endswith(f".{parent}")]) == 32 + 1 + 1
    assert snap.rrs(f"10.{parent}") == (("PTR", "own.example.com"),)  # outside the block
    # the row of the delegated block: its A is published, no PTR here, a note only
    assert snap.rrs("cust.example.com") == (("A", "192.0.2.130"),)
    (finding,) = publication.findings_for(1)
    assert finding.code is Code.PTR_DELEGATED and not finding.is_problem


def test_name_server_addresses_are_published_in_zone_and_as_glue() -> None:
    static = StaticData(
        {
            "example.com": StaticZone(
                "example.com",
                (
                    StaticRecord("sub.example.com", "NS", 300, "ns.sub.example.com"),
                    StaticRecord("mx.example.com", "A", 60, "192.0.2.25"),
                ),
                cuts=("sub.example.com",),
            )
        }
    )
    settings = replace(
        SETTINGS,
        nameserver_addresses={
            "ns1.example.com": (ip_address("192.0.2.53"), ip_address("2001:db8::53")),
            "ns.sub.example.com": (ip_address("192.0.2.54"),),  # glue below the cut
        },
    )
    snap, _ = build(settings, [], static)
    assert snap.rrs("ns1.example.com") == (("A", "192.0.2.53"), ("AAAA", "2001:db8::53"))
    assert snap.rrs("ns.sub.example.com") == (("A", "192.0.2.54"),)
    assert snap.rrs("sub.example.com") == (("NS", "ns.sub.example.com"),)
    assert snap.ttl_for("ns1.example.com", "A") == 300  # zones.ttl
    assert snap.ttl_for("mx.example.com", "A") == 60  # the static record's own
