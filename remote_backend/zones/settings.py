"""The ``[zones]`` section as pphook uses it, checked and normalised by the config."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from remote_backend.zones.naming import reverse_zone_name

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True, slots=True)
class SoaTimers:
    refresh: int = 10800
    retry: int = 3600
    expire: int = 1209600
    minimum: int = 3600  # negative-caching TTL (RFC 2308)


@dataclass(frozen=True, slots=True)
class ZoneSettings:
    """The ``[zones]`` section, checked and normalised."""

    forward: tuple[str, ...]
    reverse: tuple[IPNetwork, ...]
    nameservers: tuple[str, ...]
    hostmaster: str
    ttl: int = 3600
    default_domain: str | None = None
    soa: SoaTimers = SoaTimers()
    secondaries: tuple[str, ...] = ()
    serial_format: str = "unixtime"  # unixtime | date | counter (state.store.SerialFormat)

    @property
    def reverse_zone_names(self) -> tuple[str, ...]:
        return tuple(reverse_zone_name(n) for n in self.reverse)

    @property
    def all_zone_names(self) -> tuple[str, ...]:
        """Forward zones first, then reverse zones, in config order (this gives zone ids)."""
        return self.forward + self.reverse_zone_names
