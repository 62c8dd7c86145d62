"""`pphook explain NAME-or-IP-or-MAC`: every phpIPAM row behind a name, an address or
a MAC address, what DNS answers there and where each record comes from, and why rows
are not (fully) published."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from remote_backend.build.builder import Build
from remote_backend.inspection.origins import RecordOrigins
from remote_backend.ipam.people import ChangeInfo
from remote_backend.records import record_type
from remote_backend.zones import ZoneSettings, reverse_name
from validators import InvalidAddress, normalise_hostname, normalise_mac, parse_address
from validators.address import subnet_network
from validators.fqdn import comparison_name
from validators.mac import format_mac, is_valid_mac
from validators.model import AddressRow, Alias, IPAddress, Policy, SubnetRow

# The notations MACs are written in: aa:bb:cc:dd:ee:ff, aa-bb-cc-dd-ee-ff (either
# case), Cisco aabb.ccdd.eeff, aabbcc-ddeeff, and bare hex. One separator throughout.
_MAC = re.compile(
    r"[0-9a-f]{2}(?::[0-9a-f]{2}){5}|[0-9a-f]{2}(?:-[0-9a-f]{2}){5}"
    r"|[0-9a-f]{4}(?:\.[0-9a-f]{4}){2}|[0-9a-f]{6}-[0-9a-f]{6}|[0-9a-f]{12}",
    re.IGNORECASE,
)


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


@dataclass(frozen=True, slots=True)
class Target:
    """What the operator asked about: exactly one of the three is set."""

    name: str | None = None
    address: IPAddress | None = None
    mac: str | None = None  # normalised: 12 lowercase hex digits


def parse_target(query: str) -> Target:
    """A name, an address (also written as its reverse name) or a MAC address."""
    text = query.strip()
    try:
        return Target(address=ipaddress.ip_address(text))
    except ValueError:
        pass
    if text.endswith((".in-addr.arpa", ".ip6.arpa", ".in-addr.arpa.", ".ip6.arpa.")):
        address = address_of_reverse(text.lower().rstrip("."))
        if address is not None:
            return Target(address=address)
    if _MAC.fullmatch(text) is not None:
        mac = normalise_mac(text)
        if mac is not None and is_valid_mac(mac):
            return Target(mac=mac)
    return Target(name=normalise_hostname(text))


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
    *,
    settings: ZoneSettings | None = None,
    vrfs: Mapping[int, str] | None = None,
) -> tuple[str, list[AddressRow]]:
    """The report text and the rows it is about (so callers can fetch their changelog).

    ``settings``: the [zones] section (origins of classless and name server records);
    ``vrfs``: phpIPAM's VRF names by id."""
    target = parse_target(query)
    if target.name is None and target.address is None and target.mac is None:
        return f"{query!r}: not a host name, an IP address or a MAC address\n", []
    origins = RecordOrigins(build, settings)
    rows = _rows_behind(build, target)
    out = [f"Query: {_shown(query)}"]
    if target.mac is not None:
        out.append(
            f"  MAC address {format_mac(target.mac)} (MACs never change DNS; below, "
            "every row holding it and what each publishes)"
        )
    else:
        for owner in _owners(target, origins):
            out.extend(_answers(build, origins, owner, zone_changed_at))
        block = origins.block_of(target.address) if target.address is not None else None
        if block is not None and not block.parent_served:
            out.append(
                f"  RFC 2317: pphook does not serve the zone of {block.parent}; its server must "
                f"delegate {block.child} (NS) and hold a CNAME per address of {block.network} "
                "into it, or resolvers never reach these PTRs"
            )
    if target.name is not None:
        out.extend(_alias_lines(build, target.name))
    if not rows:
        what = "has this MAC address" if target.mac is not None else "matches"
        out.append(f"No phpIPAM address row {what}.")
    else:
        label = "phpIPAM rows with this MAC address" if target.mac else "phpIPAM rows"
        out.append(f"{label} ({len(rows)}):")
        describer = RowDescriber(build, changes, settings=settings, vrfs=vrfs, origins=origins)
        for row in rows:
            out.extend(describer.lines(row))
    return "\n".join(out) + "\n", rows


