"""Which served zone holds a name: the one definition of zone membership.

Names here are in pphook's internal form: lowercase, no trailing dot. Membership is
decided at label boundaries (``xbadexample.com`` is not under ``example.com``), and
the longest matching zone wins (``a.lab.example.com`` is in ``lab.example.com`` when
both are served). The validators use it for rule 4 (forward zones), the snapshot to
place every record, the protocol to find the zone of a query.
"""

from __future__ import annotations

from collections.abc import Iterable

# Parent names remembered per index; past this the memo starts over (names asked
# about by the protocol come from the wire, so it must stay bounded).
_MAX_REMEMBERED_PARENTS = 1 << 17


def is_at_or_below(name: str, zone: str) -> bool:
    """True when ``name`` equals ``zone`` or sits under it at a label boundary."""
    return name == zone or name.endswith("." + zone)


class ZoneIndex:
    """The longest zone of a set that equals or holds a name.

    Names in one subnet mostly share their parent domain, so the answer is remembered
    per parent name: most calls cost one set test and one dict access.
    """

    __slots__ = ("_by_parent", "_zones")

    def __init__(self, zones: Iterable[str]) -> None:
        self._zones = frozenset(z for z in zones if z)
        self._by_parent: dict[str, str | None] = {}

    @property
    def names(self) -> tuple[str, ...]:
        """The zones, sorted."""
        return tuple(sorted(self._zones))

    def __contains__(self, zone: object) -> bool:
        return zone in self._zones

    def __len__(self) -> int:
        return len(self._zones)

    def find(self, name: str) -> str | None:
        """The longest zone equal to or above ``name``, or None."""
        if name in self._zones:
            return name
        parent = name.partition(".")[2]
        by_parent = self._by_parent
        try:
            return by_parent[parent]
        except KeyError:
            if len(by_parent) >= _MAX_REMEMBERED_PARENTS:
                by_parent.clear()
            zone = by_parent[parent] = self._walk_up(parent)
            return zone

    def _walk_up(self, name: str) -> str | None:
        zones = self._zones
        while name:
            if name in zones:
                return name
            name = name.partition(".")[2]
        return None
