"""Aliases: extra names of a published row, published as CNAMEs to its FQDN.

With ``policy.alias_field``, each name in that phpIPAM custom field of a published row
(separated by commas, semicolons, spaces or newlines) is normalised and checked like a
hostname; a single label is qualified with the zone of the row's own FQDN. A name holds
a CNAME or other data, never both, and an apex never holds a CNAME (RFC 1034 3.6.2), so
an alias is refused (``ALIAS_CONFLICT``) when its name is:

- the row's own FQDN or any published host (phpIPAM rows come first);
- a zone apex;
- a name holding static data or a name server address (the DNS admin's choice wins);
- claimed by a lower row for another target (the lowest id wins; the same target from
  several rows, e.g. a dual-stack host's two rows, is one CNAME).

An alias outside the served forward zones is ``ZONE_NOT_FOUND``, one at or below a
delegation ``DELEGATED``, an invalid one ``HOSTNAME_INVALID``; each finding names the
alias (``Finding.subject``). Aliases never get a PTR.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from validators.codes import Code
from validators.hostname import hostname_problem, normalise_hostname
from validators.model import Alias, Finding, ZoneFacts
from validators.text import quote
from validators.zones import ZoneIndex

_SEPARATORS = re.compile(r"[\s,;]+")
MAX_ALIASES_PER_ROW = 64  # a field holding thousands of names is a mistake, not a host


def alias_candidates(text: str | None, fqdn: str, zones: ZoneIndex) -> list[tuple[str, str]]:
    """(as written, normalised and qualified name) of every alias in a field."""
    if not text:
        return []
    zone = zones.find(fqdn) or fqdn.partition(".")[2]
    seen: set[str] = set()
    found: list[tuple[str, str]] = []
    for raw in _SEPARATORS.split(text)[: MAX_ALIASES_PER_ROW + 1]:
        name = normalise_hostname(raw)
        if name is None:
            continue
        if "." not in name:
            name = f"{name}.{zone}"
        if name not in seen:
            seen.add(name)
            found.append((raw, name))
    return found


def alias_names(text: str | None, fqdn: str | None, zones: ZoneIndex) -> tuple[str, ...]:
    """The names an alias field asks for (the groups an alias joins)."""
    if fqdn is None:
        return ()
    return tuple(name for _, name in alias_candidates(text, fqdn, zones))


def decide_aliases(
    fields: Mapping[int, str],
    published: Mapping[int, str],
    hosts: Iterable[str] | set[str],
    facts: ZoneFacts,
    zones: ZoneIndex,
    *,
    allow_underscore: bool = False,
) -> tuple[list[Alias], list[Finding]]:
    """The aliases of the published rows (``published``: row id -> FQDN), in row order."""
    host_names = hosts if isinstance(hosts, set) else set(hosts)
    cuts = ZoneIndex(facts.cuts)
    claims: dict[str, tuple[str, int]] = {}  # alias -> (target, row that claimed it)
    aliases: list[Alias] = []
    findings: list[Finding] = []
    for row_id in sorted(published.keys() & fields.keys()):
        target = published[row_id]
        candidates = alias_candidates(fields[row_id], target, zones)
        if len(candidates) > MAX_ALIASES_PER_ROW:
            findings.append(
                Finding(
                    Code.ALIAS_CONFLICT,
                    row_id,
                    f"the alias field lists more than {MAX_ALIASES_PER_ROW} names; "
                    "none is published",
                    subject="*",
                )
            )
            continue
        for raw, name in candidates:
            verdict = _verdict(
                name, raw, target, host_names, facts, zones, cuts, claims, allow_underscore
            )
            if verdict is None:
                if name not in claims:
                    claims[name] = (target, row_id)
                    aliases.append(Alias(name, target, row_id))
                continue
            code, reason, related = verdict
            findings.append(Finding(code, row_id, reason, related, subject=name))
    return aliases, findings


def _verdict(
    name: str,
    raw: str,
    target: str,
    hosts: set[str],
    facts: ZoneFacts,
    zones: ZoneIndex,
    cuts: ZoneIndex,
    claims: Mapping[str, tuple[str, int]],
    allow_underscore: bool,
) -> tuple[Code, str, tuple[int, ...]] | None:
    """Why alias ``name`` of a row published as ``target`` cannot be published."""
    problem = hostname_problem(name, allow_underscore=allow_underscore)
    if problem is not None:
        return Code.HOSTNAME_INVALID, f"alias {quote(raw)} {problem}", ()
    if zones.find(name) is None:
        return Code.ZONE_NOT_FOUND, f"alias {quote(name)} is in no served forward zone", ()
    cut = cuts.find(name)
    if cut is not None:
        return (
            Code.DELEGATED,
            f"alias {quote(name)} is at or below the delegation {quote(cut)}: that name belongs "
            "to the delegated zone's servers",
            (),
        )
    if name == target:
        return Code.ALIAS_CONFLICT, f"alias {quote(name)} is the row's own name", ()
    if name in facts.apexes:
        return Code.ALIAS_CONFLICT, f"alias {quote(name)} is a zone apex, which holds no CNAME", ()
    if name in hosts:
        return (
            Code.ALIAS_CONFLICT,
            f"alias {quote(name)} is the name of a published host: a name holds a CNAME or "
            "other data, never both",
            (),
        )
    if name in facts.names:
        return (
            Code.ALIAS_CONFLICT,
            f"alias {quote(name)} holds static records (zones.static_dir or "
            "zones.nameserver_addresses): a name holds a CNAME or other data, never both",
            (),
        )
    claimed = claims.get(name)
    if claimed is not None and claimed[0] != target:
        return (
            Code.ALIAS_CONFLICT,
            f"alias {quote(name)} already points to {quote(claimed[0])} for row {claimed[1]}",
            (claimed[1],),
        )
    return None
