"""PowerDNS's native gmysql backend on the test MariaDB.

A second database in the same throwaway MariaDB server holds Debian's gmysql schema
(package pdns-backend-mysql); zones are loaded as rows the way pdnsutil or phpIPAM's
PowerDNS module writes them (names without the trailing dot, one row per record);
``gmysql_pdns`` configures a ``PdnsServer`` to serve them. The benchmark's anchor
(bench/gmysql.py) and `pphook compare`'s tests ("the DNS server the operator runs
today") both use it.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from .mariadb import ADMIN_USER, MariaDBServer
from .pdns import PdnsServer
from .procs import MissingBinaryError

PACKAGES = "pdns-backend-mysql"
SCHEMA_CANDIDATES = (
    Path("/usr/share/pdns-backend-mysql/schema/schema.mysql.sql"),
    Path("/usr/share/doc/pdns-backend-mysql/schema.mysql.sql"),
)

Record = tuple[str, str, str, int]  # owner, type, content (pdns form), ttl


def schema_path() -> Path:
    for path in SCHEMA_CANDIDATES:
        if path.exists():
            return path
    raise MissingBinaryError(f"gmysql schema not found: apt-get install {PACKAGES}")


def create_schema(db: MariaDBServer, database: str) -> None:
    """(Re)create ``database`` holding the empty gmysql tables."""
    conn = db.connect_admin(database=None)
    try:
        with conn.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS `{database}`")
            cur.execute(f"CREATE DATABASE `{database}`")
            cur.execute(f"USE `{database}`")
            for statement in schema_path().read_text().split(";"):
                if statement.strip():
                    cur.execute(statement)
    finally:
        conn.close()


def settings(db: MariaDBServer, database: str) -> dict[str, str | int]:
    """pdns.conf lines for gmysql (``launch=gmysql`` replaces ``launch=remote``)."""
    return {
        "launch": "gmysql",
        "gmysql-host": "127.0.0.1",
        "gmysql-port": db.port,
        "gmysql-user": ADMIN_USER,
        "gmysql-password": db.admin_password,
        "gmysql-dbname": database,
        "gmysql-dnssec": "no",
    }


def load_zone(db: MariaDBServer, database: str, zone: str, records: Iterable[Record]) -> int:
    """Add ``zone`` (NATIVE) and its records; returns the domain id."""
    conn = db.connect_admin(database=database)
    try:
        with conn.cursor() as cur:
            cur.execute("INSERT INTO domains (name, type) VALUES (%s, 'NATIVE')", (zone,))
            domain_id = int(cur.lastrowid)
            cur.executemany(
                "INSERT INTO records (domain_id, name, type, content, ttl, prio, disabled, auth) "
                "VALUES (%s, %s, %s, %s, %s, 0, 0, 1)",
                [(domain_id, o.lower().rstrip("."), t, c, ttl) for o, t, c, ttl in records],
            )
    finally:
        conn.close()
    return domain_id


def execute(db: MariaDBServer, database: str, sql: str, params: Any = None) -> int:
    """One statement on the gmysql database (what an operator's tooling would do)."""
    conn = db.connect_admin(database=database)
    try:
        with conn.cursor() as cur:
            return int(cur.execute(sql, params))
    finally:
        conn.close()


def gmysql_pdns(db: MariaDBServer, database: str, **pdns_options: Any) -> PdnsServer:
    """A PdnsServer (not started) serving ``database`` with gmysql."""
    pdns = PdnsServer("unused", **pdns_options)
    del pdns.settings["remote-connection-string"]
    pdns.settings.update(settings(db, database))
    return pdns
