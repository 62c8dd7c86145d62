"""A coprocess lives exactly as long as the pdns that started it: it does not keep its
siblings alive through the pipe ends it inherited, and it stops once pdns is gone even
when something else still holds its stdin."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from tests.infra.pphook import pphook_command

INITIALIZE = b'{"method":"initialize","parameters":{}}\n'


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie is gone for our purpose: it no longer runs, only waits to be reaped
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def _wait_gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _alive(pid):
            return True
        time.sleep(0.05)
    return False


def test_a_coprocess_holding_its_own_stdin_write_end_still_stops_at_eof(tmp_path: Path) -> None:
    # What pdns 4.9 does to every coprocess but the first: the child inherits pdns's end
    # of a sibling's stdin. Here it inherits its own, the harshest case: without closing
    # it, EOF never comes.
    read_end, write_end = os.pipe()
    proc = subprocess.Popen(
        [*pphook_command(), "pipe", "--snapshot-dir", str(tmp_path)],
        stdin=read_end,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        pass_fds=(write_end,),
    )
    os.close(read_end)
    try:
        os.write(write_end, INITIALIZE)
        assert proc.stdout is not None
        assert json.loads(proc.stdout.readline()) == {"result": True}
        os.close(write_end)  # pdns stops: its end closes
        write_end = -1
        assert proc.wait(timeout=10) == 0
    finally:
        if write_end >= 0:
            os.close(write_end)
        proc.kill()
        proc.wait()


def test_a_coprocess_stops_once_its_parent_is_gone_though_its_stdin_stays_open(
    tmp_path: Path,
) -> None:
    # The parent starts the coprocess, waits until it answers, and dies; this test
    # keeps the coprocess's stdin open, so only the parent watch can stop it.
    read_end, write_end = os.pipe()
    pid_file = tmp_path / "pid"
    parent = textwrap.dedent(
        f"""
        import subprocess, sys
        child = subprocess.Popen({[*pphook_command(), "pipe", "--snapshot-dir", str(tmp_path)]!r},
                                 stdin={read_end}, stdout=subprocess.PIPE,
                                 stderr=subprocess.DEVNULL)
        assert child.stdout.readline() == b'{{"result":true}}\\n'
        open({str(pid_file)!r}, "w").write(str(child.pid))
        """
    )
    os.write(write_end, INITIALIZE)
    subprocess.run([sys.executable, "-c", parent], pass_fds=(read_end,), check=True, timeout=30)
    os.close(read_end)
    child = int(pid_file.read_text())
    try:
        assert _wait_gone(child, timeout=10), "the orphaned coprocess kept running"
    finally:
        os.close(write_end)
        if _alive(child):
            os.kill(child, 9)


def test_only_inherited_pipes_and_sockets_are_closed(tmp_path: Path) -> None:
    script = textwrap.dedent(
        f"""
        import json, os, socket
        from remote_backend.connectors.lifetime import close_inherited_channels

        def is_open(fd):
            try:
                os.fstat(fd)
                return True
            except OSError:
                return False

        r, w = os.pipe()
        a, b = socket.socketpair()
        f = os.open({str(tmp_path / "file")!r}, os.O_CREAT | os.O_RDWR)
        expected = sorted([r, w, a.fileno(), b.fileno()])
        closed = close_inherited_channels()
        print(json.dumps({{"closed": sorted(closed), "expected": expected,
                          "file": is_open(f), "std": [is_open(i) for i in (0, 1, 2)]}}))
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, check=True, timeout=30
    ).stdout
    result = json.loads(out)
    assert result["closed"] == result["expected"]
    assert result["file"] is True
    assert result["std"] == [True, True, True]
