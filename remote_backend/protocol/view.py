"""What the protocol answers from: one consistent view of what is served.

Two kinds exist: an in-memory ``Snapshot`` (one-shot verbs, tests) and the shared
snapshot file the pdns coprocesses read (``remote_backend/shared``). Both hand out the
same encoded values (``protocol/encode.py``), so every serving path replies alike.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Protocol


class ZoneInfo(Protocol):
    """A served zone as the protocol needs it."""

    @property
    def id(self) -> int: ...

    @property
    def name(self) -> str: ...

    @property
    def serial(self) -> int: ...


class AnswerView(Protocol):
    """One snapshot generation. Every request reads one view (no answer mixes two)."""

    @property
    def zones(self) -> Sequence[ZoneInfo]: ...

    @property
    def zone_by_name(self) -> Mapping[str, ZoneInfo]: ...

    @property
    def zone_by_id(self) -> Mapping[int, ZoneInfo]: ...

    def value(self, name: str) -> bytes | None:
        """The encoded value of ``name`` (lowercase, no trailing dot); None when the
        name has nothing served (not even an empty non-terminal)."""
        ...

    def list_values(self, zone: ZoneInfo) -> Iterable[tuple[str, bytes]]:
        """(owner, value) of every owner of ``zone`` that has records (no ENTs)."""
        ...

    def list_raw(self, zone: ZoneInfo) -> tuple[list[bytes], list[bytes]]:
        """The owners (ASCII, no trailing dot) and values of ``zone`` in key order, as
        two lists (``list`` replies are built from them in bulk); empty non-terminals
        may be among them."""
        ...

    def stored_list(self, zone: ZoneInfo) -> bytes | None:
        """The whole ``list`` reply of ``zone`` if the view holds it ready, built from
        exactly the values it reads now (the handler then sends it as it is; `serve`
        stores it in idle time, ``shared/lists.py``); None: build it from ``list_raw``
        (``answers.built_list_reply``)."""
        ...
