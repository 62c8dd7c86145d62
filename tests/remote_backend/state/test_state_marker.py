"""Serials never go back, even when the state store is lost or damaged (issue 14, item 2).

A store that shrank (rows deleted, a partial restore) is refused; a new store starts
above the floors it is given (the secondaries' serials, the caller's snapshot); an
intact store keeps its serials across restarts. On SQLite and on MariaDB.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
import sqlalchemy as sa
from infra.mariadb import MariaDBServer

from remote_backend.errors import StateStoreDamagedError
from remote_backend.state import SerialFormat, StateStore

T0 = 1_800_000_000.0
ZONE = "example.com"
# what docs/operations.md "Resetting the state store" empties to start serials over
SERIAL_TABLES = ("zone_serials", "serial_history", "serial_marks", "store_meta")


@pytest.fixture(params=["sqlite", "mariadb"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/state.db"
    else:
        mariadb: MariaDBServer = request.getfixturevalue("mariadb")
        yield mariadb.create_database(f"pphook_state_{uuid.uuid4().hex[:8]}")


def sql(url: str, *statements: str) -> None:
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        for statement in statements:
            conn.exec_driver_sql(statement)
    engine.dispose()


def filled(url: str) -> int:
    """A store that handed out three serials for ZONE; the last one."""
    store = StateStore(url, SerialFormat.COUNTER)
    for fp in ("a", "b", "c"):
        last = store.serials_for({ZONE: fp, "other.org": "x"}, now=T0)[ZONE]
    store.close()
    assert last == 3
    return last


@pytest.mark.parametrize(
    ("damage", "words"),
    [
        (["DELETE FROM zone_serials"], "example.com: its serial is gone (it had reached 3)"),
        (["UPDATE zone_serials SET serial = 1"], "example.com: serial 1, but 3 was handed out"),
        (["DELETE FROM serial_history"], "example.com: its serial history lost 3"),
        (["DELETE FROM store_meta"], "its marker (table store_meta) is gone"),
    ],
)
def test_a_store_that_lost_serials_is_refused(url: str, damage: list[str], words: str) -> None:
    filled(url)
    sql(url, *damage)
    with pytest.raises(StateStoreDamagedError) as err:
        StateStore(url, SerialFormat.COUNTER)
    message = str(err.value)
    assert words in message
    assert "Resetting the state store" in message and "secondaries ignore" in message


def test_damage_while_running_is_refused_at_the_next_allocation(url: str) -> None:
    filled(url)
    store = StateStore(url, SerialFormat.COUNTER)
    sql(url, "DELETE FROM zone_serials")
    with pytest.raises(StateStoreDamagedError, match=r"example\.com: no serial, but 3"):
        store.serials_for({ZONE: "d"}, now=T0)


def test_deliberate_reset_of_the_marker_is_accepted(url: str) -> None:
    """The documented reset: remove the marker rows too; the store then starts over
    from what it holds (and from its floors)."""
    filled(url)
    sql(url, "DELETE FROM zone_serials", "DELETE FROM store_meta", "DELETE FROM serial_marks")
    store = StateStore(url, SerialFormat.COUNTER, floors={ZONE: 3})
    assert store.serials_for({ZONE: "c"}, now=T0)[ZONE] == 3  # its history knows "c"
    assert store.serials_for({ZONE: "e"}, now=T0)[ZONE] == 4
    # starting the serials over: the four serial tables emptied, floors still hold
    sql(url, *(f"DELETE FROM {t}" for t in SERIAL_TABLES))
    store = StateStore(url, SerialFormat.COUNTER, floors={ZONE: 4})
    assert store.serials_for({ZONE: "e"}, now=T0)[ZONE] == 5


def test_a_store_from_before_markers_is_adopted(url: str) -> None:
    """An upgrade: a store written by a pphook without marker tables keeps working."""
    filled(url)
    sql(url, "DROP TABLE store_meta", "DROP TABLE serial_marks")
    store = StateStore(url, SerialFormat.COUNTER)
    assert store.serials_for({ZONE: "c"}, now=T0)[ZONE] == 3
    sql(url, "DELETE FROM zone_serials")  # now the marker knows what it had
    with pytest.raises(StateStoreDamagedError):
        StateStore(url, SerialFormat.COUNTER)


def test_intact_store_keeps_its_serial_across_restarts_with_the_same_floor(url: str) -> None:
    last = filled(url)
    store = StateStore(url, SerialFormat.COUNTER, floors={ZONE: last})
    assert store.serials_for({ZONE: "c"}, now=T0)[ZONE] == last


def test_new_store_starts_above_the_callers_floor(url: str) -> None:
    store = StateStore(url, SerialFormat.COUNTER, floors={ZONE: 41})
    assert store.serials_for({ZONE: "a", "other.org": "x"}, now=T0) == {ZONE: 42, "other.org": 1}


def test_raise_floor_moves_a_stale_serial_above_it(url: str) -> None:
    store = StateStore(url, SerialFormat.UNIXTIME)
    first = store.serials_for({ZONE: "a"}, now=T0)[ZONE]
    store.raise_floor(ZONE, first + 100)  # e.g. a snapshot served elsewhere
    assert store.serials_for({ZONE: "a"}, now=T0)[ZONE] == first + 101
    # the bump is recorded: another node with the same content agrees
    other = StateStore(url, SerialFormat.UNIXTIME)
    assert other.serials_for({ZONE: "a"}, now=T0 + 5)[ZONE] == first + 101
    store.raise_floor(ZONE, 5)  # lower floors change nothing
    assert store.floors() == {ZONE: first + 100}


def test_floors_compare_in_serial_arithmetic(url: str) -> None:
    """RFC 1982: 4294967000 is before 5 (wrapped); a floor beyond 2^32-1 is refused."""
    store = StateStore(url, SerialFormat.COUNTER)
    store.raise_floor(ZONE, 5)
    store.raise_floor(ZONE, 4_294_967_000)  # older than 5 in serial arithmetic
    assert store.floors() == {ZONE: 5}
    with pytest.raises(ValueError):
        store.raise_floor(ZONE, 2**32)


class Asked:
    """A floor source that records the zones it is asked about."""

    def __init__(self, answers: dict[str, int]) -> None:
        self.answers = answers
        self.asked: list[list[str]] = []

    def __call__(self, zones: Sequence[str]) -> dict[str, int]:
        self.asked.append(list(zones))
        return {z: self.answers[z] for z in zones if z in self.answers}


def test_floor_source_is_asked_once_and_only_for_zones_new_to_the_store(url: str) -> None:
    filled(url)  # example.com and other.org are known; new.net is not
    source = Asked({"new.net": 1000, ZONE: 99})
    store = StateStore(url, SerialFormat.COUNTER, floor_source=source)
    serials = store.serials_for({ZONE: "c", "other.org": "x", "new.net": "n"}, now=T0)
    assert serials == {ZONE: 3, "other.org": 1, "new.net": 1001}
    store.serials_for({ZONE: "d", "new.net": "m"}, now=T0)
    assert source.asked == [["new.net"]]
