"""Read phpIPAM rows into validator input, read-only, in one consistent transaction.

Text columns that may hold hostile data (hostname, mac, ip_addr, description) are
fetched as bytes and decoded here with replacement characters: invalid UTF-8 stored
by a lax SQL mode must become a rejected hostname, never a crashed read.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url

from remote_backend.config import IpamSettings, redact_url
from remote_backend.errors import IpamError
from remote_backend.ipam import tables as t
from validators.model import AddressRow, IpamData, SubnetRow

log = logging.getLogger("pphook.ipam")


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


def _text(value: bytes | str | None) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return value.decode("utf-8", errors="replace")


def _as_bytes(column: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
    return sa.cast(column, sa.LargeBinary)


def _int(value: Any) -> int | None:
    if value is None:
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


@dataclass(frozen=True, slots=True)
class ChangeToken:
    """A cheap summary of the watched tables; when it differs, something changed."""

    value: tuple[Any, ...]
    # a change committed in the same second as the last read may not move the
    # second-granular UPDATE_TIME again: such a token asks for one more reload
    settle: bool = False


@dataclass(frozen=True, slots=True)
class ChangeInfo:
    """Who last changed a phpIPAM address, when the changelog knows it."""

    row_id: int
    action: str
    user: str | None
    email: str | None
    date: datetime | None


@dataclass(frozen=True, slots=True)
class PhpipamUser:
    username: str
    real_name: str | None
    email: str | None


class IpamReader:
    """Everything pphook reads from phpIPAM, each call in one read-only transaction."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.backend = engine.url.get_backend_name()
        self.database = engine.url.database
        self._last_read_started: float | None = None

    def describe(self) -> str:
        return redact_url(self.engine.url.render_as_string(hide_password=True))

    def _fail(self, exc: Exception, doing: str) -> IpamError:
        detail = str(getattr(exc, "orig", None) or exc).splitlines()[0]
        return IpamError(
            f"cannot {doing} the phpIPAM database at {self.describe()}: {detail} "
            "(check ipam.url, ipam.password_file, that the server runs and that the "
            "account has SELECT on the phpIPAM tables)"
        )

    def read(self) -> IpamData:
        """All addresses, subnets, sections and tags, from one consistent read."""
        started = time.time()
        try:
            with self.engine.connect() as conn:
                subnets = self._subnets(conn)
                sections = {
                    int(r.id): str(r.name)
                    for r in conn.execute(sa.select(t.sections.c.id, t.sections.c.name))
                    if r.id is not None
                }
                tags = {
                    int(r.id): str(r.type)
                    for r in conn.execute(sa.select(t.ip_tags.c.id, t.ip_tags.c.type))
                }
                addresses = self._addresses(conn)
        except sa.exc.SQLAlchemyError as exc:
            raise self._fail(exc, "read") from exc
        self._last_read_started = started
        return IpamData(addresses=addresses, subnets=subnets, sections=sections, tags=tags)

    def _subnets(self, conn: sa.Connection) -> dict[int, SubnetRow]:
        c = t.subnets.c
        query = sa.select(
            c.id, c.subnet, c.mask, c.sectionId, c.isFolder, c.DNSrecursive, c.vrfId, c.description
        )
        result: dict[int, SubnetRow] = {}
        for r in conn.execute(query):
            result[int(r.id)] = SubnetRow(
                id=int(r.id),
                subnet=None if r.subnet is None else str(r.subnet),
                mask=None if r.mask is None else str(r.mask),
                section_id=_int(r.sectionId),
                is_folder=bool(r.isFolder),
                dns_recursive=bool(r.DNSrecursive),
                vrf_id=_int(r.vrfId),
                description=None if r.description is None else str(r.description),
            )
        return result

    def _addresses(self, conn: sa.Connection) -> tuple[AddressRow, ...]:
        c = t.ipaddresses.c
        query = sa.select(
            c.id,
            c.subnetId,
            _as_bytes(c.ip_addr),
            _as_bytes(c.hostname),
            _as_bytes(c.mac),
            c.state,
            c.PTRignore,
            c.editDate,
            _as_bytes(c.description),
        ).order_by(c.id)
        rows = conn.execute(query).all()
        return tuple(
            AddressRow(
                id=int(rid),
                subnet_id=_int(subnet_id),
                ip_addr=_text(ip),
                hostname=_text(host),
                mac=_text(mac),
                state=_int(state),
                ptr_ignore=bool(ptr_ignore),
                edit_date=edit if isinstance(edit, datetime) else None,
                description=_text(descr),
            )
            for rid, subnet_id, ip, host, mac, state, ptr_ignore, edit, descr in rows
        )

    def change_token(self) -> ChangeToken:
        """A cheap probe of the watched tables (one indexed query, no table scan).

        MariaDB keeps ``information_schema.TABLES.UPDATE_TIME`` for InnoDB in memory
        (second resolution); together with row counts of the small tables and the
        highest address id it moves on every insert, edit and delete. SQLite (the
        demo) uses the file's modification time.
        """
        try:
            if self.backend == "sqlite":
                return self._sqlite_token()
            with self.engine.connect() as conn:
                rows = conn.execute(
                    sa.text(
                        "SELECT TABLE_NAME, UPDATE_TIME, UNIX_TIMESTAMP(NOW()) "
                        "FROM information_schema.TABLES "
                        "WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME IN "
                        "('ipaddresses', 'subnets', 'sections', 'ipTags')"
                    )
                ).all()
                max_id = conn.execute(sa.select(sa.func.max(t.ipaddresses.c.id))).scalar()
        except sa.exc.SQLAlchemyError as exc:
            raise self._fail(exc, "probe") from exc
        times = tuple(sorted((str(r[0]), r[1]) for r in rows))
        newest = max((r[1] for r in rows if r[1] is not None), default=None)
        settle = False
        if newest is not None and self._last_read_started is not None:
            # UPDATE_TIME has one-second resolution: a change in the second our last
            # read started may be hidden behind an equal value; reread once more.
            settle = newest.timestamp() >= int(self._last_read_started) - 1
        return ChangeToken(value=(times, max_id), settle=settle)

    def _sqlite_token(self) -> ChangeToken:
        path = self.database or ""
        parts: list[Any] = []
        for suffix in ("", "-wal"):
            try:
                st = os.stat(path + suffix)
                parts.append((st.st_mtime_ns, st.st_size))
            except OSError:
                parts.append(None)
        return ChangeToken(value=tuple(parts))

    def last_changes(self, row_ids: Iterable[int]) -> Mapping[int, ChangeInfo]:
        """The latest changelog entry per address id (the actor may be unknown)."""
        ids = sorted(set(row_ids))
        if not ids:
            return {}
        c, u = t.changelog.c, t.users.c
        result: dict[int, ChangeInfo] = {}
        try:
            with self.engine.connect() as conn:
                for start in range(0, len(ids), 500):
                    chunk = ids[start : start + 500]
                    query = (
                        sa.select(
                            c.coid, c.caction, c.cdate, c.cid, u.username, u.real_name, u.email
                        )
                        .select_from(t.changelog.outerjoin(t.users, u.id == c.cuser))
                        .where(c.ctype == "ip_addr", c.coid.in_(chunk))
                        .order_by(c.coid, c.cid)
                    )
                    for r in conn.execute(query):
                        result[int(r.coid)] = ChangeInfo(
                            row_id=int(r.coid),
                            action=str(r.caction),
                            user=r.real_name or r.username,
                            email=r.email,
                            date=r.cdate if isinstance(r.cdate, datetime) else None,
                        )
        except sa.exc.SQLAlchemyError as exc:
            raise self._fail(exc, "read the changelog of") from exc
        return result

    def notify_admins(self) -> list[PhpipamUser]:
        """phpIPAM users with role Administrator and mailNotify = Yes (not disabled)."""
        u = t.users.c
        query = sa.select(u.username, u.real_name, u.email, u.disabled).where(
            u.role == "Administrator", u.mailNotify == "Yes"
        )
        try:
            with self.engine.connect() as conn:
                rows = conn.execute(query).all()
        except sa.exc.SQLAlchemyError as exc:
            raise self._fail(exc, "read the users of") from exc
        return [
            PhpipamUser(str(r.username), r.real_name, r.email)
            for r in rows
            if r.email and r.disabled != "Yes"
        ]

    def ping(self) -> float:
        """Round-trip time of a trivial query, in seconds."""
        start = time.perf_counter()
        try:
            with self.engine.connect() as conn:
                conn.execute(sa.text("SELECT 1"))
        except sa.exc.SQLAlchemyError as exc:
            raise self._fail(exc, "connect to") from exc
        return time.perf_counter() - start
