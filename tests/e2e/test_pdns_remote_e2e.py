"""End to end: the real pdns_server 4.7 asks our UnixSocketServer, dnspython asks pdns.

pdns runs with caches off (every query reaches the backend), the zone cache on (so
getAllDomains is exercised as in production) and primary mode with a 1 s cycle, so
getUpdatedMasters/setNotified run for real. The backend runs in a thread of the test
process, over the small snapshot of rb_support.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import dns.flags
import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import pytest
from infra.rb_support import MemoryNotified, make_snapshot

from remote_backend.connectors.unix import UnixSocketServer
from remote_backend.protocol.handler import BackendHandler
from remote_backend.snapshot import Snapshot

pytestmark = pytest.mark.integration

PDNS = "/usr/sbin/pdns_server"
REMOTE_MODULE = "/usr/lib/x86_64-linux-gnu/pdns/libremotebackend.so"
V6_WWW = "5.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa."


@dataclass
class Pdns:
    port: int
    proc: subprocess.Popen[bytes]
    log: Path
    snapshot: Snapshot
    notified: MemoryNotified
    handler: BackendHandler

    def query(
        self, name: str, rdtype: str, *, tcp: bool = False, timeout: float = 5.0
    ) -> dns.message.Message:
        q = dns.message.make_query(name, rdtype)
        q.flags &= ~dns.flags.RD
        send = dns.query.tcp if tcp else dns.query.udp
        return send(q, "127.0.0.1", port=self.port, timeout=timeout)

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")


def _free_port() -> int:
    """A port free for TCP and UDP on 127.0.0.1 (tiny race until pdns binds; fine here)."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
            tcp.bind(("127.0.0.1", 0))
            port: int = tcp.getsockname()[1]
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
                try:
                    udp.bind(("127.0.0.1", port))
                except OSError:
                    continue
            return port
    raise RuntimeError("no free port on 127.0.0.1")


def _require_pdns() -> None:
    if not (os.access(PDNS, os.X_OK) or shutil.which("pdns_server")):
        pytest.fail(f"{PDNS} not found: apt-get install pdns-server pdns-backend-remote")
    if not os.path.exists(REMOTE_MODULE):
        pytest.fail(f"{REMOTE_MODULE} not found: apt-get install pdns-backend-remote")


def _start_pdns(
    workdir: Path, connection_string: str, env: dict[str, str] | None = None
) -> tuple[int, subprocess.Popen[bytes], Path]:
    _require_pdns()
    port = _free_port()
    log = workdir / "pdns.log"
    argv = [
        shutil.which("pdns_server") or PDNS,
        "--no-config",
        "--daemon=no",
        "--guardian=no",
        "--disable-syslog",
        "--write-pid=no",
        f"--socket-dir={workdir}",
        "--local-address=127.0.0.1",
        f"--local-port={port}",
        "--launch=remote",
        f"--remote-connection-string={connection_string}",
        "--zone-cache-refresh-interval=300",
        "--cache-ttl=0",
        "--query-cache-ttl=0",
        "--negquery-cache-ttl=0",
        "--primary=yes",
        "--only-notify=",  # no NOTIFY packets to the (fake) nameserver addresses
        "--xfr-cycle-interval=1",
        "--loglevel=6",
    ]
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, env=env
        )
    probe = dns.message.make_query("example.com.", "SOA")
    deadline = time.monotonic() + 20
    while True:
        if proc.poll() is not None:
            pytest.fail(f"pdns_server exited with {proc.returncode}:\n{log.read_text()}")
        try:
            resp = dns.query.udp(probe, "127.0.0.1", port=port, timeout=0.5)
            if resp.rcode() == dns.rcode.NOERROR:
                return port, proc, log
        except (dns.exception.Timeout, OSError):
            pass
        if time.monotonic() > deadline:
            _stop_pdns(proc)
            pytest.fail(f"pdns_server did not answer within 20 s:\n{log.read_text()}")
        time.sleep(0.2)


