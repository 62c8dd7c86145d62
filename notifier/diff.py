"""New vs already reported: the pure part of a pass (no I/O, easy to test).

A problem is mailed once: when it first appears, or at a later pass if that mail
could not go out (SMTP down, rate limit). A problem that goes away is resolved; it
gets a "resolved" mail only if it was announced and ``notifier.resolved_mails`` is on.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from notifier.problems import Problem, sorted_problems


@dataclass(frozen=True, slots=True)
class StoredProblem:
    """A problem the state store knows, with its mail history."""

    problem: Problem
    detected_at: float
    reported_at: float | None  # None: not mailed yet
    resolved_at: float | None  # not None: fixed, its "resolved" mail still due

    @property
    def key(self) -> str:
        return self.problem.key


@dataclass(frozen=True, slots=True)
class Changes:
    """What one pass changes in the store, and what is waiting to be mailed after it."""

    new: tuple[Problem, ...]
    reopened: tuple[StoredProblem, ...]  # fixed, then back before its resolved mail
    resolved: tuple[StoredProblem, ...]  # open before this pass, gone now
    to_mail: tuple[Problem, ...]  # open and never mailed (new ones included)
    resolved_to_mail: tuple[StoredProblem, ...]
    # resolved mails still due from before notifier.resolved_mails was switched off
    dropped: tuple[StoredProblem, ...] = ()

    @property
    def touches_store(self) -> bool:
        return bool(self.new or self.reopened or self.resolved or self.dropped)

    @property
    def nothing_to_mail(self) -> bool:
        return not self.to_mail and not self.resolved_to_mail


def compute_changes(
    stored: Mapping[str, StoredProblem],
    current: Mapping[str, Problem],
    *,
    resolved_mails: bool,
    now: float,
) -> Changes:
    new = [p for k, p in current.items() if k not in stored]
    reopened = [s for k, s in stored.items() if k in current and s.resolved_at is not None]
    resolved = [s for k, s in stored.items() if k not in current and s.resolved_at is None]
    to_mail = [p for k, p in current.items() if k not in stored or stored[k].reported_at is None]
    resolved_to_mail: list[StoredProblem] = []
    waiting = [s for k, s in stored.items() if k not in current and s.resolved_at is not None]
    if resolved_mails:
        just_fixed = [
            StoredProblem(s.problem, s.detected_at, s.reported_at, now)
            for s in resolved
            if s.reported_at is not None
        ]
        resolved_to_mail = sorted(waiting + just_fixed, key=lambda s: s.problem.sort_key)
    return Changes(
        new=tuple(sorted_problems(new)),
        reopened=tuple(sorted(reopened, key=lambda s: s.problem.sort_key)),
        resolved=tuple(sorted(resolved, key=lambda s: s.problem.sort_key)),
        to_mail=tuple(sorted_problems(to_mail)),
        resolved_to_mail=tuple(resolved_to_mail),
        dropped=() if resolved_mails else tuple(waiting),
    )
