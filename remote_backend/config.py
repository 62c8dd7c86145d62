"""Configuration: one TOML file (stdlib tomllib), checked completely before use.

Every problem is collected first and reported together, each naming the file and the
dotted key, so an operator fixes the file in one go (octoDNS-style collect-all).
"""

from __future__ import annotations

import ipaddress
import os
import stat
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from remote_backend.errors import ConfigError, SecondaryAddressError
from remote_backend.secondaries import parse_secondary
from remote_backend.wire import RELAY_LIST_TIMEOUT, RELAY_TIMEOUT
from remote_backend.zones import IPNetwork, SoaTimers, ZoneSettings
from validators.model import DuplicateHostnamePolicy, MacScope, Policy

DEFAULT_CONFIG_PATH = "/etc/pphook/pphook.toml"
ENV_CONFIG = "PPHOOK_CONFIG"
ENV_IPAM_URL = "PPHOOK_IPAM_URL"

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class IpamSettings:
    url: str
    password_file: str | None = None
    connect_timeout: float = 5.0
    # the demo's embedded SQLite DB is created when missing (never for MariaDB)

    def __repr__(self) -> str:  # never print a password that may sit in the URL
        return f"IpamSettings(url={redact_url(self.url)!r})"


_DEFAULT_STATE_URL = "sqlite:////var/lib/pphook/state.db"


@dataclass(frozen=True, slots=True)
class StateSettings:
    url: str = _DEFAULT_STATE_URL


@dataclass(frozen=True, slots=True)
class ServerSettings:
    socket: str = "/run/pphook/pphook.sock"
    socket_mode: int = 0o660
    socket_group: str | None = None
    refresh_interval: float = 2.0
    full_reload_interval: float = 300.0
    pdns_control: str | None = None  # path of pdns_control for cache purges; None = off
    pdns_socket_dir: str | None = None
    metrics: str | None = None
    breaker_failures: int = 3  # consecutive DB failures that open the circuit
    breaker_cooldown: float = 5.0  # seconds before one probe may close it again
    relay_timeout: float = RELAY_TIMEOUT  # `pipe --relay`: seconds to wait for serve per lookup
    relay_list_timeout: float = RELAY_LIST_TIMEOUT  # ... per `list` (AXFR) and getAllDomains


@dataclass(frozen=True, slots=True)
class NotifierSettings:
    smtp_host: str = "localhost"
    smtp_port: int = 25
    smtp_security: str = "none"  # none | starttls | ssl
    smtp_user: str | None = None
    smtp_password_file: str | None = None
    smtp_timeout: float = 30.0
    sender: str = "pphook@localhost"
    to: tuple[str, ...] = ()
    phpipam_admins: bool = False
    phpipam_url: str | None = None
    interval: float = 300.0
    templates_dir: str | None = None
    per_problem_mails: bool = False
    resolved_mails: bool = False
    max_mails_per_hour: int = 20
    secondary_lag: float = 900.0


@dataclass(frozen=True, slots=True)
class Config:
    path: str
    ipam: IpamSettings
    state: StateSettings
    zones: ZoneSettings
    policy: Policy
    server: ServerSettings = field(default_factory=ServerSettings)
    notifier: NotifierSettings | None = None
    log_format: str = "text"  # text | json
    log_level: str = "INFO"

    def ipam_password(self) -> str | None:
        """The password from ``ipam.password_file`` (trailing newline stripped), if set."""
        if self.ipam.password_file is None:
            return None
        return read_secret(self.path, "ipam.password_file", self.ipam.password_file)


def redact_url(url: str) -> str:
    """``mysql+pymysql://u:secret@h/db`` -> ``mysql+pymysql://u:***@h/db``."""
    scheme, sep, rest = url.partition("://")
    if not sep or "@" not in rest:
        return url
    creds, _, host = rest.rpartition("@")
    user = creds.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}" if ":" in creds else url


