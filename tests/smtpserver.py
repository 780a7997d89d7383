"""A real SMTP server on 127.0.0.1 for tests, built on aiosmtpd.

``SmtpServer`` stores every accepted envelope and can be told to misbehave:
``mode`` is ``"accept"``, ``"tempfail"`` (451 at DATA), ``"refuse"`` (550 for
every recipient) or ``"close"`` (drops the connection at MAIL FROM);
``refuse_recipients`` refuses only the named addresses. With ``user`` and
``password`` it offers AUTH (PLAIN, LOGIN) without requiring TLS; with
``tls`` (a ``TlsFiles``) it offers STARTTLS, or speaks TLS from the first
byte when ``implicit_tls`` is set.
"""

from __future__ import annotations

import logging
import shutil
import socket
import ssl
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session


@dataclass(frozen=True)
class TlsFiles:
    """A self-signed certificate for 127.0.0.1 and localhost, and its key."""

    cert: Path
    key: Path

    def server_context(self) -> ssl.SSLContext:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(self.cert, self.key)
        return ctx

    def client_context(self) -> ssl.SSLContext:
        """A client context that trusts only this certificate (hostnames checked)."""
        return ssl.create_default_context(cafile=str(self.cert))


def make_self_signed(directory: Path) -> TlsFiles | None:
    """Generate a certificate with the ``openssl`` command; None when it is missing."""
    openssl = shutil.which("openssl")
    if openssl is None:
        return None
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        [
            openssl,
            "req",
            "-x509",
            "-nodes",
            "-days",
            "2",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=IP:127.0.0.1,DNS:localhost",
        ],
        check=True,
        capture_output=True,
        timeout=30,
    )
    return TlsFiles(cert=cert, key=key)


class _QuietDeprecation(logging.Filter):
    """aiosmtpd warns about its own use of a deprecated attribute after every AUTH."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "login_data is deprecated" not in record.getMessage()


logging.getLogger("mail.log").addFilter(_QuietDeprecation())


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Received:
    """One accepted message as the server saw it."""

    mail_from: str
    rcpt_tos: list[str]
    data: bytes
    authenticated_as: str | None = None
    tls: bool = False


@dataclass
class _Handler:
    owner: SmtpServer
    messages: list[Received] = field(default_factory=list)

    async def handle_MAIL(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if self.owner.mode == "close":
            server.transport.close()
            return "421 4.3.2 closing connection"
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if self.owner.mode == "refuse" or address in self.owner.refuse_recipients:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.owner.mode == "tempfail":
            return "451 4.3.0 temporary failure, try again later"
        login = session.auth_data.login.decode() if isinstance(session.auth_data, LoginPassword) else None
        self.messages.append(
            Received(
                mail_from=envelope.mail_from or "",
                rcpt_tos=list(envelope.rcpt_tos),
                data=bytes(envelope.original_content or envelope.content or b""),
                authenticated_as=login,
                tls=server.transport.get_extra_info("ssl_object") is not None,
            )
        )
        return "250 2.0.0 accepted"


class SmtpServer:
    """Context manager: ``with SmtpServer(...) as server: ... server.messages``."""

    def __init__(
        self,
        *,
        user: str | None = None,
        password: str | None = None,
        tls: TlsFiles | None = None,
        implicit_tls: bool = False,
        require_starttls: bool = False,
        mode: str = "accept",
        refuse_recipients: set[str] | None = None,
    ) -> None:
        self.host = "127.0.0.1"
        self.port = free_port()
        self.user = user
        self.password = password
        self.mode = mode
        self.refuse_recipients = set(refuse_recipients or ())
        self._handler = _Handler(self)
        kwargs: dict[str, Any] = {"auth_require_tls": False, "hostname": self.host}
        if user is not None:
            kwargs["authenticator"] = self._authenticate
        if tls is not None and implicit_tls:
            kwargs["ssl_context"] = tls.server_context()
        elif tls is not None:
            kwargs["tls_context"] = tls.server_context()
            kwargs["require_starttls"] = require_starttls
        self._controller = Controller(self._handler, port=self.port, server_hostname="localhost", **kwargs)

    @property
    def messages(self) -> list[Received]:
        return self._handler.messages

    def _authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
    ) -> AuthResult:
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login.decode() == self.user
            and auth_data.password.decode() == self.password
        )
        return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)

    def __enter__(self) -> SmtpServer:
        self._controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._controller.stop()
