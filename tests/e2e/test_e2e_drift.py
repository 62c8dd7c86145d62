"""Zero drift: every change in phpIPAM reaches pdns (caches on) and the BIND secondary.

The recommended deployment runs here: `pphook serve` + pdns with `pipe --snapshot-dir`,
primary mode, default-sized caches purged by pphook through pdns_control, and a real
BIND `named` as secondary receiving NOTIFY and transferring.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import dns.rcode
import dns.rdatatype
import pytest
from infra.dnsclient import axfr, query, soa_serial, zone_record_set
from infra.mariadb import MariaDBServer
from infra.named import NamedSecondary
from infra.pdns import PdnsServer
from infra.phpipam_data import PhpipamData
from infra.pphook import PphookServe, ask_socket, default_sections, run_pphook

from remote_backend.shared.notified import SharedNotified

pytestmark = pytest.mark.integration

ZONES = ("example.com", "10.in-addr.arpa", "8.b.d.0.1.0.0.2.ip6.arpa")
PROPAGATION_LIMIT = 2.0  # seconds (the p99 target of docs/performance.md; here: every change)


@dataclass
class Deployment:
    data: PhpipamData
    serve: PphookServe
    pdns: PdnsServer
    named: NamedSecondary
    v4: int
    v6: int

    def pdns_answers(self, name: str, rdtype: str) -> set[str]:
        return _answers(self.pdns.port, name, rdtype)

    def named_answers(self, name: str, rdtype: str) -> set[str]:
        return _answers(self.named.port, name, rdtype)

    def serial(self, zone: str) -> int:
        serial = soa_serial(self.pdns.port, zone)
        assert serial is not None
        return serial


def _answers(port: int, name: str, rdtype: str) -> set[str]:
    msg = query(port, name, rdtype)
    wanted = dns.rdatatype.from_text(rdtype)
    return {rd.to_text() for rrset in msg.answer if rrset.rdtype == wanted for rd in rrset}


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> float:
    """Poll until ``condition()``; returns the seconds it took."""
    start = time.monotonic()
    while not condition():
        if time.monotonic() - start > timeout:
            raise AssertionError(f"not within {timeout} s: {what}")
        time.sleep(0.02)
    return time.monotonic() - start


@pytest.fixture(scope="module")
def deployment(mariadb: MariaDBServer) -> Iterator[Deployment]:
    data = PhpipamData(mariadb.connect_admin())
    data.reset()
    section = data.add_section("Customers")
    v4 = data.add_subnet("10.10.1.0/24", section)
    v6 = data.add_subnet("2001:db8:10::/64", section)
    for i in range(1, 21):
        data.add_address(f"10.10.1.{i}", v4, hostname=f"host{i}.example.com")
    data.add_address("2001:db8:10::1", v6, hostname="host1.example.com")

    base = Path(tempfile.mkdtemp(prefix="pphook-drift-"))
    # pdns first (not started): pphook needs its control socket directory
    sections = default_sections(mariadb.url(), f"sqlite:///{base}/state.db", base / "pphook.sock")
    pdns = PdnsServer(
        "placeholder",
        primary=True,
        cache_ttl=20,
        query_cache_ttl=20,
        negquery_cache_ttl=60,
        xfr_cycle_interval=1,
    )
    sections["server"] = {
        **sections["server"],
        "pdns_control": "/usr/bin/pdns_control",
        "pdns_socket_dir": str(pdns.base_dir),
    }
    serve = PphookServe(sections).start()
    # exactly as pdns-config/pdns.conf runs it: no config file, just the snapshot dir
    pdns.settings["remote-connection-string"] = serve.pipe_connection()
    named = NamedSecondary(pdns.port, ZONES)
    pdns.add_also_notify(f"127.0.0.1:{named.port}")
    try:
        pdns.start(wait_zone="example.com")
        named.start()
        d = Deployment(data, serve, pdns, named, v4, v6)
        for zone in ZONES:
            named.wait_serial(zone, d.serial(zone), timeout=30)
        yield d
    finally:
        named.stop()
        pdns.stop()
        serve.cleanup()
        data.close()


def assert_secondary_in_sync(d: Deployment) -> None:
    """named holds exactly what pphook exports, zone by zone, at pphook's serial."""
    for zone in ZONES:
        serial = d.serial(zone)
        d.named.wait_serial(zone, serial, timeout=30)
        exported = run_pphook(d.serve.config_path, "export", zone)
        assert exported.returncode == 0, exported.stderr
        import dns.zone

        expected = dns.zone.from_text(exported.stdout, origin=zone + ".", relativize=False)
        assert zone_record_set(axfr(d.named.port, zone)) == zone_record_set(expected), zone


