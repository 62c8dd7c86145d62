"""The pphook benchmark, one command: ``.venv/bin/python -m bench.run`` (or ``bench/run``).

For each dataset size: generate phpIPAM rows (with aliases in a custom field, 1,000
static records, name server addresses) in a throwaway MariaDB; build pphook's snapshot
in a fresh process (refresh-check cost, the published records, checked against
``pphook export``); load the same records into PowerDNS's gmysql schema; start
`pphook serve` on an empty snapshot directory and a new state store (the cold build:
until its first publication); the backend-only scaling phase (1 and 2
`pphook pipe --snapshot-dir` workers under pipelined load, no pdns); then for gmysql
and pphook as deployed (``shared``: pdns's coprocesses answering from the snapshot, the
deployment every target is judged on) and the references ``unix`` and ``relay``, with
pdns caches off and at their defaults: dnsperf (-c 10 -T 1, fixed duration, N runs,
median), a 500 QPS latency probe, and (caches off) ``dig AXFR`` of the largest forward
and reverse zone; the memory of every pphook process of ``shared`` (PSS); change
propagation on ``shared`` with caches on; `serve` restarted with its snapshot kept.
Writes a Markdown report (docs/performance.md by default) with the previous run's
figures beside the new ones, and the raw results as JSON. Everything listens on
127.0.0.1; every server is stopped by PID; every loop and subprocess is bounded in time.

``--smoke``: 2000 addresses, short phases, one run; for the test suite (write it to a
temporary file, never to docs/performance.md).
"""

from __future__ import annotations

import argparse
import json
import shlex
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

import dns.zone
from infra.phpipam_data import PhpipamData
from infra.pphook import PphookServe, pphook_command, write_config

from bench import ROOT, gmysql, serve_start
from bench import axfr as axfr_mod
from bench import dnsperf as dnsperf_mod
from bench import propagation as prop_mod
from bench import scaling as scaling_mod
from bench.backends import BACKENDS, CACHES, RECOMMENDED, StackContext, stack, wait_answering
from bench.common import (
    CpuMeter,
    children_of,
    environment,
    log,
    median,
    percentile,
    proc_cpu_seconds,
    proc_rollup_kb,
    proc_status_kb,
)
from bench.coprocess import query_buffer
from bench.dataset import BenchMariaDB, generate, pphook_sections
from bench.report import key_figures, render

