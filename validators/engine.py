"""``validate``: every phpIPAM row in, what DNS publishes and why the rest is not, out.

The rules run in the order of SPEC 5: per row, the first rule a row fails gives its
finding (no hostname, hostname syntax, single-label qualification, zone, address,
state filter, section filter); then, among the rows still standing, hostname
duplicates and PTR conflicts; MACs are checked on their own and never affect DNS.
Rows are handled in id order, so the result does not depend on the input order.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from operator import attrgetter

from validators.address import (
    Family,
    InvalidAddress,
    address_value,
    make_address,
    subnet_family,
)
from validators.construct import new_finding
from validators.duplicates import HostnameDuplicates, find_mac_problems
from validators.filters import PtrGate, RowFilter
from validators.fqdn import FqdnResolver
from validators.model import (
    AddressRecord,
    AddressRow,
    Code,
    DuplicateHostnamePolicy,
    Finding,
    IpamData,
    Policy,
    PtrRecord,
    Publication,
    SubnetRow,
)
from validators.ptr import PtrAssignment

_by_id = attrgetter("id")
_finding_order = attrgetter("row_id", "code")


def validate(data: IpamData, policy: Policy) -> Publication:
    """Apply the publication policy to every address row of ``data``.

    Pure: no I/O, ``data`` is not modified, and equal inputs give equal results.
    Callers that validate again and again (every refresh) should keep a ``Validator``.
    """
    return Validator(policy).validate(data)


class Validator:
    """``validate`` bound to one policy, reusing hostname work from one call to the next.

    Between two refreshes almost every hostname is unchanged, and checking names is
    the largest part of a pass, so the checked names of the last call are kept (and
    only those: memory follows the data). Results are exactly those of ``validate``.
    """

    __slots__ = ("_resolver", "policy")

    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        self._resolver = FqdnResolver(policy)

    def validate(self, data: IpamData) -> Publication:
        with _gc_paused():
            publication = _validate(data, self.policy, self._resolver)
        self._resolver.new_pass()
        return publication


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Keep the cyclic GC out of one ``validate`` call.

    A call allocates a few objects per row and creates no reference cycles; with
    millions of rows alive, the collections those allocations trigger would scan the
    whole heap again and again (measured: ~3x slower at 1M rows).
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _validate(data: IpamData, policy: Policy, resolver: FqdnResolver) -> Publication:
    rows = sorted(data.addresses, key=_by_id)
    findings, mac_rows, records, ptrs = _decide_rows(rows, data, policy, resolver)
    mac_findings = find_mac_problems(
        mac_rows,
        scope=policy.mac_duplicate_scope,
        ignore=policy.mac_ignore,
        host_key=resolver.comparison_key,
        section_of=_section_lookup(data.subnets),
    )
    if mac_findings:
        # The row pass emits its findings in (row_id, code) order already.
        findings += mac_findings
        findings.sort(key=_finding_order)
    return Publication(records=tuple(records), ptrs=tuple(ptrs), findings=tuple(findings))


def _decide_rows(
    rows: list[AddressRow], data: IpamData, policy: Policy, resolver: FqdnResolver
) -> tuple[list[Finding], list[AddressRow], list[AddressRecord], list[PtrRecord]]:
    """Rules 1-8 in one pass over the rows in id order.

    Every decision about a row depends only on rows with a lower id (the lowest id
    wins everywhere), so it can be taken as the row arrives. Returns the findings,
    the rows whose MAC is to be checked, the records and the PTRs.
    """
    family_of_subnet: dict[int | None, Family | None] = {
        sid: subnet_family(s) for sid, s in data.subnets.items()
    }
    publish_all = policy.duplicate_hostname is DuplicateHostnamePolicy.PUBLISH_ALL
    names = HostnameDuplicates(publish_all=publish_all)
    reverse = PtrAssignment()
    mac_rows: list[AddressRow] = []
    findings: list[Finding] = []
    # Bound methods in locals: this loop runs once per row, millions of times.
    filter_rejection = RowFilter(data, policy).rejection
    ptr_blocks = PtrGate(data, policy).blocks
    resolve = resolver.resolve
    family_of = family_of_subnet.get
    admit_name = names.admit
    admit_ptr = reverse.admit
    report = findings.append
    for row in rows:
        filtered = filter_rejection(row)
        if filtered is None and row.mac is not None:
            mac_rows.append(row)  # MACs are checked whatever the hostname says (rule 9)
        fqdn = resolve(row.hostname)
        if not isinstance(fqdn, str):
            report(new_finding(fqdn.code, row.id, fqdn.reason))
            continue
        try:
            family, value = address_value(row.ip_addr, family_of(row.subnet_id))
        except InvalidAddress as invalid:
            report(new_finding(Code.IP_INVALID, row.id, str(invalid)))
            continue
        if filtered is not None:
            report(new_finding(filtered.code, row.id, filtered.reason))
            continue
        address = make_address(family, value)
        duplicate = admit_name(row.id, fqdn, family, address)
        if duplicate is not None:
            report(duplicate)
            continue
        ptr_findings = admit_ptr(row.id, fqdn, family, value, address, ptr_blocks(row))
        if ptr_findings is not None:
            findings += ptr_findings
    return findings, mac_rows, names.records, reverse.ptrs


def _section_lookup(subnets: Mapping[int, SubnetRow]) -> _SectionOf:
    return _SectionOf({sid: s.section_id for sid, s in subnets.items()})


class _SectionOf:
    """The section of a row, through its subnet (None when the subnet is unknown)."""

    __slots__ = ("_by_subnet",)

    def __init__(self, by_subnet: dict[int, int | None]) -> None:
        self._by_subnet = by_subnet

    def __call__(self, row: AddressRow) -> int | None:
        if row.subnet_id is None:
            return None
        return self._by_subnet.get(row.subnet_id)
