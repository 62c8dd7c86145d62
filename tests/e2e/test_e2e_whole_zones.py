"""Whole zones end to end (SPEC §10): static records, name server addresses, a
delegated subzone, aliases from a phpIPAM custom field and RFC 2317 classless blocks,
through every real part an operator runs.

phpIPAM in a throwaway MariaDB (with the custom field ``custom_aliases`` added as
phpIPAM's admin page adds it) -> ``pphook serve`` -> pdns (pipe coprocesses on the
shared snapshot, the recommended deployment) -> a BIND secondary (NOTIFY + AXFR), a
BIND resolver following referrals and RFC 2317 CNAME chains, and the BIND server the
subzone is delegated to.

The resolver finds the subzone's server through referral glue, which carries no
port: pdns (127.0.2.1) and the subzone's BIND (127.0.0.1, the one loopback address
named listens on) share one port number, the port the resolver sends its queries to
(see ``infra.named``). The servers are started once for the module; the test that
edits the static file restores it before it ends.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import dns.flags
import dns.message
import dns.rcode
import dns.rdatatype
import dns.zone
import pytest
from infra.dnsclient import axfr, query
from infra.mariadb import MariaDBServer
from infra.named import NamedPrimary, NamedResolver, NamedSecondary
from infra.pdns import PdnsServer
from infra.phpipam_data import PhpipamData
from infra.ports import free_port
from infra.pphook import PphookServe, ask_socket, default_sections, run_pphook, write_config

pytestmark = pytest.mark.integration

PDNS_HOST, SUB_HOST = "127.0.2.1", "127.0.0.1"
ALIAS_FIELD = "custom_aliases"

FORWARD = "example.com"
PARENT = "2.0.192.in-addr.arpa"  # the enclosing reverse zone, served too
CHILD = "64/26.2.0.192.in-addr.arpa"  # 192.0.2.64/26, served by pphook
ELSEWHERE = "128/26.2.0.192.in-addr.arpa"  # 192.0.2.128/26, delegated to a customer
LONE = "128/25.113.0.203.in-addr.arpa"  # 203.0.113.128/25, its /24 not served here
TRANSFERRED = (FORWARD, PARENT, CHILD)

STATIC = f"""; what the DNS admin keeps beside phpIPAM hosts
$TTL 600
@            IN NS    ns3.example.net.
@            IN MX    10 mail
@       3600 IN TXT   "v=spf1 mx -all"
_dmarc       IN TXT   "v=DMARC1; p=reject"
_sip._tcp 120 IN SRV  10 60 5060 sip.example.com.
@            IN CAA   0 issue "letsencrypt.org"
mail         IN A     192.0.2.25
ftp          IN CNAME www
sub          IN NS    ns.sub
ns.sub       IN A     {SUB_HOST}
"""
STATIC_PARENT = """25 900 IN PTR mail.example.com.
"""
STATIC_CHILD = """66 IN PTR printer.example.com.
"""  # in 64-26.2.0.192.in-addr.arpa.zone: '/' cannot be in a file name
SUB_ZONE = f"""$ORIGIN sub.example.com.
$TTL 300
@       IN SOA ns.sub.example.com. hostmaster.example.com. 1 3600 600 86400 300
@       IN NS  ns.sub.example.com.
ns      IN A   {SUB_HOST}
only    IN A   198.51.100.7
"""


@dataclass
class Stack:
    ipam: PhpipamData
    rows: dict[str, int]  # phpIPAM row ids by hostname
    pdns: PdnsServer
    serve: PphookServe
    secondary: NamedSecondary
    sub: NamedPrimary
    resolver: NamedResolver
    static_file: Path

    def ask(self, name: str, rdtype: str, tcp: bool = False) -> dns.message.Message:
        return self.pdns.query(name, rdtype, tcp=tcp)

    def serial(self, zone: str) -> int:
        answer = self.ask(zone, "SOA").answer
        assert answer, f"pdns has no SOA for {zone}"
        return int(answer[0][0].serial)


def load_ipam(data: PhpipamData) -> dict[str, int]:
    """The rows behind the zones; their ids by hostname."""
    section = data.add_section("Whole zones")
    lan = data.add_subnet("192.0.2.0/24", section)
    far = data.add_subnet("203.0.113.0/24", section)
    data.add_address(
        "192.0.2.10",
        lan,
        hostname="www.example.com",
        custom_aliases="web, intranet,legacy.sub.example.com",  # the last one: DELEGATED
    )
    # www: a published host; mail: a static record; api: fine
    data.add_address("192.0.2.11", lan, hostname="app.example.com", custom_aliases="www mail\napi")
    data.add_address("192.0.2.12", lan, hostname="ftp.example.com")  # static CNAME there
    data.add_address("192.0.2.13", lan, hostname="db.example.com", custom_aliases="web")  # taken
    data.add_address("192.0.2.20", lan, hostname="deep.sub.example.com")  # below the cut
    data.add_address("192.0.2.65", lan, hostname="cust65.example.com")
    data.add_address("192.0.2.100", lan, hostname="cust100.example.com")
    data.add_address("192.0.2.130", lan, hostname="far.example.com")  # block served elsewhere
    data.add_address("203.0.113.140", far, hostname="cust140.example.com")
    return {
        row["hostname"]: row["id"] for row in data.query("SELECT id, hostname FROM ipaddresses")
    }


@pytest.fixture(scope="module")
def alias_column(mariadb: MariaDBServer) -> Iterator[PhpipamData]:
    """phpIPAM rows with the custom field ``custom_aliases``, added the way phpIPAM's
    Administration > Custom fields adds it (ALTER TABLE, nullable VARCHAR); dropped
    again at the end so the other modules see the stock schema."""
    if not mariadb.running:
        mariadb.start_server()
    data = PhpipamData(mariadb.connect_admin())
    data.reset()
    data.execute(f"ALTER TABLE ipaddresses ADD COLUMN `{ALIAS_FIELD}` VARCHAR(255) DEFAULT NULL")
    try:
        yield data
    finally:
        data.reset()
        data.execute(f"ALTER TABLE ipaddresses DROP COLUMN `{ALIAS_FIELD}`")
        data.close()


@pytest.fixture(scope="module")
def stack(
    mariadb: MariaDBServer, alias_column: PhpipamData, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    rows = load_ipam(alias_column)
    base = tmp_path_factory.mktemp("whole")
    static_dir = base / "zones"
    static_dir.mkdir()
    static_file = static_dir / f"{FORWARD}.zone"
    static_file.write_text(STATIC)
    (static_dir / f"{PARENT}.zone").write_text(STATIC_PARENT)
    (static_dir / "64-26.2.0.192.in-addr.arpa.zone").write_text(STATIC_CHILD)
    sections = default_sections(
        mariadb.url(),
        f"sqlite:///{base}/state.db",
        base / "pphook.sock",
        reverse=["192.0.2.0/24", "192.0.2.64/26", "203.0.113.128/25"],
        zones={
            "static_dir": str(static_dir),
            # pdns's address: a resolver following the NS of the RFC 2317 child zone
            # (ns1/ns2.example.com) reaches pdns through these A records
            "nameserver_addresses": {
                "ns1.example.com": [PDNS_HOST, "2001:db8::53"],
                "ns2.example.com": [PDNS_HOST],
            },
            "classless_delegations": {"192.0.2.128/26": ["ns1.customer.example"]},
        },
        policy={"alias_field": ALIAS_FIELD},
    )
    port = free_port(hosts=(PDNS_HOST, SUB_HOST))
    serve = PphookServe(sections)
    # pdns's caches on, as pdns-config/pdns.conf recommends: serve purges what changed
    pdns = PdnsServer(
        serve.pipe_connection(),
        primary=True,
        cache_ttl=20,
        query_cache_ttl=20,
        negquery_cache_ttl=60,
        loglevel=4,
        host=PDNS_HOST,
        port=port,
    )
    serve.sections["server"] = {
        **serve.sections["server"],
        "pdns_control": pdns.pdns_control_bin,
        "pdns_socket_dir": str(pdns.base_dir),
    }
    secondary = NamedSecondary(port, TRANSFERRED, primary_host=PDNS_HOST)
    pdns.add_also_notify(f"127.0.0.1:{secondary.port}")
    sub = NamedPrimary({"sub.example.com": SUB_ZONE}, port=port)
    resolver = NamedResolver({FORWARD: [PDNS_HOST], PARENT: [PDNS_HOST]}, query_port=port)
    try:
        serve.start()
        pdns.start(wait_zone=FORWARD)
        secondary.start()
        sub.start()
        resolver.start()
        yield Stack(alias_column, rows, pdns, serve, secondary, sub, resolver, static_file)
    finally:
        for server in (resolver, sub, secondary, pdns):
            server.stop()
        serve.cleanup()


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> float:
    """Poll ``condition`` until true; the seconds it took."""
    start = time.monotonic()
    while not condition():
        if time.monotonic() - start > timeout:
            raise AssertionError(f"not within {timeout} s: {what}")
        time.sleep(0.05)
    return time.monotonic() - start


def rrset(msg: dns.message.Message, section: str, name: str, rdtype: str) -> tuple[int, set[str]]:
    """(TTL, records) of one RRset of a response section; (-1, set()) when absent."""
    for rrs in getattr(msg, section):
        if rrs.name.to_text().lower() == name.lower().rstrip(
            "."
        ) + "." and rrs.rdtype == dns.rdatatype.from_text(rdtype):
            return rrs.ttl, {rd.to_text() for rd in rrs}
    return -1, set()


def answer(stack: Stack, name: str, rdtype: str) -> tuple[int, set[str]]:
    msg = stack.ask(name, rdtype)
    assert msg.rcode() == dns.rcode.NOERROR, (name, rdtype, dns.rcode.to_text(msg.rcode()))
    assert msg.flags & dns.flags.AA, f"{name} {rdtype}: not authoritative"
    return rrset(msg, "answer", name, rdtype)


def served(stack: Stack, name: str, rdtype: str) -> set[str]:
    """The answer now (to poll for: no assertion on the response)."""
    return rrset(stack.ask(name, rdtype), "answer", name, rdtype)[1]


def records(zone: dns.zone.Zone) -> set[tuple[str, str, int, str]]:
    """(owner, type, TTL, rdata) of every record, absolute and lowercase."""
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


def pdns_axfr(stack: Stack, zone: str) -> set[tuple[str, str, int, str]]:
    return records(axfr(stack.pdns.port, zone, host=PDNS_HOST))


def in_sync(stack: Stack, timeout: float = 20.0) -> None:
    """Wait until the secondary holds every transferred zone at pdns's serial."""
    for zone in TRANSFERRED:
        stack.secondary.wait_serial(zone, stack.serial(zone), timeout=timeout)


