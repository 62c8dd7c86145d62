"""Properties of the validators over arbitrary (hostile) phpIPAM data (hypothesis)."""

from __future__ import annotations

from dataclasses import replace
from ipaddress import IPv4Address, IPv6Address
from random import Random

from hypothesis import given, settings
from hypothesis import strategies as st

from validators import (
    AddressRow,
    Code,
    DuplicateHostnamePolicy,
    IpamData,
    MacScope,
    Policy,
    Publication,
    SubnetRow,
    hostname_problem,
    normalise_hostname,
    normalise_mac,
    validate,
)
from validators.engine import Validator
from validators.zones import ZoneIndex

SUBNETS = {
    1: SubnetRow(1, str(int(IPv4Address("10.0.0.0"))), "24", 1, dns_recursive=True),
    2: SubnetRow(2, str(int(IPv6Address("2001:db8::"))), "64", 1),
    3: SubnetRow(3, "0", "", 2, is_folder=True),
    4: SubnetRow(4, str(int(IPv4Address("192.168.0.0"))), None, 2),
}
SECTIONS = {1: "Production", 2: "Lab"}
TAGS = {1: "Offline", 2: "Used", 3: "Reserved", 4: "DHCP"}
ZONES = ("example.com", "lab.example.com", "example.net")

# Rows with these codes are not published at all.
NOT_PUBLISHED = frozenset(
    {
        Code.NO_HOSTNAME,
        Code.HOSTNAME_INVALID,
        Code.ZONE_NOT_FOUND,
        Code.IP_INVALID,
        Code.STATE_FILTERED,
        Code.SECTION_FILTERED,
        Code.DUPLICATE_HOSTNAME,
    }
)

labels = st.sampled_from(["web", "db", "a", "x1", "123", "xn--bcher-kva", "Mail", "web_1", "é"])
plausible_names = st.builds(
    lambda parts, zone, dot, pad: f"{pad}{'.'.join(parts)}{zone}{dot}{pad}",
    st.lists(labels, min_size=1, max_size=3),
    st.sampled_from([".example.com", ".Example.NET", ".lab.example.com", ".other.org", "", "."]),
    st.sampled_from(["", ".", ".."]),
    st.sampled_from(["", " ", "\t"]),
)
hostnames = st.one_of(st.none(), plausible_names, st.text(max_size=80))
ip_values = st.one_of(
    st.none(),
    st.integers(0, 2**129).map(str),
    st.sampled_from([str(int(IPv4Address("10.0.0.1"))), str(int(IPv4Address("10.0.0.2")))]),
    st.sampled_from(["0167772161", "1e5", " 12", "-1", "0x10", "١٢", ""]),
    st.text(max_size=45),
)
macs = st.one_of(
    st.none(),
    st.sampled_from(
        ["aa:bb:cc:dd:ee:ff", "AA-BB-CC-DD-EE-FF", "00:00:00:00:00:00", "11:22:33:44:55:66"]
    ),
    st.text(max_size=20),
)


@st.composite
def address_rows(draw: st.DrawFn) -> tuple[AddressRow, ...]:
    ids = draw(st.lists(st.integers(1, 10_000), unique=True, max_size=12))
    return tuple(
        AddressRow(
            id=row_id,
            subnet_id=draw(st.sampled_from([1, 2, 3, 4, 99, None])),
            ip_addr=draw(ip_values),
            hostname=draw(hostnames),
            mac=draw(macs),
            state=draw(st.sampled_from([None, 1, 2, 3, 4, 7])),
            ptr_ignore=draw(st.booleans()),
        )
        for row_id in ids
    )


policies = st.builds(
    Policy,
    forward_zones=st.just(ZONES),
    default_domain=st.sampled_from([None, "example.com", "other.org"]),
    publish_states=st.sampled_from([(), ("Used",), (2, "reserved")]),
    sections=st.sampled_from([(), ("Production",)]),
    allow_underscore=st.booleans(),
    duplicate_hostname=st.sampled_from(list(DuplicateHostnamePolicy)),
    ptr_requires_subnet_flag=st.booleans(),
    mac_duplicate_scope=st.sampled_from(list(MacScope)),
)


def run(rows: tuple[AddressRow, ...], policy: Policy) -> Publication:
    return validate(IpamData(rows, SUBNETS, SECTIONS, TAGS), policy)


@given(st.one_of(plausible_names, st.text()))
def test_normalisation_is_idempotent_on_every_name_it_accepts(raw: str) -> None:
    # Not on every text: only one trailing dot is dropped, so 'a..' -> 'a.' -> 'a'.
    name = normalise_hostname(raw)
    if name is not None and hostname_problem(name, allow_underscore=True) is None:
        assert normalise_hostname(name) == name


@given(plausible_names)
def test_ascii_case_and_padding_never_change_the_name(raw: str) -> None:
    assert normalise_hostname(raw.upper()) == normalise_hostname(raw.lower()) or not raw.isascii()
    assert normalise_hostname(f" \t{raw}\r\n") == normalise_hostname(raw)


@given(st.text(max_size=30))
def test_mac_normalisation_is_idempotent_on_valid_macs(raw: str) -> None:
    mac = normalise_mac(raw)
    if mac is not None and len(mac) == 12 and all(c in "0123456789abcdef" for c in mac):
        assert normalise_mac(mac) == mac


