"""Watching secondaries: address parsing, RFC 1982 comparison, since-when, SOA rounds.

The SOA rounds run against a small UDP responder written here, which can refuse,
drop or answer without authority on demand; the real BIND secondary is in
tests/notifier/test_notifier_secondaries.py.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

import dns.flags
import dns.message
import dns.rcode
import dns.rrset
import pytest

from remote_backend.config import parse_config
from remote_backend.errors import ConfigError, SecondaryAddressError
from remote_backend.secondaries.address import Secondary, parse_secondary
from remote_backend.secondaries.lag import (
    AHEAD,
    BEHIND,
    IN_SYNC,
    NO_ANSWER,
    SecondaryZoneState,
    SerialTimeline,
    behind_since,
    is_older,
    lag_report,
)
from remote_backend.secondaries.soa import query_serials, query_soa
from remote_backend.secondaries.watch import SecondaryWatcher, secondary_lines
from remote_backend.snapshot import Snapshot, Zone

TOP = 2**32 - 1

# -- parsing ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "address", "port", "label"),
    [
        ("192.0.2.1", "192.0.2.1", 53, "192.0.2.1"),
        (" 192.0.2.1:5353 ", "192.0.2.1", 5353, "192.0.2.1:5353"),
        ("192.0.2.1:53", "192.0.2.1", 53, "192.0.2.1"),
        ("2001:db8::1", "2001:db8::1", 53, "2001:db8::1"),
        ("2001:DB8:0::1", "2001:db8::1", 53, "2001:db8::1"),
        ("[2001:db8::1]:5353", "2001:db8::1", 5353, "[2001:db8::1]:5353"),
        ("[2001:db8::1]", "2001:db8::1", 53, "2001:db8::1"),
        ("::1", "::1", 53, "::1"),
    ],
)
def test_parse_secondary(text: str, address: str, port: int, label: str) -> None:
    s = parse_secondary(text)
    assert s == Secondary(ipaddress.ip_address(address), port)
    assert s.label == label
    assert parse_secondary(s.label) == s  # labels parse back


@pytest.mark.parametrize(
    ("text", "hint"),
    [
        ("ns2.example.com", "not an IP address"),
        ("ns2.example.com:53", "not an IP address"),
        ("192.0.2.1:", "port after ':' is missing"),
        ("192.0.2.1:0", "1 to 65535"),
        ("192.0.2.1:65536", "1 to 65535"),
        ("192.0.2.1:dns", "1 to 65535"),
        ("192.0.2.300", "not an IP address"),
        ("[2001:db8::1]:", "port after ':' is missing"),
        ("[2001:db8::1]5353", "[2001:db8::1]:5353"),
        ("[2001:db8::1", "[2001:db8::1]:5353"),
        ("[192.0.2.1]:53", "brackets are for IPv6"),
        ("", "not an IP address"),
    ],
)
def test_parse_secondary_rejects(text: str, hint: str) -> None:
    with pytest.raises(SecondaryAddressError, match=hint.replace("[", r"\[").replace("]", r"\]")):
        parse_secondary(text)


def _zones_config(tmp_path: Path, secondaries: object) -> dict[str, object]:
    return {
        "ipam": {"url": "sqlite://"},
        "zones": {
            "forward": ["example.com"],
            "nameservers": ["ns1.example.com"],
            "hostmaster": "hostmaster.example.com",
            "secondaries": secondaries,
        },
    }


def test_config_normalises_secondaries(tmp_path: Path) -> None:
    data = _zones_config(tmp_path, ["192.0.2.1:53", "[2001:db8::2]:5353", "2001:db8::3"])
    config = parse_config(str(tmp_path / "p.toml"), data, environ={})
    assert config.zones.secondaries == ("192.0.2.1", "[2001:db8::2]:5353", "2001:db8::3")


def test_config_reports_every_bad_secondary(tmp_path: Path) -> None:
    data = _zones_config(tmp_path, ["ns2.example.com", "192.0.2.1", "192.0.2.1:53", "10.0.0.1:x"])
    with pytest.raises(ConfigError) as info:
        parse_config(str(tmp_path / "p.toml"), data, environ={})
    text = str(info.value)
    assert info.value.key == "zones.secondaries"
    assert "3 problems" in text
    assert "zones.secondaries: 'ns2.example.com' is not an IP address" in text
    assert "zones.secondaries: '192.0.2.1:53' is listed twice" in text
    assert "zones.secondaries: '10.0.0.1:x': the port must be a number" in text


# -- RFC 1982 and the report -------------------------------------------------------------


def test_is_older_follows_rfc1982() -> None:
    assert is_older(1, 2)
    assert not is_older(2, 2)
    assert not is_older(3, 2)
    assert is_older(TOP, 5)  # wrapped: 5 comes after 4294967295
    assert not is_older(5, TOP)
    assert is_older(TOP - 10, TOP)
    # at exactly 2^31 the order is undefined: a secondary would not transfer
    assert not is_older(0, 2**31)
    assert not is_older(2**31, 0)


def test_lag_report_states() -> None:
    ours = {"example.com": 100, "10.in-addr.arpa": 5, "8.b.d.0.1.0.0.2.ip6.arpa": TOP}
    theirs: Mapping[str, Mapping[str, int | None]] = {
        "192.0.2.1": {"example.com": 100, "10.in-addr.arpa": TOP, "8.b.d.0.1.0.0.2.ip6.arpa": 5},
        "192.0.2.2:5353": {"example.com": 99, "10.in-addr.arpa": None},
    }
    states = lag_report(ours, theirs)
    got = {(s.secondary, s.zone): (s.theirs, s.ours, s.behind, s.status) for s in states}
    assert got == {
        ("192.0.2.1", "example.com"): (100, 100, False, IN_SYNC),
        # 4294967295 -> 5 is one step forward across the wrap: behind, not ahead
        ("192.0.2.1", "10.in-addr.arpa"): (TOP, 5, True, BEHIND),
        # and the other way round the secondary is ahead: it would never transfer
        ("192.0.2.1", "8.b.d.0.1.0.0.2.ip6.arpa"): (5, TOP, False, AHEAD),
        ("192.0.2.2:5353", "example.com"): (99, 100, True, BEHIND),
        ("192.0.2.2:5353", "10.in-addr.arpa"): (None, 5, True, NO_ANSWER),
        # a zone missing from the answers is an unanswered zone
        ("192.0.2.2:5353", "8.b.d.0.1.0.0.2.ip6.arpa"): (None, TOP, True, NO_ANSWER),
    }
    # order: secondaries as given, zones as pphook lists them
    assert [(s.secondary, s.zone) for s in states][:3] == [
        ("192.0.2.1", "example.com"),
        ("192.0.2.1", "10.in-addr.arpa"),
        ("192.0.2.1", "8.b.d.0.1.0.0.2.ip6.arpa"),
    ]


def state(theirs: int | None, ours: int, zone: str = "example.com") -> SecondaryZoneState:
    behind = theirs is None or is_older(theirs, ours)
    return SecondaryZoneState("192.0.2.1", zone, theirs, ours, behind)


def test_behind_since_counts_from_the_first_serial_the_secondary_lacks() -> None:
    timeline = SerialTimeline([("example.com", 10, 1000.0), ("example.com", 11, 1100.0)])
    timeline.record("example.com", 12, 1200.0)
    timeline.record("example.com", 12, 1250.0)  # seen again later: the first time stays
    assert behind_since(state(12, 12), 900.0, timeline, 1300.0) is None
    assert behind_since(state(10, 12), None, timeline, 1300.0) == 1100.0
    # it transferred 11 meanwhile: it now lacks only what 12 brought
    assert behind_since(state(11, 12), 1100.0, timeline, 1300.0) == 1200.0
    # older than anything the timeline knows: the oldest known newer serial
    assert behind_since(state(3, 12), None, timeline, 1300.0) == 1000.0
    # no answer: since it was first seen so, or since it was behind before
    assert behind_since(state(None, 12), None, timeline, 1300.0) == 1300.0
    assert behind_since(state(None, 12), 1234.0, timeline, 1300.0) == 1234.0
    # a zone the timeline does not know: first seen now, then kept
    other = state(1, 2, zone="10.in-addr.arpa")
    assert behind_since(other, None, timeline, 1300.0) == 1300.0
    assert behind_since(other, 1300.0, timeline, 1400.0) == 1300.0
    # ahead is not behind
    assert behind_since(state(13, 12), 1000.0, timeline, 1300.0) is None


def test_timeline_wraps_and_stays_small() -> None:
    timeline = SerialTimeline([("z", TOP, 10.0), ("z", 3, 20.0)])
    assert timeline.first_newer("z", TOP - 1) == 10.0
    assert timeline.first_newer("z", TOP) == 20.0  # 3 is after 4294967295
    assert timeline.first_newer("z", 3) is None
    for i in range(200):
        timeline.record("z", 100 + i, 100.0 + i)
    assert timeline.first_newer("z", 99) == 100.0 + 200 - SerialTimeline.KEEP


def test_steady_churn_is_not_lag() -> None:
    """A zone changing every 10 s, a secondary always one transfer (2 s) behind when
    looked at: behind for 2 s at each look, never for long."""
    timeline = SerialTimeline()
    since: float | None = None
    for step in range(100):
        now = 1000.0 + 10 * step
        timeline.record("example.com", step + 1, now - 2)
        since = behind_since(state(step, step + 1), since, timeline, now)
        assert since is not None and now - since == 2


# -- SOA rounds against a scripted UDP responder ---------------------------------------------


class Responder:
    """Answers SOA queries on 127.0.0.1: an int is a serial (authoritative), "refused",
    "noaa" (an answer without the AA flag), "drop-once" (ignores the first query, then
    serial 9); zones not listed get no reply at all."""

    def __init__(self, zones: Mapping[str, int | str]) -> None:
        self.zones = dict(zones)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.05)
        self.port = int(self.sock.getsockname()[1])
        self.queries: list[tuple[str, bool]] = []  # (zone, recursion desired)
        self._dropped: set[str] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    @property
    def label(self) -> str:
        return f"127.0.0.1:{self.port}"

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                wire, peer = self.sock.recvfrom(4096)
            except TimeoutError:
                continue
            query = dns.message.from_wire(wire)
            zone = query.question[0].name.to_text(omit_final_dot=True)
            self.queries.append((zone, bool(query.flags & dns.flags.RD)))
            how = self.zones.get(zone)
            if how is None:
                continue
            if how == "drop-once" and zone not in self._dropped:
                self._dropped.add(zone)
                continue
            response = dns.message.make_response(query)
            if how == "refused":
                response.set_rcode(dns.rcode.REFUSED)
            else:
                serial = 9 if how in ("drop-once", "noaa") else how
                if how != "noaa":
                    response.flags |= dns.flags.AA
                response.answer.append(
                    dns.rrset.from_text(
                        f"{zone}.", 300, "IN", "SOA", f"ns1.{zone}. h.{zone}. {serial} 1 1 1 1"
                    )
                )
            self.sock.sendto(response.to_wire(), peer)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2)
        self.sock.close()


@pytest.fixture
def responder() -> Iterator[Responder]:
    r = Responder(
        {
            "example.com": 42,
            "10.in-addr.arpa": "refused",
            "slow.example": "drop-once",
            "cache.example": "noaa",
        }
    )
    try:
        yield r
    finally:
        r.close()


def closed_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_query_soa_reads_serials_and_reasons(responder: Responder) -> None:
    closed = f"127.0.0.1:{closed_udp_port()}"
    zones = ["example.com", "10.in-addr.arpa", "slow.example", "cache.example", "silent.example"]
    started = time.monotonic()
    answers = query_soa([responder.label, closed], zones, timeout=1.0)
    took = time.monotonic() - started
    mine = {z: (a.serial, a.error) for z, a in answers[responder.label].items()}
    assert mine == {
        "example.com": (42, None),
        "10.in-addr.arpa": (None, "REFUSED"),
        "slow.example": (9, None),  # the lost query was sent again halfway
        "cache.example": (None, "not authoritative"),
        "silent.example": (None, "timeout"),
    }
    assert {a.error for a in answers[closed].values()} == {"port unreachable"}
    assert took < 1.5  # one round, not one timeout per zone
    assert all(not rd for _zone, rd in responder.queries)  # never asks for recursion
    assert query_serials([responder.label], ["example.com"], timeout=1.0) == {
        responder.label: {"example.com": 42}
    }


def test_query_soa_of_nothing() -> None:
    assert query_soa([], ["example.com"]) == {}
    assert query_soa(["192.0.2.1"], []) == {"192.0.2.1": {}}


def test_secondary_lines(responder: Responder, tmp_path: Path) -> None:
    closed = f"127.0.0.1:{closed_udp_port()}"
    data = _zones_config(tmp_path, [responder.label, closed])
    config = parse_config(str(tmp_path / "p.toml"), data, environ={})
    zones = (Zone(1, "example.com", 43, "", "", 3), Zone(2, "10.in-addr.arpa", 7, "", "", 3))
    snapshot = Snapshot(zones=zones, names={}, ents=frozenset(), ttl=300)
    lines = secondary_lines(config, snapshot, timeout=0.5)
    assert lines[0].startswith("secondaries")
    rows = [line.split() for line in lines[2:]]
    assert rows == [
        [responder.label, "example.com", "42", "43", "behind"],
        [responder.label, "10.in-addr.arpa", "-", "7", "no", "answer", "(REFUSED)"],
        [closed, "example.com", "-", "43", "no", "answer", "(port", "unreachable)"],
        [closed, "10.in-addr.arpa", "-", "7", "no", "answer", "(port", "unreachable)"],
    ]
    config = parse_config(str(tmp_path / "p.toml"), _zones_config(tmp_path, []), environ={})
    assert secondary_lines(config, snapshot) == []


def test_watcher_keeps_states_and_since(responder: Responder) -> None:
    serials = {"example.com": 42}
    now = [1000.0]
    watcher = SecondaryWatcher(
        [responder.label], lambda: serials, interval=60, timeout=0.5, clock=lambda: now[0]
    )
    assert watcher.states() == []
    (w,) = watcher.poll()
    assert (w.theirs, w.ours, w.status, w.behind_since) == (42, 42, IN_SYNC, None)
    assert w.behind_seconds(now[0]) == 0.0
    serials["example.com"] = 43  # pphook publishes 43 at t=1010
    now[0] = 1010.0
    watcher.poll()
    now[0] = 1040.0
    (w,) = watcher.poll()
    assert (w.theirs, w.ours, w.status, w.behind_since) == (42, 43, BEHIND, 1010.0)
    assert w.behind_seconds(1040.0) == 30.0
    assert watcher.states() == [w]
    # no snapshot yet: the round is skipped, the last states stay
    serials.clear()
    assert watcher.poll() == [w]


def test_watcher_thread_starts_and_stops(responder: Responder) -> None:
    watcher = SecondaryWatcher(
        [responder.label], lambda: {"example.com": 42}, interval=0.05, timeout=0.2
    ).start()
    try:
        deadline = time.monotonic() + 5
        while not watcher.states() and time.monotonic() < deadline:
            time.sleep(0.02)
        assert [s.status for s in watcher.states()] == [IN_SYNC]
    finally:
        watcher.stop()
