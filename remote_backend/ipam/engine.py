"""The read-only SQLAlchemy engine for phpIPAM (MariaDB/MySQL, or SQLite for the demo)."""

from __future__ import annotations

import os
import sqlite3
import urllib.parse
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url

from remote_backend.config import IpamSettings


def make_engine(settings: IpamSettings, password: str | None = None) -> Engine:
    """An engine that can only read: read-only sessions on MariaDB, query_only on SQLite."""
    url = make_url(settings.url)
    if password is not None and url.get_backend_name() != "sqlite":  # SQLite has no password
        url = url.set(password=password)
    if url.get_backend_name() == "sqlite":
        database = url.database or ""
        if database and database != ":memory:" and not database.startswith("file:"):
            # Opened as a read-only URI: a plain sqlite3.connect() creates a missing
            # file, and pphook then read an empty phpIPAM and called it reachable.
            engine = sa.create_engine(
                url,
                poolclass=sa.pool.NullPool,
                creator=lambda: _sqlite_read_only_connection(database),
            )
        else:
            engine = sa.create_engine(url, poolclass=sa.pool.NullPool)

        @sa.event.listens_for(engine, "connect")
        def _sqlite_read_only(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.execute("PRAGMA query_only = ON")

        return engine
    connect_args: dict[str, Any] = {}
    if url.get_backend_name() == "mysql":
        timeout = max(1, int(settings.connect_timeout))
        connect_args = {
            "connect_timeout": timeout,
            "read_timeout": max(30, timeout),
            "charset": "utf8mb4",
        }
    engine = sa.create_engine(
        url,
        pool_pre_ping=True,
        pool_recycle=3600,
        pool_size=2,
        max_overflow=2,
        connect_args=connect_args,
    )
    if url.get_backend_name() == "mysql":

        @sa.event.listens_for(engine, "connect")
        def _mysql_read_only(dbapi_conn: Any, _record: Any) -> None:
            with dbapi_conn.cursor() as cur:
                # pphook never writes to phpIPAM: make the session refuse writes too.
                cur.execute("SET SESSION TRANSACTION READ ONLY")

    return engine


def _sqlite_read_only_connection(path: str) -> sqlite3.Connection:
    """A connection to an existing SQLite phpIPAM (``mode=ro``: never creates it)."""
    if not os.path.exists(path):
        # sqlite's own message would be "unable to open database file"
        raise sqlite3.OperationalError(
            f"{os.path.abspath(path)} does not exist (pphook opens SQLite read-only and "
            "never creates it)"
        )
    uri = "file:" + urllib.parse.quote(os.path.abspath(path)) + "?mode=ro"
    return sqlite3.connect(uri, uri=True, check_same_thread=False)
