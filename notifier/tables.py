"""The notifier's tables in the state store (own MetaData; created on open).

They live beside the backend's serial tables (``state.url``) so several nodes sharing
one MariaDB state store also share what was reported, the audit chain and the lease.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import mysql

metadata = sa.MetaData()

# MariaDB's TEXT stops at 64 KiB; a digest's audit entry can list many keys.
_LONG_TEXT = sa.Text().with_variant(mysql.MEDIUMTEXT(), "mysql", "mariadb")

# One row per problem not yet fixed, and per fixed problem whose "resolved" mail is
# still due. reported_at NULL = detected, not mailed yet (SMTP down, rate limit).
problems = sa.Table(
    "notifier_problems",
    metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("code", sa.String(32), nullable=False),
    sa.Column("row_id", sa.Integer, nullable=False),
    sa.Column("details", _LONG_TEXT, nullable=False),  # Problem.to_json() at detection
    sa.Column("detected_at", sa.Float, nullable=False),
    sa.Column("reported_at", sa.Float, nullable=True),
    sa.Column("resolved_at", sa.Float, nullable=True),
)

# Every mail accepted by the SMTP server: the rate limit counts the last hour.
mail_log = sa.Table(
    "notifier_mail_log",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("sent_at", sa.Float, nullable=False, index=True),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("message_id", sa.String(255), nullable=False),
)

# The hash chain. ``seq`` is assigned by pphook (1, 2, 3...), never by the database,
# and is part of the hash so deleted or reordered entries show.
audit_entries = sa.Table(
    "notifier_audit",
    metadata,
    sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("at", sa.String(32), nullable=False, index=True),  # ISO 8601 UTC
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("data", _LONG_TEXT, nullable=False),  # canonical JSON
    sa.Column("prev_hash", sa.String(64), nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
)

# The last entry (seq, hash): without it, deleting the newest entries would leave a
# chain that still verifies.
audit_head = sa.Table(
    "notifier_audit_head",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),  # always 1
    sa.Column("seq", sa.BigInteger, nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
)

# One pass at a time across processes and nodes (daemon, `report`, other nodes).
lease = sa.Table(
    "notifier_lease",
    metadata,
    sa.Column("name", sa.String(32), primary_key=True),
    sa.Column("holder", sa.String(255), nullable=False),
    sa.Column("expires_at", sa.Float, nullable=False),
)

# Since when each watched secondary has not served pphook's serial of a zone (rows
# disappear when it catches up). Own MetaData: a state store written by an older
# pphook lacks it, and a read-only open (dry run, audit) must still find the tables
# above ready.
lag_metadata = sa.MetaData()

secondary_lag = sa.Table(
    "notifier_secondary_lag",
    lag_metadata,
    sa.Column("secondary", sa.String(64), primary_key=True),
    sa.Column("zone", sa.String(255), primary_key=True),
    sa.Column("since", sa.Float, nullable=False),
    sa.Column("theirs", sa.BigInteger, nullable=True),  # NULL: no answer
    sa.Column("ours", sa.BigInteger, nullable=False),
    sa.Column("error", sa.String(64), nullable=True),
    sa.Column("checked_at", sa.Float, nullable=False),
)
