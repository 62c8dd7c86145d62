"""Forward zones from the domains phpIPAM's hostnames use (pure).

The domain of an FQDN is everything after its first label. Hostnames are normalised
as the validators normalise them. A domain that another used domain encloses is
served by that zone (``dept.example.com`` inside ``example.com``): one zone covers
its subdomains, no delegation needed. A name that is itself a used domain (a host at
``example.com`` beside ``www.example.com``) counts for that zone's apex. Single-label
domains (``lan``, or ``com`` from a host named ``example.com`` alone) are never more
than a commented candidate, and never swallow other zones.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from validators.hostname import is_valid_hostname, normalise_hostname

# a zone with fewer rows than this (or than a thousandth of all named rows) is only
# a commented candidate: one or two rows are often a typo of a real domain
SMALL_ROWS = 3
# siblings this many or more under one unused parent earn a hint to merge them
SIBLING_HINT = 2


@dataclass(frozen=True, slots=True)
class ForwardZone:
    name: str
    rows: int  # rows whose hostname is in this zone (subdomains included)
    covers: tuple[tuple[str, int], ...] = ()  # (subdomain, rows) served by this zone
    active: bool = True  # False: small, printed commented out
    top_level: bool = False  # a single-label domain


@dataclass(frozen=True, slots=True)
class ForwardPlan:
    zones: tuple[ForwardZone, ...]  # most rows first
    named_rows: int  # rows with a hostname
    short_names: int  # single-label hostnames (need zones.default_domain)
    no_domain: int  # names whose domain is no valid DNS name
    underscores: int  # hostnames holding "_" (rejected unless policy.allow_underscore)
    merge_hints: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (parent, zones under it)

    @property
    def active(self) -> tuple[ForwardZone, ...]:
        return tuple(z for z in self.zones if z.active)


def plan_forward(hostnames: Iterable[str | None]) -> ForwardPlan:
    """The forward zones for these raw hostnames (one entry per phpIPAM row)."""
    fqdns: Counter[str] = Counter()
    named = short = underscores = 0
    for raw in hostnames:
        name = normalise_hostname(raw)
        if name is None:
            continue
        named += 1
        if "_" in name:
            underscores += 1
        if "." in name:
            fqdns[name] += 1
        else:
            short += 1
    domains = {_parent(f) for f in fqdns}
    own: Counter[str] = Counter()
    no_domain = 0
    for fqdn, n in fqdns.items():
        domain = fqdn if fqdn in domains and "." in fqdn else _parent(fqdn)
        if is_valid_hostname(domain):
            own[domain] += n
        else:
            no_domain += n
    zones = _group(own, named)
    return ForwardPlan(
        zones=zones,
        named_rows=named,
        short_names=short,
        no_domain=no_domain,
        underscores=underscores,
        merge_hints=_merge_hints(tuple(z.name for z in zones if z.active and not z.top_level)),
    )


def _parent(name: str) -> str:
    return name.partition(".")[2]


def _ancestors(name: str) -> Iterable[str]:
    """Proper ancestors with at least two labels, nearest first."""
    rest = _parent(name)
    while "." in rest:
        yield rest
        rest = _parent(rest)


def _group(own: Counter[str], named: int) -> tuple[ForwardZone, ...]:
    """Each used domain into its highest used ancestor of two labels or more."""
    home: dict[str, str] = {}
    for domain in own:
        top = domain
        for ancestor in _ancestors(domain):
            if ancestor in own:
                top = ancestor
        home[domain] = top
    rows: Counter[str] = Counter()
    covers: dict[str, list[tuple[str, int]]] = {}
    for domain, n in own.items():
        zone = home[domain]
        rows[zone] += n
        if zone != domain:
            covers.setdefault(zone, []).append((domain, n))
    small = max(SMALL_ROWS, named / 1000)
    ordered = sorted(rows.items(), key=lambda item: (-item[1], item[0]))
    zones = [
        ForwardZone(
            name=zone,
            rows=n,
            covers=tuple(sorted(covers.get(zone, ()), key=lambda c: (-c[1], c[0]))),
            active="." in zone and n >= small,
            top_level="." not in zone,
        )
        for zone, n in ordered
    ]
    if zones and not any(z.active for z in zones):
        # a small database: its biggest domain still makes a zone (a top-level name
        # only when there is nothing else)
        first = next((z for z in zones if not z.top_level), zones[0])
        zones = [
            ForwardZone(z.name, z.rows, z.covers, True, z.top_level) if z is first else z
            for z in zones
        ]
    return tuple(zones)


def _merge_hints(active: tuple[str, ...]) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """Unused parents (two labels or more) of several active zones: one zone there may
    be simpler, if that domain is the operator's."""
    under: dict[str, list[str]] = {}
    for zone in active:
        parent = _parent(zone)
        if "." in parent and parent not in active:
            under.setdefault(parent, []).append(zone)
    return tuple(
        (parent, tuple(sorted(zones)))
        for parent, zones in sorted(under.items())
        if len(zones) >= SIBLING_HINT
    )
