"""Whether a secondary is behind, and since when: the logic `serve`'s metrics watcher
and the notifier share (RFC 1982 serial order, the timeline of served serials)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from dns.serial import Serial

IN_SYNC = "in sync"
BEHIND = "behind"
AHEAD = "ahead"
NO_ANSWER = "no answer"

Pair = tuple[str, str]  # (secondary label, zone)


@dataclass(frozen=True, slots=True)
class SecondaryZoneState:
    """One secondary's serial of one zone against the serial pphook serves."""

    secondary: str
    zone: str
    theirs: int | None  # None: no answer
    ours: int
    behind: bool  # older than ours (RFC 1982), or no answer

    @property
    def status(self) -> str:
        if self.theirs is None:
            return NO_ANSWER
        if self.theirs == self.ours:
            return IN_SYNC
        return BEHIND if self.behind else AHEAD


def is_older(theirs: int, ours: int) -> bool:
    """RFC 1982: is serial ``theirs`` before ``ours``? (4294967295 is before 5.)

    At a distance of exactly 2^31 the order is undefined; a secondary then refuses to
    transfer (it only moves to a greater serial), so that counts as not older.
    """
    return bool(Serial(theirs) < Serial(ours))  # dnspython's operators are untyped


def lag_report(
    pphook_serials: Mapping[str, int], secondary_serials: Mapping[str, Mapping[str, int | None]]
) -> list[SecondaryZoneState]:
    """Each secondary against each zone pphook serves, in the given orders.

    A secondary "ahead" of pphook (a newer serial by RFC 1982) is not behind: with
    several nodes it happens while one node's phpIPAM replica lags. It is shown as such
    by `pphook check`; if it lasts, the state store was reset or the secondary
    transfers from another primary, and it will not take pphook's zone until pphook's
    serial passes its own.
    """
    states = []
    for secondary, serials in secondary_serials.items():
        for zone, ours in pphook_serials.items():
            theirs = serials.get(zone)
            behind = theirs is None or is_older(theirs, ours)
            states.append(SecondaryZoneState(secondary, zone, theirs, ours, behind))
    return states


class SerialTimeline:
    """When pphook started serving each serial of each zone.

    Staleness is measured from there: a secondary holding serial S has missed data
    since pphook first served a serial newer than S. Counting from the first time the
    secondary was *seen* behind would add up the few seconds each transfer takes under
    steady churn and report a secondary that keeps up as behind for good.
    """

    KEEP = 64  # serials per zone (a lagging secondary further back is behind anyway)

    def __init__(self, entries: Iterable[tuple[str, int, float]] = ()) -> None:
        self._seen: dict[str, dict[int, float]] = {}
        for zone, serial, at in entries:
            self.record(zone, serial, at)

    def record(self, zone: str, serial: int, at: float) -> None:
        seen = self._seen.setdefault(zone, {})
        if serial in seen and seen[serial] <= at:
            return
        seen[serial] = at
        if len(seen) > self.KEEP:
            del seen[min(seen, key=seen.__getitem__)]

    def first_newer(self, zone: str, serial: int) -> float | None:
        """When pphook first served a serial of ``zone`` newer than ``serial``, if known."""
        times = [at for s, at in self._seen.get(zone, {}).items() if is_older(serial, s)]
        return min(times) if times else None


def behind_since(
    state: SecondaryZoneState, previous: float | None, timeline: SerialTimeline, now: float
) -> float | None:
    """Since when ``state`` has been behind (None: it is not).

    ``previous`` is what the last round said. A secondary that answers is behind since
    pphook first served a serial it lacks, when the timeline knows that time; an
    unanswering one since it was first seen so (or since it was behind before).
    """
    if not state.behind:
        return None
    if state.theirs is not None:
        published = timeline.first_newer(state.zone, state.theirs)
        if published is not None:
            return min(published, now)
    return previous if previous is not None else now


def track_behind(
    states: Iterable[SecondaryZoneState],
    previous: Mapping[Pair, float],
    timeline: SerialTimeline,
    now: float,
) -> dict[Pair, float]:
    """Since when each (secondary, zone) of ``states`` is behind (pairs that are not
    behind are left out); ``previous``: what the last round said."""
    since_by_pair: dict[Pair, float] = {}
    for state in states:
        pair = (state.secondary, state.zone)
        since = behind_since(state, previous.get(pair), timeline, now)
        if since is not None:
            since_by_pair[pair] = since
    return since_by_pair
