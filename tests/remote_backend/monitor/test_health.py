"""Circuit breaker states and the persisted snapshot round trip."""

from __future__ import annotations

from ipaddress import ip_address, ip_network
from pathlib import Path

import pytest

from remote_backend.errors import StateStoreError
from remote_backend.monitor.health import CircuitBreaker, CircuitState
from remote_backend.snapshot import assemble, compute_zone_contents
from remote_backend.state import StateStore
from remote_backend.state import store as store_module
from remote_backend.state.persist import snapshot_from_payload, snapshot_payload
from remote_backend.zones import ZoneSettings
from validators.model import AddressRecord, PtrRecord, Publication


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_breaker_opens_after_threshold_and_half_opens_after_cooldown() -> None:
    clock = Clock()
    breaker = CircuitBreaker(failures=3, cooldown=5, clock=clock)
    assert breaker.state is CircuitState.CLOSED
    breaker.failure()
    breaker.failure()
    assert breaker.allow() and breaker.state is CircuitState.CLOSED
    breaker.failure()
    assert breaker.state is CircuitState.OPEN and not breaker.allow()
    clock.now += 4.9
    assert not breaker.allow()
    clock.now += 0.2
    assert breaker.state is CircuitState.HALF_OPEN and breaker.allow()
    breaker.failure()  # the probe failed: open again for a full cool-down
    assert breaker.state is CircuitState.OPEN
    clock.now += 5
    breaker.success()
    assert breaker.state is CircuitState.CLOSED and breaker.consecutive_failures == 0
    assert breaker.opened_total == 1


SETTINGS = ZoneSettings(
    forward=("example.com",),
    reverse=(ip_network("10.0.0.0/8"), ip_network("2001:db8::/32")),
    nameservers=("ns1.example.com",),
    hostmaster="hostmaster.example.com",
)


def snapshot():  # type: ignore[no-untyped-def]
    records = [
        AddressRecord(f"h{i}.example.com", ip_address(f"10.0.{i // 250}.{i % 250 + 1}"), i)
        for i in range(2000)
    ]
    records.append(AddressRecord("v6.example.com", ip_address("2001:db8::1"), 5000))
    ptrs = tuple(PtrRecord(r.address, r.fqdn, r.row_id) for r in records)
    contents = compute_zone_contents(Publication(tuple(records), ptrs, ()), SETTINGS)
    return assemble(contents, {c.name: 4242 for c in contents}, SETTINGS)


def test_persisted_snapshot_round_trip(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(store_module, "SNAPSHOT_CHUNK", 1000)  # force many chunks
    original = snapshot()
    store = StateStore(f"sqlite:///{tmp_path}/state.db")
    payload, digest = snapshot_payload(original)
    assert store.save_snapshot(payload, digest)
    assert not store.save_snapshot(payload, digest)  # unchanged: not rewritten
    loaded_payload, _ = store.load_snapshot()  # type: ignore[misc]
    restored = snapshot_from_payload(loaded_payload, SETTINGS)
    assert dict(restored.names) == dict(original.names)
    assert restored.ents == original.ents
    assert [(z.name, z.serial, z.fingerprint, z.record_count) for z in restored.zones] == [
        (z.name, z.serial, z.fingerprint, z.record_count) for z in original.zones
    ]


def test_incomplete_persisted_snapshot_is_ignored(tmp_path: Path) -> None:
    store = StateStore(f"sqlite:///{tmp_path}/state.db")
    payload, digest = snapshot_payload(snapshot())
    store.save_snapshot(payload, digest)
    with store.engine.begin() as conn:
        conn.execute(
            store_module.persisted_snapshot.delete().where(
                store_module.persisted_snapshot.c.seq == 0
            )
        )
    # one chunk only and it is complete, so delete it entirely: nothing to load
    assert store.load_snapshot() is None


def test_corrupt_persisted_snapshot_is_a_clear_error() -> None:
    with pytest.raises(StateStoreError, match="persisted snapshot"):
        snapshot_from_payload(b"not zlib", SETTINGS)
