"""BackendHandler: every method, with requests shaped exactly as pdns 4.7.3 sends them.

Request shapes follow pdns-remote-facts.md §1.2 (json11 dumps keys in sorted order,
numbers as numbers, hyphenated keys such as ``zone-id`` and ``real-remote``).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from typing import Any

import pytest
from infra.rb_support import SERIALS, MemoryNotified

from remote_backend.protocol.handler import BackendHandler
from remote_backend.snapshot import Snapshot

PACKET = {"remote": "127.0.0.1", "local": "0.0.0.0", "real-remote": "127.0.0.1/32"}
NO_PACKET = {"remote": "0.0.0.0", "local": "0.0.0.0", "real-remote": "0.0.0.0/0"}
RECORD_KEYS = {"qtype", "qname", "content", "ttl", "domain_id", "auth"}
LIST_KEYS = {"qtype", "qname", "content", "ttl"}  # what pdns reads from a list record
DOMAIN_INFO_KEYS = {"id", "zone", "kind", "serial", "notified_serial", "last_check"}


def raw(handler: BackendHandler, method: str, params: dict[str, Any] | None = None) -> bytes:
    request: dict[str, Any] = {"method": method}
    if params is not None:
        request["parameters"] = params
    return handler.handle_line(json.dumps(request).encode())


def call(handler: BackendHandler, method: str, params: dict[str, Any] | None = None) -> Any:
    """The ``result`` of one request; asserts the reply is exactly one JSON line."""
    reply = raw(handler, method, params)
    assert reply.endswith(b"\n") and reply.count(b"\n") == 1
    decoded = json.loads(reply)
    assert set(decoded) == {"result"}
    return decoded["result"]


def lookup(
    handler: BackendHandler, qname: str, qtype: str = "ANY", zone_id: int = -1
) -> list[dict[str, Any]]:
    params = {"qtype": qtype, "qname": qname, "zone-id": zone_id, **PACKET}
    result = call(handler, "lookup", params)
    if result is False:
        return []
    assert isinstance(result, list) and result, "no records must be false, not []"
    for rec in result:
        assert set(rec) == RECORD_KEYS, rec
        assert type(rec["ttl"]) is int and type(rec["domain_id"]) is int
        assert rec["auth"] == 1 and type(rec["auth"]) is int
        assert rec["qname"] == qname  # echoed exactly as asked
    return result


def rrs(records: list[dict[str, Any]]) -> set[tuple[str, str]]:
    return {(r["qtype"], r["content"]) for r in records}


def soa_of(snapshot: Snapshot, zone: str) -> str:
    return snapshot.zone_by_name[zone].soa_content


# ---------------------------------------------------------------------- initialize


def test_initialize_with_connection_string_options(handler: BackendHandler) -> None:
    params = {"command": "/usr/bin/pphook pipe", "timeout": "2000", "myopt": "x"}
    assert call(handler, "initialize", params) is True
    assert call(handler, "initialize") is True  # no parameters at all


def test_initialize_does_not_touch_the_snapshot(notified: MemoryNotified) -> None:
    def no_snapshot_yet() -> Snapshot:
        raise AssertionError("initialize must answer before any snapshot exists")

    assert call(BackendHandler(no_snapshot_yet, notified), "initialize", {}) is True


# ---------------------------------------------------------------------- lookup


def test_lookup_exact_pdns_request(handler: BackendHandler) -> None:
    line = (
        b'{"method":"lookup","parameters":{"local":"0.0.0.0","qname":"WWW.Example.com.",'
        b'"qtype":"ANY","real-remote":"127.0.0.1/32","remote":"127.0.0.1","zone-id":1}}'
    )
    reply = json.loads(handler.handle_line(line))
    assert reply == {
        "result": [
            {
                "qtype": "A",
                "qname": "WWW.Example.com.",
                "content": "10.1.1.5",
                "ttl": 3600,
                "domain_id": 1,
                "auth": 1,
            },
            {
                "qtype": "AAAA",
                "qname": "WWW.Example.com.",
                "content": "2001:db8::5",
                "ttl": 3600,
                "domain_id": 1,
                "auth": 1,
            },
        ]
    }


@pytest.mark.parametrize(
    "qname", ["www.example.com.", "WWW.EXAMPLE.COM.", "wWw.eXaMpLe.CoM.", "www.example.com"]
)
def test_lookup_is_case_insensitive_and_echoes_the_question(
    handler: BackendHandler, qname: str
) -> None:
    assert rrs(lookup(handler, qname)) == {("A", "10.1.1.5"), ("AAAA", "2001:db8::5")}


def test_lookup_any_at_apex_has_soa_ns_and_apex_address(
    handler: BackendHandler, snapshot: Snapshot
) -> None:
    records = lookup(handler, "Example.COM.", zone_id=1)
    assert rrs(records) == {
        ("SOA", soa_of(snapshot, "example.com")),
        ("NS", "ns1.example.com"),
        ("NS", "ns2.example.com"),
        ("A", "10.0.0.10"),
    }
    assert {r["domain_id"] for r in records} == {1}


@pytest.mark.parametrize(
    ("apex", "zone_id"),
    [("example.com.", 1), ("10.in-addr.arpa.", 2), ("8.b.d.0.1.0.0.2.ip6.arpa.", 3)],
)
def test_lookup_soa_at_apex_returns_only_the_soa(
    handler: BackendHandler, snapshot: Snapshot, apex: str, zone_id: int
) -> None:
    # The getSOA path: qtype SOA, zone-id -1, no packet (facts §1.7b).
    params = {"qtype": "SOA", "qname": apex, "zone-id": -1, **NO_PACKET}
    result = call(handler, "lookup", params)
    assert len(result) == 1
    (soa,) = result
    assert soa["qtype"] == "SOA" and soa["qname"] == apex and soa["domain_id"] == zone_id
    fields = soa["content"].split()
    assert len(fields) == 7
    assert int(fields[2]) == SERIALS[apex.rstrip(".")]
    assert fields[:2] == ["ns1.example.com", "hostmaster.example.com"]


@pytest.mark.parametrize(
    "qname",
    [
        "www.example.com.",  # a name with records
        "sub.example.com.",  # an ENT
        "1.10.in-addr.arpa.",  # a reverse ENT
        "5.1.1.10.in-addr.arpa.",  # a PTR
        "nope.example.com.",  # nothing
        "com.",  # above every zone
        "in-addr.arpa.",
        "example.org.",
    ],
)
def test_lookup_soa_below_or_outside_an_apex_returns_nothing(
    handler: BackendHandler, qname: str
) -> None:
    # An SOA here would turn the name into a zone apex for pdns.
    assert call(handler, "lookup", {"qtype": "SOA", "qname": qname, "zone-id": -1}) is False


def test_lookup_single_type_filters(handler: BackendHandler) -> None:
    assert rrs(lookup(handler, "www.example.com.", "A")) == {("A", "10.1.1.5")}
    assert rrs(lookup(handler, "www.example.com.", "AAAA")) == {("AAAA", "2001:db8::5")}
    assert lookup(handler, "www.example.com.", "MX") == []
    assert lookup(handler, "www.example.com.", "PTR") == []
    assert rrs(lookup(handler, "example.com.", "NS")) == {
        ("NS", "ns1.example.com"),
        ("NS", "ns2.example.com"),
    }
    assert rrs(lookup(handler, "example.com.", "A")) == {("A", "10.0.0.10")}


def test_lookup_ptr_forward_and_ip6(handler: BackendHandler) -> None:
    records = lookup(handler, "5.1.1.10.In-Addr.Arpa.")
    assert rrs(records) == {("PTR", "www.example.com")}
    assert records[0]["domain_id"] == 2
    v6 = "5.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa."
    records = lookup(handler, v6.upper())
    assert rrs(records) == {("PTR", "www.example.com")}
    assert records[0]["domain_id"] == 3


@pytest.mark.parametrize(
    ("qname", "zone_id"),
    [
        ("1.10.in-addr.arpa.", 2),
        ("1.1.10.in-addr.arpa.", 2),
        ("0.10.In-Addr.ARPA.", 2),
        ("sub.example.com.", 1),
        ("SUB.example.com", 1),
        # nibble ENT between the /32 apex and 2001:db8:1::1
        ("1.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa.", 3),
    ],
)
def test_lookup_ent_answers_an_ent_placeholder(
    handler: BackendHandler, snapshot: Snapshot, qname: str, zone_id: int
) -> None:
    name = qname.lower().rstrip(".")
    assert name in snapshot.ents
    assert lookup(handler, qname) == [
        {
            "qtype": "ENT",
            "qname": qname,
            "content": "",
            "ttl": snapshot.ttl,
            "domain_id": zone_id,
            "auth": 1,
        }
    ]
    # A specific type at an ENT has no data (pdns only asks ANY anyway).
    assert lookup(handler, qname, "A") == []


@pytest.mark.parametrize(
    "qname",
    [
        "nope.example.com.",
        "x.www.example.com.",  # below a leaf
        "www.example.com..",  # only one trailing dot is stripped
        "xexample.com.",  # not at a label boundary
        "www.example.org.",  # no served zone
        "9.9.9.11.in-addr.arpa.",
        ".",
        "",
        "*.example.com.",
    ],
)
def test_lookup_unknown_names_are_false(handler: BackendHandler, qname: str) -> None:
    assert call(handler, "lookup", {"qtype": "ANY", "qname": qname, "zone-id": -1}) is False


def test_lookup_does_not_depend_on_zone_id(handler: BackendHandler) -> None:
    expected = lookup(handler, "www.example.com.", zone_id=1)
    for zone_id in (-1, 0, 2, 3, 99):
        assert lookup(handler, "www.example.com.", zone_id=zone_id) == expected
    no_zone_id = call(handler, "lookup", {"qtype": "ANY", "qname": "www.example.com."})
    assert no_zone_id == expected


def test_lookup_rejects_non_ascii_lookalikes(handler: BackendHandler) -> None:
    # U+212A KELVIN SIGN lowercases to ASCII "k"; pdns would send \226\132\170 instead.
    assert call(handler, "lookup", {"qtype": "ANY", "qname": "www.example.\u212aom."}) is False
    assert call(handler, "lookup", {"qtype": "ANY", "qname": "ns\u0131.example.com."}) is False


def test_lookup_lowercase_qtype_is_accepted(handler: BackendHandler) -> None:
    assert rrs(lookup(handler, "www.example.com.", "a")) == {("A", "10.1.1.5")}


def test_lookup_sees_a_new_snapshot_at_once(
    snapshot_factory: Callable[..., Snapshot], notified: MemoryNotified
) -> None:
    current = [snapshot_factory()]
    handler = BackendHandler(lambda: current[0], notified)
    assert rrs(lookup(handler, "www.example.com.", "A")) == {("A", "10.1.1.5")}
    assert lookup(handler, "new.example.com.") == []
    current[0] = snapshot_factory(
        hosts=(("www.example.com", "10.9.9.9", True), ("new.example.com", "10.9.9.8", True)),
        serials={**SERIALS, "example.com": SERIALS["example.com"] + 1},
        generation=2,
    )
    assert rrs(lookup(handler, "www.example.com.", "A")) == {("A", "10.9.9.9")}
    assert rrs(lookup(handler, "new.example.com.")) == {("A", "10.9.9.8")}
    soa = lookup(handler, "example.com.", "SOA")[0]["content"]
    assert int(soa.split()[2]) == SERIALS["example.com"] + 1


def test_each_request_reads_the_snapshot_once(snapshot: Snapshot, notified: MemoryNotified) -> None:
    reads = []

    def source() -> Snapshot:
        reads.append(1)
        return snapshot

    handler = BackendHandler(source, notified)
    requests: list[tuple[str, dict[str, Any]]] = [
        ("lookup", {"qtype": "ANY", "qname": "www.example.com.", "zone-id": 1}),
        ("list", {"zonename": "example.com.", "domain_id": 1, "include_disabled": False}),
        ("getAllDomains", {"include_disabled": True}),
        ("getDomainInfo", {"name": "example.com."}),
        ("getUpdatedMasters", {}),
    ]
    for method, params in requests:
        reads.clear()
        call(handler, method, params)
        assert len(reads) == 1, method


# ---------------------------------------------------------------------- domains


def test_get_all_domains_shape(handler: BackendHandler, snapshot: Snapshot) -> None:
    result = call(handler, "getAllDomains", {"include_disabled": True})
    assert result == [
        {
            "id": z.id,
            "zone": z.name + ".",
            "kind": "master",
            "serial": z.serial,
            "notified_serial": 0,
            "last_check": 0,
        }
        for z in snapshot.zones
    ]
    assert [d["zone"] for d in result] == [
        "example.com.",
        "10.in-addr.arpa.",
        "8.b.d.0.1.0.0.2.ip6.arpa.",
    ]
    for info in result:
        assert set(info) == DOMAIN_INFO_KEYS  # no "masters": an invalid entry throws in pdns
        assert all(type(info[k]) is int for k in ("id", "serial", "notified_serial"))


def test_get_all_domains_survives_a_dead_state_store(snapshot: Snapshot) -> None:
    # false here would empty pdns's zone cache: REFUSED for everything until the next refresh.
    handler = BackendHandler(lambda: snapshot, MemoryNotified(fail=True))
    result = call(handler, "getAllDomains", {"include_disabled": True})
    assert [d["notified_serial"] for d in result] == [0, 0, 0]


@pytest.mark.parametrize("name", ["example.com.", "EXAMPLE.com", "10.IN-ADDR.ARPA."])
def test_get_domain_info(handler: BackendHandler, snapshot: Snapshot, name: str) -> None:
    info = call(handler, "getDomainInfo", {"name": name})
    zone = snapshot.zone_by_name[name.lower().rstrip(".")]
    assert info == {
        "id": zone.id,
        "zone": zone.name + ".",
        "kind": "master",
        "serial": zone.serial,
        "notified_serial": 0,
        "last_check": 0,
    }


@pytest.mark.parametrize("name", ["example.org.", "www.example.com.", "com.", ""])
def test_get_domain_info_unknown_is_false(handler: BackendHandler, name: str) -> None:
    assert call(handler, "getDomainInfo", {"name": name}) is False


# ---------------------------------------------------------------------- list


@pytest.mark.parametrize("zone", ["example.com", "10.in-addr.arpa", "8.b.d.0.1.0.0.2.ip6.arpa"])
def test_list_matches_soa_and_lookups(
    handler: BackendHandler, snapshot: Snapshot, zone: str
) -> None:
    zone_id = snapshot.zone_by_name[zone].id
    params = {"zonename": zone + ".", "domain_id": zone_id, "include_disabled": False}
    records = call(handler, "list", params)
    assert records, "an empty list makes AXFR SERVFAIL"
    for rec in records:
        assert set(rec) == LIST_KEYS
        assert rec["ttl"] == snapshot.ttl
    soas = [r for r in records if r["qtype"] == "SOA"]
    soa_lookup = lookup(handler, zone + ".", "SOA")  # the SOA that frames the AXFR
    assert soas == [{k: r[k] for k in LIST_KEYS} for r in soa_lookup]
    assert soa_lookup[0]["domain_id"] == zone_id
    # Exactly what lookups return, owner by owner (ENT placeholders are not records).
    by_owner: dict[str, set[tuple[str, str]]] = {}
    for rec in records:
        by_owner.setdefault(rec["qname"], set()).add((rec["qtype"], rec["content"]))
    for owner, expected in by_owner.items():
        assert rrs(lookup(handler, owner)) == expected
    assert len(records) == snapshot.zone_by_name[zone].record_count


@pytest.mark.parametrize("budget", [16 << 20, 10])  # cached, and too big to cache
def test_list_follows_the_snapshot_and_repeats_identically(
    snapshot_factory: Callable[..., Snapshot], budget: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Secondaries transferring one serial get the same records; after a refresh the
    next transfer has the new data (a reply kept from the old snapshot would be drift)."""
    import remote_backend.protocol.handler as protocol

    monkeypatch.setattr(protocol, "MAX_CACHED_LIST_BYTES", budget)
    before = snapshot_factory()
    after = snapshot_factory(
        hosts=(("new-host.example.com", "10.9.9.9", True),),
        serials={**SERIALS, "example.com": SERIALS["example.com"] + 1},
        generation=2,
    )
    current = [before]
    handler = BackendHandler(lambda: current[0], MemoryNotified())
    params = {"zonename": "example.com.", "domain_id": 1}
    first = call(handler, "list", params)
    assert call(handler, "list", params) == first
    assert "new-host.example.com." not in {r["qname"] for r in first}
    current[0] = after
    swapped = call(handler, "list", params)
    assert "new-host.example.com." in {r["qname"] for r in swapped}
    assert str(SERIALS["example.com"] + 1) in next(
        r["content"] for r in swapped if r["qtype"] == "SOA"
    )


