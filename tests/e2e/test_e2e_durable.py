"""Serials never go back, and what `serve` finds on disk is validated before anything
serves it (issue 14 items 2 and 6; issue 12 item 5).

Real processes throughout: `pphook serve` on a real phpIPAM (MariaDB), its state store
in SQLite or MariaDB, and `pphook pipe --snapshot-dir` coprocesses (what pdns runs)
asked over their pipes; pdns itself where what a resolver sees matters. phpIPAM is
made unreachable by locking pphook's read-only account (the state store uses another
one): every connection a restarted `serve` tries is refused.

- `serve` is ended (``os._exit(9)``) right after each step of a publication
  (``infra/exit_after_step.py``) and restarted with phpIPAM down, then up; a
  coprocess asked for the SOA serial every 20 ms never sees it go back, and the next
  change gets a higher serial.
- A state store replaced while the snapshot survives continues above it; a snapshot
  deleted while the store survives comes back at the store's serials.
- A snapshot damaged or crafted behind `serve`'s back (through the lmdb module, as
  anything could) is refused with one log line: the coprocesses, already running or
  new, answer SERVFAIL, never the crafted data; once phpIPAM answers, a fresh
  snapshot is published and served.
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import dns.rcode
import lmdb
import pytest
from infra.coprocess import NO_RESULT, Coprocess
from infra.dnsclient import query
from infra.mariadb import RO_USER, MariaDBServer
from infra.pdns import PdnsServer
from infra.phpipam_data import PhpipamData
from infra.pphook import PphookServe, default_sections
from infra.procs import spawn, wait_until

from remote_backend.shared.packing import pack, unpack

pytestmark = pytest.mark.integration

ZONE = "example.com"
EXIT_AFTER = Path(__file__).resolve().parent.parent / "infra" / "exit_after_step.py"


def wait_for(condition: Callable[[], object], what: str, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s: {what}")
        time.sleep(0.05)


class PhpipamAccess:
    """pphook's read-only account locked (phpIPAM unreachable for it) or not."""

    def __init__(self, mariadb: MariaDBServer) -> None:
        self.mariadb = mariadb

    def _set(self, state: str) -> None:
        conn = self.mariadb.connect_admin()
        try:
            with conn.cursor() as cur:
                for host in ("127.0.0.1", "localhost"):
                    cur.execute(f"ALTER USER '{RO_USER}'@'{host}' ACCOUNT {state}")
        finally:
            conn.close()

    def lock(self) -> None:
        self._set("LOCK")

    def unlock(self) -> None:
        self._set("UNLOCK")


@pytest.fixture
def access(mariadb: MariaDBServer) -> Iterator[PhpipamAccess]:
    access = PhpipamAccess(mariadb)
    try:
        yield access
    finally:
        access.unlock()


class Serve(PphookServe):
    """`pphook serve`, also started through the wrapper that ends it after a step."""

    def start_exiting_after(self, step: str, armed: Path) -> Serve:
        self._fresh_socket()
        from infra.pphook import write_config

        write_config(self.config_path, self.sections)
        env_before = dict(os.environ)
        os.environ.update({"PPHOOK_TEST_EXIT_AFTER": step, "PPHOOK_TEST_ARMED": str(armed)})
        try:
            self.proc = spawn(
                [sys.executable, str(EXIT_AFTER), "--config", str(self.config_path), "serve"],
                self.log_path,
            )
        finally:
            os.environ.clear()
            os.environ.update(env_before)
        wait_until(
            self.socket.exists, proc=self.proc, what="serve", log_path=self.log_path, timeout=60
        )
        return self

    def restart(self) -> int:
        """Start `serve` again; the offset in its log where this run's lines begin."""
        self.stop()
        self._fresh_socket()
        offset = len(self.logs())
        self.start()
        return offset

    def _fresh_socket(self) -> None:
        # a killed serve leaves its socket: wait for the new one, not the stale one
        self.socket.unlink(missing_ok=True)

    def wait_exit(self, step: str) -> None:
        assert self.proc is not None
        self.proc.wait(20)
        assert self.proc.returncode == 9, self.log_tail()
        assert f"test: exiting right after step {step}" in self.logs()
        self.proc = None


