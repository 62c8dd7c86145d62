"""Reply bodies from a view: ``lookup`` values (cached per view) and ``list`` replies
(AXFR). The encoding itself is ``protocol/encode.py``."""

from __future__ import annotations

import json

from remote_backend.protocol.encode import list_records
from remote_backend.protocol.view import AnswerView, ZoneInfo

MAX_CACHED_ANSWERS = 1 << 16  # bound on the per-snapshot lookup cache (~35 MB when full)


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


def list_reply(view: AnswerView, zone: ZoneInfo) -> bytes:
    """Every record of ``zone`` as one ``list`` reply (``encode.list_records``).

    Built from bytes pieces: a 1M-record zone never exists as a million small strings
    plus their joined text plus its bytes at once, only as the pieces and the reply.
    """
    pieces: list[bytes] = []
    for owner, value in view.list_values(zone):
        pieces += list_records(value, _owner_json(owner))
    return b'{"result":[' + b",".join(pieces) + b"]}\n"


def _owner_json(owner: str) -> bytes:
    """The owner as a JSON string, absolute. Names from phpIPAM never need escaping;
    a static file's owner may hold master-file escapes (``a\\032b``, ``odd\\.dot``),
    whose backslashes JSON must escape for pdns to read the presentation form back."""
    if "\\" in owner or '"' in owner:
        return json.dumps(owner + ".").encode()
    return b'"' + owner.encode() + b'."'