def test_list_by_id_only_or_by_name_only(handler: BackendHandler) -> None:
    full = call(handler, "list", {"zonename": "10.in-addr.arpa.", "domain_id": 2})
    assert call(handler, "list", {"domain_id": 2, "include_disabled": False}) == full
    assert call(handler, "list", {"zonename": "10.In-Addr.Arpa.", "domain_id": -1}) == full
    assert call(handler, "list", {"zonename": "10.in-addr.arpa"}) == full


@pytest.mark.parametrize(
    "params",
    [
        {"zonename": "example.org.", "domain_id": -1, "include_disabled": False},
        {"zonename": "example.org.", "domain_id": 99, "include_disabled": False},
        {"zonename": "www.example.com.", "domain_id": -1},
        {"domain_id": 99},
        {},
        # id and name disagree: never send another zone's records into a transfer
        {"zonename": "example.com.", "domain_id": 2, "include_disabled": False},
    ],
)
def test_list_unknown_or_inconsistent_zone_is_false(
    handler: BackendHandler, params: dict[str, Any]
) -> None:
    assert call(handler, "list", params) is False


# ---------------------------------------------------------------------- NOTIFY


def test_updated_masters_and_set_notified_round_trip(
    handler: BackendHandler, snapshot: Snapshot, notified: MemoryNotified
) -> None:
    updated = call(handler, "getUpdatedMasters", {})
    assert [d["zone"] for d in updated] == [z.name + "." for z in snapshot.zones]
    for info in updated:
        assert set(info) == DOMAIN_INFO_KEYS and info["kind"] == "master"
        assert info["notified_serial"] == 0
    # pdns (json11) sends numbers as doubles; 2024010101.0 must be accepted.
    line = b'{"method":"setNotified","parameters":{"id":1,"serial":2024010101.0}}'
    assert json.loads(handler.handle_line(line)) == {"result": True}
    assert call(handler, "setNotified", {"id": 2, "serial": SERIALS["10.in-addr.arpa"]}) is True
    assert notified.calls == [("example.com", 2024010101), ("10.in-addr.arpa", 2024010102)]
    updated = call(handler, "getUpdatedMasters")
    assert [d["zone"] for d in updated] == ["8.b.d.0.1.0.0.2.ip6.arpa."]
    assert call(handler, "getDomainInfo", {"name": "example.com."})["notified_serial"] == (
        2024010101
    )
    assert call(handler, "setNotified", {"id": 3, "serial": 7}) is True
    assert call(handler, "getUpdatedMasters", {}) == []


