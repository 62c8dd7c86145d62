"""Free ports on 127.0.0.1."""

from __future__ import annotations

import socket

# Ports already handed out in this process. The OS may give a just-closed port back
# to the next bind(0); remembering them keeps two servers of one test session from
# being told the same port before either has bound it.
_handed_out: set[int] = set()


def free_port(attempts: int = 50) -> int:
    """A port free for both TCP and UDP on 127.0.0.1 (DNS servers need both).

    There is an unavoidable race between returning the port and the server binding
    it; servers here bind within a second, which is good enough for tests.
    """
    for _ in range(attempts):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
            tcp.bind(("127.0.0.1", 0))
            port: int = tcp.getsockname()[1]
            if port in _handed_out:
                continue
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
                try:
                    udp.bind(("127.0.0.1", port))
                except OSError:
                    continue
        _handed_out.add(port)
        return port
    raise RuntimeError(f"no port free for both TCP and UDP on 127.0.0.1 after {attempts} tries")