# -- 1. what pdns answers -------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "rdtype", "ttl", "expected"),
    [
        (FORWARD, "MX", 600, {"10 mail.example.com."}),
        (FORWARD, "TXT", 3600, {'"v=spf1 mx -all"'}),
        ("_dmarc.example.com", "TXT", 600, {'"v=DMARC1; p=reject"'}),
        ("_sip._tcp.example.com", "SRV", 120, {"10 60 5060 sip.example.com."}),
        (FORWARD, "CAA", 600, {'0 issue "letsencrypt.org"'}),
        ("mail.example.com", "A", 600, {"192.0.2.25"}),
        ("ftp.example.com", "CNAME", 600, {"www.example.com."}),
        ("25.2.0.192.in-addr.arpa", "PTR", 900, {"mail.example.com."}),
        # phpIPAM rows keep zones.ttl
        ("www.example.com", "A", 300, {"192.0.2.10"}),
        ("10.2.0.192.in-addr.arpa", "PTR", 300, {"www.example.com."}),
    ],
)
def test_static_records_with_their_ttls(
    stack: Stack, name: str, rdtype: str, ttl: int, expected: set[str]
) -> None:
    assert answer(stack, name, rdtype) == (ttl, expected)


def test_names_between_static_owners_and_the_apex_are_empty_non_terminals(
    stack: Stack,
) -> None:
    """NOERROR without data (RFC 8020 resolvers would prune an NXDOMAIN subtree)."""
    msg = stack.ask("_tcp.example.com", "SRV")
    assert (msg.rcode(), msg.answer) == (dns.rcode.NOERROR, [])
    assert msg.flags & dns.flags.AA
    assert stack.ask("_udp.example.com", "SRV").rcode() == dns.rcode.NXDOMAIN


