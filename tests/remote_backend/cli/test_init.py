"""`pphook init` against phpIPAM in a real MariaDB: the config it prints is what
`pphook check` accepts as it is, against the same database."""

from __future__ import annotations

import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
from infra.mariadb import RO_USER, MariaDBServer
from infra.phpipam_data import PhpipamData

from remote_backend.cli import main

CUSTOM_FIELDS = ("custom_aliases", "custom_VM_Display_Name")


@pytest.fixture
def custom_fields(phpipam: PhpipamData) -> Iterator[None]:
    """Custom fields of ipaddresses, as phpIPAM's admin page adds them (ALTER TABLE)."""
    for name in CUSTOM_FIELDS:
        phpipam.execute(f"ALTER TABLE ipaddresses ADD COLUMN `{name}` varchar(255) DEFAULT NULL")
    try:
        yield
    finally:
        for name in CUSTOM_FIELDS:
            phpipam.execute(f"ALTER TABLE ipaddresses DROP COLUMN `{name}`")


def seed(db: PhpipamData, *, classless: bool = False) -> None:
    customers = db.add_section("Customers")
    lab = db.add_section('Lab "new"\nbuilding')  # phpIPAM text is any text
    lan = db.add_subnet("10.1.2.0/24", customers)
    wide = db.add_subnet("10.20.4.0/22", customers)
    v6 = db.add_subnet("2001:db8:1:1::/64", customers)
    v6b = db.add_subnet("2001:db8:1:2::/64", lab)
    folder = db.add_subnet(None, lab, is_folder=True)
    for i in range(1, 21):
        db.add_address(f"10.1.2.{i}", lan, hostname=f"host{i}.example.com")
    for i in range(1, 6):
        db.add_address(f"10.20.5.{i}", wide, hostname=f"srv{i}.dept.example.com", state=3)
    for i in range(1, 5):
        db.add_address(f"2001:db8:1:1::{i}", v6, hostname=f"v6-{i}.cust1.local")
    db.add_address("2001:db8:1:2::1", v6b, hostname="lab1.cust1.local", state=None)
    db.add_address("10.1.2.200", lan, hostname="typo.exmaple.com")
    db.add_address("10.1.2.201", lan, hostname="printer7")
    db.add_address("10.1.2.202", lan, hostname="web_1.example.com")
    db.add_address("10.99.0.1", folder, hostname="in-folder.example.com")
    if classless:
        block = db.add_subnet("81.2.69.128/26", customers)
        db.add_address("81.2.69.130", block, hostname="public1.example.com")


