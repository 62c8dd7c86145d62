"""Whether the shared snapshot on disk may be served: checked by `serve` at start,
before anything of what it finds there is used or served.

A valid generation (docs/architecture.md, "Durability and validation"):

- the data file is as long as LMDB's last page says (a truncated file would fault
  every process that maps it) and no longer than the map;
- the meta database holds this format, a generation, and the zones JSON within bounds
  (``layout.zones_from_json``: at most MAX_META bytes, zone ids, 32-bit serials,
  plain ASCII text); each zone's name is a lower-case DNS name, its SOA content seven
  fields carrying its serial, its fingerprint 32 hex digits;
- every key is a name of a served zone: printable ASCII, lower case, no quote, at
  most MAX_KEY bytes, the apex or a name below it; every value at most MAX_VALUE
  bytes, stored as ``packing`` stores them (a mark byte only where packing puts one),
  and once unpacked exactly the encoder's shape for its zone (``protocol.shape``), the
  apex's starting with the SOA the meta records;
- every zone's fingerprint is its content's (``snapshot.fingerprint``: the header its
  SOA record gives plus one hash per name), and its record count the records its
  values hold;
- every ``list`` reply stored ahead that a reader would send (``lists.usable``) is,
  byte for byte, the one its zone's names give (``answers.build_list_reply``). Stored
  replies a reader would not send (stale, malformed) are ignored, as readers ignore
  them.

A full check reads every name once, a few microseconds each, so it runs when `serve`
starts (in a child process, see ``admission``), never per lookup. Coprocesses then
serve a generation only when the meta marks it validated (``layout.META_VALIDATED``),
which `serve` writes after this check and with every publication it builds itself.

``python -m remote_backend.shared.validate DIR`` prints the verdict as one JSON line.
"""

from __future__ import annotations

import json
import re
import sys
import time
from bisect import bisect_left
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Any, NoReturn

import lmdb

from remote_backend.errors import SnapshotRefusedError
from remote_backend.protocol.answers import build_list_reply
from remote_backend.protocol.encode import record_count, without_first
from remote_backend.protocol.shape import ValueShapes, value_shapes
from remote_backend.shared.layout import (
    EARLIER,
    EARLIER_FORMATS,
    FORMAT,
    LISTS_DB,
    MAP_SIZE,
    MAX_KEY,
    MAX_META,
    MAX_VALUE,
    MAX_ZONE_ID,
    META_DB,
    META_FORMAT,
    META_GENERATION,
    META_ZONES,
    NAMES_DB,
    ZoneMeta,
    data_path,
    key_zone,
    name_key,
    zone_prefix,
    zones_from_json,
)
from remote_backend.shared.lists import usable, zone_raw
from remote_backend.shared.packing import NotPackable, pack, unpack_all
from remote_backend.shared.reader import length_problem
from remote_backend.snapshot.fingerprint import header_from_soa, item_hash, sum_of_hashes

# a label as pphook writes owner names: printable ASCII but '"', '.' and upper case
# (names from zone files keep dnspython's backslash escapes)
_LABEL = rb"[!#-\-/-@\[-~]{1,63}"
_ZONE_NAME = re.compile(rb"(?:" + _LABEL + rb"\.)*" + _LABEL)
_FINGERPRINT = re.compile(r"[0-9a-f]{32}")
_BATCH = 4096  # names matched per regular-expression call
_MOD = 1 << 128


@dataclass(frozen=True, slots=True)
class Verdict:
    """A generation found valid."""

    generation: int
    zones: tuple[ZoneMeta, ...] | None  # None: nothing published yet
    names: int
    seconds: float


