"""validate(): the publication policy over whole sets of rows (docs/publication-rules.md)."""

from __future__ import annotations

from dataclasses import replace
from ipaddress import IPv4Address, IPv6Address
from typing import Any

import pytest

from validators import (
    AddressRow,
    Code,
    DuplicateHostnamePolicy,
    IpamData,
    MacScope,
    Policy,
    Publication,
    SubnetRow,
    validate,
)
from validators.engine import Validator

PROD_V4 = SubnetRow(1, str(int(IPv4Address("10.0.0.0"))), "24", section_id=1, dns_recursive=True)
PROD_V6 = SubnetRow(2, str(int(IPv6Address("2001:db8::"))), "64", section_id=1)
FOLDER = SubnetRow(3, "0", "", section_id=1, is_folder=True)
LAB_V4 = SubnetRow(4, str(int(IPv4Address("192.168.0.0"))), "24", section_id=2)
SUBNETS = {s.id: s for s in (PROD_V4, PROD_V6, FOLDER, LAB_V4)}
SECTIONS = {1: "Production", 2: "Lab"}
TAGS = {1: "Offline", 2: "Used", 3: "Reserved", 4: "DHCP"}
ZONES = ("example.com",)


def ip(text: str) -> str:
    """The decimal string phpIPAM stores for an address."""
    return str(int(IPv4Address(text) if ":" not in text else IPv6Address(text)))


def row(row_id: int, hostname: str | None, address: str = "10.0.0.1", **fields: Any) -> AddressRow:
    subnet = fields.pop("subnet_id", 2 if ":" in address else 1)
    return AddressRow(row_id, subnet, ip(address), hostname, **fields)


def run(*rows: AddressRow, **policy: Any) -> Publication:
    policy.setdefault("forward_zones", ZONES)
    data = IpamData(tuple(rows), SUBNETS, SECTIONS, TAGS)
    return validate(data, Policy(**policy))


def records(pub: Publication) -> set[tuple[str, str, int]]:
    return {(r.fqdn, str(r.address), r.row_id) for r in pub.records}


def ptrs(pub: Publication) -> set[tuple[str, str, int]]:
    return {(str(p.address), p.fqdn, p.row_id) for p in pub.ptrs}


def codes(pub: Publication, row_id: int) -> list[Code]:
    return [f.code for f in pub.findings_for(row_id)]


def only_finding(pub: Publication, row_id: int) -> Any:
    (finding,) = pub.findings_for(row_id)
    return finding


class TestPublishing:
    def test_valid_row_gets_a_record_and_its_ptr(self) -> None:
        pub = run(row(1, "web1.example.com"))
        assert records(pub) == {("web1.example.com", "10.0.0.1", 1)}
        assert ptrs(pub) == {("10.0.0.1", "web1.example.com", 1)}
        assert pub.findings == ()

    def test_ipv6_row_gets_aaaa_and_ptr(self) -> None:
        pub = run(row(1, "web1.example.com", "2001:db8::5"))
        assert records(pub) == {("web1.example.com", "2001:db8::5", 1)}
        assert ptrs(pub) == {("2001:db8::5", "web1.example.com", 1)}

    def test_differently_written_names_are_one_fqdn(self) -> None:
        pub = run(
            row(3, "Host.Example.COM"), row(1, "host.example.com."), row(2, " host.example.com ")
        )
        assert records(pub) == {("host.example.com", "10.0.0.1", 1)}
        assert ptrs(pub) == {("10.0.0.1", "host.example.com", 1)}
        assert pub.findings == ()

    def test_apex_hostname_publishes_at_the_apex(self) -> None:
        assert records(run(row(1, "example.com"))) == {("example.com", "10.0.0.1", 1)}

    def test_leading_zeros_in_ip_addr(self) -> None:
        data = IpamData((AddressRow(1, 1, "0" + ip("10.0.0.7"), "a.example.com"),), SUBNETS)
        pub = validate(data, Policy(forward_zones=ZONES))
        assert records(pub) == {("a.example.com", "10.0.0.7", 1)}

    def test_ipv6_value_below_2_32_is_not_the_ipv4_address(self) -> None:
        value = ip("10.0.0.1")
        pub = run(
            AddressRow(1, PROD_V4.id, value, "v4.example.com"),
            AddressRow(2, PROD_V6.id, value, "v6.example.com"),
        )
        assert records(pub) == {
            ("v4.example.com", "10.0.0.1", 1),
            ("v6.example.com", "::a00:1", 2),
        }
        assert len(pub.ptrs) == 2
        assert pub.findings == ()

    def test_folder_parent_family_by_value(self) -> None:
        pub = run(
            AddressRow(1, FOLDER.id, ip("10.0.0.9"), "a.example.com"),
            AddressRow(2, FOLDER.id, ip("2001:db8::9"), "b.example.com"),
            AddressRow(3, 999, ip("10.0.0.10"), "c.example.com"),  # parent missing
            AddressRow(4, None, ip("10.0.0.11"), "d.example.com"),
        )
        assert {(fqdn, addr) for fqdn, addr, _ in records(pub)} == {
            ("a.example.com", "10.0.0.9"),
            ("b.example.com", "2001:db8::9"),
            ("c.example.com", "10.0.0.10"),
            ("d.example.com", "10.0.0.11"),
        }


