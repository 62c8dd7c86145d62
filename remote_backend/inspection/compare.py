"""`pphook compare`: a zone as another DNS server serves it against what pphook would
serve, record set by record set, each difference with the phpIPAM rows behind it.

Both sides are dnspython zones (pphook's side is exactly what `export` and AXFR give,
``zonefile.served_zone``). Record sets are compared per (owner, type): their records
(in canonical form, so case and spelling do not matter) and their TTL. The SOA serial
is not compared; the other SOA fields are. DNSSEC records of a signed zone are
summed up in one difference (pphook serves zones unsigned) instead of one per RRSIG.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import dns.name
import dns.rdata
import dns.rdatatype
import dns.zone

from remote_backend.inspection.explain import RowDescriber, RowIndex, address_of_reverse
from remote_backend.zones import ZoneSettings
from remote_backend.zones.static import file_name
from validators.model import AddressRow, IPAddress

# records a signer adds; an unsigned zone has none of them
SIGNING_TYPES = frozenset(
    {"RRSIG", "NSEC", "NSEC3", "NSEC3PARAM", "DNSKEY", "CDS", "CDNSKEY", "TYPE65534"}
)
ADDRESS_TYPES = frozenset({"A", "AAAA"})


@dataclass(frozen=True, slots=True)
class RRSet:
    """One record set: its TTL and its records, canonical form -> presentation text."""

    ttl: int
    records: Mapping[bytes, str]

    def same_as(self, other: RRSet) -> bool:
        return self.ttl == other.ttl and self.records.keys() == other.records.keys()

    @property
    def texts(self) -> list[str]:
        return sorted(self.records.values())


@dataclass(frozen=True, slots=True)
class Difference:
    kind: str  # "add" (only pphook), "remove" (only today's server), "change"
    owner: str  # lowercase, no trailing dot
    rdtype: str
    ours: RRSet | None
    theirs: RRSet | None


@dataclass(frozen=True, slots=True)
class Comparison:
    zone: str
    differences: tuple[Difference, ...]
    their_serial: int | None
    our_serial: int
    their_rrsets: int
    signing_records: int = 0  # DNSSEC records today's server has and pphook does not
    signing_types: tuple[str, ...] = field(default=())

    @property
    def equal(self) -> bool:
        return not self.differences and not self.signing_records


def rrsets(zone: dns.zone.Zone) -> dict[tuple[str, str], RRSet]:
    """Every record set of a zone by (owner, type); the SOA serial counts as 0."""
    result: dict[tuple[str, str], RRSet] = {}
    for name, rdataset in zone.iterate_rdatasets():
        owner = name.to_text(omit_final_dot=True).lower()
        rdtype = dns.rdatatype.to_text(rdataset.rdtype)
        records = {_canonical(rdata): rdata.to_text() for rdata in rdataset}
        result[(owner, rdtype)] = RRSet(rdataset.ttl, records)
    return result


def _canonical(rdata: dns.rdata.Rdata) -> bytes:
    if rdata.rdtype == dns.rdatatype.SOA:
        rdata = rdata.replace(serial=0)
    return rdata.to_digestable(dns.name.root)


def _serial(zone: dns.zone.Zone) -> int | None:
    try:
        return int(zone.get_soa().serial)
    except dns.zone.NoSOA:
        return None


def compare_zones(name: str, ours: dns.zone.Zone, theirs: dns.zone.Zone) -> Comparison:
    """What pphook would add, remove and change in ``theirs`` to serve ``ours``."""
    mine, other = rrsets(ours), rrsets(theirs)
    signing = {k: v for k, v in other.items() if k[1] in SIGNING_TYPES}
    for key in signing:
        del other[key]
    differences: list[Difference] = []
    for key in sorted(mine.keys() | other.keys(), key=_order):
        a, b = mine.get(key), other.get(key)
        if a is not None and b is not None:
            if not a.same_as(b):
                differences.append(Difference("change", key[0], key[1], a, b))
        elif a is not None:
            differences.append(Difference("add", key[0], key[1], a, None))
        else:
            differences.append(Difference("remove", key[0], key[1], None, b))
    return Comparison(
        zone=name,
        differences=tuple(differences),
        their_serial=_serial(theirs),
        our_serial=_serial(ours) or 0,
        their_rrsets=len(other) + len(signing),
        signing_records=sum(len(s.records) for s in signing.values()),
        signing_types=tuple(sorted({k[1] for k in signing})),
    )


def _order(key: tuple[str, str]) -> tuple[dns.name.Name, str]:
    return dns.name.from_text(key[0]), key[1]


# -- the rows behind a difference ---------------------------------------------------------


def rows_behind(index: RowIndex, difference: Difference) -> list[AddressRow]:
    """The phpIPAM rows that ask for this owner name, or for an address in its records
    (A/AAAA contents, the address of a PTR owner, the names a PTR points to)."""
    names: list[str] = [difference.owner]
    addresses: list[IPAddress] = []
    texts = [t for s in (difference.ours, difference.theirs) if s is not None for t in s.texts]
    if difference.rdtype in ADDRESS_TYPES:
        addresses += _addresses(texts)
    elif difference.rdtype == "PTR":
        address = address_of_reverse(difference.owner)
        if address is not None:
            addresses.append(address)
        names += [t.rstrip(".").lower() for t in texts]
    return index.rows(names, addresses)


def _addresses(texts: Iterable[str]) -> list[IPAddress]:
    found: list[IPAddress] = []
    for text in texts:
        try:
            found.append(ipaddress.ip_address(text))
        except ValueError:
            continue
    return found


# -- the report ---------------------------------------------------------------------------

_KINDS = {"add": "+ add   ", "remove": "- remove", "change": "~ change"}


def render(
    comparison: Comparison,
    server: str,
    rows: Sequence[Sequence[AddressRow]],
    describer: RowDescriber,
    zones: ZoneSettings,
) -> str:
    """The report `pphook compare` prints; ``rows[i]``: the rows behind difference i."""
    c = comparison
    theirs = "no SOA" if c.their_serial is None else f"SOA serial {c.their_serial}"
    out = [
        f"compare {c.zone}: {server} (AXFR: {c.their_rrsets} record sets, {theirs}) "
        f"-> pphook (phpIPAM, SOA serial {c.our_serial}; serials are not compared)",
    ]
    for d, behind in zip(c.differences, rows, strict=True):
        out.append("")
        out.append(f"{_KINDS[d.kind]} {d.owner} {d.rdtype}")
        if d.theirs is not None:
            out += [f"    today:  {_line(d, d.theirs, t)}" for t in d.theirs.texts]
        if d.ours is not None:
            out += [f"    pphook: {_line(d, d.ours, t)}" for t in d.ours.texts]
        found = () if ttl_only(d) else behind
        if found:
            for row in found:
                out += ["  " + line for line in describer.lines(row)]  # explain's lines
        else:
            out.append(f"    {_why_no_row(d, c.zone, zones)}")
    if c.signing_records:
        out += [
            "",
            f"- remove DNSSEC: {c.signing_records} records ({', '.join(c.signing_types)}): "
            f"{server} serves {c.zone} signed, pphook serves it unsigned",
        ]
    out.append("")
    out.append(_summary(c, server))
    return "\n".join(out) + "\n"


def _line(d: Difference, rrset: RRSet, text: str) -> str:
    return f"{d.owner}. {rrset.ttl} IN {d.rdtype} {text}"


def ttl_only(d: Difference) -> bool:
    """Both sides hold the same records, with another TTL."""
    return (
        d.ours is not None
        and d.theirs is not None
        and d.ours.records.keys() == d.theirs.records.keys()
    )


def _why_no_row(d: Difference, apex: str, zones: ZoneSettings) -> str:
    if d.rdtype == "SOA":
        return (
            "pphook's SOA comes from its configuration: zones.nameservers (first = MNAME), "
            "zones.hostmaster (RNAME), zones.soa_refresh/retry/expire/minimum, zones.ttl"
        )
    if ttl_only(d):
        return (
            f"only the TTL differs: pphook uses zones.ttl = {zones.ttl} (a record of "
            "zones.static_dir keeps the TTL its file gives)"
        )
    if d.rdtype == "NS" and d.owner == apex:
        return f"pphook's NS records come from zones.nameservers ({', '.join(zones.nameservers)})"
    if d.kind == "remove":
        if d.rdtype in ADDRESS_TYPES or d.rdtype == "PTR":
            return "no phpIPAM row has this name or address: pphook would not serve it"
        return (
            f"not in phpIPAM: pphook serves A, AAAA and PTR from phpIPAM rows and SOA, NS "
            f"from its configuration, so this {d.rdtype} record set would be gone; to keep "
            f"it, write it into {_static_file(zones, apex)} (zones.static_dir)"
        )
    return "from pphook's configuration (no phpIPAM row behind it)"


def _static_file(zones: ZoneSettings, apex: str) -> str:
    directory = zones.static_dir or "<static_dir>"
    return f"{directory.rstrip('/')}/{file_name(apex)}"


def _summary(c: Comparison, server: str) -> str:
    if c.equal:
        return f"equal: pphook would serve {c.zone} exactly as {server} does (serials aside)"
    counts = {k: sum(1 for d in c.differences if d.kind == k) for k in ("add", "remove", "change")}
    if c.signing_records:
        counts["remove"] += 1
    sets = "record set" if counts["add"] == 1 else "record sets"
    return (
        f"different: {counts['add']} {sets} to add, {counts['remove']} to remove, "
        f"{counts['change']} to change"
    )
