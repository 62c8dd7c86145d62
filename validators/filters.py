"""Policy filters: which rows the operator wants published, and which may get a PTR.

These are decisions, not problems (docs/publication-rules.md): a filtered row is simply not
published, a row whose PTR is suppressed keeps its A/AAAA record.
"""

from __future__ import annotations

from collections.abc import Mapping

from validators.address import parse_decimal
from validators.codes import Code
from validators.model import IpamData, Policy, SubnetRow
from validators.rejection import Rejection
from validators.text import quote


def _name_key(name: str) -> str:
    # Tag and section names are compared the way phpIPAM's collation compares them:
    # case-insensitively, surrounding spaces ignored.
    return name.strip().casefold()


class RowFilter:
    """The section filter (scope) and the state filter; both empty: every row passes.

    The section filter says which rows are pphook's business at all: a row outside
    ``policy.sections`` is neither published nor checked (no problem is reported
    about another section's data), so the engine applies it before any other rule.
    The state filter is a publication decision about rows in scope: it applies after
    the hostname, zone and address checks, so a bad name on a Reserved or Offline row
    is still reported (docs/publication-rules.md says why).
    """

    __slots__ = ("_by_state", "_by_subnet", "_data", "_policy", "_section_ok", "_states")

    def __init__(self, data: IpamData, policy: Policy) -> None:
        self._data = data
        self._policy = policy
        self._states = _allowed_states(policy.publish_states, data.tags)
        self._section_ok = _allowed_subnets(policy.sections, data.subnets, data.sections)
        # Many rows share a state or a subnet: build each rejection once.
        self._by_state: dict[int | None, Rejection] = {}
        self._by_subnet: dict[int | None, Rejection] = {}

    @property
    def filters(self) -> bool:
        """False when every row passes (no state and no section filter)."""
        return self._states is not None or self._section_ok is not None

    def out_of_scope(self, subnet_id: int | None) -> Rejection | None:
        """Why a row in this subnet is outside ``policy.sections``, or None when it is in
        scope (always, without a section filter)."""
        section_ok = self._section_ok
        if section_ok is None or section_ok.get(subnet_id, False):
            return None
        rejection = self._by_subnet.get(subnet_id)
        if rejection is None:
            rejection = Rejection(Code.SECTION_FILTERED, self._section_reason(subnet_id))
            self._by_subnet[subnet_id] = rejection
        return rejection

    def state_rejection(self, state: int | None) -> Rejection | None:
        """Why the policy does not publish a row with this state, or None when it does."""
        states = self._states
        if states is None or state in states:
            return None
        rejection = self._by_state.get(state)
        if rejection is None:
            rejection = Rejection(Code.STATE_FILTERED, self._state_reason(state))
            self._by_state[state] = rejection
        return rejection

    def _state_reason(self, state: int | None) -> str:
        wanted = ", ".join(str(s) for s in self._policy.publish_states)
        if state is None:
            return f"state is NULL, and policy.publish_states ({wanted}) does not include it"
        tag = self._data.tags.get(state)
        shown = f"{quote(tag)} (id {state})" if tag is not None else f"id {state} (no such tag)"
        return f"state {shown} is not in policy.publish_states ({wanted})"

    def _section_reason(self, subnet_id: int | None) -> str:
        wanted = ", ".join(self._policy.sections)
        subnet = self._data.subnets.get(subnet_id) if subnet_id is not None else None
        if subnet is None:
            return (
                f"its subnet (id {subnet_id}) is unknown, so its section cannot match "
                f"policy.sections ({wanted})"
            )
        section_id = subnet.section_id
        section = self._data.sections.get(section_id) if section_id is not None else None
        if section is None:
            return (
                f"its subnet {subnet.id} is in no known section (id {section_id}), "
                f"so it cannot match policy.sections ({wanted})"
            )
        return f"section {quote(section)} is not in policy.sections ({wanted})"


class PtrGate:
    """Why a published row may not hold its IP's PTR (docs/publication-rules.md)."""

    __slots__ = ("_flag_on", "requires_flag")

    def __init__(self, data: IpamData, policy: Policy) -> None:
        self.requires_flag = policy.ptr_requires_subnet_flag
        self._flag_on = frozenset(sid for sid, s in data.subnets.items() if s.dns_recursive)

    def blocks(self, ptr_ignore: bool, subnet_id: int | None) -> tuple[Code, ...]:
        """The codes that keep a row out of the PTR decision; () when it may hold it."""
        if ptr_ignore:
            if self.requires_flag and subnet_id not in self._flag_on:
                return (Code.PTR_IGNORED, Code.PTR_SUBNET_FLAG_OFF)
            return (Code.PTR_IGNORED,)
        if self.requires_flag and subnet_id not in self._flag_on:
            return (Code.PTR_SUBNET_FLAG_OFF,)
        return ()


def _allowed_states(
    publish_states: tuple[str | int, ...], tags: Mapping[int, str]
) -> frozenset[int | None] | None:
    """State ids the policy publishes; None = every state (NULL and unknown ids too)."""
    if not publish_states:
        return None
    ids: set[int | None] = set()
    names: set[str] = set()
    for wanted in publish_states:
        text = str(wanted).strip()
        names.add(_name_key(text))
        # 2 and "2" (a TOML list of strings) both name tag id 2.
        number = parse_decimal(text)
        if number is not None:
            ids.add(number)
    ids.update(tag_id for tag_id, tag in tags.items() if _name_key(tag) in names)
    return frozenset(ids)


def _allowed_subnets(
    wanted_sections: tuple[str, ...],
    subnets: Mapping[int, SubnetRow],
    sections: Mapping[int, str],
) -> dict[int | None, bool] | None:
    """Subnet id -> in a wanted section; None = every section. Unknown subnets fail."""
    if not wanted_sections:
        return None
    wanted = {_name_key(name) for name in wanted_sections}
    allowed: dict[int | None, bool] = {}
    for subnet_id, subnet in subnets.items():
        section = sections.get(subnet.section_id) if subnet.section_id is not None else None
        allowed[subnet_id] = section is not None and _name_key(section) in wanted
    return allowed
