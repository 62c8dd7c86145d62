"""Name servers that do not resolve: what `pphook check` warns about.

A zone's NS names (``zones.nameservers``, apex NS of static files, the servers of a
delegation or of an RFC 2317 block) that sit inside a zone pphook serves must have
A/AAAA records there, or the SOA MNAME and the NS set point nowhere: resolvers cannot
follow a referral (no glue), and pdns cannot send NOTIFY to a name it cannot resolve.
``zones.nameserver_addresses`` publishes them; a phpIPAM host or a static record works
too. Names outside the served zones are someone else's to resolve.
"""

from __future__ import annotations

from dataclasses import dataclass

from remote_backend.snapshot import Snapshot
from remote_backend.snapshot.table import RecordTable
from remote_backend.zones import ZoneSettings


@dataclass(frozen=True, slots=True)
class Unresolvable:
    """An NS name in a served zone without an address there."""

    server: str
    zone: str  # the served zone the name is in
    used_by: tuple[str, ...]  # owners of the NS records naming it

    def message(self, settings: ZoneSettings) -> tuple[str, str]:
        """(config key, warning) for `check`."""
        key = (
            "zones.nameservers"
            if self.server in settings.nameservers
            else "zones.static_dir / zones.classless_delegations"
        )
        users = ", ".join(self.used_by[:3]) + (" ..." if len(self.used_by) > 3 else "")
        return key, (
            f"name server {self.server} (NS of {users}) is in the served zone {self.zone} "
            "but has no A/AAAA record there: resolvers cannot reach it and pdns cannot "
            "NOTIFY it; publish its addresses with zones.nameserver_addresses (or a "
            "phpIPAM host, or glue in the static file)"
        )


def unresolvable_nameservers(snapshot: Snapshot) -> list[Unresolvable]:
    """Every NS target inside a served zone that holds no A/AAAA record, by name."""
    used_by: dict[str, list[str]] = {}
    names = snapshot.names
    # an NS record never stands alone in a RecordTable's single-record map (it only
    # keeps A, AAAA and PTR there): the multi-record owners are all there is to read
    holders = names.multi if isinstance(names, RecordTable) else names
    held = [holders.items(), *(cuts.items() for cuts in snapshot.zone_cuts.values())]
    for items in held:
        for owner, rrs in items:
            for qtype, content in rrs:
                if qtype == "NS":
                    used_by.setdefault(content.lower().rstrip("."), []).append(owner)
    found = []
    for server, owners in sorted(used_by.items()):
        zone = snapshot.zone_of(server)
        if zone is None:
            continue
        if any(qtype in ("A", "AAAA") for qtype, _ in snapshot.rrs(server)):
            continue
        found.append(Unresolvable(server, zone.name, tuple(dict.fromkeys(owners))))
    return found
