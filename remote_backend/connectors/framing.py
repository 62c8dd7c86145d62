"""Line framing shared by every connector: one request line in, one reply line out.

Both speak the same framing: one JSON request per line, exactly one reply line per
request, in order. There are no request ids, so a missing or extra reply would
desynchronise pdns for the rest of the connection; :func:`serve_stream` keeps that
invariant even for oversized lines.
"""

from __future__ import annotations

import logging
import struct
from collections.abc import Callable
from typing import Protocol

from remote_backend.protocol.wire import FALSE, MAX_LINE

log = logging.getLogger("pphook.connector")

_DISCARD_CHUNK = 1 << 16

__all__ = [
    "MAX_LINE",
    "RECV_SIZE",
    "LineHandler",
    "LineReader",
    "serve_socket",
    "serve_stream",
    "timeval",
]


def timeval(seconds: float) -> bytes:
    """``struct timeval`` for SO_RCVTIMEO/SO_SNDTIMEO (the unix server and the relay
    set kernel timeouts: Python's socket timeouts add a poll() per call). Callers
    pass finite, bounded values (the config refuses inf and huge ones)."""
    whole = int(seconds)
    return struct.pack("ll", whole, int((seconds - whole) * 1_000_000))


class LineHandler(Protocol):
    """What a connector needs from the protocol layer (``BackendHandler`` is one)."""

    def handle_line(self, line: bytes) -> bytes: ...


class LineReader(Protocol):
    """A buffered binary stream (``BufferedReader``, ``socket.makefile("rb")``)."""

    def readline(self, size: int = -1, /) -> bytes: ...


def serve_stream(
    handler: LineHandler,
    reader: LineReader,
    write: Callable[[bytes], object],
    max_line: int = MAX_LINE,
) -> None:
    """Answer each line from ``reader`` through ``write`` until EOF.

    A line longer than ``max_line`` bytes (newline excluded) is answered false and the
    rest of it is skipped without being buffered, so a client cannot make us hold
    unbounded memory and the next line still gets its own reply. A last line without
    a newline at EOF is answered too. ``write`` errors (the peer went away) propagate.
    """
    while True:
        line = reader.readline(max_line + 1)
        if not line:
            return
        if line[-1:] == b"\n":
            line = line[:-1]
        elif len(line) > max_line:
            _refuse_oversized(write, max_line)
            if not _skip_rest_of_line(reader):
                return
            continue
        write(handler.handle_line(line))


RECV_SIZE = 1 << 16  # bytes per recv(): a request or a lookup reply in one read


def _refuse_oversized(write: Callable[[bytes], object], max_line: int) -> None:
    log.warning("request line longer than %d bytes answered false and skipped", max_line)
    write(FALSE)


def serve_socket(
    handler: LineHandler,
    recv: Callable[[int], bytes],
    write: Callable[[bytes], object],
    max_line: int = MAX_LINE,
) -> None:
    """:func:`serve_stream` on a socket's own ``recv``, same framing rules.

    Why not ``makefile().readline()``: that runs ``SocketIO.readinto`` (Python code)
    and a BufferedReader for every request; pdns sends one short line at a time, so
    one ``recv`` is one request and splitting it here costs a third of that (the
    lookup hot path spends more time in this loop than in answering).
    """
    handle = handler.handle_line
    pending = b""
    while True:
        newline = pending.find(b"\n")
        if newline >= 0:
            if newline > max_line:
                _refuse_oversized(write, max_line)
            else:
                write(handle(pending[:newline]))
            pending = pending[newline + 1 :]
            continue
        if len(pending) > max_line:
            _refuse_oversized(write, max_line)
            rest = _skip_socket_line(recv)
            if rest is None:
                return
            pending = rest  # the requests after the oversized line
            continue
        chunk = recv(RECV_SIZE)
        if not chunk:
            if pending:  # a last line without a newline is answered too
                write(handle(pending))
            return
        pending = pending + chunk if pending else chunk


def _skip_socket_line(recv: Callable[[int], bytes]) -> bytes | None:
    """Drop input up to the end of the current (oversized) line, without buffering
    it; what follows that newline, or None at EOF."""
    while True:
        chunk = recv(RECV_SIZE)
        if not chunk:
            return None
        newline = chunk.find(b"\n")
        if newline >= 0:
            return chunk[newline + 1 :]


def _skip_rest_of_line(reader: LineReader) -> bool:
    """Read up to the end of the current line; False at EOF."""
    while True:
        chunk = reader.readline(_DISCARD_CHUNK)
        if not chunk:
            return False
        if chunk[-1:] == b"\n":
            return True
