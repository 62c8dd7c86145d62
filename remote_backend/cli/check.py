"""`pphook check`: is this config good, and what would be served?"""

from __future__ import annotations

import sys
import time
from collections import Counter
from typing import TYPE_CHECKING

from remote_backend.cli.secrets import startup_warnings

if TYPE_CHECKING:
    from remote_backend.config import Config
    from remote_backend.zones.static import StaticData

EXIT_OK = 0
EXIT_ERROR = 1


def check(config: Config) -> int:
    """`pphook check`: config, static zone files, database, zones, problems, name
    servers, secondaries, running server. Exit 1 when a static file cannot be served
    (listed first, each with file, line and what); the rest is still checked."""
    from remote_backend.build.builder import open_builder
    from remote_backend.inspection.nameservers import unresolvable_nameservers
    from remote_backend.secondaries.watch import secondary_lines

    print(f"config: {config.path}: ok")
    for warning in startup_warnings(config):
        print(f"warning: {warning}")
    _print_server_status(config)
    builder = open_builder(config)
    builder.static.refresh(log_problems=False)
    static_errors = sorted(builder.static.data.errors.values())
    _print_static(config, builder.static.data, static_errors)
    latency = builder.reader.ping()
    print(f"phpIPAM database: {builder.reader.describe()}: reachable ({latency * 1000:.1f} ms)")
    build = builder.build(strict_static=False)
    snap = build.snapshot
    changed = builder.store.zone_changed_at()
    print(
        f"read {len(build.data.addresses)} addresses, {len(build.data.subnets)} subnets; "
        f"snapshot built in {build.seconds:.2f} s"
    )
    print(f"{'zone':40} {'serial':>12} {'records':>9}  last change")
    for zone in snap.zones:
        when = changed.get(zone.name)
        stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(when)) if when else "-"
        print(f"{zone.name:40} {zone.serial:>12} {zone.record_count:>9}  {stamp}")
    counts = Counter(f.code for f in build.publication.findings if f.is_problem)
    if counts:
        print("problems (rows not published, or published with a conflict):")
        for code, n in sorted(counts.items(), key=lambda item: item[0].rank):
            print(f"  {code.value:20} {n:>6}  {code.group_title}")
    else:
        print("problems: none")
    for server in unresolvable_nameservers(snap):
        key, message = server.message(config.zones)
        print(f"warning: {config.path}: {key}: {message}")
    for line in secondary_lines(config, snap):
        print(line)
    if static_errors:
        print(
            f"pphook: {len(static_errors)} static zone file problem"
            f"{'' if len(static_errors) == 1 else 's'} (listed above): `serve` keeps the "
            "last good content of those zones, `explain` and `export` refuse to run",
            file=sys.stderr,
        )
        return EXIT_ERROR
    return EXIT_OK


def _print_static(config: Config, static: StaticData, errors: list[str]) -> None:
    """What ``zones.static_dir`` adds, and every file that cannot be served."""
    directory = config.zones.static_dir
    if directory is None:
        return
    records = sum(len(z.records) + len(z.apex_ns) for z in static.zones.values())
    cuts = sum(len(z.cuts) for z in static.zones.values())
    print(
        f"static zone files in {directory}: {_count(len(static.zones), 'zone')}, "
        f"{_count(records, 'record')}, {_count(cuts, 'delegation')}"
    )
    for error in errors:
        print(f"error: {error}")


def _count(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _print_server_status(config: Config) -> None:
    """What the running `pphook serve` says about itself, if one listens on the socket."""
    import json
    import socket

    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(3)
            sock.connect(config.server.socket)
            sock.sendall(b'{"method":"pphookStatus","parameters":{}}\n')
            with sock.makefile("rb") as reader:
                status = json.loads(reader.readline()).get("result")
    except (OSError, ValueError):
        print(f"pphook serve: not reachable on {config.server.socket}")
        return
    if not isinstance(status, dict):
        print(f"pphook serve on {config.server.socket}: no status")
        return
    built = status.get("snapshot_built_at")
    age = f"{time.time() - built:.0f} s" if isinstance(built, (int, float)) else "-"
    print(
        f"pphook serve on {config.server.socket}: {status.get('health')}, snapshot from "
        f"{status.get('source')} ({status.get('snapshot_records')} records, age {age}), "
        f"database circuit {status.get('circuit')}"
    )
    if status.get("last_error"):
        print(f"  last error: {status['last_error']}")