def test_notified_serial_that_differs_either_way_is_updated(snapshot: Snapshot) -> None:
    store = MemoryNotified()
    store.serials = {"example.com": SERIALS["example.com"] + 5}  # e.g. after a restore
    handler = BackendHandler(lambda: snapshot, store)
    zones = [d["zone"] for d in call(handler, "getUpdatedMasters", {})]
    assert "example.com." in zones


def test_dead_state_store_gives_false_fast_not_an_exception(
    snapshot: Snapshot, caplog: pytest.LogCaptureFixture
) -> None:
    handler = BackendHandler(lambda: snapshot, MemoryNotified(fail=True))
    with caplog.at_level(logging.ERROR, logger="pphook.protocol"):
        start = time.perf_counter()
        assert call(handler, "getUpdatedMasters", {}) is False
        assert call(handler, "setNotified", {"id": 1, "serial": 5}) is False
        assert time.perf_counter() - start < 0.5
    assert "getUpdatedMasters" in caplog.text and "setNotified" in caplog.text
    assert handler.errors == 2


@pytest.mark.parametrize(
    "params",
    [
        {"id": 42, "serial": 1},  # no such zone
        {"id": True, "serial": 1},  # a JSON bool is not an id
        {"id": 1, "serial": -1},
        {"id": 1, "serial": 1 << 32},
        {"id": 1, "serial": 1.5},
        {"id": "x", "serial": 1},
        {"id": 1},
        {},
    ],
)
def test_set_notified_bad_parameters(
    handler: BackendHandler, notified: MemoryNotified, params: dict[str, Any]
) -> None:
    assert call(handler, "setNotified", params) is False
    assert notified.calls == []


