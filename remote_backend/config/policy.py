"""The ``[policy]`` section: what the validators publish."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from remote_backend.config.toml import TomlReader
from remote_backend.config.whole_zones import alias_field
from remote_backend.zones import ZoneSettings
from validators.mac import normalise_mac
from validators.model import DuplicateHostnamePolicy, MacScope, Policy

T = TypeVar("T")


def _enum(
    r: TomlReader, key: str, value: str, factory: Callable[[str], T], choices: str
) -> T | None:
    try:
        return factory(value)
    except ValueError:
        r.errors.append((key, f"expected one of {choices}, got {value!r}"))
        return None


def parse_policy(r: TomlReader, zones: ZoneSettings) -> Policy:
    t = r.section("policy", required=False)
    states_raw = r.get(t, "policy", "publish_states", list, [], "a list of tag names or ids")
    states: list[str | int] = []
    for s in states_raw:
        if isinstance(s, bool) or not isinstance(s, (str, int)):
            r.errors.append(("policy.publish_states", f"{s!r} is neither a tag name nor an id"))
        else:
            states.append(s)
    dup_raw = r.get(t, "policy", "duplicate_hostname", str, "keep-lowest-id", "a string")
    dup = _enum(
        r,
        "policy.duplicate_hostname",
        dup_raw,
        DuplicateHostnamePolicy,
        '"keep-lowest-id", "publish-all"',
    )
    scope_raw = r.get(t, "policy", "mac_duplicate_scope", str, "global", "a string")
    scope = _enum(
        r, "policy.mac_duplicate_scope", scope_raw, MacScope, '"global", "section", "none"'
    )
    mac_ignore = (
        tuple(
            normalise_mac(m) or ""
            for m in r.str_list(t, "policy", "mac_ignore", "a list of MAC addresses")
        )
        if t is not None and "mac_ignore" in t
        else Policy().mac_ignore
    )
    r.unknown_keys(
        t,
        "policy",
        {
            "publish_states",
            "sections",
            "allow_underscore",
            "duplicate_hostname",
            "ptr_requires_subnet_flag",
            "mac_duplicate_scope",
            "mac_ignore",
            "alias_field",
        },
    )
    return Policy(
        forward_zones=zones.forward,
        default_domain=zones.default_domain,
        publish_states=tuple(states),
        sections=r.str_list(t, "policy", "sections", "a list of section names"),
        allow_underscore=r.get(t, "policy", "allow_underscore", bool, False, "true or false"),
        duplicate_hostname=dup or DuplicateHostnamePolicy.KEEP_LOWEST_ID,
        ptr_requires_subnet_flag=r.get(
            t, "policy", "ptr_requires_subnet_flag", bool, False, "true or false"
        ),
        mac_duplicate_scope=scope or MacScope.GLOBAL,
        mac_ignore=mac_ignore,
        alias_field=alias_field(r, t),
        delegated_reverse=tuple(zones.classless_delegations),
    )
