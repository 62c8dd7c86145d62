"""`pphook pipe --relay`: forwards to the serve socket, answers for it when it cannot."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from remote_backend.connectors.relay import RelayHandler

LOOKUP = b'{"method": "lookup", "parameters": {"qname": "www.example.com.", "qtype": "ANY"}}'


class FakeServe:
    """A unix socket server answering each line with ``reply(line)`` (or hanging)."""

    def __init__(self, path: Path, reply: Callable[[bytes], bytes | None]) -> None:
        self.path = path
        self.reply = reply
        self.lines: list[bytes] = []
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.listener.bind(str(path))
        self.listener.listen(8)
        self.stop = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        with conn, conn.makefile("rb") as reader:
            for line in reader:
                self.lines.append(line)
                answer = self.reply(line)
                if answer is None:
                    self.stop.wait(10)  # hang: never answer
                    return
                conn.sendall(answer)

    def close(self) -> None:
        self.stop.set()
        self.listener.close()


@pytest.fixture
def sock_path(tmp_path: Path) -> Path:
    return tmp_path / "serve.sock"


@pytest.fixture
def echo(sock_path: Path) -> Iterator[FakeServe]:
    server = FakeServe(sock_path, lambda line: b'{"result":[],"echo":' + line.strip() + b"}\n")
    yield server
    server.close()


def test_forwards_each_line_and_returns_the_reply(echo: FakeServe, sock_path: Path) -> None:
    relay = RelayHandler(str(sock_path))
    for _ in range(3):
        reply = json.loads(relay.handle_line(LOOKUP))
        assert reply["result"] == [] and reply["echo"]["method"] == "lookup"
    assert len(echo.lines) == 3


def test_initialize_is_answered_at_once_without_serve(sock_path: Path) -> None:
    relay = RelayHandler(str(sock_path))  # nothing listens
    started = time.monotonic()
    assert json.loads(relay.handle_line(b'{"method":"initialize","parameters":{}}')) == {
        "result": True
    }
    assert time.monotonic() - started < 0.1


@pytest.mark.parametrize(
    ("method", "expected_result"),
    [("lookup", None), ("list", None), ("getAllDomains", None), ("getUpdatedMasters", False)],
)
def test_serve_down(sock_path: Path, method: str, expected_result: object) -> None:
    relay = RelayHandler(str(sock_path), connect_timeout=0.2)
    reply = json.loads(relay.handle_line(json.dumps({"method": method, "parameters": {}}).encode()))
    # no "result": pdns answers SERVFAIL and keeps its zone cache; never a cached NXDOMAIN.
    # getUpdatedMasters/setNotified get false: an error there would make pdns exit.
    assert reply.get("result") == expected_result
    assert ("result" in reply) == (expected_result is not None)


def test_serve_hanging_times_out_then_recovers(sock_path: Path) -> None:
    calls = {"n": 0}

    def reply(line: bytes) -> bytes | None:
        calls["n"] += 1
        return None if calls["n"] == 1 else b'{"result":true}\n'

    server = FakeServe(sock_path, reply)
    try:
        relay = RelayHandler(str(sock_path), timeout=0.3)
        started = time.monotonic()
        first = json.loads(relay.handle_line(LOOKUP))
        assert "result" not in first and 0.25 < time.monotonic() - started < 2
        assert json.loads(relay.handle_line(LOOKUP)) == {"result": True}  # reconnected
    finally:
        server.close()


def test_big_reply_passes_whole(sock_path: Path) -> None:
    records = [
        {"qtype": "A", "qname": f"h{i}.example.com.", "content": "10.0.0.1"} for i in range(100_000)
    ]
    big = json.dumps({"result": records}).encode() + b"\n"
    server = FakeServe(sock_path, lambda line: big)
    try:
        relay = RelayHandler(str(sock_path))
        reply = relay.handle_line(b'{"method": "list", "parameters": {"zonename": "example.com."}}')
        assert reply == big
    finally:
        server.close()


def test_relay_command_starts_without_the_database_stack(sock_path: Path) -> None:
    """pdns forks a fresh relay for every AXFR: its start-up is on the transfer's
    critical path, so `pphook pipe --relay` must not load sqlalchemy, the validators or
    the snapshot code (that took ~0.5 s of the 100k-record AXFR)."""
    probe = (
        "import sys\n"
        "from remote_backend.cli import main\n"
        "code = main(['pipe', '--relay', '--socket', sys.argv[1]])\n"
        "heavy = sorted(m for m in ('sqlalchemy', 'validators', 'remote_backend.snapshot',"
        " 'remote_backend.config') if m in sys.modules)\n"
        "print('loaded:', heavy, file=sys.stderr)\n"
        "sys.exit(code)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe, str(sock_path)],
        input=b'{"method":"initialize","parameters":{}}\n',
        capture_output=True,
        timeout=30,
        check=True,
    )
    assert done.stdout == b'{"result":true}\n'
    assert b"loaded: []" in done.stderr


def test_a_connection_serve_closed_while_idle_is_replaced_without_a_failure(
    sock_path: Path,
) -> None:
    """`serve` closes idle connections (server.idle_timeout, and the longest idle one
    at its connection cap): the relay's next request must not become a SERVFAIL."""
    from infra.rb_support import MemoryNotified, make_snapshot

    from remote_backend.connectors.unix import UnixSocketServer
    from remote_backend.protocol.handler import BackendHandler

    snapshot = make_snapshot()
    handler = BackendHandler(lambda: snapshot, MemoryNotified())
    server = UnixSocketServer(sock_path, handler, idle_timeout=0.3)
    server.bind()
    thread = threading.Thread(target=server.serve_forever)
    thread.start()
    try:
        relay = RelayHandler(str(sock_path))
        assert json.loads(relay.handle_line(LOOKUP))["result"]
        assert wait_for(lambda: server.timed_out == 1)  # serve closed the idle connection
        reply = json.loads(relay.handle_line(LOOKUP))
        assert reply["result"], reply
        assert server.accepted == 2
    finally:
        server.shutdown()
        thread.join(10)


