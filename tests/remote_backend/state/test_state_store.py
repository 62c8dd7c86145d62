"""Serials move with content only, never go back, and agree between nodes."""

from __future__ import annotations

from pathlib import Path

import pytest

from remote_backend.errors import StateStoreError
from remote_backend.state import SerialFormat, StateStore
from remote_backend.state.store import next_serial

T0 = 1_800_000_000.0


def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path}/state.db"


def test_same_content_same_serial_across_restart(tmp_path: Path) -> None:
    store = StateStore(url(tmp_path))
    first = store.serials_for({"example.com": "fp1"}, now=T0)
    assert first == {"example.com": int(T0)}
    store.close()
    again = StateStore(url(tmp_path)).serials_for({"example.com": "fp1"}, now=T0 + 500)
    assert again == first


def test_new_content_new_higher_serial(tmp_path: Path) -> None:
    store = StateStore(url(tmp_path))
    s1 = store.serials_for({"z": "fp1"}, now=T0)["z"]
    s2 = store.serials_for({"z": "fp2"}, now=T0)["z"]  # same second: still higher
    s3 = store.serials_for({"z": "fp3"}, now=T0 + 100)["z"]
    assert s1 < s2 < s3
    assert s3 == int(T0 + 100)


def test_revert_to_older_content_gets_a_new_serial(tmp_path: Path) -> None:
    store = StateStore(url(tmp_path))
    s1 = store.serials_for({"z": "A"}, now=T0)["z"]
    s2 = store.serials_for({"z": "B"}, now=T0 + 1)["z"]
    s3 = store.serials_for({"z": "A"}, now=T0 + 2)["z"]
    assert s1 < s2 < s3


def test_clock_going_back_never_lowers_serial(tmp_path: Path) -> None:
    store = StateStore(url(tmp_path))
    s1 = store.serials_for({"z": "A"}, now=T0)["z"]
    s2 = store.serials_for({"z": "B"}, now=T0 - 3600)["z"]
    assert s2 == s1 + 1


def test_two_nodes_sharing_a_store_agree(tmp_path: Path) -> None:
    node_a = StateStore(url(tmp_path))
    node_b = StateStore(url(tmp_path))
    a1 = node_a.serials_for({"z": "A"}, now=T0)["z"]
    b1 = node_b.serials_for({"z": "A"}, now=T0 + 5)["z"]
    assert a1 == b1
    a2 = node_a.serials_for({"z": "B"}, now=T0 + 10)["z"]
    # node b catches up later: same content, same serial, no new allocation
    b2 = node_b.serials_for({"z": "B"}, now=T0 + 20)["z"]
    assert a2 == b2 > a1


def test_lagging_node_serves_old_serial_for_old_content(tmp_path: Path) -> None:
    node_a = StateStore(url(tmp_path))
    node_b = StateStore(url(tmp_path))
    old = node_a.serials_for({"z": "A"}, now=T0)["z"]
    node_b.serials_for({"z": "A"}, now=T0)
    node_a.serials_for({"z": "B"}, now=T0 + 10)
    # b still reads a replica holding A: it keeps serving A's serial
    assert node_b.serials_for({"z": "A"}, now=T0 + 11)["z"] == old


def test_zones_are_independent(tmp_path: Path) -> None:
    store = StateStore(url(tmp_path))
    first = store.serials_for({"a": "1", "b": "1"}, now=T0)
    second = store.serials_for({"a": "2", "b": "1"}, now=T0 + 50)
    assert second["b"] == first["b"]
    assert second["a"] > first["a"]


@pytest.mark.parametrize(
    ("fmt", "previous", "expected"),
    [
        (SerialFormat.UNIXTIME, 0, int(T0)),
        (SerialFormat.UNIXTIME, int(T0) + 5, int(T0) + 6),
        (SerialFormat.DATE, 0, 2027011500),
        (SerialFormat.DATE, 2027011507, 2027011508),
        (SerialFormat.COUNTER, 41, 42),
    ],
)
def test_serial_formats(fmt: SerialFormat, previous: int, expected: int) -> None:
    assert next_serial(fmt, previous, T0) == expected


def test_serial_overflow_is_an_error_with_advice() -> None:
    with pytest.raises(StateStoreError, match="2\\^32"):
        next_serial(SerialFormat.COUNTER, 2**32 - 1, T0)


def test_unwritable_state_store_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(StateStoreError, match=r"state\.url"):
        StateStore(f"sqlite:///{blocker}/sub/state.db")
