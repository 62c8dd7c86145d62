"""Where a served record comes from, in words: what `explain` writes beside each answer.

A name in a whole zone can hold records of several kinds: phpIPAM hosts and their PTRs,
static records (``zones.static_dir``, with file and line), name server addresses
(``zones.nameserver_addresses``), the NS set of an apex, the parent side of RFC 2317
classless blocks, and aliases (``policy.alias_field``). The snapshot keeps only the
records; this works their origin out again from the same inputs the build used.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from dataclasses import dataclass

from remote_backend.build.builder import Build
from remote_backend.snapshot.extras import PtrOwners
from remote_backend.zones import ZoneSettings
from remote_backend.zones.naming import (
    classless_label,
    is_classless,
    reverse_name,
    reverse_zone_name,
)
from remote_backend.zones.static import StaticData
from validators.model import Alias, IPAddress, record_columns
from validators.zones import ZoneIndex


@dataclass(frozen=True, slots=True)
class ClasslessBlock:
    """An RFC 2317 block whose parent side a served /24 zone holds."""

    network: ipaddress.IPv4Network
    child: str  # the child zone, e.g. 64/26.2.0.192.in-addr.arpa
    parent: str  # the /24's reverse name, e.g. 2.0.192.in-addr.arpa
    servers: tuple[str, ...]
    key: str  # the config key that makes it: zones.reverse or zones.classless_delegations
    parent_served: bool  # pphook serves the zone holding the /24: NS and CNAMEs are there

    @property
    def delegated(self) -> bool:
        """Served by someone else (``zones.classless_delegations``)."""
        return self.key == "zones.classless_delegations"


@dataclass(frozen=True, slots=True)
class Delegation:
    """A zone cut: names at and below ``cut`` belong to other servers."""

    cut: str
    servers: tuple[str, ...]
    why: str  # "static file PATH" or "zones.classless_delegations (BLOCK)"


class RecordOrigins:
    """The origin of each record of a build (``origin``), and the cuts names fall under."""

    def __init__(self, build: Build, settings: ZoneSettings | None) -> None:
        self.build = build
        self.settings = settings
        static = build.static or StaticData()
        self._static: dict[tuple[str, str, str], str] = {}
        self._static_apex: dict[tuple[str, str], str] = {}
        self._cuts: dict[str, Delegation] = {}
        for zone in static.zones.values():
            for record in zone.records:
                where = f"{zone.path}:{record.line}" if record.line else zone.path
                self._static[(record.owner, record.rtype, record.content)] = where
            for ns in zone.apex_ns:
                self._static_apex[(zone.zone, ns)] = zone.path
            for cut in zone.cuts:
                servers = tuple(
                    r.content for r in zone.records if r.owner == cut and r.rtype == "NS"
                )
                self._cuts[cut] = Delegation(cut, servers, f"static file {zone.path}")
        self._aliases: dict[str, Alias] = {a.name: a for a in build.publication.aliases}
        self.blocks = tuple(_classless_blocks(settings, build.snapshot.index))
        for block in self.blocks:
            if block.delegated and block.parent_served:
                why = f"zones.classless_delegations ({block.network})"
                self._cuts[block.child] = Delegation(block.child, block.servers, why)
        self._cut_index = ZoneIndex(self._cuts)
        self.ptr_owners = PtrOwners(settings) if settings is not None else None

    # -- per record ---------------------------------------------------------------

    def origin(self, owner: str, qtype: str, content: str, zone: str | None = None) -> str:
        """Where this record comes from (several origins joined by '; '); ``zone``: the
        zone holding it, when that is the parent of a served zone whose apex is
        ``owner`` (the parent side of a delegation is not the child's apex)."""
        found = list(self._origins(owner, qtype, content, zone in (None, owner)))
        return "; ".join(found) if found else "pphook"

    def _origins(self, owner: str, qtype: str, content: str, at_apex: bool) -> Iterator[str]:
        settings = self.settings
        catalog = settings.catalog if settings is not None else None
        if catalog is not None and (owner == catalog or owner.endswith("." + catalog)):
            yield "the catalog zone (zones.catalog), made from the served zones"
            return
        static = self._static.get((owner, qtype, content))
        if static is not None:
            yield f"static record, {static}"
        if qtype == "NS" and at_apex and owner in self.build.snapshot.zone_by_name:
            if settings is not None and content in settings.nameservers:
                yield "zones.nameservers"
            path = self._static_apex.get((owner, content))
            if path is not None:
                yield f"apex NS in static file {path}"
        if settings is not None and qtype in ("A", "AAAA"):
            addresses = settings.nameserver_addresses.get(owner, ())
            if any(str(a) == content for a in addresses):
                yield "zones.nameserver_addresses"
        if qtype == "CNAME":
            alias = self._aliases.get(owner)
            if alias is not None and alias.target == content:
                yield f"alias of phpIPAM row {alias.row_id} (policy.alias_field)"
        if qtype in ("CNAME", "NS"):
            block = self._block_of_parent_name(owner, qtype)
            if block is not None:
                yield _classless_origin(block, qtype)
        if qtype in ("A", "AAAA", "PTR"):
            rows = self._rows_behind(owner, qtype, content)
            if rows:
                label = "phpIPAM row" if len(rows) == 1 else "phpIPAM rows"
                yield f"{label} {', '.join(map(str, rows))}"

    def _rows_behind(self, owner: str, qtype: str, content: str) -> list[int]:
        publication = self.build.publication
        if qtype == "PTR":
            columns = record_columns(publication.ptrs)
            rows = []
            for i, fqdn in enumerate(columns.fqdns):
                if fqdn == content and self.ptr_owner(columns.address(i)) == owner:
                    rows.append(columns.row_ids[i])
            return rows
        columns = record_columns(publication.records)
        return sorted(
            {
                columns.row_ids[i]
                for i, fqdn in enumerate(columns.fqdns)
                if fqdn == owner and str(columns.address(i)) == content
            }
        )

    def _block_of_parent_name(self, owner: str, qtype: str) -> ClasslessBlock | None:
        for block in self.blocks:
            if not block.parent_served:
                continue
            if qtype == "NS" and owner == block.child:
                return block
            if qtype == "CNAME" and owner.endswith("." + block.parent):
                label = owner[: -len(block.parent) - 1]
                if label.isdigit() and _in_block(block, int(label)):
                    return block
        return None

    # -- names --------------------------------------------------------------------

    def ptr_owner(self, address: IPAddress) -> str:
        """The owner of the PTR of ``address`` (in a classless child zone if one holds it)."""
        if self.ptr_owners is not None:
            return self.ptr_owners.owner(address)
        return reverse_name(address)

    def delegation(self, name: str) -> Delegation | None:
        """The cut ``name`` is at or below, if any."""
        cut = self._cut_index.find(name)
        return None if cut is None else self._cuts[cut]

    def block_of(self, address: IPAddress) -> ClasslessBlock | None:
        """The classless block holding ``address``, if one is configured."""
        if address.version != 4:
            return None
        for block in self.blocks:
            if address in block.network:
                return block
        return None

    def alias(self, name: str) -> Alias | None:
        """The published alias at ``name``, if any."""
        return self._aliases.get(name)


def _in_block(block: ClasslessBlock, last_octet: int) -> bool:
    first = int(block.network.network_address) & 255
    last = int(block.network.broadcast_address) & 255
    return first <= last_octet <= last


def _classless_origin(block: ClasslessBlock, qtype: str) -> str:
    if qtype == "NS":
        return f"RFC 2317: the child zone of {block.network} ({block.key})"
    return f"RFC 2317: {block.network} ({block.key}); its PTRs are in {block.child}"


def _classless_blocks(settings: ZoneSettings | None, served: ZoneIndex) -> Iterator[ClasslessBlock]:
    """Every classless block of the config, served here or delegated."""
    if settings is None:
        return
    blocks: list[tuple[ipaddress.IPv4Network, tuple[str, ...], str]] = [
        (n, settings.nameservers, "zones.reverse")
        for n in settings.reverse
        if isinstance(n, ipaddress.IPv4Network) and is_classless(n)
    ]
    blocks += [
        (n, s, "zones.classless_delegations") for n, s in settings.classless_delegations.items()
    ]
    for network, servers, key in blocks:
        parent = reverse_zone_name(network.supernet(new_prefix=24))
        child = f"{classless_label(network, settings.classless_name)}.{parent}"
        served_parent = served.find(parent) is not None
        yield ClasslessBlock(network, child, parent, servers, key, served_parent)
