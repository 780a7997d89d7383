"""Slack delivery through an incoming webhook.

An incoming webhook posts to the one channel chosen when it was created: the
alert's ``channel`` is ignored, nothing can be threaded or edited, and no
message id comes back (``SentRef(None, None)``). The webhook URL is itself
the credential, so it is masked in every error and log line
(``https://hooks.slack.com/services/T000/B000/****``).

Status mapping (raised once; the outbox retries): 429 → ``retry_after``
from ``Retry-After``; 5xx, timeouts and connection failures → transient;
404 ``no_service`` / ``channel_not_found``, 403 ``invalid_token``, 410
``channel_is_archived`` and other 4xx → permanent. Inside the client only a
failure to connect or send is retried, once (see ``monitor.notify.slack``).
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from urllib.error import URLError

from slack_sdk.http_retry import (
    ConnectionErrorRetryHandler,
    FixedValueRetryIntervalCalculator,
)
from slack_sdk.webhook import WebhookClient, WebhookResponse

from monitor.config import mask, mask_url
from monitor.errors import DeliveryError
from monitor.model import Alert
from monitor.notify.base import (
    NETWORK_ERRORS,
    SentRef,
    header,
    parse_retry_after,
    sdk_logger,
)
from monitor.notify.message import build_blocks, fallback_text, text_message

WEBHOOK_VARIABLE = "MONITOR_SLACK_WEBHOOK_URL"

# What to do about the errors an incoming webhook answers, by Slack's error text.
PERMANENT_ERRORS: dict[str, str] = {
    "no_service": (
        f"the webhook was removed or the URL is wrong: create a new incoming webhook and update {WEBHOOK_VARIABLE}"
    ),
    "invalid_token": f"the webhook's token is invalid: create a new incoming webhook and update {WEBHOOK_VARIABLE}",
    "channel_not_found": (
        f"the webhook's channel no longer exists: create a new incoming webhook and update {WEBHOOK_VARIABLE}"
    ),
    "channel_is_archived": "the webhook's channel is archived: unarchive it or create a new incoming webhook",
    "action_prohibited": "a workspace admin restricted posting to the webhook's channel",
    "posting_to_general_channel_denied": "only admins may post to the webhook's channel",
    "team_disabled": "the Slack workspace is disabled",
    "invalid_payload": "Slack rejected the message (a rendering bug: please report it)",
    "no_text": "the message had no text (a rendering bug: please report it)",
    "invalid_blocks": "Slack rejected the message blocks (a rendering bug: please report it)",
}


def make_webhook_client(url: str, *, timeout: float = 10.0) -> WebhookClient:
    """Build the ``WebhookClient`` the webhook notifier uses (one retry on connect errors only)."""
    retry_on_connect = ConnectionErrorRetryHandler(
        max_retry_count=1,
        interval_calculator=FixedValueRetryIntervalCalculator(fixed_internal=0.2),
        error_types=[URLError],
    )
    return WebhookClient(
        url,
        timeout=timeout,  # type: ignore[arg-type]  (annotated int, used as urlopen's float)
        retry_handlers=[retry_on_connect],
        logger=sdk_logger("monitor.notify.webhook.sdk", (url,)),
    )


class WebhookNotifier:
    """Posts alerts to one Slack incoming webhook (``client.url``)."""

    name = "webhook"

    def __init__(self, client: WebhookClient) -> None:
        self._client = client
        self._secrets = (client.url,)
        self._where = mask_url(client.url, webhook=True)

    def send(self, alert: Alert) -> SentRef:
        """Post ``alert`` to the webhook's channel (``alert.channel`` cannot apply)."""
        self._post(
            f"alert {alert.delivery_id} for rule {alert.rule_id}",
            lambda: self._client.send(
                text=fallback_text(alert), blocks=build_blocks(alert), unfurl_links=False, unfurl_media=False
            ),
        )
        return SentRef(channel=None, ts=None)

    def send_text(self, channel: str | None, text: str) -> SentRef:
        """Post one mrkdwn line of ours; ``channel`` cannot apply to a webhook."""
        self._post("a text message", lambda: self._client.send(text=text_message(text), unfurl_links=False))
        return SentRef(channel=None, ts=None)

    def reply(self, ref: SentRef, text: str) -> SentRef:
        """Webhooks cannot thread: post ``text`` as a new message."""
        return self.send_text(ref.channel, text)

    def update(self, ref: SentRef, alert: Alert) -> None:
        """Webhooks cannot edit messages: do nothing."""

    def _post(self, what: str, request: Callable[[], WebhookResponse]) -> None:
        try:
            response = request()
        except NETWORK_ERRORS as err:
            kind = "timed out" if isinstance(err, (TimeoutError, socket.timeout)) else "could not reach"
            raise DeliveryError(
                self._mask(
                    f"notify: {kind} the Slack webhook {self._where} sending {what}: {type(err).__name__}: {err}"
                )
            ) from None
        status = response.status_code
        if 200 <= status < 300:
            return
        body = (response.body or "").strip()[:200]
        if status == 429:
            retry_after = parse_retry_after(header(response.headers, "Retry-After"))
            wait = f" (retry after {retry_after:g}s)" if retry_after is not None else ""
            raise DeliveryError(
                self._mask(f"notify: the Slack webhook {self._where} rate-limited {what}{wait}"),
                retry_after=retry_after,
            )
        if status >= 500:
            raise DeliveryError(
                self._mask(f"notify: the Slack webhook {self._where} answered HTTP {status} to {what}: {body}")
            )
        advice = PERMANENT_ERRORS.get(body, f"check {WEBHOOK_VARIABLE}")
        raise DeliveryError(
            self._mask(f"notify: the Slack webhook {self._where} refused {what}: HTTP {status} {body}: {advice}"),
            permanent=True,
        )

    def _mask(self, text: str) -> str:
        return mask(text, self._secrets)
