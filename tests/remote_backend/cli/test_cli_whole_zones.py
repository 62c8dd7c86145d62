"""`explain`, `export` and `check` on whole zones (SPEC §10.6): static records with
their TTLs and file lines, aliases published and refused, delegations, RFC 2317
blocks, MAC addresses, VRFs. The embedded SQLite demo plus what an operator adds:
a custom field for aliases, a VRF, a public /24 with a classless block, static files.
"""

from __future__ import annotations

import ipaddress
import sqlite3
from pathlib import Path

import dns.rdatatype
import dns.zone
import pytest

from remote_backend.cli import main
from remote_backend.demo import create_demo_database

STATIC = """$TTL 600
@          MX    10 mail
@          TXT   "v=spf1 mx -all"
_sip._tcp  60 IN SRV 0 5 5060 sip
sip        A     10.10.1.99
server2    CNAME server1
lab        NS    ns1.lab
ns1.lab    A     10.10.9.1
"""


def _value(ip: str) -> str:
    return str(int(ipaddress.ip_address(ip)))


@pytest.fixture
def site(tmp_path: Path) -> Path:
    """The demo with the whole-zone additions; returns the config path."""
    db = tmp_path / "phpipam.sqlite"
    create_demo_database(str(db))
    with sqlite3.connect(db) as c:
        c.execute("ALTER TABLE ipaddresses ADD COLUMN custom_aliases varchar(255)")
        # server1 (row 2): two good aliases, one that is a host, one invalid
        c.execute(
            "UPDATE ipaddresses SET custom_aliases = 'ftp, www, files.example.com bad_alias'"
            " WHERE id = 2"
        )
        vrf = c.execute("INSERT INTO vrf (name, rd) VALUES ('Customers-A', '65000:1')").lastrowid
        c.execute("UPDATE subnets SET vrfId = ? WHERE id = 1", (vrf,))
        c.execute(
            "INSERT INTO subnets (id, subnet, mask, sectionId, description)"
            " VALUES (7, ?, '24', 1, 'public')",
            (_value("192.0.2.0"),),
        )
        for i, ip, name in (
            (40, "192.0.2.70", "pub70.example.com"),  # in the served /26
            (41, "192.0.2.130", "pub130.example.com"),  # in the delegated /27
            (42, "192.0.2.10", "x.lab.example.com"),  # below the static delegation
        ):
            c.execute(
                "INSERT INTO ipaddresses (id, subnetId, ip_addr, hostname, state)"
                " VALUES (?, 7, ?, ?, 2)",
                (i, _value(ip), name),
            )
    zones = tmp_path / "zones"
    zones.mkdir()
    (zones / "example.com.zone").write_text(STATIC)
    return write_config(tmp_path)


def write_config(
    tmp_path: Path, zones: str = "", policy: str = 'alias_field = "custom_aliases"'
) -> Path:
    path = tmp_path / "pphook.toml"
    path.write_text(
        f"""
[ipam]
url = "sqlite:///{tmp_path}/phpipam.sqlite"
[state]
url = "sqlite:///{tmp_path}/state.db"
[zones]
forward = ["example.com"]
reverse = ["10.0.0.0/8", "192.168.0.0/16", "2001:db8::/32", "192.0.2.0/24", "192.0.2.64/26"]
nameservers = ["ns1.example.com", "ns2.example.com"]
hostmaster = "hostmaster.example.com"
static_dir = "{tmp_path}/zones"
nameserver_addresses = {{ "ns1.example.com" = ["10.10.1.53"] }}
classless_delegations = {{ "192.0.2.128/27" = ["ns1.customer.example"] }}
{zones}
[policy]
{policy}
[server]
socket = "{tmp_path}/none.sock"
"""
    )
    return path


