"""Reply bodies from a view: ``lookup`` values (cached per view) and ``list`` replies
(AXFR). The encoding itself is ``protocol/encode.py``."""

from __future__ import annotations

import json
import re
from itertools import chain, repeat

from remote_backend.protocol.encode import list_records
from remote_backend.protocol.view import AnswerView, ZoneInfo

# Bound on the per-snapshot lookup cache: ~4 MB when full (~250 bytes an entry). What
# pdns asks again and again with its caches off (each zone's apex, the names between
# an apex and the qname) fits many times over; the rest is what pdns's own caches
# hold when they are on. 65,536 entries cost each busy coprocess 12 MiB more at 1M
# addresses (4 to 5 of them under load) for 0-5 % of lookups/s through pdns.
MAX_CACHED_ANSWERS = 1 << 14


class ValueCache:
    """The encoded values of one view, read once and then reused.

    Only found names are cached (random names must not grow it). When the cache is
    full it stops growing instead of being cleared: with pdns's caches off the working
    set can be every name, and clear-and-refill would turn every lookup into a miss
    plus an insert. A new view starts a new, empty cache.
    """

    __slots__ = ("_cache", "view")

    def __init__(self, view: AnswerView) -> None:
        self.view = view
        self._cache: dict[str, bytes] = {}

    def get(self, name: str) -> bytes | None:
        value = self._cache.get(name)
        if value is None:
            value = self.view.value(name)
            if value is not None and len(self._cache) < MAX_CACHED_ANSWERS:
                self._cache[name] = value
        return value


def built_list_reply(view: AnswerView, zone: ZoneInfo) -> bytes:
    """Every record of ``zone`` as one ``list`` reply (``encode.list_records``), built
    from the names ``view`` reads now.

    pdns forks a coprocess for each AXFR and waits for the whole reply before sending
    the first record, so this runs once per transfer on the transfer's critical path
    (unless the view holds the reply ready: ``AnswerView.stored_list``, which the
    handler sends as it is): the values are turned into list records in bulk, by
    C-level replaces over their concatenation (``_bulk_records``), and
    ``encode.list_records`` name by name only where that cannot apply. A test holds
    both byte for byte alike.
    """
    owners, values = view.list_raw(zone)
    return build_list_reply(owners, values, zone.id)


def build_list_reply(owners: list[bytes], values: list[bytes], zone_id: int) -> bytes:
    """The ``list`` reply of a zone whose owners and values (``AnswerView.list_raw``)
    are given: what every stored reply must equal byte for byte."""
    body = _bulk_records(owners, values, zone_id)
    if body is None:
        pieces: list[bytes] = []
        for owner, value in zip(owners, values, strict=True):
            pieces += list_records(value, _owner_json(owner.decode("ascii")))
        body = b",".join(pieces)
    return b'{"result":[' + body + b"]}\n"


_HEAD = b'{"result":['
_TAIL = b"]}\n"
_ENT = re.compile(rb'\{"qtype":"ENT","qname":\x00,"content":"","ttl":[0-9]+\},')
_ENT_HEAD = b'{"result":[{"qtype":"ENT"'


def _bulk_records(owners: list[bytes], values: list[bytes], zone_id: int) -> bytes | None:
    """The records of ``values`` (owners ``owners``) as ``list_records`` gives them,
    joined by commas; None when a name needs JSON escaping (a static file's
    master-file escapes): the caller goes name by name."""
    if not values:
        return b""
    joined_owners = b"\n".join(owners)
    if b"\\" in joined_owners or b'"' in joined_owners:
        return None
    # every value is _HEAD + records + _TAIL; a record ends with its zone's
    # ',"domain_id":N,"auth":1}', which list records leave out (pdns's AXFR ignores it)
    big = (
        b"".join(values)
        .replace(_HEAD, b"")
        .replace(_TAIL, b",")
        .replace(b',"domain_id":%d,"auth":1}' % zone_id, b"}")
    )
    big = _ENT.sub(b"", big)  # empty non-terminals are no records
    # one placeholder per record left: the owner of the value it came from
    counts = list(map(bytes.count, values, repeat(b"\x00")))
    ents = list(map(bytes.startswith, values, repeat(_ENT_HEAD)))
    names = [b'"' + owner + b'."' for owner in owners]
    if any(ents) or counts.count(1) != len(counts):
        # the few values that are not one record (an apex, a dual-stack name, an ENT),
        # from the last so that the positions before stay right
        odd = [i for i, count in enumerate(counts) if count != 1 or ents[i]]
        for i in reversed(odd):
            names[i : i + 1] = [] if ents[i] else [names[i]] * counts[i]
    pieces = big.split(b"\x00")
    if len(pieces) != len(names) + 1:
        return None  # not the shape expected: name by name
    pieces[-1] = pieces[-1][:-1]  # the comma after the last record
    return b"".join(chain.from_iterable(zip(pieces[:-1], names, strict=True))) + pieces[-1]


def _owner_json(owner: str) -> bytes:
    """The owner as a JSON string, absolute. Names from phpIPAM never need escaping;
    a static file's owner may hold master-file escapes (``a\\032b``, ``odd\\.dot``),
    whose backslashes JSON must escape for pdns to read the presentation form back."""
    if "\\" in owner or '"' in owner:
        return json.dumps(owner + ".").encode()
    return b'"' + owner.encode() + b'."'