def test_nameservers_resolve_and_apex_ns_joins_them(stack: Stack) -> None:
    assert answer(stack, "ns1.example.com", "A") == (300, {PDNS_HOST})
    assert answer(stack, "ns2.example.com", "A") == (300, {PDNS_HOST})
    assert answer(stack, "ns1.example.com", "AAAA") == (300, {"2001:db8::53"})
    assert answer(stack, FORWARD, "NS")[1] == {
        "ns1.example.com.",
        "ns2.example.com.",
        "ns3.example.net.",
    }
    # the other zones keep zones.nameservers
    assert answer(stack, PARENT, "NS")[1] == {"ns1.example.com.", "ns2.example.com."}


def test_delegation_is_a_referral_and_hides_ipam_hosts_below_it(stack: Stack) -> None:
    for name in ("deep.sub.example.com", "only.sub.example.com", "sub.example.com"):
        msg = stack.ask(name, "A")
        assert msg.rcode() == dns.rcode.NOERROR, name
        assert not msg.flags & dns.flags.AA, f"{name}: a referral is not authoritative"
        assert not msg.answer, f"{name}: {msg.answer}"  # 192.0.2.20 (DELEGATED) never shows
        assert rrset(msg, "authority", "sub.example.com", "NS")[1] == {"ns.sub.example.com."}
        assert rrset(msg, "additional", "ns.sub.example.com", "A")[1] == {SUB_HOST}
    owners = {owner for owner, *_ in pdns_axfr(stack, FORWARD)}
    assert not owners & {"deep.sub.example.com.", "legacy.sub.example.com."}
    assert {"sub.example.com.", "ns.sub.example.com."} <= owners


