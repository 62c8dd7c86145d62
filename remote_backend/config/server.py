"""The ``[server]`` section: `serve`'s socket, polling, breaker and relay settings."""

from __future__ import annotations

import ipaddress

from remote_backend.config.settings import ServerSettings
from remote_backend.config.toml import TomlReader
from remote_backend.connectors.relay import LIST_TIMEOUT_RANGE, TIMEOUT_RANGE
from remote_backend.connectors.unix import MAX_CONNECTIONS_RANGE, MIN_IDLE_TIMEOUT

IDLE_TIMEOUT_MAX = 7 * 86400.0
IDLE_TIMEOUT_ADVISED = 60.0  # below this, pdns's own unix connector loses queries


def parse_listen(value: str) -> tuple[str, int]:
    """``"HOST:PORT"`` (``"[v6]:PORT"``; an empty host is 127.0.0.1) -> (host, port).

    Raises ValueError with what is wrong. A host that is not an IP address is a name
    the caller resolves (``config.validate``), the way the HTTP server will.
    """
    host, sep, port = value.strip().rpartition(":")
    if not sep or not port.isdigit():
        raise ValueError(f'expected "HOST:PORT" such as "127.0.0.1:9153", got {value!r}')
    number = int(port)
    if not 0 < number < 65536:
        raise ValueError(f"port {number} is out of range (1-65535)")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            raise ValueError(f"{host!r} in brackets is not an IPv6 address") from None
    elif ":" in host:
        raise ValueError(f'write an IPv6 address in brackets: "[{host}]:{port}"')
    return host or "127.0.0.1", number


def _socket_mode(r: TomlReader, raw: str, default: int, group: str | None) -> int:
    """The socket's permission bits: nonsense is an error, others' access a warning."""
    key = "server.socket_mode"
    try:
        mode = int(raw, 8)
    except ValueError:
        r.errors.append((key, f'expected an octal string like "0660", got {raw!r}'))
        return default
    if not 0 <= mode <= 0o777:
        r.errors.append(
            (
                key,
                f"{raw}: setuid, setgid and sticky bits mean nothing on a socket; use "
                'permission bits only, e.g. "0660"',
            )
        )
        return default
    if mode & 0o600 != 0o600:
        r.errors.append(
            (
                key,
                f"{raw}: the owner (pphook) needs read and write on its socket, or "
                '`pphook check` cannot reach it; use e.g. "0660"',
            )
        )
        return default
    r.warn(
        key,
        not mode & 0o002,
        f"{raw}: every local user can connect to the socket and query pphook; "
        'use "0660" with server.socket_group = "pdns"',
    )
    r.warn(
        key,
        group is None or bool(mode & 0o020),
        f'{raw}: group {group!r} cannot connect (no group write bit); use "0660"',
    )
    return mode


def parse_server(r: TomlReader) -> ServerSettings:
    t = r.section("server", required=False)
    d = ServerSettings()
    socket = r.get(t, "server", "socket", str, d.socket, "a file path")
    r.check("server.socket", bool(socket.strip()), "must be a file path")
    group = r.get(t, "server", "socket_group", str, None, "a group name")
    mode_raw = r.get(t, "server", "socket_mode", str, "0660", 'an octal string like "0660"')
    mode = _socket_mode(r, mode_raw, d.socket_mode, group)
    interval = r.seconds(
        t,
        "server",
        "refresh_interval",
        d.refresh_interval,
        lambda v: 0.05 <= v <= 3600,
        "must be between 0.05 and 3600",
    )
    full = r.seconds(
        t,
        "server",
        "full_reload_interval",
        d.full_reload_interval,
        lambda v: interval <= v <= 86400,
        "must be >= server.refresh_interval and at most 86400 (a day)",
    )
    breaker_failures = r.integer(t, "server", "breaker_failures", d.breaker_failures, 1, 1000)
    breaker_cooldown = r.seconds(
        t,
        "server",
        "breaker_cooldown",
        d.breaker_cooldown,
        lambda v: 0 < v <= 8,
        "must be > 0 and <= 8 (changes must show within 10 s of the database coming back)",
    )
    low, high = TIMEOUT_RANGE
    relay_timeout = r.seconds(
        t,
        "server",
        "relay_timeout",
        d.relay_timeout,
        lambda v: low <= v <= high,
        f"must be between {low:g} and {high:g} seconds",
    )
    low, high = LIST_TIMEOUT_RANGE
    relay_list_timeout = r.seconds(
        t,
        "server",
        "relay_list_timeout",
        d.relay_list_timeout,
        lambda v: low <= v <= high,
        f"must be between {low:g} and {high:g} seconds",
    )
    idle_timeout = r.seconds(
        t,
        "server",
        "idle_timeout",
        d.idle_timeout,
        lambda v: MIN_IDLE_TIMEOUT <= v <= IDLE_TIMEOUT_MAX,
        f"must be between {MIN_IDLE_TIMEOUT:g} and {IDLE_TIMEOUT_MAX:g} seconds",
    )
    r.warn(
        "server.idle_timeout",
        idle_timeout >= IDLE_TIMEOUT_ADVISED,
        f"{idle_timeout:g} s: pdns keeps its connections open and idle between queries; "
        "without the relay (pdns-unix-small.conf) each close costs pdns one SERVFAIL",
    )
    low_c, high_c = MAX_CONNECTIONS_RANGE
    max_connections = r.integer(t, "server", "max_connections", d.max_connections, low_c, high_c)
    metrics = r.get(t, "server", "metrics", str, None, '"127.0.0.1:PORT"')
    if metrics is not None:
        try:
            parse_listen(metrics)
        except ValueError as exc:
            r.errors.append(("server.metrics", str(exc)))
    r.unknown_keys(
        t,
        "server",
        {
            "socket",
            "socket_mode",
            "socket_group",
            "snapshot_dir",
            "refresh_interval",
            "full_reload_interval",
            "pdns_control",
            "pdns_socket_dir",
            "metrics",
            "relay_timeout",
            "relay_list_timeout",
            "breaker_failures",
            "breaker_cooldown",
            "idle_timeout",
            "max_connections",
        },
    )
    return ServerSettings(
        socket=socket,
        socket_mode=mode,
        socket_group=group,
        snapshot_dir=r.get(t, "server", "snapshot_dir", str, d.snapshot_dir, "a directory"),
        refresh_interval=interval,
        full_reload_interval=full,
        pdns_control=r.get(t, "server", "pdns_control", str, None, "a file path"),
        pdns_socket_dir=r.get(t, "server", "pdns_socket_dir", str, None, "a directory"),
        metrics=metrics,
        relay_timeout=relay_timeout,
        relay_list_timeout=relay_list_timeout,
        breaker_failures=breaker_failures,
        breaker_cooldown=breaker_cooldown,
        idle_timeout=idle_timeout,
        max_connections=max_connections,
    )
