"""Which rows decide each other: the groups a changed row touches.

A row's verdict depends on its own fields and on the rows it is compared with: those
with the same FQDN (duplicate hostnames), the same address (who holds the PTR), the
same MAC (duplicate MACs). So does every record it contributes to. ``GroupIndex``
keeps those groups; ``dns_component`` follows them from the rows that changed to every
row whose verdict or records may have moved (a name's rows, their addresses' rows,
those rows' names, and so on), usually a handful. Validating just those rows gives
exactly their verdicts in a full pass (docs/architecture.md, "Incremental refresh"),
which is what makes a change cost what the change touches, not what phpIPAM holds.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import NamedTuple

from remote_backend.build.group_table import GroupTable
from validators.address import InvalidAddress, address_value, subnet_family
from validators.aliases import alias_names
from validators.engine import Validator
from validators.mac import normalise_mac
from validators.model import AddressColumns, IpamData, SubnetRow, ip_addr_text

V6 = 1 << 128  # added to an IPv6 address value: one key space for both families


class RowKeys(NamedTuple):
    """The group keys of one row (None: the row is in no group of that kind)."""

    fqdn: str | None
    ip: int | None  # address value, plus V6 for IPv6
    mac: str | None  # normalised MAC
    aliases: tuple[str, ...] = ()  # the names its alias field asks for


def ip_key(ip_addr: str | int | None, parent: SubnetRow | None) -> int | None:
    """The address key of a row, the family decided as the validators decide it."""
    try:
        family, value = address_value(ip_addr_text(ip_addr), subnet_family(parent))
    except InvalidAddress:
        return None
    return value if family == 4 else value | V6


class GroupIndex:
    """Row ids by FQDN, by address and by MAC, kept in step with the rows held
    (``GroupTable``: matched by hash, a lookup may return more rows, never fewer)."""

    __slots__ = ("by_alias", "by_fqdn", "by_ip", "by_mac", "subnets", "validator")

    def __init__(self, validator: Validator, subnets: Mapping[int, SubnetRow]) -> None:
        self.validator = validator
        self.subnets = subnets
        self.by_fqdn = GroupTable()
        self.by_ip = GroupTable()
        self.by_mac = GroupTable()
        self.by_alias = GroupTable()

    @classmethod
    def build(cls, data: IpamData, validator: Validator) -> GroupIndex:
        """The index of every row of ``data`` (after a full build: a million rows)."""
        index = cls(validator, data.subnets)
        columns = data.columns
        fqdn = validator.fqdn
        aliases = data.aliases
        zones = validator.zones
        subnets = data.subnets
        family_of = {sid: subnet_family(s) for sid, s in subnets.items()}.get
        by_fqdn: list[tuple[str, int]] = []
        by_ip: list[tuple[int, int]] = []
        by_mac: list[tuple[str, int]] = []
        by_alias: list[tuple[str, int]] = []
        for row_id, subnet_id, ip, hostname, mac in zip(
            columns.ids,
            columns.subnet_ids,
            columns.ip_addrs,
            columns.hostnames,
            columns.macs,
            strict=True,
        ):
            name = fqdn(hostname)
            # ip_key, the common case inline: an int (what the reader makes of short
            # digit strings) under an IPv4 subnet, or a v6 one
            family = family_of(subnet_id) if subnet_id is not None else None
            if ip.__class__ is int and family is not None:
                if family == 4:
                    key: int | None = ip if ip <= 0xFFFFFFFF else None
                else:
                    key = ip | V6 if ip < V6 else None
            else:
                parent = subnets.get(subnet_id) if subnet_id is not None else None
                key = ip_key(ip, parent)
            normal = normalise_mac(mac) if mac is not None else None
            if name is not None:
                by_fqdn.append((name, row_id))
            if key is not None:
                by_ip.append((key, row_id))
            if normal is not None:
                by_mac.append((normal, row_id))
            text = aliases.get(row_id) if aliases else None
            if text:
                by_alias += [(alias, row_id) for alias in alias_names(text, name, zones)]
        index.by_fqdn = GroupTable(by_fqdn)
        del by_fqdn
        index.by_ip = GroupTable(by_ip)
        del by_ip
        index.by_mac = GroupTable(by_mac)
        index.by_alias = GroupTable(by_alias)
        return index

    def keys(
        self,
        subnet_id: int | None,
        ip: str | int | None,
        hostname: str | None,
        mac: str | None,
        alias_text: str | None = None,
    ) -> RowKeys:
        parent = self.subnets.get(subnet_id) if subnet_id is not None else None
        name = self.validator.fqdn(hostname)
        return RowKeys(
            name,
            ip_key(ip, parent),
            normalise_mac(mac),
            alias_names(alias_text, name, self.validator.zones) if alias_text else (),
        )

    def add(self, row_id: int, keys: RowKeys) -> None:
        if keys.fqdn is not None:
            self.by_fqdn.insert(keys.fqdn, row_id)
        if keys.ip is not None:
            self.by_ip.insert(keys.ip, row_id)
        if keys.mac is not None:
            self.by_mac.insert(keys.mac, row_id)
        for alias in keys.aliases:
            self.by_alias.insert(alias, row_id)

    def remove(self, row_id: int, keys: RowKeys) -> None:
        if keys.fqdn is not None:
            self.by_fqdn.delete(keys.fqdn, row_id)
        if keys.ip is not None:
            self.by_ip.delete(keys.ip, row_id)
        if keys.mac is not None:
            self.by_mac.delete(keys.mac, row_id)
        for alias in keys.aliases:
            self.by_alias.delete(alias, row_id)

    def dns_component(
        self,
        fqdns: Iterable[str],
        ips: Iterable[int],
        keys_of: Callable[[int], RowKeys],
    ) -> tuple[set[int], set[str], set[int]]:
        """Every row linked to these names and addresses through shared names (host
        names and aliases) and addresses, and every name and address met on the way:
        (row ids, names, IP keys). ``keys_of`` gives a held row's keys."""
        rows: set[int] = set()
        seen_fqdns: set[str] = set()
        seen_ips: set[int] = set()
        todo_fqdns = [f for f in fqdns if f is not None]
        todo_ips = [i for i in ips if i is not None]
        while todo_fqdns or todo_ips:
            new_rows: list[int] = []
            for name in todo_fqdns:  # a host's name, or an alias's: both compete
                if name not in seen_fqdns:
                    seen_fqdns.add(name)
                    new_rows += self.by_fqdn.get(name)
                    new_rows += self.by_alias.get(name)
            for key in todo_ips:
                if key not in seen_ips:
                    seen_ips.add(key)
                    new_rows += self.by_ip.get(key)
            todo_fqdns, todo_ips = [], []
            for row_id in new_rows:
                if row_id in rows:
                    continue
                rows.add(row_id)
                keys = keys_of(row_id)
                if keys.fqdn is not None and keys.fqdn not in seen_fqdns:
                    todo_fqdns.append(keys.fqdn)
                todo_fqdns += [a for a in keys.aliases if a not in seen_fqdns]
                if keys.ip is not None and keys.ip not in seen_ips:
                    todo_ips.append(keys.ip)
        return rows, seen_fqdns, seen_ips

    def mac_groups(self, macs: Iterable[str | None]) -> set[int]:
        """Every row sharing one of these MACs."""
        rows: set[int] = set()
        for mac in macs:
            if mac is not None:
                rows.update(self.by_mac.get(mac))
        return rows


