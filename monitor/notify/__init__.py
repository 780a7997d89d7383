"""Notifiers: deliver alerts to Slack (bot token or incoming webhook) or the console.

Build one with ``build_notifier`` from explicit settings; every notifier
follows the ``Notifier`` protocol and raises ``DeliveryError`` with
``permanent`` and ``retry_after`` set for the outbox to act on.
"""

from monitor.notify.base import Notifier, SentRef
from monitor.notify.console import ConsoleNotifier
from monitor.notify.factory import build_notifier
from monitor.notify.message import (
    build_blocks,
    escape_mrkdwn,
    fallback_text,
    link_url,
    trim,
)
from monitor.notify.slack import SlackBotNotifier
from monitor.notify.webhook import WebhookNotifier

__all__ = [
    "ConsoleNotifier",
    "Notifier",
    "SentRef",
    "SlackBotNotifier",
    "WebhookNotifier",
    "build_blocks",
    "build_notifier",
    "escape_mrkdwn",
    "fallback_text",
    "link_url",
    "trim",
]
