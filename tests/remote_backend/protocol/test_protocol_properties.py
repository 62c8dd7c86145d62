"""Property tests: whatever arrives on a line, BackendHandler answers exactly one JSON
line with a ``result`` key, and never raises."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from infra.rb_support import MemoryNotified, make_snapshot

from remote_backend.errors import SnapshotUnavailableError
from remote_backend.protocol.handler import UNSUPPORTED, BackendHandler
from remote_backend.protocol.wire import MAX_LINE
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


# Lookups as pdns 4.7 writes them (json11: keys sorted, ", " and ": ") take a path
# that skips json.loads; it must answer exactly what the general path answers.
pdns_names = st.one_of(
    st.sampled_from(KNOWN_NAMES).flatmap(
        lambda n: st.sampled_from([n, n + ".", n.upper() + ".", n.title()])
    ),
    st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=0x7F), max_size=60),
    st.text(max_size=20),  # non-ASCII, quotes, backslashes, control characters
)


@settings(max_examples=400, deadline=None)
@given(
    qname=pdns_names,
    qtype=st.sampled_from(["ANY", "A", "AAAA", "PTR", "SOA", "NS", "TXT", "a", "Soa", 'A"']),
    zone_id=st.sampled_from([None, -1, 1, 2, 99]),
    packet=st.booleans(),
    separators=st.sampled_from([(", ", ": "), (",", ":")]),
)
def test_pdns_shaped_lookup_answers_like_the_general_path(
    qname: str, qtype: str, zone_id: int | None, packet: bool, separators: tuple[str, str]
) -> None:
    params: dict[str, Any] = {"qname": qname, "qtype": qtype}
    if packet:
        params.update({"local": "0.0.0.0", "real-remote": "127.0.0.1/32", "remote": "127.0.0.1"})
    if zone_id is not None:
        params["zone-id"] = zone_id
    request = {"method": "lookup", "parameters": params}
    as_pdns = json.dumps(request, sort_keys=True, separators=separators).encode()
    assert as_pdns.startswith(b'{"method"')
    reordered = json.dumps({"parameters": params, "method": "lookup"}).encode()  # general path
    fast, general = (
        BackendHandler(lambda: SNAPSHOT, MemoryNotified()),
        BackendHandler(lambda: SNAPSHOT, MemoryNotified()),
    )
    assert fast.handle_line(as_pdns) == general.handle_line(reordered)
    assert fast.requests == general.requests
    assert fast.errors == general.errors


def test_the_lookup_line_pdns_sends_takes_the_fast_path() -> None:
    """The exact bytes pdns 4.7.3 sent over the unix socket (strace of `serve`)."""
    from remote_backend.protocol.handler import _FAST_LOOKUP

    line = (
        b'{"method": "lookup", "parameters": {"local": "127.0.0.1", "qname": '
        b'"vm-0000007.dc1.example.com.", "qtype": "ANY", "real-remote": "127.0.0.1/32", '
        b'"remote": "127.0.0.1", "zone-id": 1}}'
    )
    match = _FAST_LOOKUP.fullmatch(line)
    assert match is not None and match.groups() == (b"vm-0000007.dc1.example.com.", b"ANY")


@pytest.mark.parametrize("max_line", [MAX_LINE, 64])
def test_pdns_shaped_lookup_fails_like_the_general_path(max_line: int) -> None:
    """No snapshot yet (SERVFAIL, counted once) and an over-long line (false): the
    regex-parsed lookup ends exactly as a json.loads-parsed one does."""

    def no_snapshot() -> Snapshot:
        raise SnapshotUnavailableError("no snapshot yet")

    params = {"local": "0.0.0.0", "qname": "www.example.com.", "qtype": "ANY", "zone-id": -1}
    as_pdns = json.dumps({"method": "lookup", "parameters": params}, sort_keys=True).encode()
    reordered = json.dumps({"parameters": params, "method": "lookup"}).encode()
    assert len(as_pdns) == len(reordered)
    for source in (no_snapshot, lambda: SNAPSHOT):
        fast = BackendHandler(source, MemoryNotified(), max_line=max_line)
        general = BackendHandler(source, MemoryNotified(), max_line=max_line)
        assert fast.handle_line(as_pdns) == general.handle_line(reordered)
        assert (fast.requests, fast.errors) == (general.requests, general.errors)
