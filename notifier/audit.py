"""The audit log: an append-only SHA-256 hash chain in the state store.

Entry ``n`` stores ``hash = SHA-256(canonical JSON of {seq, at, kind, data, prev})``
where ``prev`` is entry ``n-1``'s hash (64 zeros for the first). Editing an entry
breaks its hash; deleting one leaves a gap in ``seq``; reordering changes the seq an
entry's hash was computed with; deleting the newest entries disagrees with the head
row. Someone able to rewrite the whole store can rebuild a consistent chain: compare
the head hash with a copy kept elsewhere (every mail carries the head at send time).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from notifier import tables as t
from notifier.canonical import canonical_json, sha256_hex

GENESIS = "0" * 64

# detected: a problem appeared; reopened: a fixed problem came back before its
# "resolved" mail went out; resolved: a problem went away; mail: the SMTP server
# accepted a mail; mail_failed: a send failed (the problems stay pending).
KINDS = ("detected", "reopened", "resolved", "mail", "mail_failed")


@dataclass(frozen=True, slots=True)
class AuditEntry:
    seq: int
    at: str
    kind: str
    data: str  # canonical JSON as stored
    prev_hash: str
    hash: str


@dataclass(frozen=True, slots=True)
class Verdict:
    """Result of ``verify``: ``first_bad`` is None when the chain is intact."""

    entries: int
    head_seq: int
    head_hash: str
    first_bad: int | None = None
    problem: str = ""

    @property
    def ok(self) -> bool:
        return self.first_bad is None


def iso_utc(when: float) -> str:
    """Fixed-width UTC timestamps, so string order is time order (``--since``)."""
    return datetime.fromtimestamp(when, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def entry_hash(seq: int, at: str, kind: str, data: Any, prev: str) -> str:
    return sha256_hex(
        canonical_json({"seq": seq, "at": at, "kind": kind, "data": data, "prev": prev})
    )


def append(
    conn: sa.Connection, entries: Sequence[tuple[str, Mapping[str, Any]]], now: float
) -> int:
    """Append ``(kind, data)`` entries inside the caller's transaction; the new head seq
    (0 when there was nothing to append).

    The head row is touched first so the transaction holds the write lock (SQLite) or
    the row lock (MariaDB) before the head is read: two writers cannot both take the
    same next seq. A writer that still collides (first entry ever) gets an
    IntegrityError and its whole transaction rolls back.
    """
    if not entries:
        return 0
    head_c = t.audit_head.c
    conn.execute(t.audit_head.update().where(head_c.id == 1).values(seq=head_c.seq))
    head = conn.execute(sa.select(head_c.seq, head_c.hash).where(head_c.id == 1)).first()
    seq, prev = (int(head.seq), str(head.hash)) if head is not None else (0, GENESIS)
    at = iso_utc(now)
    rows = []
    for kind, data in entries:
        if kind not in KINDS:
            raise ValueError(f"unknown audit kind {kind!r}")
        seq += 1
        text = canonical_json(data)
        digest = entry_hash(seq, at, kind, json.loads(text), prev)
        rows.append(
            {"seq": seq, "at": at, "kind": kind, "data": text, "prev_hash": prev, "hash": digest}
        )
        prev = digest
    conn.execute(t.audit_entries.insert(), rows)
    if head is None:
        conn.execute(t.audit_head.insert().values(id=1, seq=seq, hash=prev))
    else:
        conn.execute(t.audit_head.update().where(head_c.id == 1).values(seq=seq, hash=prev))
    return seq


def head(conn: sa.Connection) -> tuple[int, str] | None:
    row = conn.execute(
        sa.select(t.audit_head.c.seq, t.audit_head.c.hash).where(t.audit_head.c.id == 1)
    ).first()
    return None if row is None else (int(row.seq), str(row.hash))


def verify(conn: sa.Connection) -> Verdict:
    """Recompute the chain from the first entry; stop at the first bad one."""
    c = t.audit_entries.c
    expected_seq, prev, count = 1, GENESIS, 0
    rows = conn.execution_options(stream_results=True, yield_per=1000).execute(
        sa.select(c.seq, c.at, c.kind, c.data, c.prev_hash, c.hash).order_by(c.seq)
    )
    for row in rows:
        seq = int(row.seq)
        bad = _check_entry(row, seq, expected_seq, prev)
        if bad is not None:
            return Verdict(count, expected_seq - 1, prev, bad[0], bad[1])
        count += 1
        prev = str(row.hash)
        expected_seq = seq + 1
    last = expected_seq - 1
    recorded = head(conn)
    if recorded is None:
        if count:
            return Verdict(count, last, prev, last, "the head record is missing (deleted?)")
        return Verdict(0, 0, GENESIS)
    head_seq, head_hash = recorded
    if head_seq > last:
        return Verdict(
            count,
            last,
            prev,
            last + 1,
            f"entries #{last + 1} to #{head_seq} are missing: the newest entries were deleted",
        )
    if head_seq < last:
        return Verdict(
            count,
            last,
            prev,
            head_seq + 1,
            f"entries after #{head_seq} were added outside pphook (the head records #{head_seq})",
        )
    if head_hash != prev:
        return Verdict(
            count, last, prev, last, f"entry #{last} does not match the recorded head (rewritten)"
        )
    return Verdict(count, last, prev)


def _check_entry(row: Any, seq: int, expected: int, prev: str) -> tuple[int, str] | None:
    if seq != expected:
        missing = f"#{expected}" if seq == expected + 1 else f"#{expected} to #{seq - 1}"
        return expected, f"entry {missing} is missing (deleted, or entries were renumbered)"
    if row.prev_hash != prev:
        return seq, (
            f"entry #{seq} does not chain to entry #{seq - 1} (that entry was changed, "
            "or entries were removed or reordered)"
        )
    try:
        data = json.loads(row.data)
    except (TypeError, ValueError):
        return seq, f"entry #{seq} holds data that is not JSON (edited)"
    if canonical_json(data) != row.data:
        return seq, f"entry #{seq} holds data that pphook did not write (edited)"
    if entry_hash(seq, str(row.at), str(row.kind), data, prev) != row.hash:
        return seq, f"entry #{seq} was changed after it was written (hash mismatch)"
    return None


def entries(
    conn: sa.Connection, kind: str | None = None, since: float | None = None
) -> Iterator[AuditEntry]:
    c = t.audit_entries.c
    query = sa.select(c.seq, c.at, c.kind, c.data, c.prev_hash, c.hash).order_by(c.seq)
    if kind is not None:
        query = query.where(c.kind == kind)
    if since is not None:
        query = query.where(c.at >= iso_utc(since))
    for row in conn.execution_options(stream_results=True, yield_per=1000).execute(query):
        yield AuditEntry(
            int(row.seq),
            str(row.at),
            str(row.kind),
            str(row.data),
            str(row.prev_hash),
            str(row.hash),
        )