def read_secret(config_path: str, key: str, path: str) -> str:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(config_path, key, f"cannot read {path}: {exc.strerror}") from exc
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


class _Reader:
    """Typed access to the TOML tree that collects every problem instead of stopping."""

    def __init__(self, path: str, data: Mapping[str, Any]) -> None:
        self.path = path
        self.data = data
        self.errors: list[tuple[str, str]] = []

    def section(self, name: str, required: bool) -> Mapping[str, Any] | None:
        value = self.data.get(name)
        if value is None:
            if required:
                self.errors.append((name, f"section [{name}] is required"))
            return None
        if not isinstance(value, dict):
            self.errors.append((name, f"must be a table ([{name}]), got {type(value).__name__}"))
            return None
        return value

    def get(
        self,
        table: Mapping[str, Any] | None,
        section: str,
        key: str,
        kind: type[T] | tuple[type, ...],
        default: T,
        expected: str,
    ) -> T:
        if table is None or key not in table:
            return default
        value = table[key]
        ok = isinstance(value, kind) and not (
            isinstance(value, bool) and kind in (int, float, (int, float))
        )
        if not ok:
            self.errors.append((f"{section}.{key}", f"expected {expected}, got {value!r}"))
            return default
        result: T = value
        return result

    def seconds(
        self,
        table: Mapping[str, Any] | None,
        section: str,
        key: str,
        default: float,
        ok: Callable[[float], bool] = lambda v: v > 0,
        rule: str = "must be > 0",
    ) -> float:
        """A duration in seconds (int or float), checked with ``ok`` (else ``rule``)."""
        value = float(self.get(table, section, key, (int, float), default, "seconds"))
        self.check(f"{section}.{key}", ok(value), rule)
        return value

    def str_list(
        self, table: Mapping[str, Any] | None, section: str, key: str, expected: str
    ) -> tuple[str, ...]:
        value = self.get(table, section, key, list, [], expected)
        if not all(isinstance(v, str) for v in value):
            self.errors.append((f"{section}.{key}", f"expected {expected}, got {value!r}"))
            return ()
        return tuple(value)

    def check(self, key: str, ok: bool, message: str) -> None:
        if not ok:
            self.errors.append((key, message))

    def unknown_keys(self, table: Mapping[str, Any] | None, section: str, known: set[str]) -> None:
        for key in table or {}:
            if key not in known:
                self.errors.append((f"{section}.{key}", "unknown key (typo?)"))


def _dns_name(value: str) -> str:
    return value.strip().lower().rstrip(".")


def _parse_network(value: str) -> IPNetwork | str:
    """A network or an error message."""
    try:
        net = ipaddress.ip_network(value, strict=True)
    except ValueError as exc:
        return f"{value!r} is not a network address with prefix length ({exc})"
    step = 8 if net.version == 4 else 4
    if net.prefixlen % step:
        unit = "octet (/8, /16, /24)" if net.version == 4 else "nibble (multiple of 4)"
        return f"{value}: reverse zones must be {unit} aligned"
    if net.prefixlen == 0:
        return f"{value}: /0 is not a servable reverse zone"
    return net


_SECTIONS = {"ipam", "state", "zones", "policy", "server", "notifier", "logging"}


def load_config(
    path: str | None = None,
    *,
    need_notifier: bool = False,
    environ: Mapping[str, str] | None = None,
) -> Config:
    """Read, check and normalise the config; raise ConfigError listing every problem."""
    env = os.environ if environ is None else environ
    path = path or env.get(ENV_CONFIG) or DEFAULT_CONFIG_PATH
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        hint = f"(set --config or ${ENV_CONFIG})"
        raise ConfigError(path, None, f"cannot read config file: {exc.strerror} {hint}") from exc
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(path, None, f"not valid TOML: {exc}") from exc
    return parse_config(path, data, need_notifier=need_notifier, environ=env)


