"""What `pphook init` reads from phpIPAM (read-only), and the counts it prints."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

import sqlalchemy as sa

from remote_backend.ipam.reader import IpamReader
from validators.address import InvalidAddress, address_value, make_address, subnet_family
from validators.hostname import normalise_hostname
from validators.model import IPAddress, IpamData, ip_addr_text

# The columns of ipaddresses in phpIPAM 1.6-1.8 (docs: phpipam-facts §1.1). Any other
# column is a custom field, as phpIPAM itself decides (names need no custom_ prefix:
# fields made before 1.3.1 have none).
STANDARD_ADDRESS_COLUMNS = frozenset(
    {
        "id",
        "subnetId",
        "ip_addr",
        "is_gateway",
        "description",
        "hostname",
        "mac",
        "owner",
        "state",
        "switch",
        "location",
        "port",
        "note",
        "lastSeen",
        "excludePing",
        "PTRignore",
        "PTR",
        "firewallAddressObject",
        "editDate",
        "customer_id",
    }
)
# pieces of a custom field's name that suggest it holds other names of the host
ALIAS_HINTS = ("alias", "cname", "dns", "altname", "alt_name", "othername", "other_name")


@dataclass(frozen=True, slots=True)
class Survey:
    data: IpamData
    custom_fields: tuple[str, ...]  # custom columns of ipaddresses, in table order


@dataclass(frozen=True, slots=True)
class Count:
    label: str  # a section or tag name as phpIPAM has it; "" for none
    key: int | None  # its id
    rows: int
    named: int = 0  # rows with a hostname


def read_survey(reader: IpamReader) -> Survey:
    """One consistent read of the rows, and the column names of ``ipaddresses``."""
    data = reader.read()
    try:
        columns = sa.inspect(reader.engine).get_columns("ipaddresses")
    except sa.exc.SQLAlchemyError as exc:
        raise reader.fail(exc, "read the columns of ipaddresses in") from exc
    custom = tuple(str(c["name"]) for c in columns if c["name"] not in STANDARD_ADDRESS_COLUMNS)
    return Survey(data, custom)


def alias_fields(custom_fields: tuple[str, ...]) -> tuple[str, ...]:
    """Custom fields whose name suggests aliases (CNAMEs) of the row's host."""
    return tuple(f for f in custom_fields if any(h in f.lower() for h in ALIAS_HINTS))


def addresses(data: IpamData) -> Iterator[IPAddress]:
    """The address of every row that has a valid one (family from its subnet)."""
    columns = data.columns
    family_of: dict[int | None, int | None] = {
        sid: subnet_family(s) for sid, s in data.subnets.items()
    }
    for subnet_id, ip_addr in zip(columns.subnet_ids, columns.ip_addrs, strict=True):
        try:
            family, value = address_value(ip_addr_text(ip_addr), family_of.get(subnet_id))
        except InvalidAddress:
            continue
        yield make_address(family, value)


def section_counts(data: IpamData) -> list[Count]:
    """Rows (and rows with a hostname) per section, most rows first; every section is
    listed, rows in no known section last (label "")."""
    section_of: dict[int | None, int | None] = {
        sid: s.section_id for sid, s in data.subnets.items()
    }
    rows: Counter[int | None] = Counter()
    named: Counter[int | None] = Counter()
    columns = data.columns
    for subnet_id, hostname in zip(columns.subnet_ids, columns.hostnames, strict=True):
        section = section_of.get(subnet_id)
        key = section if section in data.sections else None
        rows[key] += 1
        if normalise_hostname(hostname) is not None:
            named[key] += 1
    counts = [Count(name, sid, rows[sid], named[sid]) for sid, name in data.sections.items()]
    counts.sort(key=lambda c: (-c.rows, c.label))
    if rows[None]:
        counts.append(Count("", None, rows[None], named[None]))
    return counts


def state_counts(data: IpamData) -> list[Count]:
    """Rows per state (phpIPAM tag), most rows first; NULL as label "" and key None,
    ids no tag has with the label "" and their id."""
    rows = Counter(data.columns.states)
    counts = [Count(data.tags.get(s, "") if s is not None else "", s, n) for s, n in rows.items()]
    counts.sort(key=lambda c: (-c.rows, c.key if c.key is not None else -1))
    return counts