def validate_environment(env: lmdb.Environment, directory: Path) -> Verdict:
    """Check the newest generation in ``env`` (the environment in ``directory``);
    SnapshotRefusedError says what is wrong."""
    started = time.perf_counter()
    check_length(env, directory)
    try:
        names_db = env.open_db(NAMES_DB, create=False)
        meta_db = env.open_db(META_DB, create=False)
    except lmdb.Error as exc:
        raise _refused(directory, f"its databases cannot be opened ({exc})") from None
    try:
        lists_db = env.open_db(LISTS_DB, create=False)
    except lmdb.NotFoundError:
        lists_db = None  # written before list replies were stored: readers build them
    except lmdb.Error as exc:
        raise _refused(directory, f"its databases cannot be opened ({exc})") from None
    with env.begin(buffers=True) as txn:
        generation, zones = _meta(txn, meta_db, directory)
        entries = int(txn.stat(names_db)["entries"])
        if zones is None:
            if entries:
                raise _refused(directory, f"{entries} names but no zones")
            return Verdict(generation, None, 0, time.perf_counter() - started)
        _check_sizes(txn, names_db, directory)
    with env.begin() as txn:  # values copied this time, a batch at a time
        raw = txn.get(META_GENERATION, db=meta_db)
        if (int(raw) if raw and raw.isdigit() else 0) != generation:
            raise _refused(directory, "it changed while it was validated")
        checked = _check_names(txn, names_db, zones, directory)
        if lists_db is not None:
            _check_lists(txn, (names_db, meta_db, lists_db), zones, directory)
    if checked != entries:
        raise _refused(directory, f"{entries} names counted, {checked} read")
    return Verdict(generation, zones, entries, time.perf_counter() - started)


def check_length(env: lmdb.Environment, directory: Path) -> None:
    """The data file's length fits its pages (``reader.length_problem``)."""
    problem = length_problem(env, directory)
    if problem:
        raise _refused(directory, problem)


def _meta(
    txn: lmdb.Transaction, db: Any, directory: Path
) -> tuple[int, tuple[ZoneMeta, ...] | None]:
    fmt = txn.get(META_FORMAT, db=db)
    if fmt is not None and bytes(fmt) in EARLIER_FORMATS:
        raise _refused(directory, f"{EARLIER} ({bytes(fmt).decode()})")
    if fmt is None or bytes(fmt) != FORMAT:
        found = "none" if fmt is None else repr(bytes(fmt[:40]))
        raise _refused(directory, f"format {found}, not {FORMAT!r}")
    raw_generation = txn.get(META_GENERATION, db=db)
    generation = 0
    if raw_generation is not None:
        text = bytes(raw_generation[:21])
        if len(raw_generation) > 20 or not text.isdigit():
            raise _refused(directory, f"generation {text!r} is not a number")
        generation = int(text)
    raw_zones = txn.get(META_ZONES, db=db)
    if raw_zones is None:
        return generation, None
    if len(raw_zones) > MAX_META:
        raise _refused(directory, f"zones meta of {len(raw_zones)} bytes, more than {MAX_META}")
    try:
        zones = zones_from_json(bytes(raw_zones))
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError included
        raise _refused(directory, f"zones meta: {exc}") from None
    for zone in zones:
        problem = _zone_meta_problem(zone)
        if problem:
            raise _refused(directory, f"zone {zone.name[:100]!r}: {problem}")
    return generation, zones


def _zone_meta_problem(zone: ZoneMeta) -> str | None:
    if not _ZONE_NAME.fullmatch(zone.name.encode()) or len(zone.name) > 253:
        return "not a lower-case DNS name"
    if not _FINGERPRINT.fullmatch(zone.fingerprint):
        return f"fingerprint {zone.fingerprint[:40]!r} is not 32 hex digits"
    fields = zone.soa_content.split(" ")
    try:
        header_from_soa(zone.name, zone.soa_content, 0)
    except ValueError as exc:
        return str(exc)
    if fields[2] != str(zone.serial):
        return f"its SOA says serial {fields[2]}, its meta {zone.serial}"
    return None


