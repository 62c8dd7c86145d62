"""The snapshot: what every answer comes from, built once per refresh, never modified."""

from remote_backend.snapshot.assemble import assemble, soa_content
from remote_backend.snapshot.contents import compute_zone_contents
from remote_backend.snapshot.diff import changed_names
from remote_backend.snapshot.fingerprint import fingerprint
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
    "changed_names",
    "compute_zone_contents",
    "fingerprint",
    "soa_content",
]
