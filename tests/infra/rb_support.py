"""Shared test data for tests/remote_backend: snapshots and an in-memory NotifiedSerials.

Snapshots are built the real way (``compute_zone_contents`` + ``assemble``) from a
hand-made Publication, so the tests see exactly what production builds.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from ipaddress import ip_address, ip_network

from remote_backend.snapshot import Snapshot, assemble, compute_zone_contents
from remote_backend.zones import ZoneSettings
from validators.model import AddressRecord, PtrRecord, Publication

SETTINGS = ZoneSettings(
    forward=("example.com",),
    reverse=(ip_network("10.0.0.0/8"), ip_network("2001:db8::/32")),
    nameservers=("ns1.example.com", "ns2.example.com"),
    hostmaster="hostmaster.example.com",
    ttl=3600,
)

SERIALS = {"example.com": 2024010101, "10.in-addr.arpa": 2024010102, "8.b.d.0.1.0.0.2.ip6.arpa": 7}

# (fqdn, address, ptr?)
HOSTS: tuple[tuple[str, str, bool], ...] = (
    ("ns1.example.com", "10.0.0.1", True),
    ("ns2.example.com", "10.0.0.2", True),
    ("www.example.com", "10.1.1.5", True),
    ("www.example.com", "2001:db8::5", True),
    ("example.com", "10.0.0.10", False),  # A at the apex
    ("deep.sub.example.com", "10.2.0.1", True),  # sub.example.com is an ENT
    ("v6only.example.com", "2001:db8:1::1", True),
)


def make_snapshot(
    hosts: tuple[tuple[str, str, bool], ...] = HOSTS,
    serials: Mapping[str, int] = SERIALS,
    generation: int = 1,
) -> Snapshot:
    records = tuple(
        AddressRecord(fqdn, ip_address(ip), row_id) for row_id, (fqdn, ip, _) in enumerate(hosts, 1)
    )
    ptrs = tuple(
        PtrRecord(ip_address(ip), fqdn, row_id)
        for row_id, (fqdn, ip, ptr) in enumerate(hosts, 1)
        if ptr
    )
    publication = Publication(records=records, ptrs=ptrs, findings=())
    contents = compute_zone_contents(publication, SETTINGS)
    return assemble(contents, serials, SETTINGS, generation=generation)


class MemoryNotified:
    """NotifiedSerials in memory that can fail like a dead state store.

    ``fail`` makes every call raise; ``fail_set`` only makes ``set`` raise.
    """

    def __init__(self, fail: bool = False, fail_set: bool = False) -> None:
        self.serials: dict[str, int] = {}
        self.fail = fail
        self.fail_set = fail_set
        self.calls: list[tuple[str, int]] = []
        self.failed_calls = 0
        self._lock = threading.Lock()

    def get_all(self) -> Mapping[str, int]:
        with self._lock:
            if self.fail:
                self.failed_calls += 1
                raise ConnectionError("state store is down")
            return dict(self.serials)

    def set(self, zone: str, serial: int) -> None:
        with self._lock:
            if self.fail or self.fail_set:
                self.failed_calls += 1
                raise ConnectionError("state store is down")
            self.calls.append((zone, serial))
            self.serials[zone] = serial
