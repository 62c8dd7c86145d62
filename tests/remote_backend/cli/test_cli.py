"""The `pphook` command's one-shot verbs on the embedded SQLite demo database."""

from __future__ import annotations

import os
from pathlib import Path

import dns.zone
import pytest

from remote_backend.cli import main
from remote_backend.demo import create_demo_database


@pytest.fixture
def config(tmp_path: Path) -> Path:
    db = tmp_path / "phpipam.sqlite"
    create_demo_database(str(db))
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
[server]
socket = "{tmp_path}/none.sock"
"""
    )
    return path


def test_check_prints_zones_and_problems(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--config", str(config), "check"]) == 0
    out = capsys.readouterr().out
    assert "example.com" in out and "8.b.d.0.1.0.0.2.ip6.arpa" in out
    assert "HOSTNAME_INVALID" in out and "DUPLICATE_IP" in out
    assert "pphook serve: not reachable" in out


def test_export_is_a_zone_file(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--config", str(config), "export", "Example.COM."]) == 0
    zone = dns.zone.from_text(capsys.readouterr().out, origin="example.com.", relativize=False)
    assert zone.find_rdataset("server1.example.com.", "A")[0].address == "10.10.1.3"


def test_export_unknown_zone_fails_with_the_list(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--config", str(config), "export", "example.org"]) == 1
    err = capsys.readouterr().err
    assert "example.org" in err and "served zones: example.com" in err


def test_explain_by_ip_shows_conflict(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--config", str(config), "explain", "10.10.2.50"]) == 0
    out = capsys.readouterr().out
    assert "conflict-a.example.com" in out and "conflict-b.example.com" in out
    assert "DUPLICATE_IP" in out
    assert "PTR 50.2.10.10.in-addr.arpa -> conflict-a.example.com" in out


def test_explain_by_reverse_name(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--config", str(config), "explain", "3.1.10.10.in-addr.arpa."]) == 0
    assert "server1.example.com" in capsys.readouterr().out


def test_config_error_names_file_and_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "bad.toml"
    path.write_text('[ipam]\nurl = "sqlite:///x"\n[zones]\nforward = "example.com"\n')
    assert main(["--config", str(path), "check"]) == 1
    err = capsys.readouterr().err
    assert str(path) in err and "zones.forward" in err


def test_database_error_is_non_zero(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "pphook.toml"
    path.write_text(
        f"""
[ipam]
url = "mysql+pymysql://u:pw@127.0.0.1:1/phpipam"
connect_timeout = 1
[state]
url = "sqlite:///{tmp_path}/state.db"
[zones]
forward = ["example.com"]
nameservers = ["ns1.example.com"]
hostmaster = "hostmaster.example.com"
"""
    )
    assert main(["--config", str(path), "check"]) == 1
    err = capsys.readouterr().err
    assert "cannot" in err and "pw@" not in err


def test_password_file_readable_by_others_warns(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    secret = tmp_path / "ipam.password"
    secret.write_text("x\n")
    os.chmod(secret, 0o644)
    text = config.read_text().replace("[state]", f'password_file = "{secret}"\n[state]')
    config.write_text(text)
    assert main(["--config", str(config), "check"]) == 0
    assert "readable or writable by others" in capsys.readouterr().out


def test_check_accepts_an_empty_notifier_section(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """docs/configuration.md: check needs no [notifier]; an empty one is no notifier."""
    config.write_text(config.read_text() + "[notifier]\n")
    assert main(["--config", str(config), "check"]) == 0
    assert "config: " in capsys.readouterr().out


def test_check_refuses_an_invalid_notifier_section_and_names_its_verbs(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config.write_text(config.read_text() + '[notifier]\nsmtp_host = "mail.example.com"\n')
    assert main(["--config", str(config), "check"]) == 1
    err = capsys.readouterr().err
    assert "notifier.to: no recipient" in err
    assert "`pphook notifier` and `pphook report`" in err
    # the verb that reads it refuses it too (a config error: usage exit code)
    assert main(["--config", str(config), "report", "--dry-run"]) == 2
    assert "notifier.to: no recipient" in capsys.readouterr().err
