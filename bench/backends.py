"""pdns_server stacks under test: gmysql, and pphook as deployed (``shared``) and over
the older connectors (``unix``, ``relay``).

- ``shared``: the deployment pdns-config/pdns.conf recommends and every SPEC §8 target
  is judged on: pdns's own ``pphook pipe --snapshot-dir DIR`` coprocesses
  (``timeout=0``) answer lookups and ``list`` from the LMDB snapshot `serve` publishes;
- ``unix``: ``unix:path=SOCKET`` to `serve` (pdns-unix-small.conf), a reference;
- ``relay``: ``pipe --relay --socket`` coprocesses forwarding to `serve`
  (pdns-relay.conf, the deployment of earlier versions), a reference;
- ``gmysql``: pdns's own SQL backend on the same records, the anchor.

Every pdns runs on 127.0.0.1 with ``distributor-threads=3``, ``receiver-threads=1``
(the 4.7 defaults, as the perf anchor), loglevel 4, caches either all off
(``cache-ttl=0 query-cache-ttl=0 negquery-cache-ttl=0``) or at the 4.7 defaults
(20/20/60). All stacks share one pdns control-socket directory, so the one
`pphook serve` (started once per dataset size) purges whichever pdns is running.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import dns.exception
import dns.rcode
from infra.dnsclient import query
from infra.mariadb import MariaDBServer
from infra.pdns import PdnsServer
from infra.pphook import PphookServe, pphook_command

from bench import gmysql
from bench.common import children_of, stop_pids

BACKENDS = ("gmysql", "shared", "unix", "relay")
RECOMMENDED = "shared"  # pdns-config/pdns.conf: the targets are judged on it
CACHES = {
    "off": {"cache_ttl": 0, "query_cache_ttl": 0, "negquery_cache_ttl": 0},
    "default": {"cache_ttl": 20, "query_cache_ttl": 20, "negquery_cache_ttl": 60},
}
UNIX_TIMEOUT_MS = 5000  # pdns-config/pdns-unix-small.conf


@dataclass
class StackContext:
    db: MariaDBServer
    serve: PphookServe | None  # every pphook backend
    socket_dir: Path  # pdns control sockets, shared by every stack
    start_timeout: float


@dataclass
class Stack:
    backend: str
    caches: str
    pdns: PdnsServer
    connection: str
    backend_pids: Callable[[], list[int]]

    @property
    def pid(self) -> int:
        assert self.pdns.proc is not None
        return self.pdns.proc.pid


def connection_string(backend: str, ctx: StackContext) -> str:
    if backend == "gmysql":
        return "(gmysql)"
    assert ctx.serve is not None
    if backend == "shared":  # pdns-config/pdns.conf, the recommended deployment
        return ctx.serve.pipe_connection(timeout=0)
    if backend == "unix":  # pdns-config/pdns-unix-small.conf
        return f"unix:path={ctx.serve.socket},timeout={UNIX_TIMEOUT_MS}"
    if backend == "relay":  # pdns-config/pdns-relay.conf, earlier versions' deployment
        command = " ".join(
            [*pphook_command(), "pipe", "--relay", "--socket", str(ctx.serve.socket)]
        )
        return f"pipe:command={command},timeout=0"
    raise ValueError(backend)


@contextmanager
def stack(backend: str, caches: str, ctx: StackContext) -> Iterator[Stack]:
    """A started pdns_server for ``backend``; stopped (coprocesses too) on exit."""
    conn = connection_string(backend, ctx)
    ttls = CACHES[caches]
    pdns = PdnsServer(
        conn if backend != "gmysql" else "unused",
        cache_ttl=ttls["cache_ttl"],
        query_cache_ttl=ttls["query_cache_ttl"],
        negquery_cache_ttl=ttls["negquery_cache_ttl"],
        loglevel=4,
        extra_settings={
            "socket-dir": str(ctx.socket_dir),
            "distributor-threads": 3,
            "receiver-threads": 1,
            "allow-axfr-ips": "127.0.0.0/8",
            "consistent-backends": True,
        },
    )
    if backend == "gmysql":
        del pdns.settings["remote-connection-string"]
        pdns.settings.update(gmysql.settings(ctx.db))

    def backend_pids() -> list[int]:
        """mariadbd for gmysql; pdns's coprocesses (shared, relay) + `serve` for pphook
        (`serve` only polls phpIPAM in ``shared``, but it is part of the deployment)."""
        if backend == "gmysql":
            return [ctx.db.proc.pid] if ctx.db.proc is not None else []
        pids = children_of(pdns.proc.pid) if pdns.proc is not None else []
        if ctx.serve is not None and ctx.serve.proc is not None:
            pids.append(ctx.serve.proc.pid)
        return pids

    coprocesses: set[int] = set()
    try:
        pdns.start(wait_zone="example.com", timeout=ctx.start_timeout)
        yield Stack(backend, caches, pdns, conn, backend_pids)
    finally:
        if pdns.proc is not None:
            coprocesses.update(children_of(pdns.proc.pid))
        pdns.stop()
        stop_pids(coprocesses)  # pipe coprocesses exit on EOF; make sure they did


def wait_answering(
    port: int, names: list[tuple[str, str]], *, timeout: float, needed: int = 20
) -> float:
    """Ask real names until ``needed`` in a row answer NOERROR within 1 s (pdns fills
    its zone cache and starts its coprocesses first). Bounded by ``timeout``; returns
    seconds waited."""
    t0 = time.monotonic()
    streak = 0
    i = 0
    while streak < needed:
        if time.monotonic() - t0 > timeout:
            raise TimeoutError(f"pdns on port {port} not answering after {timeout:.0f} s")
        name, rdtype = names[i % len(names)]
        i += 1
        try:
            ok = query(port, name, rdtype, timeout=1.0).rcode() == dns.rcode.NOERROR
        except (dns.exception.Timeout, OSError):
            ok = False
        streak = streak + 1 if ok else 0
        if not ok:
            time.sleep(0.2)
    return time.monotonic() - t0
