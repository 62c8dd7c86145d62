"""pdns_server with the remote backend, configured and started by the tests.

Each instance writes its own config dir (``pdns.conf``) in a temporary directory and
runs in the foreground (daemon=no, guardian=no) as the current user, listening on
127.0.0.1:<free port> only. pdnsutil and pdns_control are pointed at the same config
and socket dirs, so they talk to this instance and nothing else. ``host``/``port``
place it elsewhere on loopback (e.g. 127.0.2.1 beside other servers on one port).
"""

from __future__ import annotations

import atexit
import glob
import shutil
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

import dns.message
import dns.rcode

from .dnsclient import HOST, is_answering, port_open, query
from .ports import free_port
from .procs import (
    MissingBinaryError,
    ServerLifecycle,
    keep_files_default,
    log_tail,
    require_binary,
    run_tool,
    spawn,
    stop_process,
    wait_until,
)

__all__ = ["PdnsServer", "query"]

PACKAGES = "pdns-server pdns-backend-remote"
_MODULE_GLOBS = (
    "/usr/lib/*/pdns/libremotebackend.so",
    "/usr/lib/pdns/libremotebackend.so",
    "/usr/local/lib/pdns/libremotebackend.so",
)

Setting = str | int | bool


def _render(value: Setting) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


class PdnsServer(ServerLifecycle):
    """One pdns_server with ``launch=remote`` on 127.0.0.1 (or ``host``).

    Caches default to off (``cache-ttl``/``query-cache-ttl``/``negquery-cache-ttl`` = 0)
    so a test sees the backend's current answer; pass values to test with caches on.
    ``extra_settings`` go last into pdns.conf and override everything else.
    """

    def __init__(
        self,
        connection_string: str,
        *,
        extra_settings: Mapping[str, Setting] | None = None,
        cache_ttl: int = 0,
        query_cache_ttl: int = 0,
        negquery_cache_ttl: int = 0,
        zone_cache_refresh_interval: int = 300,
        primary: bool = False,
        also_notify: Sequence[str] = (),
        only_notify: str = "",
        xfr_cycle_interval: int = 1,
        loglevel: int = 6,
        keep_files: bool | None = None,
        host: str = HOST,
        port: int | None = None,
    ) -> None:
        self.pdns_server = require_binary("pdns_server", PACKAGES)
        self.pdnsutil_bin = require_binary("pdnsutil", PACKAGES)
        self.pdns_control_bin = require_binary("pdns_control", PACKAGES)
        if not any(glob.glob(pattern) for pattern in _MODULE_GLOBS):
            raise MissingBinaryError(
                "PowerDNS remote backend module (libremotebackend.so) not found: "
                "apt-get install pdns-backend-remote"
            )
        self.connection_string = connection_string
        self.keep_files = keep_files_default() if keep_files is None else keep_files
        self.host = host
        self.port = free_port() if port is None else port
        self.base_dir = Path(tempfile.mkdtemp(prefix="pphook-pdns-"))
        # Written to pdns.conf by start(), in this order, then also-notify and
        # extra_settings (last, so they win).
        self.settings: dict[str, Setting] = {
            "launch": "remote",
            "remote-connection-string": connection_string,
            "local-address": host,
            "local-port": self.port,
            # NOTIFYs (and any outgoing query) leave from loopback, where named expects them
            "query-local-address": "127.0.0.1",
            "socket-dir": str(self.base_dir),
            "daemon": False,
            "guardian": False,
            "disable-syslog": True,
            "log-timestamp": True,
            "loglevel": loglevel,
            "webserver": False,
            "api": False,
            # no DNS query to secpoll.powerdns.com at startup: tests run offline
            "security-poll-suffix": "",
            "zone-cache-refresh-interval": zone_cache_refresh_interval,
            "cache-ttl": cache_ttl,
            "query-cache-ttl": query_cache_ttl,
            "negquery-cache-ttl": negquery_cache_ttl,
            "primary": primary,
            "xfr-cycle-interval": xfr_cycle_interval,
            # Empty: never resolve the zone's NS names and NOTIFY their real addresses
            # (ns1.example.com exists on the Internet). Secondaries under test get
            # NOTIFY through also-notify, which only-notify does not filter.
            "only-notify": only_notify,
        }
        self._also_notify = list(also_notify)
        self._extra_settings = dict(extra_settings or {})
        self.proc: subprocess.Popen[bytes] | None = None
        self.startup_seconds = 0.0

    # -- files ------------------------------------------------------------------

    @property
    def config_dir(self) -> Path:
        return self.base_dir

    @property
    def config_path(self) -> Path:
        return self.base_dir / "pdns.conf"

    @property
    def log_path(self) -> Path:
        return self.base_dir / "pdns.log"

    def add_also_notify(self, target: str) -> None:
        """Add ``ip:port`` to also-notify; before ``start()`` (the secondary's port is
        usually known only after the primary's, which it needs, was chosen)."""
        if self.running:
            raise RuntimeError("add_also_notify() must be called before start()")
        self._also_notify.append(target)

    def _write_config(self) -> None:
        settings = dict(self.settings)
        if self._also_notify:
            settings["also-notify"] = ", ".join(self._also_notify)
        settings.update(self._extra_settings)  # last, so they win
        lines = [f"{key}={_render(value)}" for key, value in settings.items()]
        self.config_path.write_text("\n".join(lines) + "\n")

    def logs(self) -> str:
        """Everything pdns_server (and the pipe coprocesses, whose stderr it shares) logged."""
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def log_tail(self, lines: int = 40) -> str:
        return log_tail(self.log_path, lines)

    # -- lifecycle --------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self, *, wait_zone: str | None = None, timeout: float = 30.0) -> PdnsServer:
        """Start pdns_server and wait until it answers on UDP.

        Without ``wait_zone`` any DNS response counts; with it, the SOA of that zone
        must come back NOERROR (the backend is serving it).
        """
        if self.running:
            return self
        self._write_config()
        atexit.register(self.stop)
        self.proc = spawn(
            [self.pdns_server, f"--config-dir={self.config_dir}"], self.log_path, cwd=self.base_dir
        )

        def ready() -> bool:
            if wait_zone is None:
                return is_answering(self.port, self.host)
            if not port_open(self.port, self.host):
                return False
            try:
                resp = query(self.port, wait_zone, "SOA", timeout=1.0, host=self.host)
            except Exception:  # timeout, connection refused: not yet
                return False
            return resp.rcode() == dns.rcode.NOERROR and bool(resp.answer)

        try:
            self.startup_seconds = wait_until(
                ready, proc=self.proc, what="pdns_server", log_path=self.log_path, timeout=timeout
            )
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Stop pdns_server by PID (SIGTERM, then SIGKILL) and remove its directory."""
        atexit.unregister(self.stop)
        stop_process(self.proc, timeout=10)
        self.proc = None
        if not self.keep_files:
            shutil.rmtree(self.base_dir, ignore_errors=True)

    def restart(self, *, wait_zone: str | None = None, timeout: float = 30.0) -> PdnsServer:
        """Stop the process only (same port, config dir and log) and start it again."""
        stop_process(self.proc, timeout=10)
        self.proc = None
        return self.start(wait_zone=wait_zone, timeout=timeout)

    # -- tools ------------------------------------------------------------------

    def pdnsutil(self, *args: str, check: bool = False) -> subprocess.CompletedProcess[str]:
        """Run pdnsutil against this config (it spawns its own backend coprocess)."""
        result = run_tool([self.pdnsutil_bin, f"--config-dir={self.config_dir}", *args])
        if check and result.returncode != 0:
            raise AssertionError(
                f"pdnsutil {' '.join(args)} failed ({result.returncode}):\n"
                f"{result.stdout}\n{result.stderr}"
            )
        return result

    def pdns_control(self, *args: str, check: bool = False) -> subprocess.CompletedProcess[str]:
        """Run pdns_control over this server's control socket."""
        result = run_tool(
            [
                self.pdns_control_bin,
                f"--config-dir={self.config_dir}",
                f"--socket-dir={self.base_dir}",
                *args,
            ],
            timeout=30,
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"pdns_control {' '.join(args)} failed ({result.returncode}):\n"
                f"{result.stdout}\n{result.stderr}"
            )
        return result

    def query(self, name: str, rdtype: str, tcp: bool = False) -> dns.message.Message:
        """Ask this server; see ``dnsclient.query``."""
        return query(self.port, name, rdtype, tcp, host=self.host)
