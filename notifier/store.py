"""The notifier's part of the state store: reported problems, mail log, lease, audit.

Every change that is audited is written in the same transaction as its audit
entries, so the chain and the problem table cannot disagree after a crash.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import make_url

from notifier import audit
from notifier import tables as t
from notifier.diff import Changes, StoredProblem
from notifier.lag import LagRow
from notifier.problems import Problem
from remote_backend.errors import StateStoreError
from remote_backend.secondaries.lag import Pair
from remote_backend.state.store import make_state_engine, serial_history, zone_serials

log = logging.getLogger("pphook.notifier")

T = TypeVar("T")

_LEASE = "pass"
MAIL_LOG_KEEP = 7 * 86400  # rows older than this are pruned (the limit looks at 1 h)
_WRITE_ATTEMPTS = 3


class NotifierStore:
    """Opens the notifier tables in ``state.url``.

    ``create=False`` (dry runs, `audit`) never writes: missing tables read as empty.
    """

    def __init__(self, url: str, *, create: bool = True) -> None:
        self.url = url
        try:
            self.engine = make_state_engine(url)
            if create:
                t.metadata.create_all(self.engine)
                t.lag_metadata.create_all(self.engine)
                self.ready = self.lag_ready = True
            else:
                names = set(sa.inspect(self.engine).get_table_names())
                self.ready = all(table.name in names for table in t.metadata.sorted_tables)
                self.lag_ready = t.secondary_lag.name in names
        except (sa.exc.SQLAlchemyError, OSError) as exc:
            raise StateStoreError(
                f"cannot open the state store {make_url(url).render_as_string()}: {exc} "
                "(check state.url and that the directory is writable by pphook)"
            ) from exc

    def close(self) -> None:
        self.engine.dispose()

    # -- helpers -------------------------------------------------------------------

    def _read(self, fn: Callable[[sa.Connection], T], empty: T) -> T:
        if not self.ready:
            return empty
        try:
            with self.engine.connect() as conn:
                return fn(conn)
        except sa.exc.SQLAlchemyError as exc:
            raise StateStoreError(f"cannot read the notifier state: {exc}") from exc

    def _write(self, fn: Callable[[sa.Connection], T]) -> T:
        for attempt in range(1, _WRITE_ATTEMPTS + 1):
            try:
                with self.engine.begin() as conn:
                    return fn(conn)
            except sa.exc.IntegrityError:
                # another process appended to the audit chain at the same moment
                if attempt == _WRITE_ATTEMPTS:
                    raise StateStoreError(
                        "cannot append to the audit log: another process keeps writing "
                        "it (is a second notifier running without the shared lease?)"
                    ) from None
                time.sleep(0.05 * attempt)
            except sa.exc.SQLAlchemyError as exc:
                raise StateStoreError(f"cannot write the notifier state: {exc}") from exc
        raise AssertionError("unreachable")

    # -- problems ------------------------------------------------------------------

    def load(self) -> dict[str, StoredProblem]:
        def fn(conn: sa.Connection) -> dict[str, StoredProblem]:
            c = t.problems.c
            result = {}
            for row in conn.execute(
                sa.select(c.key, c.details, c.detected_at, c.reported_at, c.resolved_at)
            ):
                problem = Problem.from_json(json.loads(row.details))
                result[str(row.key)] = StoredProblem(
                    problem, float(row.detected_at), row.reported_at, row.resolved_at
                )
            return result

        return self._read(fn, {})

    def apply(self, changes: Changes, *, resolved_mails: bool, now: float) -> None:
        """Record detections, reopenings and resolutions, with their audit entries."""
        if not changes.touches_store:
            return  # the common pass: no write at all

        def fn(conn: sa.Connection) -> None:
            c = t.problems.c
            entries: list[tuple[str, Mapping[str, Any]]] = []
            if changes.new:
                conn.execute(
                    t.problems.insert(),
                    [
                        {
                            "key": p.key,
                            "code": p.code.value,
                            "row_id": p.row_id,
                            "details": json.dumps(p.to_json(), ensure_ascii=True),
                            "detected_at": now,
                            "reported_at": None,
                            "resolved_at": None,
                        }
                        for p in changes.new
                    ],
                )
                entries += [("detected", _summary(p)) for p in changes.new]
            for s in changes.reopened:
                conn.execute(t.problems.update().where(c.key == s.key).values(resolved_at=None))
                entries.append(("reopened", _summary(s.problem)))
            for s in changes.resolved:
                mailed = s.reported_at is not None
                if mailed and resolved_mails:
                    conn.execute(t.problems.update().where(c.key == s.key).values(resolved_at=now))
                else:
                    conn.execute(t.problems.delete().where(c.key == s.key))
                entries.append(("resolved", {**_summary(s.problem), "was_mailed": mailed}))
            for s in changes.dropped:
                # resolved mails were switched off: nothing will ever send this one
                conn.execute(t.problems.delete().where(c.key == s.key))
            audit.append(conn, entries, now)

        self._write(fn)

    def mark_sent(
        self,
        *,
        problems: Sequence[Problem],
        resolved_keys: Sequence[str],
        kind: str,
        message_id: str,
        audit_data: Mapping[str, Any],
        now: float,
    ) -> None:
        """The SMTP server accepted a mail: its problems are reported, for good."""

        def fn(conn: sa.Connection) -> None:
            c = t.problems.c
            for p in problems:
                conn.execute(
                    t.problems.update()
                    .where(c.key == p.key)
                    .values(reported_at=now, details=json.dumps(p.to_json(), ensure_ascii=True))
                )
            if resolved_keys:
                conn.execute(
                    t.problems.delete().where(c.key.in_(resolved_keys), c.resolved_at.is_not(None))
                )
            conn.execute(t.mail_log.insert().values(sent_at=now, kind=kind, message_id=message_id))
            conn.execute(t.mail_log.delete().where(t.mail_log.c.sent_at < now - MAIL_LOG_KEEP))
            audit.append(conn, [("mail", audit_data)], now)

        self._write(fn)

    def record_failure(self, audit_data: Mapping[str, Any], now: float) -> None:
        self._write(lambda conn: audit.append(conn, [("mail_failed", audit_data)], now))

    def mails_sent_since(self, since: float) -> int:
        def fn(conn: sa.Connection) -> int:
            query = sa.select(sa.func.count()).where(t.mail_log.c.sent_at > since)
            return int(conn.execute(query).scalar() or 0)

        return self._read(fn, 0)

    # -- secondaries ------------------------------------------------------------------

    def load_lag(self) -> dict[Pair, LagRow]:
        """The (secondary, zone) pairs behind at the last pass, with since when."""

        def fn(conn: sa.Connection) -> dict[Pair, LagRow]:
            c = t.secondary_lag.c
            rows = conn.execute(
                sa.select(c.secondary, c.zone, c.since, c.theirs, c.ours, c.error, c.checked_at)
            )
            result = {}
            for r in rows:
                theirs = None if r.theirs is None else int(r.theirs)
                row = LagRow(
                    str(r.secondary),
                    str(r.zone),
                    float(r.since),
                    theirs,
                    int(r.ours),
                    r.error,
                    float(r.checked_at),
                )
                result[row.pair] = row
            return result

        return self._read(fn, {}) if self.lag_ready else {}

    def save_lag(self, rows: Mapping[Pair, LagRow], forget: Iterable[Pair]) -> None:
        """Replace the pairs in ``rows`` and delete those in ``forget`` (caught up, or
        no longer watched), in one transaction."""
        gone = set(forget) | set(rows)
        if not gone:
            return

        def fn(conn: sa.Connection) -> None:
            c = t.secondary_lag.c
            for secondary, zone in gone:
                conn.execute(
                    t.secondary_lag.delete().where(c.secondary == secondary, c.zone == zone)
                )
            if rows:
                conn.execute(
                    t.secondary_lag.insert(),
                    [
                        {
                            "secondary": r.secondary,
                            "zone": r.zone,
                            "since": r.since,
                            "theirs": r.theirs,
                            "ours": r.ours,
                            "error": None if r.error is None else r.error[:64],
                            "checked_at": r.checked_at,
                        }
                        for r in rows.values()
                    ],
                )

        self._write(fn)

    def served_serials(self) -> tuple[dict[str, int], list[tuple[str, int, float]]]:
        """The serial `pphook serve` serves per zone, and when each recent serial was
        first served (the backend's ``zone_serials`` and ``serial_history``, shared
        through ``state.url``). Empty while no backend has used this store."""

        def fn(conn: sa.Connection) -> tuple[dict[str, int], list[tuple[str, int, float]]]:
            inspector = sa.inspect(conn)
            if not inspector.has_table(zone_serials.name):
                return {}, []
            z = zone_serials.c
            current = {
                str(r.zone): int(r.serial) for r in conn.execute(sa.select(z.zone, z.serial))
            }
            history: list[tuple[str, int, float]] = []
            if inspector.has_table(serial_history.name):
                h = serial_history.c
                rows = conn.execute(sa.select(h.zone, h.serial, h.changed_at))
                history = [(str(r.zone), int(r.serial), float(r.changed_at)) for r in rows]
            return current, history

        empty: tuple[dict[str, int], list[tuple[str, int, float]]] = ({}, [])
        return self._read(fn, empty)

    # -- lease: one pass at a time ----------------------------------------------------

    def acquire_lease(self, holder: str, ttl: float, now: float) -> str | None:
        """Take (or extend) the pass lease; None on success, else the current holder."""

        def fn(conn: sa.Connection) -> str | None:
            c = t.lease.c
            # one conditional UPDATE: atomic on SQLite and MariaDB alike
            taken = conn.execute(
                t.lease.update()
                .where(c.name == _LEASE, sa.or_(c.expires_at < now, c.holder == holder))
                .values(holder=holder, expires_at=now + ttl)
            ).rowcount
            if taken:
                return None
            current = conn.execute(sa.select(c.holder).where(c.name == _LEASE)).scalar()
            if current is not None:
                return str(current)
            conn.execute(t.lease.insert().values(name=_LEASE, holder=holder, expires_at=now + ttl))
            return None

        # two first-ever passes inserting the row at once: the loser's retry sees it
        return self._write(fn)

    def release_lease(self, holder: str) -> None:
        c = t.lease.c
        self._write(
            lambda conn: conn.execute(
                t.lease.update().where(c.name == _LEASE, c.holder == holder).values(expires_at=0)
            )
        )

    # -- audit ----------------------------------------------------------------------

    def audit_head(self) -> tuple[int, str] | None:
        return self._read(audit.head, None)

    def verify_audit(self) -> audit.Verdict:
        return self._read(audit.verify, audit.Verdict(0, 0, audit.GENESIS))

    def audit_entries(
        self, kind: str | None = None, since: float | None = None
    ) -> Iterator[audit.AuditEntry]:
        if not self.ready:
            return
        try:
            with self.engine.connect() as conn:
                yield from audit.entries(conn, kind, since)
        except sa.exc.SQLAlchemyError as exc:
            raise StateStoreError(f"cannot read the audit log: {exc}") from exc


def _summary(p: Problem) -> dict[str, Any]:
    return {"key": p.key, "code": p.code.value, "row_id": p.row_id, "identity": dict(p.identity)}


def open_store(url: str, *, dry_run: bool = False) -> NotifierStore:
    """The store for a pass; a dry run against a state file that does not exist yet
    uses an empty in-memory store instead of creating the file."""
    if dry_run:
        parsed = make_url(url)
        database = parsed.database
        if (
            parsed.get_backend_name() == "sqlite"
            and database not in (None, "", ":memory:")
            and not Path(database).exists()
        ):
            return NotifierStore("sqlite://", create=True)
        return NotifierStore(url, create=False)
    return NotifierStore(url)
