"""Several processes using one new state store at the same moment (issue 14, item 3).

Eight pdns pipe coprocesses starting together on a new store used to fail: "table
zone_serials already exists" (exit 1), "UNIQUE constraint failed: zone_serials.zone"
(SERVFAIL, logged as "phpIPAM is unreachable"). These tests start real processes
together (a barrier file) on SQLite and on MariaDB.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

from infra.mariadb import MariaDBServer

from remote_backend.state import StateStore

PROCESSES = 8
ROUNDS = 2
T0 = 1_800_000_000.0

# Each process imports what it needs, says it is ready, waits for the barrier file,
# then opens the store and allocates: all of them within a millisecond or two.
_CHILD = """
import json, os, sys, time
barrier, url, now = sys.argv[1], sys.argv[2], float(sys.argv[3])
from remote_backend.state import StateStore
open(barrier + ".ready." + str(os.getpid()), "w").close()
while not os.path.exists(barrier):
    time.sleep(0.001)
store = StateStore(url)
serials = store.serials_for({"example.com": "fp-a", "10.in-addr.arpa": "fp-b"}, now=now)
print(json.dumps(serials))
"""


def run_together(url: str, barrier: Path) -> list[subprocess.CompletedProcess[str]]:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[3])}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _CHILD, str(barrier), url, repr(T0)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for _ in range(PROCESSES)
    ]
    deadline = time.monotonic() + 60
    while len(list(barrier.parent.glob(barrier.name + ".ready.*"))) < PROCESSES:
        assert time.monotonic() < deadline, "the children did not get ready"
        assert all(p.poll() is None for p in procs), "a child died before the barrier"
        time.sleep(0.01)
    barrier.touch()
    done = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        done.append(subprocess.CompletedProcess(proc.args, proc.returncode, out, err))
    return done


def assert_all_agree(done: list[subprocess.CompletedProcess[str]]) -> None:
    failed = [d.stderr.strip().splitlines()[-1:] for d in done if d.returncode != 0]
    assert not failed, failed
    answers = {d.stdout.strip() for d in done}
    assert len(answers) == 1, answers
    serials = json.loads(answers.pop())
    assert serials == {"example.com": int(T0), "10.in-addr.arpa": int(T0)}


def test_new_sqlite_store_opened_by_eight_processes_at_once(tmp_path: Path) -> None:
    for n in range(ROUNDS):
        url = f"sqlite:///{tmp_path}/state-{n}.db"
        assert_all_agree(run_together(url, tmp_path / f"go-{n}"))


def test_new_mariadb_store_opened_by_eight_processes_at_once(
    tmp_path: Path, mariadb: MariaDBServer
) -> None:
    for n in range(ROUNDS):
        url = mariadb.create_database(f"pphook_state_{uuid.uuid4().hex[:8]}")
        assert_all_agree(run_together(url, tmp_path / f"go-{n}"))


def test_new_sqlite_store_opens_while_another_process_holds_its_write_lock(
    tmp_path: Path,
) -> None:
    """Switching a new file to WAL while another connection holds the write lock: SQLite
    answers "database is locked" at once, without waiting busy_timeout (seen with eight
    coprocesses starting together on Debian 13). The open tries again and succeeds once
    the lock is released."""
    path = tmp_path / "state.db"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # a new, rollback-journal file: its write lock
    holder.execute("CREATE TABLE other_process (x)")
    opened: list[StateStore] = []
    failed: list[BaseException] = []

    def open_store() -> None:
        try:
            opened.append(StateStore(f"sqlite:///{path}"))
        except BaseException as exc:  # the test reports it
            failed.append(exc)

    opener = threading.Thread(target=open_store)
    opener.start()
    time.sleep(0.3)  # the opener meets the held lock
    holder.execute("COMMIT")
    holder.close()
    opener.join(timeout=30)
    assert not failed, failed
    assert opened
    serials = opened[0].serials_for({"example.com": "fp-a"}, now=T0)
    assert serials == {"example.com": int(T0)}
