"""SMTP options against a real aiosmtpd server: STARTTLS, implicit TLS, AUTH, refusals."""

from __future__ import annotations

import shutil
import ssl
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.smtp import AuthResult, LoginPassword
from notifier_support import SmtpServer

from notifier.errors import SmtpError
from notifier.mailer import SmtpMailer
from notifier.settings import NotifierSettings


@dataclass
class Tls:
    cert: Path
    key: Path

    def server(self) -> ssl.SSLContext:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(self.cert, self.key)
        return ctx

    def client(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.cert))


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> Tls:
    openssl = shutil.which("openssl")
    assert openssl, "the TLS tests need the openssl binary (Debian package openssl)"
    d = tmp_path_factory.mktemp("tls")
    subprocess.run(
        [
            openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
            "-keyout", str(d / "key.pem"), "-out", str(d / "cert.pem"),
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return Tls(d / "cert.pem", d / "key.pem")


class Users:
    """aiosmtpd authenticator accepting one login."""

    def __init__(self) -> None:
        self.logins: list[str] = []

    def __call__(
        self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
    ) -> AuthResult:
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login == b"pphook"
            and auth_data.password == b"s3cret"
        )
        if ok:
            self.logins.append(auth_data.login.decode())
        # handled=False: aiosmtpd answers 535 itself (True would mean "already replied")
        return AuthResult(success=ok, handled=False)


def serve(**kwargs: Any) -> Iterator[SmtpServer]:
    server = SmtpServer(**kwargs).start()
    try:
        yield server
    finally:
        server.stop()


def settings(port: int, **kw: Any) -> NotifierSettings:
    return NotifierSettings(
        smtp_host="127.0.0.1", smtp_port=port, smtp_timeout=5, sender="pphook@example.com", **kw
    )


def message() -> EmailMessage:
    msg = EmailMessage()
    msg["Subject"] = "test"
    msg["From"] = "pphook@example.com"
    msg["To"] = "a@example.com"
    msg.set_content("hello")
    return msg


def test_starttls_with_auth(tls: Tls) -> None:
    users = Users()
    for server in serve(
        tls_context=tls.server(), require_starttls=True, authenticator=users, auth_required=True
    ):
        conf = settings(server.port, smtp_security="starttls", smtp_user="pphook")
        with SmtpMailer(conf, "s3cret", ssl_context=tls.client()) as mailer:
            mailer.send(message(), ["a@example.com", "b@example.com"])
        (mail,) = server.inbox.take()
        assert mail.rcpt_tos == ["a@example.com", "b@example.com"]
        assert users.logins == ["pphook"]


def test_wrong_password_is_a_clear_error(tls: Tls) -> None:
    for server in serve(tls_context=tls.server(), authenticator=Users(), auth_required=True):
        conf = settings(server.port, smtp_security="starttls", smtp_user="pphook")
        with pytest.raises(SmtpError, match=r"refused the login of 'pphook'.*smtp_password_file"):
            SmtpMailer(conf, "wrong", ssl_context=tls.client()).send(message(), ["a@example.com"])
        assert server.inbox.take() == []


def test_implicit_tls(tls: Tls) -> None:
    for server in serve(ssl_context=tls.server()):
        conf = settings(server.port, smtp_security="ssl")
        with SmtpMailer(conf, ssl_context=tls.client()) as mailer:
            mailer.send(message(), ["a@example.com"])
        assert len(server.inbox.take()) == 1


def test_untrusted_certificate_is_refused(tls: Tls) -> None:
    for server in serve(ssl_context=tls.server()):
        conf = settings(server.port, smtp_security="ssl")  # system CAs: self-signed fails
        with pytest.raises(SmtpError, match=r"TLS with SMTP server .* failed"):
            SmtpMailer(conf).send(message(), ["a@example.com"])


def test_starttls_required_but_not_offered() -> None:
    for server in serve():
        conf = settings(server.port, smtp_security="starttls")
        with pytest.raises(SmtpError, match="does not support STARTTLS"):
            SmtpMailer(conf).send(message(), ["a@example.com"])


class Picky:
    """Refuses recipients starting with "bad"; keeps the rest."""

    def __init__(self, inbox: Any) -> None:
        self.inbox = inbox

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if address.startswith("bad"):
            return "550 5.1.1 no such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        return str(await self.inbox.handle_DATA(server, session, envelope))


def test_refused_recipients() -> None:
    server = SmtpServer()
    server.inbox = Picky(server.inbox)  # type: ignore[assignment]
    server.start()
    try:
        mailer = SmtpMailer(settings(server.port))
        mailer.send(message(), ["good@example.com", "bad@example.com"])  # partly accepted
        with pytest.raises(SmtpError, match="refused every recipient"):
            mailer.send(message(), ["bad@example.com"])
        mailer.close()
    finally:
        server.stop()
    (mail,) = server.inbox.inbox.take()  # type: ignore[attr-defined]
    assert mail.rcpt_tos == ["good@example.com"]
