"""The pipe connector: one reply per line, flushed at once, nothing else on stdout."""

from __future__ import annotations

import io
import json
import os
import select
import subprocess
import sys
import textwrap
import threading
from pathlib import Path
from typing import BinaryIO

import pytest

from remote_backend.connectors.pipe import serve_pipe
from remote_backend.protocol.handler import BackendHandler

FALSE = b'{"result":false}\n'
LOOKUP = b'{"method":"lookup","parameters":{"qtype":"A","qname":"www.example.com.","zone-id":1}}'
REPO = Path(__file__).resolve().parents[3]


def read_line(stream: BinaryIO, timeout: float = 5.0) -> bytes:
    """One line from a pipe, failing (not hanging) if the writer did not flush it."""
    ready, _, _ = select.select([stream], [], [], timeout)
    assert ready, "no reply within the timeout: not flushed?"
    return stream.readline()


class Recorder:
    """A LineHandler that records what reached it and echoes a numbered reply."""

    def __init__(self) -> None:
        self.lines: list[bytes] = []

    def handle_line(self, line: bytes) -> bytes:
        self.lines.append(line)
        return b'{"result":%d}\n' % len(self.lines)


def test_one_reply_per_line_and_flush_over_real_pipes(handler: BackendHandler) -> None:
    in_r, in_w = os.pipe()
    out_r, out_w = os.pipe()
    with (
        os.fdopen(in_r, "rb") as stdin,
        os.fdopen(in_w, "wb") as feed,
        os.fdopen(out_r, "rb") as replies,
        os.fdopen(out_w, "wb") as stdout,
    ):
        thread = threading.Thread(target=serve_pipe, args=(handler, stdin, stdout))
        thread.start()
        # pdns's order: initialize first, then one request at a time, waiting for each reply.
        feed.write(b'{"method":"initialize","parameters":{"command":"x","timeout":"2000"}}\n')
        feed.flush()
        assert json.loads(read_line(replies)) == {"result": True}
        for _ in range(3):
            feed.write(LOOKUP + b"\n")
            feed.flush()
            result = json.loads(read_line(replies))["result"]
            assert result[0]["content"] == "10.1.1.5"
        feed.write(b"garbage\n")
        feed.flush()
        assert read_line(replies) == FALSE
        feed.close()  # EOF: serve_pipe returns
        thread.join(5)
        assert not thread.is_alive()


def test_exactly_one_reply_per_line_with_oversized_lines() -> None:
    recorder = Recorder()
    lines = [
        b"a" * 10,
        b"b" * 64,  # exactly the limit: accepted
        b"c" * 65,  # over: answered false, not passed on
        b"",  # an empty line is still a request line
        b"d" * 200_000,  # far over, spans many reads
        b"e",
    ]
    stdin = io.BytesIO(b"\n".join(lines) + b"\n")
    stdout = io.BytesIO()
    serve_pipe(recorder, stdin, stdout, max_line=64)
    replies = stdout.getvalue().splitlines(keepends=True)
    assert len(replies) == len(lines)
    assert recorder.lines == [b"a" * 10, b"b" * 64, b"", b"e"]
    assert replies[2] == FALSE and replies[4] == FALSE
    assert replies[5] == b'{"result":4}\n'


def test_last_line_without_newline_is_answered() -> None:
    recorder = Recorder()
    stdout = io.BytesIO()
    serve_pipe(recorder, io.BytesIO(b"one\ntwo"), stdout)
    assert recorder.lines == [b"one", b"two"]
    assert stdout.getvalue().count(b"\n") == 2


def test_oversized_last_line_at_eof() -> None:
    stdout = io.BytesIO()
    serve_pipe(Recorder(), io.BytesIO(b"x" * 100), stdout, max_line=10)
    assert stdout.getvalue() == FALSE


def test_eof_returns_immediately() -> None:
    stdout = io.BytesIO()
    serve_pipe(Recorder(), io.BytesIO(b""), stdout)
    assert stdout.getvalue() == b""


def test_reader_gone_returns_quietly(handler: BackendHandler) -> None:
    out_r, out_w = os.pipe()
    os.close(out_r)  # pdns died: writes raise BrokenPipeError (SIGPIPE is ignored by Python)
    stdout = os.fdopen(out_w, "wb")
    serve_pipe(handler, io.BytesIO(LOOKUP + b"\n" + LOOKUP + b"\n"), stdout)  # no exception
    with pytest.raises(BrokenPipeError):  # the unsent reply is still buffered
        stdout.close()


@pytest.mark.parametrize("stray", ["print('debug output')", "os.write(1, b'raw fd write\\n')"])
def test_serve_stdio_keeps_stray_output_off_the_reply_stream(stray: str) -> None:
    """A coprocess whose handler prints: the print must land on stderr, not in pdns's stream."""
    script = textwrap.dedent(
        f"""
        import os, sys
        from remote_backend.connectors.pipe import serve_stdio

        class Noisy:
            def handle_line(self, line):
                {stray}
                return b'{{"result":true}}\\n'

        serve_stdio(Noisy())
        """
    )
    proc = subprocess.run(
        [sys.executable, "-c", script],
        input=b"one\ntwo\n",
        capture_output=True,
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        timeout=30,
        check=True,
    )
    assert proc.stdout == b'{"result":true}\n' * 2
    assert proc.stderr.count(b"debug output" if "print" in stray else b"raw fd write") == 2
