"""The checked configuration of the backend: what `serve`, `pipe`, `check`, `explain` and
`export` run on. Sections other packages read (the notifier's) are parsed by their own
code, registered as entry points (``remote_backend.plugins``), and kept in
``Config.extensions``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from remote_backend.config.secrets import read_secret, redact_url
from remote_backend.connectors.unix import IDLE_TIMEOUT, MAX_CONNECTIONS
from remote_backend.protocol.wire import RELAY_LIST_TIMEOUT, RELAY_TIMEOUT
from remote_backend.zones import ZoneSettings
from validators.model import Policy


@dataclass(frozen=True, slots=True)
class IpamSettings:
    url: str
    password_file: str | None = None
    connect_timeout: float = 5.0
    # the demo's embedded SQLite DB is created when missing (never for MariaDB)

    def __repr__(self) -> str:  # never print a password that may sit in the URL
        return f"IpamSettings(url={redact_url(self.url)!r})"


DEFAULT_STATE_URL = "sqlite:////var/lib/pphook/state.db"


@dataclass(frozen=True, slots=True)
class StateSettings:
    url: str = DEFAULT_STATE_URL


@dataclass(frozen=True, slots=True)
class ServerSettings:
    socket: str = "/run/pphook/pphook.sock"
    socket_mode: int = 0o660
    socket_group: str | None = None
    # the shared snapshot `serve` publishes and pdns's `pipe` coprocesses read
    snapshot_dir: str = "/var/lib/pphook/snapshot"
    refresh_interval: float = 2.0
    full_reload_interval: float = 300.0
    pdns_control: str | None = None  # path of pdns_control for cache purges; None = off
    pdns_socket_dir: str | None = None
    metrics: str | None = None
    breaker_failures: int = 3  # consecutive DB failures that open the circuit
    breaker_cooldown: float = 5.0  # seconds before one probe may close it again
    relay_timeout: float = RELAY_TIMEOUT  # `pipe --relay`: seconds to wait for serve per lookup
    relay_list_timeout: float = RELAY_LIST_TIMEOUT  # ... per `list` (AXFR) and getAllDomains
    idle_timeout: float = IDLE_TIMEOUT  # `serve` closes a connection silent this long
    max_connections: int = MAX_CONNECTIONS  # at the cap, the longest-idle one is closed


@dataclass(frozen=True, slots=True)
class Config:
    path: str
    ipam: IpamSettings
    state: StateSettings
    zones: ZoneSettings
    policy: Policy
    server: ServerSettings = field(default_factory=ServerSettings)
    # parsed sections of other packages, by section name ([notifier])
    extensions: Mapping[str, Any] = field(default_factory=dict)
    log_format: str = "text"  # text | json
    log_level: str = "INFO"
    # accepted but unwise settings, each "FILE: key: why"; `check` prints them, `serve`
    # and `pipe` log them at start
    warnings: tuple[str, ...] = ()

    def ipam_password(self) -> str | None:
        """The password from ``ipam.password_file`` (trailing newline stripped), if set."""
        if self.ipam.password_file is None:
            return None
        return read_secret(self.path, "ipam.password_file", self.ipam.password_file)
