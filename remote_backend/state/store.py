"""State store: zone serials (SQLAlchemy; SQLite file or MariaDB).

Serial rules (docs/architecture.md, "Serials"): a zone's serial moves when, and only
when, what it serves changes; it never goes back; nodes sharing one store give the
same serial to the same content. Each zone keeps a short history of (content
fingerprint -> serial) so that a node that lags behind (e.g. reading a MariaDB
replica) serves the serial that content was published with instead of inventing a new
one, while a real revert to older content (delete, then re-add) still gets a new,
higher serial.

Never going back, even when the store itself is lost or damaged:

- **Floors.** A zone new to this store (a new, emptied or replaced store) starts above
  every serial it may have had: the SOA serials the configured secondaries hold
  (``floor_source``, asked once per zone new to the store) and the floors the caller
  knows (``floors=`` or ``raise_floor``, e.g. the serial in the last snapshot pphook
  persisted outside this store). A zone whose stored serial is below a floor gets a
  new serial above it. Comparisons follow RFC 1982; a serial never wraps (2^32-1 is
  an error, see ``next_serial``).
- **Marker.** ``store_meta`` holds the store's instance id, and ``serial_marks`` the
  highest serial handed out per zone, written in the same transaction as the serial.
  A store whose marker exists but whose serials fell below their marks, or whose rows
  are gone, was damaged (a partial restore, rows deleted): it is refused with
  ``StateStoreDamagedError`` instead of silently restarting lower. A store without a
  marker is new (or written by a pphook before markers existed): it gets one.
  Deliberate reset: docs/operations.md, "Resetting the state store".

Several processes (pdns's pipe coprocesses, several nodes) may open one store at the
same moment, a new one included: table creation tolerates "already exists", write
transactions take SQLite's write lock up front (``BEGIN IMMEDIATE``) or lock rows on
MariaDB (``FOR UPDATE``), and a race lost anyway (a duplicate key, a deadlock) is
retried, so two processes allocating for the same content agree on its serial.
"""

from __future__ import annotations

import logging
import random
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url

from remote_backend.errors import StateStoreDamagedError, StateStoreError
from remote_backend.secondaries.lag import is_older

log = logging.getLogger("pphook.state")

T = TypeVar("T")

HISTORY_PER_ZONE = 50
SERIAL_MAX = 2**32 - 1
RESET_HELP = "docs/operations.md, 'Resetting the state store'"
_ATTEMPTS = 6  # tries of a write transaction that lost a race to another process
_OPEN_ATTEMPTS = 12  # tries of creating the tables (every starting coprocess races)
# MariaDB/MySQL: deadlock, lock wait timeout; table or index created meanwhile
_MYSQL_RACES = frozenset({1213, 1205, 1050, 1061})

# Asked once for the zones new to a store: zone -> serial floor (e.g. the SOA serials
# the secondaries hold, ``state.floors.secondary_floors``).
FloorSource = Callable[[Sequence[str]], Mapping[str, int]]

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

store_meta = sa.Table(
    "store_meta",
    metadata,
    # "instance": a random id given when the store was first used; "created_at"
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", sa.String(255), nullable=False),
)

