"""The console fallback and the choice of notifier from settings."""

from __future__ import annotations

import io
import threading

import pytest
from fakeslack import sample_alert

from monitor.errors import ConfigError
from monitor.notify import (
    ConsoleNotifier,
    Notifier,
    SentRef,
    SlackBotNotifier,
    WebhookNotifier,
    build_notifier,
)


def console() -> tuple[ConsoleNotifier, io.StringIO]:
    out = io.StringIO()
    notifier = build_notifier(bot_token=None, default_channel=None, webhook_url=None, api_url=None, out=out)
    assert isinstance(notifier, ConsoleNotifier)
    return notifier, out


def test_it_prints_a_readable_alert_to_the_given_stream():
    notifier, out = console()

    ref = notifier.send(sample_alert())

    assert ref == SentRef(channel=None, ts=None)
    assert out.getvalue() == (
        "[high] Syria airstrikes: Russia Said It Coordinated Syrian Airstrikes With US, Pentagon Denies Claim\n"
        "  Example Wire · 2017-02-14 09:30 UTC\n"
        "  matched: Pentagon, airstrikes\n"
        "  https://news.example/world/russia-syria-airstrikes-pentagon\n"
        "  Russia said that its air force had administered airstrikes against the Islamic State targets along "
        "with the US-led coalition. However, the U.S. military denied it completely.\n"
        "  also seen in: Daily Example, Example Times\n"
        "\n"
    )


def test_it_keeps_terminal_escape_sequences_out_of_the_output():
    notifier, out = console()

    notifier.send(sample_alert(title="Pentagon\x1b[2J\x1b]0;pwned\x07 denies", summary="a\rb\x00c"))

    assert "\x1b" not in out.getvalue() and "\x07" not in out.getvalue() and "\x00" not in out.getvalue()
    assert "Pentagon[2J]0;pwned denies" in out.getvalue()


def test_it_prints_text_lines_and_replies_as_plain_text_and_ignores_updates():
    notifier, out = console()

    notifier.send_text("alerts", "…and 37 more matches for rule *Syria &amp; co*")
    notifier.reply(SentRef(None, None), "Also reported by Example Times: <https://times.example/a|Pentagon &lt;denies&gt;>")
    notifier.update(SentRef(None, None), sample_alert())

    assert out.getvalue() == (
        "[alerts] …and 37 more matches for rule *Syria & co*\n"
        "  ↳ Also reported by Example Times: Pentagon <denies> (https://times.example/a)\n"
    )


def test_it_never_interleaves_alerts_from_several_threads():
    notifier, out = console()
    threads = [threading.Thread(target=notifier.send, args=(sample_alert(delivery_id=i),)) for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    blocks = out.getvalue().split("\n\n")
    assert len([b for b in blocks if b]) == 20
    assert all(b.startswith("[high] Syria airstrikes:") for b in blocks if b)


@pytest.mark.parametrize(
    "settings, kind",
    [
        ({"bot_token": "xoxb-1-2-abc"}, SlackBotNotifier),
        ({"webhook_url": "https://hooks.slack.com/services/T0/B0/abc"}, WebhookNotifier),
        ({"bot_token": "xoxb-1-2-abc", "webhook_url": "https://hooks.slack.com/services/T0/B0/abc"}, SlackBotNotifier),
        ({"bot_token": "  ", "webhook_url": ""}, ConsoleNotifier),
        ({}, ConsoleNotifier),
    ],
)
def test_build_notifier_chooses_token_then_webhook_then_console(settings, kind):
    values = {"bot_token": None, "default_channel": None, "webhook_url": None, "api_url": None, **settings}

    notifier = build_notifier(**values)

    assert isinstance(notifier, kind)
    assert isinstance(notifier, Notifier)
    assert notifier.name == {SlackBotNotifier: "slack", WebhookNotifier: "webhook", ConsoleNotifier: "console"}[kind]


@pytest.mark.parametrize(
    "settings, variable",
    [
        ({"webhook_url": "hooks.slack.com/services/T0/B0/SeCrEtPaTh"}, "MONITOR_SLACK_WEBHOOK_URL"),
        ({"bot_token": "xoxb-1", "api_url": "ftp://proxy.example/api"}, "MONITOR_SLACK_API_URL"),
    ],
)
def test_build_notifier_rejects_a_malformed_url_without_echoing_it(settings, variable):
    values = {"bot_token": None, "default_channel": None, "webhook_url": None, "api_url": None, **settings}

    with pytest.raises(ConfigError) as caught:
        build_notifier(**values)

    assert variable in str(caught.value)
    assert "SeCrEtPaTh" not in str(caught.value)