class TestNoHostname:
    @pytest.mark.parametrize("hostname", [None, "", "   ", ".", " . "])
    def test_not_published_and_not_a_problem(self, hostname: str | None) -> None:
        pub = run(row(1, hostname))
        assert pub.records == () and pub.ptrs == ()
        finding = only_finding(pub, 1)
        assert finding.code is Code.NO_HOSTNAME
        assert not finding.is_problem
        assert pub.problems == ()

    def test_comes_first_even_with_a_bad_address(self) -> None:
        pub = run(AddressRow(1, 1, "junk", None))
        assert codes(pub, 1) == [Code.NO_HOSTNAME]


class TestHostnameInvalid:
    @pytest.mark.parametrize(
        ("hostname", "fragment"),
        [
            ("web_1.example.com", "label 'web_1' contains '_'"),
            ("café.example.com", "non-ASCII character 'é'"),
            ("\u212aelvin.example.com", "non-ASCII character '\u212a' (U+212A)"),
            ("*.example.com", "contains '*'"),
            ("a b.example.com", "contains a space"),
            ("a.example.com..", "ends with more than one dot"),
            ("a..example.com", "contains '..'"),
            ("-a.example.com", "starts with a hyphen"),
            ("a\x00.example.com", "control character U+0000"),
            ("a" * 64 + ".example.com", "(max 63)"),
            ("a." * 130 + "example.com", "(max 253)"),
        ],
    )
    def test_rejected_with_the_exact_fault(self, hostname: str, fragment: str) -> None:
        pub = run(row(1, hostname))
        assert pub.records == () and pub.ptrs == ()
        finding = only_finding(pub, 1)
        assert finding.code is Code.HOSTNAME_INVALID
        assert finding.is_problem
        assert fragment in finding.reason
        assert finding.reason.isprintable()

    def test_underscore_published_when_policy_allows(self) -> None:
        pub = run(row(1, "web_1.example.com"), allow_underscore=True)
        assert records(pub) == {("web_1.example.com", "10.0.0.1", 1)}

    def test_checked_before_the_address(self) -> None:
        pub = run(AddressRow(1, 1, "junk", "bad name.example.com"))
        assert codes(pub, 1) == [Code.HOSTNAME_INVALID]


class TestSingleLabel:
    def test_qualified_with_default_domain(self) -> None:
        pub = run(row(1, "Web1"), default_domain="example.com")
        assert records(pub) == {("web1.example.com", "10.0.0.1", 1)}
        assert ptrs(pub) == {("10.0.0.1", "web1.example.com", 1)}

    def test_without_default_domain_zone_not_found(self) -> None:
        finding = only_finding(run(row(1, "web1")), 1)
        assert finding.code is Code.ZONE_NOT_FOUND
        assert "set zones.default_domain or enter an FQDN" in finding.reason

    def test_default_domain_outside_the_zones(self) -> None:
        finding = only_finding(run(row(1, "web1"), default_domain="other.org"), 1)
        assert finding.code is Code.ZONE_NOT_FOUND
        assert "'web1.other.org'" in finding.reason

    def test_qualified_name_too_long(self) -> None:
        domain = ".".join(["d" * 60] * 3) + ".example.com"  # 195 characters
        finding = only_finding(
            run(row(1, "h" * 63), default_domain=domain, forward_zones=("example.com",)), 1
        )
        assert finding.code is Code.HOSTNAME_INVALID
        assert "(max 253)" in finding.reason

    def test_invalid_default_domain_never_reaches_dns(self) -> None:
        finding = only_finding(run(row(1, "web1"), default_domain="bad domain.example.com"), 1)
        assert finding.code is Code.ZONE_NOT_FOUND
        assert "zones.default_domain" in finding.reason