DEFAULT_OUT = ROOT / "docs" / "performance.md"
LARGE = 100_000  # above this size: --large-changes changes in the propagation phase


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="bench.run", description=__doc__.split("\n\n")[0])
    p.add_argument("--sizes", default="100000,1000000", help="addresses per dataset")
    p.add_argument("--smoke", action="store_true", help="2000 addresses, short phases, 1 run")
    p.add_argument("--out", type=Path, help=f"Markdown report (default {DEFAULT_OUT})")
    p.add_argument("--json", type=Path, help="raw results (default: --out with .json)")
    p.add_argument(
        "--previous",
        type=Path,
        default=ROOT / "docs" / "performance.json",
        help="the previous run's JSON, whose figures the report shows beside the new ones",
    )
    p.add_argument("--duration", type=float, help="seconds per dnsperf run (15; smoke 3)")
    p.add_argument("--runs", type=int, help="dnsperf and scaling runs per config (3; smoke 1)")
    p.add_argument("--warmup", type=float, help="seconds of unmeasured dnsperf load (5)")
    p.add_argument("--probe", type=float, help="seconds of the 500 QPS latency probe (10)")
    p.add_argument("--backends", default=",".join(BACKENDS))
    p.add_argument("--caches", default=",".join(CACHES))
    p.add_argument("--queries", type=int, help="lines per dnsperf query file (200000)")
    p.add_argument("--changes", type=int, help="propagation changes up to 100k (120; smoke 9)")
    p.add_argument(
        "--large-changes", type=int, default=40, help="propagation changes above 100k (40)"
    )
    p.add_argument(
        "--propagation-seconds",
        type=float,
        help="no new change after this long in one propagation phase (300; smoke 30)",
    )
    p.add_argument(
        "--throughput-max-size",
        type=int,
        default=10**9,
        help="above this size only build/scaling/memory/refresh-check phases run",
    )
    p.add_argument(
        "--scaling-workers",
        default="1,2",
        help="worker counts of the backend-only scaling phase (empty: skip it)",
    )
    p.add_argument("--scaling-duration", type=float, help="measured seconds per scaling run (10)")
    p.add_argument(
        "--scaling-queries",
        type=int,
        default=20_000,
        help="DNS queries whose lookups make the scaling phase's request buffer",
    )
    p.add_argument(
        "--refresh-interval",
        type=float,
        default=0.5,
        help="server.refresh_interval (0.5 = pdns-config/pphook.toml.example)",
    )
    p.add_argument("--buffer-pool", default="1G", help="MariaDB innodb-buffer-pool-size")
    p.add_argument("--py-spy", action="store_true", help="profile `serve` in unix/off runs")
    p.add_argument("--keep", action="store_true", help="keep the work directory")
    args = p.parse_args(argv)
    smoke = args.smoke
    if smoke and args.sizes == p.get_default("sizes"):
        args.sizes = "2000"
    args.size_list = [int(s) for s in str(args.sizes).split(",") if s.strip()]
    defaults = {
        "duration": (3.0, 15.0),
        "runs": (1, 3),
        "warmup": (1.0, 5.0),
        "probe": (1.0, 10.0),
        "queries": (20_000, 200_000),
        "changes": (9, 120),
        "propagation_seconds": (30.0, 300.0),
        "scaling_duration": (2.0, 10.0),
    }
    for key, (small, full) in defaults.items():
        if getattr(args, key) is None:
            setattr(args, key, small if smoke else full)
    args.backend_list = [b for b in args.backends.split(",") if b]
    args.cache_list = [c for c in args.caches.split(",") if c]
    args.scaling_list = [int(n) for n in args.scaling_workers.split(",") if n.strip()]
    if args.out is None:
        if smoke:
            p.error("--smoke writes no docs: give --out FILE (e.g. a temporary file)")
        args.out = DEFAULT_OUT
    if args.json is None:
        args.json = args.out.with_suffix(".json")
    return args


# -- phases ----------------------------------------------------------------------------