def _check_sizes(txn: lmdb.Transaction, db: Any, directory: Path) -> None:
    """No value above MAX_VALUE, found without copying any (a crafted value of
    gigabytes must not be copied before it is refused)."""
    stat = txn.stat(db)
    if int(stat["overflow_pages"]) * int(stat["psize"]) <= MAX_VALUE:
        return  # a value that big would fill more pages of its own than there are
    cursor = txn.cursor(db=db)
    if not cursor.first():
        return
    if max(map(len, cursor.iternext(keys=False, values=True)), default=0) <= MAX_VALUE:
        return
    cursor.first()
    for key, value in cursor.iternext():
        if len(value) > MAX_VALUE:
            name = bytes(key[2:80]).decode("ascii", "replace")
            raise _refused(directory, f"{name!r}: a value of {len(value)} bytes")


def _check_names(
    txn: lmdb.Transaction, db: Any, zones: tuple[ZoneMeta, ...], directory: Path
) -> int:
    """Every name, in key order, a batch at a time; the number of names read."""
    checks = {z.id: _ZoneCheck(z, directory) for z in zones}
    cursor = txn.cursor(db=db)
    read = 0
    if cursor.first():
        items = cursor.iternext()
        while chunk := list(islice(items, _BATCH)):
            keys, values = zip(*chunk, strict=True)
            read += len(keys)
            if min(map(len, keys)) < 3 or max(map(len, keys)) > MAX_KEY:
                raise _refused(directory, "a key too short or too long to be a name")
            start = 0
            while start < len(keys):
                zone_id = key_zone(keys[start])
                check = checks.get(zone_id)
                if check is None:
                    raise _refused(directory, f"names of zone id {zone_id}, not a served zone")
                end = (
                    bisect_left(keys, zone_prefix(zone_id + 1), start)
                    if zone_id < MAX_ZONE_ID
                    else len(keys)
                )
                try:
                    encoded = unpack_all(values[start:end], zone_id)
                except NotPackable as exc:
                    raise _refused(directory, f"zone id {zone_id}: {exc}") from None
                check.add(keys[start:end], values[start:end], tuple(encoded))
                start = end
    for check in checks.values():
        check.finish()
    return read


def _check_lists(
    txn: lmdb.Transaction, dbs: tuple[Any, Any, Any], zones: tuple[ZoneMeta, ...], directory: Path
) -> None:
    """Every stored ``list`` reply a reader would send is the one the zone's names give
    (rebuilt here: as long as a coprocess takes for each, once per start)."""
    names_db, meta_db, lists_db = dbs
    for zone in zones:
        stored = usable(txn, meta_db, lists_db, zone.id)
        if stored is None:
            continue
        owners, values = zone_raw(txn, names_db, zone.id)
        if stored != build_list_reply(owners, values, zone.id):
            raise _refused(
                directory, f"zone {zone.name}: its stored list reply is not what its names give"
            )