@settings(max_examples=300)
@given(address_rows(), policies)
def test_rejected_rows_never_reach_dns(rows: tuple[AddressRow, ...], policy: Policy) -> None:
    pub = run(rows, policy)
    rejected = {f.row_id for f in pub.findings if f.code in NOT_PUBLISHED}
    assert not rejected & {r.row_id for r in pub.records}
    assert not rejected & {p.row_id for p in pub.ptrs}
    # A row is rejected for one reason only: the first rule it fails.
    rejections = [f.row_id for f in pub.findings if f.code in NOT_PUBLISHED]
    assert len(rejections) == len(set(rejections))


@settings(max_examples=300)
@given(address_rows(), policies)
def test_published_names_are_valid_and_in_a_zone(
    rows: tuple[AddressRow, ...], policy: Policy
) -> None:
    pub = run(rows, policy)
    zones = ZoneIndex(ZONES)
    for name in [r.fqdn for r in pub.records] + [p.fqdn for p in pub.ptrs]:
        assert hostname_problem(name, allow_underscore=policy.allow_underscore) is None
        assert zones.find(name) is not None
        assert normalise_hostname(name) == name


@settings(max_examples=300)
@given(address_rows(), policies)
def test_one_record_per_name_and_address_one_ptr_per_address(
    rows: tuple[AddressRow, ...], policy: Policy
) -> None:
    pub = run(rows, policy)
    pairs = [(r.fqdn, r.address) for r in pub.records]
    assert len(pairs) == len(set(pairs))
    addresses = [p.address for p in pub.ptrs]
    assert len(addresses) == len(set(addresses))
    # Every PTR points at a name published at that address.
    assert {(p.fqdn, p.address) for p in pub.ptrs} <= set(pairs)
    if policy.duplicate_hostname is DuplicateHostnamePolicy.KEEP_LOWEST_ID:
        per_family = [(r.fqdn, r.address.version) for r in pub.records]
        assert len(per_family) == len(set(per_family))


@settings(max_examples=200)
@given(address_rows(), policies, st.randoms(use_true_random=False))
def test_row_order_does_not_matter(
    rows: tuple[AddressRow, ...], policy: Policy, random: Random
) -> None:
    shuffled = list(rows)
    random.shuffle(shuffled)
    assert run(tuple(shuffled), policy) == run(rows, policy)


@settings(max_examples=200)
@given(address_rows(), policies)
def test_findings_sorted_and_reasons_one_line(rows: tuple[AddressRow, ...], policy: Policy) -> None:
    pub = run(rows, policy)
    keys = [(f.row_id, f.code) for f in pub.findings]
    assert keys == sorted(keys)
    for finding in pub.findings:
        assert finding.reason and finding.reason.isprintable()


@settings(max_examples=200)
@given(address_rows(), policies)
def test_macs_never_affect_dns(rows: tuple[AddressRow, ...], policy: Policy) -> None:
    without_macs = tuple(replace(r, mac=None) for r in rows)
    with_macs, plain = run(rows, policy), run(without_macs, policy)
    assert (with_macs.records, with_macs.ptrs) == (plain.records, plain.ptrs)


@settings(max_examples=100)
@given(address_rows(), address_rows(), policies)
def test_reused_validator_answers_like_a_fresh_one(
    first: tuple[AddressRow, ...], second: tuple[AddressRow, ...], policy: Policy
) -> None:
    validator = Validator(policy)
    for rows in (first, second, first):
        data = IpamData(rows, SUBNETS, SECTIONS, TAGS)
        assert validator.validate(data) == validate(data, policy)


@settings(max_examples=100)
@given(address_rows(), address_rows(), policies)
def test_a_validator_that_forgot_its_names_answers_like_a_fresh_one(
    first: tuple[AddressRow, ...], second: tuple[AddressRow, ...], policy: Policy
) -> None:
    """`serve` drops the checked names after a full publication (memory); the next
    passes, whole or partial, must not notice."""
    validator = Validator(policy)
    for rows in (first, second, first):
        data = IpamData(rows, SUBNETS, SECTIONS, TAGS)
        validator.validate(data)
        validator.forget_names()
        assert validator.validate(data, whole=False) == validate(data, policy)
        assert validator.validate(data) == validate(data, policy)


@settings(max_examples=300)
@given(
    st.text(),
    st.text(),
    st.text(),
    st.one_of(st.none(), st.integers(-(2**40), 2**40)),
    policies,
)
def test_never_raises_on_arbitrary_text(
    hostname: str, ip_addr: str, mac: str, subnet_id: int | None, policy: Policy
) -> None:
    rows = (AddressRow(1, subnet_id, ip_addr, hostname, mac=mac),)
    pub = run(rows, policy)
    assert pub.records or pub.findings


@settings(max_examples=300)
@given(address_rows(), policies)
def test_rows_outside_the_sections_change_nothing_and_are_not_reported(
    rows: tuple[AddressRow, ...], policy: Policy
) -> None:
    """Issue 13.5c: a row outside policy.sections gets one note and no problem, and
    removing it changes nothing else (records, PTRs, other rows' findings: MACs too)."""
    scoped = replace(policy, sections=("Production",))
    in_scope = {sid for sid, s in SUBNETS.items() if SECTIONS.get(s.section_id) == "Production"}
    pub = run(rows, scoped)
    inside = tuple(r for r in rows if r.subnet_id in in_scope)
    for r in rows:
        if r.subnet_id not in in_scope:
            assert [f.code for f in pub.findings_for(r.id)] == [Code.SECTION_FILTERED]
    alone = run(inside, scoped)
    assert (pub.records, pub.ptrs) == (alone.records, alone.ptrs)
    ids = {r.id for r in inside}
    assert [f for f in pub.findings if f.row_id in ids] == list(alone.findings)
