"""Render the results (run.py's JSON) as docs/performance.md."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench import ROOT

NOTES = ROOT / "bench" / "notes.md"
GIB_KB = 1024 * 1024


def _f(value: float | None, digits: int = 0, unit: str = "") -> str:
    if value is None:
        return "–"
    return f"{value:,.{digits}f}{unit}"


def _ms(seconds: float | None, digits: int = 1) -> str:
    return "–" if seconds is None else f"{seconds * 1000:.{digits}f} ms"


def _s(seconds: float | None, digits: int = 2) -> str:
    return "–" if seconds is None else f"{seconds:.{digits}f} s"


def _mib(kb: int | None) -> str:
    return "–" if kb is None else f"{kb / 1024:,.0f} MiB"


def _median(values: list[float]) -> float | None:
    import statistics

    return statistics.median(values) if values else None


def _p(values: list[float], pct: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, min(len(ordered), int(-(-pct * len(ordered) // 100))))
    return ordered[rank - 1]


def _size_label(size: int | str) -> str:
    n = int(size)
    if n >= 1_000_000 and n % 1_000_000 == 0:
        return f"{n // 1_000_000}M"
    if n >= 1000 and n % 1000 == 0:
        return f"{n // 1000}k"
    return str(n)


def _tp(size_result: dict[str, Any], backend: str, caches: str) -> dict[str, Any] | None:
    entry: dict[str, Any]
    for entry in size_result.get("throughput", []):
        if entry["backend"] == backend and entry["caches"] == caches and entry.get("qps_median"):
            return entry
    return None


def _ratio(a: dict[str, Any] | None, b: dict[str, Any] | None) -> float | None:
    if a is None or b is None or not b.get("qps_median"):
        return None
    return float(a["qps_median"]) / float(b["qps_median"])


def _axfr(size_result: dict[str, Any], backend: str, kind: str) -> dict[str, Any] | None:
    entry: dict[str, Any]
    for entry in size_result.get("axfr", []):
        if entry["backend"] == backend and entry["kind"] == kind:
            return entry
    return None


def _status(ok: bool | None) -> str:
    if ok is None:
        return "not measured"
    return "**met**" if ok else "**NOT met**"


# -- targets ------------------------------------------------------------------------------


def targets(results: dict[str, Any]) -> list[tuple[str, str, str]]:
    sizes = results["sizes"]
    rows: list[tuple[str, str, str]] = []
    s100 = sizes.get("100000")
    s1m = sizes.get("1000000")
    run_sizes = list(sizes.items())

    # QPS ratios: every size measured
    for caches, factor, label in (
        ("off", 1.5, "cache-miss path (caches off): pphook unix QPS >= 1.5x gmysql"),
        ("default", 2.0, "default pdns caches: pphook unix QPS >= 2x gmysql"),
    ):
        parts, oks = [], []
        for size, r in run_sizes:
            ratio = _ratio(_tp(r, "unix", caches), _tp(r, "gmysql", caches))
            if ratio is None:
                continue
            oks.append(ratio >= factor)
            relay = _ratio(_tp(r, "relay", caches), _tp(r, "gmysql", caches))
            parts.append(
                f"{_size_label(size)}: unix {ratio:.2f}x"
                + (f" (relay {relay:.2f}x)" if relay is not None else "")
            )
        rows.append((label, "; ".join(parts) or "–", _status(all(oks) if oks else None)))

    # AXFR at 100k
    if s100 is not None:
        g = _axfr(s100, "gmysql", "forward")
        parts, ok = [], None
        if g is not None and g.get("seconds_median"):
            parts.append(f"gmysql {_s(g['seconds_median'])} ({g['records']:,} RRs)")
            for backend in ("relay", "pipe", "unix"):
                a = _axfr(s100, backend, "forward")
                if a is None:
                    continue
                if a.get("seconds_median"):
                    parts.append(f"{backend} {_s(a['seconds_median'])}")
                else:
                    parts.append(f"{backend} FAILED after {_s(a.get('failed_after'), 1)}")
            relay_axfr = _axfr(s100, "relay", "forward")
            if relay_axfr is not None:
                relay_s = relay_axfr.get("seconds_median")
                ok = relay_s is not None and float(relay_s) <= float(g["seconds_median"])
        rows.append(
            (
                "AXFR of the 100k zone no slower than gmysql (relay, the deployment "
                "meant for transfers)",
                "; ".join(parts) or "–",
                _status(ok),
            )
        )
    else:
        rows.append(("AXFR of a 100k-record zone no slower than gmysql", "–", _status(None)))

    # The target is judged on the recommended configuration (pphook.toml.example polls
    # every 0.5 s): with the built-in 2 s poll a change waits up to 2 s before it is
    # even seen, so p99 <= 2 s is out of reach by construction; that run is shown too.
    default = s100.get("propagation") if s100 else None
    fast = s100.get("propagation_fast") if s100 else None
    judged = fast or default
    if judged:
        ok = judged["p99"] is not None and judged["p99"] <= 2.0 and judged["timeouts"] == 0
        measured = (
            f"refresh_interval {judged.get('refresh_interval')} s"
            f"{' (pphook.toml.example)' if judged is fast else ' (default)'}: "
            f"p50 {_s(judged['p50'])}, p99 {_s(judged['p99'])}, max {_s(judged['max'])} "
            f"({judged['seen']}/{judged['changes']} changes seen)"
        )
        if fast and default:
            measured += (
                f"; with the built-in default refresh_interval "
                f"{default.get('refresh_interval')} s: "
                f"p50 {_s(default['p50'])}, p99 {_s(default['p99'])}"
            )
        rows.append(("change visible in DNS p99 <= 2 s at 100k, caches on", measured, _status(ok)))
    else:
        rows.append(("change visible in DNS p99 <= 2 s at 100k", "–", _status(None)))

    for label, r, bound in (("100k", s100, 1.0), ("1M", s1m, 10.0)):
        snap = r.get("snapshot") if r else None
        if snap:
            cold = snap["builds"][0]
            warm = _median(snap["builds"][1:])
            worst = max(cold, warm or 0.0)
            rows.append(
                (
                    f"snapshot build {label} < {bound:g} s",
                    f"cold {_s(cold)}, refresh rebuild {_s(warm)}",
                    _status(worst < bound),
                )
            )
        else:
            rows.append((f"snapshot build {label} < {bound:g} s", "–", _status(None)))

    serve = s1m.get("serve") if s1m else None
    if serve and serve.get("rss_kb_start"):
        rss = serve.get("rss_kb_end") or serve["rss_kb_start"]
        peak = serve.get("hwm_kb_end") or serve.get("hwm_kb_start")
        rows.append(
            (
                "resident memory of `pphook serve` at 1M < 1 GiB",
                f"RSS {_mib(rss)} (peak VmHWM {_mib(peak)})",
                _status(rss < GIB_KB),
            )
        )
    else:
        rows.append(("resident memory at 1M < 1 GiB", "–", _status(None)))

    snap = s1m.get("snapshot") if s1m else None
    if snap:
        t = snap["token_seconds"]
        p99 = _p(t, 99)
        rows.append(
            (
                "refresh check (`change_token()`) < 50 ms at 1M",
                f"median {_ms(_median(t))}, p99 {_ms(p99)}, max {_ms(max(t))} ({len(t)} calls)",
                _status(p99 is not None and p99 < 0.05),
            )
        )
    else:
        rows.append(("refresh check < 50 ms at 1M", "–", _status(None)))
    return rows


# -- tables ------------------------------------------------------------------------------


def _throughput_table(size: str, r: dict[str, Any]) -> list[str]:
    lines = [
        f"### {_size_label(size)} addresses",
        "",
        "| backend | caches | QPS median (min–max) | × gmysql | avg latency under load |"
        " 500 QPS probe p50 / p99 | backend lookups / query | pdns CPU µs / query |"
        " backend CPU µs / lookup | pdns / backend / dnsperf CPU % | machine busy % |"
        " other CPU % | packet-cache hit % | rcodes; lost |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for e in r.get("throughput", []):
        if e.get("error") and not e.get("runs"):
            error = " ".join(str(e["error"]).replace("|", "/").split())
            lines.append(f"| {e['backend']} | {e['caches']} | **failed**: {error} |" + " |" * 11)
            continue
        runs = e.get("runs", [])
        gm = _tp(r, "gmysql", e["caches"])
        ratio = _ratio(e, gm) if e["backend"] != "gmysql" else None
        udp = sum(x["counters"].get("udp-queries", 0) for x in runs)
        backend_q = sum(x["counters"].get("backend-queries", 0) for x in runs)
        pc_hit = sum(x["counters"].get("packetcache-hit", 0) for x in runs)
        wall = sum(x["cpu"]["wall"] for x in runs) or 1.0
        pdns_cpu = sum(x["cpu"].get("pdns", 0.0) for x in runs)
        be_cpu = sum(x["cpu"].get("backend", 0.0) for x in runs)
        dp_cpu = sum(x["cpu"].get("dnsperf", 0.0) for x in runs)
        busy = sum(x["cpu"].get("machine_busy", 0.0) for x in runs)
        rcodes: dict[str, int] = {}
        lost = 0
        for x in runs:
            lost += x["lost"]
            for k, v in x["rcodes"].items():
                rcodes[k] = rcodes.get(k, 0) + v
        total = sum(rcodes.values()) or 1
        rc = ", ".join(f"{k} {100 * v / total:.0f}%" for k, v in sorted(rcodes.items()))
        probe = e.get("probe") or {}
        lines.append(
            "| "
            + " | ".join(
                [
                    e["backend"],
                    e["caches"],
                    f"**{_f(e['qps_median'])}** ({_f(e['qps_min'])}–{_f(e['qps_max'])})",
                    f"{ratio:.2f}" if ratio is not None else "1",
                    _f(_median([x["avg_latency_ms"] for x in runs]), 2, " ms"),
                    f"{_f(probe.get('p50_ms'), 2)} / {_f(probe.get('p99_ms'), 2)} ms",
                    f"{backend_q / udp:.2f}" if udp else "–",
                    f"{pdns_cpu / udp * 1e6:.0f}" if udp else "–",
                    f"{be_cpu / backend_q * 1e6:.0f}" if backend_q else "–",
                    f"{100 * pdns_cpu / wall:.0f} / {100 * be_cpu / wall:.0f} / "
                    f"{100 * dp_cpu / wall:.0f}",
                    f"{100 * busy / wall:.0f}",
                    f"{100 * (busy - pdns_cpu - be_cpu - dp_cpu) / wall:.0f}",
                    f"{100 * pc_hit / udp:.0f}" if udp else "–",
                    f"{rc}; {lost}",
                ]
            )
            + " |"
        )
    lines.append("")
    return lines


def _axfr_rows(results: dict[str, Any]) -> list[str]:
    lines = [
        "| size | backend | zone | records | seconds (median; runs) | result |",
        "|---|---|---|---|---|---|",
    ]
    for size, r in results["sizes"].items():
        for a in r.get("axfr", []):
            times = ", ".join(f"{x['seconds']:.2f}" for x in a["runs"])
            if a["ok"]:
                res = "ok"
                secs = f"**{a['seconds_median']:.2f}**; {times}"
            else:
                error = str(a["error"]).replace("|", "/")
                res = f"**FAILED** after {a['failed_after'] or 0:.1f} s: {error}"
                secs = times
            lines.append(
                f"| {_size_label(size)} | {a['backend']} | {a['zone']} ({a['kind']}) | "
                f"{a['records']:,} | {secs} | {res} |"
            )
    return lines


def _snapshot_rows(results: dict[str, Any]) -> list[str]:
    lines = [
        "| size | rows read | records served | rejected rows | cold build | refresh rebuild "
        "(median) | `change_token()` median / p99 / max | `serve` start: socket + busy "
        "until idle | `serve` RSS once idle after start / at end | `serve` peak RSS (VmHWM) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for size, r in results["sizes"].items():
        snap = r.get("snapshot")
        if not snap:
            continue
        t = snap["token_seconds"]
        serve = r.get("serve", {})
        lines.append(
            "| "
            + " | ".join(
                [
                    _size_label(size),
                    f"{snap['addresses']:,}",
                    f"{snap['records']:,}",
                    f"{snap['rejected']:,}",
                    f"**{_s(snap['builds'][0])}**",
                    _s(_median(snap["builds"][1:])),
                    f"{_ms(_median(t), 2)} / {_ms(_p(t, 99), 2)} / {_ms(max(t), 2)}",
                    f"{_s(serve.get('start_seconds'), 1)} + {_s(serve.get('settle_seconds'), 0)}",
                    f"{_mib(serve.get('rss_kb_start'))} / {_mib(serve.get('rss_kb_end'))}",
                    _mib(serve.get("hwm_kb_end") or serve.get("hwm_kb_start")),
                ]
            )
            + " |"
        )
    return lines


def _propagation_rows(results: dict[str, Any]) -> list[str]:
    lines = [
        "| size | deployment | `refresh_interval` | changes (seen) | p50 | p90 | p99 | max |"
        " insert p50/p99 | edit p50/p99 | delete p50/p99 | timeouts |"
        " `serve` rebuilds meanwhile: n, median, max |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for size, r in results["sizes"].items():
        for key in ("propagation", "propagation_fast", "propagation_large"):
            p = r.get(key)
            if p:
                lines.append(_propagation_row(size, p))
    return lines


def _propagation_row(size: str, p: dict[str, Any]) -> str:
    sb = p.get("serve_builds", [])
    kinds = []
    for k in ("insert", "edit", "delete"):
        v = p["by_kind"].get(k)
        kinds.append(f"{_s(v['p50'])} / {_s(v['p99'])}" if v else "–")
    cells = [
        _size_label(size),
        "relay, caches 20/20/60 + purge",
        f"{p.get('refresh_interval', '–')} s",
        f"{p['changes']} ({p['seen']})",
        _s(p["p50"]),
        _s(p["p90"]),
        f"**{_s(p['p99'])}**",
        _s(p["max"]),
        *kinds,
        str(p["timeouts"]),
        f"{len(sb)}, {_s(_median(sb))}, {_s(max(sb) if sb else None)}",
    ]
    return "| " + " | ".join(cells) + " |"


# -- document -----------------------------------------------------------------------------


HOW_TO_RUN = """\
## How to run

