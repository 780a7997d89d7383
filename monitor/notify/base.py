"""The notifier contract shared by every transport, and helpers they share.

A notifier delivers one rendered alert and raises ``DeliveryError`` when it
cannot. It raises once: backoff and retries across polls belong to the outbox,
which reads ``DeliveryError.permanent`` (retrying cannot help) and
``DeliveryError.retry_after`` (seconds the peer asked us to wait).
"""

from __future__ import annotations

import http.client
import logging
import socket
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable
from urllib.error import URLError

from monitor.config import SecretMaskingFilter
from monitor.model import Alert


@dataclass(frozen=True)
class SentRef:
    """Where a message landed.

    ``channel`` is the Slack channel id the API answered with and ``ts`` the
    message timestamp (Slack's message id); both are None for transports that
    cannot address a message again (incoming webhook, console).
    """

    channel: str | None
    ts: str | None


@runtime_checkable
class Notifier(Protocol):
    """Delivers alerts to one destination.

    Every method raises ``monitor.errors.DeliveryError`` on failure and
    never logs or returns secrets (tokens, webhook URLs).
    """

    name: str  # "slack", "webhook", "console"

    def send(self, alert: Alert) -> SentRef:
        """Deliver one alert; return where it landed."""
        ...

    def send_text(self, channel: str | None, text: str) -> SentRef:
        """Deliver one line of our own mrkdwn (e.g. a storm-guard summary).

        ``text`` is sent as written: the caller escapes feed text in it with
        ``monitor.notify.message.escape_mrkdwn`` and builds links with
        ``link_url``. ``channel`` None means the notifier's default destination.
        """
        ...

    def reply(self, ref: SentRef, text: str) -> SentRef:
        """Reply to an earlier message in its thread (``text`` as for ``send_text``).

        Transports that cannot thread deliver a new message instead.
        """
        ...

    def update(self, ref: SentRef, alert: Alert) -> None:
        """Replace an earlier message with a new rendering of ``alert``.

        Transports that cannot edit do nothing.
        """
        ...


# Errors raised by urllib/http.client/socket when the network or peer fails.
NETWORK_ERRORS: tuple[type[BaseException], ...] = (
    URLError,
    TimeoutError,
    socket.timeout,
    ConnectionError,
    http.client.HTTPException,
    OSError,
)


class _PrivateLogger(logging.Logger):
    """A logger outside ``logging``'s registry; its level checks are not cached
    (the registry clears caches only of loggers it knows)."""

    def isEnabledFor(self, level: int) -> bool:  # noqa: N802 (logging's naming)
        return self.manager.disable < level and level >= self.getEffectiveLevel()


def sdk_logger(name: str, secrets: tuple[str, ...]) -> logging.Logger:
    """A private logger for a slack-sdk client, masking ``secrets`` in its records.

    slack-sdk logs request URLs and bodies at DEBUG, and a webhook URL is a
    secret. The logger is not registered with ``logging`` (nothing leaks
    across instances) but propagates to ``monitor.notify``, so handlers and
    levels set there apply.
    """
    logger = _PrivateLogger(name)
    logger.parent = logging.getLogger("monitor.notify")
    logger.addFilter(SecretMaskingFilter(secrets))
    return logger


def header(headers: Any, name: str) -> str | None:
    """The value of header ``name`` (any case) in a dict of str or list values, or None."""
    if not headers:
        return None
    for key, value in dict(headers).items():
        if key.lower() == name.lower():
            return value[0] if isinstance(value, list) else value
    return None


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header given in seconds; None when absent or unreadable."""
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None
    return max(0.0, seconds)