class SerialWatch:
    """A coprocess asked for the zone's SOA serial every 20 ms, every answer kept."""

    def __init__(self, coprocess: Coprocess) -> None:
        self.coprocess = coprocess
        self.seen: list[int | str | None] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> SerialWatch:
        self.coprocess.start()
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(0.02):
            self.seen.append(self.coprocess.serial(ZONE))

    def latest(self) -> int | str | None:
        return self.seen[-1] if self.seen else None

    def highest(self) -> int:
        return max(s for s in self.seen if isinstance(s, int))

    def stop(self) -> list[int | str | None]:
        self._stop.set()
        self._thread.join(10)
        self.coprocess.stop()
        return self.seen


def never_back(seen: list[int | str | None]) -> None:
    """Every answer a serial (never SERVFAIL, never no SOA), and never below one
    answered before."""
    assert seen and all(isinstance(s, int) for s in seen), sorted(set(map(str, seen)))
    serials = [s for s in seen if isinstance(s, int)]
    drops = [(a, b) for a, b in itertools.pairwise(serials) if b < a]
    assert not drops, f"the served serial went back: {drops}"


def make_serve(mariadb: MariaDBServer, state: str, base: Path) -> Serve:
    sections = default_sections(
        mariadb.url(),
        state,
        base / "pphook.sock",
        reverse=(),
        zones={"serial_format": "counter"},  # a serial handed out twice would show
        server={"breaker_failures": 1, "breaker_cooldown": 0.3},
        extra={"ipam": {"url": mariadb.url(), "connect_timeout": 2}},
    )
    return Serve(sections)


def state_url(kind: str, mariadb: MariaDBServer, base: Path) -> str:
    if kind == "sqlite":
        return f"sqlite:///{base}/state.db"
    return mariadb.create_database(f"state_{uuid.uuid4().hex[:12]}")


def empty_state_store(kind: str, url: str, mariadb: MariaDBServer, base: Path) -> None:
    """The store lost: a new, empty one at the same place."""
    if kind == "sqlite":
        for suffix in ("", "-wal", "-shm"):
            Path(f"{base}/state.db{suffix}").unlink(missing_ok=True)
        return
    name = url.rsplit("/", 1)[1]
    conn = mariadb.connect_admin(database=None)
    try:
        with conn.cursor() as cur:
            cur.execute(f"DROP DATABASE `{name}`")
            cur.execute(f"CREATE DATABASE `{name}`")
    finally:
        conn.close()


@pytest.fixture
def base() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="pphook-durable-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


# -- durable before served ------------------------------------------------------------

STEPS = ("serials", "commit", "announce", "published")