class TestZone:
    def test_label_boundary(self) -> None:
        pub = run(row(1, "xbadexample.com"), row(2, "host.xbadexample.com", "10.0.0.2"))
        assert pub.records == ()
        assert codes(pub, 1) == [Code.ZONE_NOT_FOUND]
        assert codes(pub, 2) == [Code.ZONE_NOT_FOUND]
        assert (
            only_finding(pub, 1).reason
        ) == "'xbadexample.com' is in no served forward zone (example.com)"

    def test_any_served_zone(self) -> None:
        pub = run(
            row(1, "a.example.net"),
            row(2, "b.lab.example.com", "10.0.0.2"),
            forward_zones=("example.net", "lab.example.com"),
        )
        assert {r.fqdn for r in pub.records} == {"a.example.net", "b.lab.example.com"}

    def test_no_zones_configured(self) -> None:
        finding = only_finding(run(row(1, "a.example.com"), forward_zones=()), 1)
        assert finding.code is Code.ZONE_NOT_FOUND


class TestIpInvalid:
    @pytest.mark.parametrize("ip_addr", [None, "", "1e5", " 12", "-1", "0x10", "١٢", "9" * 5000])
    def test_rejected(self, ip_addr: str | None) -> None:
        pub = run(AddressRow(1, 1, ip_addr, "a.example.com"))
        finding = only_finding(pub, 1)
        assert finding.code is Code.IP_INVALID
        assert finding.is_problem
        assert pub.records == () and pub.ptrs == ()

    def test_value_not_fitting_the_subnet_family(self) -> None:
        finding = only_finding(run(AddressRow(1, PROD_V4.id, str(2**32), "a.example.com")), 1)
        assert finding.code is Code.IP_INVALID
        assert "IPv4 maximum" in finding.reason


class TestStateFilter:
    def test_only_listed_states_published(self) -> None:
        pub = run(
            row(1, "used.example.com", "10.0.0.1", state=2),
            row(2, "offline.example.com", "10.0.0.2", state=1),
            row(3, "null.example.com", "10.0.0.3", state=None),
            publish_states=("Used",),
        )
        assert {r.fqdn for r in pub.records} == {"used.example.com"}
        offline = only_finding(pub, 2)
        assert offline.code is Code.STATE_FILTERED and not offline.is_problem
        assert offline.reason == "state 'Offline' (id 1) is not in policy.publish_states (Used)"
        assert codes(pub, 3) == [Code.STATE_FILTERED]

    @pytest.mark.parametrize("wanted", ["used", " USED ", 2, "2"])
    def test_names_case_insensitive_or_ids(self, wanted: str | int) -> None:
        pub = run(row(1, "a.example.com", state=2), publish_states=(wanted,))
        assert len(pub.records) == 1

    def test_empty_means_every_state_null_and_unknown_ids_included(self) -> None:
        pub = run(
            row(1, "a.example.com", "10.0.0.1", state=None),
            row(2, "b.example.com", "10.0.0.2", state=77),
            row(3, "c.example.com", "10.0.0.3", state=4),
        )
        assert len(pub.records) == 3
        assert pub.findings == ()

    def test_applies_before_duplicates(self) -> None:
        pub = run(
            row(1, "a.example.com", "10.0.0.1", state=1),
            row(2, "a.example.com", "10.0.0.2", state=2),
            publish_states=("Used",),
        )
        assert records(pub) == {("a.example.com", "10.0.0.2", 2)}
        assert codes(pub, 1) == [Code.STATE_FILTERED]
        assert codes(pub, 2) == []

    def test_filtered_row_does_not_block_the_ptr(self) -> None:
        pub = run(
            row(1, "a.example.com", state=1),
            row(2, "b.example.com", state=2),
            publish_states=("Used",),
        )
        assert ptrs(pub) == {("10.0.0.1", "b.example.com", 2)}
        assert codes(pub, 2) == []


