"""The read-only SQLAlchemy engine for phpIPAM (MariaDB/MySQL, or SQLite for the demo)."""

from __future__ import annotations

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
