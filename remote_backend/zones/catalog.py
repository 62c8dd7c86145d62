"""The catalog zone (RFC 9432, schema version 2) that lists every member zone.

BIND secondaries configured with ``catalog-zones`` transfer it and add or drop the
zones it lists, so adding a zone to pphook.toml needs no named.conf edit. Its content
depends on the config alone (which zones are served), never on phpIPAM rows:

- at the apex, besides the SOA, a single NS record ``invalid.``: the zone is meant to
  be transferred, never resolved;
- ``version.<catalog> TXT "2"``: the schema version;
- one ``<label>.zones.<catalog> PTR <member>.`` per member zone.

A member's label is how a secondary tells "the same zone" from "a zone removed and
added again" (a changed label resets the member on the secondary), so it must
not depend on the order of the zones, the time or the node: it is the SHA-1 hash, in
hex, of the member name in lowercase wire format. That is the convention of the
catalog zones draft BIND implemented first (its examples use it), so labels are also
what such a producer would have written.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from remote_backend.records import content_name

RR = tuple[str, str]  # (qtype, content), as remote_backend.snapshot.table.RR

VERSION = "2"
APEX_NS = "invalid"  # RFC 9432: the apex NS RRset is a single NS RR with RDATA invalid.
MEMBERS_LABEL = "zones"
LABEL_LENGTH = 40  # hex digits of a SHA-1 digest


def wire_name(name: str) -> bytes:
    """``name`` (lowercase, no trailing dot) in DNS wire format: length-prefixed
    labels, then the root's empty label."""
    labels = [label.encode() for label in name.split(".")] if name else []
    return b"".join(bytes((len(b),)) + b for b in labels) + b"\x00"


def member_label(zone: str) -> str:
    """The unique label of member ``zone``: stable across restarts, nodes and config
    order (a hash of its name, nothing else)."""
    return hashlib.sha1(wire_name(zone.lower()), usedforsecurity=False).hexdigest()


def member_owner(catalog: str, zone: str) -> str:
    """The owner of ``zone``'s PTR in ``catalog``."""
    return f"{member_label(zone)}.{MEMBERS_LABEL}.{catalog}"


def longest_owner(catalog: str) -> int:
    """The length of the catalog's longest owner name (a member's), in characters."""
    return LABEL_LENGTH + len(MEMBERS_LABEL) + 2 + len(catalog)


def catalog_records(catalog: str, members: Iterable[str]) -> dict[str, tuple[RR, ...]]:
    """Owner -> records of the catalog (SOA excluded: pphook adds it to every zone),
    apex first; ``members`` in any order (the catalog never lists itself)."""
    records: dict[str, tuple[RR, ...]] = {
        catalog: (("NS", APEX_NS),),
        f"version.{catalog}": (("TXT", f'"{VERSION}"'),),
    }
    for zone in sorted(set(members)):
        if zone != catalog:
            records[member_owner(catalog, zone)] = (("PTR", content_name(zone)),)
    return records
