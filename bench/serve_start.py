"""`pphook serve` start-up, timed: the cold build and the restart to serving.

Cold build (SPEC §8 "1M addresses: cold build < 6 s"): `serve` started on an empty
snapshot directory and a new state store, timed from the spawn of the process until
its first generation is published, i.e. until the LMDB ``generation`` counter file in
the snapshot directory (8 bytes, `serve` bumps it after each committed publication and
every coprocess watches it) reads 1. That includes Python's start-up and imports, the
config, reading phpIPAM, validating, building and writing the snapshot: everything
between ``systemctl start pphook`` and pdns being able to answer. From `serve`'s own
log: the time from its first log line (imports done, config read) to its line
"generation 1 published ... Y s", and Y (the LMDB write).

Restart to serving: `serve` stopped and started again with the snapshot directory (and
the state store) kept. pdns's running coprocesses never stop answering from the kept
snapshot; measured are (1) a coprocess started while `serve` is down (as pdns starts
one for an AXFR, or to replace one): seconds from its spawn to its first answer with
data, and (2) `serve` started again: seconds from its spawn until it has read phpIPAM
again and published (the counter moves past its value before the restart).
"""

from __future__ import annotations

import atexit
import re
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from infra.pphook import PphookServe, pphook_command, write_config
from infra.procs import spawn

from bench.coprocess import Coprocess

GENERATION_FILE = "generation"  # remote_backend/shared/layout.py
_STAMP = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) ", re.M)
_BUILT = re.compile(r"snapshot (\d+) built \(([^)]*)\).*?([0-9.]+) s$", re.M)
_PUBLISHED = re.compile(r"generation (\d+) published: .*?([0-9.]+) s$", re.M)
_CHANGED = re.compile(r"\d+ changed rows: .*?([0-9.]+) s$", re.M)


def read_generation(snapshot_dir: Path) -> int | None:
    """The published generation, None before `serve` created the counter."""
    try:
        raw = (snapshot_dir / GENERATION_FILE).read_bytes()[:8]
    except OSError:
        return None
    return int.from_bytes(raw, "little") if len(raw) == 8 else None


class ServeStartError(RuntimeError):
    """`serve` exited, or did not publish within the bound."""


def start_timed(serve: PphookServe, *, timeout: float, poll: float = 0.005) -> dict[str, Any]:
    """Start ``serve`` (as ``PphookServe.start`` does) and time it: seconds from the spawn
    until the generation counter moves past its value before, and until the socket
    appears (what ``PphookServe.start`` waits for)."""
    snapshot_dir = serve.snapshot_dir
    before = read_generation(snapshot_dir) or 0
    log_offset = len(serve.logs())
    serve.socket.unlink(missing_ok=True)  # a stale socket must not look like a ready serve
    write_config(serve.config_path, serve.sections)
    atexit.register(serve.stop)
    t0 = time.monotonic()
    serve.proc = spawn(
        [*pphook_command(), "--config", str(serve.config_path), "serve"], serve.log_path
    )
    published: float | None = None
    socket: float | None = None
    while published is None or socket is None:
        now = time.monotonic() - t0
        if published is None and (read_generation(snapshot_dir) or 0) > before:
            published = now
        if socket is None and serve.socket.exists():
            socket = now
        if serve.proc.poll() is not None:
            raise ServeStartError(f"pphook serve exited during start: {serve.log_tail(10)}")
        if now > timeout:
            raise ServeStartError(
                f"pphook serve published nothing within {timeout:.0f} s: {serve.log_tail(10)}"
            )
        time.sleep(poll)
    return {
        "generation_before": before,
        "generation": read_generation(snapshot_dir),
        "published_seconds": published,
        "socket_seconds": socket,
        "log": log_figures(serve.logs()[log_offset:]),
    }


def _stamp(line_start: str) -> float:
    stamp = datetime.strptime(line_start, "%Y-%m-%d %H:%M:%S,%f")
    return stamp.timestamp()


def log_figures(text: str) -> dict[str, Any]:
    """What `serve` logged about its builds and publications, in order; and the
    seconds from its first log line to its first "generation N published" line."""
    first = _STAMP.search(text)
    published = _PUBLISHED.search(text)
    span = None
    if first is not None and published is not None:
        line_start = text.rfind("\n", 0, published.start()) + 1
        stamp = _STAMP.match(text, line_start)
        if stamp is not None:
            span = _stamp(stamp.group(1)) - _stamp(first.group(1))
    return {
        "first_line_to_published": span,
        "builds": [
            {"snapshot": int(m.group(1)), "kind": m.group(2), "seconds": float(m.group(3))}
            for m in _BUILT.finditer(text)
        ],
        "published": [
            {"generation": int(m.group(1)), "seconds": float(m.group(2))}
            for m in _PUBLISHED.finditer(text)
        ],
        "changed_rows": [float(m.group(1)) for m in _CHANGED.finditer(text)],
    }


def restart_timed(
    serve: PphookServe, check: tuple[str, str], *, timeout: float, workdir: Path
) -> dict[str, Any]:
    """Stop ``serve``; time a new coprocess's first answer while it is down; start
    ``serve`` again (snapshot directory and state store kept) and time it."""
    serve.stop()
    before = read_generation(serve.snapshot_dir)
    t0 = time.monotonic()
    co = Coprocess(serve.snapshot_dir, workdir / "restart-coprocess.log")
    try:
        co.initialize()
        answer = co.lookup(*check)
        answered = time.monotonic() - t0
        ok = isinstance(answer, list) and bool(answer)
    finally:
        co.close()
    timed = start_timed(serve, timeout=timeout)
    return {
        "generation_before": before,
        "coprocess_answer_seconds": answered,
        "coprocess_answer_ok": ok,
        "serve": timed,
    }