class TestSectionFilter:
    def test_only_listed_sections(self) -> None:
        pub = run(
            row(1, "prod.example.com", "10.0.0.1"),
            row(2, "lab.example.com", "192.168.0.1", subnet_id=LAB_V4.id),
            row(3, "orphan.example.com", "10.0.0.3", subnet_id=999),
            sections=("production",),
        )
        assert {r.fqdn for r in pub.records} == {"prod.example.com"}
        lab = only_finding(pub, 2)
        assert lab.code is Code.SECTION_FILTERED and not lab.is_problem
        assert lab.reason == "section 'Lab' is not in policy.sections (production)"
        assert codes(pub, 3) == [Code.SECTION_FILTERED]

    def test_applies_before_duplicates(self) -> None:
        pub = run(
            row(1, "a.example.com", "192.168.0.1", subnet_id=LAB_V4.id),
            row(2, "a.example.com", "10.0.0.2"),
            sections=("Production",),
        )
        assert records(pub) == {("a.example.com", "10.0.0.2", 2)}
        assert codes(pub, 2) == []

    @pytest.mark.parametrize(
        ("hostname", "address"),
        [
            ("bad_name.example.com", "192.168.0.1"),  # would be HOSTNAME_INVALID
            ("host.other.org", "192.168.0.2"),  # ZONE_NOT_FOUND
            ("printer7", "192.168.0.3"),  # single label, ZONE_NOT_FOUND
            ("a.example.com", "not an ip"),  # IP_INVALID
            (None, "192.168.0.4"),  # NO_HOSTNAME
        ],
    )
    def test_out_of_scope_rows_are_not_checked(self, hostname: str | None, address: str) -> None:
        """Issue 13.5c: rows of other sections are not pphook's business: no problem
        (nothing mailed), one note for `explain`."""
        lab = AddressRow(1, LAB_V4.id, address if address[0] == "n" else ip(address), hostname)
        pub = run(lab, sections=("Production",))
        finding = only_finding(pub, 1)
        assert finding.code is Code.SECTION_FILTERED and not finding.is_problem
        assert not any(f.is_problem for f in pub.findings)

    def test_out_of_scope_wins_over_the_state_filter(self) -> None:
        pub = run(
            row(1, "a.example.com", "192.168.0.1", subnet_id=LAB_V4.id, state=1),
            sections=("Production",),
            publish_states=("Used",),
        )
        assert codes(pub, 1) == [Code.SECTION_FILTERED]

    def test_out_of_scope_macs_are_neither_compared_nor_checked(self) -> None:
        rows = (
            row(1, "a.example.com", "10.0.0.1", mac="aa:bb:cc:dd:ee:ff"),
            row(2, "b.example.com", "192.168.0.2", subnet_id=LAB_V4.id, mac="AA-BB-CC-DD-EE-FF"),
            row(3, "c.example.com", "192.168.0.3", subnet_id=LAB_V4.id, mac="garbage"),
            row(4, "d.example.com", "10.0.0.4", subnet_id=999, mac="aa:bb:cc:dd:ee:ff"),
        )
        pub = run(*rows, sections=("Production",))
        assert codes(pub, 1) == []
        assert codes(pub, 2) == codes(pub, 3) == codes(pub, 4) == [Code.SECTION_FILTERED]
        # the same rows in scope: the shared MAC and the bad one are problems
        everything = run(*(replace(r, subnet_id=PROD_V4.id) for r in rows))
        assert Code.DUPLICATE_MAC in codes(everything, 2)
        assert codes(everything, 3) == [Code.MAC_INVALID]


class TestStateFilterKeepsReporting:
    """The state filter is not a scope: a row in scope with a filtered state is still
    checked (docs/publication-rules.md, the note under "Order")."""

    def test_bad_name_on_a_filtered_state_is_still_a_problem(self) -> None:
        pub = run(row(1, "bad_name.example.com", state=3), publish_states=("Used",))
        assert codes(pub, 1) == [Code.HOSTNAME_INVALID]

    def test_name_outside_the_zones_on_a_filtered_state_is_still_a_problem(self) -> None:
        pub = run(row(1, "host.other.org", state=1), publish_states=("Used",))
        assert codes(pub, 1) == [Code.ZONE_NOT_FOUND]


