"""`explain` and `export`: what an operator reads before trusting pphook."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from remote_backend.errors import ZoneNotServedError

if TYPE_CHECKING:
    from remote_backend.config import Config

EXIT_OK = 0


def explain_verb(config: Config, target: str) -> int:
    """`pphook explain NAME-or-IP-or-MAC`."""
    from remote_backend.build.builder import open_builder
    from remote_backend.inspection.explain import explain
    from remote_backend.ipam.people import change_authors
    from remote_backend.ipam.vrfs import vrf_names

    builder = open_builder(config)
    build = builder.build()
    _, rows = explain(build, target, settings=config.zones)
    changes = dict(change_authors(builder.reader, (r.id for r in rows)))
    vrfs = vrf_names(builder.reader) if rows else {}
    text, _ = explain(
        build,
        target,
        changes,
        builder.store.zone_changed_at(),
        settings=config.zones,
        vrfs=vrfs,
    )
    sys.stdout.write(text)
    return EXIT_OK


def export_verb(config: Config, zone_name: str) -> int:
    """`pphook export ZONE`."""
    from remote_backend.build.builder import open_builder
    from remote_backend.inspection.zonefile import zone_to_text

    builder = open_builder(config)
    snapshot = builder.build().snapshot
    name = zone_name.strip().lower().rstrip(".")
    zone = snapshot.zone_by_name.get(name)
    if zone is None:
        served = ", ".join(z.name for z in snapshot.zones)
        raise ZoneNotServedError(f"zone {zone_name!r} is not served; served zones: {served}")
    sys.stdout.write(zone_to_text(snapshot, zone))
    return EXIT_OK
