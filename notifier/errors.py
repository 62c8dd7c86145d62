"""What the notifier raises on purpose; each message tells the operator what to do."""

from __future__ import annotations

from remote_backend.errors import PphookError


class NotifierError(PphookError):
    """A notifier pass cannot run (bad template, unreadable secret, bad setting...)."""


class SmtpError(NotifierError):
    """The mail server refused or could not be reached; nothing was marked as mailed."""


class TemplateError(NotifierError):
    """A mail template is missing or does not render."""


class PassInProgressError(NotifierError):
    """Another notifier (daemon, `report`, another node) is running a pass right now."""


class AuditQueryError(NotifierError):
    """`audit list` got a filter it cannot use (unknown kind, unreadable date)."""


class NotifierConfigError(NotifierError):
    """The config lacks what a notifier verb needs (no [notifier] section)."""
