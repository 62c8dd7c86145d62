"""pdns's coprocesses answer the lookups: `serve`'s metrics count their requests too
(``shared/stats.py``), and the counters never go down when coprocesses come and go."""

from __future__ import annotations

import json
import os
import time
import urllib.request
from pathlib import Path

from infra.coprocess import Coprocess
from infra.ports import free_port
from infra.pphook import PphookServe, default_sections
from prometheus_client.parser import text_string_to_metric_families

from remote_backend.demo import create_demo_database
from remote_backend.shared.stats import WRITE_EVERY, StatsTotals, stats_dir


def lookups_counted(port: int) -> float:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        text = response.read().decode()
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "pphook_requests_total" and sample.labels == {"method": "lookup"}:
                return float(sample.value)
    return 0.0


def ask(coprocess: Coprocess, times: int) -> None:
    for i in range(times):
        coprocess.lookup(f"host{i % 3}.example.com.", "A")


def test_serve_metrics_count_the_coprocesses_lookups(tmp_path: Path) -> None:
    db = tmp_path / "phpipam.sqlite"
    create_demo_database(str(db))
    port = free_port()
    serve = PphookServe(
        default_sections(
            f"sqlite:///{db}",
            f"sqlite:///{tmp_path}/state.db",
            tmp_path / "pphook.sock",
            server={"metrics": f"127.0.0.1:{port}"},
        )
    ).start()
    first = Coprocess(serve.snapshot_dir, tmp_path / "first.log").start()
    second = None
    try:
        before = lookups_counted(port)
        ask(first, 30)
        time.sleep(WRITE_EVERY + 0.2)
        ask(first, 1)  # the request after WRITE_EVERY writes the counters
        assert lookups_counted(port) >= before + 31
        assert first.proc is not None
        first.proc.kill()  # as pdns SIGKILLs a coprocess it is done with
        first.proc.wait(5)
        after_exit = lookups_counted(port)
        assert after_exit >= before + 31  # a counter never goes down
        second = Coprocess(serve.snapshot_dir, tmp_path / "second.log").start()
        ask(second, 5)
        time.sleep(WRITE_EVERY + 0.2)
        ask(second, 1)
        assert lookups_counted(port) >= after_exit + 6
    finally:
        for coprocess in (first, second):
            if coprocess is not None and coprocess.proc is not None:
                coprocess.proc.kill()
                coprocess.proc.wait(5)
        serve.cleanup()


def write(directory: Path, pid: int, body: object) -> None:
    path = stats_dir(directory) / f"{pid}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(body if isinstance(body, str) else json.dumps(body))


def counters(lookups: int, errors: int = 0) -> dict[str, object]:
    return {"requests": {"lookup": lookups}, "errors": errors, "latency": {}}


def test_totals_keep_what_finished_coprocesses_counted(tmp_path: Path) -> None:
    totals = StatsTotals(tmp_path)
    me = os.getpid()  # alive
    gone = 2**22 + 12345  # above pid_max's default: no such process
    write(tmp_path, me, counters(10))
    write(tmp_path, gone, counters(7, errors=1))
    first = totals.read()
    assert first.requests == {"lookup": 17} and first.errors == 1
    assert not (stats_dir(tmp_path) / f"{gone}.json").exists()  # retired, its file removed
    write(tmp_path, me, counters(3))  # counts went down: the pid was reused
    assert totals.read().requests == {"lookup": 20}
    write(tmp_path, me, counters(4))
    assert totals.read().requests == {"lookup": 21}


def test_files_that_are_not_counters_are_ignored(tmp_path: Path) -> None:
    totals = StatsTotals(tmp_path)
    me = os.getpid()
    for body in (
        "not json",
        "[1, 2]",
        {"requests": {"lookup": -5}, "errors": 0, "latency": {}},
        {"requests": {"lookup": True}, "errors": 0, "latency": {}},
        {"requests": {"lookup": 1}, "errors": "x", "latency": {}},
        {"requests": {"lookup": 1}, "errors": 0, "latency": {"lookup": ["a"]}},
        "x" * 100_000,
    ):
        write(tmp_path, me, body)
        assert totals.read().requests == {}, body
    write(tmp_path, me, counters(2))
    (stats_dir(tmp_path) / "notapid.json").write_text(json.dumps(counters(50)))
    assert totals.read().requests == {"lookup": 2}
