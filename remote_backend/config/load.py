"""Configuration: one TOML file (stdlib tomllib), checked completely before use.

Every problem is collected first and reported together, each naming the file and the
dotted key, so an operator fixes the file in one go (octoDNS-style collect-all).

The backend's own sections are always checked. Sections of other packages
(``[notifier]``) are checked by the parser those packages register
(``remote_backend.plugins``), when a verb needs them (``require``) or when `check`
asks for everything (``parse_all``); an empty section counts as absent.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Collection, Mapping
from typing import Any

from remote_backend.config.files import FileProblem, read_regular_file
from remote_backend.config.policy import parse_policy
from remote_backend.config.server import parse_server
from remote_backend.config.settings import (
    DEFAULT_STATE_URL,
    Config,
    IpamSettings,
    StateSettings,
)
from remote_backend.config.toml import TomlReader, raise_collected
from remote_backend.config.validate import validate_environment
from remote_backend.config.zones import parse_zones
from remote_backend.errors import ConfigError
from remote_backend.plugins import plugin_verbs, section_parsers

DEFAULT_CONFIG_PATH = "/etc/pphook/pphook.toml"
ENV_CONFIG = "PPHOOK_CONFIG"
ENV_IPAM_URL = "PPHOOK_IPAM_URL"

CORE_SECTIONS = ("ipam", "state", "zones", "policy", "server", "logging")
MAX_CONFIG_BYTES = 1 << 20  # a real pphook.toml is a few kB


def config_path(path: str | None, environ: Mapping[str, str] | None = None) -> str:
    """The config file a verb reads: ``--config``, else $PPHOOK_CONFIG, else the default."""
    env = os.environ if environ is None else environ
    return path or env.get(ENV_CONFIG) or DEFAULT_CONFIG_PATH


def load_config(
    path: str | None = None,
    *,
    require: Collection[str] = (),
    parse_all: bool = False,
    environ: Mapping[str, str] | None = None,
) -> Config:
    """Read, check and normalise the config; raise ConfigError listing every problem.

    Every verb runs this, and nothing else, before it starts: it refuses whatever a verb
    would refuse later (``config.validate``), so `check` accepting a config means every
    verb can run on it. Warnings (unwise but working settings) are in ``Config.warnings``.

    ``require``: sections of other packages the calling verb needs (missing or empty
    is an error); ``parse_all``: check every such section that is present (`check`).
    """
    env = os.environ if environ is None else environ
    path = config_path(path, env)
    try:
        raw = read_regular_file(path, MAX_CONFIG_BYTES)
    except FileProblem as exc:
        hint = f"(set --config or ${ENV_CONFIG})"
        raise ConfigError(path, None, f"config file: {exc} {hint}") from exc
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(path, None, f"not valid TOML: {exc}") from exc
    return parse_config(path, data, require=require, parse_all=parse_all, environ=env)


def parse_config(
    path: str,
    data: Mapping[str, Any],
    *,
    require: Collection[str] = (),
    parse_all: bool = False,
    environ: Mapping[str, str] | None = None,
) -> Config:
    env = os.environ if environ is None else environ
    r = TomlReader(path, data)
    parsers = section_parsers()
    for key in data:
        r.check(key, key in CORE_SECTIONS or key in parsers, "unknown section (typo?)")

    ipam_t = r.section("ipam", required=ENV_IPAM_URL not in env)
    url = env.get(ENV_IPAM_URL) or r.get(ipam_t, "ipam", "url", str, "", "an SQLAlchemy URL")
    r.check("ipam.url", bool(url) or ipam_t is None, "required (e.g. mysql+pymysql://...)")
    ipam = IpamSettings(
        url=url,
        password_file=r.get(ipam_t, "ipam", "password_file", str, None, "a file path"),
        connect_timeout=r.seconds(
            ipam_t,
            "ipam",
            "connect_timeout",
            5.0,
            lambda v: 1 <= v <= 300,
            "must be between 1 and 300 seconds",
        ),
    )
    r.unknown_keys(ipam_t, "ipam", {"url", "password_file", "connect_timeout"})

    state_t = r.section("state", required=False)
    state = StateSettings(
        url=r.get(state_t, "state", "url", str, DEFAULT_STATE_URL, "an SQLAlchemy URL")
    )
    r.unknown_keys(state_t, "state", {"url"})

    zones = parse_zones(r)
    policy = parse_policy(r, zones)
    server = parse_server(r)
    extensions = _extensions(r, parsers, require, parse_all)

    log_t = r.section("logging", required=False)
    log_format = r.get(log_t, "logging", "format", str, "text", '"text" or "json"')
    r.check("logging.format", log_format in ("text", "json"), 'expected "text" or "json"')
    log_level = r.get(log_t, "logging", "level", str, "INFO", "a level name").upper()
    r.check(
        "logging.level",
        log_level in ("DEBUG", "INFO", "WARNING", "ERROR"),
        "expected DEBUG, INFO, WARNING or ERROR",
    )
    r.unknown_keys(log_t, "logging", {"format", "level"})

    ipam_key = "ipam.url" + (f" (from ${ENV_IPAM_URL})" if env.get(ENV_IPAM_URL) else "")
    # what the verbs would refuse later (URLs, drivers, group, socket path), collected
    # with the rest: `check` runs exactly this, like every other verb
    validate_environment(r, ipam, ipam_key, state, server, zones)
    raise_collected(path, r.errors)
    return Config(
        path=path,
        ipam=ipam,
        state=state,
        zones=zones,
        policy=policy,
        server=server,
        extensions=extensions,
        log_format=log_format,
        log_level=log_level,
        warnings=tuple(f"{path}: {key}: {message}" for key, message in r.warnings),
    )


def _extensions(
    r: TomlReader,
    parsers: Mapping[str, Any],
    require: Collection[str],
    parse_all: bool,
) -> dict[str, Any]:
    extensions: dict[str, Any] = {}
    for name in sorted(set(parsers) | set(require)):
        wanted = name in require
        if not (wanted or parse_all):
            continue
        table = r.section(name, required=False)
        if not table:  # absent or empty: not configured
            if wanted:
                r.errors.append((name, f"section [{name}] is required by this verb"))
            continue
        parser = parsers.get(name)
        if parser is None:
            r.errors.append((name, f"no installed package reads [{name}] (reinstall pphook)"))
            continue
        before = len(r.errors)
        extensions[name] = parser(r, table)
        if not wanted and len(r.errors) > before:
            r.errors.append((name, _section_users(name)))
    return extensions


def _section_users(name: str) -> str:
    """Why `check` refuses a section no backend verb reads: the verbs that would."""
    users = sorted(v.name for v in plugin_verbs() if name in v.sections)
    verbs = " and ".join(f"`pphook {v}`" for v in users) or "another package's verbs"
    return (
        f"[{name}] is read by {verbs}, which would refuse it as it is; `check` checks "
        f"every section present: fix the keys above, or remove [{name}] if you do not "
        "run those verbs"
    )
