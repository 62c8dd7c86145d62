"""The [notifier] section: parsed by the notifier, required only by its verbs."""

from __future__ import annotations

from pathlib import Path

import pytest

from notifier.settings import NotifierSettings
from remote_backend.config import load_config, parse_config
from remote_backend.errors import ConfigError

GOOD = """
[ipam]
url = "mysql+pymysql://pphook@127.0.0.1:3306/phpipam"

[zones]
forward = ["Example.COM."]
reverse = ["10.0.0.0/8", "2001:db8::/32"]
nameservers = ["ns1.example.com", "ns2.example.com"]
hostmaster = "hostmaster@example.com"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "pphook.toml"
    path.write_text(text)
    return path


def test_notifier_required_when_asked(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as err:
        load_config(write(tmp_path, GOOD), require=("notifier",), environ={})
    assert "[notifier]" in str(err.value)


def test_notifier_rejects_header_injection_in_recipients(tmp_path: Path) -> None:
    text = GOOD + '[notifier]\nto = ["a@example.com\\r\\nBcc: x@y"]\n'
    with pytest.raises(ConfigError) as err:
        load_config(write(tmp_path, text), require=("notifier",), environ={})
    assert "notifier.to" in str(err.value)


def test_empty_notifier_section_counts_as_absent(tmp_path: Path) -> None:
    """An empty [notifier] is not configured: the backend's verbs ignore it, the
    notifier's verbs ask for it."""
    path = write(tmp_path, GOOD + "[notifier]\n")
    config = load_config(path, parse_all=True, environ={})
    assert "notifier" not in config.extensions
    with pytest.raises(ConfigError) as err:
        load_config(path, require=("notifier",), environ={})
    assert "[notifier]" in str(err.value)


def test_notifier_section_parsed_by_the_notifier(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD + '[notifier]\nto = ["a@example.com"]\n')
    settings = load_config(path, require=("notifier",), environ={}).extensions["notifier"]
    assert isinstance(settings, NotifierSettings)
    assert settings.to == ("a@example.com",)
    # the backend's verbs do not parse it at all
    assert load_config(path, environ={}).extensions == {}


def _zones_config(tmp_path: Path, secondaries: object) -> dict[str, object]:
    return {
        "ipam": {"url": "sqlite://"},
        "zones": {
            "forward": ["example.com"],
            "nameservers": ["ns1.example.com"],
            "hostmaster": "hostmaster.example.com",
            "secondaries": secondaries,
        },
    }


def test_config_rejects_negative_lag(tmp_path: Path) -> None:
    data = {
        **_zones_config(tmp_path, []),
        "notifier": {"to": ["a@example.com"], "secondary_lag": -1},
    }
    with pytest.raises(ConfigError, match=r"notifier\.secondary_lag: must be >= 0"):
        parse_config(str(tmp_path / "p.toml"), data, require=("notifier",), environ={})
