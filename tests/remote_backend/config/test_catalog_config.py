"""``zones.catalog``: accepted names, refused names (one line naming file and key), and
`check` refusing what `serve` refuses; a static file for the catalog is refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from remote_backend.cli import main
from remote_backend.config import load_config
from remote_backend.demo import create_demo_database
from remote_backend.errors import ConfigError
from remote_backend.zones.static import scan

BASE = """
[ipam]
url = "sqlite:///{db}"
[state]
url = "sqlite:///{tmp}/state.db"
[zones]
forward = ["example.com"]
reverse = ["10.0.0.0/8", "192.0.2.64/26", "2001:db8::/32"]
nameservers = ["ns1.example.com"]
hostmaster = "hostmaster.example.com"
{extra}
[server]
socket = "{tmp}/none.sock"
"""


def write(tmp_path: Path, extra: str) -> Path:
    db = tmp_path / "phpipam.sqlite"
    if not db.exists():
        create_demo_database(str(db))
    path = tmp_path / "pphook.toml"
    path.write_text(BASE.format(db=db, tmp=tmp_path, extra=extra))
    return path


def test_unset_means_no_catalog(tmp_path: Path) -> None:
    config = load_config(str(write(tmp_path, "")), environ={})
    assert config.zones.catalog is None
    assert config.zones.all_zone_names == config.zones.member_zone_names


def test_name_is_normalised_and_served_last(tmp_path: Path) -> None:
    config = load_config(str(write(tmp_path, 'catalog = " Catalog.Invalid. "')), environ={})
    assert config.zones.catalog == "catalog.invalid"
    assert config.zones.all_zone_names == (*config.zones.member_zone_names, "catalog.invalid")


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ('"example.com"', "'example.com' is already a served zone"),
        ('"catalog.example.com"', "inside served zone 'example.com'"),
        ('"com"', "above served zone 'example.com'"),
        ('"10.in-addr.arpa"', "already a served zone"),
        ('"in-addr.arpa"', "above served zone '10.in-addr.arpa'"),
        ('"x.64/26.2.0.192.in-addr.arpa"', "not a zone name"),  # '/' is no name character
        ('"catalog..invalid"', "empty label"),
        ('"cata log.invalid"', "space"),
        ('"."', "not a zone name"),
        ("1", "expected a zone name"),
        ('"' + ".".join("x" * 50 for _ in range(4)) + '.dns.invalid"', "too long"),
    ],
)
def test_refused_with_file_key_and_reason(tmp_path: Path, value: str, words: str) -> None:
    path = write(tmp_path, f"catalog = {value}")
    with pytest.raises(ConfigError) as err:
        load_config(str(path), environ={})
    message = str(err.value)
    assert message.startswith(f"{path}: zones.catalog: ")
    assert words in message and "\n" not in message


def test_check_refuses_what_serve_refuses(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, 'catalog = "sub.example.com"')
    assert main(["--config", str(path), "check"]) == 1
    err = capsys.readouterr().err
    assert "zones.catalog" in err and "inside served zone 'example.com'" in err
    assert "Traceback" not in err


def test_a_static_file_for_the_catalog_is_refused(tmp_path: Path) -> None:
    (tmp_path / "catalog.invalid.zone").write_text("www 300 IN A 192.0.2.1\n")
    (tmp_path / "example.com.zone").write_text("www 300 IN A 192.0.2.1\n")
    found, problems = scan(str(tmp_path), ["example.com"], "catalog.invalid")
    (message,) = problems.values()
    assert "catalog zone (zones.catalog)" in message
    assert "remove the file" in message
    assert list(found) == ["example.com"]  # the other files are still read
