"""The encoded answer of one owner name: what every serving path stores and replies from.

A name's *value* is the whole ``lookup`` reply for ``qtype ANY`` with a placeholder
byte (``\\x00``) wherever the asked qname goes::

    {"result":[{"qtype":"A","qname":\\x00,"content":"10.0.0.1","ttl":3600,"domain_id":1,"auth":1}]}\\n

so answering the usual lookup is one ``bytes.replace``. The same bytes are what the
shared snapshot file holds (``remote_backend/shared``) and what an in-memory snapshot
produces on demand, so both serving paths reply byte for byte alike. JSON never holds a
raw NUL (``json.dumps`` escapes control characters, and contents are validated), so the
placeholder cannot be confused with data.

At a zone apex the SOA is the first record; an empty non-terminal is one ``ENT``
record (pdns's type-0 placeholder: NODATA instead of NXDOMAIN).
"""

from __future__ import annotations

from collections.abc import Iterable

from remote_backend.records import record_type

PLACEHOLDER = b"\x00"
_HEAD = b'{"result":['
_TAIL = b"]}\n"
_SPLIT = b'},{"qtype":"'
_TYPE_START = b'{"qtype":"'


def record_fragment(qtype: str, content: str, ttl: int, zone_id: int) -> str:
    """One record of a value (text; the caller encodes a whole value at once)."""
    return (
        f'{{"qtype":"{qtype}","qname":\x00,"content":"{record_type(qtype).wire(content)}",'
        f'"ttl":{ttl},"domain_id":{zone_id},"auth":1}}'
    )


def encode_value(fragments: Iterable[str]) -> bytes:
    """The value of a name from its record fragments (SOA first at an apex)."""
    return ('{"result":[' + ",".join(fragments) + "]}\n").encode()


def ent_value(zone_id: int, ttl: int) -> bytes:
    """The value of an empty non-terminal."""
    return encode_value([record_fragment("ENT", "", ttl, zone_id)])


def lookup_reply(value: bytes, qtype: str, qname_json: bytes) -> bytes | None:
    """The reply to a lookup of ``qtype`` (upper case) at a name whose value is
    ``value``; None when the name has no record of that type.

    SOA is answered only at an apex and only with the SOA (pdns turns any name that
    answers an SOA lookup into a zone apex, and rejects other types in an SOA answer);
    ENT only answers ANY.
    """
    if qtype == "ANY":
        return value.replace(PLACEHOLDER, qname_json)
    selected = [r for r in _records(value) if _type_of(r) == qtype]
    if not selected:
        return None
    return (_HEAD + b",".join(selected) + _TAIL).replace(PLACEHOLDER, qname_json)


def _records(value: bytes) -> list[bytes]:
    """The record objects of a value, each a complete JSON object (placeholders kept)."""
    body = value[len(_HEAD) : -len(_TAIL)]
    if not body:
        return []
    parts = body[len(_TYPE_START) : -1].split(_SPLIT)
    return [_TYPE_START + p + b"}" for p in parts]


def _type_of(record: bytes) -> str:
    start = len(_TYPE_START)
    return record[start : record.index(b'"', start)].decode()


def record_types(value: bytes) -> list[str]:
    """The record types of a value, in order (for tests and `explain`)."""
    return [_type_of(r) for r in _records(value)]


def list_records(value: bytes, owner_json: bytes) -> list[bytes]:
    """The records of a value as a ``list`` (AXFR) reply carries them: the owner as
    qname, only the four fields pdns's AXFR reads (qtype, qname, content, ttl: it
    ignores ``domain_id`` and ``auth``, and parses the whole reply as one document
    before sending the first record, so every byte saved is parse time saved), and no
    ENT placeholder."""
    out = []
    for record in _records(value):
        if record.startswith(b'{"qtype":"ENT"'):
            continue
        cut = record.rindex(b',"domain_id":')
        out.append(record[:cut].replace(PLACEHOLDER, owner_json) + b"}")
    return out


def with_first(value: bytes, fragment: str) -> bytes:
    """``value`` with one more record in front (an apex's SOA)."""
    body = value[len(_HEAD) : -len(_TAIL)]
    head = fragment.encode()
    return _HEAD + (head + b"," + body if body else head) + _TAIL


def without_first(value: bytes) -> bytes:
    """``value`` without its first record (an apex without its SOA)."""
    records = _records(value)
    return _HEAD + b",".join(records[1:]) + _TAIL


def record_count(value: bytes) -> int:
    """Records a value serves (an ENT placeholder serves none)."""
    return value.count(_TYPE_START) - value.count(b'{"qtype":"ENT"')


def is_ent(value: bytes) -> bool:
    return value.startswith(_HEAD + b'{"qtype":"ENT"')
