"""Free ports on 127.0.0.1 (or on several loopback addresses at once)."""

from __future__ import annotations

import socket
from collections.abc import Sequence

# Ports already handed out in this process. The OS may give a just-closed port back
# to the next bind(0); remembering them keeps two servers of one test session from
# being told the same port before either has bound it.
_handed_out: set[int] = set()


def free_port(attempts: int = 50, hosts: Sequence[str] = ("127.0.0.1",)) -> int:
    """A port free for both TCP and UDP on every one of ``hosts`` (DNS servers need both).

    Several hosts: one port number for servers on distinct loopback addresses that
    must reach each other without naming a port (referral glue carries none; BIND's
    ``port`` option is also the port it queries other servers on). Linux routes all
    of 127.0.0.0/8 to the loopback interface.

    There is an unavoidable race between returning the port and the server binding
    it; servers here bind within a second, which is good enough for tests.
    """
    for _ in range(attempts):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
            tcp.bind((hosts[0], 0))
            port: int = tcp.getsockname()[1]
        if port in _handed_out or not all(_free(host, port) for host in hosts):
            continue
        _handed_out.add(port)
        return port
    where = ", ".join(hosts)
    raise RuntimeError(f"no port free for both TCP and UDP on {where} after {attempts} tries")


def _free(host: str, port: int) -> bool:
    for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
        with socket.socket(socket.AF_INET, kind) as sock:
            try:
                sock.bind((host, port))
            except OSError:
                return False
    return True
