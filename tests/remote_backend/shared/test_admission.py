"""`serve`'s start on the file it finds: validated in a child process, then marked or
refused (moved aside, a new empty file in its place), and what a real coprocess
(`pphook pipe --snapshot-dir`, the process pdns runs) answers meanwhile: the last
good generation, or SERVFAIL, never what was refused."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from pathlib import Path

import lmdb
import pytest
from infra.coprocess import NO_RESULT, Coprocess
from infra.rb_support import HOSTS, SETTINGS, make_snapshot

from remote_backend.build.publisher import Publisher
from remote_backend.shared.admission import open_validated
from remote_backend.shared.layout import (
    EARLIER_FORMATS,
    META_DB,
    META_FORMAT,
    META_GENERATION,
    NAMES_DB,
    key_zone,
    name_key,
)
from remote_backend.shared.packing import unpack
from remote_backend.shared.writer import SharedSnapshot
from remote_backend.state import StateStore

ZONE = "example.com"


def publish(directory: Path, state: str, hosts: tuple[tuple[str, str, bool], ...] = HOSTS) -> int:
    shared = SharedSnapshot(directory)
    try:
        return (
            Publisher(shared, StateStore(state), SETTINGS).publish(make_snapshot(hosts)).generation
        )
    finally:
        shared.close()


def counter(directory: Path) -> int:
    return int.from_bytes((directory / "generation").read_bytes()[:8], "little")


def tamper(directory: Path, *, generation: bool) -> None:
    """Inject a key into a value, as anything but `serve` could; ``generation``: also
    count a new generation (without the mark only `serve` writes)."""
    env = lmdb.open(str(directory), max_dbs=4)
    names, meta = env.open_db(NAMES_DB), env.open_db(META_DB)
    key = name_key(1, "www.example.com")
    with env.begin(write=True) as txn:
        value = txn.get(key, db=names)
        txn.put(key, value.replace(b'"auth":1}', b'"auth":1,"x":1}', 1), db=names)
        if generation:
            txn.put(
                META_GENERATION, str(int(txn.get(META_GENERATION, db=meta)) + 1).encode(), db=meta
            )
    env.close()


@pytest.fixture
def snap(tmp_path: Path) -> Path:
    return tmp_path / "snap"


@pytest.fixture
def state(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path}/state.db"


@pytest.fixture
def coprocess(snap: Path, tmp_path: Path) -> Iterator[Coprocess]:
    co = Coprocess(snap, tmp_path / "coprocess.log")
    yield co
    co.stop()


def test_a_valid_file_is_marked_and_gives_its_serials_as_floors(
    snap: Path, state: str, caplog: pytest.LogCaptureFixture
) -> None:
    generation = publish(snap, state)
    with caplog.at_level(logging.INFO, "pphook.shared"):
        admitted = open_validated(snap)
    try:
        assert admitted.refused is None
        assert [z.name for z in admitted.zones] == [
            ZONE,
            "10.in-addr.arpa",
            "8.b.d.0.1.0.0.2.ip6.arpa",
        ]
        assert admitted.shared.validated() == generation == counter(snap)
        assert "checked before serving it: generation 1, 3 zones, 64 names, valid" in caplog.text
    finally:
        admitted.shared.close()


def test_killed_between_commit_and_announcement(
    snap: Path, state: str, coprocess: Coprocess
) -> None:
    """`serve` killed after its commit, before the counter moved: the restart announces
    the committed generation (durable, and built by `serve`: marked)."""
    publish(snap, state)
    coprocess.start()
    before = coprocess.serial(ZONE)
    shared = SharedSnapshot(snap)
    zones = shared.stored_zones() or ()
    generation = shared._commit(zones, [], [], [], False)  # the step before _announce
    shared.close()
    assert counter(snap) == generation - 1
    admitted = open_validated(snap)
    admitted.shared.close()
    assert counter(snap) == generation
    assert coprocess.serial(ZONE) == before  # the same zones: nothing lost, nothing new


@pytest.mark.parametrize("count_generation", [False, True])
def test_a_crafted_file_is_refused_and_never_served(
    snap: Path,
    state: str,
    coprocess: Coprocess,
    caplog: pytest.LogCaptureFixture,
    count_generation: bool,
) -> None:
    first = publish(snap, state)
    coprocess.start()
    assert coprocess.addresses("www.example.com") == {"10.1.1.5", "2001:db8::5"}
    coprocess.stop()
    tamper(snap, generation=count_generation)
    # a coprocess started on it while `serve` is down: it trusts only a generation
    # `serve` marked (a counted one is not; one changed in place still is, until
    # `serve` starts and checks it)
    coprocess.start()
    www = coprocess.lookup("www.example.com.")
    if count_generation:
        assert www == NO_RESULT
    with caplog.at_level(logging.INFO, "pphook.shared"):
        admitted = open_validated(snap)
    try:
        assert admitted.refused is not None and admitted.zones == ()
        assert "'www.example.com': not records as pphook writes them" in caplog.text
        assert f"moved to {snap}/data.mdb.refused" in caplog.text
        assert "pdns gets SERVFAIL (never this data)" in caplog.text
        assert (snap / "data.mdb.refused").exists()
        assert admitted.shared.stored_zones() is None
        assert counter(snap) > first
        # the running coprocess saw the counter move and opened the new, empty file
        assert coprocess.lookup("www.example.com.") == NO_RESULT
        assert coprocess.serial(ZONE) == NO_RESULT
        assert "not marked validated" in coprocess.logs() or "nothing published" in coprocess.logs()
        # phpIPAM answers: a fresh build, and the same coprocess serves it
        Publisher(admitted.shared, StateStore(state), SETTINGS).publish(make_snapshot())
        assert coprocess.addresses("www.example.com") == {"10.1.1.5", "2001:db8::5"}
    finally:
        admitted.shared.close()


def test_a_truncated_file_neither_kills_a_coprocess_nor_is_served(
    snap: Path, state: str, coprocess: Coprocess, tmp_path: Path
) -> None:
    names = tuple(
        (f"h{i}.example.com", f"10.9.{i // 250}.{i % 250 + 1}", True) for i in range(3000)
    )
    publish(snap, state, (*HOSTS, *names))
    data = snap / "data.mdb"
    # half of the pages used (the file itself is sparse, as long as the map: writemap)
    env = lmdb.open(str(snap), readonly=True, lock=False, max_dbs=4)
    used = (int(env.info()["last_pgno"]) + 1) * int(env.stat()["psize"])
    env.close()
    os.truncate(data, used // 2)
    coprocess.start()  # LMDB would read pages past the end: SIGBUS, were it not checked
    assert coprocess.lookup("h1.example.com.") == NO_RESULT
    assert "truncated" in coprocess.logs()
    admitted = open_validated(snap)
    admitted.shared.close()
    assert admitted.refused is not None and "truncated" in admitted.refused
    assert coprocess.lookup("h1.example.com.") == NO_RESULT
    assert coprocess.proc is not None and coprocess.proc.poll() is None


def test_garbage_is_refused(snap: Path, state: str) -> None:
    publish(snap, state)
    (snap / "data.mdb").write_bytes(os.urandom(1 << 16))
    admitted = open_validated(snap)
    try:
        assert admitted.refused is not None
        assert admitted.refused.startswith(f"{snap}/data.mdb: ")
        assert admitted.shared.is_empty() and admitted.shared.stored_zones() is None
    finally:
        admitted.shared.close()


def test_a_validation_that_does_not_end_is_a_refusal(snap: Path, state: str) -> None:
    publish(snap, state)
    admitted = open_validated(snap, timeout=0.01)
    admitted.shared.close()
    assert admitted.refused is not None and "did not end within 0.01 s" in admitted.refused


def as_earlier_format(directory: Path) -> None:
    """The file as the pphook before packed values wrote it: every value encoded
    whole, format pphook-shared-1."""
    env = lmdb.open(str(directory), max_dbs=4)
    names, meta = env.open_db(NAMES_DB), env.open_db(META_DB)
    with env.begin(write=True) as txn:
        for key, stored in list(txn.cursor(db=names)):
            txn.put(key, unpack(stored, key_zone(key)), db=names)
        txn.put(META_FORMAT, EARLIER_FORMATS[0], db=meta)
    env.close()


def test_a_file_of_an_earlier_version_is_replaced_by_a_fresh_build(
    snap: Path, state: str, coprocess: Coprocess, caplog: pytest.LogCaptureFixture
) -> None:
    first = publish(snap, state)
    as_earlier_format(snap)
    coprocess.start()  # this version serves only its own format: SERVFAIL, never misread
    assert coprocess.lookup("www.example.com.") == NO_RESULT
    with caplog.at_level(logging.INFO, "pphook.shared"):
        admitted = open_validated(snap)
    try:
        assert admitted.refused is not None and admitted.zones == ()
        assert "written by an earlier pphook version (pphook-shared-1)" in caplog.text
        assert "rebuilt in the current format" in caplog.text
        assert "ERROR" not in caplog.text  # an upgrade, not damage
        assert (snap / "data.mdb.refused").exists()
        assert counter(snap) > first
        Publisher(admitted.shared, StateStore(state), SETTINGS).publish(make_snapshot())
        assert coprocess.addresses("www.example.com") == {"10.1.1.5", "2001:db8::5"}
    finally:
        admitted.shared.close()
