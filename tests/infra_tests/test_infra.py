"""The test infrastructure itself works: MariaDB, the phpIPAM schema, the SQLite demo
schema, pdns_server with a remote backend, and BIND as its secondary.

The pdns tests use a throwaway pipe backend written into the test's tmp dir (not
pphook), so a failure here points at the infrastructure, not at pphook.
"""

from __future__ import annotations

import ipaddress
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import dns.rcode
import pymysql
import pytest
import sqlalchemy as sa
from infra.dnsclient import answers, axfr, query, zone_record_set
from infra.mariadb import MariaDBServer
from infra.named import NamedSecondary
from infra.pdns import PdnsServer
from infra.phpipam_data import PhpipamData, decimal_to_ip, ip_to_decimal
from infra.ports import free_port
from infra.procs import MissingBinaryError, require_binary

from remote_backend.demo import create_demo_database

pytestmark = pytest.mark.integration

PHPIPAM_TABLES = (
    "ipaddresses",
    "subnets",
    "sections",
    "vrf",
    "ipTags",
    "changelog",
    "users",
    "settings",
    "nameservers",
)


def _columns(mariadb: MariaDBServer, table: str) -> dict[str, dict[str, object]]:
    conn = mariadb.connect_admin(cursorclass=pymysql.cursors.DictCursor)
    try:
        with conn.cursor() as cur:
            cur.execute(
                "SELECT * FROM information_schema.COLUMNS"
                " WHERE TABLE_SCHEMA = 'phpipam' AND TABLE_NAME = %s",
                (table,),
            )
            return {str(r["COLUMN_NAME"]): r for r in cur.fetchall()}
    finally:
        conn.close()


def _indexes(phpipam: PhpipamData, table: str) -> dict[str, tuple[bool, tuple[str, ...]]]:
    """index name -> (unique, columns in order)."""
    rows = phpipam.query(
        "SELECT INDEX_NAME, NON_UNIQUE, COLUMN_NAME FROM information_schema.STATISTICS"
        " WHERE TABLE_SCHEMA = 'phpipam' AND TABLE_NAME = %s ORDER BY INDEX_NAME, SEQ_IN_INDEX",
        (table,),
    )
    out: dict[str, tuple[bool, tuple[str, ...]]] = {}
    for r in rows:
        unique, cols = out.get(r["INDEX_NAME"], (not r["NON_UNIQUE"], ()))
        out[r["INDEX_NAME"]] = (unique, (*cols, r["COLUMN_NAME"]))
    return out


# -- MariaDB ------------------------------------------------------------------------


def test_mariadb_is_our_own_server(mariadb: MariaDBServer, phpipam: PhpipamData) -> None:
    row = phpipam.query("SELECT @@port AS port, @@datadir AS datadir, @@version AS v")[0]
    assert row["port"] == mariadb.port != 3306
    assert Path(row["datadir"]).resolve() == mariadb.datadir.resolve()
    assert "MariaDB" in row["v"]
    assert mariadb.url() == (
        f"mysql+pymysql://pphook_ro:{mariadb.ro_password}@127.0.0.1:{mariadb.port}/phpipam"
    )


def test_readonly_account_cannot_write(mariadb: MariaDBServer, phpipam: PhpipamData) -> None:
    subnet = phpipam.add_subnet("10.10.1.0/24", phpipam.add_section("Customers"))
    address = phpipam.add_address("10.10.1.3", subnet, hostname="server1.example.com")
    conn = mariadb.connect_ro()
    try:
        with conn.cursor() as cur:
            cur.execute("SHOW GRANTS")
            grants = " ".join(r[0] for r in cur.fetchall())
            assert "GRANT SELECT ON `phpipam`.*" in grants
            assert "INSERT" not in grants and "ALL PRIVILEGES" not in grants
            for sql in (
                "INSERT INTO ipaddresses (ip_addr, subnetId) VALUES ('1', 1)",
                f"UPDATE ipaddresses SET hostname = 'x' WHERE id = {address}",
                f"DELETE FROM ipaddresses WHERE id = {address}",
                "TRUNCATE TABLE ipaddresses",
                "CREATE TABLE pphook_state (id int)",
            ):
                with pytest.raises(pymysql.err.OperationalError) as err:
                    cur.execute(sql)
                # 1142: command denied for table; 1044: access denied to database
                assert err.value.args[0] in (1142, 1044), sql
            cur.execute("SELECT hostname FROM ipaddresses WHERE id = %s", (address,))
            assert cur.fetchone() == ("server1.example.com",)
    finally:
        conn.close()


