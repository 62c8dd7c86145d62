"""Circuit breaker states."""

from __future__ import annotations

from remote_backend.monitor.health import CircuitBreaker, CircuitState


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_breaker_opens_after_threshold_and_half_opens_after_cooldown() -> None:
    clock = Clock()
    breaker = CircuitBreaker(failures=3, cooldown=5, clock=clock)
    assert breaker.state is CircuitState.CLOSED
    breaker.failure()
    breaker.failure()
    assert breaker.allow() and breaker.state is CircuitState.CLOSED
    breaker.failure()
    assert breaker.state is CircuitState.OPEN and not breaker.allow()
    clock.now += 4.9
    assert not breaker.allow()
    clock.now += 0.2
    assert breaker.state is CircuitState.HALF_OPEN and breaker.allow()
    breaker.failure()  # the probe failed: open again for a full cool-down
    assert breaker.state is CircuitState.OPEN
    clock.now += 5
    breaker.success()
    assert breaker.state is CircuitState.CLOSED and breaker.consecutive_failures == 0
    assert breaker.opened_total == 1
