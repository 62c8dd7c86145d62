"""Publication policy: which phpIPAM rows DNS publishes, and why the others are not.

Pure functions, no I/O. The backend and the notifier both call ``validate``, so what
DNS serves and what the reports say can never disagree.
"""

from validators.address import InvalidAddress, parse_address, subnet_family
from validators.codes import PROBLEM_CODES, Code
from validators.engine import Validator, validate
from validators.hostname import (
    hostname_problem,
    is_valid_hostname,
    normalise_hostname,
)
from validators.mac import format_mac, is_valid_mac, normalise_mac
from validators.model import (
    AddressRecord,
    AddressRow,
    DuplicateHostnamePolicy,
    Finding,
    IPAddress,
    IpamData,
    MacScope,
    Policy,
    PtrRecord,
    Publication,
    SubnetRow,
)
from validators.zones import ZoneIndex

__all__ = [
    "PROBLEM_CODES",
    "AddressRecord",
    "AddressRow",
    "Code",
    "DuplicateHostnamePolicy",
    "Finding",
    "IPAddress",
    "InvalidAddress",
    "IpamData",
    "MacScope",
    "Policy",
    "PtrRecord",
    "Publication",
    "SubnetRow",
    "Validator",
    "ZoneIndex",
    "format_mac",
    "hostname_problem",
    "is_valid_hostname",
    "is_valid_mac",
    "normalise_hostname",
    "normalise_mac",
    "parse_address",
    "subnet_family",
    "validate",
]