def wait_for(condition: Callable[[], bool], timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not condition():
        time.sleep(0.02)
    return condition()


@pytest.mark.parametrize("source", ["command line", "config"])
def test_relay_timeout_with_serve_stopped(tmp_path: Path, source: str) -> None:
    """pdns.conf runs `pipe --relay --socket PATH` without a config file, so
    server.relay_timeout never reached it (it waited 2.06 s for a stopped serve when
    0.3 was configured): `--timeout` carries it on the command line. With a config
    file instead of --socket, server.relay_timeout applies."""
    import signal

    from infra.pphook import PphookServe, default_sections, pphook_command

    from remote_backend.demo import create_demo_database

    db = tmp_path / "phpipam.sqlite"
    create_demo_database(str(db))
    sock = tmp_path / "pphook.sock"
    serve = PphookServe(
        default_sections(
            f"sqlite:///{db}",
            f"sqlite:///{tmp_path}/state.db",
            sock,
            server={"relay_timeout": 0.3},
        )
    ).start()
    assert serve.proc is not None
    if source == "config":
        argv = ["--config", str(serve.config_path), "pipe", "--relay"]
    else:
        argv = ["pipe", "--relay", "--socket", str(sock), "--timeout", "0.3"]
    relay = subprocess.Popen(
        [*pphook_command(), *argv],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    assert relay.stdin is not None and relay.stdout is not None
    try:
        relay.stdin.write(b'{"method":"initialize","parameters":{}}\n' + LOOKUP + b"\n")
        relay.stdin.flush()
        assert json.loads(relay.stdout.readline()) == {"result": True}
        assert json.loads(relay.stdout.readline())["result"]  # serve answers
        os.kill(serve.proc.pid, signal.SIGSTOP)  # serve stopped: connected, never answers
        # kill() returns before every thread of serve has stopped: wait for it, or a
        # thread still running could answer the lookup below
        assert wait_stopped(serve.proc.pid), "serve did not stop"
        try:
            started = time.monotonic()
            relay.stdin.write(LOOKUP + b"\n")
            relay.stdin.flush()
            reply = json.loads(relay.stdout.readline())
            elapsed = time.monotonic() - started
        finally:
            os.kill(serve.proc.pid, signal.SIGCONT)
        assert "result" not in reply  # SERVFAIL for this query, never NXDOMAIN
        assert 0.25 < elapsed < 0.8, elapsed
    finally:
        relay.kill()
        relay.wait(5)
        serve.cleanup()


@pytest.mark.parametrize("value", ["inf", "nan", "1e300", "0", "-1", "x"])
def test_relay_command_line_refuses_unusable_timeouts(sock_path: Path, value: str) -> None:
    from infra.pphook import pphook_command

    done = subprocess.run(
        [*pphook_command(), "pipe", "--relay", "--socket", str(sock_path), "--timeout", value],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 2
    assert "argument --timeout:" in done.stderr and "Traceback" not in done.stderr
    assert "must be between 0.05 and 300 seconds" in done.stderr or "not a number" in done.stderr


def test_the_shipped_pdns_conf_command_line_runs(sock_path: Path) -> None:
    """pdns-config/pdns-relay.conf's relay command (timeouts included) as pdns runs it:
    split on single spaces, executed without a shell."""
    from infra.pphook import pphook_command

    conf = Path(__file__).resolve().parents[3] / "pdns-config" / "pdns-relay.conf"
    line = next(
        ln for ln in conf.read_text().splitlines() if ln.startswith("remote-connection-string=")
    )
    command = line.partition("pipe:command=")[2].partition(",")[0].split(" ")
    assert command[:3] == ["/opt/pphook/venv/bin/pphook", "pipe", "--relay"]
    argv = [*pphook_command(), *command[1:]]
    argv[argv.index("--socket") + 1] = str(sock_path)
    assert "--timeout" in argv and "--list-timeout" in argv
    done = subprocess.run(
        argv,
        input=b'{"method":"initialize","parameters":{}}\n' + LOOKUP + b"\n",
        capture_output=True,
        timeout=30,
        check=True,
    )
    replies = [json.loads(line) for line in done.stdout.splitlines()]
    assert replies[0] == {"result": True} and "result" not in replies[1]  # serve is down


def wait_stopped(pid: int, timeout: float = 5.0) -> bool:
    """Whether every thread of ``pid`` reached the stopped state ('T') in time."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        states = []
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/stat") as stat:
                states.append(stat.read().rpartition(")")[2].split()[0])
        if states and all(state == "T" for state in states):
            return True
        time.sleep(0.005)
    return False
