"""Hostname duplicates (SPEC 5 rule 7) and MAC duplicates (rule 9).

Both take their rows in ascending id order, so "the lowest id" is simply "the first
one seen" and every decision can be made as the row arrives. Neither ever drops
data: the losers are reported, phpIPAM is untouched.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from validators.address import Family
from validators.construct import new_address_record
from validators.mac import format_mac, is_valid_mac, mac_problem, normalise_mac
from validators.model import AddressRecord, AddressRow, Code, Finding, IPAddress, MacScope
from validators.text import quote

# A MAC shared by thousands of rows (a VRRP/HSRP virtual MAC nobody put on the
# ignore list) would otherwise make findings quadratic in size.
MAX_RELATED_IDS = 50
_MAX_ROWS_NAMED = 3


class HostnameDuplicates:
    """Rule 7, decided row by row: rows must come in ascending id order.

    Per FQDN and family the first row (lowest id) wins; rows on the winner's IP
    collapse into its record; rows on another IP are rejected, or published as a
    round-robin set under ``publish-all``. Different families never compete (dual
    stack). ``records`` collects one record per distinct (FQDN, address).
    """

    __slots__ = ("_first", "_publish_all", "_round_robin", "records")

    def __init__(self, *, publish_all: bool) -> None:
        self._publish_all = publish_all
        # family 4 and family 6 each map FQDN -> the winner's record
        self._first: tuple[dict[str, AddressRecord], dict[str, AddressRecord]] = ({}, {})
        self._round_robin: set[tuple[str, IPAddress]] = set()
        self.records: list[AddressRecord] = []

    def admit(self, row_id: int, fqdn: str, family: Family, address: IPAddress) -> Finding | None:
        """None when the row is published (new record or collapsed), else its finding."""
        firsts = self._first[family == 6]
        winner = firsts.get(fqdn)
        if winner is None:
            record = new_address_record(fqdn, address, row_id)
            firsts[fqdn] = record
            self.records.append(record)
            return None
        if winner.address == address:
            return None  # same name, same IP: one record
        if self._publish_all:
            if (fqdn, address) not in self._round_robin:
                self._round_robin.add((fqdn, address))
                self.records.append(new_address_record(fqdn, address, row_id))
            return None
        return Finding(
            Code.DUPLICATE_HOSTNAME,
            row_id,
            f"{fqdn} is already published by row {winner.row_id} at {winner.address}; "
            f"this row's {address} is not published (policy.duplicate_hostname = "
            "keep-lowest-id)",
            (winner.row_id,),
        )


def find_mac_problems(
    rows: Iterable[AddressRow],
    *,
    scope: MacScope,
    ignore: Iterable[str],
    host_key: Callable[[str | None], str],
    section_of: Callable[[AddressRow], int | None],
) -> list[Finding]:
    """MAC_INVALID for malformed MACs, DUPLICATE_MAC for MACs shared between hosts.

    ``rows`` are the rows that passed the state and section filters, in id order.
    ``host_key`` gives the name rows are compared by ('' for no hostname): rows of one
    host (e.g. its IPv4 and IPv6 addresses) share a MAC legitimately. Within a group
    sharing a MAC, every row whose host differs from the lowest-id row's is reported.
    """
    ignored = frozenset(m for m in (normalise_mac(raw) for raw in ignore) if m)
    findings: list[Finding] = []
    # Most MACs are unique: keep only the first row per MAC, and build a group (and
    # compare host names) only when a second row turns up.
    first: dict[object, AddressRow] = {}
    groups: dict[object, _MacGroup] = {}
    for row in rows:
        mac = normalise_mac(row.mac)
        if mac is None or mac in ignored:
            continue
        if not is_valid_mac(mac):
            findings.append(Finding(Code.MAC_INVALID, row.id, mac_problem(row.mac or "")))
            continue
        if scope is MacScope.NONE:
            continue
        key: object = mac if scope is MacScope.GLOBAL else (section_of(row), mac)
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

    def __init__(self, row: AddressRow, host_key: Callable[[str | None], str]) -> None:
        self.row_id = row.id
        self.host = host_key(row.hostname)


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
