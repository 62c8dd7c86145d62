"""SMTP delivery (smtplib): plain, STARTTLS or implicit TLS, optional AUTH.

One connection per pass, opened only when there is something to send. Any failure
becomes an SmtpError naming the server and what to check; the caller then leaves the
problems pending so the next pass sends them.
"""

from __future__ import annotations

import logging
import re
import smtplib
import ssl
from collections.abc import Iterable, Sequence
from email.message import EmailMessage
from types import TracebackType

from notifier.errors import SmtpError
from notifier.problems import printable
from notifier.settings import NotifierSettings

log = logging.getLogger("pphook.notifier")

# Addresses read from phpIPAM's users table go into headers and the envelope, so only
# plain addr-spec forms are accepted: no spaces, commas, quotes, angle brackets or
# control characters, ASCII only.
_ADDRESS = re.compile(
    r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$"
)


def is_plain_address(address: str) -> bool:
    return len(address) <= 254 and _ADDRESS.match(address) is not None


def recipients(configured: Iterable[str], from_phpipam: Iterable[str]) -> list[str]:
    """``notifier.to`` then phpIPAM admins; duplicates (any case) and unsafe addresses dropped."""
    result: list[str] = []
    seen: set[str] = set()
    for source, addresses in (("notifier.to", configured), ("phpIPAM users", from_phpipam)):
        for raw in addresses:
            address = raw.strip()
            if not is_plain_address(address):
                log.warning(
                    "skipping recipient %s from %s: not a plain mail address",
                    printable(raw, 80),
                    source,
                )
                continue
            if address.lower() not in seen:
                seen.add(address.lower())
                result.append(address)
    return result


class SmtpMailer:
    """``with SmtpMailer(...) as m: m.send(msg, rcpts)``; connects on first send."""

    def __init__(
        self,
        settings: NotifierSettings,
        password: str | None = None,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.settings = settings
        self.password = password
        self.ssl_context = ssl_context
        self._smtp: smtplib.SMTP | None = None

    @property
    def server(self) -> str:
        return f"{self.settings.smtp_host}:{self.settings.smtp_port}"

    def __enter__(self) -> SmtpMailer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _context(self) -> ssl.SSLContext:
        return self.ssl_context or ssl.create_default_context()

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        try:
            smtp: smtplib.SMTP
            if s.smtp_security == "ssl":
                smtp = smtplib.SMTP_SSL(
                    s.smtp_host, s.smtp_port, timeout=s.smtp_timeout, context=self._context()
                )
            else:
                smtp = smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=s.smtp_timeout)
            try:
                smtp.ehlo()
                if s.smtp_security == "starttls":
                    smtp.starttls(context=self._context())
                    smtp.ehlo()
                if s.smtp_user:
                    if s.smtp_security == "none":
                        log.warning(
                            "sending SMTP credentials without TLS to %s "
                            '(set notifier.smtp_security = "starttls" or "ssl")',
                            self.server,
                        )
                    smtp.login(s.smtp_user, self.password or "")
            except BaseException:
                smtp.close()
                raise
        except smtplib.SMTPNotSupportedError as exc:
            raise SmtpError(
                f"SMTP server {self.server} does not support {_feature(exc)} "
                "(check notifier.smtp_security and notifier.smtp_user)"
            ) from exc
        except smtplib.SMTPAuthenticationError as exc:
            raise SmtpError(
                f"SMTP server {self.server} refused the login of {s.smtp_user!r}: "
                f"{_reply(exc)} (check notifier.smtp_user and notifier.smtp_password_file)"
            ) from exc
        except ssl.SSLError as exc:
            raise SmtpError(
                f"TLS with SMTP server {self.server} failed: {exc} (check the server "
                "certificate, notifier.smtp_host and notifier.smtp_security)"
            ) from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise SmtpError(
                f"cannot talk to SMTP server {self.server}: {_describe(exc)} (check "
                "notifier.smtp_host, notifier.smtp_port and that the mail server runs; "
                "pending problems are mailed on the next pass)"
            ) from exc
        return smtp

    def send(self, message: EmailMessage, to: Sequence[str]) -> None:
        """Hand one message to the server for exactly ``to`` (not its header fields)."""
        if self._smtp is None:
            self._smtp = self._connect()
        try:
            refused = self._smtp.send_message(message, self.settings.sender, list(to))
        except smtplib.SMTPRecipientsRefused as exc:
            self.close()
            raise SmtpError(
                f"SMTP server {self.server} refused every recipient "
                f"({', '.join(sorted(exc.recipients))}): check notifier.to"
            ) from exc
        except (smtplib.SMTPException, OSError) as exc:
            self.close()
            raise SmtpError(
                f"SMTP server {self.server} did not accept the mail: {_describe(exc)} "
                "(it stays pending and is sent on the next pass)"
            ) from exc
        for address, (code, reply) in refused.items():
            log.warning(
                "SMTP server %s refused recipient %s: %s %s",
                self.server,
                address,
                code,
                reply.decode("utf-8", "replace"),
            )

    def close(self) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is None:
            return
        try:
            smtp.quit()
        except (smtplib.SMTPException, OSError):
            smtp.close()


def _reply(exc: smtplib.SMTPResponseException) -> str:
    message = exc.smtp_error
    text = message.decode("utf-8", "replace") if isinstance(message, bytes) else str(message)
    return f"{exc.smtp_code} {text}"


def _describe(exc: BaseException) -> str:
    if isinstance(exc, smtplib.SMTPResponseException):
        return _reply(exc)
    return str(exc) or type(exc).__name__


def _feature(exc: smtplib.SMTPNotSupportedError) -> str:
    text = str(exc).lower()
    if "starttls" in text:
        return "STARTTLS"
    if "auth" in text:
        return "AUTH"
    return "a required extension"
