"""Run the real `pphook` command in tests: a config writer and a `serve` process.

The tests drive pphook exactly as an operator does: a TOML file, the console script
from the virtualenv, a unix socket for pdns. Stopped by PID.
"""

from __future__ import annotations

import atexit
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from .procs import keep_files_default, log_tail, spawn, stop_process, wait_until

Table = Mapping[str, Any]


def pphook_command() -> list[str]:
    """The installed console script next to this Python, else `python -m`."""
    script = Path(sys.executable).parent / "pphook"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "remote_backend.cli"]


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, Mapping):  # an inline table: { "key" = value, ... }
        items = ", ".join(f"{json.dumps(str(k))} = {_toml_value(v)}" for k, v in value.items())
        return "{ " + items + " }" if items else "{}"
    raise TypeError(f"cannot write {value!r} as TOML")


def write_config(path: Path, sections: Mapping[str, Table]) -> Path:
    lines: list[str] = []
    for section, table in sections.items():
        lines.append(f"[{section}]")
        lines.extend(f"{key} = {_toml_value(value)}" for key, value in table.items())
        lines.append("")
    path.write_text("\n".join(lines))
    return path


def default_sections(
    ipam_url: str,
    state_url: str,
    socket: Path,
    *,
    forward: Sequence[str] = ("example.com",),
    reverse: Sequence[str] = ("10.0.0.0/8", "2001:db8::/32"),
    zones: Table | None = None,
    policy: Table | None = None,
    server: Table | None = None,
    extra: Mapping[str, Table] | None = None,
) -> dict[str, Table]:
    sections: dict[str, Table] = {
        "ipam": {"url": ipam_url},
        "state": {"url": state_url},
        "zones": {
            "forward": list(forward),
            "reverse": list(reverse),
            "nameservers": ["ns1.example.com", "ns2.example.com"],
            "hostmaster": "hostmaster.example.com",
            "ttl": 300,
            **(zones or {}),
        },
        "policy": dict(policy or {}),
        "server": {
            "socket": str(socket),
            "snapshot_dir": str(socket.parent / "snapshot"),
            "refresh_interval": 0.2,
            **(server or {}),
        },
    }
    sections.update(extra or {})
    return sections


def run_pphook(
    config: Path, *args: str, timeout: float = 120.0, env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*pphook_command(), "--config", str(config), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env={**os.environ, **(env or {})},
    )


class PphookServe:
    """`pphook --config FILE serve` in the background, ready once its socket exists."""

    def __init__(self, sections: Mapping[str, Table], *, keep_files: bool | None = None) -> None:
        self.base_dir = Path(tempfile.mkdtemp(prefix="pphook-serve-"))
        self.keep_files = keep_files_default() if keep_files is None else keep_files
        self.sections = dict(sections)
        self.config_path = self.base_dir / "pphook.toml"
        self.log_path = self.base_dir / "pphook.log"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def socket(self) -> Path:
        return Path(self.sections["server"]["socket"])

    @property
    def snapshot_dir(self) -> Path:
        return Path(self.sections["server"]["snapshot_dir"])

    def pipe_connection(self, timeout: int = 0) -> str:
        """pdns's connection string of the recommended deployment: `pipe` coprocesses
        answering from this serve's shared snapshot (no config file read)."""
        command = " ".join([*pphook_command(), "pipe", "--snapshot-dir", str(self.snapshot_dir)])
        return f"pipe:command={command},timeout={timeout}"

    def start(self, timeout: float = 60.0) -> PphookServe:
        write_config(self.config_path, self.sections)
        atexit.register(self.stop)
        self.proc = spawn(
            [*pphook_command(), "--config", str(self.config_path), "serve"], self.log_path
        )
        wait_until(
            self.socket.exists,
            proc=self.proc,
            what="pphook serve",
            log_path=self.log_path,
            timeout=timeout,
        )
        return self

    def stop(self) -> None:
        stop_process(self.proc)
        self.proc = None

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)
        self.proc = None

    def cleanup(self) -> None:
        self.stop()
        if not self.keep_files:
            shutil.rmtree(self.base_dir, ignore_errors=True)

    def logs(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def log_tail(self, lines: int = 40) -> str:
        return log_tail(self.log_path, lines)

    def run(self, *args: str, timeout: float = 120.0) -> subprocess.CompletedProcess[str]:
        write_config(self.config_path, self.sections)
        return run_pphook(self.config_path, *args, timeout=timeout)


def ask_socket(path: Path, method: str, parameters: Mapping[str, Any]) -> Any:
    """One protocol request over a `pphook serve` socket, as pdns would send it."""
    import socket

    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(10)
        sock.connect(str(path))
        sock.sendall(json.dumps({"method": method, "parameters": parameters}).encode() + b"\n")
        with sock.makefile("rb") as reader:
            return json.loads(reader.readline()).get("result")


def soa_serial_via_socket(path: Path, zone: str) -> int | None:
    result = ask_socket(path, "lookup", {"qtype": "SOA", "qname": zone + ".", "zone-id": -1})
    if not result:
        return None
    return int(result[0]["content"].split()[2])
