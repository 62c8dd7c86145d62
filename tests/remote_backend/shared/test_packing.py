"""Stored values: packing loses nothing, the bulk passes agree with the one-value ones,
and a stored value out of the format is refused, never unpacked two ways."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from remote_backend.protocol.encode import encode_value, ent_value, record_fragment
from remote_backend.records import UNESCAPED_TYPES
from remote_backend.shared.packing import (
    HEADS,
    NotPackable,
    pack,
    unpack,
    unpack_all,
)

TYPES = ("A", "AAAA", "PTR", "CNAME", "NS", "TXT", "MX", "SOA", "SRV")
# what JSON escapes too (quotes, backslashes, control characters): contents of the
# types written escaped (TXT, ...)
CONTENT = st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=0x7F), max_size=40)
# names and addresses, the contents of the types written as they are (A, PTR, ...):
# validated, printable, never a quote or a backslash
PLAIN = st.text(alphabet=st.sampled_from("abcxyz019.-:_*"), max_size=40)
ZONE_ID = st.integers(min_value=1, max_value=0xFFFF)


@st.composite
def values(draw: st.DrawFn, zone_id: int) -> bytes:
    """An encoded value as the encoder writes it: one to three records (types and TTLs
    drawn), or an empty non-terminal."""
    if draw(st.booleans()) and draw(st.booleans()):
        return ent_value(zone_id, draw(st.integers(0, 86400)))
    records = draw(
        st.lists(
            st.tuples(st.sampled_from(TYPES), st.integers(0, 2**31 - 1)), min_size=1, max_size=3
        )
    )
    return encode_value(
        record_fragment(t, draw(PLAIN if t in UNESCAPED_TYPES else CONTENT), ttl, zone_id)
        for t, ttl in records
    )


@st.composite
def zone_values(draw: st.DrawFn) -> tuple[int, list[bytes]]:
    zone_id = draw(ZONE_ID)
    return zone_id, draw(st.lists(values(zone_id), max_size=12))


@given(zone_values())
def test_unpacking_gives_back_every_value(case: tuple[int, list[bytes]]) -> None:
    zone_id, encoded = case
    for value in encoded:
        assert unpack(pack(value, zone_id), zone_id) == value


@given(zone_values())
def test_the_bulk_pass_equals_the_one_value_one(case: tuple[int, list[bytes]]) -> None:
    zone_id, encoded = case
    packed = [pack(v, zone_id) for v in encoded]
    assert unpack_all(packed, zone_id) == encoded == [unpack(p, zone_id) for p in packed]


def test_a_bare_record_is_stored_in_a_quarter_of_its_bytes() -> None:
    value = encode_value([record_fragment("A", "10.0.0.1", 3600, 7)])
    stored = pack(value, 7)
    assert stored == b'\x01A10.0.0.1","ttl":3600\x02'
    assert len(stored) * 4 <= len(value)


def test_another_zones_tail_is_kept_as_it_is() -> None:
    value = encode_value([record_fragment("A", "10.0.0.1", 3600, 7)])
    assert unpack(pack(value, 8), 8) == value
    assert pack(value, 8).endswith(b"}]}\n")


@pytest.mark.parametrize(
    "stored",
    [
        b"\x01A10.0.0.1\x01A",  # a head mark inside a value
        b'\x02","ttl":1\x02',  # a tail mark inside a value
        b"\x01Z10.0.0.1\x02",  # a type letter packing never writes
        b"abc\x03def",  # the bulk separator
    ],
)
def test_a_stored_value_out_of_the_format_is_refused_in_bulk(stored: bytes) -> None:
    with pytest.raises(NotPackable):
        unpack_all([pack(encode_value([record_fragment("A", "1.2.3.4", 60, 3)]), 3), stored], 3)


def test_a_value_with_a_mark_byte_is_never_packed() -> None:
    with pytest.raises(NotPackable):
        pack(b'{"result":[\x01]}\n', 1)
    with pytest.raises(NotPackable):
        pack(b'{"result":[\x03]}\n', 1)


def test_every_packed_head_is_one_type_of_the_encoder() -> None:
    for letter, head in HEADS.items():
        qtype = head.split(b'"qtype":"')[1].split(b'"')[0].decode()
        value = encode_value([record_fragment(qtype, "x.example", 60, 1)])
        assert pack(value, 1)[:2] == b"\x01" + letter
