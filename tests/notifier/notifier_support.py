"""Test doubles for the notifier: an aiosmtpd inbox and a config builder."""

from __future__ import annotations

import email
import email.policy
import threading
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from infra.ports import free_port

from remote_backend.config import Config, parse_config


@dataclass
class Received:
    """One mail as the SMTP server got it: envelope plus parsed message."""

    mail_from: str
    rcpt_tos: list[str]
    raw: bytes
    message: EmailMessage

    @property
    def subject(self) -> str:
        return str(self.message["Subject"])

    @property
    def text(self) -> str:
        part = self.message.get_body(("plain",))
        assert part is not None, "no text/plain part"
        # SMTP line ends are CRLF; compare with the templates' LF
        return str(part.get_content()).replace("\r\n", "\n")

    @property
    def html(self) -> str:
        part = self.message.get_body(("html",))
        assert part is not None, "no text/html part"
        return str(part.get_content()).replace("\r\n", "\n")


@dataclass
class Inbox:
    """aiosmtpd handler that keeps every mail; ``refuse`` makes DATA fail with 451."""

    mails: list[Received] = field(default_factory=list)
    refuse: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.refuse:
            return "451 4.3.0 try again later"
        raw = bytes(envelope.original_content or envelope.content)
        message = email.message_from_bytes(raw, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        with self.lock:
            self.mails.append(Received(envelope.mail_from, list(envelope.rcpt_tos), raw, message))
        return "250 OK"

    def take(self) -> list[Received]:
        with self.lock:
            mails, self.mails = self.mails, []
        return mails


class SmtpServer:
    """A real SMTP server on 127.0.0.1 and a free port, started and stopped by tests."""

    def __init__(self, **controller_kwargs: Any) -> None:
        self.port = free_port()
        self.inbox = Inbox()
        self.kwargs = controller_kwargs
        self.controller: Controller | None = None

    def start(self) -> SmtpServer:
        self.controller = Controller(
            self.inbox, hostname="127.0.0.1", port=self.port, **self.kwargs
        )
        self.controller.start()
        return self

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


def make_config(
    tmp_path: Path,
    ipam_url: str,
    smtp_port: int,
    *,
    policy: dict[str, Any] | None = None,
    **notifier: Any,
) -> Config:
    """A checked Config: zones example.com + 10/8 + 2001:db8::/32, SQLite state in tmp_path;
    ``policy``: the [policy] section."""
    settings: dict[str, Any] = {
        "smtp_host": "127.0.0.1",
        "smtp_port": smtp_port,
        "smtp_timeout": 5,
        "from": "pphook@example.com",
        "to": ["dns-admins@example.com"],
        "phpipam_url": "https://ipam.example.com/",
        **notifier,
    }
    data = {
        "ipam": {"url": ipam_url},
        "state": {"url": f"sqlite:///{tmp_path / 'state.db'}"},
        "zones": {
            "forward": ["example.com"],
            "reverse": ["10.0.0.0/8", "2001:db8::/32"],
            "nameservers": ["ns1.example.com"],
            "hostmaster": "hostmaster.example.com",
        },
        "notifier": settings,
    }
    if policy is not None:
        data["policy"] = policy
    return parse_config(str(tmp_path / "pphook.toml"), data, require=("notifier",), environ={})
