"""From the ``hostname`` column to the FQDN DNS would publish (docs/publication-rules.md)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from itertools import compress, filterfalse, repeat
from typing import Final

from validators.codes import Code
from validators.hostname import (
    LDH_LABELS,
    LDH_UNDERSCORE_LABELS,
    MAX_LABEL_LENGTH,
    MAX_NAME_LENGTH,
    hostname_problem,
    is_valid_hostname,
    normalise_hostname,
)
from validators.model import Policy
from validators.rejection import Rejection
from validators.text import quote
from validators.zones import ZoneIndex

_MAX_ZONES_NAMED = 5
# Above this many forward zones ``prefill`` is skipped: the expression tries every zone
# at every label boundary, and one dict access per name (``ZoneIndex``) is then cheaper.
_MAX_PATTERN_ZONES = 64

# "the raw name is the FQDN as it is" in FqdnResolver.cache
SAME: Final = True
Resolved = str | Rejection | bool  # an FQDN, SAME, or why not

_NULL_HOSTNAME = Rejection(Code.NO_HOSTNAME, "no hostname (inventory entry, nothing to publish)")
_BLANK_HOSTNAME = Rejection(
    Code.NO_HOSTNAME, "hostname is blank (only whitespace or '.'), nothing to publish"
)


class FqdnResolver:
    """Turns raw hostnames into publishable FQDNs under one policy.

    ``resolve`` returns the FQDN, or the first rule the name fails: no hostname,
    syntax, qualification of a single-label name, forward zone.

    The answer depends only on the text and the policy, so it is remembered: within a
    pass (a dual-stack host has two rows) and into the next pass, where most names are
    the ones seen before. ``cache`` maps raw names to answers, ``SAME`` standing for
    "publishable as it is" (the usual answer: the row's own string is then used, and
    no string of an earlier read is kept alive). ``end_pass`` remakes it from the
    names of a pass now and then, so memory follows the data instead of every name
    ever seen.
    """

    __slots__ = (
        "_allow_underscore",
        "_default_domain",
        "_plain",
        "_same_pattern",
        "_served_zones",
        "_short_name_rejection",
        "_zones",
        "cache",
    )

    def __init__(self, policy: Policy) -> None:
        self._allow_underscore = policy.allow_underscore
        self._plain = LDH_UNDERSCORE_LABELS if policy.allow_underscore else LDH_LABELS
        self._zones = ZoneIndex(
            z for z in (normalise_hostname(z) for z in policy.forward_zones) if z
        )
        self._served_zones = _served_zones_text(self._zones.names)
        self._default_domain = normalise_hostname(policy.default_domain)
        self._short_name_rejection = self._check_default_domain()
        self._same_pattern = _same_pattern(self._zones.names, policy.allow_underscore)
        self.cache: dict[str | None, Resolved] = {}

    @property
    def zones(self) -> ZoneIndex:
        """The served forward zones."""
        return self._zones

    def prefill(self, names: Sequence[str | None]) -> None:
        """Remember ``SAME`` for the names not known yet that pass the usual-name test
        of ``resolve_uncached``, found in C by one regular expression: a cold pass
        meets a million new names, and a Python call each costs more (measured at 1M
        rows: 0.1-0.2 s less per cold pass; a warm pass only filters out known names).

        The expression accepts a subset of what that test accepts (lowercase LDH
        labels, none starting or ending with '-', at most ``MAX_LABEL_LENGTH``
        characters, under a served zone), so every answer is the one
        ``resolve_uncached`` gives; the rest are resolved one by one as before.
        """
        pattern = self._same_pattern
        if pattern is None:
            return
        cache = self.cache
        # no None (the pattern takes strings only) and no '' (never SAME)
        fresh = list(filter(None, filterfalse(cache.__contains__, names) if cache else names))
        if not fresh:
            return
        if max(map(len, fresh)) > MAX_LABEL_LENGTH:
            fresh = list(compress(fresh, map(MAX_LABEL_LENGTH.__ge__, map(len, fresh))))
        cache.update(zip(compress(fresh, map(pattern.fullmatch, fresh)), repeat(SAME)))

    def end_pass(self, names: Sequence[str | None]) -> None:
        """``names``: the raw names of the pass that just ended, all resolved.

        Once the names the passes no longer see make up a fifth of the cache, it is
        made again from this pass's names, in C (about 0.1 s per million rows).
        """
        cache = self.cache
        if len(cache) > len(names) * 5 // 4 + 1024:
            self.cache = dict(zip(names, map(cache.__getitem__, names), strict=True))

    def resolve(self, raw: str | None) -> str | Rejection:
        result = self.cache.get(raw)
        if result is None:
            result = self.cache[raw] = self.resolve_uncached(raw)
        if result is SAME:
            return raw  # type: ignore[return-value]  # SAME is never the answer for None
        return result  # type: ignore[return-value]

    def resolve_uncached(self, raw: str | None) -> Resolved:
        """The answer for ``raw``: its FQDN (``SAME`` when that is ``raw`` itself), or
        the first rule it fails."""
        # The usual name first, in one go: lowercase LDH labels (so nothing to strip,
        # lower or drop), no label longer than the whole name may be, in a zone.
        if (
            raw is not None
            and len(raw) <= MAX_LABEL_LENGTH
            and self._plain.fullmatch(raw) is not None
            and "." in raw
            and raw[0] != "-"
            and raw[-1] != "-"
            and ".-" not in raw
            and "-." not in raw
            and self._zones.find(raw) is not None
        ):
            return SAME
        name = normalise_hostname(raw)
        if name is None:
            return _NULL_HOSTNAME if raw is None else _BLANK_HOSTNAME
        if not is_valid_hostname(name, allow_underscore=self._allow_underscore):
            problem = hostname_problem(name, allow_underscore=self._allow_underscore)
            return Rejection(Code.HOSTNAME_INVALID, f"hostname {quote(name)} {problem}")
        if "." not in name:
            qualified = self._qualify(name)
            if not isinstance(qualified, str):
                return qualified
            name = qualified
        if self._zones.find(name) is None:
            return Rejection(Code.ZONE_NOT_FOUND, self._outside_zones_reason(name))
        return SAME if name == raw else name

    def comparison_key(self, raw: str | None) -> str:
        """The name two rows are compared by when their MACs match ('' = no hostname)."""
        return comparison_name(raw, self._default_domain) or ""

    def _qualify(self, label: str) -> str | Rejection:
        if self._short_name_rejection is not None:
            return self._short_name_rejection._replace(
                reason=f"hostname {quote(label)} {self._short_name_rejection.reason}"
            )
        fqdn = comparison_name(label, self._default_domain) or label
        if len(fqdn) > MAX_NAME_LENGTH:
            return Rejection(
                Code.HOSTNAME_INVALID,
                f"hostname {quote(label)} qualified with zones.default_domain is "
                f"{len(fqdn)} characters long (max {MAX_NAME_LENGTH})",
            )
        return fqdn

    def _check_default_domain(self) -> Rejection | None:
        """Why single-label names cannot be qualified, or None when they can."""
        domain = self._default_domain
        if domain is None:
            return Rejection(
                Code.ZONE_NOT_FOUND,
                "is a single-label name and zones.default_domain is not set; "
                "set zones.default_domain or enter an FQDN",
            )
        problem = hostname_problem(domain, allow_underscore=self._allow_underscore)
        if problem is not None:
            # A broken config must not put broken names into DNS.
            return Rejection(
                Code.ZONE_NOT_FOUND,
                f"is a single-label name and zones.default_domain {quote(domain)} "
                f"is not a valid domain ({problem}); fix it or enter an FQDN",
            )
        return None

    def _outside_zones_reason(self, fqdn: str) -> str:
        return f"{quote(fqdn)} is in no served forward zone ({self._served_zones})"


def comparison_name(raw: str | None, default_domain: str | None) -> str | None:
    """The name a row is known by, valid or not: normalised, and a single-label name
    qualified the way DNS would qualify it (``web1`` and ``web1.example.com`` are one
    host). None when the row has no hostname. The one place short names are qualified
    for comparison: `explain`, the notifier and the MAC rule all go through here.
    """
    name = normalise_hostname(raw)
    if name is None:
        return None
    domain = normalise_hostname(default_domain)
    if "." not in name and domain is not None:
        return f"{name}.{domain}"
    return name


def _same_pattern(zones: tuple[str, ...], allow_underscore: bool) -> re.Pattern[str] | None:
    """A name of one or more LDH labels (no label starting or ending with '-') under
    one of ``zones``; None when no zone could hold such a name."""
    # A label not starting or ending with '-', then a dot; as few labels as possible
    # before trying the zones (the lazy form measured twice as fast).
    chars = "a-z0-9_-" if allow_underscore else "a-z0-9-"
    label = f"(?!-)[{chars}]+(?<!-)\\."
    fast = LDH_UNDERSCORE_LABELS if allow_underscore else LDH_LABELS
    # only zones that pass the same test themselves: below any other, a name fails it
    usable = [
        z
        for z in zones
        if len(z) < MAX_LABEL_LENGTH
        and fast.fullmatch(z) is not None
        and z[0] != "-"
        and z[-1] != "-"
        and ".-" not in z
        and "-." not in z
    ]
    if not usable or len(usable) > _MAX_PATTERN_ZONES:
        return None
    return re.compile(f"(?:{label})+?(?:{'|'.join(map(re.escape, usable))})")


def _served_zones_text(zones: tuple[str, ...]) -> str:
    if not zones:
        return "zones.forward is empty"
    shown = ", ".join(zones[:_MAX_ZONES_NAMED])
    hidden = len(zones) - _MAX_ZONES_NAMED
    return f"{shown} and {hidden} more" if hidden > 0 else shown
