"""A first publication encodes and hashes its zones on two cores (``two_cores``): what the
forked helper sends back is exactly what `serve` would have computed itself, a helper
that fails costs time and nothing else, and the helper runs only where forking is safe.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from ipaddress import IPv4Address, IPv6Address, ip_address, ip_network
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from infra.rb_support import SETTINGS as RB_SETTINGS
from infra.rb_support import make_snapshot

import remote_backend.build.two_cores as two_cores
from remote_backend.build.publisher import Publisher
from remote_backend.shared.writer import SharedSnapshot
from remote_backend.snapshot import Snapshot, assemble, compute_zone_contents
from remote_backend.snapshot.encoded import hashed_zone_items
from remote_backend.state import StateStore
from remote_backend.zones import ZoneSettings
from validators.model import AddressRecord, PtrRecord, Publication

SETTINGS = ZoneSettings(
    forward=("example.com", "lab.example.com"),
    reverse=(
        ip_network("10.0.0.0/16"),
        ip_network("10.1.0.0/16"),
        ip_network("192.0.2.0/24"),
        ip_network("2001:db8::/32"),
    ),
    nameservers=("ns1.example.com",),
    hostmaster="hostmaster.example.com",
    nameserver_addresses={"ns1.example.com": (ip_address("192.0.2.53"),)},
)

labels = st.sampled_from(["a", "b", "web", "x.y", "deep.er", "lab", "mail"])
parents = st.sampled_from(["example.com", "lab.example.com"])
addresses = st.one_of(
    st.integers(0, 2**17 - 1).map(lambda n: IPv4Address((10 << 24) + n)),
    st.integers(0, 255).map(lambda n: IPv4Address((192 << 24) + (2 << 8) + n)),
    st.integers(0, 2**20).map(lambda n: IPv6Address((0x20010DB8 << 96) + n)),
)
hosts = st.lists(st.tuples(labels, parents, addresses), min_size=1, max_size=60)


def snapshot_of(rows: list[tuple[str, str, IPv4Address | IPv6Address]]) -> Snapshot:
    records = tuple(
        AddressRecord(f"{label}-{i}.{parent}", address, i)
        for i, (label, parent, address) in enumerate(rows, 1)
    )
    ptrs = tuple(PtrRecord(r.address, r.fqdn, r.row_id) for r in records)
    contents = compute_zone_contents(Publication(records, ptrs, ()), SETTINGS)
    return assemble(contents, None, SETTINGS)


def alone(snapshot: Snapshot, zones: ZoneSettings) -> dict[str, tuple[Any, str]]:
    """What `serve` computes by itself: every zone in this process."""
    return plain({z.name: hashed_zone_items(snapshot, z, zones) for z in snapshot.zones})


def plain(hashed: two_cores.Hashed) -> dict[str, tuple[Any, str]]:
    return {name: (items, fingerprint.hex()) for name, (items, fingerprint) in hashed.items()}


@pytest.fixture
def forks(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The helpers started (one entry per fork): a test that means to use the helper
    fails if none ran, so the comparison with `alone` is never between two identical
    one-process results."""
    assert threading.active_count() == 1, "a thread is running: the helper cannot be forked"
    started: list[int] = []
    real = two_cores._with_helper

    def counted(*args: Any) -> two_cores.Hashed:
        started.append(1)
        return real(*args)

    monkeypatch.setattr(two_cores, "_with_helper", counted)
    monkeypatch.setattr(two_cores, "HELPER_SHARE", 0.5)
    return started


@settings(max_examples=25, deadline=None)
@given(hosts)
def test_the_helpers_zones_equal_what_serve_computes_alone(
    rows: list[tuple[str, str, IPv4Address | IPv6Address]],
) -> None:
    snapshot = snapshot_of(rows)
    expected = alone(snapshot, SETTINGS)
    helper = two_cores.helper_zones(snapshot, 0.5)
    got = two_cores._with_helper(snapshot, SETTINGS, helper) if helper else None
    if got is not None:
        assert plain(got) == expected
    assert plain(two_cores.hashed_items(snapshot, SETTINGS, min_names=1)) == expected


def big_snapshot() -> Snapshot:
    rows = [
        (
            "h",
            "example.com" if i % 3 else "lab.example.com",
            IPv4Address((10 << 24) + i) if i % 5 else IPv6Address((0x20010DB8 << 96) + i),
        )
        for i in range(3000)
    ]
    return snapshot_of(rows)  # type: ignore[arg-type]


def test_the_helper_takes_its_share_and_runs(forks: list[int]) -> None:
    snapshot = big_snapshot()
    taken = two_cores.helper_zones(snapshot, 0.5)
    sizes = {z.name: two_cores.zone_name_count(snapshot, z) for z in snapshot.zones}
    assert taken, "no zone for the helper"
    assert sum(sizes[z.name] for z in taken) <= 0.5 * sum(sizes.values())
    assert plain(two_cores.hashed_items(snapshot, SETTINGS, min_names=1)) == alone(
        snapshot, SETTINGS
    )
    assert forks == [1]


