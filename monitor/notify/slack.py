"""Slack delivery with a bot token through the Web API (``chat.postMessage``).

Failures become one ``DeliveryError`` each, raised once; the outbox decides
when to try again:

- Slack errors retrying cannot fix (bad token, unknown channel, bot not in
  the channel, invalid message) are ``permanent`` and say what to do.
- HTTP 429 / ``ratelimited`` carries ``retry_after`` from ``Retry-After``.
- 5xx answers, timeouts and connection failures are transient.

Retries inside the client: ``make_client`` keeps exactly one quick retry,
for errors raised while *opening the connection or sending the request*
(``URLError``: refused, DNS failure, reset while sending). Slack cannot have
accepted a request it never fully received, so that retry cannot double-post.
Failures after the request was sent (read timeout, connection reset or
closed while waiting for the answer) are NOT retried here: Slack may already
have posted the message, and a blind retry would post it twice. The outbox
retries those later, which may rarely duplicate but never loses an alert.
429 and 5xx are never retried inside the client.
"""

from __future__ import annotations

import re
import socket
from collections.abc import Callable
from datetime import datetime
from typing import Any
from urllib.error import URLError

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError, SlackRequestError
from slack_sdk.http_retry import (
    ConnectionErrorRetryHandler,
    FixedValueRetryIntervalCalculator,
)

from monitor.config import mask
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

METADATA_EVENT = "media_monitor_alert"  # message metadata that lets a crashed send be found again

_CHANNEL_ID = re.compile(r"[CGD][A-Z0-9]{6,}")

DEFAULT_API_URL = "https://slack.com/api/"
TOKEN_VARIABLE = "MONITOR_SLACK_BOT_TOKEN"
CHANNEL_VARIABLE = "MONITOR_SLACK_CHANNEL"

# Slack error codes retrying cannot fix, with what to do. "{channel}" is filled in.
PERMANENT_ERRORS: dict[str, str] = {
    "invalid_auth": f"the token was rejected: check {TOKEN_VARIABLE}",
    "not_authed": f"no token reached Slack: set {TOKEN_VARIABLE}",
    "account_inactive": (
        f"the token belongs to a deleted or deactivated app: reinstall it and update {TOKEN_VARIABLE}"
    ),
    "token_revoked": f"the token was revoked: reinstall the app and update {TOKEN_VARIABLE}",
    "token_expired": f"the token expired: update {TOKEN_VARIABLE}",
    "no_permission": "the token lacks permission for this channel: check the app's scopes",
    "missing_scope": "the app lacks the chat:write scope: add it and reinstall the app",
    "restricted_action": "the workspace does not let this app post in {channel}: ask an admin",
    "channel_not_found": (
        "channel {channel} does not exist or the bot cannot see it: "
        "check the rule's `channel` (or use the channel id) and invite the bot"
    ),
    "not_in_channel": "the bot is not a member of {channel}: invite the bot to {channel} (/invite @your-bot)",
    "is_archived": "channel {channel} is archived: unarchive it or choose another channel",
    "channel_is_archived": "channel {channel} is archived: unarchive it or choose another channel",
    "msg_too_long": "the message is too long for Slack (a rendering bug: please report it)",
    "no_text": "the message had no text (a rendering bug: please report it)",
    "invalid_blocks": "Slack rejected the message blocks (a rendering bug: please report it)",
    "invalid_blocks_format": "Slack rejected the message blocks (a rendering bug: please report it)",
    "too_many_attachments": "the message has too many attachments (a rendering bug: please report it)",
    "invalid_arguments": "Slack rejected the request's arguments (a bug: please report it)",
    "invalid_arg_name": "Slack rejected the request's arguments (a bug: please report it)",
    "invalid_charset": "Slack rejected the request's encoding (a bug: please report it)",
    "message_not_found": "the message to update no longer exists in {channel}",
    "cant_update_message": "the bot cannot edit that message in {channel}",
    "edit_window_closed": "the message in {channel} can no longer be edited",
    "thread_not_found": "the thread to reply to no longer exists in {channel}",
    "ekm_access_denied": "the workspace's key management denied access: ask an admin",
    "team_access_not_granted": "the token has no access to this workspace: reinstall the app",
}