def test_readonly_url_works_with_sqlalchemy(mariadb: MariaDBServer, phpipam: PhpipamData) -> None:
    engine = sa.create_engine(mariadb.url())
    try:
        with engine.connect() as conn:
            tags = conn.execute(sa.text("SELECT id, type FROM ipTags ORDER BY id")).all()
    finally:
        engine.dispose()
    assert [tuple(t) for t in tags] == [
        (1, "Offline"),
        (2, "Used"),
        (3, "Reserved"),
        (4, "DHCP"),
    ]


def test_schema_matches_phpipam_facts(mariadb: MariaDBServer, phpipam: PhpipamData) -> None:
    tables = phpipam.query(
        "SELECT TABLE_NAME, ENGINE, TABLE_COLLATION FROM information_schema.TABLES"
        " WHERE TABLE_SCHEMA = 'phpipam'"
    )
    assert {t["TABLE_NAME"] for t in tables} == set(PHPIPAM_TABLES)
    for t in tables:
        assert (t["ENGINE"], t["TABLE_COLLATION"]) == ("InnoDB", "utf8mb4_unicode_ci"), t

    ip = _columns(mariadb, "ipaddresses")
    edit = ip["editDate"]
    assert edit["DATA_TYPE"] == "timestamp"
    assert edit["IS_NULLABLE"] == "YES"
    assert edit["COLUMN_DEFAULT"] in (None, "NULL")  # MariaDB spells DEFAULT NULL 'NULL'
    assert "on update current_timestamp" in str(edit["EXTRA"]).lower()
    assert ip["hostname"]["COLUMN_TYPE"] == "varchar(255)"
    assert ip["hostname"]["COLLATION_NAME"] == "utf8mb4_unicode_ci"
    assert ip["hostname"]["IS_NULLABLE"] == "YES"
    assert (ip["ip_addr"]["COLUMN_TYPE"], ip["ip_addr"]["IS_NULLABLE"]) == ("varchar(100)", "NO")
    assert ip["mac"]["COLUMN_TYPE"] == "varchar(20)"
    assert ip["subnetId"]["COLUMN_TYPE"] == "int(11) unsigned"
    assert (ip["state"]["IS_NULLABLE"], ip["state"]["COLUMN_DEFAULT"]) == ("YES", "2")
    assert ip["lastSeen"]["COLUMN_DEFAULT"] == "'1970-01-01 00:00:01'"
    assert (ip["PTRignore"]["COLUMN_TYPE"], ip["PTRignore"]["COLUMN_DEFAULT"]) == (
        "tinyint(1)",
        "0",
    )
    assert ip["id"]["EXTRA"] == "auto_increment"

    idx = _indexes(phpipam, "ipaddresses")
    assert idx["sid_ip_unique"] == (True, ("ip_addr", "subnetId"))
    assert idx["PRIMARY"] == (True, ("id",))
    assert idx["subnetid"] == (False, ("subnetId",))
    indexed = {c for _, cols in idx.values() for c in cols}
    assert "hostname" not in indexed and "mac" not in indexed  # phpIPAM has none either

    sec = _indexes(phpipam, "sections")
    assert sec["PRIMARY"] == (True, ("name",))
    assert sec["id_2"] == (True, ("id",))
    assert _columns(mariadb, "sections")["id"]["EXTRA"] == "auto_increment"
    assert _indexes(phpipam, "users")["PRIMARY"] == (True, ("username",))

    sub = _columns(mariadb, "subnets")
    assert sub["DNSrecursive"]["COLUMN_DEFAULT"] == "0"
    assert (sub["subnet"]["COLUMN_TYPE"], sub["mask"]["COLUMN_TYPE"]) == (
        "varchar(255)",
        "varchar(3)",
    )
    assert "on update current_timestamp" in str(sub["editDate"]["EXTRA"]).lower()


def test_edit_date_and_collation_behave_like_phpipam(phpipam: PhpipamData) -> None:
    subnet = phpipam.add_subnet("10.10.1.0/24", phpipam.add_section("Customers"))
    a = phpipam.add_address("10.10.1.3", subnet, hostname="server1.example.com")
    assert phpipam.address(a)["editDate"] is None  # type: ignore[index]
    phpipam.update_address(a, hostname="server1.example.com")  # no real change
    assert phpipam.address(a)["editDate"] is None  # type: ignore[index]
    phpipam.update_address(a, hostname="Server1.example.com")  # case-only change counts
    assert phpipam.address(a)["editDate"] is not None  # type: ignore[index]
    # utf8mb4_unicode_ci: case-, accent- and trailing-space-insensitive equality
    rows = phpipam.query(
        "SELECT id FROM ipaddresses WHERE hostname = %s", ("SÉRVER1.EXAMPLE.COM   ",)
    )
    assert [r["id"] for r in rows] == [a]


