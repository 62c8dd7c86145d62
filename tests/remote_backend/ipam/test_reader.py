"""The IPAM reader on both databases it supports: the SQLite demo and MariaDB.

Same rules either way: columns by name (custom columns and order do not matter),
hostile text never breaks a read, and the session cannot write.
"""

from __future__ import annotations

from ipaddress import ip_address
from pathlib import Path

import pytest
import sqlalchemy as sa
from infra.mariadb import MariaDBServer
from infra.phpipam_data import PhpipamData

from remote_backend.config import IpamSettings
from remote_backend.demo import create_demo_database
from remote_backend.errors import CustomFieldError, IpamError
from remote_backend.ipam import IpamReader, make_engine
from remote_backend.ipam.vrfs import vrf_names
from validators import Policy, validate

DEMO_POLICY = Policy(forward_zones=("example.com",))


def test_sqlite_demo_reads_and_validates(tmp_path: Path) -> None:
    path = tmp_path / "phpipam.sqlite"
    create_demo_database(str(path))
    reader = IpamReader(make_engine(IpamSettings(url=f"sqlite:///{path}")))
    data = reader.read()
    assert len(data.addresses) == 35
    assert set(data.sections.values()) == {"Customers", "Lab"}
    assert data.tags[2] == "Used"
    publication = validate(data, DEMO_POLICY)
    published = {(r.fqdn, str(r.address)) for r in publication.records}
    assert ("server1.example.com", "10.10.1.3") in published
    assert ("dual.example.com", "2001:db8:10::10") in published
    assert "backup.example.com" in {fqdn for fqdn, _ in published}  # Backup.Example.COM
    codes = {f.code.value for f in publication.problems}
    assert {"HOSTNAME_INVALID", "ZONE_NOT_FOUND", "DUPLICATE_HOSTNAME", "DUPLICATE_IP"} <= codes


def test_sqlite_session_is_read_only(tmp_path: Path) -> None:
    path = tmp_path / "phpipam.sqlite"
    create_demo_database(str(path))
    engine = make_engine(IpamSettings(url=f"sqlite:///{path}"))
    with pytest.raises(sa.exc.OperationalError), engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM ipaddresses"))


def test_mariadb_session_refuses_writes_even_for_a_writer_account(
    mariadb: MariaDBServer, phpipam: PhpipamData
) -> None:
    # pphook never writes to phpIPAM: even given an account that could, its
    # sessions are read-only.
    engine = make_engine(IpamSettings(url=mariadb.admin_url()))
    with pytest.raises(sa.exc.DBAPIError, match="READ ONLY"), engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM ipaddresses"))


def test_custom_columns_and_column_order_do_not_matter(
    mariadb: MariaDBServer, phpipam: PhpipamData
) -> None:
    subnet = phpipam.add_subnet("10.60.0.0/24", phpipam.add_section("Custom"))
    row = phpipam.add_address("10.60.0.5", subnet, hostname="c.example.com")
    phpipam.execute("ALTER TABLE ipaddresses ADD COLUMN `custom_VM Name` VARCHAR(64) NULL FIRST")
    phpipam.execute("ALTER TABLE ipaddresses ADD COLUMN custom_DHCP_Profil VARCHAR(16) NULL")
    phpipam.execute("ALTER TABLE ipaddresses MODIFY COLUMN hostname VARCHAR(255) NULL AFTER id")
    try:
        data = IpamReader(make_engine(IpamSettings(url=mariadb.url()))).read()
        (read,) = [a for a in data.addresses if a.id == row]
        assert read.hostname == "c.example.com"
        assert read.ip_addr == str(int(ip_address("10.60.0.5")))
    finally:
        phpipam.execute("ALTER TABLE ipaddresses DROP COLUMN `custom_VM Name`")
        phpipam.execute("ALTER TABLE ipaddresses DROP COLUMN custom_DHCP_Profil")
        phpipam.execute(
            "ALTER TABLE ipaddresses MODIFY COLUMN hostname VARCHAR(255) NULL AFTER description"
        )


def test_invalid_utf8_becomes_a_rejected_name_not_a_crash(
    mariadb: MariaDBServer, phpipam: PhpipamData
) -> None:
    subnet = phpipam.add_subnet("10.61.0.0/24", phpipam.add_section("Bytes"))
    phpipam.execute("SET SESSION sql_mode = ''")
    phpipam.execute(
        "INSERT INTO ipaddresses (subnetId, ip_addr, hostname) VALUES (%s, %s, _binary %s)",
        (subnet, str(int(ip_address("10.61.0.9"))), b"x\xff\xfe.example.com"),
    )
    data = IpamReader(make_engine(IpamSettings(url=mariadb.url()))).read()
    publication = validate(data, Policy(forward_zones=("example.com",)))
    (row,) = [a for a in data.addresses if a.subnet_id == subnet]
    assert row.hostname is not None and row.hostname.endswith(".example.com")
    assert not publication.records
    assert [f.code.value for f in publication.findings_for(row.id)] == ["HOSTNAME_INVALID"]


def test_database_down_is_an_actionable_error(tmp_path: Path) -> None:
    url = "mysql+pymysql://nobody:secret@127.0.0.1:1/phpipam"
    reader = IpamReader(make_engine(IpamSettings(url=url, connect_timeout=1)))
    with pytest.raises(IpamError) as err:
        reader.read()
    message = str(err.value)
    assert "secret" not in message
    assert "ipam.url" in message


def test_alias_field_read_from_its_column_and_a_missing_one_named(
    mariadb: MariaDBServer, phpipam: PhpipamData, tmp_path: Path
) -> None:
    section = phpipam.add_section("Servers")
    subnet = phpipam.add_subnet("10.1.2.0/24", section)
    engine = make_engine(IpamSettings(url=mariadb.url()))
    with pytest.raises(CustomFieldError, match=r"^policy.alias_field: .*'custom_aliases'"):
        IpamReader(engine, "custom_aliases").read()
    phpipam.execute("ALTER TABLE ipaddresses ADD COLUMN custom_aliases varchar(255)")
    try:
        row = phpipam.add_address("10.1.2.3", subnet, hostname="a.example.com")
        phpipam.add_address("10.1.2.4", subnet, hostname="b.example.com", custom_aliases=" ")
        phpipam.update_address(row, custom_aliases="www, ftp")
        assert IpamReader(engine, "custom_aliases").read().aliases == {row: "www, ftp"}
        # the SQLite demo too: a missing column is not read as the text of its name
        path = tmp_path / "phpipam.sqlite"
        create_demo_database(str(path))
        demo = IpamReader(make_engine(IpamSettings(url=f"sqlite:///{path}")), "custom_aliases")
        with pytest.raises(CustomFieldError, match="has no column 'custom_aliases'"):
            demo.read()
    finally:
        phpipam.execute("ALTER TABLE ipaddresses DROP COLUMN custom_aliases")


def test_vrf_names_by_id(mariadb: MariaDBServer, phpipam: PhpipamData) -> None:
    customers = phpipam.add_vrf("Customers-A", "65000:1")
    phpipam.add_vrf("Lab")
    reader = IpamReader(make_engine(IpamSettings(url=mariadb.url())))
    assert vrf_names(reader) == {customers: "Customers-A", customers + 1: "Lab"}