def change_then_wait(
    d: Deployment, change: Callable[[], object], check: Callable[[], bool], zones: tuple[str, ...]
) -> None:
    """A change in MariaDB: pdns shows it within the limit, serials go up, named follows."""
    before = {z: d.serial(z) for z in zones}
    change()
    took = wait_for(check, timeout=10, what="pdns shows the change")
    assert took <= PROPAGATION_LIMIT, f"change visible after {took:.2f} s"
    for zone in zones:
        wait_for(lambda z=zone: d.serial(z) > before[z], 5, f"serial of {zone} goes up")
    assert_secondary_in_sync(d)


def test_secondary_starts_in_sync(deployment: Deployment) -> None:
    assert_secondary_in_sync(deployment)
    assert deployment.named_answers("host3.example.com", "A") == {"10.10.1.3"}


def test_insert_with_cached_nxdomain(deployment: Deployment) -> None:
    d = deployment
    # pdns caches the NXDOMAIN for negquery-cache-ttl (60 s) unless pphook purges it
    assert query(d.pdns.port, "new1.example.com", "A").rcode() == dns.rcode.NXDOMAIN
    change_then_wait(
        d,
        lambda: d.data.add_address("10.10.1.100", d.v4, hostname="new1.example.com"),
        lambda: d.pdns_answers("new1.example.com", "A") == {"10.10.1.100"},
        ("example.com", "10.in-addr.arpa"),
    )
    assert d.pdns_answers("100.1.10.10.in-addr.arpa", "PTR") == {"new1.example.com."}
    assert d.named_answers("new1.example.com", "A") == {"10.10.1.100"}


def _row_id(d: Deployment, hostname: str) -> int:
    rows = d.data.query("SELECT id FROM ipaddresses WHERE hostname = %s", (hostname,))
    return int(rows[0]["id"])


def test_edit_hostname(deployment: Deployment) -> None:
    d = deployment
    assert d.pdns_answers("host5.example.com", "A") == {"10.10.1.5"}  # cached now
    row = _row_id(d, "host5.example.com")
    change_then_wait(
        d,
        lambda: d.data.update_address(row, hostname="renamed5.example.com"),
        lambda: d.pdns_answers("renamed5.example.com", "A") == {"10.10.1.5"},
        ("example.com", "10.in-addr.arpa"),
    )
    assert query(d.pdns.port, "host5.example.com", "A").rcode() == dns.rcode.NXDOMAIN
    assert d.pdns_answers("5.1.10.10.in-addr.arpa", "PTR") == {"renamed5.example.com."}
    assert query(d.named.port, "host5.example.com", "A").rcode() == dns.rcode.NXDOMAIN


def test_edit_ip(deployment: Deployment) -> None:
    d = deployment
    assert d.pdns_answers("host6.example.com", "A") == {"10.10.1.6"}
    row = _row_id(d, "host6.example.com")
    change_then_wait(
        d,
        lambda: d.data.update_address(row, ip_addr=str(int.from_bytes(bytes([10, 10, 1, 60])))),
        lambda: d.pdns_answers("host6.example.com", "A") == {"10.10.1.60"},
        ("example.com", "10.in-addr.arpa"),
    )
    assert query(d.pdns.port, "6.1.10.10.in-addr.arpa", "PTR").rcode() == dns.rcode.NXDOMAIN
    assert d.pdns_answers("60.1.10.10.in-addr.arpa", "PTR") == {"host6.example.com."}