class _ZoneCheck:
    """Every name of one zone: shapes, fingerprint, record count (fed in key order)."""

    def __init__(self, zone: ZoneMeta, directory: Path) -> None:
        self.zone = zone
        self.directory = directory
        self.shapes: ValueShapes = value_shapes(zone.id)
        prefix = re.escape(zone_prefix(zone.id))
        # keys joined by newlines: the zone id, then the apex or a name below it
        self.keys = re.compile(
            b"(?:" + prefix + b"(?:" + _LABEL + rb"\.)*" + re.escape(zone.name.encode()) + b"\n)*"
        )
        self.apex_key = name_key(zone.id, zone.name)
        # the SOA record the apex's value starts with, up to its TTL
        self.soa_head = (
            b'{"result":[{"qtype":"SOA","qname":\x00,"content":"'
            + zone.soa_content.encode()
            + b'","ttl":'
        )
        self.apex: bytes | None = None
        self.total = 0  # the sum of the names' hashes (the apex's without its SOA)
        self.records = 0

    def add(
        self, keys: tuple[bytes, ...], stored: tuple[bytes, ...], values: tuple[bytes, ...]
    ) -> None:
        """``stored``: the names' values as stored (what fingerprints hash); ``values``:
        unpacked (what the shapes and the record counts are about)."""
        if not self.keys.fullmatch(b"\n".join(keys) + b"\n"):
            for key in keys:
                if not self.keys.fullmatch(key + b"\n"):
                    self._refuse(f"key {key[2:80]!r} is not a name in the zone")
        at = bisect_left(keys, self.apex_key)
        if at < len(keys) and keys[at] == self.apex_key:
            self.apex = values[at]
            keys = keys[:at] + keys[at + 1 :]
            stored = stored[:at] + stored[at + 1 :]
            values = values[:at] + values[at + 1 :]
        joined = b"".join(values)
        if not self.shapes.values.fullmatch(joined):
            for key, value in zip(keys, values, strict=True):
                if not self.shapes.value.fullmatch(value):
                    self._refuse(f"{self._name(key)}: {_what_is_wrong(value)}")
        self.records += record_count(joined)  # counted over many values at once
        self.total += sum_of_hashes(keys, stored)

    def finish(self) -> None:
        apex = self.apex
        if apex is None:
            self._refuse("no apex (no SOA record)")
        if not self.shapes.apex.fullmatch(apex) or not apex.startswith(self.soa_head):
            self._refuse(f"the apex: {_what_is_wrong(apex, apex=True)}")
        ttl = int(apex[len(self.soa_head) : apex.index(b",", len(self.soa_head))])
        # the apex is hashed without its SOA, stored as a full publication stores it
        total = self.total + item_hash(self.apex_key, pack(without_first(apex), self.zone.id))
        header = header_from_soa(self.zone.name, self.zone.soa_content, ttl)
        if (header + total) % _MOD != int(self.zone.fingerprint, 16):
            self._refuse("its content does not match its fingerprint")
        records = self.records + record_count(apex)
        if records != self.zone.record_count:
            self._refuse(f"{records} records, its meta says {self.zone.record_count}")

    def _name(self, key: bytes) -> str:
        return repr(key[2:80].decode("ascii", "replace"))

    def _refuse(self, problem: str) -> NoReturn:
        raise _refused(self.directory, f"zone {self.zone.name}: {problem}")


def _what_is_wrong(value: bytes, apex: bool = False) -> str:
    """A short reason for a value that is not the encoder's shape."""
    try:
        json.loads(value.replace(b"\x00", b'"q"'))
    except ValueError as exc:
        return f"not valid JSON ({exc})"
    if apex:
        return "not an SOA record as the zone's meta says, then records, as pphook writes them"
    return "not records as pphook writes them (keys, types, zone id, escaping)"


def _refused(directory: Path, problem: str) -> SnapshotRefusedError:
    return SnapshotRefusedError(f"{data_path(directory)}: {problem}")


def open_readonly(directory: Path) -> lmdb.Environment:
    """The environment as a reader opens it (no write, no new file but its lock)."""
    return lmdb.open(
        str(directory), map_size=MAP_SIZE, readonly=True, create=False, max_dbs=4, lock=True
    )


def main(argv: list[str]) -> int:
    """The verdict on the environment in ``argv[0]`` as one JSON line on stdout:
    ``{"ok": true, "generation", "zones", "names", "seconds"}`` or
    ``{"ok": false, "reason"}``."""
    directory = Path(argv[0])
    out: dict[str, object]
    try:
        env = open_readonly(directory)
    except lmdb.Error as exc:
        out = {"ok": False, "reason": f"{data_path(directory)}: {exc}"}
    else:
        try:
            verdict = validate_environment(env, directory)
        except SnapshotRefusedError as exc:
            out = {"ok": False, "reason": str(exc)}
        except Exception as exc:  # anything else it meets reading the file: refused too
            reason = f"{data_path(directory)}: {type(exc).__name__}: {exc}"
            out = {"ok": False, "reason": reason}
        else:
            out = {
                "ok": True,
                "generation": verdict.generation,
                "zones": None if verdict.zones is None else len(verdict.zones),
                "names": verdict.names,
                "seconds": round(verdict.seconds, 3),
            }
        finally:
            env.close()
    print(json.dumps(out), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
