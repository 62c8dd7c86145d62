"""`pphook compare`: the migration check against the DNS server an operator runs today,
here a real pdns_server with its native gmysql backend (what phpIPAM's PowerDNS module
and sync tools fill), holding a zone that differs from what pphook publishes."""

from __future__ import annotations

import socket
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import dns.name
import dns.zone
import pytest
from infra import gmysql
from infra.mariadb import MariaDBServer
from infra.pdns import PdnsServer
from infra.phpipam_data import PhpipamData
from infra.pphook import default_sections, run_pphook, write_config

pytestmark = [pytest.mark.integration]

DATABASE = "pdns_today"
ZONE = "example.com"
REVERSE = "2.1.10.in-addr.arpa"


@dataclass
class Setup:
    config: Path
    db: MariaDBServer
    rows: dict[str, int]

    def today(self, zone: str, *, serial: int = 2024010101) -> list[gmysql.Record]:
        """The zone as pphook exports it, as gmysql rows (names without the dot)."""
        exported = run_pphook(self.config, "export", zone)
        assert exported.returncode == 0, exported.stderr
        parsed = dns.zone.from_text(exported.stdout, origin=zone + ".", relativize=False)
        records: list[gmysql.Record] = []
        for name, rdataset in parsed.iterate_rdatasets():
            for rdata in rdataset:
                if rdata.rdtype == dns.rdatatype.SOA:
                    rdata = rdata.replace(serial=serial)  # another server, another serial
                content = rdata.to_text(origin=dns.name.root, relativize=True)
                owner = name.to_text(omit_final_dot=True)
                records.append((owner, rdataset.rdtype.name, content, rdataset.ttl))
        return records

    def compare(self, zone: str, pdns: PdnsServer | str, *args: str) -> tuple[int, str, str]:
        server = pdns if isinstance(pdns, str) else f"127.0.0.1:{pdns.port}"
        result = run_pphook(self.config, "compare", zone, "--server", server, *args)
        return result.returncode, result.stdout, result.stderr


@pytest.fixture
def setup(mariadb: MariaDBServer, phpipam: PhpipamData) -> Iterator[Setup]:
    section = phpipam.add_section("Servers")
    lan = phpipam.add_subnet("10.1.2.0/24", section, description="server LAN")
    rows = {
        f"host{i}": phpipam.add_address(f"10.1.2.{i}", lan, hostname=f"host{i}.example.com")
        for i in range(1, 6)
    }
    rows["bad"] = phpipam.add_address("10.1.2.50", lan, hostname="bad_name.example.com")
    base = Path(tempfile.mkdtemp(prefix="pphook-compare-"))
    sections = default_sections(
        mariadb.url(), f"sqlite:///{base}/state.db", base / "none.sock", reverse=["10.1.2.0/24"]
    )
    config = write_config(base / "pphook.toml", sections)
    gmysql.create_schema(mariadb, DATABASE)
    yield Setup(config, mariadb, rows)


@pytest.fixture
def today(setup: Setup) -> Iterator[PdnsServer]:
    """pdns_server + gmysql holding exactly what pphook would serve (other serials)."""
    for zone in (ZONE, REVERSE):
        gmysql.load_zone(setup.db, DATABASE, zone, setup.today(zone))
    pdns = gmysql.gmysql_pdns(setup.db, DATABASE, loglevel=4)
    pdns.start(wait_zone=ZONE)
    try:
        yield pdns
    finally:
        pdns.stop()


def sql(setup: Setup, statement: str, *params: object) -> None:
    assert gmysql.execute(setup.db, DATABASE, statement, params or None) >= 1, statement


def test_equal_zones_exit_0_whatever_the_serials(setup: Setup, today: PdnsServer) -> None:
    for zone in (ZONE, REVERSE):
        code, out, err = setup.compare(zone, today)
        assert code == 0, out + err
        assert "SOA serial 2024010101" in out  # theirs, shown, not compared
        assert out.rstrip().endswith("(serials aside)")