```sh
bench/run                                  # full run: 100k and 1M addresses, writes this file
bench/run --sizes 100000 --out /tmp/p.md   # one size, report elsewhere
bench/run --smoke --out /tmp/smoke.md      # 2000 addresses, ~1-2 min (tests/bench runs this)
```

`bench/run` is `.venv/bin/python -m bench.run`. Options: `--sizes`, `--duration` (s per
dnsperf run, 15), `--runs` (3), `--warmup` (5 s), `--probe` (10 s at 500 QPS),
`--backends gmysql,unix,pipe,relay`, `--caches off,default`, `--changes` (120),
`--pipe-max-size` / `--propagation-max-size` / `--throughput-max-size` (skip phases
above a size), `--refresh-interval` (2.0 = the built-in default), `--fast-refresh-interval`
(0.5 = pphook.toml.example: the propagation phase again with that poll, the run the
target is judged on; 0 skips it), `--py-spy` (profile
`pphook serve` during the unix caches-off runs), `--json FILE`, `--keep`.
Everything runs on 127.0.0.1 in a temporary directory with its own MariaDB (never the
system one), pdns_server and `pphook serve`, all stopped by PID; every phase is
bounded in time. The raw results land next to the report as JSON.
"""

METHOD = """\
## Method

1. **Dataset**: `PhpipamData.generate(N)` (tests/infra) in a throwaway MariaDB: 90 %
   IPv4 (/24 subnets from 10.128.0.0, hosts .1-.250), 10 % IPv6 (/64s from
   2001:db8:8000::), 3 % rows without hostname, 2 % invalid names, 1 % duplicate
   names, duplicate MACs, upper-case names. Zones: `example.com`, one reverse zone per
   IPv4 /16 (like the anchor), `8.b.d.0.1.0.0.2.ip6.arpa`.