def _stop_pdns(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)  # by PID
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


@pytest.fixture(scope="module")
def pdns(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pdns]:
    """pdns -> unix socket -> UnixSocketServer in a thread of this process."""
    workdir = tmp_path_factory.mktemp("pdns")
    snapshot = make_snapshot()
    notified = MemoryNotified(fail_set=True)  # starts with a broken store: pdns must survive
    handler = BackendHandler(lambda: snapshot, notified)
    server = UnixSocketServer(workdir / "pphook.sock", handler)
    server.bind()  # before pdns: its zone-cache fill at start-up exits pdns on failure
    serving = threading.Thread(target=server.serve_forever, name="e2e-unix", daemon=True)
    serving.start()
    try:
        port, proc, log = _start_pdns(workdir, f"unix:path={workdir / 'pphook.sock'},timeout=5000")
        try:
            yield Pdns(port, proc, log, snapshot, notified, handler)
        finally:
            _stop_pdns(proc)
    finally:
        server.shutdown()
        serving.join(10)


COPROCESS = """
from infra.rb_support import MemoryNotified, make_snapshot
from remote_backend.connectors.pipe import serve_stdio
from remote_backend.protocol.handler import BackendHandler

snapshot = make_snapshot()
serve_stdio(BackendHandler(lambda: snapshot, MemoryNotified()))
"""


@pytest.fixture(scope="module")
def pdns_pipe(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, Path]]:
    """pdns -> pipe coprocess (one per backend instance) -> serve_stdio."""
    workdir = tmp_path_factory.mktemp("pdns-pipe")
    script = workdir / "coprocess.py"
    script.write_text(COPROCESS)
    here = Path(__file__).resolve().parent
    env = {**os.environ, "PYTHONPATH": f"{here.parents[1]}:{here.parent}"}
    # pdns splits the command on spaces and execv()s it: absolute paths only.
    port, proc, log = _start_pdns(workdir, f"pipe:command={sys.executable} {script}", env)
    try:
        yield port, log
    finally:
        _stop_pdns(proc)


def answer_set(msg: dns.message.Message, rdtype: str) -> set[str]:
    wanted = dns.rdatatype.from_text(rdtype)
    return {rd.to_text() for rrset in msg.answer if rrset.rdtype == wanted for rd in rrset}


def assert_authoritative(msg: dns.message.Message, rcode: dns.rcode.Rcode) -> None:
    assert msg.rcode() == rcode, dns.rcode.to_text(msg.rcode())
    assert msg.flags & dns.flags.AA


def test_a_and_aaaa(pdns: Pdns) -> None:
    resp = pdns.query("www.example.com.", "A")
    assert_authoritative(resp, dns.rcode.NOERROR)
    assert answer_set(resp, "A") == {"10.1.1.5"}
    assert resp.answer[0].ttl == pdns.snapshot.ttl
    assert answer_set(pdns.query("www.example.com.", "AAAA"), "AAAA") == {"2001:db8::5"}
    assert answer_set(pdns.query("example.com.", "A"), "A") == {"10.0.0.10"}  # apex A


def test_mixed_case_question_is_answered_in_its_case(pdns: Pdns) -> None:
    resp = pdns.query("WwW.ExAmPlE.CoM.", "A")
    assert_authoritative(resp, dns.rcode.NOERROR)
    assert answer_set(resp, "A") == {"10.1.1.5"}
    assert resp.answer[0].name.to_text() == "WwW.ExAmPlE.CoM."


def test_ptr_in_addr_and_ip6(pdns: Pdns) -> None:
    resp = pdns.query("5.1.1.10.in-addr.arpa.", "PTR")
    assert_authoritative(resp, dns.rcode.NOERROR)
    assert answer_set(resp, "PTR") == {"www.example.com."}
    resp = pdns.query(V6_WWW, "PTR")
    assert_authoritative(resp, dns.rcode.NOERROR)
    assert answer_set(resp, "PTR") == {"www.example.com."}


