"""Rows of ``notifier_secondary_lag``: a (secondary, zone) behind pphook, and since when."""

from __future__ import annotations

from dataclasses import dataclass

from remote_backend.secondaries.lag import Pair


@dataclass(frozen=True, slots=True)
class LagRow:
    """A (secondary, zone) behind pphook: a row of ``notifier_secondary_lag``."""

    secondary: str
    zone: str
    since: float
    theirs: int | None
    ours: int
    error: str | None
    checked_at: float

    @property
    def pair(self) -> Pair:
        return (self.secondary, self.zone)
