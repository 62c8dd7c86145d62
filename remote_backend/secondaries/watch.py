"""Secondaries are watched: `pphook check`'s table and the metrics watcher of `serve`.

``zones.secondaries`` holds addresses, never names, so watching does not depend on the
DNS being watched. The notifier mails secondaries that stay behind with the same logic
(``secondaries.lag``).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Self

from remote_backend.secondaries.address import as_secondary
from remote_backend.secondaries.lag import (
    AHEAD,
    NO_ANSWER,
    SerialTimeline,
    lag_report,
    track_behind,
)
from remote_backend.secondaries.soa import QUERY_TIMEOUT, query_serials, query_soa

if TYPE_CHECKING:
    from remote_backend.config import Config
    from remote_backend.snapshot import Snapshot

log = logging.getLogger("pphook.secondaries")

WATCH_INTERVAL = 30.0  # seconds between rounds of the metrics watcher


# -- pphook check ----------------------------------------------------------------------


def secondary_lines(
    config: Config, snapshot: Snapshot, timeout: float = QUERY_TIMEOUT
) -> list[str]:
    """`pphook check`'s table: each secondary's serial per zone against pphook's.

    Empty when ``zones.secondaries`` is. Never raises for an unreachable secondary:
    that is a line saying so.
    """
    if not config.zones.secondaries:
        return []
    ours = {z.name: z.serial for z in snapshot.zones}
    answers = query_soa(config.zones.secondaries, list(ours), timeout)
    serials = {label: {z: a.serial for z, a in zs.items()} for label, zs in answers.items()}
    lines = ["secondaries (SOA serial per zone: theirs vs pphook's):"]
    lines.append(f"  {'secondary':24} {'zone':40} {'theirs':>12} {'ours':>12}  status")
    for s in lag_report(ours, serials):
        theirs = "-" if s.theirs is None else str(s.theirs)
        status = s.status
        if s.theirs is None:
            status = f"{NO_ANSWER} ({answers[s.secondary][s.zone].error})"
        elif status == AHEAD:
            status = f"{AHEAD} (a newer serial: it will not transfer pphook's zone)"
        lines.append(f"  {s.secondary:24} {s.zone:40} {theirs:>12} {s.ours:>12}  {status}")
    return lines


# -- the metrics watcher ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class WatchedZone:
    """The latest round's view of one secondary and zone."""

    secondary: str
    zone: str
    theirs: int | None
    ours: int
    status: str
    behind_since: float | None  # None: not behind
    checked_at: float

    def behind_seconds(self, now: float | None = None) -> float:
        if self.behind_since is None:
            return 0.0
        return max(0.0, (time.time() if now is None else now) - self.behind_since)


class SecondaryWatcher:
    """Asks the secondaries every ``interval`` seconds, in a daemon thread, and keeps
    the latest states (``states()``, for the metrics collector) and since when each
    (secondary, zone) has been behind.

    ``serials`` gives the zone serials pphook serves now (empty while there is no
    snapshot: the round is skipped).
    """

    def __init__(
        self,
        secondaries: Sequence[str],
        serials: Callable[[], Mapping[str, int]],
        *,
        interval: float = WATCH_INTERVAL,
        timeout: float = QUERY_TIMEOUT,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.secondaries = tuple(as_secondary(s) for s in secondaries)
        self.serials = serials
        self.interval = interval
        self.timeout = min(timeout, interval)
        self.clock = clock
        self.timeline = SerialTimeline()
        self._states: dict[tuple[str, str], WatchedZone] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def poll(self) -> list[WatchedZone]:
        """One round; returns (and keeps) the new states."""
        ours = dict(self.serials())
        if not ours:
            return self.states()
        now = self.clock()
        for zone, serial in ours.items():
            self.timeline.record(zone, serial, now)
        theirs = query_serials(self.secondaries, list(ours), self.timeout)
        with self._lock:
            previous = {
                pair: w.behind_since
                for pair, w in self._states.items()
                if w.behind_since is not None
            }
        report = lag_report(ours, theirs)
        since = track_behind(report, previous, self.timeline, now)
        states: dict[tuple[str, str], WatchedZone] = {}
        for s in report:
            pair = (s.secondary, s.zone)
            states[pair] = WatchedZone(
                s.secondary, s.zone, s.theirs, s.ours, s.status, since.get(pair), now
            )
        with self._lock:
            self._states = states
        return list(states.values())

    def states(self) -> list[WatchedZone]:
        """The latest round (empty before the first one)."""
        with self._lock:
            return list(self._states.values())

    def start(self) -> Self:
        self._thread = threading.Thread(target=self._loop, name="pphook-secondaries", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(self.timeout + 1)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.poll()
            except Exception:  # never let a watcher problem touch serving
                log.exception(
                    "watching the secondaries failed (next round in %.0f s)", self.interval
                )
            self._stop.wait(self.interval)


def watch_secondaries(
    config: Config, serials: Callable[[], Mapping[str, int]], interval: float = WATCH_INTERVAL
) -> SecondaryWatcher | None:
    """A started watcher of ``zones.secondaries`` against the serials published now
    (``serials``: empty while nothing is), or None when no secondary is configured."""
    if not config.zones.secondaries:
        return None
    return SecondaryWatcher(config.zones.secondaries, serials, interval=interval).start()
