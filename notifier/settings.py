"""The ``[notifier]`` section, parsed by the notifier's own code (the backend only
knows it as a registered section: ``remote_backend.plugins``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from notifier.errors import NotifierConfigError
from remote_backend.config import Config
from remote_backend.config.toml import TomlReader

SECTION = "notifier"


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


def parse_notifier_section(r: TomlReader, t: Mapping[str, Any]) -> NotifierSettings:
    """``[notifier]`` checked (every problem collected in ``r``)."""
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


def notifier_settings(config: Config) -> NotifierSettings:
    """The ``[notifier]`` settings of a config loaded with that section required."""
    settings = config.extensions.get(SECTION)
    if not isinstance(settings, NotifierSettings):
        raise NotifierConfigError(
            f"{config.path}: [notifier]: section is required for the notifier verbs "
            "(set at least notifier.to or notifier.phpipam_admins = true)"
        )
    return settings
