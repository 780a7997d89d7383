"""The incoming-webhook notifier, driven through the real slack-sdk WebhookClient against FakeSlack."""

from __future__ import annotations

import json
import logging

import pytest
from fakeslack import FakeSlack, sample_alert

from monitor.config import SecretMaskingFilter
from monitor.errors import DeliveryError
from monitor.notify import SentRef, WebhookNotifier, build_notifier

SECRET = "Zq8vW3xYk2LmN4pR7sT9uV1a"
HOSTILE_TITLE = "<!channel> hello <https://evil.example|Pentagon statement> <@U123> & co"


@pytest.fixture
def fake():
    with FakeSlack(webhook_path=f"/services/T000/B000/{SECRET}") as server:
        yield server


def hook(fake: FakeSlack, *, url: str | None = None, timeout: float = 5.0) -> WebhookNotifier:
    notifier = build_notifier(
        bot_token=None, default_channel=None, webhook_url=url or fake.webhook_url, api_url=None, timeout=timeout
    )
    assert isinstance(notifier, WebhookNotifier)
    return notifier


def test_it_posts_an_alert_with_blocks_and_fallback_text(fake):
    ref = hook(fake).send(sample_alert())

    assert ref == SentRef(channel=None, ts=None)
    assert len(fake.messages) == 1
    message = fake.messages[0]
    assert message["via"] == "webhook"
    assert message["text"].startswith("[high] Syria airstrikes: Russia Said")
    assert message["blocks"][0]["type"] == "header"
    assert message["unfurl_links"] is False
    assert fake.violations == []


def test_it_escapes_hostile_feed_text(fake):
    hook(fake).send(sample_alert(title=HOSTILE_TITLE, summary=HOSTILE_TITLE))

    sent = json.dumps(fake.messages, ensure_ascii=False)
    for forbidden in ("<!channel>", "<@", "|Pentagon statement>"):
        assert forbidden not in sent


def test_it_answers_a_reply_with_a_new_plain_message_and_ignores_updates(fake):
    notifier = hook(fake)
    ref = notifier.send(sample_alert())

    notifier.reply(ref, "and 3 more outlets")
    notifier.update(ref, sample_alert())

    assert [m["text"] for m in fake.messages[1:]] == ["and 3 more outlets"]
    assert len(fake.requests) == 2


@pytest.mark.parametrize(
    "error, advice",
    [
        ("no_service", "create a new incoming webhook"),
        ("invalid_token", "create a new incoming webhook"),
        ("channel_not_found", "channel no longer exists"),
        ("channel_is_archived", "unarchive it"),
        ("invalid_payload", "rendering bug"),
    ],
)
def test_it_maps_webhook_refusals_to_permanent_errors(fake, error, advice):
    fake.error_next(error)

    with pytest.raises(DeliveryError) as caught:
        hook(fake).send(sample_alert())

    assert caught.value.permanent is True
    assert str(caught.value).startswith("notify: the Slack webhook http://127.0.0.1:")
    assert error in str(caught.value) and advice in str(caught.value)


def test_it_reports_a_webhook_url_that_does_not_exist_as_permanent(fake):
    with pytest.raises(DeliveryError) as caught:
        hook(fake, url=fake.webhook_url.replace(SECRET, "WrongSecretValue123")).send(sample_alert())

    assert caught.value.permanent is True
    assert "HTTP 404 no_service" in str(caught.value)
    assert "WrongSecretValue123" not in str(caught.value)


def test_it_maps_a_rate_limit_to_retry_after(fake):
    fake.rate_limit_next(1, retry_after=30)

    with pytest.raises(DeliveryError) as caught:
        hook(fake).send(sample_alert())

    assert caught.value.permanent is False
    assert caught.value.retry_after == 30
    assert len(fake.requests) == 1


def test_it_maps_a_server_error_to_a_transient_error(fake):
    fake.fail_next(1, status=503)

    with pytest.raises(DeliveryError) as caught:
        hook(fake).send(sample_alert())

    assert caught.value.permanent is False
    assert "HTTP 503" in str(caught.value)


def test_it_treats_an_outage_as_transient_and_recovers(fake):
    notifier = hook(fake)
    fake.down("500")
    with pytest.raises(DeliveryError) as during_500s:
        notifier.send(sample_alert())
    fake.up()
    fake.down("refuse")
    with pytest.raises(DeliveryError) as while_refused:
        notifier.send(sample_alert())
    fake.up()

    notifier.send(sample_alert())

    assert during_500s.value.permanent is False and while_refused.value.permanent is False
    assert len(fake.messages) == 1


def test_it_treats_a_timeout_as_transient(fake):
    fake.delay(1.0)

    with pytest.raises(DeliveryError) as caught:
        hook(fake, timeout=0.2).send(sample_alert())

    assert caught.value.permanent is False
    assert "timed out" in str(caught.value)


@pytest.mark.parametrize("with_filter", [False, True])
def test_it_never_puts_the_webhook_secret_in_errors_or_logs(fake, caplog, with_filter):
    caplog.set_level(logging.DEBUG)
    if with_filter:
        caplog.handler.addFilter(SecretMaskingFilter([fake.webhook_url]))
    notifier = hook(fake)
    errors = []
    for script in (
        lambda: fake.error_next("no_service"),
        lambda: fake.rate_limit_next(1),
        lambda: fake.fail_next(1, status=500),
        lambda: fake.down("refuse"),
    ):
        script()
        with pytest.raises(DeliveryError) as caught:
            notifier.send(sample_alert())
        errors.append(caught.value)
    fake.up()
    notifier.send(sample_alert())

    assert caplog.records, "slack-sdk logs the request URL at DEBUG: the check must see it"
    for error in errors:
        assert SECRET not in str(error)
        assert "/services/T000/B000/****" in str(error)
    assert SECRET not in caplog.text
