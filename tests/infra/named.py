"""BIND ``named`` in the roles the tests need: a secondary of the pdns_server under
test (``NamedSecondary``), a primary of its own zones (``NamedPrimary``, e.g. a
delegated subzone) and a recursive resolver (``NamedResolver``).

Each writes its own named.conf (and an rndc key) in a temporary directory and listens
on 127.0.0.1 and a free port only. Tests observe it as clients do (SOA serial,
answers, AXFR through dnspython), never through its zone files, whose layout and write
timing differ between BIND versions (9.18 on Debian 12, 9.20 on Debian 13).

named listens only on addresses configured on an interface, and the loopback
interface holds 127.0.0.1 alone (Linux routes the rest of 127.0.0.0/8 to it, but
named does not bind there), so every named is on 127.0.0.1. Servers that must reach
each other without naming a port (a resolver following referral glue, which carries
none) share one port number on distinct loopback addresses: named on 127.0.0.1, pdns
(which binds any address) on e.g. 127.0.2.1, both on port P (``ports.free_port(hosts=
...)``); a resolver listens elsewhere and sends its queries to port P
(``query_port``: ``options { port P; }``, which is how BIND's own system tests run).
"""

from __future__ import annotations

import atexit
import base64
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from .dnsclient import HOST, is_answering, soa_serial
from .ports import free_port
from .procs import (
    ServerLifecycle,
    keep_files_default,
    log_tail,
    require_binary,
    run_tool,
    spawn,
    stop_process,
    wait_until,
)

PACKAGES = "bind9 bind9-utils"


def _zone_key(zone: str) -> str:
    return zone.rstrip(".").lower()


