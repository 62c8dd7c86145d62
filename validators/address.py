"""From ``ip_addr`` (a decimal string) to an IP address (docs/publication-rules.md).

phpIPAM stores both families as the unsigned integer in decimal, so ``167772161`` is
10.0.0.1 in an IPv4 subnet but ``::a00:1`` in an IPv6 one: the family comes from the
parent subnet, and only when there is no usable parent from the value.
"""

from __future__ import annotations

import ipaddress

from validators.model import IPAddress, SubnetRow
from validators.text import quote

IPV4_MAX = 2**32 - 1
IPV6_MAX = 2**128 - 1
_IPV6_MAX_DIGITS = len(str(IPV6_MAX))  # 39

Family = int  # 4 or 6, like ipaddress' ``version``


class InvalidAddress(ValueError):
    """``ip_addr`` is not an address; the message is the one-line reason."""


def parse_decimal(text: str | None) -> int | None:
    """The value of a string of ASCII digits (leading zeros allowed), else None.

    ``int()`` alone would accept ' 12', '1_0', '+1' and Unicode digits such as '١٢'.
    """
    if text is None or not text.isascii() or not text.isdigit():
        return None
    return int(text) if len(text) <= _IPV6_MAX_DIGITS else _parse_long_decimal(text)


def subnet_family(subnet: SubnetRow | None) -> Family | None:
    """The family a parent subnet imposes, or None when the value must decide.

    IPv6 when the mask is above 32 or the network value above 2^32-1; no family for a
    missing parent, a folder, or a subnet without a numeric mask.
    """
    if subnet is None or subnet.is_folder:
        return None
    mask = parse_decimal(subnet.mask)
    if mask is None:
        return None
    network = parse_decimal(subnet.subnet)
    if mask > 32 or (network is not None and network > IPV4_MAX):
        return 6
    return 4


def address_value(ip_addr: str | None, family: Family | None) -> tuple[Family, int]:
    """``(family, value)`` of ``ip_addr``; raises InvalidAddress with the reason.

    ``family`` is what the parent subnet imposes (see ``subnet_family``); None means
    the value decides (up to 2^32-1 is IPv4).
    """
    # The common case first, without a call: a short string of ASCII digits.
    if (
        ip_addr is not None
        and len(ip_addr) <= _IPV6_MAX_DIGITS
        and ip_addr.isdigit()
        and ip_addr.isascii()
    ):
        value: int | None = int(ip_addr)
    else:
        value = parse_decimal(ip_addr)
    if value is None:
        raise InvalidAddress(_not_decimal_reason(ip_addr))
    if family is None:
        family = 4 if value <= IPV4_MAX else 6
    if family == 4 and value > IPV4_MAX:
        raise InvalidAddress(
            f"ip_addr {_shorten_digits(ip_addr)} is above the IPv4 maximum {IPV4_MAX}, "
            "and its parent subnet is IPv4"
        )
    if value > IPV6_MAX:
        raise InvalidAddress(
            f"ip_addr {_shorten_digits(ip_addr)} is above the IPv6 maximum (2^128-1)"
        )
    return family, value


def make_address(family: Family, value: int) -> IPAddress:
    """The ipaddress object for a value already checked by ``address_value``."""
    if family == 4:
        return ipaddress.IPv4Address(value)
    return ipaddress.IPv6Address(value)


def subnet_network(
    subnet: SubnetRow | None,
) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    """The network a phpIPAM subnet row stands for (host bits ignored, as phpIPAM shows
    it), or None for a folder, a missing row or values that are no network."""
    family = subnet_family(subnet)
    if subnet is None or family is None:
        return None
    value, mask = parse_decimal(subnet.subnet), parse_decimal(subnet.mask)
    if value is None or mask is None:
        return None
    try:
        if family == 6:
            return ipaddress.IPv6Network((value, mask), strict=False)
        return ipaddress.IPv4Network((value, mask), strict=False)
    except ValueError:
        return None


def parse_address(ip_addr: str | None, parent: SubnetRow | None = None) -> IPAddress:
    """The address a phpIPAM row means; raises InvalidAddress with the reason."""
    return make_address(*address_value(ip_addr, subnet_family(parent)))


def _parse_long_decimal(text: str) -> int | None:
    # Leading zeros are allowed, but a 5000-digit string must not reach int(), which
    # refuses more than 4300 digits. Over 39 significant digits the exact value does
    # not matter: any such value is out of range, and one out-of-range value stands in.
    significant = text.lstrip("0")
    if len(significant) > _IPV6_MAX_DIGITS:
        return IPV6_MAX + 1
    return int(significant or "0")


def _not_decimal_reason(ip_addr: str | None) -> str:
    if ip_addr is None:
        return "ip_addr is NULL"
    if ip_addr == "":
        return "ip_addr is empty"
    return f"ip_addr {quote(ip_addr)} is not a decimal integer (ASCII digits 0-9 only)"


def _shorten_digits(ip_addr: str | None) -> str:
    digits = ip_addr or ""
    return digits if len(digits) <= 45 else f"{digits[:20]}... ({len(digits)} digits)"


OCTETS = tuple(str(i) for i in range(256))
_PREFIXES: dict[int, str] = {}  # value >> 8 -> "a.b.c." (bounded)


def forget_ipv4_prefixes() -> None:
    """Empty ``ipv4_text``'s cache (after a full build: see ``remote_backend.memory
    .renewed`` for why objects kept from a build cost more than their size)."""
    _PREFIXES.clear()


def ipv4_text(value: int) -> str:
    """``str(IPv4Address(value))`` for an int in range, the work per /24 cached."""
    prefix = _PREFIXES.get(value >> 8)
    if prefix is None:
        if len(_PREFIXES) >= 1 << 16:
            _PREFIXES.clear()
        net = value >> 8
        prefix = _PREFIXES[net] = f"{net >> 16}.{(net >> 8) & 255}.{net & 255}."
    return prefix + OCTETS[value & 255]


def ipv4_value(text: str) -> int | None:
    """The int of a dotted quad that ``ipv4_text`` gives back exactly, else None."""
    parts = text.split(".")
    if len(parts) != 4:
        return None
    value = 0
    for part in parts:
        if not (part.isdigit() and part.isascii() and len(part) <= 3):
            return None
        octet = int(part)
        if octet > 255 or str(octet) != part:
            return None
        value = value << 8 | octet
    return value
