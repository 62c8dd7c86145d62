"""Reply bodies built from a snapshot: ``lookup`` answers (cached per snapshot as
fragments around the echoed qname) and ``list`` replies (AXFR).

Record contents go through ``records.record_type(...).wire``: types whose content
pphook builds from validated names and addresses need no escaping, the others are
JSON-escaped once, when their reply is first built.
"""

from __future__ import annotations

from remote_backend.records import record_type
from remote_backend.snapshot import Snapshot, Zone

MAX_CACHED_ANSWERS = 1 << 16  # bound on the per-snapshot lookup cache (~35 MB when full)

Answer = tuple[bytes, ...]  # reply = qname_json.join(answer)

# types whose content never needs JSON escaping (formatted as they are)
_PLAIN_TYPES = frozenset(
    t
    for t in ("A", "AAAA", "PTR", "NS", "SOA", "CNAME", "ENT")
    if not record_type(t).needs_escaping
)


class Answers:
    """The lookup replies of one snapshot, formatted on first use and then reused.

    Only found names are cached (random names must not grow it). When the cache is
    full it stops growing instead of being cleared: with pdns's caches off the working
    set can be every name, and clear-and-refill would turn every lookup into a miss
    plus an insert. A new snapshot starts a new, empty cache.
    """

    __slots__ = ("_cache", "_zone_of_parent", "snapshot")

    def __init__(self, snapshot: Snapshot) -> None:
        self.snapshot = snapshot
        self._cache: dict[tuple[str, str], Answer] = {}
        self._zone_of_parent: dict[str, Zone | None] = {}

    def get(self, name: str, qtype: str) -> Answer | None:
        key = (name, qtype)
        answer = self._cache.get(key)
        if answer is None:
            answer = self._build(name, qtype.upper())
            if answer is not None and len(self._cache) < MAX_CACHED_ANSWERS:
                self._cache[key] = answer
        return answer

    def _build(self, name: str, qtype: str) -> Answer | None:
        """None means no records. SOA: only at an exact apex and only the SOA, since
        pdns turns any name that answers an SOA lookup into a zone apex and rejects
        other types in an SOA answer. ENT: a type-0 placeholder so pdns says NODATA
        instead of NXDOMAIN."""
        snap = self.snapshot
        apex = snap.zone_by_name.get(name)
        if qtype == "SOA":
            if apex is None:
                return None
            return _fragments([_record_tail(apex, "SOA", apex.soa_content, snap.ttl)])
        rrs = snap.names.get(name)
        if rrs is None and apex is None:
            if qtype == "ANY" and name in snap.ents:
                zone = self._zone_below_apex(name)
                if zone is not None:
                    return _fragments([_record_tail(zone, "ENT", "", snap.ttl)])
            return None
        zone = apex or self._zone_below_apex(name)
        if zone is None:  # cannot happen for a snapshot built by assemble(); be safe anyway
            return None
        ttl = snap.ttl
        tails = []
        if qtype == "ANY":
            if apex is not None:
                tails.append(_record_tail(zone, "SOA", zone.soa_content, ttl))
            tails.extend(_record_tail(zone, t, c, ttl) for t, c in rrs or ())
        else:
            tails.extend(_record_tail(zone, t, c, ttl) for t, c in rrs or () if t == qtype)
        return _fragments(tails) if tails else None

    def _zone_below_apex(self, name: str) -> Zone | None:
        """The zone of a served name that is not itself an apex: the zone of its parent,
        memoised per parent (few distinct parents; the suffix walk is the slow part)."""
        parent = name.partition(".")[2]
        try:
            return self._zone_of_parent[parent]
        except KeyError:
            zone = self._zone_of_parent[parent] = self.snapshot.zone_of(parent)
            return zone


def _record_tail(zone: Zone, qtype: str, content: str, ttl: int) -> tuple[str, str]:
    """The JSON of one record, split around where the qname goes."""
    return (
        f'{{"qtype":"{qtype}","qname":',
        f',"content":"{record_type(qtype).wire(content)}","ttl":{ttl},'
        f'"domain_id":{zone.id},"auth":1}}',
    )


def _fragments(records: list[tuple[str, str]]) -> Answer:
    """Fragments such that ``qname_json.join(fragments)`` is the whole reply line."""
    parts = ['{"result":[']
    for i, (head, tail) in enumerate(records):
        parts[-1] += ("," if i else "") + head
        parts.append(tail)
    parts[-1] += "]}\n"
    return tuple(p.encode() for p in parts)


def list_reply(snap: Snapshot, zone: Zone) -> bytes:
    """Every record of ``zone`` (SOA first), built by string formatting: at 100k
    records this is several times faster than json.dumps of dicts.

    Only the four fields pdns reads from a ``list`` record: the AXFR code ignores
    ``domain_id`` (the zone comes from the SOA lookup) and ``auth`` (recomputed by
    rectify; read at all only with ``remote-dnssec``). pdns parses the whole reply as
    one JSON document before it sends the first record, so every byte saved here is
    parse time saved in the transfer (~20 % of a 100k-record reply).
    """
    tail = f'","ttl":{snap.ttl}}}'
    # Encoded a few thousand records at a time: a 1M-record zone never exists as a
    # million small strings plus their joined text plus its bytes at once (~3x the
    # reply), only as the encoded pieces and the final reply.
    plain_types = _PLAIN_TYPES
    pieces = [b'{"result":[']
    batch: list[str] = []
    for owner, qtype, content in snap.zone_records(zone):
        if qtype not in plain_types:
            content = record_type(qtype).wire(content)
        batch.append(f'{{"qtype":"{qtype}","qname":"{owner}.","content":"{content}{tail}')
        if len(batch) == _LIST_BATCH:
            pieces.append(",".join(batch).encode())
            pieces.append(b",")
            batch.clear()
    if batch:
        pieces.append(",".join(batch).encode())
    elif len(pieces) > 1:
        pieces.pop()  # the separator after the last full batch
    pieces.append(b"]}\n")
    return b"".join(pieces)


_LIST_BATCH = 4096  # records encoded at a time by list_reply
