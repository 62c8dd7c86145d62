"""`pphook init`'s proposals, without a database: forward zones from hostnames, reverse
zones from subnets, and TOML quoting of any phpIPAM text."""

from __future__ import annotations

import ipaddress
import tomllib

from hypothesis import given, settings
from hypothesis import strategies as st

from remote_backend.survey.forward import plan_forward
from remote_backend.survey.reverse import plan_reverse
from remote_backend.survey.tomltext import toml_string
from remote_backend.zones import IPNetwork


def names(**counts: int) -> list[str]:
    """``names(**{"a.example.com": 3})`` -> the name three times."""
    return [name for name, n in counts.items() for _ in range(n)]


def nets(*texts: str) -> list[IPNetwork]:
    return [ipaddress.ip_network(t) for t in texts]


def zones_of(*texts: str) -> list[str]:
    return [str(z.network) for z in plan_reverse(nets(*texts), []).zones]


# -- forward -----------------------------------------------------------------------


def test_forward_zones_most_rows_first_with_subdomains_folded_in() -> None:
    plan = plan_forward(
        [
            *[f"h{i}.example.com" for i in range(5)],
            *[f"d{i}.Dept.Example.COM." for i in range(4)],  # normalised like the validators
            *[f"s{i}.cust1.local" for i in range(6)],
            None,
            "  ",
        ]
    )
    assert [(z.name, z.rows) for z in plan.zones] == [("example.com", 9), ("cust1.local", 6)]
    assert plan.zones[0].covers == (("dept.example.com", 4),)
    assert plan.named_rows == 15


def test_a_host_at_a_used_domain_counts_for_its_apex_not_for_the_tld() -> None:
    plan = plan_forward(["example.com", "www.example.com", "mail.example.com"])
    assert [(z.name, z.rows, z.active) for z in plan.zones] == [("example.com", 3, True)]


def test_small_domains_and_top_level_names_are_only_candidates() -> None:
    plan = plan_forward(
        [*[f"h{i}.example.com" for i in range(10)], "typo.exmaple.com", "printer.lan"]
    )
    by_name = {z.name: z for z in plan.zones}
    assert by_name["example.com"].active
    assert not by_name["exmaple.com"].active
    assert not by_name["lan"].active and by_name["lan"].top_level


def test_a_top_level_name_never_swallows_other_zones() -> None:
    plan = plan_forward([*names(**{"a.b.lan": 5}), "x.lan", "example.com"])
    assert {z.name for z in plan.zones} == {"b.lan", "lan", "com"}
    assert next(z for z in plan.zones if z.name == "b.lan").active


def test_short_names_underscores_and_bad_domains_are_counted() -> None:
    plan = plan_forward(["printer7", "web_1.example.com", "a.b..c", "x.example.com"])
    assert (plan.short_names, plan.underscores, plan.no_domain) == (1, 1, 1)


def test_siblings_under_an_unused_parent_get_a_hint() -> None:
    plan = plan_forward(names(**{"a.site1.corp.example.com": 5, "b.site2.corp.example.com": 5}))
    assert plan.merge_hints == (
        ("corp.example.com", ("site1.corp.example.com", "site2.corp.example.com")),
    )


def test_a_tiny_database_still_gets_its_biggest_zone() -> None:
    plan = plan_forward(["a.example.com"])
    assert [z.name for z in plan.active] == ["example.com"]


# -- reverse -----------------------------------------------------------------------


def test_ipv4_subnets_get_octet_aligned_zones_without_claiming_much_more() -> None:
    assert zones_of("10.1.2.0/24") == ["10.1.2.0/24"]
    assert zones_of("10.1.4.0/22") == ["10.1.4.0/24", "10.1.5.0/24", "10.1.6.0/24", "10.1.7.0/24"]
    assert zones_of("10.32.0.0/19") == ["10.32.0.0/16"]  # 32 /24s: one /16
    assert zones_of("10.0.0.0/8", "10.1.2.0/24") == ["10.0.0.0/8"]  # inside: dropped
    assert zones_of("10.9.0.0/26", "10.9.0.64/26") == ["10.9.0.0/24"]  # private: its /24


def test_many_24s_under_one_16_become_the_16() -> None:
    many = [f"10.7.{i}.0/24" for i in range(17)]
    assert zones_of(*many) == ["10.7.0.0/16"]
    assert len(zones_of(*many[:16])) == 16


def test_small_public_subnets_become_classless_blocks_unless_covered() -> None:
    plan = plan_reverse(nets("81.2.69.128/26", "81.2.69.128/28"), [])
    assert [(str(z.network), z.classless) for z in plan.zones] == [("81.2.69.128/26", True)]
    assert zones_of("81.2.69.128/26", "81.2.69.0/24") == ["81.2.69.0/24"]


def test_ipv6_zones_are_nibble_aligned_one_per_site() -> None:
    assert zones_of("2001:db8:1:1::/64") == ["2001:db8:1:1::/64"]
    assert zones_of("2001:db8:1:1::/64", "2001:db8:1:2::/64") == ["2001:db8:1::/48"]
    assert zones_of("2001:db8:1:4::/62") == ["2001:db8:1::/60"]


def test_containers_too_wide_to_serve_are_left_out_and_counts_are_per_zone() -> None:
    addresses = [ipaddress.ip_address(a) for a in ("10.1.2.3", "10.1.2.4", "8.8.8.8")]
    plan = plan_reverse(nets("0.0.0.0/0", "10.1.2.0/24", "10.1.2.0/25"), addresses)
    assert [str(n) for n in plan.too_wide] == ["0.0.0.0/0"]
    (zone,) = plan.zones
    assert (zone.subnets, zone.addresses, plan.uncovered_addresses) == (2, 2, 1)


ipv4_subnets = st.builds(
    lambda value, prefix: ipaddress.IPv4Network((value, prefix), strict=False),
    st.integers(0, 2**32 - 1),
    st.integers(0, 32),
)
ipv6_subnets = st.builds(
    lambda value, prefix: ipaddress.IPv6Network((value, prefix), strict=False),
    st.integers(0, 2**128 - 1) | st.integers(0x20010DB8 << 96, (0x20010DB8 << 96) + 2**80),
    st.integers(0, 128),
)


@settings(max_examples=300)
@given(st.lists(ipv4_subnets | ipv6_subnets, max_size=25))
def test_zones_are_aligned_disjoint_and_cover_every_servable_subnet(
    subnets: list[IPNetwork],
) -> None:
    plan = plan_reverse(subnets, [])
    zones = [z.network for z in plan.zones]
    for z in plan.zones:
        if z.network.version == 4:
            assert z.network.prefixlen in (8, 16, 24) or (z.classless and z.network.is_global)
        else:
            assert z.network.prefixlen % 4 == 0
    for i, a in enumerate(zones):
        assert not any(a.version == b.version and a.overlaps(b) for b in zones[i + 1 :])  # type: ignore[arg-type]
    for net in subnets:
        if net not in plan.too_wide:
            for edge in (net.network_address, net.broadcast_address):
                assert any(edge in z for z in zones), (net, zones)


@given(st.text())
def test_any_phpipam_text_round_trips_through_toml_and_stays_in_its_comment(text: str) -> None:
    quoted = toml_string(text)
    parsed = tomllib.loads(f"x = {quoted}   # {quoted}\ny = 1\n")
    expected = "".join("\ufffd" if 0xD800 <= ord(c) <= 0xDFFF else c for c in text)
    assert parsed == {"x": expected, "y": 1}