def run(path: Path, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(["--config", str(path), *args])
    out, err = capsys.readouterr()
    return code, out, err


# -- explain ---------------------------------------------------------------------------


def test_explain_a_static_name_shows_each_record_with_its_ttl_and_file_line(
    site: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(site, capsys, "explain", "example.com")
    zone_file = site.parent / "zones" / "example.com.zone"
    assert code == 0
    assert f"example.com. 600 IN MX 10 mail.example.com.  ; static record, {zone_file}:2" in out
    assert f'example.com. 600 IN TXT "v=spf1 mx -all"  ; static record, {zone_file}:3' in out
    assert "example.com. 3600 IN NS ns1.example.com.  ; zones.nameservers" in out
    _, out, _ = run(site, capsys, "explain", "_sip._tcp.example.com")
    assert f"60 IN SRV 0 5 5060 sip.example.com.  ; static record, {zone_file}:4" in out


def test_explain_an_alias_and_the_aliases_a_row_asks_for(
    site: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, out, _ = run(site, capsys, "explain", "ftp.example.com")
    assert (
        "ftp.example.com. 3600 IN CNAME server1.example.com.  ; alias of phpIPAM row 2 "
        "(policy.alias_field)" in out
    )
    assert "published: CNAME ftp.example.com -> server1.example.com (asked by row 2)" in out
    assert "  row 2: ip_addr" in out  # the row behind the alias, described
    _, out, _ = run(site, capsys, "explain", "server1.example.com")
    assert "aliases asked (custom_aliases): 'ftp, www, files.example.com bad_alias'" in out
    assert "published: CNAME files.example.com -> server1.example.com (alias)" in out
    assert "problem HOSTNAME_INVALID: alias 'bad_alias'" in out


def test_explain_a_refused_alias_names_the_code_and_the_reason(
    site: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, out, _ = run(site, capsys, "explain", "www.example.com")
    assert "www.example.com. 3600 IN A 10.10.1.5  ; phpIPAM row 4" in out
    assert "Alias www.example.com (policy.alias_field):" in out
    assert (
        "  row 2: problem ALIAS_CONFLICT: alias 'www.example.com' is the name of a published "
        "host" in out
    )
    assert "phpIPAM rows (2):" in out  # the host and the row asking for the alias


def test_explain_a_host_under_a_static_cname_or_a_delegation(
    site: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    zone_file = site.parent / "zones" / "example.com.zone"
    _, out, _ = run(site, capsys, "explain", "server2.example.com")
    assert f"CNAME server1.example.com.  ; static record, {zone_file}:6" in out
    assert "problem STATIC_CONFLICT: 'server2.example.com' is a CNAME in zones.static_dir" in out
    _, out, _ = run(site, capsys, "explain", "x.lab.example.com")
    assert (
        "delegated: x.lab.example.com is at or below lab.example.com (NS "
        f"ns1.lab.example.com; static file {zone_file}): pdns answers with a referral" in out
    )
    assert "problem DELEGATED: 'x.lab.example.com' is at or below the delegation " in out
    assert "'lab.example.com'" in out
    assert "NXDOMAIN" not in out


def test_explain_an_address_of_a_classless_block_follows_the_cname(
    site: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, out, _ = run(site, capsys, "explain", "192.0.2.70")
    assert (
        "70.2.0.192.in-addr.arpa. 3600 IN CNAME 70.64/26.2.0.192.in-addr.arpa.  ; RFC 2317: "
        "192.0.2.64/26 (zones.reverse); its PTRs are in 64/26.2.0.192.in-addr.arpa" in out
    )
    assert "zone 64/26.2.0.192.in-addr.arpa: serial" in out
    assert "70.64/26.2.0.192.in-addr.arpa. 3600 IN PTR pub70.example.com.  ; phpIPAM row 40" in out
    assert "published: PTR 70.64/26.2.0.192.in-addr.arpa -> pub70.example.com" in out
    _, out, _ = run(site, capsys, "explain", "64/26.2.0.192.in-addr.arpa")
    assert "in the parent zone 2.0.192.in-addr.arpa (its delegation to 64/26." in out
    assert "IN NS ns1.example.com.  ; RFC 2317: the child zone of 192.0.2.64/26" in out


def test_explain_an_address_of_a_block_served_elsewhere(
    site: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, out, _ = run(site, capsys, "explain", "192.0.2.130")
    assert "(zones.classless_delegations); its PTRs are in 128/27.2.0.192.in-addr.arpa" in out
    assert (
        "delegated: 130.128/27.2.0.192.in-addr.arpa is at or below 128/27.2.0.192.in-addr.arpa"
        " (NS ns1.customer.example; zones.classless_delegations (192.0.2.128/27))" in out
    )
    assert "note PTR_DELEGATED: 192.0.2.130 is in 192.0.2.128/27" in out


@pytest.mark.parametrize(
    "mac",
    ["aa:bb:cc:00:00:01", "AA-BB-CC-00-00-01", "aabb.cc00.0001", "AABBCC-000001", "aabbcc000001"],
)
def test_explain_a_mac_address_in_any_notation_lists_every_row_with_it(
    site: Path, capsys: pytest.CaptureFixture[str], mac: str
) -> None:
    code, out, _ = run(site, capsys, "explain", mac)
    assert code == 0
    assert "MAC address aa:bb:cc:00:00:01" in out
    assert "phpIPAM rows with this MAC address (2):" in out
    assert "row 20: ip_addr" in out and "row 21: ip_addr" in out
    assert "problem DUPLICATE_MAC" in out


def test_explain_shows_each_rows_vrf_safely(site: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = run(site, capsys, "explain", "10.10.1.4")
    assert "section Customers, vrf 'Customers-A' (id 1)" in out
    _, out, _ = run(site, capsys, "explain", "10.10.2.10")
    assert "section Customers, vrf -" in out  # subnet 2 has no VRF
    with sqlite3.connect(site.parent / "phpipam.sqlite") as c:
        c.execute("UPDATE vrf SET name = ? WHERE vrfId = 1", ("evil\x1b[2J\u202e",))
    _, out, _ = run(site, capsys, "explain", "10.10.1.4")
    assert "\x1b" not in out and "\u202e" not in out
    assert "vrf 'evil\\\\x1b[2J\\\\u202e' (id 1)" in out


def test_explain_a_mac_nobody_has(site: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = run(site, capsys, "explain", "02:00:00:00:00:99")
    assert "No phpIPAM address row has this MAC address." in out


# -- export ----------------------------------------------------------------------------


def test_export_keeps_each_rrsets_ttl_delegations_aliases_and_classless_records(
    site: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, out, _ = run(site, capsys, "export", "example.com")
    zone = dns.zone.from_text(out, origin="example.com.", relativize=False)
    assert zone.find_rdataset("_sip._tcp.example.com.", "SRV").ttl == 60
    assert zone.find_rdataset("example.com.", "MX").ttl == 600
    assert zone.find_rdataset("example.com.", "NS").ttl == 3600
    assert zone.find_rdataset("www.example.com.", "A").ttl == 3600
    assert zone.find_rdataset("ftp.example.com.", "CNAME")[0].target.to_text() == (
        "server1.example.com."
    )
    assert zone.find_rdataset("lab.example.com.", "NS")[0].target.to_text() == (
        "ns1.lab.example.com."
    )
    assert zone.find_rdataset("ns1.lab.example.com.", "A")[0].address == "10.10.9.1"  # glue
    assert {r.address for r in zone.find_rdataset("ns1.example.com.", "A")} == {
        "10.10.1.11",  # the phpIPAM host
        "10.10.1.53",  # zones.nameserver_addresses
    }
    assert zone.get_rdataset("server2.example.com.", "A") is None  # the static CNAME wins
    assert zone.get_rdataset("x.lab.example.com.", "A") is None
    _, out, _ = run(site, capsys, "export", "2.0.192.in-addr.arpa")
    parent = dns.zone.from_text(out, origin="2.0.192.in-addr.arpa.", relativize=False)
    ns = {r.target.to_text() for r in parent.find_rdataset("64/26.2.0.192.in-addr.arpa.", "NS")}
    assert ns == {"ns1.example.com.", "ns2.example.com."}
    assert parent.find_rdataset("128/27.2.0.192.in-addr.arpa.", "NS")[0].target.to_text() == (
        "ns1.customer.example."
    )
    cnames = [n for n, rds in parent.iterate_rdatasets() if rds.rdtype == dns.rdatatype.CNAME]
    assert len(cnames) == 64 + 32
    _, out, _ = run(site, capsys, "export", "64/26.2.0.192.in-addr.arpa")
    child = dns.zone.from_text(out, origin="64/26.2.0.192.in-addr.arpa.", relativize=False)
    ptr = child.find_rdataset("70.64/26.2.0.192.in-addr.arpa.", "PTR")
    assert ptr[0].target.to_text() == "pub70.example.com."


# -- check -----------------------------------------------------------------------------


def test_check_accepts_the_whole_zones(site: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(site, capsys, "check")
    assert code == 0, err
    assert f"static zone files in {site.parent}/zones: 1 zone, 7 records, 1 delegation" in out
    assert "64/26.2.0.192.in-addr.arpa" in out
    for code_name in ("ALIAS_CONFLICT", "STATIC_CONFLICT", "DELEGATED"):
        assert f"  {code_name} " in out
    assert "warning" not in out  # ns1 has addresses, ns2 is a phpIPAM host


def test_check_warns_about_an_in_zone_name_server_without_addresses(
    site: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = site.read_text().replace('"ns2.example.com"]', '"ns2.example.com", "ns3.example.com"]')
    site.write_text(text)
    code, out, _ = run(site, capsys, "check")
    assert code == 0  # a warning
    assert (
        f"warning: {site}: zones.nameservers: name server ns3.example.com (NS of example.com, "
        in out
    )
    assert "no A/AAAA record there" in out and "zones.nameserver_addresses" in out
    site.write_text(
        text.replace(
            '{ "ns1.example.com" = ["10.10.1.53"] }', '{ "ns3.example.com" = ["10.10.1.54"] }'
        )
    )
    _, out, _ = run(site, capsys, "check")
    assert "ns3.example.com" not in out.split("problems")[1]  # no warning once it has one


def test_check_lists_static_file_errors_with_file_and_line_and_fails(
    site: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    zones = site.parent / "zones"
    (zones / "example.com.zone").write_text(STATIC + "bad A 1.2.3\n")
    (zones / "old.example.org.zone").write_text("x A 192.0.2.1\n")
    code, out, err = run(site, capsys, "check")
    assert code == 1
    assert f"error: {zones}/example.com.zone:9: bad.example.com: Text input is malformed." in out
    assert (
        f"error: {zones}/old.example.org.zone: no served zone is called 'old.example.org': add "
        "it to zones.forward or zones.reverse, or remove the file" in out
    )
    assert "example.com " in out and "phpIPAM database" in out  # the rest is still checked
    assert err.startswith("pphook: 2 static zone file problems (listed above)")
    assert "Traceback" not in err
    # the verbs that need every file refuse, naming them
    code, out, err = run(site, capsys, "export", "example.com")
    assert code == 1 and out == ""
    assert f"  - {zones}/example.com.zone:9: bad.example.com: Text input is malformed." in err


def test_a_missing_alias_field_is_a_one_line_config_error(
    site: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_config(site.parent, policy='alias_field = "custom_alias"')
    for verb in (["check"], ["explain", "www.example.com"], ["export", "example.com"]):
        code, _, err = run(site, capsys, *verb)
        assert code == 1, verb
        assert err.startswith(
            f"pphook: {site}: policy.alias_field: phpIPAM's ipaddresses table has no column "
            "'custom_alias'"
        ), err
        assert err.count("\n") == 1 and "Traceback" not in err


def test_explain_a_served_block_whose_parent_is_served_elsewhere(
    site: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = site.read_text().replace('"192.0.2.0/24", ', "")
    site.write_text("\n".join(x for x in text.splitlines() if "classless_delegations" not in x))
    _, out, _ = run(site, capsys, "explain", "192.0.2.70")
    assert "70.2.0.192.in-addr.arpa: in no served zone (pdns answers REFUSED)" in out
    assert "70.64/26.2.0.192.in-addr.arpa. 3600 IN PTR pub70.example.com." in out
    assert (
        "RFC 2317: pphook does not serve the zone of 2.0.192.in-addr.arpa; its server must "
        "delegate 64/26.2.0.192.in-addr.arpa (NS)" in out
    )
