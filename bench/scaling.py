"""Backend-only scaling: lookups straight to `pphook pipe --snapshot-dir` workers, no pdns.

SPEC §8: "lookup throughput of the backend alone (no pdns) with N workers >= 0.8 x N x
one worker, up to the machine's cores". Each worker is one coprocess as pdns starts it,
reading the snapshot `serve` published; each is fed by its own driver (two threads of
this process: one writes a prepared buffer of pdns-shaped lookups again and again, one
counts reply lines, see bench/coprocess.py). A run: ``initialize``, a check that a
known name answers, warm-up (unmeasured: the worker maps the pages it touches and fills
its reply cache), then a fixed measured window. lookups/s per worker = replies counted
in the window / its length. N workers run at the same time; a setting's figure is the
median over runs of the summed rate.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from bench.common import log, median, proc_cpu_seconds
from bench.coprocess import Coprocess, Pump, own_cpu_seconds


def one_run(
    snapshot_dir: Path,
    workers: int,
    buffer: bytes,
    check: tuple[str, str],
    *,
    warmup: float,
    duration: float,
    workdir: Path,
) -> dict[str, Any]:
    """``workers`` coprocesses under load at once; rates and CPU of the window."""
    coprocesses = [
        Coprocess(snapshot_dir, workdir / f"scaling-worker-{k}.log") for k in range(workers)
    ]
    pumps: list[Pump] = []
    try:
        for co in coprocesses:
            co.initialize()
            answer = co.lookup(*check)
            if not isinstance(answer, list) or not answer:
                raise RuntimeError(f"worker answered {answer!r} for {check}: {co.log_tail()}")
        pumps = [Pump(co, buffer) for co in coprocesses]
        for pump in pumps:
            pump.start()
        time.sleep(warmup)
        counts0 = [p.replies for p in pumps]
        cpu0 = [proc_cpu_seconds(co.pid) or 0.0 for co in coprocesses]
        own0 = own_cpu_seconds()
        t0 = time.monotonic()
        time.sleep(duration)
        counts1 = [p.replies for p in pumps]
        cpu1 = [proc_cpu_seconds(co.pid) or 0.0 for co in coprocesses]
        own1 = own_cpu_seconds()
        seconds = time.monotonic() - t0
    finally:
        for pump in pumps:
            pump.stop()
        for co in coprocesses:
            co.close()
    errors = [p.error for p in pumps if p.error]
    rates = [(c1 - c0) / seconds for c0, c1 in zip(counts0, counts1, strict=True)]
    worker_cpu = [(b - a) / seconds for a, b in zip(cpu0, cpu1, strict=True)]
    return {
        "workers": workers,
        "seconds": seconds,
        "per_worker": rates,
        "total": sum(rates),
        "worker_cpu_share": worker_cpu,  # CPU seconds per second, per worker
        "driver_cpu_share": (own1 - own0) / seconds,
        "worker_cpu_us_per_lookup": (
            1e6 * sum(worker_cpu) / sum(rates) if sum(rates) > 0 else None
        ),
        "errors": errors,
    }


def run(
    snapshot_dir: Path,
    buffer: bytes,
    lookups_in_buffer: int,
    check: tuple[str, str],
    *,
    worker_counts: list[int],
    runs: int,
    warmup: float,
    duration: float,
    workdir: Path,
) -> dict[str, Any]:
    """Every worker count, ``runs`` times each (interleaved, so a burst of load from
    elsewhere on the machine does not hit one setting only)."""
    by_count: dict[int, list[dict[str, Any]]] = {n: [] for n in worker_counts}
    for r in range(runs):
        for n in worker_counts:
            res = one_run(
                snapshot_dir,
                n,
                buffer,
                check,
                warmup=warmup,
                duration=duration,
                workdir=workdir,
            )
            by_count[n].append(res)
            log(
                f"  scaling run {r + 1}, {n} worker(s): {res['total']:,.0f} lookups/s "
                f"({', '.join(f'{x:,.0f}' for x in res['per_worker'])}); worker CPU "
                f"{', '.join(f'{100 * c:.0f}%' for c in res['worker_cpu_share'])}, "
                f"driver {100 * res['driver_cpu_share']:.0f}%"
            )
    settings: list[dict[str, Any]] = []
    for n, results in by_count.items():
        totals = [x["total"] for x in results]
        settings.append(
            {
                "workers": n,
                "runs": results,
                "total_median": median(totals),
                "per_worker_median": (median(totals) or 0.0) / n,
            }
        )
    one = next((s for s in settings if s["workers"] == 1), None)
    for s in settings:
        if one and one["total_median"]:
            s["speedup"] = s["total_median"] / one["total_median"]
            s["target"] = 0.8 * s["workers"] * one["total_median"]
    return {
        "lookups_in_buffer": lookups_in_buffer,
        "buffer_bytes": len(buffer),
        "check": list(check),
        "warmup": warmup,
        "duration": duration,
        "settings": settings,
    }


def check_name(records_tsv: Path) -> tuple[str, str]:
    """A name with an A record (the first one in the dump), to see a worker answer."""
    with open(records_tsv, encoding="utf-8") as src:
        for line in src:
            _, owner, qtype, _ = line.split("\t", 3)
            if qtype == "A":
                return owner, "A"
    raise RuntimeError(f"no A record in {records_tsv}")


def zone_ids(dump: Path) -> dict[str, int]:
    meta = json.loads((dump / "zones.json").read_text())
    return {z["name"]: int(z["id"]) for z in meta["zones"]}
