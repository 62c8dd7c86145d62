"""The benchmark's smoke mode, end to end, so bench/ cannot rot.

Runs ``python -m bench.run --smoke`` (2000 addresses with aliases and static records,
one short run per config) against real MariaDB, pdns_server (gmysql, and pphook as
deployed, ``shared``, plus the unix connector and the relay), dnsperf and dig, and
checks the report has figures for every backend and every phase: the cold build and
the restart of `serve`, the backend-only scaling phase, the memory of the pphook
processes, propagation, and every SPEC §8 target row. Writes to a temporary file,
never to docs/performance.md. About 2 min.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.integration]

ROOT = Path(__file__).resolve().parents[2]
BACKENDS = ("gmysql", "shared", "unix", "relay")


def test_bench_smoke(tmp_path: Path) -> None:
    out = tmp_path / "perf.md"
    proc = subprocess.run(
        [sys.executable, "-m", "bench.run", "--smoke", "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=400,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    results = json.loads(out.with_suffix(".json").read_text())
    size = results["sizes"]["2000"]
    assert size["errors"] == [], size["errors"]
    assert size["export_check"]["ok"], size["export_check"]

    seen = {(e["backend"], e["caches"]): e for e in size["throughput"]}
    for backend in BACKENDS:
        for caches in ("off", "default"):
            entry = seen[(backend, caches)]
            assert entry["qps_median"] > 0, entry
            run = entry["runs"][0]
            assert run["completed"] > 0 and run["error"] is None, run
            # every query answered with a real rcode, none dropped or SERVFAILed
            assert set(run["rcodes"]) <= {"NOERROR", "NXDOMAIN"}, run["rcodes"]
            assert entry["probe"]["p50_ms"] is not None

    axfr = {(a["backend"], a["kind"]): a for a in size["axfr"]}
    for backend in BACKENDS:
        for kind in ("forward", "reverse"):
            assert axfr[(backend, kind)]["ok"], axfr[(backend, kind)]  # small zones

    prop = size["propagation"]
    assert prop["backend"] == "shared" and prop["refresh_interval"] == 0.5, prop
    assert prop["seen"] == prop["changes"] > 0 and prop["p99"] is not None, prop
    snap = size["snapshot"]
    assert snap["builds"] and snap["token_seconds"] and snap["records"] > 2000
    assert size["dataset"]["aliases"]["conflicting"] > 0
    assert size["serve"]["rss_kb_start"] > 0

    # cold build: generation 1 published by a serve on an empty snapshot directory
    cold = size["serve"]["cold"]
    assert cold["generation_before"] == 0 and cold["generation"] >= 1, cold
    assert 0 < cold["published_seconds"] <= cold["socket_seconds"], cold
    restart = size["restart"]
    assert restart["coprocess_answer_ok"] and restart["coprocess_answer_seconds"] > 0
    assert restart["serve"]["generation"] > restart["generation_before"], restart

    scaling = {s["workers"]: s for s in size["scaling"]["settings"]}
    assert set(scaling) == {1, 2}
    for setting in scaling.values():
        assert setting["total_median"] > 0 and not setting["runs"][0]["errors"], setting

    memory = size["memory"]  # serve + every coprocess of the shared pdns
    assert memory["backend"] == "shared" and memory["coprocesses"] >= 3, memory
    assert memory["pss_kb_total"] > memory["serve_pss_kb"] > 0

    text = out.read_text()
    assert "## Targets" in text
    targets = text.split("## Targets", 1)[1].split("\n## ", 1)[0]
    for target in (
        "QPS >= 2.5x gmysql",
        "QPS >= 3x gmysql",
        "AXFR of the ~100k-record zone",
        "p99 <= 1 s at 100k",
        "p99 <= 2 s at 1M",
        "0.8 x N x one worker",
        "cold build < 6 s",
        "< 700 MiB",
        "refresh check",
        "100k and 1M figures both",
    ):
        row = next(line for line in targets.splitlines() if target in line)
        assert "met" in row, row  # met or NOT met: measured, with its figure
    assert "## Against the previous run" in text
    for backend in BACKENDS:
        assert f"| {backend} | off | **" in text
        assert f"| {backend} | default | **" in text
