"""Send a message through an SMTP server with smtplib.

``SmtpSender.send`` raises ``DeliveryError`` with ``permanent`` saying whether
retrying can help:

- permanent: authentication refused (535 and other 5xx), every recipient or
  the sender refused with 5xx, data refused with 5xx, STARTTLS or AUTH not
  offered by the server, a TLS certificate that does not verify;
- transient: connection refused or reset, timeouts, the server closing the
  connection, and every 4xx answer (451, 421, 454 ...).

The password never appears in an error message or in ``repr``.
"""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass, field
from email.message import EmailMessage

from monitor.errors import DeliveryError

SECURITY_MODES = ("starttls", "ssl", "none")
DEFAULT_PORTS = {"starttls": 587, "ssl": 465, "none": 25}


@dataclass(frozen=True)
class SmtpSettings:
    """Where and how to connect. ``port`` None means the mode's usual port."""

    host: str
    port: int | None = None
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    security: str = "starttls"
    timeout: float = 30.0

    def __post_init__(self) -> None:
        if self.security not in SECURITY_MODES:
            raise ValueError(f"digest: SMTP security must be one of {', '.join(SECURITY_MODES)}; got {self.security!r}")
        if not self.host:
            raise ValueError("digest: SMTP host is empty")

    @property
    def effective_port(self) -> int:
        return self.port if self.port is not None else DEFAULT_PORTS[self.security]

    @property
    def address(self) -> str:
        return f"{self.host}:{self.effective_port}"

    def __repr__(self) -> str:
        password = "'***'" if self.password else "None"
        return (
            f"SmtpSettings(host={self.host!r}, port={self.port!r}, username={self.username!r}, "
            f"password={password}, security={self.security!r}, timeout={self.timeout!r})"
        )


Refused = dict[str, tuple[int, bytes]]


class SmtpSender:
    """Delivers one message per ``send`` call over a fresh connection.

    ``ssl_context`` verifies the server for ``starttls`` and ``ssl``; the
    default is the system's trust store with hostname checking.
    """

    def __init__(self, settings: SmtpSettings, *, ssl_context: ssl.SSLContext | None = None) -> None:
        self._settings = settings
        self._context = ssl_context

    def __repr__(self) -> str:
        return f"SmtpSender({self._settings!r})"

    def send(self, message: EmailMessage) -> Refused:
        """Hand ``message`` to the server (envelope from its From, To, Cc, Bcc).

        Returns the recipients the server refused while accepting others
        (empty when all were accepted): the message was delivered, so this is
        not an error, but the caller should log them. Raises ``DeliveryError``
        when nothing was delivered.
        """
        s = self._settings
        try:
            with self._connect() as smtp:
                if s.security == "starttls":
                    smtp.starttls(context=self._ssl_context())
                if s.username:
                    smtp.login(s.username, s.password or "")
                return smtp.send_message(message)
        except smtplib.SMTPAuthenticationError as exc:
            raise self._error(
                f"authentication refused for user {s.username!r}", exc.smtp_code, exc.smtp_error
            ) from None
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            detail = "; ".join(f"{rcpt}: {code} {_text(resp)}" for rcpt, (code, resp) in exc.recipients.items())
            raise DeliveryError(
                self._scrub(f"digest: {s.address} refused every recipient ({detail})"),
                permanent=all(500 <= c < 600 for c in codes),
            ) from None
        except smtplib.SMTPSenderRefused as exc:
            raise self._error(f"refused the sender {exc.sender!r}", exc.smtp_code, exc.smtp_error) from None
        except smtplib.SMTPNotSupportedError as exc:
            reason = str(exc).rstrip(".")
            raise DeliveryError(
                self._scrub(f"digest: {s.address}: {reason} (check MONITOR_SMTP_SECURITY and the username)"),
                permanent=True,
            ) from None
        except smtplib.SMTPServerDisconnected as exc:
            raise DeliveryError(
                self._scrub(f"digest: {s.address} closed the connection ({exc or 'no reason given'})")
            ) from None
        except smtplib.SMTPResponseException as exc:
            raise self._error("refused the message", exc.smtp_code, exc.smtp_error) from None
        except smtplib.SMTPException as exc:
            raise DeliveryError(self._scrub(f"digest: SMTP error with {s.address}: {exc}")) from None
        except ssl.SSLCertVerificationError as exc:
            raise DeliveryError(
                self._scrub(f"digest: TLS certificate of {s.address} does not verify: {exc.verify_message}"),
                permanent=True,
            ) from None
        except ssl.SSLError as exc:
            raise DeliveryError(self._scrub(f"digest: TLS failed with {s.address}: {exc.reason or exc}")) from None
        except TimeoutError:
            raise DeliveryError(f"digest: timed out after {s.timeout:g}s talking to {s.address}") from None
        except OSError as exc:
            reason = exc.strerror or exc.__class__.__name__
            raise DeliveryError(self._scrub(f"digest: cannot connect to {s.address}: {reason}")) from None

    def _connect(self) -> smtplib.SMTP:
        s = self._settings
        if s.security == "ssl":
            return smtplib.SMTP_SSL(s.host, s.effective_port, timeout=s.timeout, context=self._ssl_context())
        return smtplib.SMTP(s.host, s.effective_port, timeout=s.timeout)

    def _ssl_context(self) -> ssl.SSLContext:
        if self._context is None:
            self._context = ssl.create_default_context()
        return self._context

    def _error(self, what: str, code: int, response: bytes | str) -> DeliveryError:
        message = f"digest: {self._settings.address} {what} ({code} {_text(response)})"
        return DeliveryError(self._scrub(message), permanent=500 <= code < 600)

    def _scrub(self, message: str) -> str:
        password = self._settings.password
        if password:
            message = message.replace(password, "***")
        return message


def _text(response: bytes | str) -> str:
    if isinstance(response, bytes):
        response = response.decode("utf-8", "replace")
    return " ".join(response.split())