@pytest.mark.parametrize(
    ("store", "step"),
    [("sqlite", s) for s in STEPS] + [("mariadb", "serials"), ("mariadb", "commit")],
)
def test_serve_killed_at_each_step_of_a_publication(
    store: str,
    step: str,
    mariadb: MariaDBServer,
    phpipam: PhpipamData,
    access: PhpipamAccess,
    base: Path,
) -> None:
    subnet = phpipam.add_subnet("10.50.0.0/24", phpipam.add_section("Durable"))
    phpipam.add_address("10.50.0.1", subnet, hostname="h1.example.com")
    serve = make_serve(mariadb, state_url(store, mariadb, base), base)
    armed = base / "armed"
    watch = SerialWatch(Coprocess(serve.snapshot_dir, base / "watch.log"))
    probe = Coprocess(serve.snapshot_dir, base / "probe.log")
    try:
        serve.start_exiting_after(step, armed)
        watch.start()
        probe.start()
        wait_for(lambda: watch.latest() == 1, "serial 1 served")

        # killed right after STEP while publishing h2, restarted with phpIPAM down
        armed.touch()
        phpipam.add_address("10.50.0.2", subnet, hostname="h2.example.com")
        serve.wait_exit(step)
        armed.unlink()
        access.lock()
        offset = serve.restart()
        wait_for(
            lambda: "serving the last publication" in serve.logs()[offset:],
            "serve starts on the last publication",
        )
        assert probe.addresses("h1.example.com") == {"10.50.0.1"}
        assert isinstance(probe.serial(ZONE), int)

        # phpIPAM back: h2 is published, at a serial not below any served
        access.unlock()
        wait_for(lambda: probe.addresses("h2.example.com") == {"10.50.0.2"}, "h2 served")

        # killed after STEP again, publishing h3; restarted with phpIPAM up
        serve.stop()
        serve.start_exiting_after(step, armed)
        armed.touch()
        phpipam.add_address("10.50.0.3", subnet, hostname="h3.example.com")
        serve.wait_exit(step)
        armed.unlink()
        serve.restart()
        wait_for(lambda: probe.addresses("h3.example.com") == {"10.50.0.3"}, "h3 served")

        # the next change gets a serial above every one served so far
        served = watch.highest()
        phpipam.add_address("10.50.0.4", subnet, hostname="h4.example.com")
        wait_for(lambda: probe.addresses("h4.example.com") == {"10.50.0.4"}, "h4 served")
        after = probe.serial(ZONE)
        assert isinstance(after, int) and after > served, (after, served)
        wait_for(lambda: watch.latest() == after, "the watch sees it")
    finally:
        seen = watch.stop()
        probe.stop()
        serve.cleanup()
    never_back(seen)


@pytest.mark.parametrize("store", ["sqlite", "mariadb"])
def test_a_lost_state_store_continues_above_the_snapshot(
    store: str,
    mariadb: MariaDBServer,
    phpipam: PhpipamData,
    access: PhpipamAccess,
    base: Path,
) -> None:
    subnet = phpipam.add_subnet("10.51.0.0/24", phpipam.add_section("Floors"))
    phpipam.add_address("10.51.0.1", subnet, hostname="h1.example.com")
    url = state_url(store, mariadb, base)
    serve = make_serve(mariadb, url, base)
    watch = SerialWatch(Coprocess(serve.snapshot_dir, base / "watch.log"))
    try:
        serve.start()
        watch.start()
        for n in (2, 3):
            phpipam.add_address(f"10.51.0.{n}", subnet, hostname=f"h{n}.example.com")
            wait_for(lambda n=n: watch.latest() == n, f"serial {n}")

        # the store lost while the snapshot survives, restarted with phpIPAM up: the
        # same content, and still a serial above the one served
        serve.stop()
        empty_state_store(store, url, mariadb, base)
        offset = serve.restart()
        wait_for(lambda: watch.latest() == 4, "serial 4: above the snapshot's 3")
        assert "serial 3 -> 4" in serve.logs()[offset:]

        # lost again, restarted with phpIPAM down (the snapshot is served as it is),
        # then phpIPAM back
        serve.stop()
        empty_state_store(store, url, mariadb, base)
        access.lock()
        offset = serve.restart()
        wait_for(lambda: "serving the last publication" in serve.logs()[offset:], "persisted")
        access.unlock()
        wait_for(lambda: watch.latest() == 5, "serial 5: above the snapshot's 4")
    finally:
        seen = watch.stop()
        serve.cleanup()
    never_back(seen)


