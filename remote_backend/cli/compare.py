"""`pphook compare ZONE --server HOST[:PORT]`: the migration check.

Transfers ZONE (AXFR) from the DNS server the operator runs today and prints what
pphook would add, remove and change, each difference with the phpIPAM rows behind it
and why (what `explain` says about them). Exit codes as diff(1): 0 equal, 1
different, 2 trouble (zone not served by pphook, transfer refused or timed out,
database unreadable).
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from remote_backend.errors import PphookError, ZoneNotServedError

if TYPE_CHECKING:
    from remote_backend.config import Config

EXIT_EQUAL = 0
EXIT_DIFFERENT = 1
EXIT_TROUBLE = 2
DEFAULT_TIMEOUT = 10.0


def compare_verb(config: Config, zone_name: str, server_text: str, timeout: float) -> int:
    try:
        return _compare(config, zone_name, server_text, timeout)
    except PphookError as exc:
        print(f"pphook: {exc}", file=sys.stderr)
        return EXIT_TROUBLE


def _compare(config: Config, zone_name: str, server_text: str, timeout: float) -> int:
    from remote_backend.build.builder import open_builder
    from remote_backend.inspection.compare import compare_zones, render, rows_behind
    from remote_backend.inspection.explain import RowDescriber, RowIndex
    from remote_backend.inspection.transfer import parse_server, transfer_zone
    from remote_backend.inspection.zonefile import served_zone
    from remote_backend.ipam.people import change_authors

    name = zone_name.strip().lower().rstrip(".")
    served = config.zones.all_zone_names
    if name not in served:
        raise ZoneNotServedError(
            f"zone {zone_name!r} is not served by pphook (zones.forward, zones.reverse); "
            f"served zones: {', '.join(served) or 'none'}"
        )
    server = parse_server(server_text)
    theirs = transfer_zone(server, name, timeout)  # first: a refused transfer fails fast
    builder = open_builder(config)
    build = builder.build()
    zone = build.snapshot.zone_by_name.get(name)
    if zone is None:
        raise ZoneNotServedError(f"zone {zone_name!r} is not in pphook's snapshot")
    comparison = compare_zones(name, served_zone(build.snapshot, zone), theirs)
    index = RowIndex(build) if comparison.differences else None
    rows = [rows_behind(index, d) for d in comparison.differences] if index else []
    changes = change_authors(builder.reader, (r.id for found in rows for r in found))
    describer = RowDescriber(build, changes, settings=config.zones)
    sys.stdout.write(render(comparison, server.label, rows, describer, config.zones))
    return EXIT_EQUAL if comparison.equal else EXIT_DIFFERENT
