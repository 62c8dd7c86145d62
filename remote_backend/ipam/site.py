"""phpIPAM's own settings that change how pphook shows things (read-only).

``settings.prettyLinks`` ("Yes"/"No", phpIPAM's default "No") decides the form of
phpIPAM's URLs: ``/subnets/3/8/address-details/17/`` or
``index.php?page=subnets&section=3&subnetId=8&sPage=address-details&ipaddrid=17``.
A link of the other form does not open the page on that install.
"""

from __future__ import annotations

import logging

import sqlalchemy as sa

from remote_backend.ipam import tables as t
from remote_backend.ipam.reader import IpamReader

log = logging.getLogger("pphook.ipam")


def pretty_links(reader: IpamReader) -> bool:
    """Whether phpIPAM uses pretty URLs (``settings.prettyLinks = 'Yes'``).

    A database that cannot say (no settings row, a column an install lacks, a read
    error) gets phpIPAM's default, "No", with a warning: a link is worth less than
    the mail it sits in.
    """
    s = t.settings.c
    query = sa.select(s.prettyLinks).order_by(s.id).limit(1)
    try:
        with reader.engine.connect() as conn:
            value = conn.execute(query).scalar()
    except sa.exc.SQLAlchemyError as exc:
        log.warning(
            "%s; links use phpIPAM's default form (prettyLinks = No)",
            reader.fail(exc, "read settings.prettyLinks of"),
        )
        return False
    return str(value or "").strip().lower() == "yes"