def test_aliases_become_cnames_and_conflicts_are_not_published(stack: Stack) -> None:
    assert answer(stack, "web.example.com", "CNAME") == (300, {"www.example.com."})
    assert answer(stack, "intranet.example.com", "CNAME")[1] == {"www.example.com."}
    assert answer(stack, "api.example.com", "CNAME")[1] == {"app.example.com."}
    # a resolver asking for the address gets the chain
    msg = stack.ask("web.example.com", "A")
    assert rrset(msg, "answer", "www.example.com", "A")[1] == {"192.0.2.10"}
    # "www" (a published host) and "mail" (static data) stay what they are; "web" is
    # not taken over by the later row db.example.com
    for name, rdtype, value in (
        ("www.example.com", "A", "192.0.2.10"),
        ("mail.example.com", "A", "192.0.2.25"),
    ):
        msg = stack.ask(name, rdtype)
        assert [dns.rdatatype.to_text(r.rdtype) for r in msg.answer] == [rdtype], msg.answer
        assert rrset(msg, "answer", name, rdtype)[1] == {value}
    # no PTR for aliases: the rows' own names only
    assert answer(stack, "11.2.0.192.in-addr.arpa", "PTR")[1] == {"app.example.com."}


def test_static_cname_wins_over_an_ipam_host(stack: Stack) -> None:
    msg = stack.ask("ftp.example.com", "A")
    assert rrset(msg, "answer", "ftp.example.com", "CNAME")[1] == {"www.example.com."}
    assert rrset(msg, "answer", "ftp.example.com", "A") == (-1, set())  # STATIC_CONFLICT
    assert stack.ask("12.2.0.192.in-addr.arpa", "PTR").rcode() == dns.rcode.NXDOMAIN


def test_classless_child_zone_serves_the_ptrs(stack: Stack) -> None:
    assert answer(stack, CHILD, "SOA")[1]
    assert answer(stack, f"65.{CHILD}", "PTR") == (300, {"cust65.example.com."})
    assert answer(stack, f"100.{CHILD}", "PTR")[1] == {"cust100.example.com."}
    assert answer(stack, f"66.{CHILD}", "PTR") == (300, {"printer.example.com."})  # static
    # served alone (its /24 is not served here): the child zone only
    assert answer(stack, f"140.{LONE}", "PTR")[1] == {"cust140.example.com."}
    assert stack.ask("140.113.0.203.in-addr.arpa", "PTR").rcode() == dns.rcode.REFUSED


