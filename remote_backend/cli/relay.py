"""`pipe --relay`: forward pdns's requests to `serve` (kept light: forked per AXFR)."""

from __future__ import annotations

EXIT_OK = 0


def relay(socket_path: str, timeout: float, list_timeout: float) -> int:
    from remote_backend.connectors.pipe import serve_stdio
    from remote_backend.connectors.relay import RelayHandler

    serve_stdio(RelayHandler(socket_path, timeout=timeout, long_timeout=list_timeout))
    return EXIT_OK
