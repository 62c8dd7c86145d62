"""Secrets: read from files named in the config, never shown in logs or argv."""

from __future__ import annotations

import os
import stat

from remote_backend.config.files import FileProblem, read_regular_file
from remote_backend.errors import ConfigError


def redact_url(url: str) -> str:
    """``mysql+pymysql://u:secret@h/db`` -> ``mysql+pymysql://u:***@h/db``."""
    scheme, sep, rest = url.partition("://")
    if not sep or "@" not in rest:
        return url
    creds, _, host = rest.rpartition("@")
    user = creds.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}" if ":" in creds else url


MAX_SECRET_BYTES = 64 * 1024  # a password; anything bigger is the wrong file


def read_secret(config_path: str, key: str, path: str) -> str:
    try:
        raw = read_regular_file(path, MAX_SECRET_BYTES)
        text = raw.decode("utf-8")
    except FileProblem as exc:
        raise ConfigError(config_path, key, f"{exc} (it must hold the password)") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(config_path, key, f"{path} is not UTF-8 text") from exc
    return text.rstrip("\r\n")


def secret_file_warnings(path: str) -> list[str]:
    """Warn when a file holding secrets can be read by group or others."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return []
    if mode & (stat.S_IRWXG | stat.S_IRWXO) & ~stat.S_IRGRP:
        return [f"{path} is readable or writable by others (mode {mode & 0o777:o}); chmod 0640"]
    return []