def test_enclosing_zone_delegates_the_block_with_a_cname_per_address(stack: Stack) -> None:
    transferred = pdns_axfr(stack, PARENT)
    ns = {(o, v) for o, t, _, v in transferred if t == "NS" and o != PARENT + "."}
    assert ns == {
        (CHILD + ".", "ns1.example.com."),
        (CHILD + ".", "ns2.example.com."),
        (ELSEWHERE + ".", "ns1.customer.example."),
    }
    cnames = {o: v for o, t, _, v in transferred if t == "CNAME"}
    expected = {f"{d}.{PARENT}.": f"{d}.{CHILD}." for d in range(64, 128)}
    expected |= {f"{d}.{PARENT}.": f"{d}.{ELSEWHERE}." for d in range(128, 192)}
    assert cnames == expected
    ptrs = {o: v for o, t, _, v in transferred if t == "PTR"}
    # the PTRs of both blocks live in their child zones, not here
    assert ptrs == {
        f"10.{PARENT}.": "www.example.com.",
        f"11.{PARENT}.": "app.example.com.",
        f"13.{PARENT}.": "db.example.com.",
        f"25.{PARENT}.": "mail.example.com.",
    }
    msg = stack.ask(f"65.{PARENT}", "PTR")
    assert rrset(msg, "answer", f"65.{PARENT}", "CNAME")[1] == {f"65.{CHILD}."}


def test_block_served_elsewhere_gets_a_referral_and_its_rows_keep_their_address(
    stack: Stack,
) -> None:
    msg = stack.ask(f"130.{ELSEWHERE}", "PTR")
    assert msg.rcode() == dns.rcode.NOERROR and not msg.answer
    assert not msg.flags & dns.flags.AA
    assert rrset(msg, "authority", ELSEWHERE, "NS")[1] == {"ns1.customer.example."}
    assert answer(stack, "far.example.com", "A")[1] == {"192.0.2.130"}


@pytest.mark.parametrize("zone", (FORWARD, PARENT, CHILD, LONE))
def test_pdns_finds_the_zones_consistent(stack: Stack, zone: str) -> None:
    """pdnsutil's own checks (CNAME and other data, glue, delegations, names)."""
    result = stack.pdns.pdnsutil("check-zone", zone)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 errors" in result.stdout and "0 warnings" in result.stdout, result.stdout


# -- 2. a static file edited while serving --------------------------------------------


def test_edited_static_file_reaches_pdns_and_the_secondary(stack: Stack) -> None:
    in_sync(stack)
    # now in pdns's caches: the answer, and the NXDOMAIN of a name not there yet
    assert answer(stack, "mail.example.com", "A")[1] == {"192.0.2.25"}
    assert stack.ask("added.example.com", "TXT").rcode() == dns.rcode.NXDOMAIN
    serial = stack.serial(FORWARD)
    refresh = int(stack.ask(FORWARD, "SOA").answer[0][0].refresh)
    assert refresh >= 600  # so only a NOTIFY explains a prompt transfer below
    notify = f"received notify for zone '{FORWARD}'"
    notified = stack.secondary.logs().count(notify)
    edited_text = STATIC.replace("192.0.2.25", "192.0.2.26") + 'added IN TXT "hello"\n'
    try:
        _replace(stack.static_file, edited_text)
        took = wait_for(
            lambda: served(stack, "mail.example.com", "A") == {"192.0.2.26"},
            10,
            "pdns serves the edited static record",
        )
        assert took < 5, f"the edit took {took:.1f} s to reach pdns"
        assert answer(stack, "added.example.com", "TXT") == (600, {'"hello"'})
        edited = stack.serial(FORWARD)
        assert edited > serial
        stack.secondary.wait_serial(FORWARD, edited, timeout=15)
        assert stack.secondary.logs().count(notify) > notified
        held = query(stack.secondary.port, "mail.example.com", "A")
        assert rrset(held, "answer", "mail.example.com", "A") == (600, {"192.0.2.26"})

        # a broken file: the last good content stays, the log names file and line
        broken = edited_text + "oops IN MX not-a-number\n"
        line = broken.count("\n")
        _replace(stack.static_file, broken)
        where = f"{stack.static_file}:{line}:"
        wait_for(lambda: where in stack.serve.logs(), 10, f"serve logs {where}")
        time.sleep(1.0)  # several refresh intervals
        assert stack.serve.logs().count(where) == 1, "said once, not at every refresh"
        assert answer(stack, "mail.example.com", "A")[1] == {"192.0.2.26"}
        assert stack.serial(FORWARD) == edited
        assert answer(stack, FORWARD, "MX")[1] == {"10 mail.example.com."}
    finally:
        stack.static_file.write_text(STATIC)  # in place this time, as some editors do
    wait_for(
        lambda: served(stack, "mail.example.com", "A") == {"192.0.2.25"},
        10,
        "the restored file is served",
    )
    assert stack.ask("added.example.com", "TXT").rcode() == dns.rcode.NXDOMAIN
    in_sync(stack)