# ---------------------------------------------------------------------- the rest


def test_metadata_is_empty(handler: BackendHandler) -> None:
    assert call(handler, "getAllDomainMetadata", {"name": "example.com."}) == {}
    params = {"name": "example.com.", "kind": "ALLOW-AXFR-FROM"}
    assert call(handler, "getDomainMetadata", params) == []


@pytest.mark.parametrize(
    ("method", "params"),
    [
        ("setDomainMetadata", {"name": "example.com.", "kind": "X", "value": ["1"]}),
        ("getDomainKeys", {"name": "example.com."}),
        ("getTSIGKey", {"name": "key."}),
        ("startTransaction", {"domain": "example.com.", "domain_id": 1, "trxid": 1}),
        ("feedRecord", {"rr": {}, "trxid": 1}),
        ("directBackendCmd", {"query": "HELLO"}),
        ("searchRecords", {"pattern": "*", "maxResults": 10}),
        ("getBeforeAndAfterNamesAbsolute", {"id": 1, "qname": "www."}),
        ("noSuchMethod", {}),
        ("", {}),
    ],
)
def test_other_methods_are_false(
    handler: BackendHandler, method: str, params: dict[str, Any]
) -> None:
    assert call(handler, method, params) is False


def test_unknown_method_is_logged_once(
    handler: BackendHandler, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="pphook.protocol"):
        for _ in range(3):
            assert call(handler, "frobnicate", {}) is False
    assert caplog.text.count("frobnicate") == 1
    assert handler.requests["<unknown>"] == 3


