"""Property tests: hosts, aliases and static records together never publish a zone RFC
1034 forbids, and every alias or host that gives way says why (SPEC §10.3, §10.4).

Any set of phpIPAM rows (names from a small pool so they collide, alias fields naming
hosts, apexes, static names, delegated names, each other), any set of static records
(CNAMEs, other data, a delegation with glue) and name server addresses, through the
validators and the snapshot as `serve` builds it. Then, in the published zones:

- a name holding a CNAME holds nothing else, and exactly one CNAME;
- no apex holds a CNAME;
- every alias a published row asks for is either served as a CNAME to that row's name
  (or to the name of the lower row that claimed it first) or refused with a finding
  naming it: ``ALIAS_CONFLICT`` when it is the row's own name, an apex, a published
  host, a name holding static data or name server addresses, or claimed by a lower
  row for another target; ``DELEGATED`` at or below a cut;
- a host whose name a static CNAME holds is ``STATIC_CONFLICT`` and not published; one
  at or below a delegation is ``DELEGATED`` and not published.
"""

from __future__ import annotations

import re
from dataclasses import replace
from ipaddress import ip_address, ip_network

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from remote_backend.snapshot import Snapshot, assemble, compute_zone_contents
from remote_backend.snapshot.extras import zone_facts
from remote_backend.zones import ZoneSettings
from remote_backend.zones.static import StaticData, StaticRecord, StaticZone
from validators.codes import Code
from validators.engine import Validator
from validators.model import AddressColumns, AddressRow, IpamData, Policy, Publication, SubnetRow
from validators.zones import ZoneIndex

FORWARD = ("example.com", "lab.example.com")
ZONES = ZoneSettings(
    forward=FORWARD,
    reverse=(ip_network("192.0.2.0/24"), ip_network("2001:db8::/32")),
    nameservers=("ns1.example.com", "ns2.example.com"),
    hostmaster="hostmaster.example.com",
    ttl=300,
)
SUBNETS = {
    1: SubnetRow(1, str(int(ip_address("192.0.2.0"))), "24", 1),
    2: SubnetRow(2, str(int(ip_address("2001:db8::"))), "64", 1),
}
HOSTS = [
    "a.example.com",
    "b.example.com",
    "www.example.com",
    "mail.example.com",
    "ftp.example.com",
    "x.sub.example.com",
    "sub.example.com",
    "example.com",
    "h.lab.example.com",
    "ns1.example.com",
]
ADDRESSES = [(1, "192.0.2.1"), (1, "192.0.2.2"), (1, "192.0.2.3"), (2, "2001:db8::1")]
ALIAS_FIELDS = [
    None,
    "www",
    "ftp, alias1",
    "a",
    "b.example.com",
    "example.com",
    "lab.example.com",
    "x.sub",
    "sub",
    "alias1\nalias2.example.com",
    "alias1",
    "mail",
    "ns1",
    "bad_alias",
    "elsewhere.org",
    "h.lab.example.com; alias3.lab.example.com",
    "alias3.lab",
    "c",
]
# (owner, type, content): consistent among themselves, as a checked file would be
STATIC_POOL = [
    ("www.example.com", "CNAME", "web.example.net"),
    ("ftp.example.com", "CNAME", "a.example.com"),
    ("mail.example.com", "TXT", '"v=spf1 -all"'),
    ("example.com", "MX", "10 mail.example.com"),
    ("c.example.com", "A", "192.0.2.99"),
    ("alias2.example.com", "TXT", '"taken"'),
    ("sub.example.com", "NS", "ns.sub.example.com"),  # a delegation ...
    ("ns.sub.example.com", "A", "192.0.2.53"),  # ... and its glue
]


def static_data(picked: list[tuple[str, str, str]]) -> StaticData:
    if not picked:
        return StaticData()
    records = tuple(StaticRecord(o, t, 300, c) for o, t, c in sorted(set(picked)))
    if any(o == "ns.sub.example.com" for o, _, _ in picked) and not any(
        t == "NS" for _, t, _ in picked
    ):
        records = tuple(r for r in records if r.owner != "ns.sub.example.com")
    cuts = tuple(sorted({r.owner for r in records if r.rtype == "NS"}))
    return StaticData({"example.com": StaticZone("example.com", records, cuts=cuts)})