def parse_config(
    path: str,
    data: Mapping[str, Any],
    *,
    need_notifier: bool = False,
    environ: Mapping[str, str] | None = None,
) -> Config:
    env = os.environ if environ is None else environ
    r = _Reader(path, data)
    for key in data:
        r.check(key, key in _SECTIONS, "unknown section (typo?)")

    ipam_t = r.section("ipam", required=ENV_IPAM_URL not in env)
    url = env.get(ENV_IPAM_URL) or r.get(ipam_t, "ipam", "url", str, "", "an SQLAlchemy URL")
    r.check("ipam.url", bool(url) or ipam_t is None, "required (e.g. mysql+pymysql://...)")
    ipam = IpamSettings(
        url=url,
        password_file=r.get(ipam_t, "ipam", "password_file", str, None, "a file path"),
        connect_timeout=float(
            r.get(ipam_t, "ipam", "connect_timeout", (int, float), 5.0, "seconds")
        ),
    )
    r.unknown_keys(ipam_t, "ipam", {"url", "password_file", "connect_timeout"})

    state_t = r.section("state", required=False)
    state = StateSettings(
        url=r.get(state_t, "state", "url", str, _DEFAULT_STATE_URL, "an SQLAlchemy URL")
    )
    r.unknown_keys(state_t, "state", {"url"})

    zones = _zones(r)
    policy = _policy(r, zones)
    server = _server(r)
    notifier_t = r.section("notifier", required=need_notifier)
    notifier = _notifier(r, notifier_t) if notifier_t is not None else None

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

    if r.errors:
        if len(r.errors) == 1:
            key, message = r.errors[0]
            raise ConfigError(path, key, message)
        lines = "\n".join(f"  - {path}: {k}: {m}" for k, m in r.errors)
        err = ConfigError(path, None, f"{len(r.errors)} problems:\n{lines}")
        err.key = r.errors[0][0]
        raise err
    return Config(
        path=path,
        ipam=ipam,
        state=state,
        zones=zones,
        policy=policy,
        server=server,
        notifier=notifier,
        log_format=log_format,
        log_level=log_level,
    )


def _zones(r: _Reader) -> ZoneSettings:
    t = r.section("zones", required=True)
    forward = tuple(_dns_name(z) for z in r.str_list(t, "zones", "forward", "a list of zone names"))
    for z in forward:
        r.check("zones.forward", bool(z) and " " not in z, f"{z!r} is not a zone name")
    reverse: list[IPNetwork] = []
    for value in r.str_list(t, "zones", "reverse", 'a list of networks like "10.0.0.0/8"'):
        parsed = _parse_network(value)
        if isinstance(parsed, str):
            r.errors.append(("zones.reverse", parsed))
        else:
            reverse.append(parsed)
    r.check(
        "zones.forward",
        t is None or bool(forward) or bool(reverse),
        "no zone configured: set zones.forward and/or zones.reverse",
    )
    nameservers = tuple(
        _dns_name(n) for n in r.str_list(t, "zones", "nameservers", "a list of host names")
    )
    r.check(
        "zones.nameservers",
        t is None or bool(nameservers),
        'required: the NS names of the zones, e.g. ["ns1.example.com"]',
    )
    hostmaster = _dns_name(
        r.get(t, "zones", "hostmaster", str, "", "a mailbox as a DNS name")
    ).replace("@", ".")
    r.check(
        "zones.hostmaster",
        t is None or bool(hostmaster),
        'required, e.g. "hostmaster.example.com"',
    )
    ttl = r.get(t, "zones", "ttl", int, 3600, "seconds (integer)")
    r.check("zones.ttl", 0 <= ttl <= 2**31 - 1, "must be between 0 and 2147483647")
    default_domain = r.get(t, "zones", "default_domain", str, None, "a domain name")
    if default_domain is not None:
        default_domain = _dns_name(default_domain)
        r.check(
            "zones.default_domain",
            any(default_domain == z or default_domain.endswith("." + z) for z in forward),
            f"{default_domain!r} is not in zones.forward, short names qualified with it would "
            "all be rejected",
        )
    d = SoaTimers()
    timers = SoaTimers(
        refresh=r.get(t, "zones", "soa_refresh", int, d.refresh, "seconds"),
        retry=r.get(t, "zones", "soa_retry", int, d.retry, "seconds"),
        expire=r.get(t, "zones", "soa_expire", int, d.expire, "seconds"),
        minimum=r.get(t, "zones", "soa_minimum", int, d.minimum, "seconds"),
    )
    secondaries: list[str] = []
    for value in r.str_list(t, "zones", "secondaries", 'a list of "IP" or "IP:port"'):
        try:
            label = parse_secondary(value).label  # normalised: "192.0.2.1:53" -> "192.0.2.1"
        except SecondaryAddressError as exc:
            r.errors.append(("zones.secondaries", str(exc)))
            continue
        r.check("zones.secondaries", label not in secondaries, f"{value!r} is listed twice")
        secondaries.append(label)
    serial_format = r.get(t, "zones", "serial_format", str, "unixtime", "a string")
    r.check(
        "zones.serial_format",
        serial_format in ("unixtime", "date", "counter"),
        f'expected "unixtime", "date" (YYYYMMDDnn) or "counter", got {serial_format!r}',
    )
    r.unknown_keys(
        t,
        "zones",
        {
            "forward",
            "reverse",
            "nameservers",
            "hostmaster",
            "ttl",
            "default_domain",
            "soa_refresh",
            "soa_retry",
            "soa_expire",
            "soa_minimum",
            "secondaries",
            "serial_format",
        },
    )
    return ZoneSettings(
        forward=forward,
        reverse=tuple(reverse),
        nameservers=nameservers,
        hostmaster=hostmaster,
        ttl=ttl,
        default_domain=default_domain,
        soa=timers,
        secondaries=tuple(secondaries),
        serial_format=serial_format,
    )


