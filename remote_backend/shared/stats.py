"""The coprocesses' request counters, for `serve`'s metrics.

pdns's `pphook pipe --snapshot-dir` coprocesses answer the lookups, so the request
counters and latencies (``pphook_requests_total``, ``pphook_request_seconds``...) are
theirs, not `serve`'s. Each coprocess writes its own counters to
``<snapshot_dir>/stats/<pid>.json`` every ``WRITE_EVERY`` seconds (a write and a
rename: no lock shared with anyone, so a coprocess still never waits on another
process), and `serve` adds them up at scrape time.

A Prometheus counter must never go down, yet coprocesses come and go (pdns forks one
per AXFR and SIGKILLs it after). `StatsTotals` keeps, for each pid, the last counts it
read, and moves them into a running total of retired coprocesses when the pid is gone
(or its counts went down: the pid was reused). What a coprocess counted after its last
write is lost: at most ``WRITE_EVERY`` seconds of one process.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from remote_backend.shared.layout import STATS_DIR

log = logging.getLogger("pphook.shared.stats")

WRITE_EVERY = 5.0  # seconds between two writes of one coprocess's counters
MAX_FILE = 64 * 1024  # a counters file is a few hundred bytes; anything bigger is not ours
MAX_METHODS = 64  # pdns has about twenty methods; unknown names are counted as they come


class CountingHandler(Protocol):
    """What a ``BackendHandler`` counts (``protocol/handler.py``)."""

    requests: dict[str, int]
    errors: int
    latency: dict[str, list[float]]


@dataclass
class Counts:
    """Requests by method, errors, and per method [count, seconds, bucket counts...]."""

    requests: dict[str, int] = field(default_factory=dict)
    errors: int = 0
    latency: dict[str, list[float]] = field(default_factory=dict)

    def add(self, other: Counts) -> None:
        for method, count in other.requests.items():
            self.requests[method] = self.requests.get(method, 0) + count
        self.errors += other.errors
        for method, stats in other.latency.items():
            mine = self.latency.get(method)
            if mine is None or len(mine) != len(stats):
                self.latency[method] = list(stats) if mine is None else mine
                continue
            for i, value in enumerate(stats):
                mine[i] += value

    def total(self) -> int:
        return sum(self.requests.values())


def stats_dir(directory: str | Path) -> Path:
    return Path(directory) / STATS_DIR


class CoprocessStats:
    """One coprocess's side: ``tick()`` after each request writes the counters when
    ``WRITE_EVERY`` seconds have passed (one clock read otherwise)."""

    def __init__(self, directory: str | Path, handler: CountingHandler) -> None:
        self._dir = stats_dir(directory)
        self._handler = handler
        self._path = self._dir / f"{os.getpid()}.json"
        self._due = time.monotonic() + WRITE_EVERY
        self._failed = False

    def tick(self) -> None:
        now = time.monotonic()
        if now >= self._due:
            self._due = now + WRITE_EVERY
            self.write()

    def write(self) -> None:
        handler = self._handler
        body = json.dumps(
            {"requests": handler.requests, "errors": handler.errors, "latency": handler.latency},
            separators=(",", ":"),
        ).encode()
        tmp = self._path.with_suffix(".tmp")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o660)
            try:
                os.write(fd, body)
            finally:
                os.close(fd)
            os.replace(tmp, self._path)
        except OSError as exc:
            if not self._failed:  # once: metrics are not worth a log line per write
                log.warning("cannot write request counters to %s: %s", self._dir, exc)
                self._failed = True


class StatsTotals:
    """`serve`'s side: the sum of every coprocess's counters, never going down."""

    def __init__(self, directory: str | Path) -> None:
        self._dir = stats_dir(directory)
        self._last: dict[int, Counts] = {}  # pid -> what its file said last time
        self._retired = Counts()

    def read(self) -> Counts:
        current: dict[int, Counts] = {}
        try:
            entries = list(os.scandir(self._dir))
        except OSError:
            entries = []
        for entry in entries:
            name = entry.name
            if not name.endswith(".json") or not name[:-5].isdigit():
                continue
            pid = int(name[:-5])
            counts = _read(Path(entry.path))
            if counts is None:
                continue
            before = self._last.get(pid)
            if before is not None and counts.total() < before.total():
                self._retired.add(before)  # the pid was reused by a new coprocess
            current[pid] = counts
            if not _alive(pid):
                self._retired.add(counts)
                del current[pid]
                _remove(Path(entry.path))
        for pid, before in self._last.items():
            if pid not in current and not _alive(pid) and pid not in _pids(entries):
                self._retired.add(before)  # its file went away with it
        self._last = current
        total = Counts()
        total.add(self._retired)
        for counts in current.values():
            total.add(counts)
        return total


def _pids(entries: list[os.DirEntry[str]]) -> set[int]:
    return {int(e.name[:-5]) for e in entries if e.name.endswith(".json") and e.name[:-5].isdigit()}


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process (pdns runs the coprocesses as user pdns)
    return True


def _remove(path: Path) -> None:
    with contextlib.suppress(OSError):
        path.unlink()


def _read(path: Path) -> Counts | None:
    """A counters file, or None when it is not one (never trusted beyond its shape)."""
    try:
        with open(path, "rb") as f:
            raw = f.read(MAX_FILE + 1)
        if len(raw) > MAX_FILE:
            return None
        data = json.loads(raw)
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict):
        return None
    requests = _int_map(data.get("requests"))
    errors = data.get("errors")
    latency = data.get("latency")
    if requests is None or not isinstance(errors, int) or not _count(errors):
        return None
    if not isinstance(latency, dict):
        return None
    stats: dict[str, list[float]] = {}
    for method, values in list(latency.items())[:MAX_METHODS]:
        if not isinstance(values, list) or not all(
            isinstance(v, (int, float)) and not isinstance(v, bool) and 0 <= v < 1e15
            for v in values
        ):
            return None
        stats[str(method)[:64]] = [float(v) for v in values]
    return Counts(requests, errors, stats)


def _int_map(value: Any) -> dict[str, int] | None:
    if not isinstance(value, Mapping) or len(value) > MAX_METHODS:
        return None
    if not all(_count(v) for v in value.values()):
        return None
    return {str(k)[:64]: int(v) for k, v in value.items()}


def _count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 10**15
