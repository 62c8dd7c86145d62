"""Drive `pphook pipe --snapshot-dir DIR` coprocesses as pdns 4.7 does, without pdns.

pdns writes one JSON request per line (json11: keys sorted, ``", "`` and ``": "``),
``initialize`` first, and reads exactly one reply line per request
(pdns-remote-facts.md §1.1). ``lookups_for`` turns a DNS query into the lookups pdns
4.7 sends for it with its caches off (perf-anchors.md, observation 1): the SOA of the
zone apex (no packet, zone-id -1), ``ANY`` for each name between the apex and the
qname, ``ANY`` for the qname, and for a name that does not exist ``ANY`` for the
wildcard of its parent.

``Coprocess.pump`` keeps a worker busy: a writer thread writes a prepared buffer of
requests again and again (the pipe's buffer stays full, so the worker never waits for
its input) and a reader thread counts reply lines (``bytes.count``), reading only
every few milliseconds so that each read takes many replies at once. Both pipes are
enlarged to 1 MiB. The driver's CPU is measured too.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import select
import subprocess
import threading
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

from infra.pphook import pphook_command

from bench.dnsperf import is_nonexistent

NO_PACKET = {"local": "0.0.0.0", "real-remote": "0.0.0.0/0", "remote": "0.0.0.0"}
PACKET = {"local": "127.0.0.1", "real-remote": "127.0.0.1/32", "remote": "127.0.0.1"}
_CHUNK = 1 << 16
PIPE_SIZE = 1 << 20  # both pipes of a pumped coprocess: few, large reads for the driver
_SETPIPE_SZ = getattr(fcntl, "F_SETPIPE_SZ", 1031)


def request_line(method: str, parameters: dict[str, object]) -> bytes:
    """One request as pdns 4.7 writes it (json11 ``dump``), newline included."""
    return json.dumps({"method": method, "parameters": parameters}, sort_keys=True).encode() + b"\n"


def lookup_line(qname: str, qtype: str, zone_id: int, packet: bool = True) -> bytes:
    params: dict[str, object] = {"qname": qname + ".", "qtype": qtype, "zone-id": zone_id}
    params.update(PACKET if packet else NO_PACKET)
    return request_line("lookup", params)


def zone_of(name: str, zone_ids: dict[str, int]) -> str | None:
    """The longest served zone holding ``name``."""
    labels = name.split(".")
    for i in range(len(labels)):
        candidate = ".".join(labels[i:])
        if candidate in zone_ids:
            return candidate
    return None


def lookups_for(qname: str, exists: bool, zone_ids: dict[str, int]) -> list[bytes]:
    """The lookups pdns 4.7 makes for one query with its caches off."""
    zone = zone_of(qname, zone_ids)
    if zone is None:
        return []
    zone_id = zone_ids[zone]
    lines = [lookup_line(zone, "SOA", -1, packet=False)]
    between = qname[: -len(zone) - 1].split(".") if qname != zone else []
    # the names from just below the apex down to the qname's parent (referral checks)
    for k in range(len(between) - 1, 0, -1):
        lines.append(lookup_line(".".join(between[k:]) + "." + zone, "ANY", zone_id))
    lines.append(lookup_line(qname, "ANY", zone_id))
    if not exists:
        parent = qname.partition(".")[2]
        lines.append(lookup_line("*." + parent, "ANY", zone_id))
    return lines


def query_buffer(query_file: Path, zone_ids: dict[str, int], limit: int) -> tuple[bytes, int]:
    """The lookups of the first ``limit`` queries of a dnsperf query file (its mix:
    A/AAAA/PTR hits and NXDOMAIN names, bench/dnsperf.py), as one buffer; with the
    number of lookups it holds."""
    lines: list[bytes] = []
    with open(query_file, encoding="ascii") as src:
        for n, line in enumerate(src):
            if n >= limit:
                break
            name = line.split()[0].lower()
            lines += lookups_for(name, not is_nonexistent(name), zone_ids)
    return b"".join(lines), len(lines)


class CoprocessError(RuntimeError):
    """The coprocess died, or did not answer within the bound."""


class Coprocess:
    """One `pphook pipe --snapshot-dir DIR`, as pdns starts it (stdin/stdout pipes)."""

    def __init__(self, snapshot_dir: Path, log_path: Path) -> None:
        self.argv = [*pphook_command(), "pipe", "--snapshot-dir", str(snapshot_dir)]
        self.log_path = log_path
        self.started = time.monotonic()
        self._log = open(log_path, "ab")  # noqa: SIM115 (closed in close())
        self.proc = subprocess.Popen(
            self.argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
            bufsize=0,
        )
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self._in = self.proc.stdin.fileno()
        self._out = self.proc.stdout.fileno()
        for fd in (self._in, self._out):
            with contextlib.suppress(OSError):  # above /proc/sys/fs/pipe-max-size: keep 64 KiB
                fcntl.fcntl(fd, _SETPIPE_SZ, PIPE_SIZE)
        self._pending = b""

    @property
    def pid(self) -> int:
        return self.proc.pid

    def ask(self, line: bytes, timeout: float = 10.0) -> bytes:
        """Send one request line, return its reply line (without the newline)."""
        os.write(self._in, line)
        deadline = time.monotonic() + timeout
        while b"\n" not in self._pending:
            left = deadline - time.monotonic()
            if left <= 0:
                raise CoprocessError(f"no reply within {timeout:.0f} s to {line[:80]!r}")
            ready, _, _ = select.select([self._out], [], [], left)
            if ready:
                chunk = os.read(self._out, _CHUNK)
                if not chunk:
                    raise CoprocessError(f"the coprocess exited: {self.log_tail()}")
                self._pending += chunk
        reply, _, self._pending = self._pending.partition(b"\n")
        return reply

    def initialize(self, timeout: float = 10.0) -> dict[str, object]:
        reply = json.loads(
            self.ask(request_line("initialize", {"command": " ".join(self.argv), "timeout": "0"}))
        )
        if reply.get("result") is not True:
            raise CoprocessError(f"initialize answered {reply!r}")
        return dict(reply)

    def lookup(self, qname: str, qtype: str, zone_id: int = -1) -> object:
        return json.loads(self.ask(lookup_line(qname, qtype, zone_id))).get("result")

    def log_tail(self) -> str:
        try:
            return " | ".join(self.log_path.read_text(errors="replace").splitlines()[-5:])
        except OSError:
            return "(no log)"

    def close(self) -> None:
        """EOF on stdin (how a coprocess ends when pdns closes it), then wait; kill
        after 5 s."""
        with contextlib.suppress(OSError):
            self.proc.stdin.close()  # type: ignore[union-attr]
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
        with contextlib.suppress(OSError):
            self.proc.stdout.close()  # type: ignore[union-attr]
        self._log.close()


class Pump:
    """Pipelined load on one coprocess: ``start()``, read ``replies`` at will,
    ``stop()``. Replies are counted by their newline."""

    def __init__(self, coprocess: Coprocess, buffer: bytes) -> None:
        self.co = coprocess
        self.buffer = memoryview(buffer)
        self.replies = 0
        self._stop = threading.Event()
        self._writer = threading.Thread(target=self._write, daemon=True)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self.error: str | None = None

    def start(self) -> None:
        self._reader.start()
        self._writer.start()

    def _write(self) -> None:
        fd = self.co._in
        try:
            while not self._stop.is_set():
                view = self.buffer
                while view and not self._stop.is_set():
                    written = os.write(fd, view[:_CHUNK])
                    view = view[written:]
        except OSError as exc:
            self.error = f"writing: {exc}"
        finally:
            with contextlib.suppress(OSError):
                self.co.proc.stdin.close()  # type: ignore[union-attr]

    def _read(self) -> None:
        # The worker writes (and flushes) each reply on its own; reading each as it
        # comes would cost the driver a system call per reply. Letting replies pile up
        # in the 1 MiB pipe for a few ms makes every read a large one.
        fd = self.co._out
        while True:
            try:
                chunk = os.read(fd, PIPE_SIZE)
            except OSError as exc:
                self.error = f"reading: {exc}"
                return
            if not chunk:
                return
            self.replies += chunk.count(b"\n")
            if len(chunk) < PIPE_SIZE // 4:
                time.sleep(0.005)

    def stop(self, timeout: float = 30.0) -> None:
        """Stop writing; the coprocess answers what it has and exits on EOF."""
        self._stop.set()
        self._writer.join(timeout)
        self._reader.join(timeout)
        if self._reader.is_alive():
            self.co.proc.kill()
            self._reader.join(5)


def own_cpu_seconds() -> float:
    """CPU of this process (all its threads: the drivers)."""
    times = os.times()
    return times.user + times.system


def running(coprocesses: Iterable[Coprocess]) -> Sequence[int]:
    return [c.pid for c in coprocesses if c.proc.poll() is None]