def failing_in_the_helper(parent: int, failure: Callable[[], None]) -> Any:
    """``hashed_zone_items`` that fails in the helper at its second zone."""
    real = hashed_zone_items
    calls = [0]

    def patched(snapshot: Snapshot, zone: Any, zones: ZoneSettings) -> Any:
        if os.getpid() != parent:
            calls[0] += 1
            if calls[0] == 2:
                failure()
        return real(snapshot, zone, zones)

    return patched


def _raise() -> None:
    raise RuntimeError("helper broke")


@pytest.mark.parametrize("failure", [_raise, lambda: os._exit(7), lambda: os.kill(os.getpid(), 9)])
def test_a_failing_helper_costs_time_not_correctness(
    forks: list[int],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    failure: Callable[[], None],
) -> None:
    snapshot = big_snapshot()
    expected = alone(snapshot, SETTINGS)
    assert len(two_cores.helper_zones(snapshot, 0.5)) >= 2
    monkeypatch.setattr(two_cores, "hashed_zone_items", failing_in_the_helper(os.getpid(), failure))
    with caplog.at_level(logging.WARNING, logger="pphook.publisher"):
        got = two_cores.hashed_items(snapshot, SETTINGS, min_names=1)
    assert plain(got) == expected
    assert forks == [1]
    warned = [r.getMessage() for r in caplog.records if "helper process" in r.getMessage()]
    assert len(warned) == 1 and "1 of its zones arrived" in warned[0], warned


def test_a_garbled_stream_is_not_trusted(
    forks: list[int], monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    snapshot = big_snapshot()
    expected = alone(snapshot, SETTINGS)

    def garbage(snapshot: Snapshot, settings: ZoneSettings, zones: Any, fd: int) -> None:
        os.write(fd, b"\x80\x05not a pickle at all")
        os._exit(0)

    monkeypatch.setattr(two_cores, "_helper", garbage)
    with caplog.at_level(logging.WARNING, logger="pphook.publisher"):
        got = two_cores.hashed_items(snapshot, SETTINGS, min_names=1)
    assert plain(got) == expected
    assert any("unreadable stream" in r.getMessage() for r in caplog.records)


def test_no_helper_process_to_be_had_means_one_core(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    snapshot = big_snapshot()
    expected = alone(snapshot, SETTINGS)

    def no_fork() -> int:
        raise BlockingIOError(11, "Resource temporarily unavailable")

    monkeypatch.setattr(two_cores.os, "fork", no_fork)
    with caplog.at_level(logging.WARNING, logger="pphook.publisher"):
        got = two_cores._with_helper(snapshot, SETTINGS, two_cores.helper_zones(snapshot, 0.5))
    assert plain(got) == expected
    assert any("on one core (no helper process" in r.getMessage() for r in caplog.records)


def test_when_serve_fails_the_helper_is_ended(
    forks: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    snapshot = big_snapshot()
    parent = os.getpid()
    helpers: list[int] = []
    real_fork = os.fork

    def fork() -> int:
        pid = real_fork()
        if pid:
            helpers.append(pid)
        return pid

    def broken(snapshot: Snapshot, zone: Any, zones: ZoneSettings) -> Any:
        if os.getpid() == parent:
            raise MemoryError("serve's own part failed")
        threading.Event().wait(60)  # a helper still busy: must be stopped, not awaited
        raise AssertionError("the helper was not stopped")

    monkeypatch.setattr(two_cores.os, "fork", fork)
    monkeypatch.setattr(two_cores, "hashed_zone_items", broken)
    with pytest.raises(MemoryError):
        two_cores.hashed_items(snapshot, SETTINGS, min_names=1)
    assert len(helpers) == 1
    with pytest.raises(ChildProcessError):  # reaped: no zombie, no process left
        os.waitpid(helpers[0], os.WNOHANG)


def test_no_helper_while_another_thread_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    snapshot = big_snapshot()
    assert two_cores.can_fork(snapshot, min_names=1) == (len(os.sched_getaffinity(0)) >= 2)
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait)
    thread.start()
    try:
        assert not two_cores.can_fork(snapshot, min_names=1)
        monkeypatch.setattr(os, "fork", lambda: pytest.fail("forked beside a thread"))
        assert plain(two_cores.hashed_items(snapshot, SETTINGS, min_names=1)) == alone(
            snapshot, SETTINGS
        )
    finally:
        stop.set()
        thread.join()
    assert not two_cores.can_fork(snapshot, min_names=10**9)  # too few names to pay


def test_a_first_publication_on_two_cores_stores_the_same(
    forks: list[int], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    draft = make_snapshot()
    stored = {}
    # one state store: the second publication gets the first one's serials only if its
    # fingerprints are the same (serials from the clock would differ between the two)
    store = StateStore(f"sqlite:///{tmp_path}/state.db")
    for run, least in (("alone", 10**9), ("helper", 1)):
        monkeypatch.setattr(two_cores, "MIN_NAMES", least)
        shared = SharedSnapshot(tmp_path / run)
        publisher = Publisher(shared, store, RB_SETTINGS)
        published = publisher.publish(draft)
        stored[run] = (
            shared.stored_zones(),
            {z.id: list(shared.zone_items(z.id)) for z in published.zones},
        )
        shared.close()
    assert forks == [1]
    assert stored["helper"] == stored["alone"]
    assert any(stored["alone"][1].values())
