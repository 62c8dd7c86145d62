"""Property tests: whatever arrives on a line, BackendHandler answers exactly one JSON
line with a ``result`` key, and never raises."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from rb_support import MemoryNotified, make_snapshot

from remote_backend.protocol import UNSUPPORTED, BackendHandler
from remote_backend.snapshot import Snapshot

SNAPSHOT: Snapshot = make_snapshot()

METHODS = [
    "initialize",
    "lookup",
    "list",
    "getAllDomains",
    "getDomainInfo",
    "getUpdatedMasters",
    "setNotified",
    "getAllDomainMetadata",
    "getDomainMetadata",
    *sorted(UNSUPPORTED),
]
PARAMETER_NAMES = [
    "qtype",
    "qname",
    "zone-id",
    "remote",
    "local",
    "real-remote",
    "zonename",
    "domain_id",
    "include_disabled",
    "name",
    "kind",
    "id",
    "serial",
    "value",
]
KNOWN_NAMES = sorted(SNAPSHOT.names) + sorted(SNAPSHOT.ents) + [z.name for z in SNAPSHOT.zones]

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text()
)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)
# A name that is often served, in random case, with or without the trailing dot.
qnames = st.one_of(
    st.text(max_size=300),
    st.builds(
        lambda name, flips, dot: (
            "".join(c.upper() if f else c for c, f in zip(name, flips, strict=False))
            + name[len(flips) :]
            + dot
        ),
        st.sampled_from(KNOWN_NAMES),
        st.lists(st.booleans(), max_size=60),
        st.sampled_from(["", ".", ".."]),
    ),
)
qtypes = st.sampled_from(["ANY", "SOA", "A", "AAAA", "PTR", "NS", "MX", "ENT", "any"]) | st.text(
    max_size=12
)


def new_handler() -> BackendHandler:
    return BackendHandler(lambda: SNAPSHOT, MemoryNotified())


def check_reply(reply: bytes) -> Any:
    assert isinstance(reply, bytes)
    assert reply.endswith(b"\n") and reply.count(b"\n") == 1
    decoded = json.loads(reply)
    assert isinstance(decoded, dict) and "result" in decoded
    return decoded["result"]


@settings(max_examples=300)
@given(st.binary(max_size=2000))
def test_arbitrary_bytes(line: bytes) -> None:
    check_reply(new_handler().handle_line(line))


@settings(max_examples=300)
@given(st.text(max_size=500))
def test_arbitrary_text(line: str) -> None:
    check_reply(new_handler().handle_line(line))


@settings(max_examples=300)
@given(json_values)
def test_arbitrary_json_values(value: Any) -> None:
    check_reply(new_handler().handle_line(json.dumps(value)))


@settings(max_examples=500)
@given(
    st.sampled_from(METHODS) | st.text(max_size=20),
    st.dictionaries(st.sampled_from(PARAMETER_NAMES) | st.text(max_size=8), json_values)
    | json_values,
)
def test_any_method_with_any_parameters(method: str, params: Any) -> None:
    line = json.dumps({"method": method, "parameters": params})
    check_reply(new_handler().handle_line(line))


@settings(max_examples=500)
@given(qnames, qtypes, json_values)
def test_lookup_replies_echo_the_question(qname: str, qtype: str, zone_id: Any) -> None:
    params = {"qtype": qtype, "qname": qname, "zone-id": zone_id, "remote": "127.0.0.1"}
    result = check_reply(
        new_handler().handle_line(json.dumps({"method": "lookup", "parameters": params}))
    )
    if result is False:
        return
    assert isinstance(result, list) and result
    for record in result:
        assert record["qname"] == qname
        assert type(record["ttl"]) is int and type(record["domain_id"]) is int
    types = {r["qtype"] for r in result}
    if qtype.upper() == "SOA":
        assert types == {"SOA"}
    elif qtype.upper() != "ANY":
        assert types == {qtype.upper()}


@settings(max_examples=60)
@given(st.lists(st.sampled_from(METHODS), min_size=1, max_size=10), st.data())
def test_a_sequence_of_requests_gets_one_reply_each(
    methods: list[str], data: st.DataObject
) -> None:
    handler = new_handler()
    for method in methods:
        params = data.draw(st.dictionaries(st.sampled_from(PARAMETER_NAMES), json_values))
        check_reply(handler.handle_line(json.dumps({"method": method, "parameters": params})))
    assert sum(handler.requests.values()) == len(methods)
