"""A 20k-address phpIPAM reaches a BIND secondary complete, through the recommended
deployment (`pphook serve` + pdns `pipe:command=pphook pipe --snapshot-dir DIR,timeout=0`).

pdns 4.7's unix connector cannot carry `list` replies of this size (it re-parses its
buffer per 1500-byte read); this is why the relay exists.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import dns.rdatatype
import dns.zone
import pytest
from infra.dnsclient import axfr, soa_serial, zone_record_set
from infra.mariadb import MariaDBServer
from infra.named import NamedSecondary
from infra.pdns import PdnsServer
from infra.phpipam_data import PhpipamData
from infra.pphook import PphookServe, default_sections, run_pphook

from remote_backend.shared.reader import SharedReader

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ZONES = ("example.com", "10.in-addr.arpa", "8.b.d.0.1.0.0.2.ip6.arpa")


def wait_stored_list(reader: SharedReader, zone: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        view = reader.current()
        if view.stored_list(view.zone_by_name[zone]) is not None:
            return
        assert time.monotonic() < deadline, f"no stored list reply of {zone}"
        time.sleep(0.2)


def test_secondary_transfers_20k_zone(mariadb: MariaDBServer, phpipam: PhpipamData) -> None:
    generated = phpipam.generate(20_000)
    base = Path(tempfile.mkdtemp(prefix="pphook-xfr-"))
    sections = default_sections(mariadb.url(), f"sqlite:///{base}/state.db", base / "pphook.sock")
    serve = PphookServe(sections).start(timeout=120)
    pdns = PdnsServer(serve.pipe_connection(), primary=True, loglevel=4)
    named = NamedSecondary(pdns.port, ZONES)
    pdns.add_also_notify(f"127.0.0.1:{named.port}")
    try:
        pdns.start(wait_zone="example.com")
        named.start()
        reader = SharedReader(serve.snapshot_dir)  # one per process: LMDB's rule
        for zone in ZONES:
            serial = soa_serial(pdns.port, zone)
            assert serial is not None
            named.wait_serial(zone, serial, timeout=120)
            exported = run_pphook(serve.config_path, "export", zone)
            assert exported.returncode == 0, exported.stderr
            expected = zone_record_set(
                dns.zone.from_text(exported.stdout, origin=zone + ".", relativize=False)
            )
            assert zone_record_set(axfr(named.port, zone, timeout=120)) == expected, zone
            # once `serve` has stored the zone's list reply between polls, pdns's AXFR
            # coprocess sends that: the same records
            wait_stored_list(reader, zone)
            assert zone_record_set(axfr(pdns.port, zone, timeout=120)) == expected, zone
            if zone == "example.com":
                # every published A/AAAA plus SOA and 2 NS: nothing lost on the way
                assert len(expected) >= generated.published_a + generated.published_aaaa
                assert len(expected) > 18_000
    finally:
        named.stop()
        pdns.stop()
        serve.cleanup()
