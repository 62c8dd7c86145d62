"""End to end: phpIPAM in MariaDB -> pphook (unix socket or pipe) -> pdns_server -> dig.

Everything here is real: the throwaway MariaDB holds phpIPAM tables, pphook runs as the
installed `pphook` command with a read-only account, pdns_server 4.7 loads the remote
backend, dnspython asks the questions.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import dns.rcode
import dns.rdatatype
import dns.reversename
import dns.zone
import pytest
from infra.dnsclient import axfr, query
from infra.mariadb import MariaDBServer
from infra.pdns import PdnsServer
from infra.phpipam_data import PhpipamData
from infra.pphook import PphookServe, default_sections, pphook_command, run_pphook

pytestmark = pytest.mark.integration

ZONES = ("example.com", "10.in-addr.arpa", "8.b.d.0.1.0.0.2.ip6.arpa")


def load_dataset(data: PhpipamData) -> None:
    data.reset()
    section = data.add_section("Customers")
    v4 = data.add_subnet("10.10.1.0/24", section, dns_recursive=True)
    v6 = data.add_subnet("2001:db8:10::/64", section)
    data.add_address("10.10.1.1", v4, hostname=None)  # gateway: inventory only
    data.add_address("10.10.1.10", v4, hostname="www.example.com")
    data.add_address("10.10.1.11", v4, hostname="Mail.Example.COM.")
    data.add_address("10.10.1.12", v4, hostname="dual.example.com")
    data.add_address("2001:db8:10::12", v6, hostname="dual.example.com")
    data.add_address("10.10.1.13", v4, hostname="bad_name.example.com")
    data.add_address("10.10.1.14", v4, hostname="printer7")
    data.add_address("10.10.1.15", v4, hostname="example.com")
    data.add_address("10.10.1.16", v4, hostname="a.b.example.com")
    data.add_address("10.10.1.17", v4, hostname="db.other.org")


@dataclass
class Stack:
    pdns: PdnsServer
    config: Path
    serve: PphookServe | None


@pytest.fixture(scope="module", params=["unix", "pipe", "relay"])
def stack(request: pytest.FixtureRequest, mariadb: MariaDBServer) -> Iterator[Stack]:
    data = PhpipamData(mariadb.connect_admin())
    load_dataset(data)
    data.close()
    base = Path(tempfile.mkdtemp(prefix="pphook-e2e-"))
    sections = default_sections(mariadb.url(), f"sqlite:///{base}/state.db", base / "pphook.sock")
    serve = PphookServe(sections).start()
    config = serve.config_path
    if request.param == "unix":
        connection = f"unix:path={serve.socket},timeout=10000"
    elif request.param == "relay":  # the deployment of earlier versions, still supported
        command = " ".join([*pphook_command(), "--config", str(config), "pipe", "--relay"])
        connection = f"pipe:command={command},timeout=0"
    else:  # the recommended deployment (pdns-config/pdns.conf)
        connection = serve.pipe_connection()
    pdns = PdnsServer(connection)
    try:
        pdns.start(wait_zone="example.com")
        yield Stack(pdns, config, serve)
    finally:
        pdns.stop()
        if serve is not None:
            serve.cleanup()


def rrs(stack: Stack, name: str, rdtype: str, tcp: bool = False) -> tuple[int, set[str]]:
    msg = query(stack.pdns.port, name, rdtype, tcp=tcp)
    values = {
        rd.to_text()
        for rrset in msg.answer
        if rrset.rdtype == dns.rdatatype.from_text(rdtype)
        for rd in rrset
    }
    return msg.rcode(), values


def test_a_record(stack: Stack) -> None:
    assert rrs(stack, "www.example.com", "A") == (dns.rcode.NOERROR, {"10.10.1.10"})


def test_hostname_normalised_case_and_trailing_dot(stack: Stack) -> None:
    assert rrs(stack, "mail.example.com", "A") == (dns.rcode.NOERROR, {"10.10.1.11"})


def test_dual_stack(stack: Stack) -> None:
    assert rrs(stack, "dual.example.com", "A") == (dns.rcode.NOERROR, {"10.10.1.12"})
    assert rrs(stack, "dual.example.com", "AAAA") == (dns.rcode.NOERROR, {"2001:db8:10::12"})


def test_apex_address(stack: Stack) -> None:
    assert rrs(stack, "example.com", "A") == (dns.rcode.NOERROR, {"10.10.1.15"})


def test_ptr_in_addr(stack: Stack) -> None:
    code, values = rrs(stack, "10.1.10.10.in-addr.arpa", "PTR")
    assert (code, values) == (dns.rcode.NOERROR, {"www.example.com."})
    assert rrs(stack, "11.1.10.10.in-addr.arpa", "PTR")[1] == {"mail.example.com."}


def test_ptr_ip6(stack: Stack) -> None:
    name = dns.reversename.from_address("2001:db8:10::12").to_text()
    assert rrs(stack, name, "PTR") == (dns.rcode.NOERROR, {"dual.example.com."})


def test_soa_and_ns(stack: Stack) -> None:
    for zone in ZONES:
        code, soa = rrs(stack, zone, "SOA")
        assert code == dns.rcode.NOERROR and len(soa) == 1
        fields = next(iter(soa)).split()
        assert fields[:2] == ["ns1.example.com.", "hostmaster.example.com."]
        assert int(fields[2]) > 1_700_000_000  # unix time of the content
        assert rrs(stack, zone, "NS")[1] == {"ns1.example.com.", "ns2.example.com."}


@pytest.mark.parametrize(
    "name", ["nothere.example.com", "bad_name.example.com", "printer7.example.com"]
)
def test_nxdomain_for_unknown_and_rejected(stack: Stack, name: str) -> None:
    msg = query(stack.pdns.port, name, "A")
    assert msg.rcode() == dns.rcode.NXDOMAIN
    assert not msg.answer


def test_rejected_ptr_not_served(stack: Stack) -> None:
    assert rrs(stack, "13.1.10.10.in-addr.arpa", "PTR")[0] == dns.rcode.NXDOMAIN


@pytest.mark.parametrize(
    ("name", "rdtype"), [("b.example.com", "A"), ("1.10.10.in-addr.arpa", "PTR")]
)
def test_empty_non_terminal_is_nodata(stack: Stack, name: str, rdtype: str) -> None:
    msg = query(stack.pdns.port, name, rdtype)
    assert msg.rcode() == dns.rcode.NOERROR
    assert not msg.answer


def test_name_below_a_leaf_is_nxdomain(stack: Stack) -> None:
    assert rrs(stack, "x.www.example.com", "A")[0] == dns.rcode.NXDOMAIN


def test_zone_not_served_is_refused(stack: Stack) -> None:
    assert rrs(stack, "db.other.org", "A")[0] == dns.rcode.REFUSED


def test_mixed_case_question_echoed(stack: Stack) -> None:
    msg = query(stack.pdns.port, "WwW.ExAmPlE.CoM", "A")
    assert msg.rcode() == dns.rcode.NOERROR
    assert msg.answer[0].name.to_text() == "WwW.ExAmPlE.CoM."
    assert {rd.to_text() for rd in msg.answer[0]} == {"10.10.1.10"}


def test_any_over_tcp(stack: Stack) -> None:
    msg = query(stack.pdns.port, "dual.example.com", "ANY", tcp=True)
    types = {dns.rdatatype.to_text(r.rdtype) for r in msg.answer}
    assert types == {"A", "AAAA"}


@pytest.mark.parametrize("zone", ZONES)
def test_axfr_equals_export(stack: Stack, zone: str) -> None:
    exported = run_pphook(stack.config, "export", zone)
    assert exported.returncode == 0, exported.stderr
    expected = dns.zone.from_text(exported.stdout, origin=zone + ".", relativize=False)
    transferred = axfr(stack.pdns.port, zone)
    assert _records(transferred) == _records(expected)
    assert len(_records(expected)) >= 4  # SOA + 2 NS + at least one address record


def _records(zone: dns.zone.Zone) -> set[tuple[str, str, int, str]]:
    origin = zone.origin
    assert origin is not None
    return {
        (
            name.derelativize(origin).to_text().lower(),
            dns.rdatatype.to_text(rds.rdtype),
            rds.ttl,
            rd.to_text(origin=origin, relativize=False).lower(),
        )
        for name, rds in zone.iterate_rdatasets()
        for rd in rds
    }


@pytest.mark.parametrize("zone", ZONES)
def test_pdnsutil_check_zone_clean(stack: Stack, zone: str) -> None:
    result = stack.pdns.pdnsutil("check-zone", zone)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 errors" in result.stdout and "0 warnings" in result.stdout, result.stdout


# -- whole zones: export equals AXFR (SPEC §10.6) ----------------------------------------

WHOLE_ZONES = (
    "example.com",
    "10.in-addr.arpa",
    "2.0.192.in-addr.arpa",
    "64/26.2.0.192.in-addr.arpa",
)
WHOLE_STATIC = """$TTL 600
@          MX    10 mail
@          TXT   "v=spf1 mx -all"
_sip._tcp  60 IN SRV 0 5 5060 sip
sip        A     10.20.1.99
docs       300 CNAME web
sub        NS    ns.sub
ns.sub     A     10.20.9.53
"""


@pytest.fixture(scope="module")
def whole_stack(mariadb: MariaDBServer) -> Iterator[Stack]:
    """pdns in the recommended deployment (pipe coprocesses on the shared snapshot) over
    zones with static records, a delegation with glue, aliases from a custom field, a
    classless block pphook serves and one it delegates."""
    data = PhpipamData(mariadb.connect_admin())
    data.reset()
    data.execute("ALTER TABLE ipaddresses ADD COLUMN custom_aliases varchar(255)")
    base = Path(tempfile.mkdtemp(prefix="pphook-e2e-whole-"))
    serve: PphookServe | None = None
    pdns: PdnsServer | None = None
    try:
        section = data.add_section("Servers")
        lan = data.add_subnet("10.20.1.0/24", section)
        public = data.add_subnet("192.0.2.0/24", section)
        data.add_address("10.20.1.10", lan, hostname="web.example.com", custom_aliases="www, ftp")
        data.add_address("10.20.1.11", lan, hostname="mail.example.com", custom_aliases="mail")
        data.add_address("10.20.1.12", lan, hostname="x.sub.example.com")  # DELEGATED
        data.add_address("10.20.1.13", lan, hostname="docs.example.com")  # STATIC_CONFLICT
        data.add_address("192.0.2.70", public, hostname="pub70.example.com")
        data.add_address("192.0.2.130", public, hostname="pub130.example.com")
        data.add_address("192.0.2.10", public, hostname="pub10.example.com")
        zones_dir = base / "zones"
        zones_dir.mkdir()
        (zones_dir / "example.com.zone").write_text(WHOLE_STATIC)
        sections = default_sections(
            mariadb.url(),
            f"sqlite:///{base}/state.db",
            base / "pphook.sock",
            reverse=("10.0.0.0/8", "192.0.2.0/24", "192.0.2.64/26"),
            zones={
                "static_dir": str(zones_dir),
                "nameserver_addresses": {"ns1.example.com": ["10.20.1.53"]},
                "classless_delegations": {"192.0.2.128/27": ["ns1.customer.example"]},
            },
            policy={"alias_field": "custom_aliases"},
        )
        serve = PphookServe(sections).start()
        pdns = PdnsServer(serve.pipe_connection())
        pdns.start(wait_zone="example.com")
        yield Stack(pdns, serve.config_path, serve)
    finally:
        if pdns is not None:
            pdns.stop()
        if serve is not None:
            serve.cleanup()
        data.execute("ALTER TABLE ipaddresses DROP COLUMN custom_aliases")
        data.close()


@pytest.mark.parametrize("zone", WHOLE_ZONES)
def test_axfr_equals_export_for_whole_zones(whole_stack: Stack, zone: str) -> None:
    exported = run_pphook(whole_stack.config, "export", zone)
    assert exported.returncode == 0, exported.stderr
    expected = _records(dns.zone.from_text(exported.stdout, origin=zone + ".", relativize=False))
    assert _records(axfr(whole_stack.pdns.port, zone)) == expected
    # and what makes these zones whole is in both, with its own TTL
    wanted = {
        "example.com": {
            ("example.com.", "MX", 600, "10 mail.example.com."),
            ("_sip._tcp.example.com.", "SRV", 60, "0 5 5060 sip.example.com."),
            ("docs.example.com.", "CNAME", 300, "web.example.com."),
            ("www.example.com.", "CNAME", 300, "web.example.com."),
            ("sub.example.com.", "NS", 600, "ns.sub.example.com."),
            ("ns.sub.example.com.", "A", 600, "10.20.9.53"),
            ("ns1.example.com.", "A", 300, "10.20.1.53"),
        },
        "2.0.192.in-addr.arpa": {
            ("64/26.2.0.192.in-addr.arpa.", "NS", 300, "ns1.example.com."),
            ("128/27.2.0.192.in-addr.arpa.", "NS", 300, "ns1.customer.example."),
            ("70.2.0.192.in-addr.arpa.", "CNAME", 300, "70.64/26.2.0.192.in-addr.arpa."),
            ("130.2.0.192.in-addr.arpa.", "CNAME", 300, "130.128/27.2.0.192.in-addr.arpa."),
            ("10.2.0.192.in-addr.arpa.", "PTR", 300, "pub10.example.com."),
        },
        "64/26.2.0.192.in-addr.arpa": {
            ("70.64/26.2.0.192.in-addr.arpa.", "PTR", 300, "pub70.example.com."),
        },
    }
    assert wanted.get(zone, set()) <= expected
    if zone == "example.com":
        names = {owner for owner, *_ in expected}
        assert "x.sub.example.com." not in names  # DELEGATED
        assert not any(o == "docs.example.com." and t == "A" for o, t, *_ in expected)
        assert ("mail.example.com.", "A", 300, "10.20.1.11") in expected  # alias refused


@pytest.mark.parametrize("zone", WHOLE_ZONES)
def test_pdnsutil_check_zone_clean_for_whole_zones(whole_stack: Stack, zone: str) -> None:
    result = whole_stack.pdns.pdnsutil("check-zone", zone)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 errors" in result.stdout and "0 warnings" in result.stdout, result.stdout
