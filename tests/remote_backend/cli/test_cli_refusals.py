"""Every config `check` accepts works, and what a verb would refuse, `check` refuses.

Each case once passed `pphook check` ("config: ... ok", exit 0) and then broke a verb
with a traceback, a crash of the relay, or SERVFAIL behind pdns (issue 14). Now it is
one line per problem, naming the file, the key and what to do, from every verb alike.
"""

from __future__ import annotations

import grp
import os
import subprocess
import time
from pathlib import Path

import pytest
from infra.pphook import pphook_command, run_pphook

from remote_backend.cli import main
from remote_backend.demo import create_demo_database


@pytest.fixture
def demo_db(tmp_path: Path) -> Path:
    db = tmp_path / "phpipam.sqlite"
    create_demo_database(str(db))
    return db


def config_text(tmp_path: Path, db: Path, *, ipam: str = "", zones: str = "", **more: str) -> str:
    state = more.get("state", f'url = "sqlite:///{tmp_path}/state.db"')
    server = more.get("server", "")
    return f"""
[ipam]
url = "sqlite:///{db}"
{ipam}
[state]
{state}
[zones]
forward = ["example.com"]
reverse = ["10.0.0.0/8", "192.168.0.0/16", "2001:db8::/32"]
nameservers = ["ns1.example.com", "ns2.example.com"]
hostmaster = "hostmaster.example.com"
{zones}
[server]
socket = "{tmp_path}/pphook.sock"
{server}
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "pphook.toml"
    path.write_text(text)
    return path


def check(path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(["--config", str(path), "check"])
    out, err = capsys.readouterr()
    return code, out, err


def assert_refused(code: int, out: str, err: str, path: Path, *keys: str) -> None:
    assert code == 1, (out, err)
    assert "ok" not in out and "Traceback" not in err
    for key in keys:
        lines = [line for line in err.splitlines() if key in line]
        assert lines, f"{key} not named in: {err}"
        assert all(str(path) in line for line in lines), err


@pytest.mark.parametrize(
    ("zones", "keys"),
    [
        ("soa_refresh = -5", ["zones.soa_refresh"]),
        ("soa_retry = 0", ["zones.soa_retry"]),
        ("soa_expire = 99999999999999999999", ["zones.soa_expire"]),
        ("soa_minimum = 2147483648", ["zones.soa_minimum"]),
        ("soa_minimum = 604800", ["zones.soa_minimum"]),  # RFC 2308: > 1 day
        ("soa_refresh = 86400\nsoa_retry = 7200\nsoa_expire = 90000", ["zones.soa_expire"]),
        (
            "soa_refresh = -5\nsoa_retry = 0\nsoa_expire = 99999999999999999999",
            ["zones.soa_refresh", "zones.soa_retry", "zones.soa_expire"],
        ),
    ],
)
def test_soa_timers_out_of_range_are_refused(
    tmp_path: Path, demo_db: Path, capsys: pytest.CaptureFixture[str], zones: str, keys: list[str]
) -> None:
    path = write(tmp_path, config_text(tmp_path, demo_db, zones=zones))
    assert_refused(*check(path, capsys), path, *keys)


def test_unwise_soa_timers_are_warnings(
    tmp_path: Path, demo_db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    zones = "soa_refresh = 300\nsoa_retry = 600\nsoa_expire = 86400\nsoa_minimum = 43200"
    path = write(tmp_path, config_text(tmp_path, demo_db, zones=zones))
    code, out, _ = check(path, capsys)
    assert code == 0
    for key in ("zones.soa_refresh", "zones.soa_retry", "zones.soa_expire", "zones.soa_minimum"):
        assert f"warning: {path}: {key}: " in out


@pytest.mark.parametrize("key", ["ipam", "state"])
@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("notaurl", "is not a database URL"),
        ("postgresql://u@h/x", "postgresql databases are not supported"),
        ("mysql+pymysql://u@h:notaport/x", "is the port a number"),
        ("mysql+pymysql://u@h:99999/x", "out of range"),
        ("mysql://u@h/x", "is not installed"),
        ("mysql+nosuchdriver://u@h/x", "unknown driver"),
    ],
)
def test_unusable_database_urls_are_one_line_errors(
    tmp_path: Path,
    demo_db: Path,
    capsys: pytest.CaptureFixture[str],
    key: str,
    url: str,
    words: str,
) -> None:
    text = config_text(tmp_path, demo_db)
    if key == "ipam":
        text = text.replace(f'url = "sqlite:///{demo_db}"', f'url = "{url}"')
    else:
        text = text.replace(f'url = "sqlite:///{tmp_path}/state.db"', f'url = "{url}"')
    path = write(tmp_path, text)
    code, out, err = check(path, capsys)
    assert_refused(code, out, err, path, f"{key}.url")
    assert words in err and len(err.strip().splitlines()) == 1


def test_url_from_the_environment_is_checked_too(tmp_path: Path, demo_db: Path) -> None:
    path = write(tmp_path, config_text(tmp_path, demo_db))
    done = run_pphook(path, "check", env={"PPHOOK_IPAM_URL": "notaurl"})
    assert done.returncode == 1
    assert "ipam.url (from $PPHOOK_IPAM_URL)" in done.stderr and "Traceback" not in done.stderr


@pytest.mark.parametrize(
    ("server", "key", "words"),
    [
        ('metrics = "0.0.0.0:99999"', "server.metrics", "out of range"),
        ('metrics = "127.0.0.1"', "server.metrics", "HOST:PORT"),
        ('metrics = "no-such-host.invalid:9153"', "server.metrics", "does not resolve"),
        ('socket_group = "no-such-group-pphook"', "server.socket_group", "does not exist"),
        ("relay_timeout = inf", "server.relay_timeout", "between"),
        ("relay_timeout = 1e300", "server.relay_timeout", "between"),
        ("relay_timeout = 0", "server.relay_timeout", "between"),
        ("relay_list_timeout = nan", "server.relay_list_timeout", "between"),
        # an integer too big for a float: OverflowError, not a range check, before
        ("refresh_interval = " + "9" * 400, "server.refresh_interval", "between"),
        ('socket_mode = "4777"', "server.socket_mode", "setuid"),
        ('socket_mode = "1660"', "server.socket_mode", "sticky"),
        ('socket_mode = "0000"', "server.socket_mode", "owner"),
        ('socket_mode = "0060"', "server.socket_mode", "owner"),
        ("idle_timeout = 0", "server.idle_timeout", "between"),
        ("max_connections = 1", "server.max_connections", "between"),
        ('socket = "/' + "s" * 120 + '"', "server.socket", "limited to 107 bytes"),
    ],
)
def test_server_settings_serve_would_refuse(
    tmp_path: Path,
    demo_db: Path,
    capsys: pytest.CaptureFixture[str],
    server: str,
    key: str,
    words: str,
) -> None:
    text = config_text(tmp_path, demo_db, server=server)
    if server.startswith("socket ="):
        text = text.replace(f'socket = "{tmp_path}/pphook.sock"\n', "")
    path = write(tmp_path, text)
    code, out, err = check(path, capsys)
    assert_refused(code, out, err, path, key)
    assert words in err


def test_unwise_socket_settings_are_warnings(
    tmp_path: Path, demo_db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(shared, 0o1777)
    text = config_text(tmp_path, demo_db, server='socket_mode = "0777"')
    text = text.replace(f"{tmp_path}/pphook.sock", f"{shared}/pphook.sock")
    path = write(tmp_path, text)
    code, out, _ = check(path, capsys)
    assert code == 0
    assert f"warning: {path}: server.socket_mode: 0777: every local user can connect" in out
    assert f"warning: {path}: server.socket: {shared} is writable by every user" in out


def test_serve_logs_the_warnings_at_start(tmp_path: Path, demo_db: Path) -> None:
    from infra.pphook import PphookServe, default_sections

    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(shared, 0o777)
    sections = default_sections(
        f"sqlite:///{demo_db}",
        f"sqlite:///{tmp_path}/state.db",
        shared / "pphook.sock",
        server={"socket_mode": "0666"},
    )
    serve = PphookServe(sections).start()
    try:
        logs = serve.logs()
    finally:
        serve.cleanup()
    assert "server.socket_mode: 0666: every local user can connect" in logs
    assert f"{shared} is writable by every user" in logs


def test_an_existing_socket_group_is_accepted(
    tmp_path: Path, demo_db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    group = grp.getgrgid(os.getgid()).gr_name
    path = write(tmp_path, config_text(tmp_path, demo_db, server=f'socket_group = "{group}"'))
    assert check(path, capsys)[0] == 0


BAD_SOA = "soa_refresh = -5"


@pytest.mark.parametrize(
    "verb",
    [["serve"], ["pipe"], ["pipe", "--relay"], ["export", "example.com"], ["explain", "x"]],
)
def test_every_verb_refuses_what_check_refuses(
    tmp_path: Path, demo_db: Path, verb: list[str]
) -> None:
    path = write(tmp_path, config_text(tmp_path, demo_db, zones=BAD_SOA))
    done = run_pphook(path, *verb, timeout=30)
    assert done.returncode == 2, done
    assert done.stderr.startswith(f"pphook: {path}: zones.soa_refresh: must be between 1 and")
    assert "Traceback" not in done.stderr and done.stdout == ""


def test_config_dev_zero_is_refused_at_once(tmp_path: Path) -> None:
    started = time.monotonic()
    done = subprocess.run(
        [*pphook_command(), "--config", "/dev/zero", "check"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 1 and time.monotonic() - started < 10
    assert "/dev/zero is not a regular file" in done.stderr


def test_config_fifo_does_not_hang_and_big_files_are_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fifo = tmp_path / "fifo.toml"
    os.mkfifo(fifo)
    assert main(["--config", str(fifo), "check"]) == 1
    assert "is not a regular file" in capsys.readouterr().err
    big = tmp_path / "big.toml"
    big.write_text("# padding\n" * 200_000)
    assert main(["--config", str(big), "check"]) == 1
    assert "more than the 1048576 allowed" in capsys.readouterr().err


def test_missing_sqlite_phpipam_is_reported_and_never_created(
    tmp_path: Path, demo_db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nowhere.sqlite"
    text = config_text(tmp_path, demo_db).replace(f"sqlite:///{demo_db}", f"sqlite:///{missing}")
    path = write(tmp_path, text)
    code, out, err = check(path, capsys)
    assert code == 1
    assert "phpIPAM database" not in out  # not "reachable"
    assert f"{missing} does not exist" in err
    assert not missing.exists()


def test_explain_escapes_the_operators_argument(
    tmp_path: Path, demo_db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, config_text(tmp_path, demo_db))
    hostile = "\x1b]0;owned\x07\x1b[2Jhost\u202e.example.org"
    assert main(["--config", str(path), "explain", hostile]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\x07" not in out and "\u202e" not in out
    assert "\\x1b]0;owned\\x07" in out
