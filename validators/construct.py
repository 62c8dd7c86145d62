"""Fast builders for the frozen output objects (Finding, AddressRecord, PtrRecord).

The ``__init__`` a frozen dataclass gets assigns every field through
``object.__setattr__``, about twice the cost of a plain slot store. ``validate``
builds one to three of these objects per row, which at a million rows is most of a
second, so these builders fill the slots directly. The objects are the same as the
constructors make (equal, hashable, still frozen; tests check it). The field lists
are checked at import so a field added to the model cannot be silently left unset.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from validators.model import AddressRecord, Code, Finding, IPAddress, PtrRecord

_Setter = Callable[[Any, Any], None]


def _slot_setters(cls: type, names: tuple[str, ...]) -> tuple[_Setter, ...]:
    declared = tuple(f.name for f in dataclasses.fields(cls))
    if declared != names or hasattr(cls, "__post_init__"):
        raise ImportError(f"validators.construct is out of date with {cls.__name__}{declared}")
    return tuple(getattr(cls, name).__set__ for name in names)


_new = object.__new__
_set_code, _set_row_id, _set_reason, _set_related = _slot_setters(
    Finding, ("code", "row_id", "reason", "related_ids")
)
_set_rec_fqdn, _set_rec_address, _set_rec_row_id = _slot_setters(
    AddressRecord, ("fqdn", "address", "row_id")
)
_set_ptr_address, _set_ptr_fqdn, _set_ptr_row_id = _slot_setters(
    PtrRecord, ("address", "fqdn", "row_id")
)


def new_finding(code: Code, row_id: int, reason: str, related_ids: tuple[int, ...] = ()) -> Finding:
    finding: Finding = _new(Finding)
    _set_code(finding, code)
    _set_row_id(finding, row_id)
    _set_reason(finding, reason)
    _set_related(finding, related_ids)
    return finding


def new_address_record(fqdn: str, address: IPAddress, row_id: int) -> AddressRecord:
    record: AddressRecord = _new(AddressRecord)
    _set_rec_fqdn(record, fqdn)
    _set_rec_address(record, address)
    _set_rec_row_id(record, row_id)
    return record


def new_ptr_record(address: IPAddress, fqdn: str, row_id: int) -> PtrRecord:
    record: PtrRecord = _new(PtrRecord)
    _set_ptr_address(record, address)
    _set_ptr_fqdn(record, fqdn)
    _set_ptr_row_id(record, row_id)
    return record