class _Named(ServerLifecycle):
    """What every role shares: directory, rndc key, ``named -g``, stop by PID.

    Subclasses give the ``options`` lines of their role (``_role_options``) and their
    ``zone`` statements (``_zone_statements``).
    """

    host = HOST

    def __init__(
        self,
        *,
        port: int | None = None,
        query_port: int | None = None,
        extra_options: str = "",
        keep_files: bool | None = None,
    ) -> None:
        self.named = require_binary("named", PACKAGES)
        self.port = free_port() if port is None else port
        self.query_port = query_port
        self.rndc_port = free_port()
        self.extra_options = extra_options
        self.keep_files = keep_files_default() if keep_files is None else keep_files
        self.base_dir = Path(tempfile.mkdtemp(prefix="pphook-named-"))
        self._rndc_secret = base64.b64encode(os.urandom(32)).decode()
        self.proc: subprocess.Popen[bytes] | None = None
        self.startup_seconds = 0.0

    # -- files ------------------------------------------------------------------

    @property
    def config_path(self) -> Path:
        return self.base_dir / "named.conf"

    @property
    def rndc_config_path(self) -> Path:
        return self.base_dir / "rndc.conf"

    @property
    def log_path(self) -> Path:
        return self.base_dir / "named.log"

    def zone_file(self, zone: str) -> Path:
        """Where named keeps ``zone`` (text, for a person reading PPHOOK_KEEP_TMP=1
        runs); '/' of RFC 2317 zone names becomes '-'."""
        return self.base_dir / f"{_zone_key(zone).replace('/', '-')}.db"

    def _role_options(self) -> str:
        raise NotImplementedError

    def _zone_statements(self) -> str:
        raise NotImplementedError

    def _write_config(self) -> None:
        d = self.base_dir
        key = f'key "rndc-key" {{ algorithm hmac-sha256; secret "{self._rndc_secret}"; }};\n'
        self.config_path.write_text(
            f"""{key}
controls {{
  inet 127.0.0.1 port {self.rndc_port} allow {{ 127.0.0.1; }} keys {{ "rndc-key"; }};
}};

options {{
  directory "{d}";
  pid-file "{d}/named.pid";
  session-keyfile "{d}/session.key";
  managed-keys-directory "{d}";
  dump-file "{d}/cache_dump.db";
  statistics-file "{d}/named.stats";
{f"  port {self.query_port};  // where it sends its own queries" if self.query_port else ""}
  listen-on port {self.port} {{ {self.host}; }};
  listen-on-v6 {{ none; }};
  dnssec-validation no;
  // readable zone files for a person debugging with PPHOOK_KEEP_TMP=1
  masterfile-format text;
{self._role_options()}
{self.extra_options}
}};

{self._zone_statements()}"""
        )
        self.rndc_config_path.write_text(
            f"""{key}
options {{
  default-key "rndc-key";
  default-server 127.0.0.1;
  default-port {self.rndc_port};
}};
"""
        )

    def logs(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def log_tail(self, lines: int = 40) -> str:
        return log_tail(self.log_path, lines)

    # -- lifecycle --------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self, timeout: float = 30.0) -> _Named:
        """Start named in the foreground (-g: logs to stderr) and wait until it answers."""
        if self.running:
            return self
        self._write_config()
        atexit.register(self.stop)
        # -4: loopback IPv4 only. No -u: it runs as the current user, root included.
        self.proc = spawn(
            [self.named, "-g", "-4", "-c", str(self.config_path)], self.log_path, cwd=self.base_dir
        )
        try:
            self.startup_seconds = wait_until(
                lambda: is_answering(self.port, self.host),
                proc=self.proc,
                what="named",
                log_path=self.log_path,
                timeout=timeout,
            )
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Stop named by PID (SIGTERM, then SIGKILL) and remove its directory."""
        atexit.unregister(self.stop)
        stop_process(self.proc, timeout=10)
        self.proc = None
        if not self.keep_files:
            shutil.rmtree(self.base_dir, ignore_errors=True)

    # -- observing --------------------------------------------------------------

    def soa_serial(self, zone: str) -> int | None:
        """The serial named currently serves for ``zone`` (None if it has none)."""
        return soa_serial(self.port, zone, host=self.host)

    def rndc(self, *args: str, check: bool = False) -> subprocess.CompletedProcess[str]:
        """Run rndc against this named (e.g. ``rndc("retransfer", "example.com")``)."""
        rndc = require_binary("rndc", "bind9-utils")
        result = run_tool([rndc, "-c", str(self.rndc_config_path), *args], timeout=30)
        if check and result.returncode != 0:
            raise AssertionError(
                f"rndc {' '.join(args)} failed ({result.returncode}):\n"
                f"{result.stdout}\n{result.stderr}"
            )
        return result


class NamedSecondary(_Named):
    """``named -g`` serving ``zones`` as ``type secondary`` of
    ``primary_host``:``primary_port`` (127.0.0.1 unless told).

    ``catalog``: also a catalog zone (RFC 9432) transferred from the same primary, whose
    member zones named adds and drops by itself (``catalog-zones``, the same primary as
    their default; ``default-primaries``, the spelling BIND 9.18 and 9.20 both accept).
    """

    def __init__(
        self,
        primary_port: int,
        zones: Sequence[str],
        *,
        primary_host: str = HOST,
        port: int | None = None,
        catalog: str | None = None,
        extra_options: str = "",
        keep_files: bool | None = None,
    ) -> None:
        super().__init__(port=port, extra_options=extra_options, keep_files=keep_files)
        self.primary_port = primary_port
        self.primary_host = primary_host
        self.catalog = _zone_key(catalog) if catalog else None
        self.zones = tuple(_zone_key(z) for z in zones) + ((self.catalog,) if self.catalog else ())

    def _role_options(self) -> str:
        return """  recursion no;
  allow-query { 127.0.0.0/8; };
  allow-notify { 127.0.0.0/8; };
  allow-transfer { 127.0.0.0/8; };
  notify no;""" + self._catalog_options()

    def _catalog_options(self) -> str:
        if self.catalog is None:
            return ""
        # min-update-interval 1: a catalog change is acted on within a second (default 5)
        return (
            f'\n  catalog-zones {{ zone "{self.catalog}" '
            f"default-primaries port {self.primary_port} {{ {self.primary_host}; }} "
            f'zone-directory "{self.base_dir}" min-update-interval 1; }};'
        )

    def _zone_statements(self) -> str:
        return "".join(
            f'zone "{z}" {{\n'
            f"  type secondary;\n"
            f"  primaries port {self.primary_port} {{ {self.primary_host}; }};\n"
            f'  file "{self.zone_file(z)}";\n'
            f"}};\n"
            for z in self.zones
        )

    def start(self, timeout: float = 30.0) -> NamedSecondary:
        super().start(timeout)
        return self

    def wait_serial(self, zone: str, serial: int, timeout: float = 30.0) -> int:
        """Poll named's SOA until it serves ``serial`` for ``zone``; returns it.

        Raises AssertionError with the last serial seen and named's log otherwise.
        """
        deadline = time.monotonic() + timeout
        seen: int | None = None
        while time.monotonic() < deadline:
            seen = self.soa_serial(zone)
            if seen == serial:
                return seen
            if not self.running:
                break
            time.sleep(0.1)
        raise AssertionError(
            f"named did not reach serial {serial} for {zone} within {timeout:.0f} s "
            f"(last seen: {seen}); named log:\n{self.log_tail()}"
        )


class NamedPrimary(_Named):
    """``named -g`` serving ``zones`` (apex -> master-file text, ``$ORIGIN`` = apex) as
    ``type primary``: another authoritative server, e.g. the one a delegation names."""

    def __init__(
        self,
        zones: Mapping[str, str],
        *,
        port: int | None = None,
        extra_options: str = "",
        keep_files: bool | None = None,
    ) -> None:
        super().__init__(port=port, extra_options=extra_options, keep_files=keep_files)
        self.zones = {_zone_key(z): text for z, text in zones.items()}

    def _role_options(self) -> str:
        return """  recursion no;
  allow-query { 127.0.0.0/8; };
  allow-transfer { 127.0.0.0/8; };
  notify no;"""

    def _zone_statements(self) -> str:
        statements = []
        for zone, text in self.zones.items():
            self.zone_file(zone).write_text(text)
            statements.append(
                f'zone "{zone}" {{\n  type primary;\n  file "{self.zone_file(zone)}";\n}};\n'
            )
        return "".join(statements)

    def start(self, timeout: float = 30.0) -> NamedPrimary:
        super().start(timeout)
        return self


class NamedResolver(_Named):
    """``named -g`` as a recursive resolver for 127.0.0.0/8 that reaches the servers
    under test through ``static-stub`` zones (apex -> server addresses, all queried on
    ``query_port``) and follows referrals and CNAMEs from there as any resolver
    does. Its root hints name an address where nothing listens: it never leaves the
    machine (tests run offline)."""

    ROOT_HINT_ADDRESS = "127.0.2.254"

    def __init__(
        self,
        stubs: Mapping[str, Sequence[str]],
        *,
        query_port: int,
        port: int | None = None,
        extra_options: str = "",
        keep_files: bool | None = None,
    ) -> None:
        super().__init__(
            port=port, query_port=query_port, extra_options=extra_options, keep_files=keep_files
        )
        self.stubs = {_zone_key(z): tuple(servers) for z, servers in stubs.items()}

    def _role_options(self) -> str:
        return """  recursion yes;
  allow-query { 127.0.0.0/8; };
  allow-recursion { 127.0.0.0/8; };
  notify no;"""

    def _zone_statements(self) -> str:
        hints = self.base_dir / "root.hint"
        hints.write_text(
            f".                3600000 NS  a.root.test.\n"
            f"a.root.test.     3600000 A   {self.ROOT_HINT_ADDRESS}\n"
        )
        statements = [f'zone "." {{\n  type hint;\n  file "{hints}";\n}};\n']
        for zone, servers in self.stubs.items():
            addresses = " ".join(f"{s};" for s in servers)
            statements.append(
                f'zone "{zone}" {{\n'
                f"  type static-stub;\n"
                f"  server-addresses {{ {addresses} }};\n"
                f"}};\n"
            )
        return "".join(statements)

    def start(self, timeout: float = 30.0) -> NamedResolver:
        super().start(timeout)
        return self

    def flush(self) -> None:
        """Forget every cached answer (``rndc flush``)."""
        self.rndc("flush", check=True)
