"""The snapshot: what every answer comes from, built once per refresh, never modified."""

from remote_backend.snapshot.assemble import assemble, soa_content
from remote_backend.snapshot.contents import compute_zone_contents
from remote_backend.snapshot.model import Snapshot, Zone, ZoneContent
from remote_backend.snapshot.table import RR, RecordTable, ZoneRecords

__all__ = [
    "RR",
    "RecordTable",
    "Snapshot",
    "Zone",
    "ZoneContent",
    "ZoneRecords",
    "assemble",
    "compute_zone_contents",
    "soa_content",
]