def test_method_names_are_matched_case_insensitively(handler: BackendHandler) -> None:
    assert call(handler, "getalldomains", {"include_disabled": True})
    assert call(handler, "LOOKUP", {"qtype": "ANY", "qname": "www.example.com."})
    assert call(handler, "GETDOMAINKEYS", {"name": "example.com."}) is False
    assert handler.requests == {"getAllDomains": 1, "lookup": 1, "getDomainKeys": 1}


@pytest.mark.parametrize(
    "line",
    [
        b"",
        b"not json",
        b"{",
        b"[]",
        b'"lookup"',
        b"null",
        b"42",
        b"{}",
        b'{"method":null}',
        b'{"method":["lookup"]}',
        b'{"method":"lookup"}',  # no parameters
        b'{"method":"lookup","parameters":[]}',
        b'{"method":"lookup","parameters":"qname"}',
        b'{"method":"lookup","parameters":{"qtype":1,"qname":"www.example.com."}}',
        b'{"method":"lookup","parameters":{"qtype":"ANY","qname":null}}',
        b'{"method":"lookup","parameters":{"qtype":"ANY","qname":["a"]}}',
        b'{"method":"getDomainInfo","parameters":{"name":7}}',
        b'{"method":"lookup","parameters":{"qtype":"ANY","qname":"\xff\xfe"}}',
        b"\xff\xfe\x00garbage",
        b'{"method":"setNotified","parameters":{"id":1,"serial":1e400}}',
        b'{"method":"setNotified","parameters":{"id":1,"serial":NaN}}',
        b'{"method":"setNotified","parameters":{"id":1,"serial":' + b"9" * 5000 + b"}}",
        b"[" * 100_000 + b"]" * 100_000,
        b'{"method":"lookup","parameters":{"qtype":"ANY","qname":"' + b"a" * 5000 + b'"}}',
    ],
)
def test_malformed_requests_get_false(
    handler: BackendHandler, line: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="pphook.protocol"):
        reply = handler.handle_line(line)
    assert reply == b'{"result":false}\n'
    assert caplog.records, "a false answer to a bad request is logged"
    assert all(r.name == "pphook.protocol" for r in caplog.records)
    assert handler.errors == 1