def _enum(r: _Reader, key: str, value: str, factory: Callable[[str], T], choices: str) -> T | None:
    try:
        return factory(value)
    except ValueError:
        r.errors.append((key, f"expected one of {choices}, got {value!r}"))
        return None


def _policy(r: _Reader, zones: ZoneSettings) -> Policy:
    t = r.section("policy", required=False)
    states_raw = r.get(t, "policy", "publish_states", list, [], "a list of tag names or ids")
    states: list[str | int] = []
    for s in states_raw:
        if isinstance(s, bool) or not isinstance(s, (str, int)):
            r.errors.append(("policy.publish_states", f"{s!r} is neither a tag name nor an id"))
        else:
            states.append(s)
    dup_raw = r.get(t, "policy", "duplicate_hostname", str, "keep-lowest-id", "a string")
    dup = _enum(
        r,
        "policy.duplicate_hostname",
        dup_raw,
        DuplicateHostnamePolicy,
        '"keep-lowest-id", "publish-all"',
    )
    scope_raw = r.get(t, "policy", "mac_duplicate_scope", str, "global", "a string")
    scope = _enum(
        r, "policy.mac_duplicate_scope", scope_raw, MacScope, '"global", "section", "none"'
    )
    mac_ignore = (
        tuple(
            m.lower().replace(":", "").replace("-", "").replace(".", "")
            for m in r.str_list(t, "policy", "mac_ignore", "a list of MAC addresses")
        )
        if t is not None and "mac_ignore" in t
        else Policy().mac_ignore
    )
    r.unknown_keys(
        t,
        "policy",
        {
            "publish_states",
            "sections",
            "allow_underscore",
            "duplicate_hostname",
            "ptr_requires_subnet_flag",
            "mac_duplicate_scope",
            "mac_ignore",
        },
    )
    return Policy(
        forward_zones=zones.forward,
        default_domain=zones.default_domain,
        publish_states=tuple(states),
        sections=r.str_list(t, "policy", "sections", "a list of section names"),
        allow_underscore=r.get(t, "policy", "allow_underscore", bool, False, "true or false"),
        duplicate_hostname=dup or DuplicateHostnamePolicy.KEEP_LOWEST_ID,
        ptr_requires_subnet_flag=r.get(
            t, "policy", "ptr_requires_subnet_flag", bool, False, "true or false"
        ),
        mac_duplicate_scope=scope or MacScope.GLOBAL,
        mac_ignore=mac_ignore,
    )


