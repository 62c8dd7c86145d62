"""``validate``: every phpIPAM row in, what DNS publishes and why the rest is not, out.

The rules run in the order of docs/publication-rules.md: per row, the first rule a row
fails gives its finding (section filter: out of scope, then no hostname, hostname
syntax, single-label qualification, zone, address, state filter); then, among the rows
still standing, hostname duplicates and PTR conflicts; MACs are checked on their own
and never affect DNS. Rows are handled in id order, so the result does not depend on
the input order."""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from itertools import compress
from operator import attrgetter

from validators.address import (
    IPV4_MAX,
    IPV6_MAX,
    Family,
    InvalidAddress,
    address_value,
    make_address,
    subnet_family,
)
from validators.aliases import decide_aliases
from validators.codes import Code
from validators.construct import new_finding
from validators.duplicates import MacRow, duplicate_hostname, find_mac_problems
from validators.filters import PtrGate, RowFilter
from validators.fqdn import SAME, FqdnResolver
from validators.model import (
    AddressRecords,
    Alias,
    DuplicateHostnamePolicy,
    Finding,
    IpamData,
    Policy,
    PtrRecords,
    Publication,
    RecordColumns,
    SubnetRow,
    ZoneFacts,
    ip_addr_text,
)
from validators.ptr import SUPPRESSED_REASON, ip_conflict
from validators.rejection import Rejection
from validators.text import quote
from validators.zones import ZoneIndex

_finding_order = attrgetter("row_id", "code")


def validate(data: IpamData, policy: Policy, facts: ZoneFacts | None = None) -> Publication:
    """Apply the publication policy to every address row of ``data``.

    Pure: no I/O, ``data`` is not modified, and equal inputs give equal results.
    Callers that validate again and again (every refresh) should keep a ``Validator``.
    """
    return Validator(policy).validate(data, facts=facts)


class Validator:
    """``validate`` bound to one policy, reusing hostname work from one call to the next.

    Between two refreshes almost every hostname is unchanged, and checking names is
    the largest part of a pass, so the checked names are kept (only about as many as
    the data holds: memory follows the data). Results are exactly those of ``validate``.
    """

    __slots__ = ("_resolver", "policy")

    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        self._resolver = FqdnResolver(policy)

    def validate(
        self, data: IpamData, whole: bool = True, facts: ZoneFacts | None = None
    ) -> Publication:
        """``validate(data, policy, facts)``. ``whole=False``: ``data`` is a part of the
        rows (an incremental refresh's groups), so the names remembered for the whole
        set are kept as they are."""
        with gc_paused():
            self._resolver.prefill(data.columns.hostnames)
            publication = _validate(data, self.policy, self._resolver, facts or ZoneFacts())
            if whole:
                self._resolver.end_pass(data.columns.hostnames)
        return publication

    def forget_names(self) -> None:
        """Drop the checked names (a dict entry per distinct hostname: ~40-80 MiB at
        1M rows). For a process that validates whole sets rarely and parts often
        (`serve` between full publications): the next whole pass checks every name
        again, with the same results."""
        self._resolver.cache = {}

    @property
    def zones(self) -> ZoneIndex:
        """The served forward zones."""
        return self._resolver.zones

    def fqdn(self, hostname: str | None) -> str | None:
        """The FQDN a row with this hostname would be published under, or None when
        the name cannot be published (rules 1-4)."""
        resolved = self._resolver.resolve(hostname)
        return resolved if isinstance(resolved, str) else None