2. **Snapshot phase** (fresh Python process): `SnapshotBuilder.build()` timed (first =
   cold, as at `serve` start; later = refresh rebuilds), `IpamReader.change_token()`
   timed 50×, and the snapshot's records dumped. These are the records
   `pphook export ZONE` prints (it renders the same `Snapshot.zone_records`); the
   bench checks that by running the `pphook export` CLI and comparing record sets
   (every zone at ≤ 100k, the smallest zone at 1M).
3. **gmysql anchor**: the Debian `pdns-backend-mysql` schema
   (`/usr/share/pdns-backend-mysql/schema/schema.mysql.sql`) in database `pdns` of the
   same MariaDB, loaded with the dumped records (same names, TTL, SOA and serials; ENT
   rows as `pdnsutil rectify-zone` adds them), reached over TCP 127.0.0.1
   (`gmysql-host`, `gmysql-port`), `gmysql-dnssec=no`. MariaDB runs with
   `innodb-buffer-pool-size` from `--buffer-pool` so the anchor is not disk-bound.
4. **pdns**: 4.7.3, `distributor-threads=3`, `receiver-threads=1`, loglevel 4,
   `consistent-backends=yes`, zone cache on. Caches **off** = `cache-ttl=0
   query-cache-ttl=0 negquery-cache-ttl=0`; **default** = 20/20/60.
   Connection strings: unix `unix:path=S,timeout=5000` (pdns-unix-small.conf); relay
   `pipe:command=pphook pipe --relay --socket S,timeout=0` (pdns.conf); pipe
   (standalone) `pipe:command=pphook --config F pipe,timeout=T`.
   One `pphook serve` per size (`refresh_interval` 2 s, `full_reload_interval` 3600 s so
   no safety-net rebuild lands inside a measured run, `pdns_control` purging on).
