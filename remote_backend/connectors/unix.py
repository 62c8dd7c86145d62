"""The unix-socket connector: pdns connects to us (``unix:path=...``).

pdns opens one connection per backend instance (distributor threads, TCP, the
communicator, plus a short-lived one per AXFR and zone-cache refresh) and keeps it
open for the instance's lifetime, sending one request at a time. So the server takes
many concurrent, mostly idle, long-lived connections: one thread each, which costs
nothing while blocked in ``recv`` and keeps a slow ``list`` on one connection from
holding up lookups on the others.

Connections are bounded so that a stuck or hostile client cannot starve pdns:

- a connection silent for ``idle_timeout`` seconds (``server.idle_timeout``, an hour by
  default) is closed, and one holding half a request line for ``PARTIAL_LINE_TIMEOUT``
  (pdns writes a request in one go) sooner; a reply the peer stops reading for
  ``idle_timeout`` ends the connection too. pdns is idle between queries, so the
  default is long: its unix connector turns a closed connection into one SERVFAIL
  before it reconnects (the relay reconnects without a failure);
- at ``max_connections`` (``server.max_connections``), a new connection does not get
  refused: the connection waiting longest for a request (a half-sent line first) is
  closed to make room, so pdns's reconnects always get in. Only when every
  connection is busy answering is the new one refused. Both are logged.

The socket file is created with its final mode and group before it becomes visible:
it is bound inside a private (0700) temporary directory next to the target path,
chmod'ed and chown'ed there, then renamed into place. Unlike a temporary ``umask()``
this does not change process-wide state that other threads depend on.

Do not put the socket in /tmp: pdns's systemd unit has ``PrivateTmp=true``, so pdns
would not see it. Use a runtime directory such as /run/pphook.
"""

from __future__ import annotations

import contextlib
import grp
import itertools
import logging
import os
import selectors
import socket
import stat
import tempfile
import threading
import time

from remote_backend.connectors.framing import MAX_LINE, LineHandler, serve_socket, timeval
from remote_backend.errors import SocketInUseError, SocketSetupError

log = logging.getLogger("pphook.connector.unix")

MAX_CONNECTIONS = 512  # pdns needs ~5-20; the bound only stops a runaway client
MAX_CONNECTIONS_RANGE = (8, 65536)  # server.max_connections
IDLE_TIMEOUT = 3600.0  # server.idle_timeout: seconds a connection may stay silent
MIN_IDLE_TIMEOUT = 1.0
PARTIAL_LINE_TIMEOUT = 10.0  # seconds half a request line may wait for the rest
MAX_SOCKET_PATH = 107  # sockaddr_un.sun_path is 108 bytes on Linux, NUL included
_PROBE_TIMEOUT = 1.0  # seconds to decide whether another server owns the path
_CAP_LOG_INTERVAL = 10.0  # seconds between two "cap reached" log lines (floods)


class _Connection:
    """One client connection and what the cap needs to know about it."""

    __slots__ = ("number", "partial", "sock", "thread", "waiting_since")

    def __init__(self, sock: socket.socket, number: int) -> None:
        self.sock = sock
        self.number = number
        self.thread: threading.Thread | None = None
        # monotonic time since which it waits in recv() for a request (None: busy)
        self.waiting_since: float | None = None
        self.partial = False  # the bytes received so far end in the middle of a line