def test_every_difference_with_the_rows_behind_it_and_why(setup: Setup, today: PdnsServer) -> None:
    rows = setup.rows
    # missing today: pphook adds it
    sql(setup, "DELETE FROM records WHERE name = 'host1.example.com'")
    # changed today: another address, and another TTL
    sql(setup, "UPDATE records SET content = '10.1.2.99' WHERE name = 'host2.example.com'")
    sql(setup, "UPDATE records SET ttl = 86400 WHERE name = 'host3.example.com'")
    # extra today: a host phpIPAM no longer has, an invalid name phpIPAM holds, an MX
    domain = "(SELECT id FROM domains WHERE name = 'example.com')"
    for name, rtype, content in (
        ("old.example.com", "A", "10.1.2.77"),
        ("bad_name.example.com", "A", "10.1.2.50"),
        ("example.com", "MX", "10 mail.example.com"),
    ):
        sql(
            setup,
            f"INSERT INTO records (domain_id, name, type, content, ttl, auth) "
            f"VALUES ({domain}, %s, %s, %s, 300, 1)",
            name,
            rtype,
            content,
        )
    # the SOA: another refresh (compared), besides the serial (not compared)
    sql(
        setup,
        "UPDATE records SET content = REPLACE(content, ' 10800 ', ' 7200 ') "
        "WHERE type = 'SOA' AND name = 'example.com'",
    )

    code, out, err = setup.compare(ZONE, today)
    assert code == 1, out + err
    blocks = {b.splitlines()[0]: b for b in out.split("\n\n")[1:]}

    add = blocks["+ add    host1.example.com A"]
    assert "pphook: host1.example.com. 300 IN A 10.1.2.1" in add
    assert f"row {rows['host1']}: ip_addr" in add and "published: A host1.example.com" in add

    change = blocks["~ change host2.example.com A"]
    assert "today:  host2.example.com. 300 IN A 10.1.2.99" in change
    assert "pphook: host2.example.com. 300 IN A 10.1.2.2" in change
    assert f"row {rows['host2']}: ip_addr" in change

    ttl = blocks["~ change host3.example.com A"]
    assert "today:  host3.example.com. 86400 IN A 10.1.2.3" in ttl
    assert "only the TTL differs: pphook uses zones.ttl = 300" in ttl

    old = blocks["- remove old.example.com A"]
    assert "no phpIPAM row has this name or address" in old

    bad = blocks["- remove bad_name.example.com A"]
    assert f"row {rows['bad']}: ip_addr" in bad
    assert "problem HOSTNAME_INVALID:" in bad  # the reason, as `explain` gives it

    mx = blocks["- remove example.com MX"]
    assert "today:  example.com. 300 IN MX 10 mail.example.com." in mx
    assert "not in phpIPAM" in mx
    assert "to keep it, write it into <static_dir>/example.com.zone (zones.static_dir)" in mx

    soa = blocks["~ change example.com SOA"]
    assert " 7200 " in soa and "zones.hostmaster" in soa
    assert out.rstrip().endswith("different: 1 record set to add, 3 to remove, 3 to change")
    assert len(blocks) == 7 + 1  # the seven differences and the summary


def test_reverse_zone_differences_name_the_rows(setup: Setup, today: PdnsServer) -> None:
    sql(setup, "DELETE FROM records WHERE name = '4.2.1.10.in-addr.arpa'")
    sql(
        setup,
        "UPDATE records SET content = 'someone-else.example.com' "
        "WHERE name = '5.2.1.10.in-addr.arpa'",
    )
    code, out, _ = setup.compare(REVERSE, today)
    assert code == 1
    assert "+ add    4.2.1.10.in-addr.arpa PTR" in out
    assert f"row {setup.rows['host4']}: ip_addr" in out
    assert "~ change 5.2.1.10.in-addr.arpa PTR" in out
    assert "published: PTR 5.2.1.10.in-addr.arpa -> host5.example.com" in out


def test_a_refused_transfer_is_a_clear_error(setup: Setup) -> None:
    gmysql.load_zone(setup.db, DATABASE, ZONE, setup.today(ZONE))
    pdns = gmysql.gmysql_pdns(
        setup.db, DATABASE, loglevel=4, extra_settings={"allow-axfr-ips": "192.0.2.1/32"}
    )
    pdns.start(wait_zone=ZONE)
    try:
        code, out, err = setup.compare(ZONE, pdns)
    finally:
        pdns.stop()
    assert code == 2 and out == ""
    assert f"AXFR of example.com from 127.0.0.1:{pdns.port} failed" in err
    assert "allow-axfr-ips" in err and "Traceback" not in err


def test_zone_not_on_that_server_is_a_clear_error(setup: Setup, today: PdnsServer) -> None:
    # the server stops serving the reverse zone
    sql(
        setup,
        "DELETE FROM records WHERE domain_id = (SELECT id FROM domains WHERE name = %s)",
        REVERSE,
    )
    sql(setup, "DELETE FROM domains WHERE name = %s", REVERSE)
    today.pdns_control("rediscover")
    code, _, err = setup.compare(REVERSE, today)
    assert code == 2
    assert "failed" in err and "must serve 2.1.10.in-addr.arpa" in err


def test_zone_pphook_does_not_serve_and_a_silent_server(setup: Setup) -> None:
    code, _, err = setup.compare("example.org", "127.0.0.1:53")
    assert code == 2 and "not served by pphook" in err and "served zones: example.com" in err

    with socket.socket() as silent:  # accepts TCP (backlog), never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        port = silent.getsockname()[1]
        code, _, err = setup.compare(ZONE, f"127.0.0.1:{port}", "--timeout", "0.5")
    assert code == 2 and "no answer within 0.5 s" in err