def subset(data: IpamData, ids: Iterable[int]) -> IpamData:
    """``data`` restricted to the rows with these ids (the small tables as they are)."""
    columns = data.columns
    held = columns.ids
    positions = sorted(p for p in (_position(held, i) for i in set(ids)) if p is not None)
    names = AddressColumns.__slots__
    picked = [[getattr(columns, n)[p] for p in positions] for n in _COLUMN_ORDER]
    assert set(names) == set(_COLUMN_ORDER)
    picked_ids = set(picked[0])
    aliases = {i: t for i, t in data.aliases.items() if i in picked_ids} if data.aliases else {}
    return IpamData.from_columns(
        AddressColumns(*picked), data.subnets, data.sections, data.tags, aliases
    )


_COLUMN_ORDER = (
    "ids",
    "subnet_ids",
    "ip_addrs",
    "hostnames",
    "macs",
    "states",
    "ptr_ignores",
    "edit_dates",
)


def _position(ids: Sequence[int], row_id: int) -> int | None:
    pos = bisect_left(ids, row_id)
    return pos if pos < len(ids) and ids[pos] == row_id else None


def row_values(
    data: IpamData, row_id: int
) -> tuple[int | None, str | int | None, str | None, str | None, str | None] | None:
    """(subnet id, ip_addr, hostname, mac, alias field) of a held row, or None."""
    columns = data.columns
    pos = _position(columns.ids, row_id)
    if pos is None:
        return None
    return (
        columns.subnet_ids[pos],
        columns.ip_addrs[pos],
        columns.hostnames[pos],
        columns.macs[pos],
        data.aliases.get(row_id) if data.aliases else None,
    )