class TestDuplicateHostname:
    def test_lowest_id_wins_whatever_the_input_order(self) -> None:
        pub = run(row(5, "a.example.com", "10.0.0.5"), row(3, "a.example.com", "10.0.0.3"))
        assert records(pub) == {("a.example.com", "10.0.0.3", 3)}
        assert ptrs(pub) == {("10.0.0.3", "a.example.com", 3)}
        loser = only_finding(pub, 5)
        assert loser.code is Code.DUPLICATE_HOSTNAME and loser.is_problem
        assert loser.related_ids == (3,)
        assert "row 3 at 10.0.0.3" in loser.reason and "10.0.0.5" in loser.reason

    def test_same_name_same_ip_collapses(self) -> None:
        pub = run(row(1, "a.example.com"), row(2, "A.example.com."))
        assert records(pub) == {("a.example.com", "10.0.0.1", 1)}
        assert ptrs(pub) == {("10.0.0.1", "a.example.com", 1)}
        assert pub.findings == ()

    def test_dual_stack_is_not_a_duplicate(self) -> None:
        pub = run(row(1, "a.example.com", "10.0.0.1"), row(2, "a.example.com", "2001:db8::1"))
        assert records(pub) == {
            ("a.example.com", "10.0.0.1", 1),
            ("a.example.com", "2001:db8::1", 2),
        }
        assert len(pub.ptrs) == 2
        assert pub.findings == ()

    def test_two_ipv6_addresses_are_duplicates(self) -> None:
        pub = run(
            row(1, "a.example.com", "10.0.0.1"),
            row(2, "a.example.com", "2001:db8::1"),
            row(3, "a.example.com", "2001:db8::2"),
        )
        assert codes(pub, 3) == [Code.DUPLICATE_HOSTNAME]
        assert only_finding(pub, 3).related_ids == (2,)

    def test_publish_all_is_round_robin(self) -> None:
        pub = run(
            row(1, "a.example.com", "10.0.0.1"),
            row(2, "a.example.com", "10.0.0.2"),
            row(3, "a.example.com", "10.0.0.2"),
            duplicate_hostname=DuplicateHostnamePolicy.PUBLISH_ALL,
        )
        assert records(pub) == {
            ("a.example.com", "10.0.0.1", 1),
            ("a.example.com", "10.0.0.2", 2),
        }
        assert ptrs(pub) == {("10.0.0.1", "a.example.com", 1), ("10.0.0.2", "a.example.com", 2)}
        assert pub.findings == ()

    @pytest.mark.parametrize(
        "rejected",
        [
            AddressRow(1, 1, "junk", "a.example.com"),  # IP_INVALID
            AddressRow(1, 1, ip("10.0.0.1"), "a.example.com", state=1),  # filtered
        ],
    )
    def test_rejected_rows_neither_win_nor_block(self, rejected: AddressRow) -> None:
        pub = run(rejected, row(2, "a.example.com", "10.0.0.2"), publish_states=("Used",))
        assert records(pub) == {("a.example.com", "10.0.0.2", 2)}
        assert codes(pub, 2) == []


