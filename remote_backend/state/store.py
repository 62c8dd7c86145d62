"""State store: zone serials (SQLAlchemy; SQLite file or MariaDB).

Serial rules (docs/architecture.md, "Serials"): a zone's serial moves when, and only
when, what it serves changes; it never goes back; nodes sharing one store give the
same serial to the same content. Each zone keeps a short history of (content
fingerprint -> serial) so that a node that lags behind (e.g. reading a MariaDB
replica) serves the serial that content was published with instead of inventing a new
one, while a real revert to older content (delete, then re-add) still gets a new,
higher serial."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url

from remote_backend.errors import StateStoreError

log = logging.getLogger("pphook.state")

HISTORY_PER_ZONE = 50
SERIAL_MAX = 2**32 - 1

metadata = sa.MetaData()

zone_serials = sa.Table(
    "zone_serials",
    metadata,
    sa.Column("zone", sa.String(255), primary_key=True),
    sa.Column("serial", sa.BigInteger, nullable=False),
    sa.Column("fingerprint", sa.String(64), nullable=False),
    sa.Column("changed_at", sa.Float, nullable=False),
)

serial_history = sa.Table(
    "serial_history",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("zone", sa.String(255), nullable=False, index=True),
    sa.Column("fingerprint", sa.String(64), nullable=False),
    sa.Column("serial", sa.BigInteger, nullable=False),
    sa.Column("changed_at", sa.Float, nullable=False),
)


class SerialFormat(StrEnum):
    UNIXTIME = "unixtime"  # seconds since the epoch of the change (default)
    DATE = "date"  # YYYYMMDDnn
    COUNTER = "counter"  # 1, 2, 3, ...


def next_serial(fmt: SerialFormat, previous: int, now: float) -> int:
    """The serial for new content: always greater than ``previous``."""
    if fmt is SerialFormat.UNIXTIME:
        candidate = int(now)
    elif fmt is SerialFormat.DATE:
        candidate = int(datetime.fromtimestamp(now, UTC).strftime("%Y%m%d")) * 100
    else:
        candidate = 1
    serial = max(candidate, previous + 1)
    if serial > SERIAL_MAX:
        # RFC 1982 arithmetic would allow wrapping, but secondaries handle it badly;
        # make the operator decide (e.g. switch format after a manual reset).
        raise StateStoreError(
            f"the next serial ({serial}) exceeds 2^32-1; reset the zone serials in the "
            "state store or choose another zones.serial_format"
        )
    return serial


def make_state_engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(parsed, connect_args={"timeout": 15})

        @sa.event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            # several pphook processes (pipe coprocesses) share one file
            dbapi_conn.execute("PRAGMA journal_mode = WAL")
            dbapi_conn.execute("PRAGMA busy_timeout = 15000")
            dbapi_conn.execute("PRAGMA synchronous = NORMAL")

        return engine
    return sa.create_engine(parsed, pool_pre_ping=True, pool_recycle=3600)


class StateStore:
    """Zone serials; thread-safe; the DB is the shared truth between nodes."""

    def __init__(self, url: str, serial_format: SerialFormat = SerialFormat.UNIXTIME) -> None:
        self.url = url
        self.serial_format = serial_format
        try:
            self.engine = make_state_engine(url)
            metadata.create_all(self.engine)
        except (sa.exc.SQLAlchemyError, OSError) as exc:
            raise StateStoreError(
                f"cannot open the state store {make_url(url).render_as_string()}: {exc} "
                "(check state.url and that the directory is writable by pphook)"
            ) from exc
        self._lock = threading.Lock()
        self._own: dict[str, tuple[str, int]] = {}  # zone -> (fingerprint, serial) we serve

    # -- serials ---------------------------------------------------------------

    def serials_for(
        self, fingerprints: Mapping[str, str], now: float | None = None
    ) -> dict[str, int]:
        """The serial of each zone for the given content fingerprints (allocating new ones)."""
        now = time.time() if now is None else now
        result: dict[str, int] = {}
        with self._lock:
            try:
                with self.engine.begin() as conn:
                    for zone, fingerprint in fingerprints.items():
                        result[zone] = self._serial(conn, zone, fingerprint, now)
            except sa.exc.SQLAlchemyError as exc:
                raise StateStoreError(f"cannot read or write zone serials: {exc}") from exc
            for zone, serial in result.items():
                self._own[zone] = (fingerprints[zone], serial)
        return result

    def _serial(self, conn: sa.Connection, zone: str, fingerprint: str, now: float) -> int:
        own = self._own.get(zone)
        if own is not None and own[0] == fingerprint:
            return own[1]
        # FOR UPDATE: two nodes seeing new content at once must not both allocate
        # (MariaDB locks the row; SQLite serialises writers, the loser retries next tick)
        current = conn.execute(
            sa.select(zone_serials.c.serial, zone_serials.c.fingerprint)
            .where(zone_serials.c.zone == zone)
            .with_for_update()
        ).first()
        if current is not None and current.fingerprint == fingerprint:
            return int(current.serial)
        floor = own[1] if own is not None else -1
        known = conn.execute(
            sa.select(sa.func.max(serial_history.c.serial)).where(
                serial_history.c.zone == zone,
                serial_history.c.fingerprint == fingerprint,
                serial_history.c.serial > floor,
            )
        ).scalar()
        if known is not None:
            # Another node published this content already: serve its serial.
            return int(known)
        highest = conn.execute(
            sa.select(sa.func.max(serial_history.c.serial)).where(serial_history.c.zone == zone)
        ).scalar()
        previous = max(int(highest or 0), int(current.serial) if current else 0, floor)
        serial = next_serial(self.serial_format, previous, now)
        values = {"serial": serial, "fingerprint": fingerprint, "changed_at": now}
        if current is None:
            conn.execute(zone_serials.insert().values(zone=zone, **values))
        else:
            conn.execute(zone_serials.update().where(zone_serials.c.zone == zone).values(**values))
        conn.execute(serial_history.insert().values(zone=zone, **values))
        self._trim_history(conn, zone)
        log.info("zone %s: content changed, serial %s -> %s", zone, previous, serial)
        return serial

    def _trim_history(self, conn: sa.Connection, zone: str) -> None:
        h = serial_history.c
        cutoff = conn.execute(
            sa.select(h.id)
            .where(h.zone == zone)
            .order_by(h.id.desc())
            .offset(HISTORY_PER_ZONE)
            .limit(1)
        ).scalar()
        if cutoff is not None:
            conn.execute(serial_history.delete().where(h.zone == zone, h.id <= cutoff))

    def zone_changed_at(self) -> dict[str, float]:
        """When each zone's content last changed (for `check` and `explain`)."""
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(zone_serials.c.zone, zone_serials.c.changed_at))
            return {str(r.zone): float(r.changed_at) for r in rows}

    def close(self) -> None:
        self.engine.dispose()
