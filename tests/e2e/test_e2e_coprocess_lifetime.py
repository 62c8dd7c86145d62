"""pdns's coprocesses end with pdns: none is left behind holding an LMDB reader slot.

After a run with pdns 4.9, coprocesses of the transfer tests were found alive long
after their pdns had stopped: pdns hands its coprocesses pipe ends of its own beyond
stdin and stdout (``connectors/lifetime.py``). This test stops a real pdns with three
distributor threads, politely and with SIGKILL, and waits for every coprocess to end.
It passes on this machine's pdns without the fix too (the leak needs a race); the
tests of ``tests/remote_backend/connectors/test_connector_lifetime.py`` pin the two
mechanisms and fail without them.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import dns.rcode
import pytest
from infra.dnsclient import query
from infra.mariadb import MariaDBServer
from infra.pdns import PdnsServer
from infra.phpipam_data import PhpipamData
from infra.pphook import PphookServe, default_sections

pytestmark = pytest.mark.integration

ZONE = "example.com"


def children_of(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[1]) == pid:
            found.append(int(entry.name))
    return found


def running(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


@pytest.fixture
def serve(mariadb: MariaDBServer, phpipam: PhpipamData, tmp_path: Path) -> Iterator[PphookServe]:
    subnet = phpipam.add_subnet("10.54.0.0/24", phpipam.add_section("Lifetime"))
    for i in range(1, 9):
        phpipam.add_address(f"10.54.0.{i}", subnet, hostname=f"h{i}.{ZONE}")
    sections = default_sections(
        mariadb.url(), f"sqlite:///{tmp_path}/state.db", tmp_path / "pphook.sock", reverse=()
    )
    served = PphookServe(sections)
    served.start()
    yield served
    served.cleanup()


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGKILL])
def test_every_coprocess_stops_when_pdns_stops(serve: PphookServe, stop_signal: int) -> None:
    pdns = PdnsServer(
        serve.pipe_connection(), extra_settings={"distributor-threads": 3}, loglevel=4
    )
    pdns.start(wait_zone=ZONE)
    coprocesses: list[int] = []
    try:
        assert pdns.proc is not None
        # enough parallel work for pdns to start a coprocess per distributor thread
        for i in range(1, 9):
            assert query(pdns.port, f"h{i}.{ZONE}", "A").rcode() == dns.rcode.NOERROR
        coprocesses = children_of(pdns.proc.pid)
        assert len(coprocesses) >= 2, "pdns started fewer coprocesses than the test needs"
        os.kill(pdns.proc.pid, stop_signal)
        pdns.proc.wait(timeout=15)
        deadline = time.monotonic() + 5
        while any(running(p) for p in coprocesses) and time.monotonic() < deadline:
            time.sleep(0.05)
        left = [p for p in coprocesses if running(p)]
        assert not left, f"coprocesses still running 5 s after pdns stopped: {left}"
    finally:
        for pid in coprocesses:
            if running(pid):
                os.kill(pid, signal.SIGKILL)
        pdns.stop()
