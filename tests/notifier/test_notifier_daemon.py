"""`pphook notifier` as a daemon, one pass at a time, and SMTP credentials from a file."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from infra.mariadb import MariaDBServer
from infra.phpipam_data import PhpipamData
from notifier_support import Received, SmtpServer, make_config

from notifier.cli import run_report
from notifier.runner import open_notifier
from notifier.store import NotifierStore

ROOT = Path(__file__).resolve().parents[2]


def wait_for_mails(smtp: SmtpServer, n: int, timeout: float = 15.0) -> list[Received]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if len(smtp.inbox.mails) >= n:
            return smtp.inbox.take()
        time.sleep(0.05)
    raise AssertionError(f"expected {n} mails within {timeout} s, got {len(smtp.inbox.mails)}")


def test_daemon_mails_new_problems_as_they_appear(
    phpipam: PhpipamData, mariadb: MariaDBServer, smtp: SmtpServer, tmp_path: Path
) -> None:
    section = phpipam.add_section("S")
    subnet = phpipam.add_subnet("10.5.0.0/24", section)
    first = phpipam.add_address("10.5.0.1", subnet, hostname="one_bad.example.com")
    notifier = open_notifier(make_config(tmp_path, mariadb.url(), smtp.port, interval=1))
    stop = threading.Event()
    thread = threading.Thread(target=notifier.run_forever, args=(stop,))
    thread.start()
    try:
        (mail,) = wait_for_mails(smtp, 1)
        assert f"Invalid hostname, row {first}" in mail.text
        second = phpipam.add_address("10.5.0.2", subnet, hostname="two_bad.example.com")
        (mail,) = wait_for_mails(smtp, 1)
        assert f"Invalid hostname, row {second}" in mail.text
        assert f"row {first}" not in mail.text
        time.sleep(2.5)  # more passes: nothing new, nothing mailed
        assert smtp.inbox.take() == []
    finally:
        stop.set()
        thread.join(timeout=10)
        notifier.close()
    assert not thread.is_alive()


def test_daemon_survives_smtp_outage(
    phpipam: PhpipamData, mariadb: MariaDBServer, smtp: SmtpServer, tmp_path: Path
) -> None:
    section = phpipam.add_section("S")
    subnet = phpipam.add_subnet("10.5.0.0/24", section)
    phpipam.add_address("10.5.0.1", subnet, hostname="one_bad.example.com")
    smtp.stop()
    notifier = open_notifier(make_config(tmp_path, mariadb.url(), smtp.port, interval=1))
    stop = threading.Event()
    thread = threading.Thread(target=notifier.run_forever, args=(stop,))
    thread.start()
    try:
        time.sleep(2.5)  # a few failing passes
        smtp.start()
        (mail,) = wait_for_mails(smtp, 1)
        assert "1 new DNS problem" in mail.subject
    finally:
        stop.set()
        thread.join(timeout=10)
        notifier.close()


def _toml(tmp_path: Path, mariadb: MariaDBServer, smtp: SmtpServer, extra: str = "") -> Path:
    path = tmp_path / "pphook.toml"
    path.write_text(
        f"""
[ipam]
url = "{mariadb.url()}"
[state]
url = "sqlite:///{tmp_path / "state.db"}"
[zones]
forward = ["example.com"]
nameservers = ["ns1.example.com"]
hostmaster = "hostmaster.example.com"
[notifier]
smtp_host = "127.0.0.1"
smtp_port = {smtp.port}
from = "pphook@example.com"
to = ["dns-admins@example.com"]
interval = 1
{extra}
"""
    )
    return path


def test_daemon_process_stops_cleanly_on_sigterm(
    phpipam: PhpipamData, mariadb: MariaDBServer, smtp: SmtpServer, tmp_path: Path
) -> None:
    section = phpipam.add_section("S")
    subnet = phpipam.add_subnet("10.5.0.0/24", section)
    phpipam.add_address("10.5.0.1", subnet, hostname="one_bad.example.com")
    config = _toml(tmp_path, mariadb, smtp)
    code = (
        "import sys\n"
        "from remote_backend.config import load_config\n"
        "from remote_backend.logs import setup_logging\n"
        "from notifier.cli import run_daemon\n"
        "setup_logging()\n"
        "sys.exit(run_daemon(load_config(sys.argv[1], require=('notifier',))))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("PPHOOK_IPAM_URL", None)
    proc = subprocess.Popen(
        [sys.executable, "-c", code, str(config)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for_mails(smtp, 1)
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=15)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert out == ""  # the daemon writes nothing to stdout
    assert "notifier stopped" in err


def test_report_is_refused_while_another_pass_holds_the_lease(
    phpipam: PhpipamData,
    mariadb: MariaDBServer,
    smtp: SmtpServer,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    section = phpipam.add_section("S")
    subnet = phpipam.add_subnet("10.5.0.0/24", section)
    phpipam.add_address("10.5.0.1", subnet, hostname="one_bad.example.com")
    config = make_config(tmp_path, mariadb.url(), smtp.port)
    other = NotifierStore(config.state.url)
    assert other.acquire_lease("node2:4242:abcd", 600, time.time()) is None
    assert run_report(config, False) == 1
    assert "another notifier pass is running (node2:4242:abcd)" in caplog.text
    assert smtp.inbox.take() == []
    other.release_lease("node2:4242:abcd")
    other.close()
    assert run_report(config, False) == 0
    assert len(smtp.inbox.take()) == 1


def test_smtp_auth_password_comes_from_the_file(
    phpipam: PhpipamData, mariadb: MariaDBServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from aiosmtpd.smtp import AuthResult, LoginPassword

    seen: list[tuple[bytes, bytes]] = []

    def auth(
        server: object, session: object, envelope: object, mech: str, data: object
    ) -> AuthResult:
        assert isinstance(data, LoginPassword)
        seen.append((data.login, data.password))
        return AuthResult(success=data.password == b"from-the-file", handled=False)

    server = SmtpServer(authenticator=auth, auth_required=True, auth_require_tls=False).start()
    try:
        section = phpipam.add_section("S")
        subnet = phpipam.add_subnet("10.5.0.0/24", section)
        phpipam.add_address("10.5.0.1", subnet, hostname="one_bad.example.com")
        secret = tmp_path / "smtp.password"
        secret.write_text("from-the-file\n")
        secret.chmod(0o600)
        no_file = make_config(tmp_path, mariadb.url(), server.port, smtp_user="pphook")
        assert run_report(no_file, False) == 1
        assert "notifier.smtp_password_file is not" in caplog.text
        config = make_config(
            tmp_path,
            mariadb.url(),
            server.port,
            smtp_user="pphook",
            smtp_password_file=str(secret),
        )
        assert run_report(config, False) == 0
        assert seen[-1] == (b"pphook", b"from-the-file")
        assert len(server.inbox.take()) == 1
        assert "sending SMTP credentials without TLS" in caplog.text
    finally:
        server.stop()
