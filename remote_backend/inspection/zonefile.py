"""Render a served zone as a BIND master file: exactly what AXFR sends."""

from __future__ import annotations

import dns.name
import dns.rdataclass
import dns.zone

from remote_backend.records import record_type
from remote_backend.snapshot import Snapshot, Zone


def served_zone(snapshot: Snapshot, zone: Zone) -> dns.zone.Zone:
    """The zone as dnspython holds it (absolute names): what AXFR sends, as data."""
    origin = dns.name.from_text(zone.name)
    result = dns.zone.Zone(origin, relativize=False)
    for owner, qtype, content in snapshot.zone_records(zone):
        kind = record_type(qtype)
        if not kind.in_zone_files:
            continue
        rdata = kind.rdata(content)
        node = result.find_node(dns.name.from_text(owner), create=True)
        rdataset = node.find_rdataset(dns.rdataclass.IN, rdata.rdtype, create=True)
        # each RRset with its own TTL, as `list` sends it (static records keep theirs)
        rdataset.add(rdata, snapshot.ttl_for(owner, qtype))
    return result


def zone_to_text(snapshot: Snapshot, zone: Zone) -> str:
    """The zone as master-file text (absolute names, canonical order, $ORIGIN line)."""
    text = served_zone(snapshot, zone).to_text(sorted=True, relativize=False, want_origin=True)
    return text if isinstance(text, str) else text.decode()
