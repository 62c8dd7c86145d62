"""The shape validation accepts (``protocol.shape``) is exactly what the encoder writes:
every value the encoder makes matches, and whatever matches is a value the encoder
would make byte for byte (so a value read from a file that matches cannot carry an
injected key, a raw control byte, broken JSON or an escaping no fresh build makes)."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from remote_backend.protocol.encode import PLACEHOLDER, encode_value, ent_value, record_fragment
from remote_backend.protocol.shape import value_shapes

UNESCAPED = ["A", "AAAA", "PTR", "NS", "CNAME"]
ESCAPED = ["TXT", "MX", "SRV", "CAA", "NSAP-PTR", "TYPE65534"]
KEYS = ["qtype", "qname", "content", "ttl", "domain_id", "auth"]

# what builds put into unescaped types: names and addresses, printable ASCII
plain_text = st.text(
    st.characters(min_codepoint=0x20, max_codepoint=0x7E, exclude_characters='"\\')
)
records = st.lists(
    st.one_of(
        st.tuples(st.sampled_from(UNESCAPED), plain_text),
        st.tuples(st.sampled_from(ESCAPED), st.text()),  # any text: quotes, controls, ü, 😀
    ),
    max_size=4,
)
ttls = st.integers(0, 2**31 - 1)
zone_ids = st.integers(1, 0xFFFF)


def encoded(recs: list[tuple[str, str]], ttl: int, zone_id: int) -> bytes:
    return encode_value(record_fragment(t, c, ttl, zone_id) for t, c in recs)


def reencoded(value: bytes) -> bytes:
    """The value a fresh build makes of what ``value`` says, or b"" when it does not
    say one thing the encoder could."""
    try:
        data = json.loads(value.replace(PLACEHOLDER, b'"\\u0000"'))
    except ValueError:
        return b""
    fragments = []
    for record in data["result"]:
        assert list(record) == KEYS, record  # exactly the encoder's keys, in its order
        assert record["qname"] == "\x00" and record["auth"] == 1
        fragments.append(
            record_fragment(record["qtype"], record["content"], record["ttl"], record["domain_id"])
        )
    return encode_value(fragments)


@given(records, ttls, zone_ids)
def test_every_encoded_value_matches(recs: list[tuple[str, str]], ttl: int, zone_id: int) -> None:
    shapes = value_shapes(zone_id)
    value = encoded(recs, ttl, zone_id)
    assert shapes.value.fullmatch(value)
    assert shapes.values.fullmatch(value * 3)
    assert shapes.value.fullmatch(ent_value(zone_id, ttl))
    soa = record_fragment(
        "SOA", f"ns1.example.com hostmaster.example.com 7 1 2 3 {ttl}", ttl, zone_id
    )
    apex = encoded([], ttl, zone_id)[:11] + soa.encode() + (b"," if recs else b"") + value[11:]
    assert shapes.apex.fullmatch(apex)
    assert not shapes.value.fullmatch(apex)  # an SOA only at the apex
    assert not value_shapes(zone_id % 0xFFFF + 1).value.fullmatch(value) or not recs


@given(
    records,
    ttls,
    zone_ids,
    st.integers(0, 10_000),
    st.sampled_from(["insert", "replace", "delete"]),
    st.binary(min_size=1, max_size=4),
)
def test_whatever_matches_is_what_the_encoder_writes(
    recs: list[tuple[str, str]],
    ttl: int,
    zone_id: int,
    where: int,
    how: str,
    data: bytes,
) -> None:
    value = encoded(recs, ttl, zone_id)
    at = where % len(value)
    if how == "insert":
        mutated = value[:at] + data + value[at:]
    elif how == "replace":
        mutated = value[:at] + data + value[at + len(data) :]
    else:
        mutated = value[:at] + value[at + len(data) :]
    if value_shapes(zone_id).value.fullmatch(mutated):
        assert reencoded(mutated) == mutated
        assert all(
            r["domain_id"] == zone_id
            for r in json.loads(mutated.replace(PLACEHOLDER, b"0"))["result"]
        )