5. **Load**: dnsperf 2.10 on the same machine, `-c 10 -T 1 -q 100 -t 5 -l DURATION`.
   Each config: readiness check (20 answers in a row), warm-up run (unmeasured), then
   RUNS measured runs, each with its own query file (random existing A/AAAA/PTR names
   plus 10 % NXDOMAIN names, see bench/dnsperf.py), then a 500 QPS probe with `-v` for
   service latency p50/p99. QPS = median of the runs. CPU from /proc/PID/stat (pdns,
   backend = mariadbd for gmysql, `serve` + pipe coprocesses for pphook) and dnsperf's
   rusage; backend lookups from pdns's `backend-queries` / `udp-queries` counters.
6. **AXFR**: `dig AXFR` over TCP of the largest forward and the largest reverse zone,
   with the caches-off pdns of each backend; bounded (`60 s + N/5000 s`); a failure
   is recorded with its time and not retried.
7. **Propagation**: relay deployment, pdns caches at defaults, `serve` purging through
   `pdns_control`. A stream of changes (insert / hostname edit / delete in turn,
   random gap between changes), each polled with dnspython every 5 ms until pdns
   shows the new data (insert: A of the new name, negatively cached by the polling;
   edit: the PTR, cached before; delete: the A, cached before, must turn NXDOMAIN).
   Latency = commit -> first answer with the new data. Unseen changes count at the
   bound. Run once with the built-in `refresh_interval` (2 s) and once more with a
   fresh `serve` polling every `--fast-refresh-interval` seconds (0.5 s, as the
   shipped `pdns-config/pphook.toml.example`); the target is judged on the second
   run: with a 2 s poll a change can wait 2 s before it is even seen, so p99 <= 2 s
   needs a poll well under 2 s whatever the rest costs.
   Above `--propagation-max-size` (1M) only `--large-changes` changes (6), 8-12 s
   apart, with the built-in poll: what an operator of a big phpIPAM sees (no target),
   and real rebuilds inside `serve` before its memory is read at the end.