def _rows_behind(build: Build, target: Target) -> list[AddressRow]:
    """The rows the query is about: by address, by MAC, or by name (hostname, or an
    alias the row asks for, published or not)."""
    data, policy = build.data, build.policy
    if target.address is not None:
        return [r for r in data.addresses if row_address(r, data.subnets) == target.address]
    if target.mac is not None:
        return [r for r in data.addresses if normalise_mac(r.mac) == target.mac]
    name = target.name
    alias_rows = {a.row_id for a in build.publication.aliases if a.name == name}
    alias_rows.update(f.row_id for f in build.publication.findings if f.subject == name)
    return [r for r in data.addresses if r.id in alias_rows or row_name(r, policy) == name]


def _owners(target: Target, origins: RecordOrigins) -> list[str]:
    """The DNS names to show answers for: the name, or the reverse names of the
    address (in the /24's zone and, for an RFC 2317 block, in its child zone)."""
    if target.name is not None:
        return [target.name]
    address = target.address
    assert address is not None
    owners = [reverse_name(address)]
    block = origins.block_of(address)
    if block is not None:
        owners.append(f"{int(address) & 255}.{block.child}")
    return owners


def _answers(
    build: Build,
    origins: RecordOrigins,
    owner: str,
    zone_changed_at: Mapping[str, float] | None,
) -> Iterable[str]:
    snapshot = build.snapshot
    zone = snapshot.zone_of(owner)
    if zone is None:
        yield f"  {_shown(owner)}: in no served zone (pdns answers REFUSED)"
        return
    changed = (zone_changed_at or {}).get(zone.name)
    when = f", content last changed {_ts(changed)}" if changed else ""
    yield f"  zone {zone.name}: serial {zone.serial}{when}"
    delegation = origins.delegation(owner)
    rrs = snapshot.rrs(owner)
    if delegation is not None and zone.name != delegation.cut:
        servers = ", ".join(delegation.servers) or "-"
        yield (
            f"  delegated: {_shown(owner)} is at or below {delegation.cut} (NS {servers}; "
            f"{delegation.why}): pdns answers with a referral, not authoritatively"
        )
    if rrs:
        yield "  DNS answers:" if delegation is None else "  records held here (glue, NS):"
        yield from (_record_line(origins, owner, qt, c) for qt, c in rrs)
    elif owner in snapshot.ents:
        yield "  DNS answers: NOERROR with no data (empty non-terminal)"
    elif delegation is None:
        yield "  DNS answers: NXDOMAIN"
    for parent, cuts in snapshot.zone_cuts.items():
        held = cuts.get(owner)
        if held:
            yield f"  in the parent zone {parent} (its delegation to {owner}):"
            yield from (_record_line(origins, owner, qt, c, parent) for qt, c in held)


def _record_line(
    origins: RecordOrigins, owner: str, qtype: str, content: str, zone: str | None = None
) -> str:
    """One record as a master-file line (its own TTL), and where it comes from."""
    ttl = origins.build.snapshot.ttl_for(owner, qtype)
    line = record_type(qtype).zone_line(owner, ttl, content)
    return f"    {line}  ; {origins.origin(owner, qtype, content, zone)}"


def _alias_lines(build: Build, name: str) -> list[str]:
    """The aliases named ``name``: the one published, and those refused."""
    published = [a for a in build.publication.aliases if a.name == name]
    refused = [f for f in build.publication.findings if f.subject == name]
    if not published and not refused:
        return []
    out = [f"Alias {_shown(name)} (policy.alias_field):"]
    out.extend(
        f"  published: CNAME {a.name} -> {a.target} (asked by row {a.row_id})" for a in published
    )
    out.extend(
        f"  row {f.row_id}: {'problem' if f.is_problem else 'note'} {f.code.value}: {f.reason}"
        for f in refused
    )
    return out