def test_delete_row_without_changelog(deployment: Deployment) -> None:
    d = deployment
    assert d.pdns_answers("host7.example.com", "A") == {"10.10.1.7"}
    row = _row_id(d, "host7.example.com")
    change_then_wait(
        d,
        lambda: d.data.delete_address(row),  # a hard DELETE, as phpIPAM does
        lambda: query(d.pdns.port, "host7.example.com", "A").rcode() == dns.rcode.NXDOMAIN,
        ("example.com", "10.in-addr.arpa"),
    )
    assert query(d.named.port, "host7.example.com", "A").rcode() == dns.rcode.NXDOMAIN
    assert query(d.named.port, "7.1.10.10.in-addr.arpa", "PTR").rcode() == dns.rcode.NXDOMAIN


def test_row_becomes_invalid(deployment: Deployment) -> None:
    d = deployment
    assert d.pdns_answers("host8.example.com", "A") == {"10.10.1.8"}
    row = _row_id(d, "host8.example.com")
    change_then_wait(
        d,
        lambda: d.data.update_address(row, hostname="host 8.example.com"),
        lambda: query(d.pdns.port, "host8.example.com", "A").rcode() == dns.rcode.NXDOMAIN,
        ("example.com", "10.in-addr.arpa"),
    )
    assert query(d.pdns.port, "8.1.10.10.in-addr.arpa", "PTR").rcode() == dns.rcode.NXDOMAIN


def test_subnet_deletion(deployment: Deployment) -> None:
    d = deployment
    assert d.pdns_answers("host1.example.com", "AAAA") == {"2001:db8:10::1"}
    change_then_wait(
        d,
        lambda: d.data.delete_subnet(d.v6),
        lambda: d.pdns_answers("host1.example.com", "AAAA") == set(),
        ("example.com", "8.b.d.0.1.0.0.2.ip6.arpa"),
    )
    assert d.pdns_answers("host1.example.com", "A") == {"10.10.1.1"}  # the IPv4 twin stays


def _refreshes(serve: PphookServe) -> int:
    """Refreshes `serve` has completed (its status over the socket)."""
    status = ask_socket(serve.socket, "pphookStatus", {})
    return int(status["refreshes"])


def test_change_without_dns_effect_keeps_serial(deployment: Deployment) -> None:
    d = deployment
    serials = {z: d.serial(z) for z in ZONES}
    refreshes = _refreshes(d.serve)
    row = _row_id(d, "host9.example.com")
    # a ping scan rewrites lastSeen: editDate moves, DNS does not change
    d.data.update_address(row, lastSeen="2026-01-01 00:00:00")
    wait_for(lambda: _refreshes(d.serve) > refreshes, 10, "pphook read the edit")
    assert {z: d.serial(z) for z in ZONES} == serials


def test_restart_keeps_serials_and_notified(deployment: Deployment) -> None:
    d = deployment
    serials = {z: d.serial(z) for z in ZONES}
    d.serve.stop()
    d.serve.start()
    # same data -> same serials (the coprocesses answered all along)
    wait_for(lambda: _try_serials(d) == serials, 15, "same serials after restart")
    notified = SharedNotified(d.serve.snapshot_dir).get_all()
    assert dict(notified) == serials  # pdns was told; nothing to notify again


def _try_serials(d: Deployment) -> dict[str, int] | None:
    try:
        return {z: d.serial(z) for z in ZONES}
    except Exception:
        return None


def run_sql(url: str, sql: str) -> list[tuple[object, ...]]:
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(sa.text(sql))]
    finally:
        engine.dispose()
