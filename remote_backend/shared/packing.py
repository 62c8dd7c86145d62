"""How a value is stored: the encoded answer (``protocol/encode.py``) with the parts
every name of a zone repeats replaced by one byte each.

Two million names at 1M addresses are mostly one bare record each, and about 70 of
their ~100 bytes are JSON every such answer repeats. Each coprocess maps the pages it
reads, so those bytes cost memory in every process and the size of the file on disk.
Stored, a value loses:

- its head, when it starts with one record of a usual type
  (``{"result":[{"qtype":"A","qname":\\x00,"content":"``): one marker byte and one
  letter for the type;
- its tail, when it ends with its zone's ``,"domain_id":N,"auth":1}]}\\n``
  (every value does): one marker byte; the zone id is the key's.

So ``{"result":[{"qtype":"A","qname":\\x00,"content":"10.0.0.1","ttl":3600,"domain_id":1,
"auth":1}]}\\n`` (96 bytes) is stored as ``\\x01A10.0.0.1","ttl":3600\\x02`` (24 bytes).

A full publication formats the usual names straight in this form
(``snapshot/encoded.py``); everything else goes through ``pack``. Fingerprints hash the
stored form, so validation hashes what it reads as it is.

Packing is a textual substitution, exactly reversible: an encoded value starts with
``{`` and ends with a newline, holds no control byte but the qname placeholder
(``\\x00``; JSON escapes every other one), and its head and tail appear nowhere else in
it (a quote inside a content is escaped). So a stored value that starts with ``\\x01``
had its head packed and one that ends with ``\\x02`` its tail, and nothing else can
look so. Replies, validation's shapes and record counts see encoded values only:
every read of the names database for them unpacks.
"""

from __future__ import annotations

from collections.abc import Sequence

HEAD_MARK = b"\x01"
TAIL_MARK = b"\x02"
_SEP = b"\x03"  # joins stored values for the bulk pass: no value holds it

# type letter -> the head of a value whose first record is of that type
HEADS: dict[bytes, bytes] = {
    letter: b'{"result":[{"qtype":"' + qtype + b'","qname":\x00,"content":"'
    for letter, qtype in (
        (b"A", b"A"),
        (b"6", b"AAAA"),
        (b"P", b"PTR"),
        (b"C", b"CNAME"),
        (b"N", b"NS"),
    )
}
_PACKED_HEADS = {head: HEAD_MARK + letter for letter, head in HEADS.items()}
_MARKS = (HEAD_MARK, TAIL_MARK, _SEP)


def tail(zone_id: int) -> bytes:
    """What ends every value of zone ``zone_id``."""
    return b',"domain_id":%d,"auth":1}]}\n' % zone_id


class NotPackable(ValueError):
    """A value or stored value outside the format (see the module's docstring)."""


def pack(value: bytes, zone_id: int) -> bytes:
    """The stored form of one encoded value of zone ``zone_id``."""
    if any(mark in value for mark in _MARKS):
        raise NotPackable("a control byte in an encoded value")
    end = tail(zone_id)
    if value.endswith(end):
        value = value[: -len(end)] + TAIL_MARK
    if value.startswith(b'{"result":[{"qtype":"'):
        for head, packed in _PACKED_HEADS.items():
            if value.startswith(head):
                return packed + value[len(head) :]
    return value


def unpack(stored: bytes, zone_id: int) -> bytes:
    """The encoded value a stored one holds (``pack``'s inverse). Trusts its input:
    what readers read was validated (``unpack_all``)."""
    if stored[-1:] == TAIL_MARK:
        stored = stored[:-1] + tail(zone_id)
    if stored[:1] == HEAD_MARK:
        head = HEADS.get(stored[1:2])
        if head is not None:
            return head + stored[2:]
    return stored


def unpack_all(stored: Sequence[bytes], zone_id: int) -> list[bytes]:
    """``unpack`` of each stored value of one zone, in bulk (an AXFR reads a zone);
    NotPackable when a mark byte stands anywhere but where ``pack`` puts one (what
    validation refuses: then ``unpack`` and this agree on every value served)."""
    if not stored:
        return []
    joined = _SEP + _SEP.join(stored) + _SEP
    if (
        joined.count(_SEP) != len(stored) + 1
        or joined.count(HEAD_MARK) != joined.count(_SEP + HEAD_MARK)
        or joined.count(TAIL_MARK) != joined.count(TAIL_MARK + _SEP)
    ):
        raise NotPackable("a mark byte inside a stored value")
    joined = joined.replace(TAIL_MARK + _SEP, tail(zone_id) + _SEP)
    for letter, head in HEADS.items():
        joined = joined.replace(_SEP + HEAD_MARK + letter, _SEP + head)
    if HEAD_MARK in joined:
        raise NotPackable("an unknown type letter in a stored value")
    return joined[1:-1].split(_SEP)