def test_soa_and_ns(pdns: Pdns) -> None:
    for zone in pdns.snapshot.zones:
        resp = pdns.query(zone.name + ".", "SOA")
        assert_authoritative(resp, dns.rcode.NOERROR)
        assert answer_set(resp, "SOA") == {on_the_wire("SOA", zone.soa_content)}
        resp = pdns.query(zone.name + ".", "NS")
        assert answer_set(resp, "NS") == {"ns1.example.com.", "ns2.example.com."}


@pytest.mark.parametrize(
    "name", ["nope.example.com.", "x.www.example.com.", "9.9.9.10.in-addr.arpa."]
)
def test_unknown_names_are_nxdomain(pdns: Pdns, name: str) -> None:
    resp = pdns.query(name, "A")
    assert_authoritative(resp, dns.rcode.NXDOMAIN)
    assert [rrset.rdtype for rrset in resp.authority] == [dns.rdatatype.SOA]


@pytest.mark.parametrize(
    "name",
    [
        "1.10.in-addr.arpa.",
        "1.1.10.in-addr.arpa.",
        "sub.example.com.",
        "SUB.Example.com.",
        "1.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa.",
    ],
)
@pytest.mark.parametrize("rdtype", ["A", "PTR", "NS"])
def test_empty_non_terminals_are_nodata(pdns: Pdns, name: str, rdtype: str) -> None:
    resp = pdns.query(name, rdtype)
    assert_authoritative(resp, dns.rcode.NOERROR)  # not NXDOMAIN (RFC 8020 would prune)
    assert resp.answer == []
    assert [rrset.rdtype for rrset in resp.authority] == [dns.rdatatype.SOA]


def test_zone_not_served_is_refused(pdns: Pdns) -> None:
    assert pdns.query("www.example.org.", "A").rcode() == dns.rcode.REFUSED


def test_any_over_tcp(pdns: Pdns) -> None:
    resp = pdns.query("www.example.com.", "ANY", tcp=True)
    assert_authoritative(resp, dns.rcode.NOERROR)
    assert answer_set(resp, "A") == {"10.1.1.5"}
    assert answer_set(resp, "AAAA") == {"2001:db8::5"}
    apex = pdns.query("Example.com.", "ANY", tcp=True)
    # pdns compresses rdata names against the question, so they come back as
    # "ns1.Example.com.": compare case-insensitively.
    assert lower(answer_set(apex, "NS")) == {"ns1.example.com.", "ns2.example.com."}
    soa = pdns.snapshot.zone_by_name["example.com"].soa_content
    assert lower(answer_set(apex, "SOA")) == {on_the_wire("SOA", soa)}
    assert lower(answer_set(apex, "A")) == {"10.0.0.10"}


def lower(texts: set[str]) -> set[str]:
    return {t.lower() for t in texts}


def on_the_wire(qtype: str, content: str) -> str:
    """Snapshot content (names without the trailing dot, as pdns prints them) as dig shows it."""
    rdata = dns.rdata.from_text(
        dns.rdataclass.IN, qtype, content, origin=dns.name.root, relativize=False
    )
    return rdata.to_text()


@pytest.mark.parametrize("zone", ["example.com", "10.in-addr.arpa", "8.b.d.0.1.0.0.2.ip6.arpa"])
def test_axfr_equals_the_snapshot(pdns: Pdns, zone: str) -> None:
    messages = list(
        dns.query.xfr("127.0.0.1", zone + ".", port=pdns.port, timeout=10, relativize=False)
    )
    records = [
        (rrset.name.to_text(), dns.rdatatype.to_text(rrset.rdtype), rd.to_text())
        for msg in messages
        for rrset in msg.answer
        for rd in rrset
    ]
    served = pdns.snapshot.zone_by_name[zone]
    soa = (zone + ".", "SOA", on_the_wire("SOA", served.soa_content))
    assert records[0] == soa and records[-1] == soa  # framed by the same SOA
    expected = {(o + ".", t, on_the_wire(t, c)) for o, t, c in pdns.snapshot.zone_records(served)}
    assert set(records) == expected
    assert len(records) - 1 == served.record_count  # no duplicates, no ENT placeholders