rows_strategy = st.lists(
    st.tuples(st.sampled_from(HOSTS), st.sampled_from(ADDRESSES), st.sampled_from(ALIAS_FIELDS)),
    max_size=12,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rows=rows_strategy,
    static=st.lists(st.sampled_from(STATIC_POOL), max_size=len(STATIC_POOL), unique=True),
    ns_addresses=st.booleans(),
)
def test_published_zones_obey_rfc_1034_and_every_loser_says_why(
    rows: list[tuple[str, tuple[int, str], str | None]],
    static: list[tuple[str, str, str]],
    ns_addresses: bool,
) -> None:
    settings_ = ZONES
    if ns_addresses:
        addresses = {"ns1.example.com": (ip_address("192.0.2.54"),)}
        settings_ = replace(ZONES, nameserver_addresses=addresses)
    address_rows = [
        AddressRow(i, subnet, str(int(ip_address(ip))), name)
        for i, (name, (subnet, ip), _) in enumerate(rows, start=1)
    ]
    fields = {i: text for i, (_, _, text) in enumerate(rows, start=1) if text}
    data = IpamData.from_columns(
        AddressColumns.from_rows(address_rows), SUBNETS, {1: "Main"}, {2: "Used"}, fields
    )
    static_zones = static_data(static)
    policy = Policy(forward_zones=FORWARD, alias_field="custom_aliases")
    facts = zone_facts(settings_, static_zones)
    publication = Validator(policy).validate(data, facts=facts)
    snapshot = assemble(
        compute_zone_contents(publication, settings_, static_zones), None, settings_
    )

    _no_cname_beside_other_data(snapshot)
    static_names = {r.owner for z in static_zones.zones.values() for r in z.records}
    cnames = {r.owner for z in static_zones.zones.values() for r in z.records if r.rtype == "CNAME"}
    cuts = ZoneIndex(c for z in static_zones.zones.values() for c in z.cuts)
    _hosts_give_way(publication, address_rows, cnames, cuts, snapshot)
    _aliases_published_or_refused(
        publication,
        address_rows,
        fields,
        static_names | set(settings_.nameserver_addresses),
        cuts,
        snapshot,
    )


def _no_cname_beside_other_data(snapshot: Snapshot) -> None:
    for zone in snapshot.zones:
        for owner in snapshot.owners_by_zone[zone.name]:
            held = snapshot.zone_cuts.get(zone.name, {}).get(owner) or snapshot.rrs(owner)
            types = [t for t, _ in held]
            if "CNAME" in types:
                assert types == ["CNAME"], (owner, held)
                assert owner not in snapshot.zone_by_name, f"CNAME at the apex {owner}"


def _hosts_give_way(
    publication: Publication,
    rows: list[AddressRow],
    static_cnames: set[str],
    cuts: ZoneIndex,
    snapshot: Snapshot,
) -> None:
    published = {(r.fqdn, r.row_id) for r in publication.records}
    for row in rows:
        name = row.hostname
        assert name is not None
        codes = {f.code for f in publication.findings_for(row.id) if not f.subject}
        if cuts.find(name) is not None:
            assert Code.DELEGATED in codes, (row, codes)
        elif name in static_cnames:
            assert Code.STATIC_CONFLICT in codes, (row, codes)
            assert not any(t in ("A", "AAAA") for t, _ in snapshot.rrs(name))
        else:
            continue
        assert all(fqdn != name for fqdn, _ in published), row


def _aliases_published_or_refused(
    publication: Publication,
    rows: list[AddressRow],
    fields: dict[int, str],
    static_names: set[str],
    cuts: ZoneIndex,
    snapshot: Snapshot,
) -> None:
    forward = ZoneIndex(FORWARD)
    hosts = {r.fqdn for r in publication.records}
    aliases = {a.name: a for a in publication.aliases}
    claimed: dict[str, str] = {}  # alias -> the target of the first row it was given to
    for row in rows:
        if row.id not in fields or _refused_row(publication, row.id):
            continue
        target = row.hostname
        assert target is not None
        for name in _asked(fields[row.id], target, forward):
            refusals = {f.code for f in publication.findings_for(row.id) if f.subject == name}
            if not _LDH.fullmatch(name):
                expected: Code | None = Code.HOSTNAME_INVALID
            elif forward.find(name) is None:
                expected = Code.ZONE_NOT_FOUND
            elif cuts.find(name) is not None:
                expected = Code.DELEGATED
            elif (
                name == target
                or name in FORWARD
                or name in hosts
                or name in static_names
                or claimed.get(name, target) != target
            ):
                expected = Code.ALIAS_CONFLICT
            else:
                expected = None
            if expected is not None:
                assert refusals == {expected}, (row, name, refusals)
                continue
            assert not refusals, (row, name, refusals)
            claimed.setdefault(name, target)
            assert aliases[name].target == claimed[name], (row, name)
            assert snapshot.rrs(name) == (("CNAME", claimed[name]),), name
    assert set(aliases) == set(claimed)  # nothing else is published as an alias


# row-level findings that keep a row out of DNS (its aliases with it)
_ROW_REFUSALS = frozenset(
    {
        Code.HOSTNAME_INVALID,
        Code.ZONE_NOT_FOUND,
        Code.DELEGATED,
        Code.STATIC_CONFLICT,
        Code.IP_INVALID,
        Code.DUPLICATE_HOSTNAME,
    }
)
_LDH = re.compile(r"[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*")


def _refused_row(publication: Publication, row_id: int) -> bool:
    return any(f.code in _ROW_REFUSALS for f in publication.findings_for(row_id) if not f.subject)


def _asked(text: str, fqdn: str, zones: ZoneIndex) -> list[str]:
    """The names an alias field asks for, read as SPEC §10.4 says: separated by commas,
    semicolons, spaces or newlines; normalised; a single label qualified with the zone
    of the row's own name."""
    zone = zones.find(fqdn) or fqdn.partition(".")[2]
    names: list[str] = []
    for raw in re.split(r"[\s,;]+", text):
        name = raw.strip().lower()
        if name.endswith("."):
            name = name[:-1]
        if not name:
            continue
        if "." not in name:
            name = f"{name}.{zone}"
        if name not in names:
            names.append(name)
    return names
