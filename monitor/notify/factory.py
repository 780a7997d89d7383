"""Choosing and building the notifier from explicit settings values.

The caller (the CLI) reads the environment; this module only receives values.
"""

from __future__ import annotations

import sys
from typing import TextIO
from urllib.parse import urlsplit

from monitor.errors import ConfigError, Problem
from monitor.notify.base import Notifier
from monitor.notify.console import ConsoleNotifier
from monitor.notify.slack import DEFAULT_API_URL, SlackBotNotifier, make_client
from monitor.notify.webhook import WebhookNotifier, make_webhook_client


def _check_http_url(value: str, variable: str) -> None:
    try:
        parts = urlsplit(value)
        ok = parts.scheme in ("http", "https") and bool(parts.hostname)
    except ValueError:
        ok = False
    if not ok:
        # The value may be a secret: name the variable, never echo the value.
        raise ConfigError(
            [Problem(file="environment", key=variable, message="notify: must be an absolute http(s) URL")]
        )


def build_notifier(
    *,
    bot_token: str | None,
    default_channel: str | None,
    webhook_url: str | None,
    api_url: str | None,
    out: TextIO = sys.stdout,
    timeout: float = 10.0,
) -> Notifier:
    """Build the notifier the settings call for.

    - ``bot_token`` set: ``SlackBotNotifier`` posting through the Web API at
      ``api_url`` (default ``https://slack.com/api/``; a trailing ``/`` is
      added when missing), to each rule's channel or ``default_channel``.
    - else ``webhook_url`` set: ``WebhookNotifier``.
    - else: ``ConsoleNotifier`` printing to ``out``.

    A token wins over a webhook when both are given. Blank strings count as
    unset. Raises ``ConfigError`` for a malformed URL (naming the variable,
    never echoing a secret).
    """
    bot_token = (bot_token or "").strip() or None
    webhook_url = (webhook_url or "").strip() or None
    api_url = (api_url or "").strip() or None
    if bot_token:
        base = api_url or DEFAULT_API_URL
        _check_http_url(base, "MONITOR_SLACK_API_URL")
        client = make_client(bot_token, api_url=base, timeout=timeout)
        return SlackBotNotifier(client, default_channel=(default_channel or "").strip() or None)
    if webhook_url:
        _check_http_url(webhook_url, "MONITOR_SLACK_WEBHOOK_URL")
        return WebhookNotifier(make_webhook_client(webhook_url, timeout=timeout))
    return ConsoleNotifier(out)
