"""The exact shape of an encoded value (``encode.py``) as a regular expression: what
the shared snapshot's validation accepts before a coprocess may serve a value.

A value that matches is one JSON document of the encoder's shape and nothing else:
the ``result`` list of record objects with the encoder's six keys in its order, the
qname placeholder, the zone's own id, and each content a JSON string escaped exactly
the way ``json.dumps(ensure_ascii=True)`` escapes it (printable ASCII, the short
escapes, ``\\u`` escapes only where json.dumps writes them), so no raw control byte,
no quote that ends a string early, no key of its own. The content of the types the
encoder usually writes unescaped (``records.UNESCAPED_TYPES``: A, PTR, ...) is escaped
the same way when a static file's name holds a master-file escape (``a\\032b``).
An apex value starts with its SOA; no other value holds an SOA, and an empty
non-terminal is one ENT record alone.

Every value ends with the one newline the encoder writes and holds no other, so
values read back to back can be matched in one call (``ValueShapes.values``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from remote_backend.records import UNESCAPED_TYPES

_PLAIN = rb"[ !#-\[\]-~]"  # printable ASCII but '"' and '\'
# json.dumps's escapes: the short ones, \u00XX for the other control characters,
# \u007f and up for the rest (lower-case hex; astral characters as surrogate pairs)
_ESCAPE = (
    rb'\\(?:["\\bfnrt]|u(?:00(?:0[0-7]|0b|0e|0f|1[0-9a-f]|7f|[89a-f][0-9a-f])'
    rb"|0[1-9a-f][0-9a-f]{2}|[1-9a-f][0-9a-f]{3}))"
)
_TTL = rb"(?:0|[1-9][0-9]{0,9})"
_SPECIAL = (b"SOA", b"ENT")  # where they may stand is part of the shape


def _alternatives(types: frozenset[str]) -> bytes:
    return b"(?:" + b"|".join(re.escape(t.encode()) for t in sorted(types)) + b")"


_UNESCAPED = _alternatives(UNESCAPED_TYPES - {s.decode() for s in _SPECIAL})
# any other type name dnspython may print (TXT, NSAP-PTR, TYPE65534, ...)
_ESCAPED = b"(?!" + _alternatives(UNESCAPED_TYPES) + b'")[A-Z][A-Z0-9-]{0,31}'


def _record(qtype: bytes, content: bytes, zone_id: int) -> bytes:
    return (
        rb'\{"qtype":"'
        + qtype
        + rb'","qname":\x00,"content":"'
        + content
        + rb'","ttl":'
        + _TTL
        + rb',"domain_id":'
        + str(zone_id).encode()
        + rb',"auth":1\}'
    )


@dataclass(frozen=True, slots=True)
class ValueShapes:
    """The shapes of one zone's values (its id is part of every record)."""

    value: re.Pattern[bytes]  # one value of a name other than the apex
    values: re.Pattern[bytes]  # any number of such values back to back
    apex: re.Pattern[bytes]  # the apex's value: its SOA first


def value_shapes(zone_id: int) -> ValueShapes:
    record = (
        b"(?:"
        + _record(_UNESCAPED, b"(?:" + _PLAIN + b"|" + _ESCAPE + b")*", zone_id)
        + b"|"
        + _record(_ESCAPED, b"(?:" + _PLAIN + b"|" + _ESCAPE + b")*", zone_id)
        + b")"
    )
    ent = _record(b"ENT", b"", zone_id)
    soa = _record(b"SOA", _PLAIN + b"+", zone_id)
    name = rb'\{"result":\[(?:' + ent + b"|" + record + b"(?:," + record + rb")*)?\]\}\n"
    apex = rb'\{"result":\[' + soa + b"(?:," + record + rb")*\]\}\n"
    return ValueShapes(re.compile(name), re.compile(b"(?:" + name + b")*"), re.compile(apex))
