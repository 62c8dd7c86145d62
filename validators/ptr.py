"""Who holds the PTR of each published IP (docs/publication-rules.md).

An IP has one reverse name, so when several published rows carry it under different
FQDNs every A/AAAA stays published, the lowest-id row allowed a PTR gets it, and the
other contenders are reported as IP conflicts. Rows whose PTR is suppressed (PTRignore,
or the subnet flag when required) are not contenders: they neither get nor block it.
"""

from __future__ import annotations

from validators.address import Family
from validators.codes import Code
from validators.model import Finding, IPAddress

SUPPRESSED_REASON = {
    Code.PTR_IGNORED: "PTRignore is set on this address: A/AAAA published, no PTR from it",
    Code.PTR_SUBNET_FLAG_OFF: (
        "its subnet does not have 'Autocreate reverse records' on and "
        "policy.ptr_requires_subnet_flag = true: A/AAAA published, no PTR from it"
    ),
}


def ip_conflict(
    row_id: int, fqdn: str, family: Family, address: IPAddress, holder_fqdn: str, holder_id: int
) -> Finding:
    """Rule 8: ``address`` is published under another name by row ``holder_id``, which
    holds its PTR; this row keeps its A/AAAA record, without a PTR.

    The engine applies the rule row by row, in ascending id order over published rows
    (past hostname deduplication): the first contender gets the PTR, a later one with
    the same FQDN is the same PTR, one with another FQDN gets this finding. Rows whose
    PTR is suppressed are not contenders (``SUPPRESSED_REASON``).
    """
    record = "A" if family == 4 else "AAAA"
    return Finding(
        Code.DUPLICATE_IP,
        row_id,
        f"{address} is also published as {holder_fqdn} by row {holder_id}, "
        f"which holds its PTR; the {record} record {fqdn} is published without a PTR",
        (holder_id,),
    )
