"""A fast builder for ``Finding``, the frozen object made for every rejected row.

The ``__init__`` a frozen dataclass gets assigns every field through
``object.__setattr__``, about twice the cost of a plain slot store; ``validate``
makes a finding for every row it does not publish, so this builder fills the slots
directly. The object is the same as the constructor makes (equal, hashable, still
frozen). The field list is checked at import so a field added to the model cannot be
silently left unset. (Published records are columns, not objects: see
``model.RecordColumns``.)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from validators.codes import Code
from validators.model import Finding

_Setter = Callable[[Any, Any], None]


def _slot_setters(cls: type, names: tuple[str, ...]) -> tuple[_Setter, ...]:
    declared = tuple(f.name for f in dataclasses.fields(cls))
    if declared != names or hasattr(cls, "__post_init__"):
        raise ImportError(f"validators.construct is out of date with {cls.__name__}{declared}")
    return tuple(getattr(cls, name).__set__ for name in names)


_new = object.__new__
_set_code, _set_row_id, _set_reason, _set_related, _set_subject = _slot_setters(
    Finding, ("code", "row_id", "reason", "related_ids", "subject")
)


def new_finding(code: Code, row_id: int, reason: str, related_ids: tuple[int, ...] = ()) -> Finding:
    finding: Finding = _new(Finding)
    _set_code(finding, code)
    _set_row_id(finding, row_id)
    _set_reason(finding, reason)
    _set_related(finding, related_ids)
    _set_subject(finding, "")
    return finding
