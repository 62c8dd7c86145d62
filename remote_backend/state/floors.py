"""Serial floors for zones new to a state store: what the secondaries already hold.

A lost, emptied or replaced store must not restart a zone's serials lower than before:
a secondary holding a higher serial ignores every lower one, and its copy of the zone
freezes until pphook's serial passes it. Unix-time serials run ahead of the clock when
a zone changes several times a second, so the clock alone is no floor. The secondaries
(``zones.secondaries``) are asked once, for the zones the store holds nothing about.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from remote_backend.secondaries.lag import is_older
from remote_backend.secondaries.soa import QUERY_TIMEOUT, query_serials
from remote_backend.state.store import FloorSource


def secondary_floors(secondaries: Sequence[str], timeout: float = QUERY_TIMEOUT) -> FloorSource:
    """A ``StateStore`` floor source: per zone, the newest (RFC 1982) SOA serial any of
    ``secondaries`` answers authoritatively; zones nobody answers for are left out.
    One round of queries, at most ``timeout`` seconds however many are down."""

    def ask(zones: Sequence[str]) -> Mapping[str, int]:
        floors: dict[str, int] = {}
        for per_zone in query_serials(secondaries, zones, timeout).values():
            for zone, serial in per_zone.items():
                if serial is None:
                    continue
                best = floors.get(zone)
                if best is None or is_older(best, serial):
                    floors[zone] = serial
        return floors

    return ask
