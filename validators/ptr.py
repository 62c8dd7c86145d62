"""Who holds the PTR of each published IP (SPEC 5 rules 6 and 8, 5.1).

An IP has one reverse name, so when several published rows carry it under different
FQDNs every A/AAAA stays published, the lowest-id row allowed a PTR gets it, and the
other contenders are reported as IP conflicts. Rows whose PTR is suppressed (PTRignore,
or the subnet flag when required) are not contenders: they neither get nor block it.
"""

from __future__ import annotations

from validators.address import Family
from validators.construct import new_finding, new_ptr_record
from validators.model import Code, Finding, IPAddress, PtrRecord

_SUPPRESSED_REASON = {
    Code.PTR_IGNORED: "PTRignore is set on this address: A/AAAA published, no PTR from it",
    Code.PTR_SUBNET_FLAG_OFF: (
        "its subnet does not have 'Autocreate reverse records' on and "
        "policy.ptr_requires_subnet_flag = true: A/AAAA published, no PTR from it"
    ),
}


class PtrAssignment:
    """Rule 8, decided row by row: rows must come in ascending id order and be
    published (past hostname deduplication). ``ptrs`` collects at most one per IP."""

    __slots__ = ("_holders", "ptrs")

    def __init__(self) -> None:
        # family 4 and family 6 each map the address value -> its PTR
        self._holders: tuple[dict[int, PtrRecord], dict[int, PtrRecord]] = ({}, {})
        self.ptrs: list[PtrRecord] = []

    def admit(
        self,
        row_id: int,
        fqdn: str,
        family: Family,
        value: int,
        address: IPAddress,
        blocks: tuple[Code, ...],
    ) -> list[Finding] | None:
        """Give the row its IP's PTR if it is the first contender; findings otherwise.

        ``blocks``: why the row may not hold a PTR (see ``filters.PtrGate``).
        """
        if blocks:
            return [new_finding(code, row_id, _SUPPRESSED_REASON[code]) for code in blocks]
        holders = self._holders[family == 6]
        holder = holders.get(value)
        if holder is None:
            ptr = holders[value] = new_ptr_record(address, fqdn, row_id)
            self.ptrs.append(ptr)
            return None
        if holder.fqdn == fqdn:
            return None  # same name, same IP: the PTR already says it
        record = "A" if family == 4 else "AAAA"
        return [
            Finding(
                Code.DUPLICATE_IP,
                row_id,
                f"{address} is also published as {holder.fqdn} by row {holder.row_id}, "
                f"which holds its PTR; the {record} record {fqdn} is published without a PTR",
                (holder.row_id,),
            )
        ]
