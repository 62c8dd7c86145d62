"""`pphook check`: is this config good, and what would be served?"""

from __future__ import annotations

import time
from collections import Counter
from typing import TYPE_CHECKING

from remote_backend.cli.secrets import startup_warnings

if TYPE_CHECKING:
    from remote_backend.config import Config

EXIT_OK = 0


def check(config: Config) -> int:
    """`pphook check`: config, database, zones, problems, secondaries, running server."""
    from remote_backend.build.builder import open_builder
    from remote_backend.secondaries.watch import secondary_lines

    print(f"config: {config.path}: ok")
    for warning in startup_warnings(config):
        print(f"warning: {warning}")
    _print_server_status(config)
    builder = open_builder(config)
    latency = builder.reader.ping()
    print(f"phpIPAM database: {builder.reader.describe()}: reachable ({latency * 1000:.1f} ms)")
    build = builder.build()
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
    counts = Counter(f.code.value for f in build.publication.findings if f.is_problem)
    if counts:
        print("problems (rows not published, or published with a conflict):")
        for code, n in sorted(counts.items()):
            print(f"  {code:20} {n}")
    else:
        print("problems: none")
    for line in secondary_lines(config, snap):
        print(line)
    return EXIT_OK


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
