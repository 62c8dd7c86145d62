"""The benchmark's smoke mode, end to end, so bench/ cannot rot.

Runs ``python -m bench.run --smoke`` (2000 addresses, one short run per config) against
real MariaDB, pdns_server (gmysql, and pphook over unix, pipe and the relay), dnsperf
and dig, and checks the report has figures for every backend. Writes to a temporary
file, never to docs/performance.md. About 75 s.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.integration]

ROOT = Path(__file__).resolve().parents[2]
BACKENDS = ("gmysql", "unix", "pipe", "relay")


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

    for key in ("propagation", "propagation_fast"):
        prop = size[key]
        assert prop["seen"] == prop["changes"] > 0 and prop["p99"] is not None, prop
    snap = size["snapshot"]
    assert snap["builds"] and snap["token_seconds"] and snap["records"] > 2000
    assert size["serve"]["rss_kb_start"] > 0

    text = out.read_text()
    assert "## Targets" in text
    for backend in BACKENDS:
        assert f"| {backend} | off | **" in text
        assert f"| {backend} | default | **" in text