def test_addresses_are_stored_as_phpipam_does(phpipam: PhpipamData) -> None:
    sec = phpipam.add_section("Customers")
    s4 = phpipam.add_subnet("10.10.1.0/24", sec)
    s4b = phpipam.add_subnet("10.10.1.0/25", sec, master_subnet_id=s4)
    s6 = phpipam.add_subnet("fd13:6d20:29dc:cf27::/64", sec)
    folder = phpipam.add_subnet(None, "Customers", is_folder=True, description="Legacy")
    a = phpipam.add_address("10.10.1.3", s4, hostname="server1.example.com")
    phpipam.add_address("10.10.1.3", s4b, hostname="other.example.com")  # other subnet: ok
    with pytest.raises(pymysql.err.IntegrityError):  # sid_ip_unique
        phpipam.add_address("10.10.1.3", s4, hostname="again.example.com")

    row = phpipam.query(
        "SELECT ip_addr, INET_NTOA(ip_addr) AS dotted FROM ipaddresses WHERE id = %s", (a,)
    )[0]
    assert row == {"ip_addr": "168427779", "dotted": "10.10.1.3"}
    assert ip_to_decimal("10.10.1.3") == "168427779"
    v6 = phpipam.query("SELECT subnet, mask FROM subnets WHERE id = %s", (s6,))[0]
    assert v6 == {"subnet": "336395549904799703390415618052362076160", "mask": "64"}
    assert phpipam.query("SELECT subnet, mask, isFolder FROM subnets WHERE id = %s", (folder,)) == [
        {"subnet": "0", "mask": "", "isFolder": 1}
    ]
    assert decimal_to_ip("10", v6=True) == ipaddress.IPv6Address("::a")


def test_phpipam_fixture_starts_empty_with_ids_from_one(phpipam: PhpipamData) -> None:
    phpipam.generate(300)
    phpipam.add_user("jdoe")
    phpipam.reset()  # what the fixture does before each test
    assert phpipam.count("ipaddresses") == phpipam.count("subnets") == 0
    assert phpipam.count("sections") == phpipam.count("users") == 0
    assert phpipam.count("ipTags") == 4
    assert phpipam.add_section("Customers") == 1


def test_generate_bulk_loads_fast(phpipam: PhpipamData) -> None:
    t0 = time.monotonic()
    gen = phpipam.generate(100_000, domain="example.com")
    elapsed = time.monotonic() - t0
    assert phpipam.count() == gen.total == 100_000
    assert gen.ipv6 == 10_000 and gen.address_ids == range(1, 100_001)
    # a few percent of each kind of trouble, deterministically
    for kind in (gen.invalid, gen.duplicate_hostnames, gen.no_hostname, gen.duplicate_macs):
        assert 100 < kind < 5_000
    names = phpipam.query(
        "SELECT COUNT(DISTINCT LOWER(hostname)) AS n FROM ipaddresses"
        " WHERE hostname LIKE %s AND hostname NOT LIKE %s AND hostname NOT LIKE %s",
        ("%.example.com", "%\\_%", "%-.example.com"),
    )[0]["n"]
    assert names >= gen.published_a + gen.published_aaaa - gen.duplicate_hostnames
    assert elapsed < 30, f"generate(100k) took {elapsed:.1f} s"


def test_mariadb_outage_keeps_data(mariadb: MariaDBServer, phpipam: PhpipamData) -> None:
    phpipam.add_section("Customers")
    phpipam.close()
    mariadb.stop_server()
    try:
        with pytest.raises(pymysql.err.OperationalError):
            mariadb.connect_ro(connect_timeout=2)
    finally:
        mariadb.start_server()
    conn = mariadb.connect_ro()
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT name FROM sections")
            assert cur.fetchall() == (("Customers",),)
    finally:
        conn.close()
    phpipam.conn = mariadb.connect_admin()  # the fixture closes it afterwards


# -- SQLite demo schema -------------------------------------------------------------


