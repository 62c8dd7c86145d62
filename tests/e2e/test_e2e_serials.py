"""Serials never go back when the state store is lost (issue 14, item 2).

The recommended deployment (`pphook serve`, pdns through the relay, a BIND secondary):
the zone changes a few times, the secondary transfers, then the SQLite state store is
truncated to 0 bytes (disk full, a bad restore, an operator's mistake) and `serve`
restarts. Before, the served serial dropped and the secondary, holding the higher one,
ignored pphook from then on. Now a zone new to the store starts above what the
secondaries hold (``zones.secondaries``).

The counter serial format makes the regression certain: with unix time, serials only
run ahead of the clock when a zone changes several times a second.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from infra.mariadb import MariaDBServer
from infra.named import NamedSecondary
from infra.pdns import PdnsServer
from infra.phpipam_data import PhpipamData
from infra.pphook import (
    PphookServe,
    default_sections,
    pphook_command,
    run_pphook,
    soa_serial_via_socket,
)

pytestmark = pytest.mark.integration

ZONE = "example.com"


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s: {what}")
        time.sleep(0.05)


def test_truncated_state_store_never_serves_a_lower_serial(
    mariadb: MariaDBServer, phpipam: PhpipamData
) -> None:
    subnet = phpipam.add_subnet("10.40.0.0/24", phpipam.add_section("Serials"))
    phpipam.add_address("10.40.0.1", subnet, hostname="first.example.com")
    base = Path(tempfile.mkdtemp(prefix="pphook-serials-"))
    state = base / "state.db"
    sections = default_sections(
        mariadb.url(), f"sqlite:///{state}", base / "pphook.sock", reverse=()
    )
    serve = PphookServe(sections)
    command = " ".join([*pphook_command(), "pipe", "--relay", "--socket", str(serve.socket)])
    pdns = PdnsServer(f"pipe:command={command},timeout=0", primary=True, loglevel=4)
    named = NamedSecondary(pdns.port, [ZONE])
    pdns.add_also_notify(f"127.0.0.1:{named.port}")
    serve.sections["zones"] = {
        **serve.sections["zones"],
        "serial_format": "counter",
        "secondaries": [f"127.0.0.1:{named.port}"],
    }
    try:
        serve.start()
        pdns.start(wait_zone=ZONE)
        named.start()
        named.wait_serial(ZONE, 1)
        for n, host in enumerate(("second", "third"), start=2):
            phpipam.add_address(f"10.40.0.{n}", subnet, hostname=f"{host}.example.com")
            wait_for(
                lambda n=n: soa_serial_via_socket(serve.socket, ZONE) == n,
                15,
                f"serial {n}",
            )
        named.wait_serial(ZONE, 3)

        serve.stop()
        for suffix in ("", "-wal", "-shm"):
            path = Path(f"{state}{suffix}")
            if path.exists():
                path.write_bytes(b"")  # truncated to 0 bytes: an empty store
        serve.start()

        served = soa_serial_via_socket(serve.socket, ZONE)
        assert served is not None and served > 3, (served, serve.log_tail())
        assert "start above the secondaries' serials: example.com > 3" in serve.logs()
        named.wait_serial(ZONE, served)  # the secondary follows again
    finally:
        named.stop()
        pdns.stop()
        serve.cleanup()


def test_check_and_serve_refuse_a_store_that_lost_serials(
    mariadb: MariaDBServer, phpipam: PhpipamData
) -> None:
    """A store whose marker says it handed out more than it holds (rows deleted, a
    partial restore) is refused with what to do, instead of restarting lower."""
    import sqlalchemy as sa

    subnet = phpipam.add_subnet("10.41.0.0/24", phpipam.add_section("Damaged"))
    phpipam.add_address("10.41.0.1", subnet, hostname="host.example.com")
    base = Path(tempfile.mkdtemp(prefix="pphook-damaged-"))
    state = f"sqlite:///{base}/state.db"
    serve = PphookServe(default_sections(mariadb.url(), state, base / "pphook.sock"))
    try:
        serve.start()
        assert soa_serial_via_socket(serve.socket, ZONE)
        serve.stop()
        engine = sa.create_engine(state)
        with engine.begin() as conn:
            conn.exec_driver_sql("DELETE FROM zone_serials WHERE zone = 'example.com'")
        engine.dispose()
        checked = run_pphook(serve.config_path, "check")
        assert checked.returncode == 1
        assert "lost serials it handed out (example.com: its serial is gone" in checked.stderr
        assert "Resetting the state store" in checked.stderr
        assert "Traceback" not in checked.stderr
        assert run_pphook(serve.config_path, "serve", timeout=30).returncode == 1
    finally:
        serve.cleanup()


def test_a_state_store_failure_is_not_called_a_phpipam_outage(tmp_path: Path) -> None:
    """The first build failing in the state store (here: no serial left below 2^32)
    used to be logged as "phpIPAM is unreachable"."""
    import sqlalchemy as sa

    from remote_backend.demo import create_demo_database
    from remote_backend.state import SerialFormat, StateStore

    db = tmp_path / "phpipam.sqlite"
    create_demo_database(str(db))
    state = f"sqlite:///{tmp_path}/state.db"
    StateStore(state, SerialFormat.COUNTER).serials_for({ZONE: "older content"})
    engine = sa.create_engine(state)
    with engine.begin() as conn:
        for table in ("zone_serials", "serial_history", "serial_marks"):
            conn.exec_driver_sql(f"UPDATE {table} SET serial = 4294967295")
    engine.dispose()
    sections = default_sections(
        f"sqlite:///{db}",
        state,
        tmp_path / "pphook.sock",
        reverse=(),
        zones={"serial_format": "counter"},
    )
    serve = PphookServe(sections)
    try:
        serve.start()
        logs = serve.logs()
    finally:
        serve.cleanup()
    assert "the state store failed, so no serials and nothing published" in logs
    assert "exceeds 2^32-1" in logs
    assert "phpIPAM is unreachable" not in logs
