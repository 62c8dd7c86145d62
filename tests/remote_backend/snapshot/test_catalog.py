"""The catalog zone (RFC 9432, version 2): what it lists, its labels, how it is served.

What a secondary with ``catalog-zones`` does with it is tests/e2e/test_e2e_catalog.py.
"""

from __future__ import annotations

import json
from dataclasses import replace
from ipaddress import ip_address, ip_network
from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from infra.rb_support import MemoryNotified

from remote_backend.protocol.handler import BackendHandler
from remote_backend.snapshot import Snapshot, assemble, compute_zone_contents
from remote_backend.zones import ZoneSettings
from remote_backend.zones.catalog import catalog_records, member_label
from remote_backend.zones.static import StaticData, StaticRecord, StaticZone
from validators.model import AddressRecord, Alias, PtrRecord, Publication

CATALOG = "catalog.invalid"
SETTINGS = ZoneSettings(
    forward=("example.com", "lab.example.com"),
    reverse=(ip_network("10.0.0.0/8"), ip_network("192.0.2.64/26"), ip_network("2001:db8::/32")),
    nameservers=("ns1.example.com", "ns2.example.com"),
    hostmaster="hostmaster.example.com",
    ttl=300,
    catalog=CATALOG,
)
MEMBERS = (
    "example.com",
    "lab.example.com",
    "10.in-addr.arpa",
    "64/26.2.0.192.in-addr.arpa",
    "8.b.d.0.1.0.0.2.ip6.arpa",
)


def expected_catalog(members: tuple[str, ...] = MEMBERS) -> set[tuple[str, str, str]]:
    return {
        (CATALOG, "NS", "invalid"),
        (f"version.{CATALOG}", "TXT", '"2"'),
        *((f"{member_label(m)}.zones.{CATALOG}", "PTR", m) for m in members),
    }


def snapshot_of(
    publication: Publication, settings: ZoneSettings = SETTINGS, static: StaticData | None = None
) -> Snapshot:
    contents = compute_zone_contents(publication, settings, static)
    serials = {name: 7 for name in settings.all_zone_names}
    return assemble(contents, serials, settings)


def catalog_rows(snapshot: Snapshot) -> set[tuple[str, str, str]]:
    zone = snapshot.zone_by_name[CATALOG]
    return {r for r in snapshot.zone_records(zone) if r[1] != "SOA"}


# ---------------------------------------------------------------------- labels


def test_label_is_the_sha1_of_the_wire_name() -> None:
    # the example of BIND's catalog zone documentation: same name, same label
    assert member_label("domain.example") == "5960775ba382e7a4e09263fc06e7c00569b6a05c"
    assert member_label("Domain.EXAMPLE") == member_label("domain.example")


zone_names = st.lists(
    st.from_regex(r"[a-z0-9]([a-z0-9-]{0,8}[a-z0-9])?(\.[a-z0-9]{1,6}){0,3}", fullmatch=True),
    max_size=12,
)


@given(zone_names, st.randoms())
def test_labels_depend_on_the_names_only(names: list[str], random: Any) -> None:
    """Stable across restarts and nodes: the config's order, duplicates and the catalog
    itself in the list change nothing; every member has its own label."""
    shuffled = list(names)
    random.shuffle(shuffled)
    records = catalog_records(CATALOG, names)
    assert catalog_records(CATALOG, [*shuffled, *names, CATALOG]) == records
    members = {content for rrs in records.values() for qtype, content in rrs if qtype == "PTR"}
    assert members == set(names) - {CATALOG}
    assert len(records) == 2 + len(members)  # apex, version, one owner per member


# ---------------------------------------------------------------------- snapshot


