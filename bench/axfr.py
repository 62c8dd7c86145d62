"""Full zone transfers with ``dig AXFR`` (what a secondary does), timed and bounded."""

from __future__ import annotations

import subprocess
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass
class AxfrResult:
    zone: str
    seconds: float
    records: int  # resource records received (the closing SOA included)
    expected: int  # records in the zone (SOA once) + the closing SOA
    ok: bool
    error: str | None = None


def dig_axfr(port: int, zone: str, expected: int, timeout: float, workdir: Path) -> AxfrResult:
    """``dig AXFR``; ok when every record arrived and dig reports no failure."""
    out_path = workdir / f"axfr-{zone}.txt"
    argv = [
        "dig",
        "-p",
        str(port),
        "@127.0.0.1",
        zone,
        "AXFR",
        "+tries=1",
        f"+time={max(1, int(timeout))}",
        "+nocomments",
        "+nocmd",
    ]
    t0 = time.monotonic()
    error: str | None = None
    with open(out_path, "w") as out:
        try:
            proc = subprocess.run(
                argv, stdout=out, stderr=subprocess.STDOUT, timeout=timeout, check=False
            )
            if proc.returncode != 0:
                error = f"dig exited {proc.returncode}"
        except subprocess.TimeoutExpired:
            error = f"no complete transfer within the {timeout:.0f} s bound"
    seconds = time.monotonic() - t0
    records = 0
    failure = None
    with open(out_path, errors="replace") as src:
        for line in src:
            if not line.strip():
                continue
            if line.startswith(";"):
                if "failed" in line.lower() or "error" in line.lower() or "timed out" in line:
                    failure = line.strip().lstrip("; ")
                continue
            records += 1
    out_path.unlink(missing_ok=True)
    error = error or failure
    if error is None and records != expected + 1:
        error = f"{records} records received, {expected + 1} expected"
    ok = error is None
    return AxfrResult(zone, seconds, records, expected + 1, ok, error)
