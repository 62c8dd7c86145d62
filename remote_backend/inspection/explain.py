"""`pphook explain NAME-or-IP`: every phpIPAM row behind a name or address, and why."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime

from remote_backend.build.builder import Build
from remote_backend.ipam.people import ChangeInfo
from remote_backend.records import record_type
from remote_backend.zones import reverse_name
from validators import InvalidAddress, normalise_hostname, parse_address
from validators.address import subnet_network
from validators.fqdn import comparison_name
from validators.model import AddressRow, IPAddress, Policy, PtrRecord, SubnetRow


def _shown(text: str) -> str:
    """The operator's own argument, safe for a terminal: control characters (escape
    sequences), and other unprintable ones such as bidi overrides, are written as
    Python escapes; everything else is left as typed."""
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in text)


def row_name(row: AddressRow, policy: Policy) -> str | None:
    """The name a row asks for (normalised, a short name qualified), valid or not."""
    return comparison_name(row.hostname, policy.default_domain)


def _target(query: str) -> tuple[str | None, IPAddress | None]:
    text = query.strip()
    try:
        return None, ipaddress.ip_address(text)
    except ValueError:
        pass
    if text.endswith((".in-addr.arpa", ".ip6.arpa", ".in-addr.arpa.", ".ip6.arpa.")):
        address = address_of_reverse(text.lower().rstrip("."))
        if address is not None:
            return None, address
    return normalise_hostname(text), None


def address_of_reverse(name: str) -> IPAddress | None:
    """The address whose PTR owner is ``name`` (lowercase, no trailing dot), or None
    when it is no full reverse name."""
    if not name.endswith((".in-addr.arpa", ".ip6.arpa")):
        return None
    try:
        if name.endswith(".in-addr.arpa"):
            octets = name[: -len(".in-addr.arpa")].split(".")
            return ipaddress.IPv4Address(".".join(reversed(octets)))
        nibbles = name[: -len(".ip6.arpa")].split(".")
        if len(nibbles) != 32 or any(len(n) != 1 for n in nibbles):
            return None
        return ipaddress.IPv6Address(int("".join(reversed(nibbles)), 16))
    except ValueError:
        return None


def explain(
    build: Build,
    query: str,
    changes: dict[int, ChangeInfo] | None = None,
    zone_changed_at: dict[str, float] | None = None,
) -> tuple[str, list[AddressRow]]:
    """The report text and the rows it is about (so callers can fetch their changelog)."""
    data, snapshot = build.data, build.snapshot
    policy = build.policy
    name, address = _target(query)
    if name is None and address is None:
        return f"{query!r}: not a host name or an IP address", []

    subnets = data.subnets
    rows: list[AddressRow] = []
    for row in data.addresses:
        if address is not None:
            parsed = row_address(row, subnets)
            if parsed == address:
                rows.append(row)
        elif row_name(row, policy) == name:
            rows.append(row)

    out: list[str] = []
    owners = [name] if name else []
    if address is not None:
        owners = [reverse_name(address)]
    out.append(f"Query: {_shown(query)}")
    for owner in owners:
        zone = snapshot.zone_of(owner)
        if zone is None:
            out.append(f"  {_shown(owner)}: in no served zone (pdns answers REFUSED)")
            continue
        changed = (zone_changed_at or {}).get(zone.name)
        when = f", content last changed {_ts(changed)}" if changed else ""
        out.append(f"  zone {zone.name}: serial {zone.serial}{when}")
        rrs = snapshot.rrs(owner)
        if rrs:
            out.append("  DNS answers:")
            out.extend(
                "    " + record_type(qt).zone_line(owner, snapshot.ttl, content)
                for qt, content in rrs
            )
        elif owner in snapshot.ents:
            out.append("  DNS answers: NOERROR with no data (empty non-terminal)")
        else:
            out.append("  DNS answers: NXDOMAIN")
    if not rows:
        out.append("No phpIPAM address row matches.")
    else:
        out.append(f"phpIPAM rows ({len(rows)}):")
        describer = RowDescriber(build, changes)
        for row in rows:
            out.extend(describer.lines(row))
    return "\n".join(out) + "\n", rows


class RowIndex:
    """The rows of a build by the name they ask for and by their address: what
    `explain` matches a query on, for callers that look up many names (`compare`)."""

    def __init__(self, build: Build) -> None:
        self.by_name: dict[str, list[AddressRow]] = {}
        self.by_address: dict[IPAddress, list[AddressRow]] = {}
        subnets, policy = build.data.subnets, build.policy
        for row in build.data.addresses:
            name = row_name(row, policy)
            if name is not None:
                self.by_name.setdefault(name, []).append(row)
            address = row_address(row, subnets)
            if address is not None:
                self.by_address.setdefault(address, []).append(row)

    def rows(
        self, names: Iterable[str] = (), addresses: Iterable[IPAddress] = ()
    ) -> list[AddressRow]:
        """The rows with any of these names or addresses, by id, each once."""
        found: dict[int, AddressRow] = {}
        for name in names:
            found.update((r.id, r) for r in self.by_name.get(name, ()))
        for address in addresses:
            found.update((r.id, r) for r in self.by_address.get(address, ()))
        return [found[i] for i in sorted(found)]


class RowDescriber:
    """What `explain` says about a phpIPAM row: the row, what it publishes, every
    finding with its reason, its last change."""

    def __init__(self, build: Build, changes: Mapping[int, ChangeInfo] | None = None) -> None:
        self.build = build
        self.changes = changes or {}
        self.published = {(r.fqdn, r.address) for r in build.publication.records}
        self.ptr_owner = {p.address: p for p in build.publication.ptrs}

    def lines(self, row: AddressRow) -> list[str]:
        return list(
            _describe_row(
                self.build, row, self.published, self.ptr_owner, self.build.policy, self.changes
            )
        )


def row_address(row: AddressRow, subnets: Mapping[int, SubnetRow]) -> IPAddress | None:
    """The address a row holds (family from its subnet), None when it is invalid."""
    parent = subnets.get(row.subnet_id) if row.subnet_id is not None else None
    try:
        return parse_address(row.ip_addr, parent)
    except InvalidAddress:
        return None


def _ts(value: float | datetime | None) -> str:
    if value is None:
        return "unknown"
    if isinstance(value, datetime):
        return value.isoformat(sep=" ", timespec="seconds")
    return datetime.fromtimestamp(value, UTC).isoformat(sep=" ", timespec="seconds")


def _describe_row(
    build: Build,
    row: AddressRow,
    published: set[tuple[str, IPAddress]],
    ptr_owner: dict[IPAddress, PtrRecord],
    policy: Policy,
    changes: Mapping[int, ChangeInfo],
) -> Iterable[str]:
    data = build.data
    subnet = data.subnets.get(row.subnet_id) if row.subnet_id is not None else None
    section = data.sections.get(subnet.section_id) if subnet and subnet.section_id else None
    state = data.tags.get(row.state, str(row.state)) if row.state is not None else "NULL"
    where = f"subnet id {row.subnet_id}" if subnet is None else _subnet_text(subnet)
    address = row_address(row, data.subnets)
    yield (
        f"  row {row.id}: ip_addr {row.ip_addr!r} ({address or 'invalid'}), "
        f"hostname {row.hostname!r}, mac {row.mac!r}, state {state}, "
        f"{where}, section {section or '-'}" + (", PTRignore" if row.ptr_ignore else "")
    )
    fqdn = row_name(row, policy)
    if address is not None and fqdn and (fqdn, address) in published:
        kind = "A" if address.version == 4 else "AAAA"
        yield f"    published: {kind} {fqdn} -> {address}"
    ptr = ptr_owner.get(address) if address is not None else None
    if address is not None and ptr is not None and ptr.row_id == row.id:
        yield f"    published: PTR {reverse_name(address)} -> {ptr.fqdn}"
    for finding in build.publication.findings_for(row.id):
        label = "problem" if finding.is_problem else "note"
        yield f"    {label} {finding.code.value}: {finding.reason}"
    change = changes.get(row.id)
    if change is not None:
        who = change.user or "an unknown user"
        yield f"    last change: {change.action} by {who} on {_ts(change.date)} (phpIPAM changelog)"
    elif row.edit_date is not None:
        yield f"    last edited {_ts(row.edit_date)} (editDate; no changelog entry)"


def _subnet_text(subnet: SubnetRow) -> str:
    if subnet.is_folder:
        return f"folder id {subnet.id}"
    net = subnet_network(subnet)
    if net is None:
        return f"subnet id {subnet.id} (unparsable: {subnet.subnet!r}/{subnet.mask!r})"
    return f"subnet {net} (id {subnet.id})"
