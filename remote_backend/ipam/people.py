"""Who is behind phpIPAM rows: the changelog's last author of an address, and the
administrators phpIPAM itself mails (role Administrator, mailNotify = Yes).

Read-only queries the notifier and `explain` use; nothing here sends mail.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from remote_backend.ipam import tables as t
from remote_backend.ipam.reader import IpamReader


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


def change_authors(reader: IpamReader, row_ids: Iterable[int]) -> Mapping[int, ChangeInfo]:
    """The latest changelog entry per address id (the actor may be unknown)."""
    ids = sorted(set(row_ids))
    if not ids:
        return {}
    c, u = t.changelog.c, t.users.c
    result: dict[int, ChangeInfo] = {}
    try:
        with reader.engine.connect() as conn:
            for start in range(0, len(ids), 500):
                chunk = ids[start : start + 500]
                query = (
                    sa.select(c.coid, c.caction, c.cdate, c.cid, u.username, u.real_name, u.email)
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
        raise reader.fail(exc, "read the changelog of") from exc
    return result


def mail_notify_admins(reader: IpamReader) -> list[PhpipamUser]:
    """phpIPAM users with role Administrator and mailNotify = Yes (not disabled)."""
    u = t.users.c
    query = sa.select(u.username, u.real_name, u.email, u.disabled).where(
        u.role == "Administrator", u.mailNotify == "Yes"
    )
    try:
        with reader.engine.connect() as conn:
            rows = conn.execute(query).all()
    except sa.exc.SQLAlchemyError as exc:
        raise reader.fail(exc, "read the users of") from exc
    return [
        PhpipamUser(str(r.username), r.real_name, r.email)
        for r in rows
        if r.email and r.disabled != "Yes"
    ]
