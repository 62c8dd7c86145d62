"""Warnings at start-up: the config's own (``Config.warnings``: unwise but working
settings) and files holding secrets that others can read. `check` prints them;
`serve` and `pipe` log them."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from remote_backend.config import Config

log = logging.getLogger("pphook")


def log_startup_warnings(config: Config) -> None:
    for warning in startup_warnings(config):
        log.warning("%s", warning)


def startup_warnings(config: Config) -> list[str]:
    return [*config.warnings, *secret_warnings(config)]


def secret_warnings(config: Config) -> list[str]:
    from remote_backend.config import secret_file_warnings

    secrets = [config.ipam.password_file]
    if ":" in config.ipam.url.partition("://")[2].partition("@")[0] and "@" in config.ipam.url:
        secrets.append(config.path)  # the URL carries a password
    return [w for path in secrets if path for w in secret_file_warnings(path)]