class UnixSocketServer:
    """Serves the remote-backend protocol on a unix stream socket, thread per connection.

    ``bind()`` creates the socket (called by ``serve_forever()`` if needed; call it
    first to fail early or to know the socket is ready). ``shutdown()`` may be called
    from any thread, including a signal handler running on the serving thread.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        handler: LineHandler,
        *,
        mode: int = 0o660,
        group: str | None = None,
        max_line: int = MAX_LINE,
        max_connections: int = MAX_CONNECTIONS,
        idle_timeout: float = IDLE_TIMEOUT,
        partial_line_timeout: float = PARTIAL_LINE_TIMEOUT,
        backlog: int = 1024,  # bursts of reconnecting pdns threads must not see EAGAIN
    ) -> None:
        self.path = os.path.abspath(os.fspath(path))
        self._handler = handler
        self._mode = mode
        self._group = group
        self._max_line = max_line
        self._max_connections = max_connections
        self._idle_timeout = idle_timeout
        self._partial_line_timeout = min(idle_timeout, partial_line_timeout)
        self._backlog = backlog
        self._lock = threading.Lock()
        self._listener: socket.socket | None = None
        self._identity: tuple[int, int] | None = None  # (st_dev, st_ino) of our socket file
        self._connections: dict[socket.socket, _Connection] = {}
        self._ids = itertools.count(1)
        self._stop = threading.Event()
        self._serving_done = threading.Event()
        self._serve_thread: threading.Thread | None = None
        self._wake_r, self._wake_w = socket.socketpair()
        self.accepted = 0  # connections accepted since start (metrics)
        self.rejected = 0  # connections refused because of max_connections
        self.evicted = 0  # idle connections closed to admit a new one at the cap
        self.timed_out = 0  # connections closed by idle_timeout / PARTIAL_LINE_TIMEOUT
        self._cap_logged_at = -_CAP_LOG_INTERVAL
        self._cap_unlogged = 0

    # ------------------------------------------------------------------ lifecycle

    @property
    def connection_count(self) -> int:
        """Client connections currently open."""
        return len(self._connections)

    def bind(self) -> None:
        """Create the listening socket at ``path``. Idempotent.

        Raises SocketInUseError if another server answers on ``path``, and
        SocketSetupError if the socket cannot be created with the wanted mode/group.
        """
        with self._lock:
            if self._listener is not None:
                return
            if self._stop.is_set():
                raise SocketSetupError(f"{self.path}: server was shut down; create a new one")
            if len(os.fsencode(self.path)) > MAX_SOCKET_PATH:
                raise SocketSetupError(
                    f"{self.path}: unix socket paths are limited to {MAX_SOCKET_PATH} bytes; "
                    "choose a shorter server.socket"
                )
            gid = _resolve_group(self._group)
            _refuse_live_server(self.path)
            self._listener = self._create_listener(gid)
            st = os.stat(self.path)
            self._identity = (st.st_dev, st.st_ino)
        log.info("listening on %s (mode %o)", self.path, self._mode)

    def serve_forever(self) -> None:
        """Accept connections until ``shutdown()``; then close everything and return."""
        with self._lock:
            if self._serve_thread is not None:
                raise RuntimeError("serve_forever() is already running or has run")
            self._serve_thread = threading.current_thread()
        try:
            self.bind()
            listener = self._listener
            assert listener is not None
            listener.setblocking(False)
            with selectors.DefaultSelector() as selector:
                selector.register(listener, selectors.EVENT_READ)
                selector.register(self._wake_r, selectors.EVENT_READ)
                while not self._stop.is_set():
                    for key, _ in selector.select():
                        if key.fileobj is listener and not self._stop.is_set():
                            self._accept(listener)
        finally:
            self._cleanup()
            self._serving_done.set()

    def shutdown(self, timeout: float = 5.0) -> None:
        """Stop accepting, close every client connection, remove the socket file."""
        self._stop.set()
        with contextlib.suppress(OSError):
            self._wake_w.send(b"x")
        with self._lock:
            serve_thread = self._serve_thread
        if serve_thread is None:
            self._cleanup(timeout)  # never served: nothing else will clean up
        elif serve_thread is threading.current_thread():
            return  # called from a signal handler on the serving thread; its loop cleans up
        else:
            self._serving_done.wait(timeout)

    # ------------------------------------------------------------------ internals

    def _create_listener(self, gid: int | None) -> socket.socket:
        parent = os.path.dirname(self.path)
        try:
            private_dir = tempfile.mkdtemp(prefix=".pp", dir=parent)  # mode 0700
        except OSError as exc:
            raise SocketSetupError(f"{self.path}: cannot create the socket here: {exc}") from exc
        temp_path = os.path.join(private_dir, "s")
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            listener.bind(temp_path)
            os.chmod(temp_path, self._mode)
            if gid is not None:
                os.chown(temp_path, -1, gid)
            listener.listen(self._backlog)
            os.rename(temp_path, self.path)  # atomic; replaces a stale socket file
        except OSError as exc:
            listener.close()
            raise SocketSetupError(f"{self.path}: cannot create the socket: {exc}") from exc
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temp_path)
            os.rmdir(private_dir)
        return listener

    def _accept(self, listener: socket.socket) -> None:
        try:
            conn, _ = listener.accept()
        except (BlockingIOError, InterruptedError):
            return
        except OSError as exc:  # EMFILE/ENFILE: back off instead of spinning
            log.error("accept() failed on %s: %s", self.path, exc)
            time.sleep(0.1)
            return
        conn.setblocking(True)
        with self._lock:
            victim = None
            if len(self._connections) >= self._max_connections:
                victim = self._longest_waiting()
                if victim is None:
                    self.rejected += 1
                    self._log_cap(f"refused a new connection: all {len(self._connections)} busy")
                    conn.close()
                    return
                # Removed here, so the new one fits now; its thread ends on the shutdown.
                del self._connections[victim.sock]
                self.evicted += 1
            number = next(self._ids)
            record = _Connection(conn, number)
            thread = threading.Thread(
                target=self._serve_connection,
                args=(record,),
                name=f"pphook-conn-{number}",
                daemon=True,
            )
            record.thread = thread
            self._connections[conn] = record
            self.accepted += 1
        if victim is not None:
            waited = time.monotonic() - (victim.waiting_since or time.monotonic())
            what = "half a request line" if victim.partial else "no request"
            self._log_cap(
                f"closed connection {victim.number} ({what} for {waited:.0f} s) to admit a new one"
            )
            with contextlib.suppress(OSError):
                victim.sock.shutdown(socket.SHUT_RDWR)  # wakes its thread, which closes it
        try:
            thread.start()
        except RuntimeError as exc:  # "can't start new thread": drop this client, keep serving
            log.error("cannot start a thread for connection %d: %s", number, exc)
            with self._lock:
                self._connections.pop(conn, None)
            conn.close()

    def _longest_waiting(self) -> _Connection | None:
        """The connection to close at the cap: one stuck in half a request line first,
        then the one idle longest; None when every connection is busy answering."""
        waiting = [c for c in self._connections.values() if c.waiting_since is not None]
        if not waiting:
            return None
        return min(waiting, key=lambda c: (not c.partial, c.waiting_since or 0.0))

    def _log_cap(self, what: str) -> None:
        # a flood of connections must not become a flood of log lines
        now = time.monotonic()
        self._cap_unlogged += 1
        if now - self._cap_logged_at < _CAP_LOG_INTERVAL:
            return
        skipped = self._cap_unlogged - 1
        more = f" ({skipped} more since the last message)" if skipped else ""
        log.warning(
            "connection cap reached (server.max_connections = %d): %s%s",
            self._max_connections,
            what,
            more,
        )
        self._cap_logged_at, self._cap_unlogged = now, 0

    def _serve_connection(self, record: _Connection) -> None:
        conn, number = record.sock, record.number
        idle = self._idle_timeout
        partial_limit = self._partial_line_timeout
        receive = conn.recv
        limit = [idle]  # the receive timeout the kernel holds now
        log.debug("connection %d opened", number)

        def recv(size: int) -> bytes:
            # Kernel timeouts (SO_RCVTIMEO) rather than Python's socket timeout, which
            # adds a poll() before every recv on the lookup hot path; the option is
            # only rewritten when a request line arrives in pieces (rare).
            wanted = partial_limit if record.partial else idle
            if wanted != limit[0]:
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, timeval(wanted))
                limit[0] = wanted
            record.waiting_since = time.monotonic()
            try:
                chunk = receive(size)
            finally:
                record.waiting_since = None
            record.partial = bool(chunk) and not chunk.endswith(b"\n")
            return chunk

        try:
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, timeval(idle))
            # a peer that stops reading a reply for that long is gone as well
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, timeval(idle))
            serve_socket(self._handler, recv, conn.sendall, self._max_line)
        except BlockingIOError:  # SO_RCVTIMEO / SO_SNDTIMEO expired
            self.timed_out += 1
            if record.partial:
                log.info(
                    "connection %d: half a request line for %g s; closing it",
                    number,
                    partial_limit,
                )
            else:
                log.info(
                    "connection %d: silent for %g s (server.idle_timeout); closing it",
                    number,
                    idle,
                )
        except OSError as exc:  # reset by peer, broken pipe, shut down by shutdown()
            log.debug("connection %d ended: %s", number, exc)
        except Exception:
            log.exception("connection %d failed", number)
        finally:
            with self._lock:
                if self._connections.get(conn) is record:
                    del self._connections[conn]
            conn.close()
            log.debug("connection %d closed", number)

    def _cleanup(self, timeout: float = 5.0) -> None:
        with self._lock:
            listener, self._listener = self._listener, None
            connections = dict(self._connections)
        if listener is not None:
            listener.close()
            self._remove_socket_file()
        for conn in connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)  # wakes the thread blocked in recv/send
        deadline = time.monotonic() + timeout
        for record in connections.values():
            if record.thread is not None:
                record.thread.join(max(0.0, deadline - time.monotonic()))
        self._wake_r.close()
        self._wake_w.close()

    def _remove_socket_file(self) -> None:
        """Remove the socket file, but only if it is still ours (not a successor's)."""
        try:
            st = os.lstat(self.path)
            if (st.st_dev, st.st_ino) == self._identity:
                os.unlink(self.path)
        except FileNotFoundError:
            pass
        except OSError as exc:
            log.warning("cannot remove %s: %s", self.path, exc)


def _resolve_group(group: str | None) -> int | None:
    if group is None:
        return None
    if group.isdigit():
        return int(group)
    try:
        return grp.getgrnam(group).gr_gid
    except KeyError:
        raise SocketSetupError(f"socket group {group!r} does not exist") from None


def _refuse_live_server(path: str) -> None:
    """Raise unless ``path`` is free or a stale socket (which the rename replaces)."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    if not stat.S_ISSOCK(st.st_mode):
        raise SocketSetupError(f"{path} exists and is not a socket; refusing to replace it")
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    probe.settimeout(_PROBE_TIMEOUT)
    try:
        probe.connect(path)
    except (ConnectionRefusedError, FileNotFoundError):
        log.info("replacing stale socket %s (nobody listens on it)", path)
        return
    except TimeoutError:
        raise SocketInUseError(
            f"{path}: another server listens there (busy); stop it or choose another path"
        ) from None
    except OSError as exc:
        raise SocketSetupError(f"{path}: cannot check whether the socket is in use: {exc}") from exc
    finally:
        probe.close()
    raise SocketInUseError(
        f"{path}: another server is already answering there; stop it or choose another path"
    )
