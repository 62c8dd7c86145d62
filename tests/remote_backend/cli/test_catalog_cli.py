"""`check`, `export` and `explain` with ``zones.catalog`` on the embedded demo database."""

from __future__ import annotations

import ipaddress
import sqlite3
from pathlib import Path

import dns.zone
import pytest

from remote_backend.cli import main
from remote_backend.demo import create_demo_database
from remote_backend.zones.catalog import member_label

MEMBERS = ("example.com", "10.in-addr.arpa", "168.192.in-addr.arpa", "8.b.d.0.1.0.0.2.ip6.arpa")


@pytest.fixture
def config(tmp_path: Path) -> Path:
    db = tmp_path / "phpipam.sqlite"
    create_demo_database(str(db))
    # a phpIPAM host named under the catalog (in a served subnet): never published there
    with sqlite3.connect(db) as conn:
        conn.execute(
            "INSERT INTO ipaddresses (id, subnetId, ip_addr, hostname, state, PTRignore,"
            " editDate) VALUES (900, 1, ?, 'rogue.catalog.invalid', 2, 0,"
            " '2025-03-01 10:00:00')",
            (str(int(ipaddress.ip_address("10.10.1.200"))),),
        )
    path = tmp_path / "pphook.toml"
    path.write_text(
        f"""
[ipam]
url = "sqlite:///{db}"
[state]
url = "sqlite:///{tmp_path}/state.db"
[zones]
forward = ["example.com"]
reverse = ["10.0.0.0/8", "192.168.0.0/16", "2001:db8::/32"]
nameservers = ["ns1.example.com", "ns2.example.com"]
hostmaster = "hostmaster.example.com"
catalog = "catalog.invalid"
[server]
socket = "{tmp_path}/none.sock"
"""
    )
    return path


def test_check_lists_the_catalog_with_the_zones(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--config", str(config), "check"]) == 0
    rows = {line.split()[0]: line.split() for line in capsys.readouterr().out.splitlines() if line}
    # SOA, NS, version TXT and one PTR per member zone
    assert rows["catalog.invalid"][2] == str(3 + len(MEMBERS))


def test_export_is_the_catalog(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--config", str(config), "export", "catalog.invalid"]) == 0
    zone = dns.zone.from_text(capsys.readouterr().out, origin="catalog.invalid.", relativize=False)
    records = {
        (name.to_text(), dns.rdatatype.to_text(rdataset.rdtype), rdata.to_text())
        for name, rdataset in zone.iterate_rdatasets()
        for rdata in rdataset
        if rdataset.rdtype != dns.rdatatype.SOA
    }
    assert records == {
        ("catalog.invalid.", "NS", "invalid."),
        ("version.catalog.invalid.", "TXT", '"2"'),
        *((f"{member_label(m)}.zones.catalog.invalid.", "PTR", m + ".") for m in MEMBERS),
    }


def test_a_phpipam_host_under_the_catalog_is_not_published(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--config", str(config), "explain", "rogue.catalog.invalid"]) == 0
    out = capsys.readouterr().out
    assert "ZONE_NOT_FOUND" in out
    assert main(["--config", str(config), "export", "catalog.invalid"]) == 0
    assert "rogue" not in capsys.readouterr().out