def snapshot_phase(config: Path, size: int, dump: Path, smoke: bool) -> dict[str, Any]:
    builds = 3 if size <= 100_000 else 2
    tokens = 10 if smoke else 50
    argv = [
        sys.executable,
        "-m",
        "bench.snapshot_cost",
        "--config",
        str(config),
        "--builds",
        str(builds),
        "--tokens",
        str(tokens),
        "--dump",
        str(dump),
    ]
    out = subprocess.run(
        argv, cwd=ROOT, capture_output=True, text=True, timeout=600 + size / 500, check=False
    )
    if out.returncode != 0:
        raise RuntimeError(f"snapshot_cost failed:\n{out.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(out.stdout)
    return result


def _normalise(owner: str, qtype: str, content: str) -> tuple[str, str, str]:
    """One spelling for a record in the dump and in `pphook export`'s text (absolute
    names with or without their final dot; TXT strings as they are)."""
    if qtype != "TXT":
        content = " ".join(t.rstrip(".") if t != "." else t for t in content.split())
    return owner.rstrip(".").lower(), qtype, content


def export_check(config: Path, dump: Path, zones: list[str]) -> dict[str, Any]:
    """`pphook export ZONE` (the CLI) must hold exactly the dumped records."""
    dumped: dict[str, set[tuple[str, str, str]]] = {z: set() for z in zones}
    with open(dump / "records.tsv", encoding="utf-8") as src:
        for line in src:
            zone, owner, qtype, content = line.rstrip("\n").split("\t")[:4]
            if zone in dumped:
                dumped[zone].add(_normalise(owner, qtype, content))
    checked: list[str] = []
    for zone in zones:
        out = subprocess.run(
            [*pphook_command(), "--config", str(config), "export", zone],
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
        if out.returncode != 0:
            return {"ok": False, "zones": checked, "error": f"export {zone}: {out.stderr[-500:]}"}
        parsed = dns.zone.from_text(out.stdout, relativize=False, check_origin=False)
        exported = {
            _normalise(name.to_text(), rdata.rdtype.name, rdata.to_text())
            for name, _, rdata in parsed.iterate_rdatas()
        }
        if exported != dumped[zone]:
            diff = sorted(exported ^ dumped[zone])[:5]
            return {"ok": False, "zones": checked, "error": f"{zone} differs: {diff}"}
        checked.append(zone)
    return {"ok": True, "zones": checked, "error": None}


def pdns_counters(st: Any, socket_dir: Path) -> dict[str, int]:
    out = subprocess.run(
        [
            st.pdns.pdns_control_bin,
            f"--config-dir={st.pdns.config_dir}",
            f"--socket-dir={socket_dir}",
            "show",
            "*",
        ],
        capture_output=True,
        text=True,
        timeout=10,
        check=False,
    )
    counters: dict[str, int] = {}
    for item in out.stdout.strip().strip(",").split(","):
        key, _, value = item.partition("=")
        if value.strip().lstrip("-").isdigit():
            counters[key.strip()] = int(value)
    return counters


_COUNTERS = (
    "udp-queries",
    "backend-queries",
    "packetcache-hit",
    "packetcache-miss",
    "query-cache-hit",
    "query-cache-miss",
    "servfail-packets",
    "timedout-packets",
)


def throughput_config(
    st: Any, args: argparse.Namespace, qfiles: list[Path], sdir: Path, socket_dir: Path
) -> dict[str, Any]:
    meter = CpuMeter({"pdns": lambda: [st.pid], "backend": st.backend_pids})
    entry: dict[str, Any] = {"runs": []}
    if args.warmup > 0:
        dnsperf_mod.run(st.pdns.port, qfiles[-1], args.warmup)
    for i in range(args.runs):
        before = pdns_counters(st, socket_dir)
        meter.start()
        res = dnsperf_mod.run(st.pdns.port, qfiles[i % (len(qfiles) - 1)], args.duration)
        cpu = meter.stop()
        after = pdns_counters(st, socket_dir)
        delta = {k: after.get(k, 0) - before.get(k, 0) for k in _COUNTERS}
        run = asdict(res)
        run.pop("latencies_ms")
        run["cpu"] = {**cpu, "dnsperf": res.cpu_seconds}
        run["counters"] = delta
        entry["runs"].append(run)
        log(
            f"  {st.backend}/{st.caches} run {i + 1}: {res.qps:.0f} QPS, "
            f"avg {res.avg_latency_ms:.2f} ms, lost {res.lost}, {res.rcodes}"
            + (f" ERROR {res.error}" if res.error else "")
        )
    if args.probe > 0:
        probe = dnsperf_mod.run(
            st.pdns.port,
            qfiles[0],
            args.probe,
            max_qps=500,
            verbose=True,
            log_path=sdir / f"probe-{st.backend}-{st.caches}.out",
        )
        lat = probe.latencies_ms
        entry["probe"] = {
            "qps": probe.qps,
            "answered": len(lat),
            "lost": probe.lost,
            "avg_ms": sum(lat) / len(lat) if lat else None,
            "p50_ms": percentile(lat, 50),
            "p99_ms": percentile(lat, 99),
            "max_ms": max(lat) if lat else None,
        }
        (sdir / f"probe-{st.backend}-{st.caches}.out").unlink(missing_ok=True)
    qps = [r["qps"] for r in entry["runs"]]
    entry["qps_median"] = median(qps)
    entry["qps_min"] = min(qps) if qps else None
    entry["qps_max"] = max(qps) if qps else None
    return entry


def axfr_phase(
    st: Any, zones: list[dict[str, Any]], runs: int, timeout: float, sdir: Path
) -> list[dict[str, Any]]:
    results = []
    for kind, zone in _largest_zones(zones):
        attempts = []
        for _ in range(runs):
            r = axfr_mod.dig_axfr(st.pdns.port, zone["name"], zone["records"], timeout, sdir)
            if not r.ok:
                r.error = f"{r.error}; pdns: {_last_error_line(st.pdns.logs())}"
            attempts.append(asdict(r))
            log(
                f"  AXFR {st.backend} {zone['name']} ({zone['records']} RRs): "
                f"{r.seconds:.2f} s {'ok' if r.ok else 'FAILED: ' + str(r.error)}"
            )
            if not r.ok:
                break  # a failure repeats (unix connector); record it once
        ok_times = [a["seconds"] for a in attempts if a["ok"]]
        results.append(
            {
                "backend": st.backend,
                "kind": kind,
                "zone": zone["name"],
                "records": zone["records"],
                "runs": attempts,
                "ok": all(a["ok"] for a in attempts),
                "seconds_median": median(ok_times) if ok_times else None,
                "failed_after": None if ok_times else attempts[0]["seconds"],
                "error": next((a["error"] for a in attempts if a["error"]), None),
            }
        )
    return results


def _last_error_line(text: str) -> str:
    for line in reversed(text.splitlines()):
        if any(w in line.lower() for w in ("error", "exception", "fail", "timeout")):
            return line.strip()[:240]
    return "(nothing logged)"


def _largest_zones(zones: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    forward = [z for z in zones if not z["name"].endswith(".arpa")]
    reverse = [z for z in zones if z["name"].endswith(".arpa")]
    picked = []
    if forward:
        picked.append(("forward", max(forward, key=lambda z: z["records"])))
    if reverse:
        picked.append(("reverse", max(reverse, key=lambda z: z["records"])))
    return picked


def propagation_phase(
    ctx: StackContext,
    args: argparse.Namespace,
    db: BenchMariaDB,
    dump: Path,
    size: int,
    *,
    changes: int,
    tag: str,
) -> dict[str, Any]:
    """Changes in phpIPAM -> answers of the recommended deployment, pdns caches on."""
    timeout = 10.0 + size / 100_000  # a change not seen by then counts at this bound
    gap = (0.2, 0.8) if args.smoke else (0.5, 2.5)
    data = PhpipamData(db.connect_admin())
    try:
        with stack(RECOMMENDED, "default", ctx) as st:
            wait_answering(st.pdns.port, [("example.com", "SOA")], timeout=ctx.start_timeout)
            res = prop_mod.run(
                data,
                st.pdns.port,
                dump / "records.tsv",
                changes=changes,
                gap=gap,
                poll_ms=5,
                change_timeout=timeout,
                seed=len(tag) * 7 + ord(tag[-1]),
                tag=tag,
                max_seconds=args.propagation_seconds,
            )
    finally:
        data.close()
    # a change never seen counts at the bound, so percentiles stay honest
    lat = res.latencies + [timeout] * res.timeouts
    summary = {
        "backend": RECOMMENDED,
        "caches": "default",
        "refresh_interval": args.refresh_interval,
        "changes": res.changes,
        "planned": changes,
        "seen": len(res.latencies),
        "timeouts": res.timeouts,
        "timeout_bound": timeout,
        "max_seconds": args.propagation_seconds,
        "gap": list(gap),
        "poll_ms": 5,
        "seconds": res.seconds,
        "polls": res.polls,
        "latencies": [round(x, 4) for x in res.latencies],
        "p50": percentile(lat, 50),
        "p90": percentile(lat, 90),
        "p99": percentile(lat, 99),
        "max": max(lat) if lat else None,
        "by_kind": {
            k: {"n": len(v), "p50": percentile(v, 50), "p99": percentile(v, 99)}
            for k, v in sorted(res.by_kind.items())
        },
    }
    log(
        f"  propagation: {summary['seen']}/{res.changes} seen, p50 {summary['p50']}, "
        f"p99 {summary['p99']}, timeouts {res.timeouts}"
    )
    return summary


def pphook_memory(st: Any, serve_pid: int) -> dict[str, Any]:
    """Memory of every pphook process of a running stack: `serve` and each coprocess
    pdns started. PSS (a page shared by k processes counts 1/k in each: the LMDB
    snapshot all of them map, the interpreter's text) sums to what they hold together;
    RSS counts shared pages once per process."""
    coprocesses = children_of(st.pid)
    per: list[dict[str, Any]] = []
    for role, pid in [("serve", serve_pid)] + [("coprocess", c) for c in coprocesses]:
        rollup = proc_rollup_kb(pid)
        if rollup is None:
            continue
        per.append(
            {
                "role": role,
                "pid": pid,
                "pss_kb": rollup.get("Pss"),
                "rss_kb": rollup.get("Rss"),
                "pss_anon_kb": rollup.get("Pss_Anon"),
                "pss_file_kb": rollup.get("Pss_File"),
                "hwm_kb": proc_status_kb(pid, "VmHWM"),
            }
        )
    return {
        "backend": st.backend,
        "caches": st.caches,
        "processes": per,
        "coprocesses": sum(1 for x in per if x["role"] == "coprocess"),
        "pss_kb_total": sum(x["pss_kb"] or 0 for x in per),
        "rss_kb_total": sum(x["rss_kb"] or 0 for x in per),
        "serve_pss_kb": next((x["pss_kb"] for x in per if x["role"] == "serve"), None),
        "serve_rss_kb": next((x["rss_kb"] for x in per if x["role"] == "serve"), None),
        "serve_hwm_kb": proc_status_kb(serve_pid, "VmHWM"),
    }


def wait_idle(pid: int, *, timeout: float, window: float = 2.0, busy: float = 0.1) -> float:
    """Wait until ``pid`` uses less than ``busy`` CPU seconds in ``window`` seconds;
    bounded by ``timeout``. Returns the seconds waited."""
    t0 = time.monotonic()
    last = proc_cpu_seconds(pid) or 0.0
    while time.monotonic() - t0 < timeout:
        time.sleep(window)
        now = proc_cpu_seconds(pid)
        if now is None or now - last < busy:
            break
        last = now
    return time.monotonic() - t0


def summarise_error(exc: BaseException) -> str:
    """One line for the report: the message's first line plus the last log line that
    says why (ServerStartError carries a log tail)."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    if not lines:
        return type(exc).__name__
    why = [
        line
        for line in lines[1:]
        if any(w in line.lower() for w in ("error", "exception", "fatal", "unable", "fail"))
    ]
    text = f"{type(exc).__name__}: {lines[0]}"
    if why:
        text += f" ... {why[-1]}"
    return text[:400]


def serve_activity(serve: PphookServe) -> list[float]:
    """Seconds of every build or incremental update `serve` logged, in order."""
    logged = serve_start.log_figures(serve.logs())
    return [float(b["seconds"]) for b in logged["builds"]] + list(logged["changed_rows"])


def py_spy(pid: int, seconds: float, out: Path) -> subprocess.Popen[bytes] | None:
    tool = Path(sys.executable).parent / "py-spy"
    if not tool.exists():
        return None
    return subprocess.Popen(
        [
            str(tool),
            "record",
            "--pid",
            str(pid),
            "--duration",
            str(int(seconds)),
            "--format",
            "raw",
            "--output",
            str(out),
            "--nonblocking",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def run_size(size: int, args: argparse.Namespace, db: BenchMariaDB, work: Path) -> dict[str, Any]:
    sdir = work / f"n{size}"
    sdir.mkdir(parents=True, exist_ok=True)
    socket_dir = sdir / "pdns-sockets"
    socket_dir.mkdir()
    result: dict[str, Any] = {"size": size, "skipped": [], "errors": []}

    log(f"n={size}: generating phpIPAM rows")
    ds = generate(db, size)
    g = ds.generated
    result["dataset"] = {
        "seconds": ds.seconds,
        "ipv4": g.ipv4,
        "ipv6": g.ipv6,
        "no_hostname": g.no_hostname,
        "invalid": g.invalid,
        "duplicate_hostnames": g.duplicate_hostnames,
        "duplicate_macs": g.duplicate_macs,
        "subnets": len(g.subnet_ids),
        "reverse": ds.reverse,
        "aliases": ds.aliases,
    }
    log(f"n={size}: {g.total} rows in {ds.seconds:.1f} s, aliases {ds.aliases}")

    def sections_for(state: str, snapshot: str) -> dict[str, Any]:
        return pphook_sections(
            db,
            sdir,
            ds.reverse,
            pdns_socket_dir=socket_dir,
            refresh_interval=args.refresh_interval,
            full_reload_interval=3600,
            state_name=state,
            snapshot_dir=sdir / snapshot,
        )

    # the snapshot phase and `pphook export` get a state store of their own, so `serve`
    # starts on a new one (and an empty snapshot directory): a real cold start
    cost_config = write_config(sdir / "pphook-cost.toml", sections_for("cost.db", "cost-snap"))
    sections = sections_for("state.db", "snapshot")
    result["pphook_config"] = write_config(sdir / "pphook.toml", sections).read_text()

    log(f"n={size}: snapshot build / refresh check / dump")
    dump = sdir / "dump"
    snap = snapshot_phase(cost_config, size, dump, args.smoke)
    result["snapshot"] = snap
    log(
        f"n={size}: builds {[round(b, 2) for b in snap['builds']]} s, "
        f"{snap['records']} records, change_token median "
        f"{(median(snap['token_seconds']) or 0) * 1000:.1f} ms"
    )

    zones = snap["zones"]
    check_zones = (
        [z["name"] for z in zones]
        if size <= 100_000
        else [min(zones, key=lambda z: z["records"])["name"]]
    )
    result["export_check"] = export_check(cost_config, dump, check_zones)
    log(f"n={size}: export check {result['export_check']}")

    log(f"n={size}: loading gmysql")
    db_admin = db.connect_admin()
    with db_admin.cursor() as cur:
        cur.execute(f"DROP DATABASE IF EXISTS `{gmysql.DATABASE}`")
    db_admin.close()
    result["gmysql_load"] = gmysql.load(db, dump, sdir)
    log(f"n={size}: gmysql rows {result['gmysql_load']}")

    pools = dnsperf_mod.NamePools.from_dump(dump / "records.tsv")
    qfiles = []
    for i in range(args.runs + 1):  # one per run, the last for warm-up
        qf = sdir / f"queries-{i}.txt"
        pools.write_queries(qf, args.queries, seed=1000 * size + i)
        qfiles.append(qf)
    ready_names = [(n, "A") for n in pools.a[:100]] + [(n, "PTR") for n in pools.ptr4[:100]]
    check = scaling_mod.check_name(dump / "records.tsv")

    log(f"n={size}: starting pphook serve (cold: empty snapshot directory, new state store)")
    serve = PphookServe(sections)
    start_timeout = 60 + size / 2000
    try:
        cold = serve_start.start_timed(serve, timeout=120 + size / 1000)
        log(
            f"n={size}: first generation published {cold['published_seconds']:.2f} s "
            f"after the spawn (socket {cold['socket_seconds']:.2f} s)"
        )
        result["serve"] = {"cold": cold}
        assert serve.proc is not None
        serve_pid = serve.proc.pid
        result["serve"]["rss_kb_socket"] = proc_status_kb(serve_pid, "VmRSS")
        # after the first publication `serve` may still be busy (start-up work after
        # the socket): wait until it idles, so later phases measure steady state
        result["serve"]["settle_seconds"] = wait_idle(serve_pid, timeout=60 + size / 5000)
        result["serve"]["rss_kb_start"] = proc_status_kb(serve_pid, "VmRSS")
        result["serve"]["hwm_kb_start"] = proc_status_kb(serve_pid, "VmHWM")
        ctx = StackContext(db, serve, socket_dir, start_timeout)

        if args.scaling_list:
            log(f"n={size}: backend-only scaling, workers {args.scaling_list}")
            try:
                buffer, lookups = query_buffer(
                    qfiles[-1], scaling_mod.zone_ids(dump), args.scaling_queries
                )
                result["scaling"] = scaling_mod.run(
                    serve.snapshot_dir,
                    buffer,
                    lookups,
                    check,
                    worker_counts=args.scaling_list,
                    runs=args.runs,
                    warmup=1.0 if args.smoke else 3.0,
                    duration=args.scaling_duration,
                    workdir=sdir,
                )
            except Exception as exc:
                result["errors"].append(f"scaling: {summarise_error(exc)}")
                log(f"  ERROR scaling: {exc}")

        result["throughput"] = []
        result["axfr"] = []
        axfr_runs = min(args.runs, 3) if size <= 100_000 else 1
        axfr_timeout = 60 + size / 5000
        if size > args.throughput_max_size:
            result["skipped"].append(
                f"throughput, AXFR, memory under load and propagation at {size} "
                "(--throughput-max-size)"
            )
        for backend in args.backend_list if size <= args.throughput_max_size else []:
            for caches in args.cache_list:
                log(f"n={size}: {backend} caches {caches}")
                entry: dict[str, Any] = {"backend": backend, "caches": caches}
                try:
                    with stack(backend, caches, ctx) as st:
                        entry["connection"] = st.connection
                        entry["ready_seconds"] = wait_answering(
                            st.pdns.port, ready_names, timeout=start_timeout
                        )
                        spy = None
                        if args.py_spy and backend == "unix" and caches == "off":
                            spy = py_spy(
                                serve_pid,
                                args.duration,
                                work / f"py-spy-serve-unix-n{size}.txt",
                            )
                        entry.update(throughput_config(st, args, qfiles, sdir, socket_dir))
                        entry["serve_rss_kb_after"] = proc_status_kb(serve_pid, "VmRSS")
                        if spy is not None:
                            spy.wait(timeout=60)
                        if caches == "off" or "off" not in args.cache_list:
                            result["axfr"] += axfr_phase(st, zones, axfr_runs, axfr_timeout, sdir)
                        if backend == RECOMMENDED:
                            # after the throughput runs (and the AXFRs): `serve` and
                            # every coprocess pdns started; the larger of the cache
                            # settings is the one judged
                            mem = pphook_memory(st, serve_pid)
                            result.setdefault("memory_all", []).append(mem)
                            result["memory"] = max(
                                result["memory_all"], key=lambda m: m["pss_kb_total"]
                            )
                            log(
                                f"  memory: PSS {mem['pss_kb_total'] / 1024:.0f} MiB in "
                                f"serve + {mem['coprocesses']} coprocesses"
                            )
                except Exception as exc:  # one broken config must not lose the others
                    entry["error"] = summarise_error(exc)
                    result["errors"].append(f"{backend}/{caches}: {entry['error']}")
                    log(f"  ERROR {backend}/{caches}: {entry['error']}")
                result["throughput"].append(entry)

        if size <= args.throughput_max_size:
            changes = args.changes if size <= LARGE else args.large_changes
            log(f"n={size}: propagation ({changes} changes, {RECOMMENDED}, caches on)")
            try:
                before = len(serve_activity(serve))
                result["propagation"] = propagation_phase(
                    ctx, args, db, dump, size, changes=changes, tag="p1"
                )
                result["propagation"]["serve_builds"] = serve_activity(serve)[before:]
            except Exception as exc:
                result["errors"].append(f"propagation: {summarise_error(exc)}")
                log(f"  ERROR propagation: {exc}")
        result["serve"]["rss_kb_end"] = proc_status_kb(serve_pid, "VmRSS")
        result["serve"]["hwm_kb_end"] = proc_status_kb(serve_pid, "VmHWM")
        result["serve"]["log"] = serve_start.log_figures(serve.logs())

        log(f"n={size}: restarting pphook serve (snapshot directory kept)")
        try:
            result["restart"] = serve_start.restart_timed(
                serve, check, timeout=120 + size / 1000, workdir=sdir
            )
            log(
                f"  a new coprocess answered {result['restart']['coprocess_answer_seconds']:.2f}"
                f" s after its spawn; serve published again "
                f"{result['restart']['serve']['published_seconds']:.2f} s after its spawn"
            )
        except Exception as exc:
            result["errors"].append(f"restart: {summarise_error(exc)}")
            log(f"  ERROR restart: {exc}")
    except Exception as exc:
        result["errors"].append(f"serve: {summarise_error(exc)}")
        log(f"  ERROR serve: {exc}")
    finally:
        serve.cleanup()
    for qf in qfiles:
        qf.unlink(missing_ok=True)
    return result


def settings_summary(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "sizes": args.size_list,
        "duration": args.duration,
        "runs": args.runs,
        "warmup": args.warmup,
        "probe": args.probe,
        "queries_per_file": args.queries,
        "query_mix": dict(dnsperf_mod.MIX),
        "dnsperf": f"-c 10 -T 1 -q 100 -t 5 -l {args.duration:g}",
        "backends": args.backend_list,
        "recommended": RECOMMENDED,
        "caches": {c: CACHES[c] for c in args.cache_list},
        "changes": args.changes,
        "large_changes": args.large_changes,
        "propagation_seconds": args.propagation_seconds,
        "refresh_interval": args.refresh_interval,
        "full_reload_interval": 3600,
        "buffer_pool": args.buffer_pool,
        "throughput_max_size": args.throughput_max_size,
        "scaling_workers": args.scaling_list,
        "scaling_duration": args.scaling_duration,
        "scaling_queries": args.scaling_queries,
        "smoke": args.smoke,
    }


def previous_figures(path: Path) -> dict[str, Any] | None:
    """The previous run's key figures (read before this run overwrites its file)."""
    try:
        previous = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    try:
        return {
            "date": previous["env"]["date"],
            "commit": previous["env"]["versions"].get("pphook commit"),
            "command": previous.get("command"),
            "figures": key_figures(previous),
        }
    except (KeyError, TypeError, ValueError) as exc:
        log(f"previous results in {path} not understood ({exc}); not shown")
        return None


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.monotonic()
    work = Path(tempfile.mkdtemp(prefix="pphook-bench-", dir="/tmp"))
    log(f"work directory {work}")
    results: dict[str, Any] = {
        "command": " ".join(
            shlex.quote(a) for a in ["bench/run", *(sys.argv[1:] if argv is None else argv)]
        ),
        "env": asdict(environment()),
        "settings": settings_summary(args),
        "previous": previous_figures(args.previous),
        "sizes": {},
    }
    db = BenchMariaDB(buffer_pool=args.buffer_pool, keep_files=args.keep)
    write: Callable[[], None] = lambda: _write(results, args, started)  # noqa: E731
    try:
        db.start()
        for size in args.size_list:
            t0 = time.monotonic()
            results["sizes"][str(size)] = run_size(size, args, db, work)
            results["sizes"][str(size)]["seconds"] = time.monotonic() - t0
            write()  # a partial report survives a later failure
    finally:
        db.stop()
        if not args.keep:
            import shutil

            shutil.rmtree(work, ignore_errors=True)
    end_env = environment()
    if end_env.versions["pphook commit"] != results["env"]["versions"]["pphook commit"]:
        results["env"]["versions"]["pphook commit at the end"] = end_env.versions["pphook commit"]
    write()
    log(f"done in {time.monotonic() - started:.0f} s: {args.out}")
    return 0


def _write(results: dict[str, Any], args: argparse.Namespace, started: float) -> None:
    results["total_seconds"] = time.monotonic() - started
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=1, default=str))
    args.out.write_text(render(results))


if __name__ == "__main__":
    sys.exit(main())
