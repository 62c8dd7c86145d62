"""The ``[zones]`` keys that make pphook the source of whole zones (static files, name
server addresses, RFC 2317 classless blocks) and ``policy.alias_field``."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping, Sequence
from typing import Any

from remote_backend.config.toml import TomlReader, dns_name
from remote_backend.zones.naming import DEFAULT_CLASSLESS_NAME, is_classless
from validators.hostname import hostname_problem
from validators.model import IPAddress
from validators.zones import is_at_or_below

_LABEL = re.compile(r"[A-Za-z0-9/_-]{1,63}")
_COLUMN = re.compile(r"[A-Za-z0-9_]{1,64}")

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def classless_name(r: TomlReader, t: Mapping[str, Any] | None) -> str:
    template = r.get(t, "zones", "classless_name", str, DEFAULT_CLASSLESS_NAME, "a label template")
    try:
        sample = template.format(first=64, prefix=26, last=127)
        other = template.format(first=128, prefix=26, last=191)
    except (KeyError, IndexError, ValueError) as exc:
        r.errors.append(
            (
                "zones.classless_name",
                f"{template!r} is not a template of {{first}}, {{prefix}} and {{last}} ({exc})",
            )
        )
        return DEFAULT_CLASSLESS_NAME
    r.check(
        "zones.classless_name",
        _LABEL.fullmatch(sample) is not None and sample != other,
        f"{template!r} must make one DNS label per block from {{first}} (and {{prefix}} "
        'or {last}), e.g. "{first}/{prefix}" (64/26) or "{first}-{prefix}" (64-26)',
    )
    return template


def check_classless(r: TomlReader, reverse: Sequence[IPNetwork]) -> None:
    blocks = [n for n in reverse if is_classless(n)]
    for i, a in enumerate(blocks):
        for b in blocks[i + 1 :]:
            r.check("zones.reverse", not a.overlaps(b), f"classless blocks {a} and {b} overlap")


def classless_delegations(
    r: TomlReader, t: Mapping[str, Any] | None, reverse: Sequence[IPNetwork]
) -> dict[ipaddress.IPv4Network, tuple[str, ...]]:
    raw = r.get(t, "zones", "classless_delegations", dict, {}, "a table of network = [names]")
    key = "zones.classless_delegations"
    result: dict[ipaddress.IPv4Network, tuple[str, ...]] = {}
    for text, names in raw.items():
        try:
            net = ipaddress.ip_network(text, strict=True)
        except ValueError as exc:
            r.errors.append((key, f"{text!r} is not a network ({exc})"))
            continue
        if not (isinstance(net, ipaddress.IPv4Network) and is_classless(net)):
            r.errors.append((key, f"{text}: classless delegation is for IPv4 /25 to /32"))
            continue
        enclosing = [
            n
            for n in reverse
            if isinstance(n, ipaddress.IPv4Network) and not is_classless(n) and net.subnet_of(n)
        ]
        r.check(
            key,
            bool(enclosing),
            f"{text}: no served reverse zone holds it (add its /24 or a wider network to "
            "zones.reverse, or remove the delegation)",
        )
        for served in reverse:
            r.check(
                key,
                not (is_classless(served) and served.overlaps(net)),
                f"{text} overlaps {served}, a classless block pphook serves itself",
            )
        if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
            r.errors.append((key, f"{text}: expected a list of name server names"))
            continue
        servers = tuple(dns_name(n) for n in names)
        for server in servers:
            problem = hostname_problem(server)
            r.check(key, problem is None, f"{text}: name server {server!r} {problem}")
        result[net] = servers
    return result


def nameserver_addresses(
    r: TomlReader, t: Mapping[str, Any] | None, forward: Sequence[str]
) -> dict[str, tuple[IPAddress, ...]]:
    raw = r.get(t, "zones", "nameserver_addresses", dict, {}, "a table of name = [addresses]")
    key = "zones.nameserver_addresses"
    result: dict[str, tuple[IPAddress, ...]] = {}
    for text, addresses in raw.items():
        name = dns_name(text)
        problem = hostname_problem(name)
        if problem is not None:
            r.errors.append((key, f"{text!r} {problem}"))
            continue
        r.check(
            key,
            any(is_at_or_below(name, z) for z in forward),
            f"{name} is in no served forward zone: pphook cannot publish its addresses",
        )
        if not isinstance(addresses, list) or not addresses:
            r.errors.append((key, f"{name}: expected a list of IP addresses"))
            continue
        parsed: list[IPAddress] = []
        for value in addresses:
            try:
                parsed.append(ipaddress.ip_address(value))
            except (TypeError, ValueError):
                r.errors.append((key, f"{name}: {value!r} is not an IP address"))
        result[name] = tuple(sorted(set(parsed), key=lambda a: (a.version, int(a))))
    return result


def alias_field(r: TomlReader, t: Mapping[str, Any] | None) -> str | None:
    column = r.get(t, "policy", "alias_field", str, None, "a column name")
    if column is not None:
        r.check(
            "policy.alias_field",
            _COLUMN.fullmatch(column) is not None,
            f"{column!r} is not a column name (phpIPAM custom fields are columns of "
            'ipaddresses such as "custom_aliases")',
        )
    return column