@contextmanager
def gc_paused() -> Iterator[None]:
    """Keep the cyclic GC out of a pass over the rows (``validate``, a snapshot build).

    A pass allocates a few objects per row and creates no reference cycles; with
    millions of rows alive, the collections those allocations trigger would scan the
    whole heap again and again (measured: ~3x slower at 1M rows). Nests: only the
    outermost one turns the GC back on.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _validate(
    data: IpamData, policy: Policy, resolver: FqdnResolver, facts: ZoneFacts
) -> Publication:
    with_aliases = policy.alias_field is not None and bool(data.aliases)
    published: dict[int, str] | None = {} if with_aliases else None
    findings, mac_rows, records, ptrs = _decide_rows(data, policy, resolver, facts, published)
    mac_findings = find_mac_problems(
        mac_rows,
        scope=policy.mac_duplicate_scope,
        ignore=policy.mac_ignore,
        host_key=resolver.comparison_key,
        section_of=_section_lookup(data.subnets),
    )
    aliases: list[Alias] = []
    if published is not None:
        aliases, alias_findings = decide_aliases(
            data.aliases,
            published,
            set(records.fqdns),
            facts,
            resolver.zones,
            allow_underscore=policy.allow_underscore,
        )
        mac_findings += alias_findings
    if mac_findings:
        # The row pass emits its findings in (row_id, code) order already.
        findings += mac_findings
        findings.sort(key=_finding_order)
    return Publication(
        records=AddressRecords(records),
        ptrs=PtrRecords(ptrs),
        findings=tuple(findings),
        aliases=tuple(aliases),
    )


def _decide_rows(
    data: IpamData,
    policy: Policy,
    resolver: FqdnResolver,
    facts: ZoneFacts,
    published: dict[int, str] | None,
) -> tuple[list[Finding], list[MacRow], RecordColumns, RecordColumns]:
    """Rules 1-8 in one pass over the rows in id order.

    Every decision about a row depends only on rows with a lower id (the lowest id
    wins everywhere), so it can be taken as the row arrives. Returns the findings,
    the rows whose MAC is to be checked, the records and the PTRs.

    This loop runs once per row, millions of times: it works on plain lists and
    dicts (no object per record), the common cases first, with everything it calls
    bound to a local name.
    """
    columns = data.columns
    family_of_subnet: dict[int | None, Family | None] = {
        sid: subnet_family(s) for sid, s in data.subnets.items()
    }
    publish_all = policy.duplicate_hostname is DuplicateHostnamePolicy.PUBLISH_ALL
    row_filter = RowFilter(data, policy)
    ptr_gate = PtrGate(data, policy)
    filtering = row_filter.filters
    out_of_scope = row_filter.out_of_scope
    state_rejection = row_filter.state_rejection
    gate_ptrs = ptr_gate.requires_flag
    ptr_blocks = ptr_gate.blocks
    # names the zones give to others: below a delegation, or held by a static CNAME
    blocked = _BlockedNames(facts) if facts.cuts or facts.cnames else None
    delegated = [
        (int(n.network_address), int(n.broadcast_address), str(n)) for n in policy.delegated_reverse
    ]
    cache = resolver.cache
    resolve = resolver.resolve_uncached
    family_of = family_of_subnet.get
    # the records and the PTRs, column by column
    rec_fqdns: list[str] = []
    rec_values: list[int] = []
    rec_families: list[int] = []
    rec_ids: list[int] = []
    ptr_fqdns: list[str] = []
    ptr_values: list[int] = []
    ptr_families: list[int] = []
    ptr_ids: list[int] = []
    # rule 7, per family: FQDN -> index of the winner's record
    first4: dict[str, int] = {}
    first6: dict[str, int] = {}
    # rule 8, per family: address value -> index of its PTR
    holders4: dict[int, int] = {}
    holders6: dict[int, int] = {}
    round_robin: set[tuple[str, int, int]] = set()
    mac_rows: list[MacRow] = []
    findings: list[Finding] = []
    report = findings.append
    add_mac_row = mac_rows.append
    for row_id, subnet_id, ip_addr, hostname, mac, state, ptr_ignore in zip(
        columns.ids,
        columns.subnet_ids,
        columns.ip_addrs,
        columns.hostnames,
        columns.macs,
        columns.states,
        columns.ptr_ignores,
        strict=True,
    ):
        if filtering:
            # rule 0: a row outside policy.sections is not pphook's business: no other
            # rule looks at it (no problem is reported about it, its MAC is not compared)
            filtered = out_of_scope(subnet_id)
            if filtered is not None:
                report(new_finding(filtered.code, row_id, filtered.reason))
                continue
            filtered = state_rejection(state)
            if mac is not None and filtered is None:
                add_mac_row((row_id, subnet_id, hostname, mac))  # rule 9, whatever the name
        else:
            filtered = None  # and the MAC rows are gathered after the loop
        resolved = cache.get(hostname)
        if resolved is None:
            resolved = cache[hostname] = resolve(hostname)
        if resolved is SAME:
            fqdn: str = hostname  # SAME: the row's own string is the FQDN
        elif isinstance(resolved, str):
            fqdn = resolved
        else:
            report(new_finding(resolved.code, row_id, resolved.reason))  # type: ignore[union-attr]
            continue
        if blocked is not None:
            rejection = blocked.rejection(fqdn)
            if rejection is not None:
                report(new_finding(rejection.code, row_id, rejection.reason))
                continue
        parent_family = family_of(subnet_id)
        family = 0
        # the common case inline: ASCII digits (read as an int already, or not yet)
        # that fit the subnet's family
        if type(ip_addr) is int:
            value = ip_addr
        elif ip_addr is not None and len(ip_addr) <= 39 and ip_addr.isdigit() and ip_addr.isascii():
            value = int(ip_addr)
        else:
            value = -1
        if value < 0:
            pass
        elif value <= IPV4_MAX:
            family = 6 if parent_family == 6 else 4
        elif parent_family != 4 and value <= IPV6_MAX:
            family = 6
        if not family:  # anything else, with the reason when it is no address
            try:
                family, value = address_value(ip_addr_text(ip_addr), parent_family)
            except InvalidAddress as invalid:
                report(new_finding(Code.IP_INVALID, row_id, str(invalid)))
                continue
        if filtered is not None:
            report(new_finding(filtered.code, row_id, filtered.reason))
            continue

        # rule 7: per FQDN and family the lowest id wins; the same IP collapses into
        # its record; another IP is rejected, or joins a round-robin set (publish-all)
        firsts = first4 if family == 4 else first6
        count = len(rec_ids)
        winner = firsts.setdefault(fqdn, count)
        if winner is count:  # first of its name: one dict access finds and inserts
            rec_fqdns.append(fqdn)
            rec_values.append(value)
            rec_families.append(family)
            rec_ids.append(row_id)
        elif rec_values[winner] != value:
            if not publish_all:
                report(
                    duplicate_hostname(
                        row_id,
                        fqdn,
                        make_address(family, value),
                        rec_ids[winner],
                        make_address(family, rec_values[winner]),
                    )
                )
                continue
            if (fqdn, value, family) not in round_robin:
                round_robin.add((fqdn, value, family))
                rec_fqdns.append(fqdn)
                rec_values.append(value)
                rec_families.append(family)
                rec_ids.append(row_id)

        if published is not None:
            published[row_id] = fqdn  # its record is served: its aliases may be too

        # rules 6 and 8: the lowest-id contender allowed a PTR holds it; a row whose
        # PTR is suppressed neither gets nor blocks it
        if delegated and family == 4:
            elsewhere = next((n for lo, hi, n in delegated if lo <= value <= hi), None)
            if elsewhere is not None:
                report(
                    new_finding(
                        Code.PTR_DELEGATED,
                        row_id,
                        f"{make_address(family, value)} is in {elsewhere}, whose PTRs another "
                        "server publishes (zones.classless_delegations): A/AAAA published, "
                        "no PTR from it",
                    )
                )
                continue
        if ptr_ignore or gate_ptrs:
            blocks = ptr_blocks(ptr_ignore, subnet_id)
            if blocks:
                findings += [new_finding(c, row_id, SUPPRESSED_REASON[c]) for c in blocks]
                continue
        holders = holders4 if family == 4 else holders6
        count = len(ptr_ids)
        holder = holders.setdefault(value, count)
        if holder is count:
            ptr_fqdns.append(fqdn)
            ptr_values.append(value)
            ptr_families.append(family)
            ptr_ids.append(row_id)
        elif ptr_fqdns[holder] != fqdn:
            report(
                ip_conflict(
                    row_id,
                    fqdn,
                    family,
                    make_address(family, value),
                    ptr_fqdns[holder],
                    ptr_ids[holder],
                )
            )
    if not filtering:
        # every row with a MAC, gathered in C; rows whose MAC is '' are left out as
        # well: find_mac_problems would skip them (no MAC)
        macs: Sequence[str] = columns.macs  # type: ignore[assignment]  # None: left out
        mac_rows = list(
            compress(
                zip(columns.ids, columns.subnet_ids, columns.hostnames, macs, strict=True),
                macs,
            )
        )
    return (
        findings,
        mac_rows,
        RecordColumns(rec_fqdns, rec_values, rec_families, rec_ids),
        RecordColumns(ptr_fqdns, ptr_values, ptr_families, ptr_ids),
    )


class _BlockedNames:
    """Why a FQDN is not the phpIPAM host's to publish: at or below a delegation
    (``DELEGATED``), or held by a static CNAME (``STATIC_CONFLICT``)."""

    __slots__ = ("_cnames", "_cut_names", "_cuts", "_parents")

    def __init__(self, facts: ZoneFacts) -> None:
        self._cuts = ZoneIndex(facts.cuts)
        self._cut_names = frozenset(facts.cuts)
        self._cnames = facts.cnames
        # parent name -> the cut at or above it (None: none); most rows share a parent
        self._parents: dict[str, str | None] = {}

    def rejection(self, fqdn: str) -> Rejection | None:
        if fqdn in self._cut_names:
            cut: str | None = fqdn
        else:
            parent = fqdn.partition(".")[2]
            try:
                cut = self._parents[parent]
            except KeyError:
                cut = self._cuts.find(parent) if parent else None
                if len(self._parents) < 1 << 16:
                    self._parents[parent] = cut
        if cut is not None:
            return Rejection(
                Code.DELEGATED,
                f"{quote(fqdn)} is at or below the delegation {quote(cut)} (NS in "
                "zones.static_dir): that name belongs to the delegated zone's servers; "
                "not published",
            )
        if fqdn in self._cnames:
            return Rejection(
                Code.STATIC_CONFLICT,
                f"{quote(fqdn)} is a CNAME in zones.static_dir: a name holds a CNAME or "
                "other data, never both; the static record wins, the host is not published",
            )
        return None


def _section_lookup(subnets: Mapping[int, SubnetRow]) -> Callable[[int | None], int | None]:
    """The section of a subnet id (None when the subnet is unknown)."""
    by_subnet: dict[int | None, int | None] = {sid: s.section_id for sid, s in subnets.items()}
    return lambda subnet_id: by_subnet.get(subnet_id)
