"""``zones.catalog``: the name of the RFC 9432 catalog zone pphook serves (unset: none).

The catalog is a zone of its own: it may neither be a served zone nor hold one nor sit
inside one, or the names of its members would mix with hosts (and a secondary would
load one zone from two sources). Each problem is one collected error naming the key.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from remote_backend.config.toml import TomlReader, dns_name
from remote_backend.zones.catalog import longest_owner
from validators.hostname import MAX_NAME_LENGTH, hostname_problem
from validators.zones import is_at_or_below

KEY = "zones.catalog"
EXAMPLE = 'e.g. "catalog.invalid"'


def parse_catalog(r: TomlReader, t: Mapping[str, Any] | None, served: Sequence[str]) -> str | None:
    """The catalog's name (normalised), or None when unset or wrong (then an error is
    collected); ``served``: every forward and reverse zone name."""
    raw = r.get(t, "zones", "catalog", str, None, f"a zone name, {EXAMPLE}")
    if raw is None:
        return None
    name = dns_name(raw)
    if not name:
        r.errors.append((KEY, f"{raw!r} is not a zone name; {EXAMPLE}, or remove the key"))
        return None
    problem = hostname_problem(name, allow_underscore=True)
    if problem is not None:
        r.errors.append((KEY, f"{raw!r} is not a zone name: {problem}"))
        return None
    if longest_owner(name) > MAX_NAME_LENGTH:
        r.errors.append(
            (
                KEY,
                f"{raw!r} is too long: the names of its members (40 characters and "
                f'".zones." in front of it) would exceed {MAX_NAME_LENGTH} characters',
            )
        )
        return None
    for zone in served:
        if name == zone:
            problem = f"{name!r} is already a served zone (zones.forward/zones.reverse)"
        elif is_at_or_below(name, zone):
            problem = f"{name!r} is inside served zone {zone!r}"
        elif is_at_or_below(zone, name):
            problem = f"{name!r} is above served zone {zone!r}"
        else:
            continue
        r.errors.append((KEY, f"{problem}: the catalog must be a zone of its own, {EXAMPLE}"))
        return None
    return name