class RowIndex:
    """The rows of a build by the name they ask for (hostname or alias) and by their
    address: what `explain` matches a query on, for callers that look up many names
    (`compare`)."""

    def __init__(self, build: Build) -> None:
        self.by_name: dict[str, list[AddressRow]] = {}
        self.by_address: dict[IPAddress, list[AddressRow]] = {}
        subnets, policy = build.data.subnets, build.policy
        by_id: dict[int, AddressRow] = {}
        for row in build.data.addresses:
            by_id[row.id] = row
            name = row_name(row, policy)
            if name is not None:
                self.by_name.setdefault(name, []).append(row)
            address = row_address(row, subnets)
            if address is not None:
                self.by_address.setdefault(address, []).append(row)
        asked = [(a.name, a.row_id) for a in build.publication.aliases]
        asked += [(f.subject, f.row_id) for f in build.publication.findings if f.subject]
        for alias, row_id in asked:
            if row_id in by_id:
                self.by_name.setdefault(alias, []).append(by_id[row_id])

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
    """What `explain` says about a phpIPAM row: the row (with its subnet, section and
    VRF), what it publishes, every finding with its reason, its last change."""

    def __init__(
        self,
        build: Build,
        changes: Mapping[int, ChangeInfo] | None = None,
        *,
        settings: ZoneSettings | None = None,
        vrfs: Mapping[int, str] | None = None,
        origins: RecordOrigins | None = None,
    ) -> None:
        self.build = build
        self.changes = changes or {}
        self.vrfs = vrfs or {}
        self.origins = origins or RecordOrigins(build, settings)
        self.published = {(r.fqdn, r.address) for r in build.publication.records}
        self.ptr_owner = {p.address: p for p in build.publication.ptrs}
        self.aliases: dict[int, list[Alias]] = {}
        for alias in build.publication.aliases:
            self.aliases.setdefault(alias.row_id, []).append(alias)

    def lines(self, row: AddressRow) -> list[str]:
        return list(self._describe(row))

    def _describe(self, row: AddressRow) -> Iterable[str]:
        build, policy = self.build, self.build.policy
        data = build.data
        subnet = data.subnets.get(row.subnet_id) if row.subnet_id is not None else None
        section = data.sections.get(subnet.section_id) if subnet and subnet.section_id else None
        state = data.tags.get(row.state, str(row.state)) if row.state is not None else "NULL"
        where = f"subnet id {row.subnet_id}" if subnet is None else _subnet_text(subnet)
        address = row_address(row, data.subnets)
        yield (
            f"  row {row.id}: ip_addr {row.ip_addr!r} ({address or 'invalid'}), "
            f"hostname {row.hostname!r}, mac {row.mac!r}, state {_shown(state)}, "
            f"{where}, section {_shown(section) if section else '-'}, "
            f"vrf {self._vrf(subnet)}" + (", PTRignore" if row.ptr_ignore else "")
        )
        asked = data.aliases.get(row.id)
        if asked:
            yield f"    aliases asked ({policy.alias_field}): {asked!r}"
        fqdn = row_name(row, policy)
        if address is not None and fqdn and (fqdn, address) in self.published:
            kind = "A" if address.version == 4 else "AAAA"
            yield f"    published: {kind} {fqdn} -> {address}"
        ptr = self.ptr_owner.get(address) if address is not None else None
        if address is not None and ptr is not None and ptr.row_id == row.id:
            yield f"    published: PTR {self.origins.ptr_owner(address)} -> {ptr.fqdn}"
        for alias in self.aliases.get(row.id, ()):
            yield f"    published: CNAME {alias.name} -> {alias.target} (alias)"
        for finding in build.publication.findings_for(row.id):
            label = "problem" if finding.is_problem else "note"
            yield f"    {label} {finding.code.value}: {finding.reason}"
        change = self.changes.get(row.id)
        if change is not None:
            who = change.user or "an unknown user"
            yield (
                f"    last change: {change.action} by {_shown(who)} on {_ts(change.date)} "
                "(phpIPAM changelog)"
            )
        elif row.edit_date is not None:
            yield f"    last edited {_ts(row.edit_date)} (editDate; no changelog entry)"

    def _vrf(self, subnet: SubnetRow | None) -> str:
        """The subnet's VRF (phpIPAM: vrfId 0 or NULL is none)."""
        if subnet is None or not subnet.vrf_id:
            return "-"
        name = self.vrfs.get(subnet.vrf_id)
        if name is None:
            return f"id {subnet.vrf_id}"
        return f"{_shown(name)!r} (id {subnet.vrf_id})"


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


def _subnet_text(subnet: SubnetRow) -> str:
    if subnet.is_folder:
        return f"folder id {subnet.id}"
    net = subnet_network(subnet)
    if net is None:
        return f"subnet id {subnet.id} (unparsable: {subnet.subnet!r}/{subnet.mask!r})"
    return f"subnet {net} (id {subnet.id})"