def _server(r: _Reader) -> ServerSettings:
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


def _notifier(r: _Reader, t: Mapping[str, Any]) -> NotifierSettings:
    d = NotifierSettings()
    s = "notifier"
    security = r.get(t, s, "smtp_security", str, d.smtp_security, '"none", "starttls" or "ssl"')
    r.check(
        "notifier.smtp_security",
        security in ("none", "starttls", "ssl"),
        'expected "none", "starttls" or "ssl"',
    )
    to = r.str_list(t, s, "to", "a list of mail addresses")
    admins = r.get(t, s, "phpipam_admins", bool, False, "true or false")
    r.check(
        "notifier.to",
        bool(to) or admins,
        "no recipient: set notifier.to or notifier.phpipam_admins = true",
    )
    for addr in to:
        r.check(
            "notifier.to",
            "@" in addr and "\n" not in addr and "\r" not in addr,
            f"{addr!r} is not a mail address",
        )
    sender = r.get(t, s, "from", str, d.sender, "a mail address")
    r.check(
        "notifier.from",
        "@" in sender and "\n" not in sender and "\r" not in sender,
        f"{sender!r} is not a mail address",
    )
    interval = r.seconds(
        t, s, "interval", d.interval, lambda v: v >= 1, "must be at least 1 second"
    )
    max_mails = r.get(t, s, "max_mails_per_hour", int, d.max_mails_per_hour, "an integer")
    r.check("notifier.max_mails_per_hour", max_mails >= 0, "must be >= 0 (0 = no limit)")
    smtp_timeout = r.seconds(t, s, "smtp_timeout", d.smtp_timeout)
    phpipam_url = r.get(t, s, "phpipam_url", str, None, "a URL")
    r.check(
        "notifier.phpipam_url",
        phpipam_url is None or phpipam_url.startswith(("http://", "https://")),
        "must start with http:// or https://",
    )
    port = r.get(t, s, "smtp_port", int, d.smtp_port, "a port number")
    r.check("notifier.smtp_port", 0 < port < 65536, "must be 1..65535")
    secondary_lag = r.seconds(
        t, s, "secondary_lag", d.secondary_lag, lambda v: v >= 0, "must be >= 0 seconds"
    )
    r.unknown_keys(
        t,
        s,
        {
            "smtp_host",
            "smtp_port",
            "smtp_security",
            "smtp_user",
            "smtp_password_file",
            "smtp_timeout",
            "from",
            "to",
            "phpipam_admins",
            "phpipam_url",
            "interval",
            "templates_dir",
            "per_problem_mails",
            "resolved_mails",
            "max_mails_per_hour",
            "secondary_lag",
        },
    )
    return NotifierSettings(
        smtp_host=r.get(t, s, "smtp_host", str, d.smtp_host, "a host name"),
        smtp_port=port,
        smtp_security=security,
        smtp_user=r.get(t, s, "smtp_user", str, None, "a user name"),
        smtp_password_file=r.get(t, s, "smtp_password_file", str, None, "a file path"),
        smtp_timeout=smtp_timeout,
        sender=sender,
        to=to,
        phpipam_admins=admins,
        phpipam_url=phpipam_url,
        interval=interval,
        templates_dir=r.get(t, s, "templates_dir", str, None, "a directory"),
        per_problem_mails=r.get(t, s, "per_problem_mails", bool, False, "true or false"),
        resolved_mails=r.get(t, s, "resolved_mails", bool, False, "true or false"),
        max_mails_per_hour=max_mails,
        secondary_lag=secondary_lag,
    )