class TestDuplicateIp:
    def test_all_records_published_ptr_to_lowest_id(self) -> None:
        pub = run(row(3, "a.example.com"), row(2, "b.example.com"), row(1, "c.example.com"))
        assert {r.fqdn for r in pub.records} == {"a.example.com", "b.example.com", "c.example.com"}
        assert ptrs(pub) == {("10.0.0.1", "c.example.com", 1)}
        for loser in (2, 3):
            finding = only_finding(pub, loser)
            assert finding.code is Code.DUPLICATE_IP and finding.is_problem
            assert finding.related_ids == (1,)
            assert "c.example.com by row 1" in finding.reason
        assert codes(pub, 1) == []

    def test_same_name_as_the_holder_is_no_conflict(self) -> None:
        pub = run(row(1, "a.example.com"), row(2, "b.example.com"), row(3, "a.example.com"))
        assert codes(pub, 3) == []
        assert codes(pub, 2) == [Code.DUPLICATE_IP]

    def test_different_families_do_not_conflict(self) -> None:
        value = ip("10.0.0.1")
        pub = run(
            AddressRow(1, PROD_V4.id, value, "a.example.com"),
            AddressRow(2, PROD_V6.id, value, "b.example.com"),
        )
        assert pub.problems == ()

    def test_duplicate_hostname_loser_takes_no_part(self) -> None:
        pub = run(
            row(1, "a.example.com", "10.0.0.1"),
            row(2, "a.example.com", "10.0.0.2"),  # rejected: a.example.com is on .1
            row(3, "b.example.com", "10.0.0.2"),
        )
        assert ptrs(pub) == {
            ("10.0.0.1", "a.example.com", 1),
            ("10.0.0.2", "b.example.com", 3),
        }
        assert codes(pub, 2) == [Code.DUPLICATE_HOSTNAME]
        assert codes(pub, 3) == []

    def test_rejected_row_does_not_block_the_ptr(self) -> None:
        pub = run(row(1, "bad_name.example.com"), row(2, "b.example.com"))
        assert ptrs(pub) == {("10.0.0.1", "b.example.com", 2)}
        assert codes(pub, 2) == []


class TestPtrSuppression:
    def test_ptr_ignore_keeps_the_record_and_drops_the_ptr(self) -> None:
        pub = run(row(1, "a.example.com", ptr_ignore=True))
        assert records(pub) == {("a.example.com", "10.0.0.1", 1)}
        assert pub.ptrs == ()
        finding = only_finding(pub, 1)
        assert finding.code is Code.PTR_IGNORED and not finding.is_problem

    def test_ptr_ignore_row_neither_gets_nor_blocks(self) -> None:
        pub = run(row(1, "a.example.com", ptr_ignore=True), row(2, "b.example.com"))
        assert ptrs(pub) == {("10.0.0.1", "b.example.com", 2)}
        assert {r.fqdn for r in pub.records} == {"a.example.com", "b.example.com"}
        assert codes(pub, 1) == [Code.PTR_IGNORED]
        assert codes(pub, 2) == []
        assert pub.problems == ()

    def test_collapsed_row_without_ptr_ignore_takes_the_ptr(self) -> None:
        pub = run(row(1, "a.example.com", ptr_ignore=True), row(2, "a.example.com"))
        assert records(pub) == {("a.example.com", "10.0.0.1", 1)}
        assert ptrs(pub) == {("10.0.0.1", "a.example.com", 2)}

    def test_subnet_flag_required(self) -> None:
        pub = run(
            row(1, "on.example.com", "10.0.0.1"),  # PROD_V4: DNSrecursive on
            row(2, "off.example.com", "192.168.0.1", subnet_id=LAB_V4.id),
            row(3, "both.example.com", "192.168.0.3", subnet_id=LAB_V4.id, ptr_ignore=True),
            ptr_requires_subnet_flag=True,
        )
        assert len(pub.records) == 3
        assert ptrs(pub) == {("10.0.0.1", "on.example.com", 1)}
        assert codes(pub, 2) == [Code.PTR_SUBNET_FLAG_OFF]
        assert codes(pub, 3) == [Code.PTR_IGNORED, Code.PTR_SUBNET_FLAG_OFF]
        assert pub.problems == ()

    def test_subnet_flag_off_row_does_not_block(self) -> None:
        pub = run(
            row(1, "a.example.com", "192.168.0.1", subnet_id=LAB_V4.id),
            AddressRow(2, FOLDER.id, ip("192.168.0.1"), "b.example.com"),
            ptr_requires_subnet_flag=True,
        )
        assert pub.ptrs == ()  # the folder has no flag either
        pub = run(
            row(1, "a.example.com", "192.168.0.1", subnet_id=LAB_V4.id),
            row(2, "b.example.com", "192.168.0.1", subnet_id=PROD_V4.id),
            ptr_requires_subnet_flag=True,
        )
        assert ptrs(pub) == {("192.168.0.1", "b.example.com", 2)}


