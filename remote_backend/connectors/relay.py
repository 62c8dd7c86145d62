"""Relay: a pipe coprocess that forwards pdns's requests to the `pphook serve` socket.

Why: pdns 4.7's unix connector re-parses its whole receive buffer after every
1500-byte read, so a large `list` reply (AXFR of a 100k-record zone) never completes
over it; the pipe connector with ``timeout=0`` reads buffered and parses once. With
this relay, pdns gets that fast pipe path while every request is still answered from
the one shared snapshot of `pphook serve` (no snapshot build per coprocess, one DB
poller, one copy in memory).

``timeout=0`` switches off pdns's own reply timeout, so the relay enforces one:
when `serve` does not answer in time, the relay answers itself — ``false`` for the
two primary-mode methods (an error there makes pdns exit), and a reply without
``result`` for everything else, which pdns turns into SERVFAIL for that query (never
a cached NXDOMAIN) and keeps its zone cache. The timeouts come from the command line
(``--timeout``, ``--list-timeout``: pdns.conf runs the relay without a config file)
or from ``server.relay_timeout``/``relay_list_timeout``.

`serve` closes connections that stay idle (``server.idle_timeout``) and, at its
connection cap, the one idle longest. A request that finds its kept connection closed
that way (the send fails, or `serve` closes it before a byte of reply) is sent once
more on a fresh connection: nothing was answered, and every method is safe to repeat.
"""

from __future__ import annotations

import json
import logging
import re
import socket

from remote_backend.connectors.framing import RECV_SIZE, timeval
from remote_backend.protocol.wire import FALSE, RELAY_LIST_TIMEOUT, RELAY_TIMEOUT, TRUE

log = logging.getLogger("pphook.connector.relay")

# Bounds of the relay's timeouts (seconds), for the config and the command line alike:
# finite and small enough for SO_RCVTIMEO (inf or 1e300 crashed the relay), and never
# 0, which the kernel reads as "wait forever".
TIMEOUT_RANGE = (0.05, 300.0)
LIST_TIMEOUT_RANGE = (1.0, 3600.0)

_BIG_RECV_SIZE = 1 << 20  # the rest of a `list` reply (megabytes)
_PRIMARY_METHODS = frozenset({"getUpdatedMasters", "setNotified"})
_LONG_METHODS = frozenset({"list", "getAllDomains"})


# The relay only needs the method name (for its timeout and failure reply), not the
# whole request: a regex is ~10x cheaper than json.loads on the hot path. A request it
# cannot read is forwarded anyway; `serve` answers it properly.
_METHOD = re.compile(rb'"method"\s*:\s*"([A-Za-z]{1,40})"')


def _method(line: bytes) -> str:
    match = _METHOD.search(line)
    return match.group(1).decode() if match else ""


def _unavailable(reason: str) -> bytes:
    # No "result" key on purpose: see the module docstring.
    return json.dumps({"log": [f"pphook relay: {reason}"]}).encode() + b"\n"


def _set_kernel_timeout(sock: socket.socket, seconds: float) -> None:
    value = timeval(seconds)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, value)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, value)


class _ClosedBeforeReply(ConnectionError):
    """`serve` closed the connection without sending a byte of the reply."""


def _read_reply(sock: socket.socket) -> bytes:
    """One reply line from `serve`. A reply holds no newline but its last byte (JSON
    escapes them; record contents are validated), and `serve` sends nothing unasked,
    so a read ending in a newline ends the reply: a lookup is one ``recv``, without
    the Python-level ``SocketIO``/BufferedReader of ``makefile().readline()``."""
    chunk = sock.recv(RECV_SIZE)
    if chunk.endswith(b"\n"):
        return chunk
    if not chunk:
        raise _ClosedBeforeReply("pphook serve closed the connection")
    parts = [chunk]
    while chunk:
        chunk = sock.recv(_BIG_RECV_SIZE)
        parts.append(chunk)
        if chunk.endswith(b"\n"):
            return b"".join(parts)
    raise ConnectionError("pphook serve closed the connection mid-reply")


class RelayHandler:
    """A LineHandler that answers each request through the `serve` socket."""

    def __init__(
        self,
        socket_path: str,
        *,
        timeout: float = RELAY_TIMEOUT,
        long_timeout: float = RELAY_LIST_TIMEOUT,
        connect_timeout: float = 1.0,
    ) -> None:
        self.socket_path = socket_path
        self.timeout = timeout
        self.long_timeout = long_timeout
        self.connect_timeout = connect_timeout
        self._sock: socket.socket | None = None
        self._current_timeout = 0.0

    def handle_line(self, line: bytes) -> bytes:
        method = _method(line)
        if method == "initialize":
            # Answered here, at once: a late initialize desyncs the pipe for good.
            return TRUE
        try:
            kept = self._sock is not None
            try:
                return self._ask(line, method)
            except (BrokenPipeError, ConnectionResetError, _ClosedBeforeReply):
                if not kept:
                    raise
                # the kept connection was closed by `serve` while idle: nothing was
                # answered on it, so ask again on a new one
                self._close()
                return self._ask(line, method)
        except (OSError, ValueError) as exc:
            self._close()
            reason = f"{self.socket_path}: {exc or type(exc).__name__}"
            log.warning(
                "pphook serve did not answer %s (%s); is `pphook serve` running?",
                method or "a request",
                reason,
            )
            return FALSE if method in _PRIMARY_METHODS else _unavailable(reason)

    def _ask(self, line: bytes, method: str) -> bytes:
        sock = self._connection()
        timeout = self.long_timeout if method in _LONG_METHODS else self.timeout
        if timeout != self._current_timeout:
            _set_kernel_timeout(sock, timeout)
            self._current_timeout = timeout
        sock.sendall(line + b"\n")
        return _read_reply(sock)

    def _connection(self) -> socket.socket:
        if self._sock is None:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.settimeout(self.connect_timeout)
            try:
                sock.connect(self.socket_path)
            except OSError:
                sock.close()
                raise
            # Blocking socket with kernel send/receive timeouts: Python's own timeout
            # mode adds a poll() before every recv on this hot path.
            sock.settimeout(None)
            _set_kernel_timeout(sock, self.timeout)
            self._current_timeout = self.timeout
            self._sock = sock
        return self._sock

    def _close(self) -> None:
        if self._sock is not None:
            self._sock.close()
        self._sock = None
