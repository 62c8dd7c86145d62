"""BIND ``named`` as a secondary of the pdns_server under test.

Writes its own named.conf (and an rndc key) in a temporary directory, listens on
127.0.0.1:<free port> only, and transfers the given zones from 127.0.0.1:<primary
port>. Tests observe it as clients do (SOA serial, answers, AXFR through dnspython),
never through its zone files, whose layout and write timing differ between BIND
versions (9.18 on Debian 12, 9.20 on Debian 13).
"""

from __future__ import annotations

import atexit
import base64
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from .dnsclient import is_answering, soa_serial
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


class NamedSecondary(ServerLifecycle):
    """``named -g`` serving ``zones`` as ``type secondary`` of 127.0.0.1:``primary_port``.

    ``catalog``: also a catalog zone (RFC 9432) transferred from the same primary, whose
    member zones named adds and drops by itself (``catalog-zones``, the same primary as
    their default; ``default-primaries``, the spelling BIND 9.18 and 9.20 both accept).
    """

    def __init__(
        self,
        primary_port: int,
        zones: Sequence[str],
        *,
        catalog: str | None = None,
        extra_options: str = "",
        keep_files: bool | None = None,
    ) -> None:
        self.named = require_binary("named", PACKAGES)
        self.primary_port = primary_port
        self.catalog = catalog.rstrip(".").lower() if catalog else None
        self.zones = tuple(z.rstrip(".").lower() for z in zones) + (
            (self.catalog,) if self.catalog else ()
        )
        self.extra_options = extra_options
        self.keep_files = keep_files_default() if keep_files is None else keep_files
        self.port = free_port()
        self.rndc_port = free_port()
        self.base_dir = Path(tempfile.mkdtemp(prefix="pphook-named-"))
        self._rndc_secret = base64.b64encode(os.urandom(32)).decode()
        self.proc: subprocess.Popen[bytes] | None = None
        self.startup_seconds = 0.0
        self._write_config()

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
        """Where named keeps ``zone`` (text, for a person reading PPHOOK_KEEP_TMP=1 runs)."""
        return self.base_dir / f"{zone.rstrip('.').lower()}.db"

    def _write_config(self) -> None:
        d = self.base_dir
        key = f'key "rndc-key" {{ algorithm hmac-sha256; secret "{self._rndc_secret}"; }};\n'
        zones = "".join(
            f'zone "{z}" {{\n'
            f"  type secondary;\n"
            f"  primaries port {self.primary_port} {{ 127.0.0.1; }};\n"
            f'  file "{self.zone_file(z)}";\n'
            f"}};\n"
            for z in self.zones
        )
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
  listen-on port {self.port} {{ 127.0.0.1; }};
  listen-on-v6 {{ none; }};
  recursion no;
  dnssec-validation no;
  allow-query {{ 127.0.0.1; }};
  allow-notify {{ 127.0.0.1; }};
  allow-transfer {{ 127.0.0.1; }};
  notify no;
  // readable zone files for a person debugging with PPHOOK_KEEP_TMP=1
  masterfile-format text;
{self._catalog_options()}{self.extra_options}
}};

{zones}"""
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

    def _catalog_options(self) -> str:
        if self.catalog is None:
            return ""
        # min-update-interval 1: a catalog change is acted on within a second (default 5)
        return (
            f'  catalog-zones {{ zone "{self.catalog}" '
            f"default-primaries port {self.primary_port} {{ 127.0.0.1; }} "
            f'zone-directory "{self.base_dir}" min-update-interval 1; }};\n'
        )

    def logs(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def log_tail(self, lines: int = 40) -> str:
        return log_tail(self.log_path, lines)

    # -- lifecycle --------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self, timeout: float = 30.0) -> NamedSecondary:
        """Start named in the foreground (-g: logs to stderr) and wait until it answers."""
        if self.running:
            return self
        atexit.register(self.stop)
        # -4: loopback IPv4 only. No -u: it runs as the current user, root included.
        self.proc = spawn(
            [self.named, "-g", "-4", "-c", str(self.config_path)], self.log_path, cwd=self.base_dir
        )
        try:
            self.startup_seconds = wait_until(
                lambda: is_answering(self.port),
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
        """The serial named currently serves for ``zone`` (None before the first transfer)."""
        return soa_serial(self.port, zone)

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
