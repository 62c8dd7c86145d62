"""``GroupIndex.build`` (the bulk pass after a full build) indexes every row exactly as
the per-row path of an incremental refresh (``keys`` + ``add``) does: the groups a
change follows are the same whichever way the index was made."""

from __future__ import annotations

from datetime import datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from remote_backend.build.groups import GroupIndex, row_values
from validators.engine import Validator
from validators.model import (
    AddressColumns,
    AddressRow,
    IpamData,
    Policy,
    SubnetRow,
    compact_ip_addrs,
)

SUBNETS = {
    1: SubnetRow(1, str(0x0A000000), "24", 1),
    2: SubnetRow(2, str(0x20010DB8 << 96), "64", 1),
    3: SubnetRow(3, "0", "", 1, is_folder=True),
    5: SubnetRow(5, "167772160", "nomask", 1),
}
IPS = [
    "167772161",
    "167772161",
    "4294967295",
    "4294967296",  # above IPv4: invalid under an IPv4 subnet, IPv6 elsewhere
    str(0x20010DB8 << 96 | 7),
    str((1 << 128) - 1),
    str(1 << 128),  # above IPv6
    "0167772161",  # leading zero: kept as text by the reader
    "bogus",
    "",
    None,
]
rows = st.lists(
    st.builds(
        AddressRow,
        id=st.just(0),
        subnet_id=st.sampled_from([1, 2, 3, 5, None, 99]),
        ip_addr=st.sampled_from(IPS),
        hostname=st.sampled_from(["a.example.com", "A.example.com", "b", "bad_", None, ""]),
        mac=st.sampled_from([None, "", " ", "AA-BB-CC-DD-EE-01", "aa:bb:cc:dd:ee:01", "zz"]),
        state=st.just(2),
        ptr_ignore=st.just(False),
        edit_date=st.just(datetime(2026, 1, 1)),
    ),
    max_size=30,
)


@settings(max_examples=200, deadline=None)
@given(rows, st.sampled_from(["www, alias2", "a.example.com", "", "x y\nz"]))
def test_bulk_index_equals_the_per_row_index(generated: list[AddressRow], alias: str) -> None:
    numbered = [
        AddressRow(i, r.subnet_id, r.ip_addr, r.hostname, r.mac, r.state, r.ptr_ignore, r.edit_date)
        for i, r in enumerate(generated, 1)
    ]
    aliases = {r.id: alias for r in numbered if r.id % 3 == 0 and alias}
    columns = AddressColumns.from_rows(numbered)
    columns.ip_addrs = compact_ip_addrs(columns.ip_addrs)  # type: ignore[arg-type]  # as the reader keeps them
    data = IpamData.from_columns(columns, SUBNETS, {1: "Main"}, {2: "Used"}, aliases)
    validator = Validator(Policy(forward_zones=("example.com",), default_domain="example.com"))
    bulk = GroupIndex.build(data, validator)
    one_by_one = GroupIndex(validator, data.subnets)
    for row_id in data.columns.ids:
        values = row_values(data, row_id)
        assert values is not None
        one_by_one.add(row_id, one_by_one.keys(*values))
    for table in ("by_fqdn", "by_ip", "by_mac", "by_alias"):
        assert getattr(bulk, table) == getattr(one_by_one, table), table
