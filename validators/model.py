"""Value objects that flow through the validators.

Input: phpIPAM rows as the IPAM reader hands them over (raw, untrusted: any text can
sit in ``hostname``, ``mac`` or ``ip_addr``). Output: what DNS publishes and a finding
for every row that is not published, or is published with a problem worth reporting.

Everything here is immutable so a snapshot built from it can be shared between
threads and swapped atomically.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True, slots=True)
class SubnetRow:
    """One row of phpIPAM ``subnets`` (folders included), columns we need only."""

    id: int
    subnet: str | None  # network address as a decimal string; folders: '0'
    mask: str | None  # prefix length as a string; folders: ''
    section_id: int | None
    is_folder: bool = False
    dns_recursive: bool = False  # UI "Autocreate reverse records"
    vrf_id: int | None = None
    description: str | None = None


@dataclass(frozen=True, slots=True)
class AddressRow:
    """One row of phpIPAM ``ipaddresses``; text columns exactly as stored."""

    id: int
    subnet_id: int | None
    ip_addr: str | None
    hostname: str | None = None
    mac: str | None = None
    state: int | None = 2
    ptr_ignore: bool = False
    edit_date: datetime | None = None
    description: str | None = None


@dataclass(frozen=True, slots=True)
class IpamData:
    """Everything the validators need from one consistent read of phpIPAM."""

    addresses: tuple[AddressRow, ...]
    subnets: Mapping[int, SubnetRow] = field(default_factory=dict)
    sections: Mapping[int, str] = field(default_factory=dict)  # sections.id -> name
    tags: Mapping[int, str] = field(default_factory=dict)  # ipTags.id -> type


class Code(StrEnum):
    """Why a row is not (fully) published. Problem codes are mailed by the notifier."""

    # problems (reported by the notifier)
    HOSTNAME_INVALID = "HOSTNAME_INVALID"
    ZONE_NOT_FOUND = "ZONE_NOT_FOUND"
    IP_INVALID = "IP_INVALID"
    DUPLICATE_HOSTNAME = "DUPLICATE_HOSTNAME"
    DUPLICATE_IP = "DUPLICATE_IP"
    DUPLICATE_MAC = "DUPLICATE_MAC"
    MAC_INVALID = "MAC_INVALID"
    # decisions that are policy, not problems (shown by `explain`, never mailed)
    NO_HOSTNAME = "NO_HOSTNAME"
    STATE_FILTERED = "STATE_FILTERED"
    SECTION_FILTERED = "SECTION_FILTERED"
    PTR_IGNORED = "PTR_IGNORED"
    PTR_SUBNET_FLAG_OFF = "PTR_SUBNET_FLAG_OFF"


PROBLEM_CODES: frozenset[Code] = frozenset(
    {
        Code.HOSTNAME_INVALID,
        Code.ZONE_NOT_FOUND,
        Code.IP_INVALID,
        Code.DUPLICATE_HOSTNAME,
        Code.DUPLICATE_IP,
        Code.DUPLICATE_MAC,
        Code.MAC_INVALID,
    }
)


@dataclass(frozen=True, slots=True)
class Finding:
    """A decision about one row: a rejection, a problem, or a policy note.

    ``reason`` is one line an operator understands without reading code;
    ``related_ids`` names the other rows involved (e.g. the row that won a duplicate).
    """

    code: Code
    row_id: int
    reason: str
    related_ids: tuple[int, ...] = ()

    @property
    def is_problem(self) -> bool:
        return self.code in PROBLEM_CODES


@dataclass(frozen=True, slots=True)
class AddressRecord:
    """A published A (IPv4) or AAAA (IPv6) record. ``row_id``: lowest row behind it."""

    fqdn: str  # normalised: lowercase, no trailing dot
    address: IPAddress
    row_id: int


@dataclass(frozen=True, slots=True)
class PtrRecord:
    """A published PTR: ``address`` points back to ``fqdn``."""

    address: IPAddress
    fqdn: str
    row_id: int


@dataclass(frozen=True, slots=True)
class Publication:
    """The validators' verdict over one IpamData: the only input a snapshot is built from."""

    records: tuple[AddressRecord, ...]
    ptrs: tuple[PtrRecord, ...]
    findings: tuple[Finding, ...]

    def findings_for(self, row_id: int) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.row_id == row_id)

    @property
    def problems(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.is_problem)


class DuplicateHostnamePolicy(StrEnum):
    KEEP_LOWEST_ID = "keep-lowest-id"
    PUBLISH_ALL = "publish-all"


class MacScope(StrEnum):
    GLOBAL = "global"
    SECTION = "section"
    NONE = "none"


@dataclass(frozen=True, slots=True)
class Policy:
    """Publication policy (config ``[policy]`` plus the zone facts the rules need)."""

    forward_zones: tuple[str, ...] = ()  # normalised zone names, no trailing dot
    default_domain: str | None = None
    publish_states: tuple[str | int, ...] = ()  # tag names or ids; empty = every state
    sections: tuple[str, ...] = ()  # section names; empty = all
    allow_underscore: bool = False
    duplicate_hostname: DuplicateHostnamePolicy = DuplicateHostnamePolicy.KEEP_LOWEST_ID
    ptr_requires_subnet_flag: bool = False
    mac_duplicate_scope: MacScope = MacScope.GLOBAL
    # compared after normalisation (strip ':.-', lowercase)
    mac_ignore: tuple[str, ...] = ("000000000000", "ffffffffffff")
