"""A zone's content fingerprint: what decides whether its serial moves.

The fingerprint is a sum (mod 2^128) of one 128-bit BLAKE2s hash per name of the zone,
over its key and encoded value (``protocol/encode.py``: what is actually served, TTLs
included), plus one hash of the SOA fields other than the serial. A sum does not
depend on the order names are met in, and one name's change is one subtraction and
one addition: an incremental refresh updates a zone's fingerprint for the names it
touched only, and gets exactly what a full build would compute (a property test
holds the two together). The apex counts without its SOA record, which carries the
serial the fingerprint decides.
"""

from __future__ import annotations

import array
import hashlib
import sys
from collections.abc import Iterable
from functools import partial
from operator import methodcaller

from remote_backend.zones import ZoneSettings

_MOD = 1 << 128
_HASH = partial(hashlib.blake2s, digest_size=16)
_DIGEST = methodcaller("digest")
# Part of every fingerprint: a new format gives every zone one new serial (never a
# lower one). 3: BLAKE2s per name (BLAKE2b before; BLAKE2s costs a third less per call
# on the two million short items of a 1M-address build).
_FORMAT = "pphook-fingerprint-3"


def item_hash(key: bytes, value: bytes) -> int:
    """The hash one name adds to its zone's fingerprint."""
    # one call over the joined bytes: the same digest as hashing them piece by piece
    return int.from_bytes(_HASH(key + b"\x00" + value).digest(), "big")


def sum_of_hashes(keys: Iterable[bytes], values: Iterable[bytes]) -> int:
    """``sum(item_hash(k, v) for k, v in zip(keys, values)) % 2**128``, in C loops only."""
    return sum_of_item_hashes(zip(keys, values, strict=True))


def sum_of_item_hashes(items: Iterable[tuple[bytes, bytes]]) -> int:
    """``sum(item_hash(k, v) for k, v in items) % 2**128``, in C loops only: a full
    publication and a validation hash every name (two million at 1M addresses). The
    digests are summed as halves of 64 bits (an array of them) instead of one Python
    integer each."""
    digests = b"".join(map(_DIGEST, map(_HASH, map(b"\x00".join, items))))
    halves = array.array("Q", digests)
    if sys.byteorder == "little":
        halves.byteswap()  # each half as the big-endian number it is in the digest
    return ((sum(halves[0::2]) << 64) + sum(halves[1::2])) % _MOD


def header_hash(zone: str, settings: ZoneSettings) -> int:
    """What every fingerprint of ``zone`` starts from: the SOA fields but the serial."""
    soa = settings.soa
    primary = settings.nameservers[0] if settings.nameservers else ""
    timers = (soa.refresh, soa.retry, soa.expire, soa.minimum)
    return _header(zone, settings.ttl, primary, settings.hostmaster, timers)


def header_from_soa(zone: str, soa_content: str, ttl: int) -> int:
    """``header_hash`` from a served SOA record (its content and TTL) instead of the
    settings it was made from: what the shared snapshot's validation checks a stored
    zone's fingerprint against (``assemble.soa_content`` writes the fields). ValueError
    when the content is not seven fields with numeric timers."""
    fields = soa_content.split(" ")
    if len(fields) != 7 or not all(f.isdigit() for f in fields[2:]):
        raise ValueError(f"SOA content {soa_content[:100]!r} is not 7 fields")
    mname, rname = fields[0], fields[1]
    timers = (int(fields[3]), int(fields[4]), int(fields[5]), int(fields[6]))
    return _header(zone, ttl, "" if mname == "." else mname, rname, timers)


def _header(
    zone: str, ttl: int, primary: str, hostmaster: str, timers: tuple[int, int, int, int]
) -> int:
    refresh, retry, expire, minimum = timers
    header = f"{_FORMAT}|{zone}|{ttl}|{primary}|{hostmaster}|{refresh}|{retry}|{expire}|{minimum}"
    return int.from_bytes(hashlib.blake2b(header.encode(), digest_size=16).digest(), "big")


class Fingerprint:
    """A zone's fingerprint being computed or kept up to date."""

    __slots__ = ("total",)

    def __init__(self, start: int) -> None:
        self.total = start % _MOD

    @classmethod
    def from_hex(cls, text: str) -> Fingerprint:
        return cls(int(text, 16))

    def add(self, key: bytes, value: bytes) -> None:
        self.total = (self.total + item_hash(key, value)) % _MOD

    def remove(self, key: bytes, value: bytes) -> None:
        self.total = (self.total - item_hash(key, value)) % _MOD

    def hex(self) -> str:
        return f"{self.total:032x}"
