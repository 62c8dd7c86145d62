"""Record types as data: for each type, how its content is written on the wire (the
pdns remote-backend JSON), in a zone file (`export`) and in `explain`.

Inside pphook a record's content is its presentation text as pdns itself prints it
(domain names without the trailing dot, see ``content_name``): the form a snapshot
stores, hashes and persists. This module is the only place that turns that text into
something else, so a new type is one entry in ``_TYPES`` (or none at all: every type
dnspython knows works through ``RecordType`` as it is), never an edit of the protocol,
the snapshot or the zone-file writer.

Like dnspython's ``dns/rdtypes`` (one class per type, found by name), but types that
need nothing special share one generic entry: dnspython already knows how to parse
each of them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    import dns.rdata


def content_name(name: str) -> str:
    """A domain name (internal form: lowercase, no trailing dot) inside record content,
    as pdns prints it: no trailing dot.

    pdns parses content names as absolute either way, but `pdnsutil check-zone` warns
    when the text it got differs from its own rendering ("Parsed and original record
    content are not equal").
    """
    return name


@dataclass(frozen=True, slots=True)
class RecordType:
    """What pphook knows about one record type.

    ``needs_escaping``: whether its content may hold characters JSON must escape
    (quotes and backslashes of TXT-like data). Types whose content pphook builds itself
    from validated names and addresses (A, AAAA, PTR, NS, SOA, CNAME) never do, so
    their replies are formatted without a JSON encoder on the hot path.
    ``in_zone_files``: False for pseudo-types that only exist on the wire (ENT).
    """

    name: str
    needs_escaping: bool = True
    in_zone_files: bool = True

    def wire(self, content: str) -> str:
        """The content inside a JSON string of a pdns reply (without the quotes)."""
        # a name from a static file may hold master-file escapes (a\\032b): backslash
        if self.needs_escaping or "\\" in content or '"' in content:
            return json.dumps(content, ensure_ascii=True)[1:-1]
        return content

    def rdata(self, content: str) -> dns.rdata.Rdata:
        """The content parsed by dnspython (names absolute), for zone files."""
        # imported here: the pipe coprocesses (forked by pdns per AXFR) never need it
        import dns.name
        import dns.rdata
        import dns.rdataclass
        import dns.rdatatype

        return dns.rdata.from_text(
            dns.rdataclass.IN,
            dns.rdatatype.from_text(self.name),
            content,
            origin=dns.name.root,
            relativize=False,
        )

    def zone_line(self, owner: str, ttl: int, content: str) -> str:
        """One line as `explain` shows a record: absolute names, master-file syntax."""
        text = self.rdata(content).to_text() if self.in_zone_files else content
        return f"{owner}. {ttl} IN {self.name} {text}"


_TYPES: Final[dict[str, RecordType]] = {
    t.name: t
    for t in (
        RecordType("A", needs_escaping=False),
        RecordType("AAAA", needs_escaping=False),
        RecordType("PTR", needs_escaping=False),
        RecordType("NS", needs_escaping=False),
        RecordType("SOA", needs_escaping=False),
        RecordType("CNAME", needs_escaping=False),
        # pdns's empty non-terminal: a type-0 placeholder that makes it answer NODATA
        # instead of NXDOMAIN for a name that only has names below it
        RecordType("ENT", needs_escaping=False, in_zone_files=False),
    )
}


UNESCAPED_TYPES: Final[frozenset[str]] = frozenset(
    t.name for t in _TYPES.values() if not t.needs_escaping
)  # the types whose content goes on the wire as it is (every other type is escaped)


def record_type(name: str) -> RecordType:
    """The entry for a type name (upper case); any other name dnspython knows gets a
    generic entry."""
    known = _TYPES.get(name)
    if known is None:
        known = RecordType(name)
        if len(_TYPES) < 256:  # remembered, bounded (names come from zone files)
            _TYPES[name] = known
    return known
