"""``ip_addr`` to an address, family from the parent subnet (docs/publication-rules.md)."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv6Address

import pytest

from validators import InvalidAddress, SubnetRow, parse_address, subnet_family

V4_NET = SubnetRow(1, str(int(IPv4Address("10.0.0.0"))), "24", section_id=1)
V6_NET = SubnetRow(2, str(int(IPv6Address("2001:db8::"))), "64", section_id=1)
FOLDER = SubnetRow(3, "0", "", section_id=1, is_folder=True)
TEN_0_0_1 = str(int(IPv4Address("10.0.0.1")))  # '167772161'


def test_ipv4_in_ipv4_subnet() -> None:
    assert parse_address(TEN_0_0_1, V4_NET) == IPv4Address("10.0.0.1")


def test_leading_zeros_are_allowed_and_the_value_counts() -> None:
    assert parse_address("000" + TEN_0_0_1, V4_NET) == IPv4Address("10.0.0.1")
    assert parse_address("0" * 5000 + "1", None) == IPv4Address("0.0.0.1")


def test_small_value_in_ipv6_subnet_is_ipv6_not_ipv4() -> None:
    address = parse_address(TEN_0_0_1, V6_NET)
    assert address == IPv6Address("::a00:1")
    assert address != parse_address(TEN_0_0_1, V4_NET)


@pytest.mark.parametrize(
    ("subnet", "mask", "family"),
    [
        (str(int(IPv4Address("10.0.0.0"))), "32", 4),
        (str(int(IPv4Address("10.0.0.0"))), "33", 6),  # mask above 32
        ("0", "0", 4),
        (str(2**32), "24", 6),  # network value above 2^32-1 wins over a small mask
        ("garbage", "24", 4),  # an unreadable network value does not make it IPv6
    ],
)
def test_family_from_parent(subnet: str, mask: str, family: int) -> None:
    assert subnet_family(SubnetRow(9, subnet, mask, section_id=1)) == family


@pytest.mark.parametrize(
    "parent",
    [
        None,
        FOLDER,
        SubnetRow(9, str(int(IPv6Address("2001:db8::"))), None, section_id=1),
        SubnetRow(9, str(int(IPv6Address("2001:db8::"))), "", section_id=1),
        SubnetRow(9, str(int(IPv6Address("2001:db8::"))), "/64", section_id=1),
        SubnetRow(9, "0", "64", section_id=1, is_folder=True),
    ],
)
def test_family_by_value_without_usable_parent(parent: SubnetRow | None) -> None:
    assert subnet_family(parent) is None
    assert parse_address(str(2**32 - 1), parent) == IPv4Address("255.255.255.255")
    assert parse_address(str(2**32), parent) == IPv6Address("::1:0:0")


@pytest.mark.parametrize(
    ("ip_addr", "parent", "reason"),
    [
        (None, V4_NET, "ip_addr is NULL"),
        ("", V4_NET, "ip_addr is empty"),
        ("1e5", V4_NET, "ip_addr '1e5' is not a decimal integer (ASCII digits 0-9 only)"),
        (" 12", V4_NET, "ip_addr ' 12' is not a decimal integer (ASCII digits 0-9 only)"),
        ("-1", V4_NET, "ip_addr '-1' is not a decimal integer (ASCII digits 0-9 only)"),
        ("+1", V4_NET, "ip_addr '+1' is not a decimal integer (ASCII digits 0-9 only)"),
        ("1_0", V4_NET, "ip_addr '1_0' is not a decimal integer (ASCII digits 0-9 only)"),
        ("0x10", V4_NET, "ip_addr '0x10' is not a decimal integer (ASCII digits 0-9 only)"),
        ("١٢", V4_NET, "ip_addr '١٢' is not a decimal integer (ASCII digits 0-9 only)"),
        ("²", V4_NET, "ip_addr '²' is not a decimal integer (ASCII digits 0-9 only)"),
        ("10.0.0.1", V4_NET, "ip_addr '10.0.0.1' is not a decimal integer (ASCII digits 0-9 only)"),
        (
            str(2**32),
            V4_NET,
            "ip_addr 4294967296 is above the IPv4 maximum 4294967295, "
            "and its parent subnet is IPv4",
        ),
        (
            str(2**128),
            V6_NET,
            "ip_addr 340282366920938463463374607431768211456 is above the IPv6 maximum (2^128-1)",
        ),
        (
            str(2**128),
            None,
            "ip_addr 340282366920938463463374607431768211456 is above the IPv6 maximum (2^128-1)",
        ),
    ],
)
def test_invalid_values_are_refused_with_a_reason(
    ip_addr: str | None, parent: SubnetRow | None, reason: str
) -> None:
    with pytest.raises(InvalidAddress) as refused:
        parse_address(ip_addr, parent)
    assert str(refused.value) == reason


def test_huge_digit_string_is_refused_briefly() -> None:
    # int() itself refuses over 4300 digits; the reason must still be short and clear.
    with pytest.raises(InvalidAddress) as refused:
        parse_address("9" * 5000, None)
    assert "above the IPv6 maximum" in str(refused.value)
    assert "(5000 digits)" in str(refused.value)
    assert len(str(refused.value)) < 120


def test_control_characters_are_not_echoed() -> None:
    with pytest.raises(InvalidAddress) as refused:
        parse_address("12\n34", V4_NET)
    assert str(refused.value).isprintable()