def make_client(token: str, *, api_url: str | None = None, timeout: float = 10.0) -> WebClient:
    """Build the ``WebClient`` the bot notifier uses (see the module docstring on retries)."""
    base_url = api_url or DEFAULT_API_URL
    if not base_url.endswith("/"):
        base_url += "/"
    retry_on_connect = ConnectionErrorRetryHandler(
        max_retry_count=1,
        interval_calculator=FixedValueRetryIntervalCalculator(fixed_internal=0.2),
        # URLError is raised before Slack has the whole request; the handler
        # itself skips HTTPError (a URLError subclass carrying an answer).
        error_types=[URLError],
    )
    return WebClient(
        token=token,
        base_url=base_url,
        timeout=timeout,  # type: ignore[arg-type]  (annotated int, used as urlopen's float)
        retry_handlers=[retry_on_connect],
        logger=sdk_logger("monitor.notify.slack.sdk", (token,)),
    )


class SlackBotNotifier:
    """Posts alerts with a bot token.

    ``client`` is a ready ``WebClient`` (see ``make_client``);
    ``default_channel`` is used when an alert names none. ``secrets`` are
    masked out of every error message (the token is always included).
    """

    name = "slack"

    def __init__(
        self, client: WebClient, *, default_channel: str | None = None, secrets: tuple[str, ...] = ()
    ) -> None:
        self._client = client
        self._default_channel = default_channel or None
        self._secrets = tuple(s for s in (client.token, *secrets) if s)

    # -- the Notifier protocol -----------------------------------------------

    def send(self, alert: Alert) -> SentRef:
        """Post ``alert`` to its rule's channel (else the default channel)."""
        channel = alert.channel or self._default_channel
        if not channel:
            raise DeliveryError(
                f"notify: no Slack channel for rule {alert.rule_id}: "
                f"set `channel` in the rule or {CHANNEL_VARIABLE}",
                permanent=True,
            )
        what = f"alert {alert.delivery_id} for rule {alert.rule_id}"
        response = self._call(
            what,
            channel,
            lambda: self._client.chat_postMessage(
                channel=channel,
                text=fallback_text(alert),
                blocks=build_blocks(alert),
                unfurl_links=False,
                unfurl_media=False,
                metadata={"event_type": METADATA_EVENT, "event_payload": {"delivery_id": alert.delivery_id}},
            ),
        )
        return SentRef(channel=response.get("channel") or channel, ts=response.get("ts"))

    def find_sent(self, alert: Alert, *, channel: str | None, since: datetime) -> SentRef | None:
        """The message an earlier, interrupted attempt posted for ``alert``, if Slack has it.

        Each alert carries its delivery id in the message metadata; after a
        crash between Slack's answer and our commit, the outbox asks here
        before posting again. Returns None when no such message exists or
        when Slack cannot tell us (no ``channels:history`` scope, a channel
        given by name): the caller then sends, at the risk of one duplicate.
        """
        target = channel or alert.channel or self._default_channel
        if not target:
            return None
        try:
            response = self._call(
                f"the history check for alert {alert.delivery_id}",
                target,
                lambda: self._client.conversations_history(
                    channel=target, oldest=f"{since.timestamp():.6f}", include_all_metadata=True, limit=200
                ),
            )
        except DeliveryError:
            return None
        for message in response.get("messages") or []:
            metadata = message.get("metadata") or {}
            payload = metadata.get("event_payload") or {}
            if metadata.get("event_type") == METADATA_EVENT and payload.get("delivery_id") == alert.delivery_id:
                return SentRef(channel=response.get("channel") or target, ts=message.get("ts"))
        return None

    def send_text(self, channel: str | None, text: str) -> SentRef:
        """Post one mrkdwn line of ours (see ``Notifier.send_text``) to ``channel`` or the default."""
        target = channel or self._default_channel
        if not target:
            raise DeliveryError(
                f"notify: no Slack channel for a text message: set {CHANNEL_VARIABLE}", permanent=True
            )
        response = self._call(
            "a text message",
            target,
            lambda: self._client.chat_postMessage(
                channel=target, text=text_message(text), unfurl_links=False, unfurl_media=False
            ),
        )
        return SentRef(channel=response.get("channel") or target, ts=response.get("ts"))

    def reply(self, ref: SentRef, text: str) -> SentRef:
        """Reply in the thread of ``ref`` (a new message when ``ref`` has no ts)."""
        if not ref.ts:
            return self.send_text(ref.channel, text)
        target = ref.channel or self._default_channel
        if not target:
            raise DeliveryError(f"notify: no Slack channel for a reply: set {CHANNEL_VARIABLE}", permanent=True)
        response = self._call(
            "a threaded reply",
            target,
            lambda: self._client.chat_postMessage(
                channel=target, thread_ts=ref.ts, text=text_message(text), unfurl_links=False, unfurl_media=False
            ),
        )
        return SentRef(channel=response.get("channel") or target, ts=response.get("ts"))

    def update(self, ref: SentRef, alert: Alert) -> None:
        """Replace the message at ``ref`` with a new rendering of ``alert``."""
        if not ref.channel or not ref.ts:
            raise DeliveryError(
                f"notify: cannot update the message for rule {alert.rule_id}: its channel and ts are unknown",
                permanent=True,
            )
        self._call(
            f"the update of alert {alert.delivery_id} for rule {alert.rule_id}",
            ref.channel,
            lambda: self._client.chat_update(
                channel=ref.channel, ts=ref.ts, text=fallback_text(alert), blocks=build_blocks(alert)
            ),
        )

    # -- extras --------------------------------------------------------------

    def check(self) -> str:
        """Call ``auth.test``; return ``"user@team"`` or raise ``DeliveryError``."""
        response = self._call("the token check", None, self._client.auth_test)
        return f"{response.get('user')}@{response.get('team')}"

    # -- error mapping -------------------------------------------------------

    def _call(self, what: str, channel: str | None, request: Callable[[], Any]) -> Any:
        try:
            return request()
        except SlackApiError as err:
            raise self._api_error(what, channel, err) from None
        except SlackRequestError as err:
            message = self._mask(f"notify: Slack request for {what} is invalid: {err}")
            raise DeliveryError(message, permanent=True) from None
        except SlackClientError as err:
            raise DeliveryError(self._mask(f"notify: Slack client failed on {what}: {err}")) from None
        except NETWORK_ERRORS as err:
            kind = "timed out" if isinstance(err, (TimeoutError, socket.timeout)) else "could not reach Slack"
            raise DeliveryError(
                self._mask(f"notify: {kind} sending {what}{_in(channel)}: {type(err).__name__}: {err}")
            ) from None

    def _api_error(self, what: str, channel: str | None, err: SlackApiError) -> DeliveryError:
        response = err.response
        status = getattr(response, "status_code", None) or 0
        data = getattr(response, "data", None)
        code = str(data.get("error") or "unknown_error") if isinstance(data, dict) else "unknown_error"
        where = _in(channel)
        if status == 429 or code in ("ratelimited", "rate_limited"):
            retry_after = parse_retry_after(header(getattr(response, "headers", None), "Retry-After"))
            wait = f" (retry after {retry_after:g}s)" if retry_after is not None else ""
            return DeliveryError(
                self._mask(f"notify: Slack rate-limited {what}{where}{wait}"), retry_after=retry_after
            )
        if code in PERMANENT_ERRORS and status < 500:
            advice = PERMANENT_ERRORS[code].format(channel=_channel_name(channel))
            return DeliveryError(self._mask(f"notify: Slack refused {what}{where}: {code}: {advice}"), permanent=True)
        if status >= 500:
            return DeliveryError(self._mask(f"notify: Slack answered HTTP {status} to {what}{where}: {code}"))
        if status in (400, 401, 403, 404, 405, 410):
            return DeliveryError(
                self._mask(
                    f"notify: the Slack API answered HTTP {status} to {what}{where}: {code[:200]}: "
                    f"check MONITOR_SLACK_API_URL and {TOKEN_VARIABLE}"
                ),
                permanent=True,
            )
        return DeliveryError(self._mask(f"notify: Slack refused {what}{where}: {code}"))

    def _mask(self, text: str) -> str:
        return mask(text, self._secrets)


def _in(channel: str | None) -> str:
    return f" in {_channel_name(channel)}" if channel else ""


def _channel_name(channel: str | None) -> str:
    """``#alerts`` for a name, the id itself for an id like ``C0123ABCD``."""
    if not channel:
        return "the channel"
    if channel.startswith("#") or _CHANNEL_ID.fullmatch(channel):
        return channel
    return f"#{channel}"
