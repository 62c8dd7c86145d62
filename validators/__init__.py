"""Publication policy: which phpIPAM rows DNS publishes, and why the others are not.

Pure functions, no I/O. The backend and the notifier both call ``validate``, so what
DNS serves and what the reports say can never disagree.

The names below are loaded on first use (PEP 562): a pdns coprocess that needs only
``validators.zones`` does not pay for the whole rule engine at each start.
"""

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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

_WHERE = {
    "AddressRecord": "validators.model",
    "AddressRow": "validators.model",
    "Code": "validators.codes",
    "DuplicateHostnamePolicy": "validators.model",
    "Finding": "validators.model",
    "IPAddress": "validators.model",
    "InvalidAddress": "validators.address",
    "IpamData": "validators.model",
    "MacScope": "validators.model",
    "PROBLEM_CODES": "validators.codes",
    "Policy": "validators.model",
    "PtrRecord": "validators.model",
    "Publication": "validators.model",
    "SubnetRow": "validators.model",
    "Validator": "validators.engine",
    "ZoneIndex": "validators.zones",
    "format_mac": "validators.mac",
    "hostname_problem": "validators.hostname",
    "is_valid_hostname": "validators.hostname",
    "is_valid_mac": "validators.mac",
    "normalise_hostname": "validators.hostname",
    "normalise_mac": "validators.mac",
    "parse_address": "validators.address",
    "subnet_family": "validators.address",
    "validate": "validators.engine",
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'validators' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


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