def test_sqlite_demo_has_the_mariadb_columns(
    mariadb: MariaDBServer, phpipam: PhpipamData, tmp_path: Path
) -> None:
    db = tmp_path / "demo.db"
    create_demo_database(str(db))
    with pytest.raises(FileExistsError):
        create_demo_database(str(db))
    conn = sqlite3.connect(db)
    try:
        sqlite_tables = {
            r[0]
            for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            )
        }
        assert sqlite_tables == set(PHPIPAM_TABLES)
        for table in PHPIPAM_TABLES:
            lite = {r[1] for r in conn.execute(f"PRAGMA table_info({table})")}
            assert lite == set(_columns(mariadb, table)), table
        unique = [r for r in conn.execute("PRAGMA index_list(ipaddresses)") if r[2]]
        assert any(
            [c[2] for c in conn.execute(f"PRAGMA index_info({r[1]})")] == ["ip_addr", "subnetId"]
            for r in unique
        )

        # the sample: ~35 addresses, IPs as decimal strings, the planted bad rows
        assert conn.execute("SELECT COUNT(*) FROM ipaddresses").fetchone()[0] >= 25
        assert {r[0] for r in conn.execute("SELECT name FROM sections")} == {"Customers", "Lab"}
        hosts = {r[0] for r in conn.execute("SELECT hostname FROM ipaddresses")}
        for planted in (
            "bad_name.example.com",
            "höst.example.com",
            "printer7",
            "db.other.org",
            "trailing.example.com.",
        ):
            assert planted in hosts
        (server1,) = conn.execute(
            "SELECT COUNT(*) FROM ipaddresses WHERE hostname = 'server1.example.com'"
        ).fetchone()
        assert server1 == 2
        assert conn.execute(
            "SELECT ip_addr FROM ipaddresses WHERE hostname = 'www.example.com'"
        ).fetchone() == (ip_to_decimal("10.10.1.5"),)

        # editDate: NULL after insert, moves only when another column really changes
        row = conn.execute("SELECT id FROM ipaddresses WHERE editDate IS NULL LIMIT 1").fetchone()
        conn.execute("UPDATE ipaddresses SET state = state WHERE id = ?", row)
        assert conn.execute("SELECT editDate FROM ipaddresses WHERE id = ?", row).fetchone() == (
            None,
        )
        conn.execute("UPDATE ipaddresses SET state = 3 WHERE id = ?", row)
        assert conn.execute("SELECT editDate FROM ipaddresses WHERE id = ?", row).fetchone()[0]
    finally:
        conn.close()


# -- pdns_server and named ----------------------------------------------------------

# A minimal pipe backend serving one zone. Serial and notified serial live in files
# next to it because pdns runs several coprocesses that must agree.
TOY_BACKEND = textwrap.dedent(
    """
    import json, sys
    from pathlib import Path

    HERE = Path(__file__).parent
    ZONE = "infra.test."

    def serial():
        return int((HERE / "serial").read_text())

    def notified():
        p = HERE / "notified"
        return int(p.read_text()) if p.exists() else 0

    def records():
        s = serial()
        soa = f"ns1.infra.test. hostmaster.infra.test. {s} 3600 600 86400 60"
        return [
            ("infra.test.", "SOA", soa),
            ("infra.test.", "NS", "ns1.infra.test."),
            ("ns1.infra.test.", "A", "127.0.0.1"),
            ("www.infra.test.", "A", "192.0.2.10"),
            (f"v{s}.infra.test.", "TXT", '"serial marker"'),
        ]

    def rr(name, qtype, content):
        return {"qname": name, "qtype": qtype, "content": content, "ttl": 300,
                "domain_id": 1, "auth": 1}

    def info():
        return {"id": 1, "zone": ZONE, "kind": "master", "serial": serial(),
                "notified_serial": notified()}

    def handle(method, p):
        if method == "initialize":
            return True
        if method == "lookup":
            name, qtype = p["qname"].lower(), p["qtype"]
            return [rr(*r) for r in records()
                    if r[0] == name and (qtype == "ANY" or qtype == r[1])]
        if method == "list":
            return [rr(*r) for r in records()] if p["zonename"].lower() == ZONE else False
        if method == "getAllDomains":
            return [info()]
        if method == "getDomainInfo":
            return info() if p["name"].lower() == ZONE else False
        if method == "getUpdatedMasters":
            return [info()] if serial() != notified() else []
        if method == "setNotified":
            (HERE / "notified").write_text(str(p["serial"]))
            return True
        if method == "getAllDomainMetadata":
            return {}
        if method == "getDomainMetadata":
            return []
        return False

    for line in sys.stdin:
        req = json.loads(line)
        try:
            result = handle(req["method"], req.get("parameters", {}))
        except Exception as exc:  # keep the stream in step, say why
            print(f"toy backend: {exc!r}", file=sys.stderr)
            result = False
        sys.stdout.write(json.dumps({"result": result}) + "\\n")
        sys.stdout.flush()
    """
)


