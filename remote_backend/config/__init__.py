"""pphook's configuration: one TOML file, checked completely before any verb runs."""

from remote_backend.config.load import (
    DEFAULT_CONFIG_PATH,
    ENV_CONFIG,
    ENV_IPAM_URL,
    config_path,
    load_config,
    parse_config,
)
from remote_backend.config.secrets import read_secret, redact_url, secret_file_warnings
from remote_backend.config.settings import Config, IpamSettings, ServerSettings, StateSettings

__all__ = [
    "DEFAULT_CONFIG_PATH",
    "ENV_CONFIG",
    "ENV_IPAM_URL",
    "Config",
    "IpamSettings",
    "ServerSettings",
    "StateSettings",
    "config_path",
    "load_config",
    "parse_config",
    "read_secret",
    "redact_url",
    "secret_file_warnings",
]
