"""A coprocess never waits for `serve` (issue 12 item 5: pdns's `timeout=0` waits for
it forever): while `serve` holds the snapshot's write lock, and while a writer holds
the notified serials' write lock, a real `pphook pipe --snapshot-dir` coprocess
still answers every question pdns asks while answering queries."""

from __future__ import annotations

import time
from pathlib import Path

import lmdb
from infra.coprocess import Coprocess
from infra.rb_support import SETTINGS, make_snapshot

from remote_backend.build.publisher import Publisher
from remote_backend.shared.writer import SharedSnapshot
from remote_backend.state import StateStore


def test_answers_while_writers_hold_their_locks(tmp_path: Path) -> None:
    shared = SharedSnapshot(tmp_path / "snap")
    Publisher(shared, StateStore(f"sqlite:///{tmp_path}/state.db"), SETTINGS).publish(
        make_snapshot()
    )
    coprocess = Coprocess(shared.directory, tmp_path / "coprocess.log")
    opening = Coprocess(shared.directory, tmp_path / "opening.log")
    notified = lmdb.open(str(shared.directory / "notified"), max_dbs=1)
    try:
        coprocess.start()
        with shared.env.begin(write=True), notified.begin(write=True):
            started = time.monotonic()
            opening.start()  # opens the environment while the write lock is held
            assert opening.addresses("www.example.com") == {"10.1.1.5", "2001:db8::5"}
            assert coprocess.addresses("www.example.com") == {"10.1.1.5", "2001:db8::5"}
            assert coprocess.lookup("nx.example.com.") is False
            assert len(coprocess.ask("getAllDomains", {}, timeout=2)) == 3
            assert len(coprocess.ask("getUpdatedMasters", {}, timeout=2)) == 3
            zone = {"zonename": "example.com.", "domain_id": 1}
            assert len(coprocess.ask("list", zone, timeout=2)) == 10
            assert time.monotonic() - started < 5  # a process start included
    finally:
        coprocess.stop()
        opening.stop()
        notified.close()
        shared.close()