def _toy_backend(tmp_path: Path, serial: int = 1) -> str:
    script = tmp_path / "toy_backend.py"
    script.write_text(TOY_BACKEND)
    (tmp_path / "serial").write_text(str(serial))
    # the pipe connector splits on spaces and execv()s: absolute paths, no quoting
    assert " " not in sys.executable + str(script)
    return f"pipe:command={sys.executable} {script},timeout=5000"


def test_pdns_answers_from_a_remote_backend(tmp_path: Path) -> None:
    with PdnsServer(_toy_backend(tmp_path)) as pdns:
        assert pdns.port != 53
        resp = pdns.query("WWW.infra.test", "A")
        assert resp.rcode() == 0, pdns.log_tail()
        assert answers(pdns.port, "www.infra.test", "A") == {"192.0.2.10"}
        assert answers(pdns.port, "infra.test", "SOA", tcp=True) == {
            "ns1.infra.test. hostmaster.infra.test. 1 3600 600 86400 60"
        }
        assert query(pdns.port, "nope.infra.test", "A").rcode() == 3  # NXDOMAIN
        assert query(pdns.port, "other.example", "A").rcode() == 5  # REFUSED
        zone = axfr(pdns.port, "infra.test")
        assert {str(n) for n in zone.nodes} >= {"@", "www", "ns1", "v1"}

        listed = pdns.pdnsutil("list-zone", "infra.test", check=True).stdout
        assert "www.infra.test" in listed and "192.0.2.10" in listed
        assert pdns.pdns_control("rping", check=True).stdout.strip() == "PONG"
        assert f"UDP server bound to 127.0.0.1:{pdns.port}" in pdns.logs()
        pdns.restart(wait_zone="infra.test")
        assert answers(pdns.port, "www.infra.test", "A") == {"192.0.2.10"}
    assert not pdns.running


def test_named_secondary_follows_pdns_with_notify(tmp_path: Path) -> None:
    connection = _toy_backend(tmp_path, serial=1)
    pdns = PdnsServer(connection, primary=True)
    named = NamedSecondary(pdns.port, ["infra.test"])
    pdns.add_also_notify(f"127.0.0.1:{named.port}")
    try:
        pdns.start(wait_zone="infra.test")
        named.start()
        named.wait_serial("infra.test", 1, timeout=30)  # initial AXFR
        assert answers(named.port, "www.infra.test", "A") == {"192.0.2.10"}

        assert query(named.port, "v2.infra.test", "TXT").rcode() == dns.rcode.NXDOMAIN

        (tmp_path / "serial").write_text("2")  # the "data" changed
        named.wait_serial("infra.test", 2, timeout=30)  # NOTIFY -> SOA query -> transfer
        # What a client of the secondary sees (not how named lays out its files, which
        # differs between BIND 9.18 and 9.20): the new content, the old marker gone,
        # and a transfer from named equal to one from pdns.
        assert answers(named.port, "v2.infra.test", "TXT") == {'"serial marker"'}
        assert query(named.port, "v1.infra.test", "TXT").rcode() == dns.rcode.NXDOMAIN
        assert answers(named.port, "www.infra.test", "A") == {"192.0.2.10"}
        assert zone_record_set(axfr(named.port, "infra.test")) == zone_record_set(
            axfr(pdns.port, "infra.test")
        )
        assert named.rndc("status", check=True).returncode == 0
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n--- pdns log:\n{pdns.log_tail()}") from None
    finally:
        named.stop()
        pdns.stop()


# -- small helpers ------------------------------------------------------------------


def test_missing_binary_names_the_package() -> None:
    with pytest.raises(MissingBinaryError, match=r"apt-get install some-package"):
        require_binary("pphook-no-such-binary", "some-package")


def test_free_ports_are_distinct() -> None:
    ports = {free_port() for _ in range(20)}
    assert len(ports) == 20 and all(1024 < p < 65536 for p in ports)


def test_named_secondary_with_a_catalog_writes_a_config_named_accepts() -> None:
    named = NamedSecondary(5300, [], catalog="Catalog.Invalid.")
    try:
        text = named.config_path.read_text()
        assert 'zone "catalog.invalid" {' in text and "type secondary;" in text
        assert 'catalog-zones { zone "catalog.invalid" default-primaries port 5300' in text
        checkconf = require_binary("named-checkconf", "bind9-utils")
        result = subprocess.run(
            [checkconf, str(named.config_path)], capture_output=True, text=True, check=False
        )
        assert result.returncode == 0, result.stdout + result.stderr
    finally:
        named.stop()  # never started: removes its directory
