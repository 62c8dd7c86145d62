"""Prometheus metrics of `pphook serve` (``server.metrics = "127.0.0.1:PORT"``).

Values are read at scrape time from counters the hot path already keeps (plain dict
and int updates), so exposing metrics costs the lookups nothing.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import TYPE_CHECKING

from prometheus_client import start_http_server
from prometheus_client.core import (
    CollectorRegistry,
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
)
from prometheus_client.registry import Collector

from remote_backend.config.server import parse_listen as listen_address
from remote_backend.errors import ConfigError
from remote_backend.monitor.health import CircuitState, Health
from remote_backend.protocol.handler import LATENCY_BUCKETS
from remote_backend.shared.stats import Counts, StatsTotals
from validators.codes import Code

# the problem codes of phpIPAM rows (SECONDARY_BEHIND is the notifier's own)
ROW_PROBLEM_CODES = tuple(c.value for c in Code if c.is_problem and c is not Code.SECONDARY_BEHIND)

if TYPE_CHECKING:
    from remote_backend.build.live import LiveSnapshot
    from remote_backend.protocol.handler import BackendHandler
    from remote_backend.secondaries.watch import SecondaryWatcher


class PphookCollector(Collector):
    def __init__(
        self,
        live: LiveSnapshot,
        handler: BackendHandler,
        watcher: SecondaryWatcher | None = None,
        coprocesses: StatsTotals | None = None,
    ) -> None:
        self.live = live
        self.handler = handler
        self.watcher = watcher
        self.coprocesses = coprocesses

    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily | HistogramMetricFamily]:
        live, handler = self.live, self.handler
        # the requests `serve` answered itself (its socket) and those pdns's coprocesses
        # answered from the shared snapshot (shared/stats.py)
        counts = Counts(
            dict(handler.requests),
            handler.errors,
            {m: list(v) for m, v in handler.latency.items()},
        )
        if self.coprocesses is not None:
            counts.add(self.coprocesses.read())
        requests = CounterMetricFamily(
            "pphook_requests", "Protocol requests by method", labels=["method"]
        )
        for method, count in sorted(counts.requests.items()):
            requests.add_metric([method], count)
        yield requests
        yield CounterMetricFamily(
            "pphook_request_errors",
            "Requests answered false or without result",
            value=counts.errors,
        )
        latency = HistogramMetricFamily(
            "pphook_request_seconds", "Time to answer a request, by method", labels=["method"]
        )
        for method, stats in sorted(counts.latency.items()):
            cumulative = 0.0
            buckets: list[tuple[str, float]] = []
            bounds: tuple[float, ...] = (*LATENCY_BUCKETS, float("inf"))
            for bound, in_bucket in zip(bounds, stats[2:], strict=True):
                cumulative += in_bucket
                buckets.append((_bound(bound), cumulative))
            latency.add_metric([method], buckets, sum_value=stats[1])
        yield latency

        zones = live.zones or ()
        built = live.published_at
        yield GaugeMetricFamily(
            "pphook_snapshot_age_seconds",
            "Seconds since the publication being served was built from phpIPAM",
            value=(time.time() - built) if built is not None else float("nan"),
        )
        yield GaugeMetricFamily(
            "pphook_snapshot_records",
            "Records in the publication being served",
            value=sum(z.record_count for z in zones),
        )
        yield GaugeMetricFamily(
            "pphook_snapshot_build_seconds",
            "Duration of the last build",
            value=live.last_build_seconds,
        )
        yield CounterMetricFamily("pphook_refreshes", "Snapshot rebuilds", value=live.refreshes)
        yield CounterMetricFamily(
            "pphook_changes", "Rebuilds that changed what is served", value=live.changes
        )
        yield CounterMetricFamily(
            "pphook_db_errors", "Failed reads of the phpIPAM database", value=live.db_errors
        )
        rejections = GaugeMetricFamily(
            "pphook_rejections",
            "Problems of phpIPAM rows, by finding code (an alias problem counts per alias)",
            labels=["code"],
        )
        # every code the rules can give, 0 included: a series that only appears with
        # the first problem of its kind cannot be graphed or alerted on before it
        by_code = {code: 0 for code in ROW_PROBLEM_CODES} | live.rejections
        for code, count in sorted(by_code.items()):
            rejections.add_metric([code], count)
        yield rejections
        yield GaugeMetricFamily(
            "pphook_static_file_errors",
            "Static zone files (zones.static_dir) that cannot be served; their zones keep "
            "the last good content",
            value=len(live.static_errors),
        )
        serials = GaugeMetricFamily("pphook_zone_serial", "SOA serial by zone", labels=["zone"])
        for zone in zones:
            serials.add_metric([zone.name], zone.serial)
        yield serials
        circuit = GaugeMetricFamily(
            "pphook_circuit_state", "1 for the database circuit's current state", labels=["state"]
        )
        current = live.breaker.state
        for state in CircuitState:
            circuit.add_metric([state.value], 1 if state is current else 0)
        yield circuit
        health = GaugeMetricFamily(
            "pphook_health", "1 for the current health state", labels=["state"]
        )
        now = live.health()
        for value in Health:
            health.add_metric([value.value], 1 if value is now else 0)
        yield health
        if self.watcher is not None:
            labels = ["secondary", "zone"]
            serial = GaugeMetricFamily(
                "pphook_secondary_serial",
                "SOA serial a watched secondary serves (NaN: no answer)",
                labels=labels,
            )
            behind = GaugeMetricFamily(
                "pphook_secondary_behind_seconds",
                "Seconds a watched secondary has been behind pphook (0: in sync)",
                labels=labels,
            )
            for w in self.watcher.states():
                theirs = float("nan") if w.theirs is None else w.theirs
                serial.add_metric([w.secondary, w.zone], theirs)
                behind.add_metric([w.secondary, w.zone], w.behind_seconds())
            yield serial
            yield behind


def _bound(value: float) -> str:
    return "+Inf" if value == float("inf") else repr(value)


def parse_listen(value: str, config_path: str) -> tuple[str, int]:
    """``server.metrics`` as (host, port); the config check runs the same parser, so a
    config `check` accepts never fails here."""
    try:
        return listen_address(value)
    except ValueError as exc:
        raise ConfigError(config_path, "server.metrics", str(exc)) from None


def start_metrics(
    listen: str,
    config_path: str,
    live: LiveSnapshot,
    handler: BackendHandler,
    watcher: SecondaryWatcher | None = None,
    coprocesses: StatsTotals | None = None,
) -> None:
    """Serve /metrics on ``listen`` in a daemon thread."""
    host, port = parse_listen(listen, config_path)
    registry = CollectorRegistry()
    registry.register(PphookCollector(live, handler, watcher, coprocesses))
    try:
        start_http_server(port, addr=host, registry=registry)
    except OSError as exc:  # the port is taken, or the address is not this host's
        raise ConfigError(
            config_path,
            "server.metrics",
            f"cannot listen on {listen}: {exc.strerror or exc}; choose a free port "
            "(or stop what uses it)",
        ) from exc
