"""The ``[zones]`` section."""

from __future__ import annotations

import ipaddress

from remote_backend.config.catalog import parse_catalog
from remote_backend.config.soa import parse_soa_timers
from remote_backend.config.toml import TomlReader, dns_name
from remote_backend.config.whole_zones import (
    check_classless,
    classless_delegations,
    classless_name,
    nameserver_addresses,
)
from remote_backend.errors import SecondaryAddressError
from remote_backend.secondaries.address import parse_secondary
from remote_backend.zones import IPNetwork, ZoneSettings
from remote_backend.zones.naming import reverse_zone_name


def _parse_network(value: str) -> IPNetwork | str:
    """A network or an error message."""
    try:
        net = ipaddress.ip_network(value, strict=True)
    except ValueError as exc:
        return f"{value!r} is not a network address with prefix length ({exc})"
    if net.version == 4 and net.prefixlen > 24:
        return net  # an RFC 2317 classless block
    step = 8 if net.version == 4 else 4
    if net.prefixlen % step:
        unit = (
            "octet aligned (/8, /16, /24) or a classless block (/25 to /32)"
            if net.version == 4
            else "nibble aligned (multiple of 4)"
        )
        return f"{value}: reverse zones must be {unit}"
    if net.prefixlen == 0:
        return f"{value}: /0 is not a servable reverse zone"
    return net


def parse_zones(r: TomlReader) -> ZoneSettings:
    t = r.section("zones", required=True)
    forward = tuple(dns_name(z) for z in r.str_list(t, "zones", "forward", "a list of zone names"))
    for z in forward:
        r.check("zones.forward", bool(z) and " " not in z, f"{z!r} is not a zone name")
    reverse: list[IPNetwork] = []
    for value in r.str_list(t, "zones", "reverse", 'a list of networks like "10.0.0.0/8"'):
        parsed = _parse_network(value)
        if isinstance(parsed, str):
            r.errors.append(("zones.reverse", parsed))
        else:
            reverse.append(parsed)
    r.check(
        "zones.forward",
        t is None or bool(forward) or bool(reverse),
        "no zone configured: set zones.forward and/or zones.reverse",
    )
    nameservers = tuple(
        dns_name(n) for n in r.str_list(t, "zones", "nameservers", "a list of host names")
    )
    r.check(
        "zones.nameservers",
        t is None or bool(nameservers),
        'required: the NS names of the zones, e.g. ["ns1.example.com"]',
    )
    hostmaster = dns_name(
        r.get(t, "zones", "hostmaster", str, "", "a mailbox as a DNS name")
    ).replace("@", ".")
    r.check(
        "zones.hostmaster",
        t is None or bool(hostmaster),
        'required, e.g. "hostmaster.example.com"',
    )
    ttl = r.get(t, "zones", "ttl", int, 3600, "seconds (integer)")
    r.check("zones.ttl", 0 <= ttl <= 2**31 - 1, "must be between 0 and 2147483647")
    default_domain = r.get(t, "zones", "default_domain", str, None, "a domain name")
    if default_domain is not None:
        default_domain = dns_name(default_domain)
        r.check(
            "zones.default_domain",
            any(default_domain == z or default_domain.endswith("." + z) for z in forward),
            f"{default_domain!r} is not in zones.forward, short names qualified with it would "
            "all be rejected",
        )
    timers = parse_soa_timers(r, t)
    secondaries: list[str] = []
    for value in r.str_list(t, "zones", "secondaries", 'a list of "IP" or "IP:port"'):
        try:
            label = parse_secondary(value).label  # normalised: "192.0.2.1:53" -> "192.0.2.1"
        except SecondaryAddressError as exc:
            r.errors.append(("zones.secondaries", str(exc)))
            continue
        r.check("zones.secondaries", label not in secondaries, f"{value!r} is listed twice")
        secondaries.append(label)
    serial_format = r.get(t, "zones", "serial_format", str, "unixtime", "a string")
    r.check(
        "zones.serial_format",
        serial_format in ("unixtime", "date", "counter"),
        f'expected "unixtime", "date" (YYYYMMDDnn) or "counter", got {serial_format!r}',
    )
    r.unknown_keys(
        t,
        "zones",
        {
            "forward",
            "reverse",
            "nameservers",
            "hostmaster",
            "ttl",
            "default_domain",
            "soa_refresh",
            "soa_retry",
            "soa_expire",
            "soa_minimum",
            "secondaries",
            "serial_format",
            "static_dir",
            "nameserver_addresses",
            "classless_name",
            "classless_delegations",
            "catalog",
        },
    )
    check_classless(r, reverse)
    template = classless_name(r, t)
    delegations = classless_delegations(r, t, reverse)
    addresses = nameserver_addresses(r, t, forward)
    static_dir = r.get(t, "zones", "static_dir", str, None, "a directory")
    served = [*forward, *(reverse_zone_name(n, template) for n in reverse)]
    catalog = parse_catalog(r, t, served)
    return ZoneSettings(
        forward=forward,
        reverse=tuple(reverse),
        nameservers=nameservers,
        hostmaster=hostmaster,
        ttl=ttl,
        default_domain=default_domain,
        soa=timers,
        secondaries=tuple(secondaries),
        serial_format=serial_format,
        static_dir=static_dir,
        nameserver_addresses=addresses,
        classless_name=template,
        classless_delegations=delegations,
        catalog=catalog,
    )