def test_a_deleted_snapshot_comes_back_at_the_stores_serials(
    mariadb: MariaDBServer, phpipam: PhpipamData, access: PhpipamAccess, base: Path
) -> None:
    subnet = phpipam.add_subnet("10.52.0.0/24", phpipam.add_section("Deleted"))
    phpipam.add_address("10.52.0.1", subnet, hostname="h1.example.com")
    serve = make_serve(mariadb, state_url("sqlite", mariadb, base), base)
    probe = Coprocess(serve.snapshot_dir, base / "probe.log")
    try:
        serve.start()
        phpipam.add_address("10.52.0.2", subnet, hostname="h2.example.com")
        probe.start()
        wait_for(lambda: probe.serial(ZONE) == 2, "serial 2")
        probe.stop()  # a coprocess keeps a deleted directory's files: pdns restarts them
        serve.stop()
        shutil.rmtree(serve.snapshot_dir)

        access.lock()
        offset = serve.restart()
        wait_for(
            lambda: "no earlier publication can be served" in serve.logs()[offset:],
            "serve says it has nothing to serve",
        )
        probe.start()
        assert probe.serial(ZONE) == NO_RESULT  # SERVFAIL: never NXDOMAIN, never lower
        assert probe.lookup("h1.example.com.") == NO_RESULT

        access.unlock()
        wait_for(lambda: probe.serial(ZONE) == 2, "the store's serial 2 again")
        phpipam.add_address("10.52.0.3", subnet, hostname="h3.example.com")
        wait_for(lambda: probe.serial(ZONE) == 3, "serial 3")
    finally:
        probe.stop()
        serve.cleanup()


# -- validated before served ----------------------------------------------------------


def _names_and_meta(
    directory: Path,
) -> tuple[lmdb.Environment, lmdb._Database, lmdb._Database]:
    env = lmdb.open(str(directory), max_dbs=4)
    return env, env.open_db(b"names"), env.open_db(b"meta")


def _h1_key() -> bytes:
    return (1).to_bytes(2, "big") + b"h1.example.com"


def edit_value(old: bytes, new: bytes) -> Callable[[Path], None]:
    def craft(directory: Path) -> None:
        env, names, _ = _names_and_meta(directory)
        with env.begin(write=True) as txn:
            # the value as served (stored packed), written back whole: a stored form too
            value = unpack(txn.get(_h1_key(), db=names), 1)
            assert old in value
            txn.put(_h1_key(), pack(value.replace(old, new, 1), 1), db=names)
        env.close()

    return craft


def serial_2_32(directory: Path) -> None:
    env, names, meta = _names_and_meta(directory)
    apex = (1).to_bytes(2, "big") + ZONE.encode()
    with env.begin(write=True) as txn:
        zones = json.loads(txn.get(b"zones", db=meta))
        old = str(zones[0]["serial"])
        zones[0]["serial"] = 1 << 32
        zones[0]["soa_content"] = zones[0]["soa_content"].replace(f" {old} ", f" {1 << 32} ")
        txn.put(b"zones", json.dumps(zones).encode(), db=meta)
        value = unpack(txn.get(apex, db=names), 1)
        value = value.replace(f" {old} ".encode(), f" {1 << 32} ".encode())
        txn.put(apex, pack(value, 1), db=names)
    env.close()


def oversized(directory: Path) -> None:
    env, names, _ = _names_and_meta(directory)
    with env.begin(write=True) as txn:
        txn.put((1).to_bytes(2, "big") + b"big.example.com", b"x" * (4 << 20), db=names)
    env.close()


