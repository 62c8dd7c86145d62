"""``list`` replies built ahead, so that an AXFR does not wait for a zone's encoding.

pdns forks a coprocess for every AXFR and waits for its whole ``list`` reply before it
sends a record; building that reply (``answers.build_list_reply``) for a zone of 100k
names takes that fresh coprocess ~0.15-0.25 s on the 2-core test machine, most of the
gap to pdns's gmysql backend. So `serve` builds each zone's reply once and stores it in
the shared snapshot after a publication, between polls (``SharedSnapshot.store_lists``),
never inside a publication: a publication only stamps the zones it touched, so its
cost still grows with the change, not with the zones.

The ``lists`` database (``layout.LISTS_DB``) holds two keys per zone:

- ``b"s"`` + zone prefix: the stamp, the generation that last wrote any of the zone's
  names. Every publication writes it for each zone its puts, deletes and drops touch,
  in its own transaction (``stamp_zones``), and removes the zone's stored reply there.
- ``b"r"`` + zone prefix: ``<generation>\\n`` + the reply, built from the zone's names
  as that generation held them.

A stored reply is used (``usable``) only when, read in one transaction with the meta's
generation: stamp <= built <= generation. No write to the zone's names came after the
names it was built from, so it is what building it from this transaction's names would
give, byte for byte. Anything else (no stamp, a reply built before the last change, a
header or body not as ``store_lists`` writes them, a reply over ``MAX_LIST``) is
ignored: the reply is built as before, never refused or served stale. ``validate``
rebuilds every usable stored reply when `serve` starts and refuses the file if one
differs from its names (the file was changed behind `serve`'s back).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from itertools import islice, takewhile
from typing import Any

import lmdb

from remote_backend.protocol.answers import build_list_reply
from remote_backend.shared.layout import MAX_LIST, META_GENERATION, ZoneMeta, zone_prefix
from remote_backend.shared.packing import unpack_all

log = logging.getLogger("pphook.shared")

STAMP = b"s"
REPLY = b"r"
_HEAD = b'{"result":['
_TAIL = b"]}\n"
_MAX_NUMBER = 20  # digits of a generation (a 64-bit counter)


def stamp_key(prefix: bytes) -> bytes:
    return STAMP + prefix


def reply_key(prefix: bytes) -> bytes:
    return REPLY + prefix


def zone_raw(
    txn: lmdb.Transaction, names_db: Any, zone_id: int, *, unpacked: bool = True
) -> tuple[list[bytes], list[bytes]]:
    """The owners (zone prefix cut off) and encoded values (unpacked: ``packing``) of
    zone ``zone_id`` in key order, as ``txn`` sees them (``AnswerView.list_raw``);
    ``txn`` without ``buffers`` (copies: the bulk encoding wants bytes). NotPackable
    for a stored value out of the format (what validation refuses). ``unpacked``
    False: the values as stored."""
    prefix = zone_prefix(zone_id)
    end = prefix + b"\x80"  # above every key of the zone (names are ASCII)
    # two passes, each iterated in C: the keys up to the zone's end, then as many
    # values (an AXFR's coprocess does this for a whole zone)
    cursor: Any = txn.cursor(db=names_db)  # bytes in, bytes out: txn has no buffers
    if not cursor.set_range(prefix):
        return [], []
    keys: list[bytes] = list(takewhile(end.__gt__, cursor.iternext(keys=True, values=False)))
    cursor.set_range(prefix)
    stored: list[bytes] = list(islice(cursor.iternext(keys=False, values=True), len(keys)))
    return [key[2:] for key in keys], unpack_all(stored, zone_id) if unpacked else stored


def _number(raw: bytes | memoryview | None) -> int | None:
    if raw is None or len(raw) > _MAX_NUMBER:
        return None
    text = bytes(raw)
    return int(text) if text.isdigit() else None


def usable(txn: lmdb.Transaction, meta_db: Any, lists_db: Any, zone_id: int) -> bytes | None:
    """The stored reply of zone ``zone_id`` if it may be sent for the names ``txn``
    sees (see the module's docstring), copied out of the map; None: build it."""
    reply = _usable_slice(txn, meta_db, lists_db, zone_id)
    return None if reply is None else bytes(reply)


def _usable_slice(
    txn: lmdb.Transaction, meta_db: Any, lists_db: Any, zone_id: int
) -> bytes | memoryview | None:
    """``usable`` without the copy (a memoryview into the map when ``txn`` has
    ``buffers``: a reply is only checked, not copied, where it is not sent)."""
    prefix = zone_prefix(zone_id)
    stored = txn.get(reply_key(prefix), db=lists_db)
    if stored is None or len(stored) > MAX_LIST + _MAX_NUMBER + 1:
        return None
    stamp = _number(txn.get(stamp_key(prefix), db=lists_db))
    generation = _number(txn.get(META_GENERATION, db=meta_db))
    head = bytes(stored[: _MAX_NUMBER + 1])
    built_text, newline, _ = head.partition(b"\n")
    built = _number(built_text) if newline else None
    if stamp is None or generation is None or built is None:
        return None
    if not stamp <= built <= generation:
        return None  # built before the zone's last change: never sent
    reply = stored[len(built_text) + 1 :]
    if reply[: len(_HEAD)] != _HEAD or reply[len(reply) - len(_TAIL) :] != _TAIL:
        return None
    return reply


def stamp_zones(
    txn: lmdb.Transaction,
    lists_db: Any,
    prefixes: Iterable[bytes],
    generation: int,
    served: set[bytes],
) -> None:
    """In a publication's transaction: the zones whose names it wrote (``prefixes``)
    changed at ``generation``, and their stored replies are gone (a zone no longer
    ``served`` keeps nothing here)."""
    stamp = str(generation).encode()
    for prefix in prefixes:
        txn.delete(reply_key(prefix), db=lists_db)
        if prefix in served:
            txn.put(stamp_key(prefix), stamp, db=lists_db)
        else:
            txn.delete(stamp_key(prefix), db=lists_db)


def store_one(
    env: lmdb.Environment,
    dbs: tuple[Any, Any, Any],
    zone: ZoneMeta,
    too_big: dict[int, tuple[bytes | None, int]],
    usable_at: dict[int, bytes],
) -> bool:
    """Build and store the ``list`` reply of ``zone`` unless a usable one is there;
    ``dbs``: the names, meta and lists databases; ``too_big``: the zones whose reply
    was over MAX_LIST, with the names (stamp, generation) it was built from, so that
    they are not built again every poll; ``usable_at``: the zones whose reply was
    usable, or stored, with the stamp of their names then. True when a reply was
    stored.

    The reply is built in one read transaction and stored in a write transaction only
    if the generation has not moved in between (no names were written since): after a
    publication in between, the next call builds it again.
    """
    names_db, meta_db, lists_db = dbs
    prefix = zone_prefix(zone.id)
    with env.begin(buffers=True) as txn:
        raw_stamp = txn.get(stamp_key(prefix), db=lists_db)
        stamp_now = None if raw_stamp is None else bytes(raw_stamp)
        if stamp_now is not None and usable_at.get(zone.id) == stamp_now:
            # usable when last seen, and no names of the zone written since (a write
            # moves the stamp): not even looked at, since reading a stored reply maps
            # all its pages (the binding touches every page of a value it hands out),
            # ~100 MiB of `serve`'s memory at 1M addresses, every poll
            return False
        if _usable_slice(txn, meta_db, lists_db, zone.id) is not None:
            if stamp_now is not None:
                usable_at[zone.id] = stamp_now
            return False
    with env.begin() as txn:
        generation = _number(txn.get(META_GENERATION, db=meta_db))
        if generation is None:
            return False
        stamp = txn.get(stamp_key(prefix), db=lists_db)
        if too_big.get(zone.id) == (stamp, generation):
            return False
        owners, values = zone_raw(txn, names_db, zone.id)
    reply = build_list_reply(owners, values, zone.id)
    del owners, values
    if len(reply) > MAX_LIST:
        too_big[zone.id] = (stamp, generation)
        log.debug("zone %s: a list reply of %d bytes, built per transfer", zone.name, len(reply))
        return False
    with env.begin(write=True) as txn:
        if _number(txn.get(META_GENERATION, db=meta_db)) != generation:
            return False  # names may have moved since they were read
        if stamp is None:
            # a file written before replies were stored: these names are as they are
            # at this generation, which becomes their stamp
            txn.put(stamp_key(prefix), str(generation).encode(), db=lists_db)
        txn.put(reply_key(prefix), str(generation).encode() + b"\n" + reply, db=lists_db)
    usable_at[zone.id] = stamp if stamp is not None else str(generation).encode()
    return True
