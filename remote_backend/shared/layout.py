"""Where and how the shared snapshot is stored: files, databases, keys, meta.

Keys of the ``names`` database are the zone id (two bytes, big-endian) followed by the
owner name (ASCII, lowercase, no trailing dot): every owner of a zone sits in one key
range (a ``list`` is one cursor walk), and a lookup needs only the zone of the name.
Values are encoded answers (``protocol/encode.py``), stored packed (``packing.py``).
The ``meta`` database holds the format, the generation and the served zones (JSON).

``generation`` is an 8-byte counter file `serve` bumps after every commit. Readers map
it and compare it on each request (a memory read, no system call), so they drop their
caches exactly when the data moved.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

FORMAT = b"pphook-shared-2"  # 2: values packed (``packing``)
# Formats of earlier versions: `serve` replaces such a file with a fresh build (an
# upgrade, once), and coprocesses of either version serve only their own format.
EARLIER_FORMATS = (b"pphook-shared-1",)
EARLIER = "written by an earlier pphook version"
NAMES_DB = b"names"
META_DB = b"meta"
# whole `list` replies `serve` built ahead, in idle time, with the generation each was
# built from and when each zone's names last changed (``lists.py``)
LISTS_DB = b"lists"
META_FORMAT = b"format"
META_GENERATION = b"generation"
META_ZONES = b"zones"
META_STATUS = b"status"
META_PUBLISHED_AT = b"published_at"
# the generation `serve` validated or wrote itself; readers serve no other (see
# ``validate``: a file nobody checked, or one `serve` refused, is never served)
META_VALIDATED = b"validated"

GENERATION_FILE = "generation"
NOTIFIED_DIR = "notified"
STATS_DIR = "stats"  # the coprocesses' request counters (``stats.py``)
DATA_FILE = "data.mdb"  # LMDB's names for the files of an environment
LOCK_FILE = "lock.mdb"
REFUSED_SUFFIX = ".refused"  # a data file `serve` could not read, kept for inspection

# Address space reserved for the map. Fixed, so readers never meet a resized map. The
# writer maps it writable (``writemap``), so data.mdb is a sparse file of this apparent
# size: ``ls -l`` shows 16 GiB, ``du`` the pages used (~260 MB at 1M addresses).
MAP_SIZE = 1 << 34  # 16 GiB: ~50M addresses
MAX_READERS = 2048  # one slot per reading thread: pdns threads, AXFR coprocesses, serve
MAX_KEY = 511  # LMDB's default key size limit; DNS names are <= 253 (plus escapes)
# One name's encoded answer: a DNS message holds at most 64 KiB, so a value far above
# that is no answer pphook built. Bounded so that nothing read from the file makes a
# reader copy gigabytes (the writer refuses to store more).
MAX_VALUE = 1 << 20
# One zone's stored `list` reply (a zone of 1M names is ~85 MB): bigger zones are
# built per transfer, and a reader never copies more than this from a stored one.
MAX_LIST = 1 << 28
MAX_META = 1 << 24  # the zones JSON: 65,535 zones of a few hundred bytes each at most
MAX_STATUS = 1 << 20  # `serve`'s status JSON

_ZONE_ID = struct.Struct(">H")
MAX_ZONE_ID = 0xFFFF


def name_key(zone_id: int, name: str) -> bytes:
    """The key of ``name`` in zone ``zone_id``."""
    return _ZONE_ID.pack(zone_id) + name.encode("ascii")


def zone_prefix(zone_id: int) -> bytes:
    return _ZONE_ID.pack(zone_id)


def key_name(key: bytes) -> str:
    """The owner name of a key."""
    return key[2:].decode("ascii")


def key_zone(key: bytes) -> int:
    return int(_ZONE_ID.unpack_from(key)[0])


@dataclass(frozen=True, slots=True)
class ZoneMeta:
    """A served zone as the shared snapshot records it (``protocol.view.ZoneInfo``)."""

    id: int
    name: str
    serial: int
    soa_content: str
    fingerprint: str
    record_count: int


def zones_to_json(zones: Sequence[ZoneMeta]) -> bytes:
    return json.dumps([asdict(z) for z in zones], separators=(",", ":")).encode()


def zones_from_json(raw: bytes) -> tuple[ZoneMeta, ...]:
    """The zones of a meta record; ValueError when it is not what `serve` writes."""
    if len(raw) > MAX_META:
        raise ValueError(f"zones: {len(raw)} bytes, more than {MAX_META}")
    data = json.loads(raw)
    if not isinstance(data, list):
        raise ValueError("zones: not a list")
    zones = []
    for item in data:
        if not isinstance(item, Mapping):
            raise ValueError("zones: not an object")
        zone = ZoneMeta(
            id=_int(item, "id", 1, MAX_ZONE_ID),
            name=_str(item, "name"),
            serial=_int(item, "serial", 0, (1 << 32) - 1),
            soa_content=_str(item, "soa_content"),
            fingerprint=_str(item, "fingerprint"),
            record_count=_int(item, "record_count", 0, 1 << 40),
        )
        zones.append(zone)
    if len({z.id for z in zones}) != len(zones) or len({z.name for z in zones}) != len(zones):
        raise ValueError("zones: duplicate id or name")
    return tuple(zones)


def _int(item: Mapping[str, Any], key: str, low: int, high: int) -> int:
    value = item.get(key)
    if type(value) is not int or not low <= value <= high:
        raise ValueError(f"zones: {key} {value!r} out of range")
    return value


def _str(item: Mapping[str, Any], key: str) -> str:
    value = item.get(key)
    if type(value) is not str or not value.isascii() or '"' in value or "\\" in value:
        raise ValueError(f"zones: {key} {value!r} is not plain ASCII text")
    return value


def generation_path(directory: Path) -> Path:
    return directory / GENERATION_FILE


def data_path(directory: Path) -> Path:
    return directory / DATA_FILE
