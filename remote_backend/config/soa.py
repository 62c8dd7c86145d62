"""The SOA timers of ``[zones]`` (``soa_refresh``, ``soa_retry``, ``soa_expire``,
``soa_minimum``): ranges from the RFCs, so a config `check` accepts never produces an
SOA that pdns, dnspython or a secondary refuses.

Errors (the zone would break or the value means nothing):

- every timer is a 32-bit field whose top bit must be clear (RFC 1035 3.3.13, RFC 2181
  8: a value above 2^31-1 is read as 0 by some implementations): 0..2147483647;
- refresh, retry and expire of 0 mean "constantly" or "at once" (1 s at least);
- expire must exceed refresh + retry: otherwise a secondary that misses one refresh
  drops the zone before its first retry can succeed;
- minimum is the negative-caching TTL (RFC 2308 5): "values exceeding one day have been
  found to be problematic", so at most 86400.

Warnings (valid, but outside what RFC 1912 2.2 and RFC 2308 5 recommend): refresh
outside 1200..43200, retry above refresh, expire below one week, minimum above three
hours (a host added in phpIPAM stays NXDOMAIN in resolvers that long).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from remote_backend.config.toml import TomlReader
from remote_backend.zones import SoaTimers

TIMER_MAX = 2**31 - 1  # RFC 2181 8: 32 bits, top bit clear
MINIMUM_MAX = 86400  # RFC 2308 5: more than a day is "problematic"
REFRESH_ADVISED = (1200, 43200)  # RFC 1912 2.2: 20 minutes to 12 hours
EXPIRE_ADVISED_MIN = 7 * 86400  # RFC 1912 2.2 advises 2-4 weeks; below a week is risky
MINIMUM_ADVISED_MAX = 3 * 3600  # RFC 2308 5: one to three hours work well


def parse_soa_timers(r: TomlReader, t: Mapping[str, Any] | None) -> SoaTimers:
    d = SoaTimers()
    refresh = r.integer(t, "zones", "soa_refresh", d.refresh, 1, TIMER_MAX, " seconds")
    retry = r.integer(t, "zones", "soa_retry", d.retry, 1, TIMER_MAX, " seconds")
    expire = r.integer(t, "zones", "soa_expire", d.expire, 1, TIMER_MAX, " seconds")
    minimum = r.integer(
        t, "zones", "soa_minimum", d.minimum, 0, MINIMUM_MAX, " seconds (RFC 2308: at most a day)"
    )
    r.check(
        "zones.soa_expire",
        expire > refresh + retry,
        f"must be greater than soa_refresh + soa_retry ({refresh} + {retry}): a secondary "
        "would drop the zone before its first retry (RFC 1912 advises 1209600-2419200)",
    )
    low, high = REFRESH_ADVISED
    r.warn(
        "zones.soa_refresh",
        low <= refresh <= high,
        f"{refresh} is outside the {low}-{high} s RFC 1912 advises",
    )
    r.warn(
        "zones.soa_retry",
        retry <= refresh,
        f"{retry} is longer than soa_refresh ({refresh}); RFC 1912 advises a shorter retry",
    )
    r.warn(
        "zones.soa_expire",
        expire >= EXPIRE_ADVISED_MIN,
        f"{expire} s: secondaries stop answering for the zones after a pphook outage that "
        "short (RFC 1912 advises 1209600-2419200)",
    )
    r.warn(
        "zones.soa_minimum",
        minimum <= MINIMUM_ADVISED_MAX,
        f"{minimum} s: a host added in phpIPAM stays NXDOMAIN in resolvers for that long "
        "(RFC 2308 advises 3600-10800)",
    )
    return SoaTimers(refresh=refresh, retry=retry, expire=expire, minimum=minimum)
