"""Snapshot build time, refresh-check cost, and the published records, in a fresh process.

``python -m bench.snapshot_cost --config CFG --builds K --tokens M --dump DIR`` prints
one JSON object on stdout:

- ``builds``: seconds of each ``SnapshotBuilder.build()`` (the first is cold: a fresh
  process, as at `pphook serve` start; later ones reuse the Validator's memory, as a
  refresh does);
- ``token_seconds``: wall time of each ``IpamReader.change_token()`` call, the check
  `pphook serve` runs every ``server.refresh_interval``;
- ``rss_kb``/``hwm_kb`` of this process (indicative only; `serve`'s own RSS is read
  from /proc by the bench).

With ``--dump``, the last snapshot's records are written as ``records.tsv`` (zone,
owner, type, content, TTL) and ``zones.json``: exactly what ``pphook export ZONE``
renders (``zone_to_text`` iterates the same ``Snapshot.zone_records``: phpIPAM hosts,
aliases, static records, name server addresses, delegations), without dnspython's
cost of building a 1M-record zone object. The TTL is the one pdns is given
(``Snapshot.ttl_for``: static records keep their own), so gmysql serves the same.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path

import bench  # noqa: F401  (sys.path)
from bench.common import proc_status_kb
from remote_backend.build.builder import open_builder
from remote_backend.config import load_config


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench.snapshot_cost")
    parser.add_argument("--config", required=True)
    parser.add_argument("--builds", type=int, default=3)
    parser.add_argument("--tokens", type=int, default=50)
    parser.add_argument("--dump", type=Path)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)

    config = load_config(args.config)
    builder = open_builder(config)
    builds: list[float] = []
    build = None
    for _ in range(max(1, args.builds)):
        t0 = time.perf_counter()
        build = builder.build()
        builds.append(time.perf_counter() - t0)
    assert build is not None
    tokens: list[float] = []
    for _ in range(args.tokens):
        t0 = time.perf_counter()
        builder.reader.change_token()
        tokens.append(time.perf_counter() - t0)
    snap = build.snapshot
    result = {
        "builds": builds,
        "token_seconds": tokens,
        "addresses": len(build.data.addresses),
        "records": snap.record_count,
        "rejected": sum(1 for f in build.publication.findings if f.is_problem),
        "zones": [
            {
                "id": z.id,
                "name": z.name,
                "serial": z.serial,
                "soa": z.soa_content,
                "records": z.record_count,
            }
            for z in snap.zones
        ],
        "ttl": snap.ttl,
        "rss_kb": proc_status_kb_self("VmRSS"),
        "hwm_kb": proc_status_kb_self("VmHWM"),
    }
    if args.dump is not None:
        args.dump.mkdir(parents=True, exist_ok=True)
        with open(args.dump / "records.tsv", "w", encoding="utf-8") as out:
            for zone in snap.zones:
                for owner, qtype, content in snap.zone_records(zone):
                    ttl = snap.ttl_for(owner, qtype)
                    out.write(f"{zone.name}\t{owner}\t{qtype}\t{content}\t{ttl}\n")
        meta = {"ttl": snap.ttl, "zones": result["zones"]}
        (args.dump / "zones.json").write_text(json.dumps(meta, indent=1))
    json.dump(result, sys.stdout)
    return 0


def proc_status_kb_self(key: str) -> int | None:
    import os

    return proc_status_kb(os.getpid(), key)


if __name__ == "__main__":
    sys.exit(main())
