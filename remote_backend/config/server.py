"""The ``[server]`` section: `serve`'s socket, polling, breaker and relay settings."""

from __future__ import annotations

from remote_backend.config.settings import ServerSettings
from remote_backend.config.toml import TomlReader


def parse_server(r: TomlReader) -> ServerSettings:
    t = r.section("server", required=False)
    d = ServerSettings()
    socket = r.get(t, "server", "socket", str, d.socket, "a file path")
    mode_raw = r.get(t, "server", "socket_mode", str, "0660", 'an octal string like "0660"')
    try:
        mode = int(mode_raw, 8)
    except ValueError:
        r.errors.append(
            ("server.socket_mode", f'expected an octal string like "0660", got {mode_raw!r}')
        )
        mode = d.socket_mode
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
        lambda v: v >= interval,
        "must be >= server.refresh_interval",
    )
    breaker_failures = r.get(t, "server", "breaker_failures", int, d.breaker_failures, "an integer")
    r.check("server.breaker_failures", breaker_failures >= 1, "must be >= 1")
    breaker_cooldown = r.seconds(
        t,
        "server",
        "breaker_cooldown",
        d.breaker_cooldown,
        lambda v: 0 < v <= 8,
        "must be > 0 and <= 8 (changes must show within 10 s of the database coming back)",
    )
    relay_timeout = r.seconds(t, "server", "relay_timeout", d.relay_timeout)
    relay_list_timeout = r.seconds(t, "server", "relay_list_timeout", d.relay_list_timeout)
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
        },
    )
    return ServerSettings(
        socket=socket,
        socket_mode=mode,
        socket_group=r.get(t, "server", "socket_group", str, None, "a group name"),
        snapshot_dir=r.get(t, "server", "snapshot_dir", str, d.snapshot_dir, "a directory"),
        refresh_interval=interval,
        full_reload_interval=full,
        pdns_control=r.get(t, "server", "pdns_control", str, None, "a file path"),
        pdns_socket_dir=r.get(t, "server", "pdns_socket_dir", str, None, "a directory"),
        metrics=r.get(t, "server", "metrics", str, None, '"127.0.0.1:PORT"'),
        relay_timeout=relay_timeout,
        relay_list_timeout=relay_list_timeout,
        breaker_failures=breaker_failures,
        breaker_cooldown=breaker_cooldown,
    )