def test_catalog_lists_every_member_zone_and_comes_last() -> None:
    snapshot = snapshot_of(Publication(records=(), ptrs=(), findings=()))
    assert [z.name for z in snapshot.zones] == [*MEMBERS, CATALOG]
    assert catalog_rows(snapshot) == expected_catalog()
    assert snapshot.ents_by_zone[CATALOG] == (f"zones.{CATALOG}",)
    assert snapshot.zone_by_name[CATALOG].record_count == 1 + len(expected_catalog())


def test_no_catalog_without_the_key() -> None:
    snapshot = snapshot_of(Publication((), (), ()), replace(SETTINGS, catalog=None))
    assert [z.name for z in snapshot.zones] == list(MEMBERS)


hosts = st.lists(
    st.tuples(
        st.sampled_from(
            [
                "a.example.com",
                "b.lab.example.com",
                f"h.{CATALOG}",
                f"version.{CATALOG}",
                CATALOG,
                f"x.zones.{CATALOG}",
                "c.other.org",
            ]
        ),
        st.sampled_from(["10.0.0.1", "192.0.2.70", "2001:db8::1", "198.51.100.1"]),
    ),
    max_size=10,
)


@given(hosts, st.lists(st.sampled_from([f"alias.{CATALOG}", "alias.example.com"]), max_size=2))
def test_nothing_but_the_config_lands_in_the_catalog(
    rows: list[tuple[str, str]], alias_names: list[str]
) -> None:
    """Whatever reaches the snapshot (a name under the catalog that a validator would
    have rejected anyway, PTRs, aliases, static records), the catalog holds the list of
    zones and nothing else."""
    publication = Publication(
        records=tuple(AddressRecord(n, ip_address(ip), i) for i, (n, ip) in enumerate(rows, 1)),
        ptrs=tuple(PtrRecord(ip_address(ip), n, i) for i, (n, ip) in enumerate(rows, 1)),
        findings=(),
        aliases=tuple(Alias(n, "a.example.com", 1) for n in alias_names),
    )
    mx = StaticRecord("mx.example.com", "A", 300, "10.0.0.9")
    static = StaticData({"example.com": StaticZone("example.com", (mx,))})
    assert catalog_rows(snapshot_of(publication, static=static)) == expected_catalog()


# ---------------------------------------------------------------------- protocol


def call(handler: BackendHandler, method: str, params: dict[str, Any]) -> Any:
    request = json.dumps({"method": method, "parameters": params}).encode()
    return json.loads(handler.handle_line(request))["result"]


def lookup(handler: BackendHandler, qname: str, qtype: str = "ANY") -> set[tuple[str, str]]:
    result = call(handler, "lookup", {"qtype": qtype, "qname": qname, "zone-id": -1})
    return {(r["qtype"], r["content"]) for r in result or ()}


def test_pdns_sees_the_catalog_as_one_more_zone() -> None:
    snapshot = snapshot_of(Publication((), (), ()))
    handler = BackendHandler(lambda: snapshot, MemoryNotified())
    domains = call(handler, "getAllDomains", {"include_disabled": True})
    assert domains[-1]["zone"] == CATALOG + "." and domains[-1]["kind"] == "master"
    catalog_id = domains[-1]["id"]
    apex = lookup(handler, "Catalog.Invalid.")
    assert ("NS", "invalid") in apex and {t for t, _ in apex} == {"SOA", "NS"}
    assert lookup(handler, f"version.{CATALOG}.") == {("TXT", '"2"')}
    owner = f"{member_label('example.com')}.zones.{CATALOG}."
    assert lookup(handler, owner, "PTR") == {("PTR", "example.com")}
    # the ENT above the members answers NOERROR without data, never NXDOMAIN
    assert call(handler, "lookup", {"qtype": "ANY", "qname": f"zones.{CATALOG}.", "zone-id": -1})
    listed = call(handler, "list", {"zonename": CATALOG + ".", "domain_id": catalog_id})
    records = {(r["qname"].rstrip("."), r["qtype"], r["content"]) for r in listed}
    assert {r for r in records if r[1] not in ("SOA", "ENT")} == expected_catalog()
