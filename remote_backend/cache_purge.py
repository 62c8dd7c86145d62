"""Purge changed names from PowerDNS's packet and query caches after a refresh.

Without this, pdns would keep serving an old answer for up to ``cache-ttl`` /
``query-cache-ttl`` seconds, and a cached NXDOMAIN for a new name for up to
``negquery-cache-ttl`` (60 s by default). ``pdns_control purge NAME`` drops every
cached entry of that exact name; many names go in one call.
"""

from __future__ import annotations

import logging
import subprocess
from collections.abc import Iterable

log = logging.getLogger("pphook.purge")

# Above this many names a zone-wide purge (`ZONE$`) is cheaper than naming each one.
MAX_NAMES_PER_ZONE = 2000
NAMES_PER_CALL = 200


class PdnsCachePurger:
    """Runs ``pdns_control [--socket-dir DIR] purge NAME...``."""

    def __init__(
        self, pdns_control: str, socket_dir: str | None = None, timeout: float = 5
    ) -> None:
        self.command = [pdns_control]
        if socket_dir:
            self.command.append(f"--socket-dir={socket_dir}")
        self.timeout = timeout

    def purge(self, names: Iterable[str], zones: Iterable[str] = ()) -> int:
        """Purge ``names`` (exact) and ``zones`` (with everything below); returns calls made."""
        args = [n + "." for n in sorted(set(names))] + [z + ".$" for z in sorted(set(zones))]
        calls = 0
        for start in range(0, len(args), NAMES_PER_CALL):
            batch = args[start : start + NAMES_PER_CALL]
            try:
                result = subprocess.run(
                    [*self.command, "purge", *batch],
                    capture_output=True,
                    text=True,
                    timeout=self.timeout,
                    check=False,
                )
            except (OSError, subprocess.TimeoutExpired) as exc:
                log.warning(
                    "cache purge failed (%s); pdns may serve old answers until its "
                    "cache TTLs expire",
                    exc,
                )
                return calls
            calls += 1
            if result.returncode != 0:
                log.warning(
                    "pdns_control purge failed: %s", (result.stderr or result.stdout).strip()
                )
        return calls


def purge_plan(changed: set[str], zone_of: dict[str, str]) -> tuple[set[str], set[str]]:
    """Split changed names into exact purges and whole-zone purges (for big changes)."""
    per_zone: dict[str, list[str]] = {}
    for name in changed:
        per_zone.setdefault(zone_of.get(name, ""), []).append(name)
    names: set[str] = set()
    zones: set[str] = set()
    for zone, members in per_zone.items():
        if zone and len(members) > MAX_NAMES_PER_ZONE:
            zones.add(zone)
        else:
            names.update(members)
    return names, zones