def test_line_over_the_limit_is_false_without_parsing(
    snapshot: Snapshot, notified: MemoryNotified
) -> None:
    handler = BackendHandler(lambda: snapshot, notified, max_line=100)
    request = {"method": "lookup", "parameters": {"qtype": "ANY", "qname": "www.example.com."}}
    line = json.dumps(request)
    assert len(line) < 100 and json.loads(handler.handle_line(line))["result"]
    padded = line[:-1] + ', "pad": "' + "x" * 100 + '"}'
    assert handler.handle_line(padded) == b'{"result":false}\n'


def test_str_and_bytes_lines_are_both_accepted(handler: BackendHandler) -> None:
    line = '{"method":"lookup","parameters":{"qtype":"A","qname":"www.example.com."}}'
    assert handler.handle_line(line) == handler.handle_line(line.encode())
    assert handler.handle_line(line + "\n") == handler.handle_line(line)


def test_internal_errors_are_false_and_logged(
    notified: MemoryNotified, caplog: pytest.LogCaptureFixture
) -> None:
    def broken() -> Snapshot:
        raise RuntimeError("no snapshot")

    handler = BackendHandler(broken, notified)
    with caplog.at_level(logging.ERROR, logger="pphook.protocol"):
        assert call(handler, "lookup", {"qtype": "ANY", "qname": "www.example.com."}) is False
        assert call(handler, "getUpdatedMasters", {}) is False
    assert "internal error" in caplog.text
    assert handler.errors == 2


def test_get_all_domains_without_a_snapshot_omits_result(notified: MemoryNotified) -> None:
    # false would empty pdns's zone cache (REFUSED everywhere for 300 s); a reply
    # without "result" makes pdns keep its cache (or exit and retry at start-up).
    def broken() -> Snapshot:
        raise RuntimeError("no snapshot")

    reply = BackendHandler(broken, notified).handle_line(
        b'{"method":"getAllDomains","parameters":{"include_disabled":true}}'
    )
    assert reply.endswith(b"\n") and reply.count(b"\n") == 1
    assert "result" not in json.loads(reply)


def test_counters(handler: BackendHandler) -> None:
    call(handler, "initialize", {})
    for _ in range(3):
        lookup(handler, "www.example.com.")
    call(handler, "nope", {})
    handler.handle_line(b"garbage")
    call(handler, "lookup", {"qname": 5})
    assert handler.requests == {"initialize": 1, "lookup": 4, "<unknown>": 1, "<invalid>": 1}
    assert handler.errors == 2
