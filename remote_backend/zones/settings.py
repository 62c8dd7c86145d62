"""The ``[zones]`` section as pphook uses it, checked and normalised by the config."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field

from remote_backend.zones.naming import DEFAULT_CLASSLESS_NAME, reverse_zone_name
from validators.model import IPAddress

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
    # whole zones (docs/configuration.md): static files, addresses of name servers,
    # RFC 2317 child labels and blocks delegated to others
    static_dir: str | None = None
    nameserver_addresses: Mapping[str, tuple[IPAddress, ...]] = field(default_factory=dict)
    classless_name: str = DEFAULT_CLASSLESS_NAME
    classless_delegations: Mapping[ipaddress.IPv4Network, tuple[str, ...]] = field(
        default_factory=dict
    )
    # the RFC 9432 catalog zone listing the member zones (``zones.catalog``), or None
    catalog: str | None = None

    @property
    def reverse_zone_names(self) -> tuple[str, ...]:
        return tuple(reverse_zone_name(n, self.classless_name) for n in self.reverse)

    @property
    def member_zone_names(self) -> tuple[str, ...]:
        """The zones that hold records (phpIPAM's, static files'): forward zones first,
        then reverse zones, in config order. These are the catalog's members."""
        return self.forward + self.reverse_zone_names

    @property
    def all_zone_names(self) -> tuple[str, ...]:
        """Every served zone: the member zones, then the catalog when there is one (this
        order gives zone ids, so adding the catalog moves no other zone's id)."""
        members = self.member_zone_names
        return members if self.catalog is None else (*members, self.catalog)
