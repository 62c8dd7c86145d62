"""Shared fixtures: one throwaway MariaDB per test session, a clean phpIPAM per test.

Server classes live in ``tests/infra`` (importable as ``infra`` because pytest puts
this directory on sys.path for a rootless conftest). A missing binary makes the
fixture error with the Debian package to install; it never skips.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

# The project root first, so `remote_backend`, `validators` and `notifier` resolve to
# the real packages even when pphook is not installed into the venv (and never to a
# same-named directory under tests/).
_ROOT = str(Path(__file__).resolve().parent.parent)
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

from infra.mariadb import MariaDBServer  # noqa: E402
from infra.phpipam_data import PhpipamData  # noqa: E402


@pytest.fixture(scope="session")
def mariadb() -> Iterator[MariaDBServer]:
    """A started MariaDB (about 1 s) with the phpIPAM schema and both accounts.

    ``mariadb.url()`` is the read-only URL to give pphook, ``admin_url()`` the
    writable one. A test that stops the server (``stop_server()``) must start it
    again (``start_server()``) before it ends.
    """
    server = MariaDBServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def phpipam(mariadb: MariaDBServer) -> Iterator[PhpipamData]:
    """Row helpers on an emptied phpIPAM database (ipTags defaults kept, ids from 1).

    Emptying uses TRUNCATE, which waits for metadata locks: a connection still
    holding an open transaction on these tables (e.g. a pphook reader left running
    by a previous test) makes this fixture fail after 10 s instead of hanging.
    """
    if not mariadb.running:  # a previous test simulated an outage and did not undo it
        mariadb.start_server()
    conn = mariadb.connect_admin()
    with conn.cursor() as cur:
        cur.execute("SET SESSION lock_wait_timeout = 10")
    data = PhpipamData(conn)
    data.reset()
    try:
        yield data
    finally:
        data.close()