def test_notify_cycle_survives_a_dead_store_then_records_serials(pdns: Pdns) -> None:
    """getUpdatedMasters/setNotified answering false must not kill pdns (an error would)."""
    notified = pdns.notified
    assert wait_for(lambda: notified.failed_calls >= 3, 10), "setNotified never tried"
    notified.fail = True  # now getUpdatedMasters fails too
    failed = notified.failed_calls
    assert wait_for(lambda: notified.failed_calls >= failed + 2, 10)
    assert pdns.proc.poll() is None, pdns.log_text()
    notified.fail = notified.fail_set = False
    expected = {z.name: z.serial for z in pdns.snapshot.zones}
    assert wait_for(lambda: notified.get_all() == expected, 15), notified.calls
    assert pdns.proc.poll() is None
    assert "no primary or producer domains need notifications" in wait_log(pdns, 5)
    assert pdns.handler.requests.get("setNotified", 0) >= 3


def test_pdns_is_healthy_and_the_backend_saw_no_bad_requests(pdns: Pdns) -> None:
    assert pdns.proc.poll() is None
    text = pdns.log_text()
    for bad in ("Exception", "Backend error", "Got non-SOA", "wrong zone", "Timeout"):
        assert bad not in text, text
    assert pdns.handler.requests.get("<invalid>", 0) == 0
    assert pdns.handler.requests.get("getAllDomains", 0) >= 1
    assert pdns.handler.requests.get("lookup", 0) > 20


def wait_for(condition: object, timeout: float) -> bool:
    assert callable(condition)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return bool(condition())


def wait_log(pdns: Pdns, timeout: float) -> str:
    time.sleep(min(timeout, 2.5))  # at least two 1 s communicator cycles
    return pdns.log_text()


def test_pipe_connector_with_real_pdns(pdns_pipe: tuple[int, Path]) -> None:
    port, log = pdns_pipe

    def ask(name: str, rdtype: str, tcp: bool = False) -> dns.message.Message:
        q = dns.message.make_query(name, rdtype)
        q.flags &= ~dns.flags.RD
        send = dns.query.tcp if tcp else dns.query.udp
        return send(q, "127.0.0.1", port=port, timeout=5)

    # Many queries through the 3 coprocesses: a desync would show as a wrong answer.
    snapshot = make_snapshot()
    expected = {
        "www.example.com.": ("A", {"10.1.1.5"}),
        "Ns1.Example.Com.": ("A", {"10.0.0.1"}),
        "5.1.1.10.in-addr.arpa.": ("PTR", {"www.example.com."}),
        V6_WWW: ("PTR", {"www.example.com."}),
    }
    for _ in range(25):
        for name, (rdtype, contents) in expected.items():
            resp = ask(name, rdtype)
            assert_authoritative(resp, dns.rcode.NOERROR)
            assert answer_set(resp, rdtype) == contents
        resp = ask("1.10.in-addr.arpa.", "PTR")
        assert_authoritative(resp, dns.rcode.NOERROR)
        assert resp.answer == []
        assert_authoritative(ask("nope.example.com.", "A"), dns.rcode.NXDOMAIN)
    messages = dns.query.xfr("127.0.0.1", "example.com.", port=port, timeout=10, relativize=False)
    records = {
        (rrset.name.to_text(), dns.rdatatype.to_text(rrset.rdtype), rd.to_text())
        for msg in messages
        for rrset in msg.answer
        for rd in rrset
    }
    zone = snapshot.zone_by_name["example.com"]
    assert records == {(o + ".", t, on_the_wire(t, c)) for o, t, c in snapshot.zone_records(zone)}
    text = log.read_text(errors="replace")
    for bad in ("Exception", "Backend error", "Timeout", "Coprocess"):
        assert bad not in text, text
