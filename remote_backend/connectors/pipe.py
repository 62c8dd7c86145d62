"""The pipe connector: pdns runs pphook as a coprocess (``pipe:command=...``).

pdns reads our stdout as the reply stream, so nothing but replies may ever reach it:
logs go to stderr (pdns passes it through to its journal), every reply is flushed at
once (a pipe is block-buffered), and we only return on EOF. pdns SIGKILLs coprocesses
when it is done with them, so there is no clean-shutdown path to rely on.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from typing import BinaryIO

from remote_backend.connectors.framing import MAX_LINE, LineHandler, serve_stream

log = logging.getLogger("pphook.connector.pipe")


def serve_pipe(
    handler: LineHandler, stdin: BinaryIO, stdout: BinaryIO, *, max_line: int = MAX_LINE
) -> None:
    """Serve requests from ``stdin`` on ``stdout`` until EOF (or pdns closes the pipe)."""

    def write(reply: bytes) -> None:
        stdout.write(reply)
        stdout.flush()

    try:
        serve_stream(handler, stdin, write, max_line)
    except BrokenPipeError:
        log.info("pdns closed the reply pipe; stopping")
        return
    log.debug("end of input from pdns; stopping")


def serve_stdio(handler: LineHandler, *, max_line: int = MAX_LINE) -> None:
    """Serve on the process's real stdin/stdout, with stdout guarded.

    The reply stream gets a private duplicate of fd 1, and fd 1 itself (plus
    ``sys.stdout``) is pointed at stderr, so a stray ``print()`` or a library writing
    to stdout lands in the log instead of desynchronising pdns.
    """
    sys.stdout.flush()
    replies = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    try:
        serve_pipe(handler, sys.stdin.buffer, replies, max_line=max_line)
    finally:
        # unflushed bytes of a reply pdns no longer reads
        with contextlib.suppress(BrokenPipeError):
            replies.close()