class TestMac:
    def test_malformed_mac_reported_whatever_the_hostname(self) -> None:
        pub = run(
            row(1, "a.example.com", mac="zz:zz:zz:zz:zz:zz"),
            row(2, None, "10.0.0.2", mac="12:34"),
            row(3, "bad name", "10.0.0.3", mac="nonsense"),
        )
        assert codes(pub, 1) == [Code.MAC_INVALID]
        assert codes(pub, 2) == [Code.MAC_INVALID, Code.NO_HOSTNAME]
        assert codes(pub, 3) == [Code.HOSTNAME_INVALID, Code.MAC_INVALID]
        assert records(pub) == {("a.example.com", "10.0.0.1", 1)}
        assert "'zz:zz:zz:zz:zz:zz'" in only_finding(pub, 1).reason

    def test_filtered_rows_are_not_checked(self) -> None:
        pub = run(
            row(1, "a.example.com", state=1, mac="garbage"),
            row(2, "b.example.com", "10.0.0.2", state=1, mac="aa:bb:cc:dd:ee:ff"),
            row(3, "c.example.com", "10.0.0.3", state=2, mac="AA-BB-CC-DD-EE-FF"),
            publish_states=("Used",),
        )
        assert codes(pub, 1) == [Code.STATE_FILTERED]
        assert codes(pub, 3) == []

    def test_same_mac_on_different_hosts(self) -> None:
        pub = run(
            row(1, "a.example.com", "10.0.0.1", mac="aa:bb:cc:dd:ee:ff"),
            row(2, "b.example.com", "10.0.0.2", mac="AABB.CCDD.EEFF"),
            row(3, None, "10.0.0.3", mac="aa-bb-cc-dd-ee-ff"),
        )
        assert codes(pub, 1) == []
        second = only_finding(pub, 2)
        assert second.code is Code.DUPLICATE_MAC and second.is_problem
        assert second.related_ids == (1, 3)
        assert "aa:bb:cc:dd:ee:ff" in second.reason and "row 1 ('a.example.com')" in second.reason
        (third,) = [f for f in pub.findings_for(3) if f.code is Code.DUPLICATE_MAC]
        assert third.related_ids == (1, 2)
        assert "this row (no hostname)" in third.reason
        assert len(pub.records) == 2  # MACs never affect DNS

    def test_same_host_may_share_its_mac(self) -> None:
        pub = run(
            row(1, "a.example.com", "10.0.0.1", mac="aa:bb:cc:dd:ee:ff"),
            row(2, "A.example.com.", "2001:db8::1", mac="aa:bb:cc:dd:ee:ff"),
            row(3, "a", "10.0.0.1", mac="aa:bb:cc:dd:ee:ff"),  # qualifies to a.example.com
            default_domain="example.com",
        )
        assert pub.problems == ()

    def test_rows_without_hostname_count_as_one_value(self) -> None:
        pub = run(
            row(1, None, "10.0.0.1", mac="aa:bb:cc:dd:ee:ff"),
            row(2, "  ", "10.0.0.2", mac="aa:bb:cc:dd:ee:ff"),
        )
        assert pub.problems == ()

    def test_only_rows_differing_from_the_lowest_id_are_reported(self) -> None:
        pub = run(
            row(1, "a.example.com", "10.0.0.1", mac="aa:bb:cc:dd:ee:ff"),
            row(2, "b.example.com", "10.0.0.2", mac="aa:bb:cc:dd:ee:ff"),
            row(3, "a.example.com", "2001:db8::1", mac="aa:bb:cc:dd:ee:ff"),
        )
        assert [f.row_id for f in pub.problems] == [2]

    def test_ignore_list(self) -> None:
        pub = run(
            row(1, "a.example.com", "10.0.0.1", mac="00:00:00:00:00:00"),
            row(2, "b.example.com", "10.0.0.2", mac="00-00-00-00-00-00"),
            row(3, "c.example.com", "10.0.0.3", mac="00:00:5E:00:01:01"),
            row(4, "d.example.com", "10.0.0.4", mac="00:00:5e:00:01:01"),
            mac_ignore=("00:00:00:00:00:00", "00-00-5E-00-01-01"),
        )
        assert pub.problems == ()

    def test_scope_section(self) -> None:
        rows = (
            row(1, "a.example.com", "10.0.0.1", mac="aa:bb:cc:dd:ee:ff"),
            row(2, "b.example.com", "192.168.0.2", subnet_id=LAB_V4.id, mac="aa:bb:cc:dd:ee:ff"),
            row(3, "c.example.com", "10.0.0.3", mac="aa:bb:cc:dd:ee:ff"),
        )
        pub = run(*rows, mac_duplicate_scope=MacScope.SECTION)
        assert [(f.row_id, f.related_ids) for f in pub.problems] == [(3, (1,))]
        pub = run(*rows, mac_duplicate_scope=MacScope.GLOBAL)
        assert [f.row_id for f in pub.problems] == [2, 3]

    def test_scope_none_still_reports_malformed(self) -> None:
        pub = run(
            row(1, "a.example.com", "10.0.0.1", mac="aa:bb:cc:dd:ee:ff"),
            row(2, "b.example.com", "10.0.0.2", mac="aa:bb:cc:dd:ee:ff"),
            row(3, "c.example.com", "10.0.0.3", mac="bad"),
            mac_duplicate_scope=MacScope.NONE,
        )
        assert [(f.row_id, f.code) for f in pub.problems] == [(3, Code.MAC_INVALID)]

    def test_huge_group_names_a_bounded_number_of_rows(self) -> None:
        rows = [
            row(i, f"h{i}.example.com", "10.0.0.1", mac="aa:bb:cc:dd:ee:ff") for i in range(1, 301)
        ]
        pub = run(*rows, duplicate_hostname=DuplicateHostnamePolicy.PUBLISH_ALL)
        macs = [f for f in pub.findings if f.code is Code.DUPLICATE_MAC]
        assert len(macs) == 299
        assert all(1 <= len(f.related_ids) <= 50 for f in macs)
        assert "and 296 more" in macs[-1].reason


