"""The unix-socket connector: pdns connects to us (``unix:path=...``).

pdns opens one connection per backend instance (distributor threads, TCP, the
communicator, plus a short-lived one per AXFR and zone-cache refresh) and keeps it
open for the instance's lifetime, sending one request at a time. So the server takes
many concurrent, mostly idle, long-lived connections: one thread each, which costs
nothing while blocked in ``recv`` and keeps a slow ``list`` on one connection from
holding up lookups on the others.

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

from remote_backend.connectors.framing import MAX_LINE, LineHandler, serve_socket
from remote_backend.errors import SocketInUseError, SocketSetupError

log = logging.getLogger("pphook.connector.unix")

MAX_CONNECTIONS = 512  # pdns needs ~5-20; the bound only stops a runaway client
_MAX_SUN_PATH = 107  # sockaddr_un.sun_path is 108 bytes on Linux, NUL included
_PROBE_TIMEOUT = 1.0  # seconds to decide whether another server owns the path


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
        backlog: int = 1024,  # bursts of reconnecting pdns threads must not see EAGAIN
    ) -> None:
        self.path = os.path.abspath(os.fspath(path))
        self._handler = handler
        self._mode = mode
        self._group = group
        self._max_line = max_line
        self._max_connections = max_connections
        self._backlog = backlog
        self._lock = threading.Lock()
        self._listener: socket.socket | None = None
        self._identity: tuple[int, int] | None = None  # (st_dev, st_ino) of our socket file
        self._connections: dict[socket.socket, threading.Thread] = {}
        self._ids = itertools.count(1)
        self._stop = threading.Event()
        self._serving_done = threading.Event()
        self._serve_thread: threading.Thread | None = None
        self._wake_r, self._wake_w = socket.socketpair()
        self.accepted = 0  # connections accepted since start (metrics)
        self.rejected = 0  # connections refused because of max_connections

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
            if len(os.fsencode(self.path)) > _MAX_SUN_PATH:
                raise SocketSetupError(
                    f"{self.path}: unix socket paths are limited to {_MAX_SUN_PATH} bytes; "
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
            if len(self._connections) >= self._max_connections:
                self.rejected += 1
                log.warning(
                    "refusing a connection: already %d open (max_connections)",
                    len(self._connections),
                )
                conn.close()
                return
            number = next(self._ids)
            thread = threading.Thread(
                target=self._serve_connection,
                args=(conn, number),
                name=f"pphook-conn-{number}",
                daemon=True,
            )
            self._connections[conn] = thread
            self.accepted += 1
        try:
            thread.start()
        except RuntimeError as exc:  # "can't start new thread": drop this client, keep serving
            log.error("cannot start a thread for connection %d: %s", number, exc)
            with self._lock:
                self._connections.pop(conn, None)
            conn.close()

    def _serve_connection(self, conn: socket.socket, number: int) -> None:
        log.debug("connection %d opened", number)
        try:
            serve_socket(self._handler, conn.recv, conn.sendall, self._max_line)
        except OSError as exc:  # reset by peer, broken pipe, shut down by shutdown()
            log.debug("connection %d ended: %s", number, exc)
        except Exception:
            log.exception("connection %d failed", number)
        finally:
            with self._lock:
                self._connections.pop(conn, None)
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
        for thread in connections.values():
            thread.join(max(0.0, deadline - time.monotonic()))
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
