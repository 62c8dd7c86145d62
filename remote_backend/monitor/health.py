"""Circuit breaker around the phpIPAM database, and the health state it implies."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from enum import StrEnum


class CircuitState(StrEnum):
    CLOSED = "closed"  # the database answers; every tick probes it
    OPEN = "open"  # failing: no probe until the cool-down has passed
    HALF_OPEN = "half-open"  # cool-down over: the next probe decides


class Health(StrEnum):
    HEALTHY = "healthy"  # fresh snapshot, database reachable
    DEGRADED = "degraded"  # serving the last good snapshot while the database is away
    UNHEALTHY = "unhealthy"  # nothing to serve


class CircuitBreaker:
    """Opens after ``failures`` consecutive failures; half-opens after ``cooldown`` s.

    While open, callers skip the database entirely, so an outage costs no connect
    timeouts per tick; one probe after the cool-down closes it again on success.
    """

    def __init__(
        self, failures: int = 3, cooldown: float = 5.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.threshold = max(1, failures)
        self.cooldown = cooldown
        self._clock = clock
        self._lock = threading.Lock()
        self._failures = 0
        self._opened_at: float | None = None
        self.opened_total = 0

    @property
    def state(self) -> CircuitState:
        with self._lock:
            return self._state()

    def _state(self) -> CircuitState:
        if self._opened_at is None:
            return CircuitState.CLOSED
        if self._clock() - self._opened_at >= self.cooldown:
            return CircuitState.HALF_OPEN
        return CircuitState.OPEN

    def allow(self) -> bool:
        """True when a database call should be tried now."""
        with self._lock:
            return self._state() is not CircuitState.OPEN

    def success(self) -> None:
        with self._lock:
            self._failures = 0
            self._opened_at = None

    def failure(self) -> None:
        with self._lock:
            self._failures += 1
            state = self._state()
            if state is CircuitState.HALF_OPEN or (
                state is CircuitState.CLOSED and self._failures >= self.threshold
            ):
                if state is CircuitState.CLOSED:
                    self.opened_total += 1
                self._opened_at = self._clock()

    @property
    def consecutive_failures(self) -> int:
        return self._failures