serial_marks = sa.Table(
    "serial_marks",
    metadata,
    # the highest serial ever handed out per zone, written with it: what the store must
    # still hold (a lower zone_serials row, or none, means it was damaged)
    sa.Column("zone", sa.String(255), primary_key=True),
    sa.Column("serial", sa.BigInteger, nullable=False),
    sa.Column("updated_at", sa.Float, nullable=False),
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
            # a serial is on disk before it is served: NORMAL survives a crash of the
            # process but may lose the last commits to a power loss, FULL syncs the
            # WAL at every commit (a few per change, never per lookup)
            dbapi_conn.execute("PRAGMA synchronous = FULL")

        return engine
    return sa.create_engine(parsed, pool_pre_ping=True, pool_recycle=3600)


def _lost_race(exc: sa.exc.SQLAlchemyError) -> bool:
    """Did another process get there first (so trying again will succeed)?"""
    if isinstance(exc, sa.exc.IntegrityError):
        return True  # a duplicate key: the other process inserted the row
    orig = getattr(exc, "orig", None)
    code = orig.args[0] if orig is not None and orig.args else None
    if isinstance(code, int) and code in _MYSQL_RACES:
        return True
    return "already exists" in str(orig or exc)  # SQLite: table/index created meanwhile


def _sqlite_busy_at_open(exc: sa.exc.SQLAlchemyError) -> bool:
    """SQLite's "database is locked" while processes open a new file together.

    Switching a new file to WAL needs its exclusive lock; when several connections
    hold the shared lock and all want it, SQLite answers some of them SQLITE_BUSY at
    once, without waiting busy_timeout (waiting could deadlock). Opening again is safe:
    the journal mode and ``create_all`` are idempotent. Only the open retries on it: a
    write transaction starts with BEGIN IMMEDIATE, which waits the whole busy_timeout."""
    return isinstance(exc, sa.exc.OperationalError) and "database is locked" in str(exc.orig)


def create_tables(engine: Engine, meta: sa.MetaData = metadata) -> None:
    """``create_all`` that tolerates other processes creating the same tables at the
    same moment (checkfirst alone races: "table zone_serials already exists")."""
    for attempt in range(1, _OPEN_ATTEMPTS + 1):
        try:
            meta.create_all(engine)
            return
        except sa.exc.SQLAlchemyError as exc:
            lost = _lost_race(exc) or _sqlite_busy_at_open(exc)
            if attempt == _OPEN_ATTEMPTS or not lost:
                raise
            time.sleep(random.uniform(0.01, 0.05) * attempt)


def _below(serial: int, floor: int | None) -> bool:
    return floor is not None and is_older(serial, floor)


class StateStore:
    """Zone serials; thread-safe; the DB is the shared truth between nodes.

    ``floors``: zone -> a serial this store must never serve below (the caller's own
    record, e.g. the last persisted snapshot; more with ``raise_floor``).
    ``floor_source``: asked once for the zones that have no serial in this store yet
    (a new or replaced store): their first serial goes above what it returns.
    Raises StateStoreDamagedError when the store lost serials it handed out.
    """

    def __init__(
        self,
        url: str,
        serial_format: SerialFormat = SerialFormat.UNIXTIME,
        *,
        floors: Mapping[str, int] | None = None,
        floor_source: FloorSource | None = None,
    ) -> None:
        self.url = url
        self.serial_format = serial_format
        self._shown = make_url(url).render_as_string()  # password hidden
        try:
            self.engine = make_state_engine(url)
            self._sqlite = self.engine.url.get_backend_name() == "sqlite"
            create_tables(self.engine)
        except (sa.exc.SQLAlchemyError, OSError) as exc:
            raise StateStoreError(
                f"cannot open the state store {self._shown}: {_first_line(exc)} "
                "(check state.url and that the directory is writable by pphook)"
            ) from exc
        self._lock = threading.Lock()
        self._own: dict[str, tuple[str, int]] = {}  # zone -> (fingerprint, serial) we serve
        self._floors: dict[str, int] = {}
        self._floor_source = floor_source
        self._floored: set[str] = set()  # zones whose floor_source was asked already
        for zone, serial in (floors or {}).items():
            self.raise_floor(zone, serial)
        self.instance = self._write(self._open_marker, "check the marker of")

    # -- transactions ----------------------------------------------------------

    @contextmanager
    def _write_transaction(self) -> Iterator[sa.Connection]:
        with self.engine.begin() as conn:
            if self._sqlite:
                # Take the write lock before the first read: a read-then-write
                # transaction of pysqlite only locks at its first write, so two
                # processes could both read "no row" and both insert.
                conn.exec_driver_sql("BEGIN IMMEDIATE")
            yield conn

    def _write(self, fn: Callable[[sa.Connection], T], doing: str) -> T:
        """``fn`` in one write transaction, tried again when it lost a race."""
        for attempt in range(1, _ATTEMPTS + 1):
            try:
                with self._write_transaction() as conn:
                    return fn(conn)
            except sa.exc.SQLAlchemyError as exc:
                if attempt < _ATTEMPTS and _lost_race(exc):
                    time.sleep(random.uniform(0.01, 0.05) * attempt)
                    continue
                raise StateStoreError(
                    f"cannot {doing} the state store {self._shown}: {_first_line(exc)}"
                ) from exc
        raise AssertionError("unreachable")

    # -- the marker ------------------------------------------------------------

    def _open_marker(self, conn: sa.Connection) -> str:
        """The store's instance id; refuses a store that lost serials it handed out."""
        meta = {
            str(k): str(v)
            for k, v in conn.execute(
                sa.select(store_meta.c.key, store_meta.c.value).with_for_update()
            )
        }
        marks = {
            str(z): int(v)
            for z, v in conn.execute(sa.select(serial_marks.c.zone, serial_marks.c.serial))
        }
        held = {
            str(z): int(v)
            for z, v in conn.execute(sa.select(zone_serials.c.zone, zone_serials.c.serial))
        }
        h = serial_history.c
        history = {
            str(z): int(v)
            for z, v in conn.execute(sa.select(h.zone, sa.func.max(h.serial)).group_by(h.zone))
        }
        instance = meta.get("instance")
        if instance is None:
            if marks:
                raise self._damaged(["its marker (table store_meta) is gone"])
            # New, or written by a pphook without markers: mark what it holds.
            instance = uuid.uuid4().hex
            now = time.time()
            conn.execute(
                store_meta.insert(),
                [
                    {"key": "instance", "value": instance},
                    {"key": "created_at", "value": f"{now:.0f}"},
                ],
            )
            # (zones with history but no serial start above their history anyway)
            adopted = {z: max(serial, history.get(z, 0)) for z, serial in held.items()}
            if adopted:
                conn.execute(
                    serial_marks.insert(),
                    [{"zone": z, "serial": v, "updated_at": now} for z, v in adopted.items()],
                )
                log.info("state store %s: marker added (%d zones)", self._shown, len(adopted))
            else:
                log.info("state store %s: new", self._shown)
            return instance
        problems: list[str] = []
        for zone, mark in sorted(marks.items()):
            serial = held.get(zone)
            if serial is None:
                problems.append(f"{zone}: its serial is gone (it had reached {mark})")
            elif is_older(serial, mark):
                problems.append(f"{zone}: serial {serial}, but {mark} was handed out")
            elif zone not in history or is_older(history[zone], mark):
                problems.append(f"{zone}: its serial history lost {mark}")
        if problems:
            raise self._damaged(problems)
        return instance

    def _damaged(self, problems: Sequence[str]) -> StateStoreDamagedError:
        shown = "; ".join(problems[:5]) + (
            f"; {len(problems) - 5} more" if len(problems) > 5 else ""
        )
        return StateStoreDamagedError(
            f"the state store {self._shown} lost serials it handed out ({shown}): serving "
            "from it would send serials back, and secondaries ignore lower serials. Restore "
            f"it from a backup, or reset it deliberately ({RESET_HELP})"
        )

    # -- serials ---------------------------------------------------------------

    def raise_floor(self, zone: str, serial: int) -> None:
        """Never serve ``zone`` below ``serial`` (RFC 1982 order) from now on: a stored
        serial below it is replaced by a new one above it at the next ``serials_for``.
        For what the caller knows and this store may not (a snapshot persisted
        elsewhere); equal is fine, so an intact store keeps its serials."""
        if not 0 <= serial <= SERIAL_MAX:
            raise ValueError(f"serial {serial} is not a 32-bit serial")
        with self._lock:
            floor = self._floors.get(zone)
            if floor is None or is_older(floor, serial):
                self._floors[zone] = serial

    def floors(self) -> dict[str, int]:
        """The floors known so far (for logs and tests)."""
        with self._lock:
            return dict(self._floors)

    def serials_for(
        self, fingerprints: Mapping[str, str], now: float | None = None
    ) -> dict[str, int]:
        """The serial of each zone for the given content fingerprints (allocating new ones)."""
        now = time.time() if now is None else now
        self._ask_floors(fingerprints)

        def allocate(conn: sa.Connection) -> dict[str, int]:
            return {
                zone: self._serial(conn, zone, fingerprint, now)
                for zone, fingerprint in fingerprints.items()
            }

        with self._lock:
            result = self._write(allocate, "read or write zone serials in")
            for zone, serial in result.items():
                self._own[zone] = (fingerprints[zone], serial)
        return result

    def _ask_floors(self, zones: Mapping[str, str]) -> None:
        """Once per zone: if the store holds no serial for it, ask ``floor_source``
        (outside any transaction: the secondaries may take seconds to answer)."""
        fresh = [z for z in zones if z not in self._floored and z not in self._own]
        if not fresh:
            return
        self._floored.update(fresh)
        try:
            with self.engine.connect() as conn:
                known = {
                    str(z)
                    for (z,) in conn.execute(
                        sa.select(zone_serials.c.zone).where(zone_serials.c.zone.in_(fresh))
                    )
                }
        except sa.exc.SQLAlchemyError as exc:
            raise StateStoreError(
                f"cannot read zone serials in the state store {self._shown}: {_first_line(exc)}"
            ) from exc
        new = [z for z in fresh if z not in known]
        if not new:
            return
        if self._floor_source is None:
            log.info(
                "zones new to the state store, first serials from the clock: %s", ", ".join(new)
            )
            return
        floors = self._floor_source(new)
        for zone, serial in floors.items():
            self.raise_floor(zone, serial)
        unanswered = [z for z in new if z not in floors]
        if floors:
            log.info(
                "zones new to the state store start above the secondaries' serials: %s",
                ", ".join(f"{z} > {s}" for z, s in sorted(floors.items())),
            )
        if unanswered:
            log.warning(
                "zones new to the state store, and no secondary answered for them: %s; if "
                "this store replaces a lost one, secondaries holding higher serials ignore "
                "pphook's until they are passed (pphook check shows them)",
                ", ".join(unanswered),
            )

    def _serial(self, conn: sa.Connection, zone: str, fingerprint: str, now: float) -> int:
        own = self._own.get(zone)
        floor = self._floors.get(zone)
        if own is not None and own[0] == fingerprint and not _below(own[1], floor):
            return own[1]
        # FOR UPDATE: two nodes seeing new content at once must not both allocate
        # (MariaDB locks the row; SQLite's BEGIN IMMEDIATE serialises writers)
        current = conn.execute(
            sa.select(zone_serials.c.serial, zone_serials.c.fingerprint)
            .where(zone_serials.c.zone == zone)
            .with_for_update()
        ).first()
        mark = conn.execute(
            sa.select(serial_marks.c.serial).where(serial_marks.c.zone == zone).with_for_update()
        ).scalar()
        if mark is not None and (current is None or is_older(int(current.serial), int(mark))):
            held = "no serial" if current is None else f"serial {current.serial}"
            raise self._damaged([f"{zone}: {held}, but {mark} was handed out"])
        if (
            current is not None
            and current.fingerprint == fingerprint
            and not _below(int(current.serial), floor)
        ):
            return int(current.serial)
        served = own[1] if own is not None else -1
        known = conn.execute(
            sa.select(sa.func.max(serial_history.c.serial)).where(
                serial_history.c.zone == zone,
                serial_history.c.fingerprint == fingerprint,
                serial_history.c.serial > served,
            )
        ).scalar()
        if known is not None and not _below(int(known), floor):
            # Another node published this content already: serve its serial.
            return int(known)
        highest = conn.execute(
            sa.select(sa.func.max(serial_history.c.serial)).where(serial_history.c.zone == zone)
        ).scalar()
        previous = max(int(highest or 0), int(current.serial) if current else 0, served)
        if floor is not None and not is_older(floor, previous):
            previous = floor  # a secondary or a snapshot holds more than this store
        serial = next_serial(self.serial_format, previous, now)
        values = {"serial": serial, "fingerprint": fingerprint, "changed_at": now}
        if current is None:
            conn.execute(zone_serials.insert().values(zone=zone, **values))
        else:
            conn.execute(zone_serials.update().where(zone_serials.c.zone == zone).values(**values))
        conn.execute(serial_history.insert().values(zone=zone, **values))
        if mark is None:
            conn.execute(serial_marks.insert().values(zone=zone, serial=serial, updated_at=now))
        else:
            conn.execute(
                serial_marks.update()
                .where(serial_marks.c.zone == zone)
                .values(serial=serial, updated_at=now)
            )
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


def _first_line(exc: BaseException) -> str:
    return str(getattr(exc, "orig", None) or exc).splitlines()[0]