def test_removed_static_file_takes_its_records_away(stack: Stack) -> None:
    parent_file = stack.static_file.with_name(f"{PARENT}.zone")
    serial = stack.serial(PARENT)
    parent_file.unlink()
    try:
        wait_for(
            lambda: stack.ask(f"25.{PARENT}", "PTR").rcode() == dns.rcode.NXDOMAIN,
            10,
            "the static PTR goes with its file",
        )
        assert stack.serial(PARENT) > serial
        assert answer(stack, f"10.{PARENT}", "PTR")[1] == {"www.example.com."}  # phpIPAM's
    finally:
        parent_file.write_text(STATIC_PARENT)
    wait_for(lambda: served(stack, f"25.{PARENT}", "PTR") != set(), 10, "the PTR is back")
    in_sync(stack)


def test_a_stray_static_file_spoils_no_other_zone(stack: Stack, tmp_path: Path) -> None:
    """A file left behind for a zone no longer served is an error of its own: serve
    starts with every other zone's static records (and says what to do, once)."""
    static_dir = tmp_path / "zones"
    static_dir.mkdir()
    (static_dir / f"{FORWARD}.zone").write_text(STATIC)
    stray = static_dir / "example.org.zone"
    stray.write_text("@ IN MX 10 mail.example.org.\n")
    sections = {name: dict(table) for name, table in stack.serve.sections.items()}
    sections["zones"]["static_dir"] = str(static_dir)
    sections["state"] = {"url": f"sqlite:///{tmp_path}/state.db"}
    sections["server"] = {
        "socket": str(tmp_path / "pphook.sock"),
        "snapshot_dir": str(tmp_path / "snapshot"),
        "refresh_interval": 0.2,
    }
    serve = PphookServe(sections).start()
    try:
        mx = ask_socket(
            serve.socket, "lookup", {"qtype": "MX", "qname": "example.com.", "zone-id": -1}
        )
        assert [r["content"] for r in mx] == ["10 mail.example.com"], serve.log_tail()
        time.sleep(0.6)  # a few refreshes
        assert serve.logs().count(f"{stray}: no served zone is called 'example.org'") == 1
    finally:
        serve.cleanup()


def test_aliases_edited_in_phpipam_follow_while_serving(stack: Stack) -> None:
    """An alias added to the custom field is served; a host that then takes its name
    wins (ALIAS_CONFLICT) and the CNAME goes; both undone at the end."""
    db = stack.rows["db.example.com"]
    lan = stack.ipam.address(db)["subnetId"]  # type: ignore[index]
    host: int | None = None
    try:
        stack.ipam.update_address(db, custom_aliases="web database")
        wait_for(
            lambda: served(stack, "database.example.com", "CNAME") == {"db.example.com."},
            10,
            "the new alias is served",
        )
        assert answer(stack, "web.example.com", "CNAME")[1] == {"www.example.com."}
        host = stack.ipam.add_address("192.0.2.14", lan, hostname="database.example.com")
        wait_for(
            lambda: served(stack, "database.example.com", "A") == {"192.0.2.14"},
            10,
            "the host that took the alias's name is served",
        )
        msg = stack.ask("database.example.com", "A")
        assert rrset(msg, "answer", "database.example.com", "CNAME") == (-1, set())
    finally:
        if host is not None:
            stack.ipam.delete_address(host)
        stack.ipam.update_address(db, custom_aliases="web")
    wait_for(
        lambda: stack.ask("database.example.com", "A").rcode() == dns.rcode.NXDOMAIN,
        10,
        "both undone",
    )
    in_sync(stack)


