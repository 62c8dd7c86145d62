"""The phpIPAM columns pphook reads, declared by name.

Only the columns we use are declared: custom fields (``custom_*``) and the column
order of upgraded installs do not matter, because every SELECT names its columns.
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

ipaddresses = sa.Table(
    "ipaddresses",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("subnetId", sa.Integer),
    sa.Column("ip_addr", sa.String(100)),
    sa.Column("hostname", sa.String(255)),
    sa.Column("mac", sa.String(20)),
    sa.Column("state", sa.Integer),
    sa.Column("PTRignore", sa.Integer),
    sa.Column("editDate", sa.DateTime),
    sa.Column("description", sa.String(64)),
)

subnets = sa.Table(
    "subnets",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("subnet", sa.String(255)),
    sa.Column("mask", sa.String(3)),
    sa.Column("sectionId", sa.Integer),
    sa.Column("isFolder", sa.Integer),
    sa.Column("DNSrecursive", sa.Integer),
    sa.Column("vrfId", sa.Integer),
    sa.Column("description", sa.Text),
)

vrf = sa.Table(
    "vrf",
    metadata,
    sa.Column("vrfId", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(32)),
)

sections = sa.Table(
    "sections",
    metadata,
    sa.Column("id", sa.Integer),
    sa.Column("name", sa.String(128), primary_key=True),
)

ip_tags = sa.Table(
    "ipTags",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("type", sa.String(32)),
)

changelog = sa.Table(
    "changelog",
    metadata,
    sa.Column("cid", sa.Integer, primary_key=True),
    sa.Column("ctype", sa.String(16)),
    sa.Column("coid", sa.Integer),
    sa.Column("cuser", sa.Integer),
    sa.Column("caction", sa.String(16)),
    sa.Column("cdate", sa.DateTime),
)

users = sa.Table(
    "users",
    metadata,
    sa.Column("id", sa.Integer),
    sa.Column("username", sa.String(255), primary_key=True),
    sa.Column("real_name", sa.String(128)),
    sa.Column("email", sa.String(254)),
    sa.Column("role", sa.Text),
    sa.Column("mailNotify", sa.String(3)),
    sa.Column("disabled", sa.String(3)),
)

# phpIPAM's own settings (one row); only what changes how pphook shows things
settings = sa.Table(
    "settings",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("prettyLinks", sa.String(3)),  # "Yes" | "No" (default): the form of its URLs
)

# Tables whose changes can change what DNS serves.
WATCHED_TABLES = ("ipaddresses", "subnets", "sections", "ipTags")
