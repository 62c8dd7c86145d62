"""The shortcuts taken for speed give exactly what the general code gives.

``validate`` works on columns, with the usual cases handled in bulk or inline; each
shortcut is compared here with the plain path it stands for, on hostile input too.
"""

from __future__ import annotations

import random
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

import validators.duplicates as duplicates
from validators import AddressRow, IpamData, Policy, SubnetRow, validate
from validators.fqdn import SAME, FqdnResolver
from validators.model import (
    AddressColumns,
    AddressRecords,
    MacScope,
    PtrRecords,
    RecordColumns,
    compact_ip_addr,
    ip_addr_text,
)

PIECES = st.sampled_from([*"abcXYZ019-_. :\t\u00e9\x00\x1f", "example.com", ".example.com"])
TEXT = st.lists(PIECES, max_size=12).map("".join)


@given(st.one_of(st.none(), TEXT, st.integers(0, 2**130).map(str)))
def test_compact_ip_addr_gives_the_text_back(text: str | None) -> None:
    compact = compact_ip_addr(text)
    assert ip_addr_text(compact) == text
    if isinstance(compact, int):
        assert str(compact) == text


@settings(max_examples=300)
@given(st.one_of(st.none(), TEXT))
def test_resolver_shortcut_equals_the_rules(raw: str | None) -> None:
    for policy in (
        Policy(forward_zones=("example.com", "b.example.com"), default_domain="example.com"),
        Policy(forward_zones=("example.com",), allow_underscore=True),
    ):
        resolver = FqdnResolver(policy)
        answer = resolver.resolve(raw)
        slow = FqdnResolver(policy)
        slow._plain = _NeverMatches()  # type: ignore[assignment]  # the shortcut off
        assert slow.resolve(raw) == answer
        if resolver.cache[raw] is SAME:
            assert answer == raw


class _NeverMatches:
    def fullmatch(self, _: str) -> None:
        return None


def _mac(rng: random.Random) -> str:
    pick = rng.random()
    if pick < 0.05:
        return rng.choice(["", " ", "zz:00:00:00:00:01", "00:00:00:00:00:00", "\x1f", "é"])
    value = rng.choice([1, 2, 3, 0xAABBCCDDEEFF, rng.getrandbits(48)])
    text = f"{value:012x}"
    style = rng.random()
    if style < 0.5:
        return ":".join(text[i : i + 2] for i in range(0, 12, 2))
    if style < 0.7:
        return "-".join(text[i : i + 2] for i in range(0, 12, 2)).upper()
    if style < 0.85:
        return ".".join(text[i : i + 4] for i in range(0, 12, 4))
    return text


def test_mac_check_in_bulk_equals_row_by_row() -> None:
    rng = random.Random(11)
    for trial in range(60):
        rows = [
            (i, rng.choice([1, 2, None]), rng.choice(["a.example.com", "b", None]), _mac(rng))
            for i in range(rng.randrange(0, 80))
        ]
        if trial % 2:  # every MAC valid: the bulk path
            rows = [
                r for r in rows if duplicates.is_valid_mac(duplicates.normalise_mac(r[3]) or "")
            ]
        for scope in MacScope:
            args: dict[str, Any] = {
                "scope": scope,
                "ignore": ("00:00:00:00:00:00", "ff:ff:ff:ff:ff:ff"),
                "host_key": lambda h: h or "",
                "section_of": lambda s: None if s is None else s % 2,
            }
            bulk = duplicates.find_mac_problems(rows, **args)
            plain = duplicates.normalise_valid_macs
            try:
                duplicates.normalise_valid_macs = lambda raws: None
                rowwise = duplicates.find_mac_problems(rows, **args)
            finally:
                duplicates.normalise_valid_macs = plain
            assert sorted(bulk, key=_key) == sorted(rowwise, key=_key)


def _key(f: Any) -> tuple[int, str]:
    return (f.row_id, f.code.value)


def test_columns_with_compact_addresses_validate_like_rows() -> None:
    subnets = {
        1: SubnetRow(1, "167772160", "24", 1),
        2: SubnetRow(2, str(0x20010DB8 << 96), "64", 1),
    }
    rows = [
        AddressRow(1, 1, "167772161", "a.example.com"),
        AddressRow(2, 1, "0167772162", "b.example.com"),  # leading zero: stays text
        AddressRow(3, 2, "5", "c.example.com"),  # an IPv6 value below 2^32
        AddressRow(4, None, "99999999999999999999999999999999999999999", "d.example.com"),
        AddressRow(5, 1, "167772161", "a.example.com"),
    ]
    policy = Policy(forward_zones=("example.com",))
    by_rows = validate(IpamData(tuple(rows)), policy)
    columns = AddressColumns.from_rows(rows)
    compact = AddressColumns(
        columns.ids,
        columns.subnet_ids,
        [compact_ip_addr(t) for t in columns.ip_addrs],  # type: ignore[arg-type]
        columns.hostnames,
        columns.macs,
        columns.states,
        columns.ptr_ignores,
        columns.edit_dates,
    )
    data = IpamData.from_columns(compact, subnets, {}, {})
    by_columns = validate(data, policy)
    assert validate(IpamData(tuple(rows), subnets), policy) == by_columns
    assert by_rows != by_columns  # the subnets make a difference, as they should
    assert [r.ip_addr for r in data.addresses] == [r.ip_addr for r in rows]


def test_record_views_compare_like_tuples() -> None:
    pub = validate(
        IpamData((AddressRow(1, None, "167772161", "a.example.com"),)),
        Policy(forward_zones=("example.com",)),
    )
    assert isinstance(pub.records, AddressRecords) and isinstance(pub.ptrs, PtrRecords)
    assert pub.records == tuple(pub.records) and tuple(pub.ptrs) == pub.ptrs
    assert pub.records[0].fqdn == "a.example.com" and pub.records[-1] == pub.records[0]
    assert pub.records[:1] == tuple(pub.records)
    assert hash(pub.records) == hash(tuple(pub.records))
    assert RecordColumns.from_records(pub.records) == pub.records.columns
