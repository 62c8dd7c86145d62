"""The unix-socket connector: many concurrent pdns connections, bad clients isolated,
socket file created with the right mode, no leaked threads or fds."""

from __future__ import annotations

import contextlib
import grp
import json
import os
import socket
import stat
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from remote_backend.connectors.unix import UnixSocketServer
from remote_backend.errors import SocketInUseError, SocketSetupError
from remote_backend.protocol.handler import BackendHandler

FALSE = b'{"result":false}\n'


def request(method: str, **params: Any) -> bytes:
    return json.dumps({"method": method, "parameters": params}).encode() + b"\n"


LOOKUP_WWW = request("lookup", qtype="ANY", qname="www.example.com.", **{"zone-id": 1})


class Client:
    """A pdns-like client: one request, then wait for its reply line."""

    def __init__(self, path: Path, timeout: float = 10.0) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(str(path))
        self.reader = self.sock.makefile("rb")

    def ask(self, line: bytes) -> bytes:
        self.sock.sendall(line)
        return self.reader.readline()

    def close(self) -> None:
        self.reader.close()
        self.sock.close()


def open_fds() -> dict[str, str]:
    fds = {}
    for fd in os.listdir("/proc/self/fd"):
        with contextlib.suppress(OSError):  # the fd of the listdir itself is gone
            fds[fd] = os.readlink(f"/proc/self/fd/{fd}")
    return fds


def opened_since(before: dict[str, str]) -> dict[str, str]:
    """The descriptors open now that were not open (to the same thing) at ``before``: a
    leak. One closed since is not (another test's object collected meanwhile)."""
    return {fd: target for fd, target in open_fds().items() if before.get(fd) != target}