def _replace(path: Path, text: str) -> None:
    """Write as editors and config management do: a new file renamed over the old."""
    temporary = path.with_name("." + path.name + ".tmp")
    temporary.write_text(text)
    os.replace(temporary, path)


# -- 3. a BIND secondary holds what pdns serves ----------------------------------------


@pytest.mark.parametrize("zone", TRANSFERRED)
def test_secondary_holds_what_pdns_serves(stack: Stack, zone: str) -> None:
    in_sync(stack)
    held = records(axfr(stack.secondary.port, zone))
    assert held == pdns_axfr(stack, zone)
    assert len(held) > 4


def test_secondary_answers_like_pdns(stack: Stack) -> None:
    in_sync(stack)
    for name, rdtype in (
        ("_sip._tcp.example.com", "SRV"),
        ("web.example.com", "CNAME"),
        ("ns1.example.com", "AAAA"),
        (f"65.{PARENT}", "CNAME"),
        (f"65.{CHILD}", "PTR"),
    ):
        from_pdns = rrset(stack.ask(name, rdtype), "answer", name, rdtype)
        from_bind = rrset(query(stack.secondary.port, name, rdtype), "answer", name, rdtype)
        assert from_bind == from_pdns != (-1, set()), (name, rdtype)
    referral = query(stack.secondary.port, "deep.sub.example.com", "A")
    assert not referral.answer and not referral.flags & dns.flags.AA
    assert rrset(referral, "authority", "sub.example.com", "NS")[1] == {"ns.sub.example.com."}
    assert rrset(referral, "additional", "ns.sub.example.com", "A")[1] == {SUB_HOST}


# -- 4. a resolver follows the chains ----------------------------------------------------


def resolve(stack: Stack, name: str, rdtype: str) -> dns.message.Message:
    return query(stack.resolver.port, name, rdtype, recursion=True)


def test_resolver_follows_the_rfc2317_cname_to_the_ptr(stack: Stack) -> None:
    stack.resolver.flush()
    for address, host in ((65, "cust65"), (100, "cust100"), (66, "printer")):
        msg = resolve(stack, f"{address}.{PARENT}", "PTR")
        assert msg.rcode() == dns.rcode.NOERROR, msg
        assert rrset(msg, "answer", f"{address}.{PARENT}", "CNAME")[1] == {f"{address}.{CHILD}."}
        assert rrset(msg, "answer", f"{address}.{CHILD}", "PTR")[1] == {f"{host}.example.com."}


def test_resolver_follows_the_referral_into_the_subzone(stack: Stack) -> None:
    stack.resolver.flush()
    msg = resolve(stack, "only.sub.example.com", "A")
    assert msg.rcode() == dns.rcode.NOERROR, msg
    assert rrset(msg, "answer", "only.sub.example.com", "A")[1] == {"198.51.100.7"}
    # the phpIPAM row below the cut is not what the world sees: the subzone decides
    assert resolve(stack, "deep.sub.example.com", "A").rcode() == dns.rcode.NXDOMAIN
    msg = resolve(stack, "web.example.com", "A")
    assert rrset(msg, "answer", "www.example.com", "A")[1] == {"192.0.2.10"}


# -- 5. the custom field is missing --------------------------------------------------------


def test_missing_alias_field_is_a_one_line_error(mariadb: MariaDBServer, tmp_path: Path) -> None:
    sections = default_sections(
        mariadb.url(),
        f"sqlite:///{tmp_path}/state.db",
        tmp_path / "pphook.sock",
        policy={"alias_field": "custom_nosuchfield"},
    )
    config = write_config(tmp_path / "pphook.toml", sections)
    for verb in ("check", "serve"):
        result = run_pphook(config, verb, timeout=30)
        assert result.returncode != 0, (verb, result.stdout, result.stderr)
        errors = [line for line in result.stderr.splitlines() if "custom_nosuchfield" in line]
        assert len(errors) == 1, (verb, result.stdout, result.stderr)
        # the file and the key, as every config error (serve names them like check)
        assert errors[0].startswith(f"pphook: {config}: policy.alias_field: "), (verb, errors)
        assert "'custom_nosuchfield'" in errors[0] and "Custom fields" in errors[0]
        assert "Traceback" not in result.stderr, result.stderr
    assert not (tmp_path / "pphook.sock").exists()  # serve refused before answering