8. **Memory**: VmRSS / VmHWM of `pphook serve` from /proc once it is idle after start
   (socket up, then no more than 0.1 s CPU in 2 s: post-start work such as persisting
   the snapshot is done) and at the end (after all load, AXFRs and rebuilds).
"""


def render(results: dict[str, Any]) -> str:
    env = results["env"]
    st = results["settings"]
    out: list[str] = [
        "# Performance",
        "",
        "Generated by `bench/run` (bench/report.py); re-run it rather than editing the",
        "figures. Method below; the reference point is pdns's own gmysql backend on the",
        "same records, measured side by side in the same run.",
        "",
        HOW_TO_RUN,
        "## This run",
        "",
        f"- date: {env['date']}; command: `{results['command']}`; "
        f"total {results.get('total_seconds', 0) / 60:.1f} min"
        + (" (**smoke mode**: tiny dataset, figures meaningless)" if st.get("smoke") else ""),
        "- machine: "
        + ", ".join(f"{k} {v}" for k, v in env["host"].items())
        + " (shared: other workloads may run at the same time)",
        "- versions: " + "; ".join(f"{k} {v}" for k, v in env["versions"].items()),
        f"- settings: sizes {st['sizes']}; dnsperf `{st['dnsperf']}`, "
        f"{st['runs']} runs × {st['duration']:g} s (median), warm-up {st['warmup']:g} s, "
        f"probe {st['probe']:g} s at 500 QPS, {st['queries_per_file']:,} queries per file, "
        f"mix {st['query_mix']}; caches {st['caches']}; pipe timeout "
        f"{st['pipe_timeout_ms']} ms; `server.refresh_interval` {st['refresh_interval']} s; "
        f"MariaDB buffer pool {st['buffer_pool']}; propagation changes {st['changes']}",
        "",
        "## Targets",
        "",
        "| target | measured | status |",
        "|---|---|---|",
    ]
    for label, measured, status in targets(results):
        out.append(f"| {label} | {measured} | {status} |")
    out += ["", "## Throughput (dnsperf, median of the runs)", ""]
    for size, r in results["sizes"].items():
        out += _throughput_table(size, r)
    out += [
        "× gmysql: QPS ratio to gmysql with the same cache setting. Latency under load is",
        "mostly queueing (100 queries outstanding: avg ≈ 100 / QPS); the 500 QPS probe shows",
        "service latency. CPU % is of one core (the machine has nproc × 100 %).",
        "",
        "## AXFR (`dig AXFR`, caches-off pdns)",
        "",
        *_axfr_rows(results),
        "",
        "## Change propagation (phpIPAM row -> pdns answer)",
        "",
        *_propagation_rows(results),
        "",
        "## Snapshot build, refresh check, memory",
        "",
        *_snapshot_rows(results),
        "",
        "## Dataset and phases per size",
        "",
    ]
    for size, r in results["sizes"].items():
        d = r.get("dataset", {})
        ec = r.get("export_check", {})
        out.append(
            f"- {_size_label(size)}: {d.get('ipv4', 0):,} IPv4 + {d.get('ipv6', 0):,} IPv6 rows "
            f"({d.get('no_hostname', 0):,} without hostname, {d.get('invalid', 0):,} invalid, "
            f"{d.get('duplicate_hostnames', 0):,} duplicate names, "
            f"{d.get('duplicate_macs', 0):,} duplicate MACs) in {d.get('subnets', 0):,} "
            f"subnets, generated in {_s(d.get('seconds'), 1)}; reverse zones for "
            f"{', '.join(d.get('reverse', []))}; gmysql rows "
            f"{int(r.get('gmysql_load', {}).get('rows', 0)):,}; `pphook export` check "
            f"{'ok' if ec.get('ok') else 'FAILED: ' + str(ec.get('error'))} "
            f"({', '.join(ec.get('zones', []))}); phase time {_s(r.get('seconds'), 0)}"
        )
        for skipped in r.get("skipped", []):
            out.append(f"  - skipped: {skipped}")
        for error in r.get("errors", []):
            out.append(f"  - **error**: {' '.join(error.split())}")
    out += ["", METHOD]
    if NOTES.exists() and not st.get("smoke"):
        out += [NOTES.read_text().rstrip(), ""]
    return "\n".join(out).rstrip() + "\n"


def main() -> None:  # re-render from a JSON file: python -m bench.report results.json
    import json
    import sys

    data = json.loads(Path(sys.argv[1]).read_text())
    sys.stdout.write(render(data))


if __name__ == "__main__":
    main()
