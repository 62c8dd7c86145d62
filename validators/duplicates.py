"""Hostname duplicates and MAC duplicates (docs/publication-rules.md).

Both take their rows in ascending id order, so "the lowest id" is simply "the first
one seen" and every decision can be made as the row arrives. Neither ever drops
data: the losers are reported, phpIPAM is untouched.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable

from validators.codes import Code
from validators.mac import (
    format_mac,
    is_valid_mac,
    mac_problem,
    normalise_mac,
    normalise_valid_macs,
)
from validators.model import Finding, IPAddress, MacScope
from validators.text import quote

# A MAC shared by thousands of rows (a VRRP/HSRP virtual MAC nobody put on the
# ignore list) would otherwise make findings quadratic in size.
MAX_RELATED_IDS = 50
_MAX_ROWS_NAMED = 3


def duplicate_hostname(
    row_id: int, fqdn: str, address: IPAddress, winner_id: int, winner_address: IPAddress
) -> Finding:
    """Rule 7 under keep-lowest-id: ``fqdn`` is already published by a lower row.

    Per FQDN and family the first row (lowest id) wins; rows on the winner's IP
    collapse into its record; rows on another IP are rejected (this finding), or
    published as a round-robin set under ``publish-all``. Different families never
    compete (dual stack). The engine applies the rule row by row.
    """
    return Finding(
        Code.DUPLICATE_HOSTNAME,
        row_id,
        f"{fqdn} is already published by row {winner_id} at {winner_address}; "
        f"this row's {address} is not published (policy.duplicate_hostname = "
        "keep-lowest-id)",
        (winner_id,),
    )


MacRow = tuple[int, int | None, str | None, str]  # (id, subnet id, raw hostname, raw MAC)


def find_mac_problems(
    rows: Iterable[MacRow],
    *,
    scope: MacScope,
    ignore: Iterable[str],
    host_key: Callable[[str | None], str],
    section_of: Callable[[int | None], int | None],
) -> list[Finding]:
    """MAC_INVALID for malformed MACs, DUPLICATE_MAC for MACs shared between hosts.

    ``rows`` are the rows that passed the state and section filters, in id order, as
    (id, subnet id, hostname, MAC). ``host_key`` gives the name rows are compared by
    ('' for no hostname): rows of one host (e.g. its IPv4 and IPv6 addresses) share a
    MAC legitimately. Within a group sharing a MAC, every row whose host differs from
    the lowest-id row's is reported. ``section_of`` maps a subnet id to its section.
    """
    ignored = frozenset(m for m in (normalise_mac(raw) for raw in ignore) if m)
    rows = rows if isinstance(rows, list) else list(rows)
    global_scope = scope is MacScope.GLOBAL
    no_scope = scope is MacScope.NONE
    macs = normalise_valid_macs([row[3] for row in rows])
    if macs is not None:  # every MAC valid: only duplicates are left to find
        if no_scope:
            return []
        wanted = (
            [(row, mac) for row, mac in zip(rows, macs, strict=True) if mac not in ignored]
            if ignored and not ignored.isdisjoint(macs)
            else None
        )
        if wanted is not None:
            rows, macs = [r for r, _ in wanted], [m for _, m in wanted]
        keys: list[object] = (
            macs  # type: ignore[assignment]
            if global_scope
            else [(section_of(r[1]), m) for r, m in zip(rows, macs, strict=True)]
        )
        counts = Counter(keys)
        shared = {k for k, n in counts.items() if n > 1}
        if not shared:
            return []
        rows = [r for r, k in zip(rows, keys, strict=True) if k in shared]  # the groups only
    findings: list[Finding] = []
    # Most MACs are unique: keep only the first row per MAC, and build a group (and
    # compare host names) only when a second row turns up.
    first: dict[object, MacRow] = {}
    groups: dict[object, _MacGroup] = {}
    for row in rows:
        mac = normalise_mac(row[3])
        if mac is None or mac in ignored:
            continue
        if not is_valid_mac(mac):
            findings.append(Finding(Code.MAC_INVALID, row[0], mac_problem(row[3])))
            continue
        if no_scope:
            continue
        key: object = mac if global_scope else (section_of(row[1]), mac)
        earlier = first.setdefault(key, row)
        if earlier is not row:
            group = groups.get(key)
            if group is None:
                group = groups[key] = _MacGroup(mac, [_MacEntry(earlier, host_key)])
            group.entries.append(_MacEntry(row, host_key))
    for group in groups.values():
        findings.extend(_duplicate_macs(group))
    return findings


class _MacEntry:
    __slots__ = ("host", "row_id")

    def __init__(self, row: MacRow, host_key: Callable[[str | None], str]) -> None:
        self.row_id = row[0]
        self.host = host_key(row[2])


class _MacGroup:
    __slots__ = ("entries", "mac")

    def __init__(self, mac: str, entries: list[_MacEntry]) -> None:
        self.mac = mac
        self.entries = entries


def _duplicate_macs(mac_group: _MacGroup) -> list[Finding]:
    group = mac_group.entries
    owner = group[0]
    # Only the lowest ids are named, so a huge group costs linear, not quadratic, time.
    head = group[: MAX_RELATED_IDS + 1]
    findings = []
    for entry in group[1:]:
        if entry.host == owner.host:
            continue
        named = [e for e in head if e is not entry][:MAX_RELATED_IDS]
        findings.append(
            Finding(
                Code.DUPLICATE_MAC,
                entry.row_id,
                _duplicate_mac_reason(mac_group.mac, entry, named, len(group) - 1),
                tuple(e.row_id for e in named),
            )
        )
    return findings


def _duplicate_mac_reason(
    mac: str, entry: _MacEntry, others: list[_MacEntry], other_count: int
) -> str:
    named = ", ".join(
        f"row {e.row_id} ({quote(e.host) if e.host else 'no hostname'})"
        for e in others[:_MAX_ROWS_NAMED]
    )
    hidden = other_count - min(len(others), _MAX_ROWS_NAMED)
    more = f" and {hidden} more" if hidden > 0 else ""
    this_host = quote(entry.host) if entry.host else "no hostname"
    return f"MAC {format_mac(mac)} of this row ({this_host}) is also on {named}{more}"