def run_init(
    mariadb: MariaDBServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> tuple[Path, str]:
    secret = tmp_path / "ipam.password"
    secret.write_text(mariadb.ro_password + "\n")
    url = f"mysql+pymysql://{RO_USER}@127.0.0.1:{mariadb.port}/phpipam"
    state = f"sqlite:///{tmp_path}/state.db"
    argv = ["init", "--ipam-url", url, "--password-file", str(secret), "--state-url", state]
    capsys.readouterr()
    assert main(argv) == 0
    out = capsys.readouterr().out
    path = tmp_path / "pphook.toml"
    path.write_text(out)
    return path, out


def test_init_prints_a_config_that_check_accepts_as_it_is(
    phpipam: PhpipamData,
    mariadb: MariaDBServer,
    custom_fields: None,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    seed(phpipam)
    path, out = run_init(mariadb, tmp_path, capsys)
    assert mariadb.ro_password not in out
    config = tomllib.loads(out)
    assert config["ipam"]["password_file"] == str(tmp_path / "ipam.password")
    zones = config["zones"]
    # biggest first; the subdomain folded into its zone; the typo only a candidate
    assert zones["forward"] == ["example.com", "cust1.local"]
    assert '    "example.com",               # 27 rows (with dept.example.com: 5)' in out
    assert '# "exmaple.com",' in out
    assert '# default_domain = "example.com"' in out
    assert zones["reverse"] == [
        "10.1.2.0/24",
        "10.20.4.0/24",
        "10.20.5.0/24",
        "10.20.6.0/24",
        "10.20.7.0/24",
        "2001:db8:1::/48",
    ]
    assert "# 1 address in none of these zones" in out  # the folder's
    assert zones["nameservers"] == ["ns1.example.com", "ns2.example.com"]
    assert zones["hostmaster"] == "hostmaster.example.com"
    # sections and states with counts, as comments to choose from
    assert '#   "Customers"                    32        32' in out
    assert '#   "Lab \\"new\\"\\nbuilding"' in out
    assert '#   "Used" (id 2)                  28' in out
    assert '#   "Reserved" (id 3)               5' in out
    assert "#   NULL                            1" in out
    assert config["policy"] == {"sections": [], "publish_states": [], "allow_underscore": False}
    assert '# alias_field = "custom_aliases"' in out
    assert '"custom_VM_Display_Name"' in out and 'alias_field = "custom_VM' not in out

    assert main(["--config", str(path), "check"]) == 0
    check = capsys.readouterr().out
    assert "example.com" in check and "1.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa" in check
    # the catalog zone it proposes (commented) works once uncommented
    assert '# catalog = "catalog.invalid"' in out
    path.write_text(out.replace('# catalog = "catalog.invalid"', 'catalog = "catalog.invalid"'))
    assert main(["--config", str(path), "check"]) == 0
    assert "catalog.invalid" in capsys.readouterr().out


def test_init_proposes_classless_blocks_for_small_public_subnets(
    phpipam: PhpipamData, mariadb: MariaDBServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    seed(phpipam, classless=True)
    _, out = run_init(mariadb, tmp_path, capsys)
    assert "81.2.69.128/26" in tomllib.loads(out)["zones"]["reverse"]
    assert "classless block 128/26.69.2.81.in-addr.arpa: 1 subnet, 1 address" in out


def test_check_accepts_the_classless_blocks_init_proposes(
    phpipam: PhpipamData, mariadb: MariaDBServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    seed(phpipam, classless=True)
    path, _ = run_init(mariadb, tmp_path, capsys)
    assert main(["--config", str(path), "check"]) == 0
    out = capsys.readouterr().out
    assert "128/26.69.2.81.in-addr.arpa" in out  # the block's own zone is served


def test_a_password_in_the_url_is_never_printed(
    phpipam: PhpipamData, mariadb: MariaDBServer, capsys: pytest.CaptureFixture[str]
) -> None:
    seed(phpipam)
    assert main(["init", "--ipam-url", mariadb.url()]) == 0
    out, err = capsys.readouterr()
    assert mariadb.ro_password not in out + err
    assert f'url = "mysql+pymysql://{RO_USER}@127.0.0.1:{mariadb.port}/phpipam"' in out
    assert '# password_file = "/etc/pphook/ipam.password"' in out
    assert "password in --ipam-url is not written" in err


@pytest.mark.parametrize(
    ("argv", "code", "message"),
    [
        (["--ipam-url", "not a url"], 2, "is not an SQLAlchemy URL"),
        (["--ipam-url", "postgresql://u@h/db"], 2, "no database phpIPAM runs on"),
        (["--ipam-url", "sqlite:////nonexistent/phpipam.sqlite"], 2, "no SQLite database"),
        (
            ["--ipam-url", "mysql+pymysql://u@127.0.0.1:1/x", "--password-file", "/nonexistent"],
            2,
            "cannot read /nonexistent",
        ),
        (
            ["--ipam-url", "mysql+pymysql://u:secret@127.0.0.1:1/phpipam"],
            1,
            "cannot read the phpIPAM database",
        ),
    ],
)
def test_bad_urls_and_unreachable_databases_are_clear_errors(
    argv: list[str],
    code: int,
    message: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("PPHOOK_IPAM_URL", raising=False)
    assert main(["init", *argv]) == code
    out, err = capsys.readouterr()
    assert out == ""
    assert message in err and "Traceback" not in err and "secret" not in err