def wait_until(condition: Callable[[], bool], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


@contextlib.contextmanager
def running(server: UnixSocketServer) -> Iterator[UnixSocketServer]:
    server.bind()
    thread = threading.Thread(target=server.serve_forever, name="test-unix-server")
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        thread.join(10)
        assert not thread.is_alive()


@pytest.fixture
def sock_path(tmp_path: Path) -> Path:
    return tmp_path / "pphook.sock"


@pytest.fixture
def server(sock_path: Path, handler: BackendHandler) -> Iterator[UnixSocketServer]:
    with running(UnixSocketServer(sock_path, handler)) as srv:
        yield srv


def test_requests_and_replies_in_order_on_one_connection(
    server: UnixSocketServer, sock_path: Path
) -> None:
    client = Client(sock_path)
    assert json.loads(client.ask(request("initialize", path=str(sock_path)))) == {"result": True}
    for _ in range(5):
        assert json.loads(client.ask(LOOKUP_WWW))["result"][0]["content"] == "10.1.1.5"
    # Several requests in one write: one reply each, in order.
    client.sock.sendall(LOOKUP_WWW + request("getDomainInfo", name="example.com.") + b"junk\n")
    assert json.loads(client.reader.readline())["result"][0]["qtype"] == "A"
    assert json.loads(client.reader.readline())["result"]["zone"] == "example.com."
    assert client.reader.readline() == FALSE
    client.close()


def test_socket_file_mode_default_0660(server: UnixSocketServer, sock_path: Path) -> None:
    st = os.stat(sock_path)
    assert stat.S_ISSOCK(st.st_mode)
    assert stat.S_IMODE(st.st_mode) == 0o660
    assert not [p for p in sock_path.parent.iterdir() if p.name.startswith(".pp")]


@pytest.mark.parametrize("mode", [0o600, 0o660, 0o666])
def test_socket_mode_ignores_umask(sock_path: Path, handler: BackendHandler, mode: int) -> None:
    old = os.umask(0o000)  # a permissive umask must not widen the socket
    try:
        server = UnixSocketServer(sock_path, handler, mode=mode)
        server.bind()
    finally:
        os.umask(old)
    try:
        assert stat.S_IMODE(os.stat(sock_path).st_mode) == mode
    finally:
        server.shutdown()
    assert not sock_path.exists()


def test_socket_group(sock_path: Path, handler: BackendHandler) -> None:
    group = grp.getgrgid(os.getgid()).gr_name
    server = UnixSocketServer(sock_path, handler, group=group)
    server.bind()
    try:
        assert os.stat(sock_path).st_gid == os.getgid()
    finally:
        server.shutdown()


def test_unknown_group_is_a_clear_error(sock_path: Path, handler: BackendHandler) -> None:
    with pytest.raises(SocketSetupError, match="no-such-group-pphook"):
        UnixSocketServer(sock_path, handler, group="no-such-group-pphook").bind()
    assert not sock_path.exists()


def test_stale_socket_file_is_replaced(sock_path: Path, handler: BackendHandler) -> None:
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(str(sock_path))
    stale.close()  # the file stays, nobody listens: a crashed predecessor
    with running(UnixSocketServer(sock_path, handler)):
        assert json.loads(Client(sock_path).ask(LOOKUP_WWW))["result"]


def test_refuses_to_start_when_another_server_answers(
    server: UnixSocketServer, sock_path: Path, handler: BackendHandler
) -> None:
    inode = os.stat(sock_path).st_ino
    with pytest.raises(SocketInUseError, match="already answering"):
        UnixSocketServer(sock_path, handler).bind()
    assert os.stat(sock_path).st_ino == inode  # untouched, and still serving
    assert json.loads(Client(sock_path).ask(LOOKUP_WWW))["result"]


def test_refuses_to_replace_a_regular_file(sock_path: Path, handler: BackendHandler) -> None:
    sock_path.write_text("precious")
    with pytest.raises(SocketSetupError, match="not a socket"):
        UnixSocketServer(sock_path, handler).bind()
    assert sock_path.read_text() == "precious"


def test_missing_directory_and_long_path(tmp_path: Path, handler: BackendHandler) -> None:
    with pytest.raises(SocketSetupError, match="cannot create"):
        UnixSocketServer(tmp_path / "missing" / "s.sock", handler).bind()
    with pytest.raises(SocketSetupError, match="limited to"):
        UnixSocketServer(tmp_path / ("x" * 120), handler).bind()


def test_many_concurrent_clients(server: UnixSocketServer, sock_path: Path) -> None:
    names = {
        "www.example.com.": "10.1.1.5",
        "NS1.example.com.": "10.0.0.1",
        "ns2.Example.Com.": "10.0.0.2",
        "deep.sub.example.com.": "10.2.0.1",
    }
    errors: list[str] = []
    barrier = threading.Barrier(40)

    def worker(n: int) -> None:
        client = Client(sock_path)
        try:
            barrier.wait(10)
            for i in range(100):
                qname = list(names)[(n + i) % len(names)]
                reply = json.loads(client.ask(request("lookup", qtype="A", qname=qname)))
                record = reply["result"][0]
                if record["qname"] != qname or record["content"] != names[qname]:
                    errors.append(f"{qname}: {record}")
        except Exception as exc:  # collected: an assert in a thread would be lost
            errors.append(repr(exc))
        finally:
            client.close()

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(40)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    assert wait_until(lambda: server.connection_count == 0)


def test_bad_clients_only_affect_their_own_connection(
    sock_path: Path, handler: BackendHandler
) -> None:
    with running(UnixSocketServer(sock_path, handler, max_line=1024)):
        good = Client(sock_path)
        bad = Client(sock_path)
        assert json.loads(good.ask(LOOKUP_WWW))["result"]

        # Garbage, a huge line, binary junk: false each, and the connection stays usable.
        assert bad.ask(b"\x00\xff garbage {{{\n") == FALSE
        bad.sock.sendall(b"x" * 5_000_000)  # 5 MB, far over max_line, arrives in pieces
        assert json.loads(good.ask(LOOKUP_WWW))["result"]  # served meanwhile
        # The huge line is answered false once (as soon as it passes max_line); the
        # newline that ends it gets no reply of its own, so the next reply is the lookup's.
        assert bad.ask(b"\n") == FALSE
        assert json.loads(bad.ask(LOOKUP_WWW))["result"]

        # A client that sends half a request and vanishes.
        rude = Client(sock_path)
        rude.sock.sendall(b'{"method":"lookup","param')
        rude.sock.close()
        # A client that vanishes without reading its replies.
        deaf = Client(sock_path)
        deaf.sock.sendall(LOOKUP_WWW * 1000)
        deaf.sock.close()

        for _ in range(20):
            assert json.loads(good.ask(LOOKUP_WWW))["result"]
        good.close()
        bad.close()


def idle_baseline(server: UnixSocketServer, sock_path: Path) -> tuple[int, int]:
    """Threads and file descriptors of an idle server whose lazily created objects
    exist already (one lookup answered and its connection gone): a leak baseline."""
    warm_up = Client(sock_path)
    assert json.loads(warm_up.ask(LOOKUP_WWW))["result"]
    warm_up.close()
    assert wait_until(lambda: server.connection_count == 0)
    return threading.active_count(), open_fds()


def test_connect_close_cycles_leak_no_threads_or_fds(
    server: UnixSocketServer, sock_path: Path
) -> None:
    threads_before, fds_before = idle_baseline(server, sock_path)
    for i in range(1000):
        client = Client(sock_path)
        if i % 3 == 0:
            assert json.loads(client.ask(LOOKUP_WWW))["result"]
        client.close()
    assert wait_until(
        lambda: server.connection_count == 0 and threading.active_count() <= threads_before
    ), f"{threading.active_count()} threads, {threads_before} before"
    assert wait_until(lambda: not opened_since(fds_before)), opened_since(fds_before)
    assert server.accepted >= 1001


def test_shutdown_closes_clients_and_removes_the_socket(
    sock_path: Path, handler: BackendHandler
) -> None:
    threads_before = threading.active_count()
    server = UnixSocketServer(sock_path, handler)
    server.bind()
    serving = threading.Thread(target=server.serve_forever)
    serving.start()
    clients = [Client(sock_path) for _ in range(5)]
    for c in clients:
        assert json.loads(c.ask(LOOKUP_WWW))["result"]
    server.shutdown()
    serving.join(10)
    assert not serving.is_alive()
    assert not sock_path.exists()
    for c in clients:
        assert c.reader.readline() == b""  # EOF: the server closed the connection
        c.close()
    assert wait_until(lambda: threading.active_count() <= threads_before)
    with pytest.raises(OSError):
        Client(sock_path)


def test_shutdown_without_serving_and_twice(sock_path: Path, handler: BackendHandler) -> None:
    server = UnixSocketServer(sock_path, handler)
    server.bind()
    assert sock_path.exists()
    server.shutdown()
    server.shutdown()
    assert not sock_path.exists()


def test_shutdown_leaves_a_successors_socket_alone(
    sock_path: Path, handler: BackendHandler
) -> None:
    old = UnixSocketServer(sock_path, handler)
    old.bind()
    os.unlink(sock_path)  # e.g. an operator removed it and started a new server
    with running(UnixSocketServer(sock_path, handler)):
        old.shutdown()
        assert sock_path.exists()
        assert json.loads(Client(sock_path).ask(LOOKUP_WWW))["result"]


def test_at_the_cap_the_longest_idle_connection_makes_room(
    sock_path: Path, handler: BackendHandler, caplog: pytest.LogCaptureFixture
) -> None:
    """A client holding idle connections up to the cap must not lock pdns out (its
    reconnects got ECONNRESET beyond 511): the connection idle longest is closed."""
    with running(UnixSocketServer(sock_path, handler, max_connections=2)) as server:
        first, second = Client(sock_path), Client(sock_path)
        assert json.loads(first.ask(LOOKUP_WWW))["result"]
        assert json.loads(second.ask(LOOKUP_WWW))["result"]
        third = Client(sock_path)
        assert json.loads(third.ask(LOOKUP_WWW))["result"]  # admitted and answered
        assert first.reader.readline() == b""  # idle longest: closed by the server
        assert json.loads(second.ask(LOOKUP_WWW))["result"]
        assert (server.evicted, server.rejected) == (1, 0)
        assert "connection cap reached (server.max_connections = 2)" in caplog.text
        for c in (first, second, third):
            c.close()


def test_at_the_cap_half_sent_lines_go_first(sock_path: Path, handler: BackendHandler) -> None:
    with running(UnixSocketServer(sock_path, handler, max_connections=2)):
        idle, stuck = Client(sock_path), Client(sock_path)
        assert json.loads(idle.ask(LOOKUP_WWW))["result"]
        stuck.sock.sendall(LOOKUP_WWW[:20])  # half a request, newer than idle's silence
        time.sleep(0.1)
        newcomer = Client(sock_path)
        assert json.loads(newcomer.ask(LOOKUP_WWW))["result"]
        assert stuck.reader.readline() == b""
        assert json.loads(idle.ask(LOOKUP_WWW))["result"]
        for c in (idle, stuck, newcomer):
            c.close()


class BlockingHandler:
    """Answers only once ``release`` is set: connections that are busy answering."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.started = threading.Semaphore(0)

    def handle_line(self, line: bytes) -> bytes:
        self.started.release()
        self.release.wait(10)
        return b'{"result":true}\n'


def test_at_the_cap_with_every_connection_busy_the_new_one_is_refused(sock_path: Path) -> None:
    handler = BlockingHandler()
    with running(UnixSocketServer(sock_path, handler, max_connections=2)) as server:
        busy = [Client(sock_path) for _ in range(2)]
        for c in busy:
            c.sock.sendall(b"{}\n")
        assert handler.started.acquire(timeout=5) and handler.started.acquire(timeout=5)
        late = Client(sock_path)
        try:  # closed at once: EOF, or a reset if our request raced the close
            late.sock.sendall(LOOKUP_WWW)
            assert late.reader.readline() == b""
        except (BrokenPipeError, ConnectionResetError):
            pass
        assert server.rejected == 1
        handler.release.set()
        for c in busy:
            assert json.loads(c.reader.readline()) == {"result": True}
        for c in (*busy, late):
            c.close()


def test_idle_and_half_open_connections_are_closed(
    sock_path: Path, handler: BackendHandler, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO", logger="pphook.connector.unix")
    server = UnixSocketServer(sock_path, handler, idle_timeout=1.5, partial_line_timeout=0.3)
    with running(server):
        idle, half = Client(sock_path), Client(sock_path)
        assert json.loads(idle.ask(LOOKUP_WWW))["result"]
        started = time.monotonic()
        half.sock.sendall(LOOKUP_WWW[:20])
        assert half.reader.readline() == b""  # half a line: closed after 0.3 s
        assert time.monotonic() - started < 1.2
        assert json.loads(idle.ask(LOOKUP_WWW))["result"]  # idle 0.3 s: still open
        assert idle.reader.readline() == b""  # then silent for 1.5 s: closed
        assert 1.3 < time.monotonic() - started < 5
        assert server.timed_out == 2
        assert wait_until(lambda: server.connection_count == 0)
        assert "silent for 1.5 s (server.idle_timeout)" in caplog.text
        idle.close()
        half.close()


def test_thousands_of_concurrent_connections(server: UnixSocketServer, sock_path: Path) -> None:
    """Waves of 300 simultaneous connections (3000 in all), well-behaved or not."""
    threads_before, fds_before = idle_baseline(server, sock_path)
    for wave in range(10):
        clients = [Client(sock_path) for _ in range(300)]
        for i, client in enumerate(clients):
            kind = (wave + i) % 4
            if kind == 0:
                client.sock.sendall(LOOKUP_WWW)
            elif kind == 1:
                client.sock.sendall(b"\xff\x00 not json\n")
            elif kind == 2:
                client.sock.sendall(b'{"method":"lookup","parameters":{"qname":')  # cut short
        for i, client in enumerate(clients):
            if (wave + i) % 4 == 0:
                assert json.loads(client.reader.readline())["result"]
            client.close()
        # the server keeps answering a normal client in the middle of the storm
        probe = Client(sock_path)
        assert json.loads(probe.ask(LOOKUP_WWW))["result"]
        probe.close()
    assert wait_until(
        lambda: server.connection_count == 0 and threading.active_count() <= threads_before,
        timeout=20,
    ), f"{threading.active_count()} threads, {threads_before} before"
    assert wait_until(lambda: not opened_since(fds_before)), opened_since(fds_before)


def test_serve_keeps_admitting_pdns_with_a_stuck_client_at_the_cap(tmp_path: Path) -> None:
    """A real `pphook serve` with server.max_connections and server.idle_timeout: a
    client holding every connection idle cannot lock pdns out, and idle ones end."""
    from infra.pphook import PphookServe, default_sections

    from remote_backend.demo import create_demo_database

    db = tmp_path / "phpipam.sqlite"
    create_demo_database(str(db))
    sock = tmp_path / "pphook.sock"
    sections = default_sections(
        f"sqlite:///{db}",
        f"sqlite:///{tmp_path}/state.db",
        sock,
        server={"max_connections": 8, "idle_timeout": 2},
    )
    serve = PphookServe(sections).start()
    stuck = [Client(sock) for _ in range(8)]
    try:
        for client in stuck:
            assert json.loads(client.ask(LOOKUP_WWW))["result"]
        pdns_like = Client(sock)
        assert json.loads(pdns_like.ask(LOOKUP_WWW))["result"]  # admitted at the cap
        assert stuck[0].reader.readline() == b""  # the longest idle made room
        assert "connection cap reached (server.max_connections = 8)" in serve.logs()
        started = time.monotonic()
        assert stuck[1].reader.readline() == b""  # silent 2 s: closed
        assert time.monotonic() - started < 5
        pdns_like.close()
    finally:
        for client in stuck:
            client.close()
        serve.cleanup()
