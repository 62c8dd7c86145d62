"""phpIPAM's VRFs by id (``vrf`` table, read-only): `explain` shows each row's VRF.

A subnet's ``vrfId`` names its VRF (0 or NULL: none). VRFs do not scope what DNS
publishes (one reverse tree), but the same address in two VRFs is two rows an
operator tells apart by their VRF.
"""

from __future__ import annotations

import logging

import sqlalchemy as sa

from remote_backend.ipam import tables as t
from remote_backend.ipam.reader import IpamReader

log = logging.getLogger("pphook.ipam")


def vrf_names(reader: IpamReader) -> dict[int, str]:
    """VRF id -> name; empty (with a warning) when the table cannot be read: a VRF name
    is worth less than the rest of what `explain` says."""
    c = t.vrf.c
    try:
        with reader.engine.connect() as conn:
            rows = conn.execute(sa.select(c.vrfId, c.name)).all()
    except sa.exc.SQLAlchemyError as exc:
        log.warning("%s; VRFs are shown by id", reader.fail(exc, "read the VRFs of"))
        return {}
    return {int(r.vrfId): str(r.name or "") for r in rows if r.vrfId is not None}
