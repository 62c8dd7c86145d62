"""Config: every error names the file and the key; defaults as docs/configuration.md says."""

from __future__ import annotations

import ipaddress
import json
import tomllib
from pathlib import Path

import pytest

from remote_backend.config import load_config, redact_url
from remote_backend.errors import ConfigError
from validators.model import DuplicateHostnamePolicy

GOOD = """
[ipam]
url = "mysql+pymysql://pphook@127.0.0.1:3306/phpipam"

[zones]
forward = ["Example.COM."]
reverse = ["10.0.0.0/8", "2001:db8::/32"]
nameservers = ["ns1.example.com", "ns2.example.com"]
hostmaster = "hostmaster@example.com"
"""


def write(tmp_path: Path, text: str) -> str:
    path = tmp_path / "pphook.toml"
    path.write_text(text)
    return str(path)


def test_defaults_and_normalisation(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, GOOD), environ={})
    assert config.zones.forward == ("example.com",)
    assert config.zones.reverse == (
        ipaddress.ip_network("10.0.0.0/8"),
        ipaddress.ip_network("2001:db8::/32"),
    )
    assert config.zones.reverse_zone_names == ("10.in-addr.arpa", "8.b.d.0.1.0.0.2.ip6.arpa")
    assert config.zones.hostmaster == "hostmaster.example.com"
    assert config.zones.ttl == 3600
    assert config.policy.publish_states == ()
    assert config.policy.duplicate_hostname is DuplicateHostnamePolicy.KEEP_LOWEST_ID
    assert config.policy.forward_zones == ("example.com",)
    assert config.server.refresh_interval == 2.0
    assert config.state.url == "sqlite:////var/lib/pphook/state.db"
    assert config.extensions == {}


def test_env_overrides_ipam_url(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, GOOD), environ={"PPHOOK_IPAM_URL": "sqlite:///x.db"})
    assert config.ipam.url == "sqlite:///x.db"


def test_config_path_from_environment(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD)
    config = load_config(None, environ={"PPHOOK_CONFIG": path})
    assert config.path == path


def test_missing_file_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as err:
        load_config(str(tmp_path / "nope.toml"), environ={})
    assert "nope.toml" in str(err.value)
    assert "PPHOOK_CONFIG" in str(err.value)


def test_bad_toml_names_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, "[zones\nforward=")
    with pytest.raises(ConfigError) as err:
        load_config(path, environ={})
    assert path in str(err.value) and "TOML" in str(err.value)


@pytest.mark.parametrize(
    ("snippet", "key", "words"),
    [
        ('[zones]\nttl = "long"', "zones.ttl", "expected seconds"),
        ('[zones]\nreverse = ["10.1.0.0/20"]', "zones.reverse", "octet"),
        ('[zones]\nreverse = ["2001:db8::/30"]', "zones.reverse", "nibble"),
        ('[zones]\nreverse = ["10.1.2.3/8"]', "zones.reverse", "not a network"),
        ('[zones]\ndefault_domain = "other.org"', "zones.default_domain", "not in zones.forward"),
        ('[policy]\nduplicate_hostname = "newest"', "policy.duplicate_hostname", "keep-lowest-id"),
        ("[policy]\nallow_underscore = 1", "policy.allow_underscore", "true or false"),
        ("[policy]\npublish_states = [true]", "policy.publish_states", "neither"),
        ('[server]\nsocket_mode = "rw"', "server.socket_mode", "octal"),
        ("[server]\nrefresh_interval = 0", "server.refresh_interval", "between"),
        ("[policy]\nallow_underscores = true", "policy.allow_underscores", "unknown key"),
        ("[zonez]\nx = 1", "zonez", "unknown section"),
    ],
)
def test_each_error_names_file_and_key(tmp_path: Path, snippet: str, key: str, words: str) -> None:
    check_error(tmp_path, snippet, key, words)


def _dump(data: dict[str, dict[str, object]]) -> str:
    """Tiny TOML writer for flat tables of str/int/bool/list values."""
    out = []
    for section, table in data.items():
        out.append(f"[{section}]")
        for key, value in table.items():
            out.append(f"{key} = {json.dumps(value)}")
    return "\n".join(out) + "\n"


def check_error(tmp_path: Path, snippet: str, key: str, words: str) -> None:
    data = tomllib.loads(GOOD)
    for section, table in tomllib.loads(snippet).items():
        data.setdefault(section, {}).update(table)
    path = write(tmp_path, _dump(data))
    with pytest.raises(ConfigError) as err:
        load_config(path, environ={})
    message = str(err.value)
    assert path in message
    assert key in message
    assert words in message


def test_all_problems_reported_at_once(tmp_path: Path) -> None:
    text = """
[ipam]
url = 5
[zones]
forward = ["example.com"]
ttl = -1
"""
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as err:
        load_config(path, environ={})
    message = str(err.value)
    for key in ("ipam.url", "zones.ttl", "zones.nameservers", "zones.hostmaster"):
        assert key in message


def test_password_file_read_and_stripped(tmp_path: Path) -> None:
    secret = tmp_path / "pw"
    secret.write_text("s3cret\n")
    text = GOOD.replace("[zones]", f'password_file = "{secret}"\n[zones]')
    config = load_config(write(tmp_path, text), environ={})
    assert config.ipam_password() == "s3cret"
    assert "s3cret" not in repr(config)


def test_unreadable_password_file_names_key(tmp_path: Path) -> None:
    # refused while the config is read: `check` must not say ok to what the verbs refuse
    text = GOOD.replace("[zones]", f'password_file = "{tmp_path}/missing"\n[zones]')
    with pytest.raises(ConfigError) as err:
        load_config(write(tmp_path, text), environ={})
    assert "ipam.password_file" in str(err.value) and "missing" in str(err.value)


def test_redact_url_hides_password() -> None:
    assert redact_url("mysql+pymysql://u:pw@h:3306/db") == "mysql+pymysql://u:***@h:3306/db"
    assert redact_url("sqlite:///x.db") == "sqlite:///x.db"
