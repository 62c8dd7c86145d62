"""Finding binaries, starting server processes and stopping them by PID."""

from __future__ import annotations

import ctypes
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, Self

# Debian puts daemons in /usr/sbin, which is often not on a normal user's PATH.
_EXTRA_DIRS = ("/usr/sbin", "/sbin", "/usr/local/sbin")

_PR_SET_PDEATHSIG = 1


class MissingBinaryError(RuntimeError):
    """A program the tests need is not installed."""


class ServerStartError(RuntimeError):
    """A server did not come up; the message carries the end of its log."""


def keep_files_default() -> bool:
    """``PPHOOK_KEEP_TMP=1`` keeps server directories (configs, logs) for debugging."""
    return os.environ.get("PPHOOK_KEEP_TMP", "") not in ("", "0")


def require_binary(name: str, packages: str) -> str:
    """Absolute path of ``name``, or an error telling which Debian packages provide it."""
    found = shutil.which(name)
    if found is None:
        for d in _EXTRA_DIRS:
            candidate = Path(d, name)
            if candidate.is_file() and os.access(candidate, os.X_OK):
                found = str(candidate)
                break
    if found is None:
        raise MissingBinaryError(f"{name} not found: apt-get install {packages}")
    return found


def _die_with_parent() -> None:
    """Runs in the child before exec: get SIGKILLed if the test process dies.

    Fixture teardown normally stops servers; this covers a test run that is killed
    hard, so no mariadbd/pdns_server/named is left behind holding ports.
    """
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):  # not Linux: rely on teardown alone
        pass


def spawn(
    argv: Sequence[str], log_path: Path, *, cwd: Path | None = None
) -> subprocess.Popen[bytes]:
    """Start a server with stdout and stderr appended to ``log_path``.

    The child gets its own session so a Ctrl-C in the terminal reaches pytest only,
    which then stops the servers in order during teardown.
    """
    with open(log_path, "ab") as log:
        return subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=cwd,
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )


def stop_process(proc: subprocess.Popen[bytes] | None, timeout: float = 15.0) -> None:
    """SIGTERM by PID, wait up to ``timeout``, then SIGKILL."""
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


def log_tail(path: Path, lines: int = 40) -> str:
    try:
        text = path.read_text(errors="replace")
    except FileNotFoundError:
        return "(no log file)"
    return "\n".join(text.splitlines()[-lines:])


def wait_until(
    ready: Callable[[], bool],
    *,
    proc: subprocess.Popen[bytes],
    what: str,
    log_path: Path,
    timeout: float,
    interval: float = 0.05,
) -> float:
    """Poll ``ready()`` until true; fail early if ``proc`` exits. Returns seconds waited."""
    start = time.monotonic()
    deadline = start + timeout
    while True:
        code = proc.poll()
        if code is not None:
            raise ServerStartError(
                f"{what} exited with code {code} while starting; log {log_path}:\n"
                f"{log_tail(log_path)}"
            )
        if ready():
            return time.monotonic() - start
        if time.monotonic() > deadline:
            raise ServerStartError(
                f"{what} not ready after {timeout:.0f} s; log {log_path}:\n{log_tail(log_path)}"
            )
        time.sleep(interval)


def run_tool(argv: Sequence[str], *, timeout: float = 60.0) -> subprocess.CompletedProcess[str]:
    """Run a short-lived helper (pdnsutil, pdns_control, rndc) and capture its output."""
    return subprocess.run(list(argv), capture_output=True, text=True, timeout=timeout, check=False)


class ServerLifecycle:
    """What every test server shares: ``with server:`` starts and stops it, and its
    repr names address, state and directory. Subclasses provide ``start``, ``stop``,
    ``running``, ``port`` and ``base_dir``."""

    def start(self) -> Any:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "running" if getattr(self, "running", False) else "stopped"
        port, base_dir = getattr(self, "port", "?"), getattr(self, "base_dir", None)
        host = getattr(self, "host", "127.0.0.1")
        return f"<{type(self).__name__} {host}:{port} {state} {base_dir}>"
