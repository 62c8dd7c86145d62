"""dnsperf: query files and runs.

Query mix (per line, drawn at random, with replacement, from the published records):
40 % A, 10 % AAAA, 35 % PTR (in-addr), 5 % PTR (ip6), 10 % names that do not exist
(half under example.com, half unused host addresses inside served reverse zones), so
the NXDOMAIN path (which costs pdns an extra wildcard lookup) is part of the load.
"""

from __future__ import annotations

import os
import random
import re
import subprocess
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

MIX = (("A", 0.40), ("AAAA", 0.10), ("PTR4", 0.35), ("PTR6", 0.05), ("NX", 0.10))


@dataclass
class NamePools:
    a: list[str] = field(default_factory=list)
    aaaa: list[str] = field(default_factory=list)
    ptr4: list[str] = field(default_factory=list)
    ptr6: list[str] = field(default_factory=list)
    reverse4_zones: list[str] = field(default_factory=list)
    forward_zone: str = "example.com"

    @classmethod
    def from_dump(cls, records_tsv: Path) -> NamePools:
        pools = cls()
        a: set[str] = set()
        aaaa: set[str] = set()
        zones4: set[str] = set()
        with open(records_tsv, encoding="utf-8") as src:
            for line in src:
                zone, owner, qtype, _ = line.split("\t", 3)
                if qtype == "A":
                    a.add(owner)
                elif qtype == "AAAA":
                    aaaa.add(owner)
                elif qtype == "PTR":
                    if owner.endswith(".in-addr.arpa"):
                        pools.ptr4.append(owner)
                        zones4.add(zone)
                    else:
                        pools.ptr6.append(owner)
        pools.a, pools.aaaa = sorted(a), sorted(aaaa)
        pools.reverse4_zones = sorted(zones4)
        return pools

    def write_queries(self, path: Path, count: int, seed: int) -> Counter[str]:
        """``count`` lines of ``NAME TYPE`` for dnsperf -d; returns the mix drawn."""
        rng = random.Random(seed)
        kinds = [k for k, _ in MIX]
        weights = [w for _, w in MIX]
        drawn: Counter[str] = Counter()
        lines = []
        for kind in rng.choices(kinds, weights, k=count):
            if kind == "A" and self.a:
                lines.append(f"{rng.choice(self.a)} A")
            elif kind == "AAAA" and self.aaaa:
                lines.append(f"{rng.choice(self.aaaa)} AAAA")
            elif kind == "PTR4" and self.ptr4:
                lines.append(f"{rng.choice(self.ptr4)} PTR")
            elif kind == "PTR6" and self.ptr6:
                lines.append(f"{rng.choice(self.ptr6)} PTR")
            elif rng.random() < 0.5 or not self.reverse4_zones:
                kind = "NX"
                site = rng.choice(("dc1", "dc2", "office", "lab", "branch-nord"))
                lines.append(f"nx-{rng.randrange(10**9):09d}.{site}.{self.forward_zone} A")
            else:
                kind = "NX"
                # .251-.254 are never generated: an existing /24 ENT, a missing host
                zone = rng.choice(self.reverse4_zones)
                lines.append(f"{rng.randrange(251, 255)}.{rng.randrange(0, 256)}.{zone} PTR")
            drawn[kind] += 1
        path.write_text("\n".join(lines) + "\n")
        return drawn


def is_nonexistent(name: str) -> bool:
    """Whether a query name of ``write_queries`` is one of its NXDOMAIN names."""
    if name.startswith("nx-"):
        return True
    first = name.partition(".")[0]
    return name.endswith(".in-addr.arpa") and first.isdigit() and int(first) > 250


@dataclass
class DnsperfResult:
    qps: float = 0.0
    sent: int = 0
    completed: int = 0
    lost: int = 0
    avg_latency_ms: float = 0.0
    max_latency_ms: float = 0.0
    rcodes: dict[str, int] = field(default_factory=dict)
    run_seconds: float = 0.0
    cpu_seconds: float = 0.0  # dnsperf's own CPU
    latencies_ms: list[float] = field(default_factory=list)  # verbose runs only
    error: str | None = None


_NUM = r"([0-9.]+)"


def parse_output(text: str) -> DnsperfResult:
    result = DnsperfResult()

    def grab(pattern: str) -> str | None:
        m = re.search(pattern, text)
        return m.group(1) if m else None

    result.sent = int(grab(r"Queries sent:\s+(\d+)") or 0)
    result.completed = int(grab(r"Queries completed:\s+(\d+)") or 0)
    result.lost = int(grab(r"Queries lost:\s+(\d+)") or 0)
    result.qps = float(grab(r"Queries per second:\s+" + _NUM) or 0.0)
    result.run_seconds = float(grab(r"Run time \(s\):\s+" + _NUM) or 0.0)
    result.avg_latency_ms = float(grab(r"Average Latency \(s\):\s+" + _NUM) or 0.0) * 1000
    result.max_latency_ms = float(grab(r"max " + _NUM + r"\)") or 0.0) * 1000
    codes = grab(r"Response codes:\s+(.*)")
    if codes:
        for m in re.finditer(r"([A-Z]+) (\d+) \(", codes):
            result.rcodes[m.group(1)] = int(m.group(2))
    for m in re.finditer(r"^> (\S+) .* ([0-9.]+)$", text, re.M):
        if m.group(1) != "T":
            result.latencies_ms.append(float(m.group(2)) * 1000)
    if "Statistics:" not in text:
        result.error = text.strip().splitlines()[-1] if text.strip() else "no output"
    return result


def run(
    port: int,
    query_file: Path,
    duration: float,
    *,
    clients: int = 10,
    threads: int = 1,
    outstanding: int = 100,
    max_qps: int | None = None,
    verbose: bool = False,
    log_path: Path | None = None,
) -> DnsperfResult:
    """One bounded dnsperf run (``-l duration``); dnsperf's CPU via wait4 rusage."""
    argv = [
        "dnsperf",
        "-s",
        "127.0.0.1",
        "-p",
        str(port),
        "-d",
        str(query_file),
        "-c",
        str(clients),
        "-T",
        str(threads),
        "-q",
        str(outstanding),
        "-l",
        f"{duration:g}",
        "-t",
        "5",
    ]
    if max_qps is not None:
        argv += ["-Q", str(max_qps)]
    if verbose:
        argv.append("-v")
    out_path = log_path or query_file.with_suffix(".out")
    with open(out_path, "w") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + duration + 30
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                proc.returncode = os.waitstatus_to_exitcode(status)
                break
            if time.monotonic() > deadline:
                proc.kill()
                _, status, usage = os.wait4(proc.pid, 0)
                proc.returncode = -9
                break
            time.sleep(0.05)
    text = out_path.read_text(errors="replace")
    result = parse_output(text)
    result.cpu_seconds = usage.ru_utime + usage.ru_stime
    if proc.returncode != 0 and result.error is None:
        result.error = f"dnsperf exited {proc.returncode}"
    if not verbose:
        out_path.unlink(missing_ok=True)
    return result