class TestWholeResult:
    def test_input_order_does_not_matter(self) -> None:
        rows = [
            row(4, "a.example.com", "10.0.0.2"),
            row(1, "a.example.com", "10.0.0.1", mac="aa:bb:cc:dd:ee:ff"),
            row(3, "b.example.com", "10.0.0.1", mac="aa:bb:cc:dd:ee:ff"),
            row(2, None, "10.0.0.5"),
            row(5, "web_x.example.com", "10.0.0.6"),
        ]
        assert run(*rows) == run(*reversed(rows))

    def test_findings_sorted_by_row_then_code(self) -> None:
        pub = run(
            row(2, "b.example.com", "10.0.0.1", mac="bad"),
            row(1, "a.example.com", "10.0.0.1", mac="bad"),
            row(3, None, "10.0.0.3", mac="bad"),
        )
        keys = [(f.row_id, f.code) for f in pub.findings]
        assert keys == sorted(keys)
        assert keys == [
            (1, Code.MAC_INVALID),
            (2, Code.DUPLICATE_IP),
            (2, Code.MAC_INVALID),
            (3, Code.MAC_INVALID),
            (3, Code.NO_HOSTNAME),
        ]

    def test_record_row_id_is_the_lowest_row_behind_it(self) -> None:
        pub = run(row(9, "a.example.com"), row(4, "a.example.com"), row(7, "a.example.com"))
        assert records(pub) == {("a.example.com", "10.0.0.1", 4)}

    def test_hostile_row_gives_findings_not_exceptions(self) -> None:
        hostile = "\x00\n\r\u202e" + "é" * 1000
        pub = run(
            AddressRow(1, None, hostile, hostile, mac=hostile, state=None),
            AddressRow(2, -5, "1" * 200, "a" * 1000, mac="", state=-1),
            AddressRow(3, 1, None, None, mac=None),
        )
        assert pub.records == () and pub.ptrs == ()
        assert all(f.reason.isprintable() and len(f.reason) < 300 for f in pub.findings)

    def test_reusable_validator_gives_the_same_answers(self) -> None:
        policy = Policy(forward_zones=ZONES, default_domain="example.com")
        validator = Validator(policy)
        first = IpamData((row(1, "a"), row(2, "bad_name", "10.0.0.2")), SUBNETS)
        second = IpamData((row(1, "b"), row(2, "bad_name", "10.0.0.2")), SUBNETS)
        assert validator.validate(first) == validate(first, policy)
        assert validator.validate(second) == validate(second, policy)
        assert validator.validate(first) == validate(first, policy)
