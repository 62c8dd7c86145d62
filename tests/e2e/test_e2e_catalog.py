"""A BIND secondary follows pphook's catalog zone (RFC 9432; issue 13, item 4).

The recommended deployment (`pphook serve`, pdns through `pipe --snapshot-dir`) with
`zones.catalog`, and a named whose named.conf names no member zone at all: only the
catalog, under `catalog-zones`. The operator then adds a zone to pphook.toml and
restarts serve, and later removes it: named serves the new zone, then drops it, without
an edit of named.conf. pdns learns of a changed zone list by `pdns_control rediscover`
(docs/operations.md), as it must for any zone change.
"""

from __future__ import annotations

import shutil
import tempfile
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

import dns.rcode
import pytest
from infra.dnsclient import query, soa_serial
from infra.mariadb import MariaDBServer
from infra.named import NamedSecondary
from infra.pdns import PdnsServer
from infra.phpipam_data import PhpipamData
from infra.ports import free_port
from infra.pphook import PphookServe, default_sections
from infra.procs import keep_files_default

pytestmark = pytest.mark.integration

CATALOG = "catalog.invalid"


def wait_for(
    condition: Callable[[], bool], timeout: float, what: str, log: Callable[[], str]
) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s: {what}; named log:\n{log()}")
        time.sleep(0.1)


def answer(port: int, name: str, rdtype: str) -> tuple[int, set[str]]:
    """(rcode, the answer's rdata) of an authoritative answer; (-1, empty) for no answer."""
    try:
        response = query(port, name, rdtype, timeout=1.0)
    except Exception:  # a timeout while named loads a zone: ask again
        return -1, set()
    found = {rdata.to_text() for rrset in response.answer for rdata in rrset}
    return response.rcode(), found


def test_secondary_follows_the_catalog(mariadb: MariaDBServer, phpipam: PhpipamData) -> None:
    section = phpipam.add_section("Catalog")
    subnet = phpipam.add_subnet("10.60.0.0/24", section)
    phpipam.add_address("10.60.0.1", subnet, hostname="web.example.com")
    phpipam.add_address("10.60.0.2", subnet, hostname="host.example.org")
    base = Path(tempfile.mkdtemp(prefix="pphook-catalog-"))
    metrics_port = free_port()
    sections = default_sections(
        mariadb.url(),
        f"sqlite:///{base}/state.db",
        base / "pphook.sock",
        # an RFC 2317 child zone too: a member name with "/" in it
        reverse=("10.0.0.0/8", "192.0.2.64/26"),
        zones={"catalog": CATALOG},
        server={"metrics": f"127.0.0.1:{metrics_port}"},
    )
    serve = PphookServe(sections)
    pdns = PdnsServer(serve.pipe_connection(), primary=True, loglevel=4)
    named = NamedSecondary(pdns.port, (), catalog=CATALOG)
    pdns.add_also_notify(f"127.0.0.1:{named.port}")

    def restart_serve_with(forward: list[str]) -> None:
        serve.stop()
        serve.sections["zones"] = {**serve.sections["zones"], "forward": forward}
        serve.start()
        assert pdns.pdns_control("rediscover").returncode == 0  # pdns re-reads the zone list

    try:
        serve.start()
        pdns.start(wait_zone="example.com")
        named.start()
        started = time.monotonic()
        # (a) every member zone, though named.conf names none of them
        wait_for(
            lambda: (
                answer(named.port, "web.example.com", "A") == (dns.rcode.NOERROR, {"10.60.0.1"})
            ),
            20,
            "named serves the forward member zone",
            named.log_tail,
        )
        wait_for(
            lambda: (
                answer(named.port, "1.0.60.10.in-addr.arpa", "PTR")
                == (dns.rcode.NOERROR, {"web.example.com."})
            ),
            20,
            "named serves the reverse member zone",
            named.log_tail,
        )
        classless = "64/26.2.0.192.in-addr.arpa"
        wait_for(
            lambda: soa_serial(named.port, classless) == soa_serial(pdns.port, classless),
            10,
            "named serves the classless member zone",
            named.log_tail,
        )
        assert answer(named.port, "host.example.org", "A")[0] == dns.rcode.REFUSED
        # the catalog itself: transferred, and in the metrics with the other zones
        serial = soa_serial(pdns.port, CATALOG)
        assert serial is not None
        named.wait_serial(CATALOG, serial, timeout=5)
        url = f"http://127.0.0.1:{metrics_port}/metrics"
        with urllib.request.urlopen(url, timeout=5) as response:
            text = response.read().decode()
        metric = f'pphook_zone_serial{{zone="{CATALOG}"}} '
        values = [float(x[len(metric) :]) for x in text.splitlines() if x.startswith(metric)]
        assert values == [serial], text
        # (b) a zone added to pphook.toml
        restart_serve_with(["example.com", "example.org"])
        wait_for(
            lambda: (
                answer(named.port, "host.example.org", "A") == (dns.rcode.NOERROR, {"10.60.0.2"})
            ),
            20,
            "named serves the added zone",
            named.log_tail,
        )
        # (c) and removed again
        restart_serve_with(["example.com"])
        wait_for(
            lambda: answer(named.port, "host.example.org", "A")[0] == dns.rcode.REFUSED,
            20,
            "named drops the removed zone",
            named.log_tail,
        )
        assert answer(named.port, "web.example.com", "A") == (dns.rcode.NOERROR, {"10.60.0.1"})
        print(f"catalog round trip: {time.monotonic() - started:.1f} s")
    finally:
        named.stop()
        pdns.stop()
        serve.cleanup()
        if not keep_files_default():
            shutil.rmtree(base, ignore_errors=True)
