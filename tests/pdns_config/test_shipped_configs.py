"""The pdns and BIND configs pdns-config/ ships are accepted by the pdns_server and
named installed here: Debian 12 (pdns 4.7, BIND 9.18) or Debian 13 (pdns 4.9, BIND
9.20). A setting one of them dropped (pdns 4.9 no longer knows `master`) fails this
test instead of an operator's pdns at start-up.
"""

from __future__ import annotations

import re
import subprocess
import tomllib
from pathlib import Path

import pytest
from infra.named import PACKAGES as NAMED_PACKAGES
from infra.pdns import PACKAGES as PDNS_PACKAGES
from infra.procs import require_binary

from remote_backend.config import parse_config

PDNS_CONFIG = Path(__file__).resolve().parents[2] / "pdns-config"
PDNS_CONFS = sorted(p.name for p in PDNS_CONFIG.glob("pdns*.conf"))
# named-secondary.conf: one zone block per zone; named-catalog.conf: the catalog zone
NAMED_CONFS = sorted(p.name for p in PDNS_CONFIG.glob("named*.conf"))


def pdns_check(config_dir: Path) -> subprocess.CompletedProcess[str]:
    """pdns_server parses the config (and loads the launched modules), then exits."""
    pdns_server = require_binary("pdns_server", PDNS_PACKAGES)
    return subprocess.run(
        [pdns_server, f"--config-dir={config_dir}", "--config=check"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def named_checkconf(path: Path) -> subprocess.CompletedProcess[str]:
    checkconf = require_binary("named-checkconf", NAMED_PACKAGES)
    return subprocess.run(
        [checkconf, str(path)], capture_output=True, text=True, timeout=60, check=False
    )


def test_every_pdns_conf_is_found() -> None:
    assert {"pdns.conf", "pdns-relay.conf", "pdns-unix-small.conf"} <= set(PDNS_CONFS)
    assert {"named-secondary.conf", "named-catalog.conf"} <= set(NAMED_CONFS)


@pytest.mark.parametrize("name", PDNS_CONFS)
def test_pdns_accepts_the_shipped_config(tmp_path: Path, name: str) -> None:
    (tmp_path / "pdns.conf").write_text((PDNS_CONFIG / name).read_text())
    result = pdns_check(tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_pdns_check_refuses_a_removed_setting(tmp_path: Path) -> None:
    # what the test above would see if a shipped file used a setting pdns dropped
    text = (PDNS_CONFIG / "pdns.conf").read_text() + "no-such-setting-in-any-pdns=yes\n"
    (tmp_path / "pdns.conf").write_text(text)
    result = pdns_check(tmp_path)
    assert result.returncode != 0
    assert "unknown setting 'no-such-setting-in-any-pdns'" in result.stdout + result.stderr


@pytest.mark.parametrize("name", NAMED_CONFS)
def test_named_accepts_the_shipped_secondary_config(name: str) -> None:
    result = named_checkconf(PDNS_CONFIG / name)
    assert result.returncode == 0, result.stdout + result.stderr


def test_named_checkconf_checks_catalog_zones_statements(tmp_path: Path) -> None:
    # what the test above would see if BIND dropped the spelling the catalog snippet uses
    text = (PDNS_CONFIG / "named-catalog.conf").read_text()
    bad = tmp_path / "named.conf"
    bad.write_text(text.replace("default-primaries {", "default-primariez {", 1))
    result = named_checkconf(bad)
    assert result.returncode != 0
    assert "default-primariez" in result.stdout + result.stderr


def test_named_checkconf_refuses_an_unknown_option(tmp_path: Path) -> None:
    text = (PDNS_CONFIG / "named-secondary.conf").read_text()
    bad = tmp_path / "named.conf"
    bad.write_text(text.replace("type secondary;", "type secondary; no-such-option yes;", 1))
    result = named_checkconf(bad)
    assert result.returncode != 0
    assert "no-such-option" in result.stdout + result.stderr


# the keys pphook.toml.example shows commented out, and what the test puts in place of
# what only exists on a real host (the password file, the pdns group, /etc/pphook/zones)
_COMMENTED_KEY = re.compile(r"^# ?([a-z_]+ = .*)$")


def test_the_example_pphook_toml_is_accepted_with_every_key_shown(tmp_path: Path) -> None:
    example = (PDNS_CONFIG / "pphook.toml.example").read_text()
    zones = tmp_path / "zones"
    zones.mkdir()
    lines = []
    for line in example.splitlines():
        match = _COMMENTED_KEY.match(line)
        lines.append(match.group(1) if match else line)
    text = (
        "\n".join(lines)
        .replace('"/etc/pphook/ipam.password"', f'"{tmp_path}/ipam.password"')
        .replace('"/etc/pphook/zones"', f'"{zones}"')
        .replace('socket_group = "pdns"', 'socket_group = "0"')  # a gid is taken as is
        .replace('reverse = ["10.0.0.0/8", "2001:db8::/32"]', _WITH_BLOCKS)
    )
    assert "static_dir" in text and "classless_delegations" in text and "alias_field" in text
    (tmp_path / "ipam.password").write_text("secret\n")
    (tmp_path / "ipam.password").chmod(0o600)
    config = parse_config("pphook.toml", tomllib.loads(text), environ={})
    assert config.zones.static_dir == str(zones)
    assert config.zones.classless_delegations
    assert config.policy.alias_field == "custom_aliases"


_WITH_BLOCKS = 'reverse = ["10.0.0.0/8", "2001:db8::/32", "192.0.2.0/24", "192.0.2.64/26"]'
