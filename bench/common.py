"""Small shared helpers: /proc accounting, machine and version facts, logging."""

from __future__ import annotations

import contextlib
import os
import platform
import re
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bench import ROOT

_CLK_TCK = os.sysconf("SC_CLK_TCK")
_T0 = time.monotonic()


def log(message: str) -> None:
    """Progress on stderr, with seconds since the bench started."""
    print(f"[bench {time.monotonic() - _T0:7.1f}s] {message}", file=sys.stderr, flush=True)


# -- /proc ------------------------------------------------------------------------


def _stat_fields(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # the command name may hold spaces and parentheses: split after the last ')'
    return raw[raw.rfind(")") + 2 :].split()


def proc_cpu_seconds(pid: int) -> float | None:
    """utime + stime of one process (seconds), None when it is gone."""
    fields = _stat_fields(pid)
    if fields is None:
        return None
    return (int(fields[11]) + int(fields[12])) / _CLK_TCK


def children_of(pid: int) -> list[int]:
    """Direct children of ``pid`` (e.g. pdns's pipe coprocesses)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        fields = _stat_fields(int(entry))
        if fields is not None and int(fields[1]) == pid:
            found.append(int(entry))
    return found


def proc_status_kb(pid: int, key: str) -> int | None:
    """A ``kB`` field of /proc/PID/status (VmRSS, VmHWM), None when unavailable."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def proc_rollup_kb(pid: int) -> dict[str, int] | None:
    """Rss, Pss (proportional: a page mapped by k processes counts 1/k in each, so
    the sum over processes is what they hold together) and the other ``kB`` fields of
    /proc/PID/smaps_rollup; None when the process is gone."""
    try:
        text = Path(f"/proc/{pid}/smaps_rollup").read_text()
    except OSError:
        return None
    fields: dict[str, int] = {}
    for line in text.splitlines()[1:]:
        key, _, rest = line.partition(":")
        parts = rest.split()
        if len(parts) == 2 and parts[1] == "kB":
            fields[key.strip()] = int(parts[0])
    return fields


def machine_cpu_seconds() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot (all cores)."""
    parts = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    values = [int(v) for v in parts[:8]]
    idle = values[3] + values[4]  # idle + iowait
    total = sum(values)
    return (total - idle) / _CLK_TCK, total / _CLK_TCK


@dataclass
class CpuSample:
    at: float
    per_pid: dict[str, dict[int, float]]
    machine: tuple[float, float]


class CpuMeter:
    """CPU seconds used by groups of processes between ``start()`` and ``stop()``.

    ``groups`` maps a group name to a callable listing its PIDs (evaluated at both
    ends, so coprocesses started during the interval are counted from zero).
    """

    def __init__(self, groups: Mapping[str, Callable[[], Iterable[int]]]) -> None:
        self.groups = dict(groups)
        self._start: CpuSample | None = None

    def _sample(self) -> CpuSample:
        per_pid: dict[str, dict[int, float]] = {}
        for name, pids in self.groups.items():
            values: dict[int, float] = {}
            for pid in pids():
                cpu = proc_cpu_seconds(pid)
                if cpu is not None:
                    values[pid] = cpu
            per_pid[name] = values
        return CpuSample(time.monotonic(), per_pid, machine_cpu_seconds())

    def start(self) -> None:
        self._start = self._sample()

    def stop(self) -> dict[str, float]:
        """CPU seconds per group, plus ``wall`` and ``machine_busy`` (all cores)."""
        if self._start is None:
            raise RuntimeError("CpuMeter.stop() before start()")
        end = self._sample()
        result: dict[str, float] = {"wall": end.at - self._start.at}
        for name, values in end.per_pid.items():
            before = self._start.per_pid.get(name, {})
            result[name] = sum(cpu - before.get(pid, 0.0) for pid, cpu in values.items())
        result["machine_busy"] = end.machine[0] - self._start.machine[0]
        return result


def stop_pids(pids: Iterable[int], timeout: float = 5.0) -> None:
    """SIGTERM, wait, SIGKILL: for processes we started indirectly (coprocesses)."""
    alive = [p for p in pids if proc_cpu_seconds(p) is not None]
    for pid in alive:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while alive and time.monotonic() < deadline:
        alive = [p for p in alive if _alive(p)]
        time.sleep(0.05)
    for pid in alive:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def _alive(pid: int) -> bool:
    fields = _stat_fields(pid)
    return fields is not None and fields[0] != "Z"


# -- statistics ---------------------------------------------------------------------


def median(values: Sequence[float]) -> float | None:
    return statistics.median(values) if values else None


def percentile(values: Sequence[float], pct: float) -> float | None:
    """Nearest-rank percentile (pct in 0..100)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, min(len(ordered), int(-(-pct * len(ordered) // 100))))
    return ordered[rank - 1]


# -- machine and versions ------------------------------------------------------------


def _first_line(argv: Sequence[str], pattern: str | None = None) -> str:
    try:
        out = subprocess.run(list(argv), capture_output=True, text=True, timeout=20, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"unknown ({exc})"
    text = out.stdout + out.stderr
    for line in text.splitlines():
        if pattern is None or re.search(pattern, line):
            return line.strip()
    return text.strip().splitlines()[0] if text.strip() else "unknown"


def _uncommitted() -> bool:
    """Whether the work tree differs from its commit; False without git (a source tree
    from an archive: the machine the README's commands run on needs no git)."""
    argv = ["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no"]
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=20, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return out.returncode == 0 and bool(out.stdout.strip())


@dataclass
class Environment:
    date: str
    host: dict[str, str] = field(default_factory=dict)
    versions: dict[str, str] = field(default_factory=dict)


def environment() -> Environment:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_kb = 0
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            mem_kb = int(line.split()[1])
    commit = _first_line(["git", "-C", str(ROOT), "rev-parse", "--short=12", "HEAD"])
    dirty = _uncommitted()
    pdns_version = _first_line(["/usr/sbin/pdns_server", "--version"], r"Authoritative Server")
    pdns_version = re.sub(r"^.*?PowerDNS", "PowerDNS", pdns_version).split(" (C)")[0]
    return Environment(
        date=time.strftime("%Y-%m-%d %H:%M %Z"),
        host={
            "nproc": str(os.cpu_count()),
            "cpu": cpu,
            "ram": f"{mem_kb / 1024 / 1024:.1f} GiB",
            "kernel": platform.release(),
            "os": _first_line(["sh", "-c", ". /etc/os-release && echo $PRETTY_NAME"]),
        },
        versions={
            "pdns": pdns_version,
            "pdns package": _first_line(["dpkg-query", "-W", "-f=${Version}", "pdns-server"]),
            "mariadb": _first_line(["/usr/sbin/mariadbd", "--version"]),
            "dnsperf": _first_line(["dnsperf", "-h"], r"Version"),
            "dig": _first_line(["dig", "-v"]),
            "python": platform.python_version(),
            "pphook commit": commit + (" + uncommitted changes" if dirty else ""),
        },
    )
