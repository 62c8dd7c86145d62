"""The whole-zones keys (SPEC §10): what they give, and every mistake refused with the
file and the key, from `check` as from every other verb."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest

from remote_backend.cli import main
from remote_backend.config import load_config
from remote_backend.errors import ConfigError

BASE = """
[ipam]
url = "mysql+pymysql://pphook@127.0.0.1:3306/phpipam"
[state]
url = "sqlite:///{tmp}/state.db"
[server]
socket = "{tmp}/pphook.sock"
[zones]
forward = ["example.com"]
reverse = ["10.0.0.0/8", "2001:db8::/32", "192.0.2.0/24", "192.0.2.64/26"]
nameservers = ["ns1.example.com", "ns2.example.com"]
hostmaster = "hostmaster.example.com"
"""


def write(tmp_path: Path, zones: str = "", policy: str = "") -> Path:
    path = tmp_path / "pphook.toml"
    text = BASE.format(tmp=tmp_path) + zones + "\n"
    if policy:
        text += "[policy]\n" + policy + "\n"
    path.write_text(text)
    return path


def test_the_whole_zone_keys(tmp_path: Path) -> None:
    (tmp_path / "zones").mkdir()
    path = write(
        tmp_path,
        f'static_dir = "{tmp_path}/zones"\n'
        'nameserver_addresses = { "NS1.example.com." = ["192.0.2.53", "2001:db8::53"] }\n'
        'classless_name = "{first}-{prefix}"\n'
        'classless_delegations = { "192.0.2.128/27" = ["NS.Customer.example."] }\n',
        'alias_field = "custom_aliases"',
    )
    config = load_config(str(path), environ={})
    zones = config.zones
    assert zones.static_dir == f"{tmp_path}/zones"
    assert zones.nameserver_addresses == {
        "ns1.example.com": (
            ipaddress.ip_address("192.0.2.53"),
            ipaddress.ip_address("2001:db8::53"),
        )
    }
    # IPv6 reverse zones beside classless blocks and delegations (this once crashed)
    assert zones.reverse_zone_names[-1] == "64-26.2.0.192.in-addr.arpa"
    assert zones.classless_delegations == {
        ipaddress.ip_network("192.0.2.128/27"): ("ns.customer.example",)
    }
    assert config.policy.alias_field == "custom_aliases"
    assert config.policy.delegated_reverse == (ipaddress.ip_network("192.0.2.128/27"),)


@pytest.mark.parametrize(
    ("zones", "policy", "key", "words"),
    [
        ('classless_name = "{first}.{prefix}"', "", "zones.classless_name", "one DNS label"),
        ('classless_name = "{nope}"', "", "zones.classless_name", "is not a template"),
        ('classless_name = "block"', "", "zones.classless_name", "one DNS label per block"),
        (
            'classless_delegations = { "192.0.2.300/27" = ["ns1.customer.example"] }',
            "",
            "zones.classless_delegations",
            "is not a network",
        ),
        (
            'classless_delegations = { "192.0.2.0/24" = ["ns1.customer.example"] }',
            "",
            "zones.classless_delegations",
            "IPv4 /25 to /32",
        ),
        (
            'classless_delegations = { "198.51.100.0/26" = ["ns1.customer.example"] }',
            "",
            "zones.classless_delegations",
            "no served reverse zone holds it",
        ),
        (
            'classless_delegations = { "192.0.2.64/27" = ["ns1.customer.example"] }',
            "",
            "zones.classless_delegations",
            "overlaps 192.0.2.64/26, a classless block pphook serves itself",
        ),
        (
            'classless_delegations = { "192.0.2.128/27" = "ns1.customer.example" }',
            "",
            "zones.classless_delegations",
            "expected a list of name server names",
        ),
        (
            'classless_delegations = { "192.0.2.128/27" = ["bad_name.example"] }',
            "",
            "zones.classless_delegations",
            "name server 'bad_name.example'",
        ),
        (
            'nameserver_addresses = { "ns1.other.org" = ["192.0.2.53"] }',
            "",
            "zones.nameserver_addresses",
            "is in no served forward zone",
        ),
        (
            'nameserver_addresses = { "ns1.example.com" = ["192.0.2.300"] }',
            "",
            "zones.nameserver_addresses",
            "'192.0.2.300' is not an IP address",
        ),
        (
            'nameserver_addresses = { "ns1.example.com" = "192.0.2.53" }',
            "",
            "zones.nameserver_addresses",
            "expected a list of IP addresses",
        ),
        ('reverse = ["192.0.2.0/26", "192.0.2.32/27"]', "", "zones.reverse", "overlap"),
        ('static_dir = "/nonexistent/zones"', "", "zones.static_dir", "does not exist"),
        ("", 'alias_field = "custom aliases; DROP"', "policy.alias_field", "not a column name"),
    ],
)
def test_each_mistake_is_refused_with_file_and_key(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    zones: str,
    policy: str,
    key: str,
    words: str,
) -> None:
    text = zones
    if zones.startswith("reverse ="):  # replaces the base's reverse list
        path = write(tmp_path, "", policy)
        path.write_text(
            path.read_text().replace(
                'reverse = ["10.0.0.0/8", "2001:db8::/32", "192.0.2.0/24", "192.0.2.64/26"]', text
            )
        )
    else:
        path = write(tmp_path, text, policy)
    with pytest.raises(ConfigError) as caught:
        load_config(str(path), environ={})
    assert caught.value.key == key
    assert str(caught.value).startswith(f"{path}: {key}: ") and words in str(caught.value)
    # `check` says the same, in one line, and refuses
    assert main(["--config", str(path), "check"]) == 1
    out, err = capsys.readouterr()
    assert err == f"pphook: {caught.value}\n" and "Traceback" not in err
    assert "ok" not in out


def test_a_static_dir_that_is_a_file_or_unreadable(tmp_path: Path) -> None:
    plain = tmp_path / "zones"
    plain.write_text("not a directory\n")
    path = write(tmp_path, f'static_dir = "{plain}"')
    with pytest.raises(ConfigError, match=r"zones.static_dir: .* is not a directory"):
        load_config(str(path), environ={})
    plain.unlink()
    plain.mkdir(mode=0o000)
    try:
        if _can_list(plain):  # root reads every directory
            return
        with pytest.raises(ConfigError, match=r"zones.static_dir: cannot list"):
            load_config(str(path), environ={})
    finally:
        plain.chmod(0o755)


def test_a_relative_static_dir_is_a_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "zones").mkdir()
    monkeypatch.chdir(tmp_path)
    config = load_config(str(write(tmp_path, 'static_dir = "zones"')), environ={})
    assert any("zones.static_dir: 'zones' is relative" in w for w in config.warnings)


def _can_list(path: Path) -> bool:
    try:
        list(path.iterdir())
    except PermissionError:
        return False
    return True