def truncated(directory: Path) -> None:
    # a third of the pages used (the file itself is sparse, as long as the map)
    env = lmdb.open(str(directory), readonly=True, lock=False, max_dbs=4)
    used = (int(env.info()["last_pgno"]) + 1) * int(env.stat()["psize"])
    env.close()
    os.truncate(directory / "data.mdb", used // 3)


def garbage(directory: Path) -> None:
    (directory / "data.mdb").write_bytes(os.urandom(256 << 10))


CRAFTS: dict[str, tuple[Callable[[Path], None], str]] = {
    "an injected key": (
        edit_value(b'"auth":1}', b'"auth":1,"injected":true}'),
        "'h1.example.com': not records as pphook writes them",
    ),
    "a raw ESC byte": (
        edit_value(b'"10.53.0.1"', b'"10.53.0.1\x1b[2J"'),
        "'h1.example.com': not valid JSON",
    ),
    "serial 2^32": (serial_2_32, "serial 4294967296 out of range"),
    "a changed address (fingerprint)": (
        edit_value(b'"10.53.0.1"', b'"10.53.0.9"'),
        "zone example.com: its content does not match its fingerprint",
    ),
    "an oversized value": (oversized, "'big.example.com': a value of 4194304 bytes"),
    "a truncated file": (truncated, "truncated"),
    "garbage": (garbage, "data.mdb: "),
}


@pytest.mark.parametrize("what", list(CRAFTS))
def test_a_crafted_snapshot_is_refused_never_served(
    what: str,
    mariadb: MariaDBServer,
    phpipam: PhpipamData,
    access: PhpipamAccess,
    base: Path,
) -> None:
    craft, reason = CRAFTS[what]
    subnet = phpipam.add_subnet("10.53.0.0/24", phpipam.add_section("Crafted"))
    phpipam.add_address("10.53.0.1", subnet, hostname="h1.example.com")
    serve = make_serve(mariadb, state_url("sqlite", mariadb, base), base)
    running = Coprocess(serve.snapshot_dir, base / "running.log")  # from before
    fresh = Coprocess(serve.snapshot_dir, base / "fresh.log")  # started after
    try:
        serve.start()
        running.start()
        assert running.addresses("h1.example.com") == {"10.53.0.1"}
        serial = running.serial(ZONE)
        serve.stop()
        craft(serve.snapshot_dir)

        access.lock()
        offset = serve.restart()
        wait_for(lambda: "the shared snapshot is refused" in serve.logs()[offset:], "refused")
        logs = serve.logs()[offset:]
        refusals = [line for line in logs.splitlines() if "snapshot is refused" in line]
        assert len(refusals) == 1, logs
        assert reason in refusals[0] and "pdns gets SERVFAIL (never this data)" in refusals[0]
        assert "Traceback" not in logs
        fresh.start()
        for coprocess in (running, fresh):
            assert coprocess.lookup("h1.example.com.") == NO_RESULT
            assert coprocess.serial(ZONE) == NO_RESULT
            assert coprocess.ask("getAllDomains", {}) == NO_RESULT

        access.unlock()
        for coprocess in (running, fresh):
            wait_for(
                lambda c=coprocess: c.addresses("h1.example.com") == {"10.53.0.1"},
                "a fresh snapshot once phpIPAM answers",
            )
        after = running.serial(ZONE)
        assert isinstance(serial, int) and isinstance(after, int) and after >= serial
    finally:
        running.stop()
        fresh.stop()
        serve.cleanup()


def test_pdns_answers_servfail_for_a_refused_snapshot(
    mariadb: MariaDBServer, phpipam: PhpipamData, access: PhpipamAccess, base: Path
) -> None:
    """What a resolver sees: SERVFAIL while the refused file is replaced and phpIPAM is
    away (retried, never cached as an answer), the right address once it is back."""
    subnet = phpipam.add_subnet("10.53.0.0/24", phpipam.add_section("Crafted"))
    phpipam.add_address("10.53.0.1", subnet, hostname="h1.example.com")
    serve = make_serve(mariadb, state_url("sqlite", mariadb, base), base)
    pdns = PdnsServer(serve.pipe_connection(), loglevel=4)
    try:
        serve.start()
        pdns.start(wait_zone=ZONE)
        assert query(pdns.port, "h1.example.com", "A").rcode() == dns.rcode.NOERROR
        serve.stop()
        edit_value(b'"auth":1}', b'"auth":1,"injected":true}')(serve.snapshot_dir)
        access.lock()
        offset = serve.restart()
        wait_for(lambda: "the shared snapshot is refused" in serve.logs()[offset:], "refused")
        for name, rdtype in (("h1.example.com", "A"), (ZONE, "SOA")):
            assert query(pdns.port, name, rdtype).rcode() == dns.rcode.SERVFAIL
        access.unlock()
        wait_for(
            lambda: (
                {rd.to_text() for rr in query(pdns.port, "h1.example.com", "A").answer for rd in rr}
                == {"10.53.0.1"}
            ),
            "pdns answers from the fresh snapshot",
        )
    finally:
        pdns.stop()
        serve.cleanup()
