"""From the ``hostname`` column to the FQDN DNS would publish (SPEC 5 rules 1-4)."""

from __future__ import annotations

from validators.hostname import (
    MAX_NAME_LENGTH,
    ZoneSet,
    hostname_problem,
    is_valid_hostname,
    normalise_hostname,
)
from validators.model import Code, Policy
from validators.rejection import Rejection
from validators.text import quote

_MAX_ZONES_NAMED = 5

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
    the ones seen before. ``new_pass`` forgets the names the last pass did not see, so
    memory follows the data instead of growing with every name ever seen.
    """

    __slots__ = (
        "_allow_underscore",
        "_default_domain",
        "_last_pass",
        "_served_zones",
        "_short_name_rejection",
        "_this_pass",
        "_zones",
    )

    def __init__(self, policy: Policy) -> None:
        self._allow_underscore = policy.allow_underscore
        self._zones = ZoneSet(policy.forward_zones)
        self._served_zones = _served_zones_text(self._zones.names)
        self._default_domain = normalise_hostname(policy.default_domain)
        self._short_name_rejection = self._check_default_domain()
        self._this_pass: dict[str | None, str | Rejection] = {}
        self._last_pass: dict[str | None, str | Rejection] = {}

    def new_pass(self) -> None:
        self._last_pass = self._this_pass
        self._this_pass = {}

    def resolve(self, raw: str | None) -> str | Rejection:
        # Results are never None, so get() tells a miss apart without an exception.
        # Most names were seen by the last pass: look there first.
        result = self._last_pass.get(raw)
        if result is None:
            result = self._this_pass.get(raw)
            if result is None:
                result = self._resolve(raw)
        self._this_pass[raw] = result
        return result

    def _resolve(self, raw: str | None) -> str | Rejection:
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
        if self._zones.zone_of(name) is None:
            return Rejection(Code.ZONE_NOT_FOUND, self._outside_zones_reason(name))
        return name

    def comparison_key(self, raw: str | None) -> str:
        """The name two rows are compared by when their MACs match ('' = no hostname).

        Valid or not, the name is normalised, and a single-label name is qualified the
        way DNS would qualify it, so ``web1`` and ``web1.example.com`` are one host.
        """
        name = normalise_hostname(raw)
        if name is None:
            return ""
        if "." not in name and self._default_domain is not None:
            return f"{name}.{self._default_domain}"
        return name

    def _qualify(self, label: str) -> str | Rejection:
        if self._short_name_rejection is not None:
            return self._short_name_rejection._replace(
                reason=f"hostname {quote(label)} {self._short_name_rejection.reason}"
            )
        fqdn = f"{label}.{self._default_domain}"
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


def _served_zones_text(zones: tuple[str, ...]) -> str:
    if not zones:
        return "zones.forward is empty"
    shown = ", ".join(zones[:_MAX_ZONES_NAMED])
    hidden = len(zones) - _MAX_ZONES_NAMED
    return f"{shown} and {hidden} more" if hidden > 0 else shown
