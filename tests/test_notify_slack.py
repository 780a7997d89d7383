"""The bot-token notifier, driven through the real slack-sdk WebClient against FakeSlack."""

from __future__ import annotations

import json
import logging
import re

import pytest
from fakeslack import FakeSlack, sample_alert

from monitor.config import SecretMaskingFilter
from monitor.errors import DeliveryError
from monitor.notify import SentRef, SlackBotNotifier, build_notifier

TOKEN = "xoxb-111-222-SeCrEtToKeNvAlUe"
HOSTILE_TITLE = "<!channel> hello <https://evil.example|Pentagon statement> <@U123> & co"


@pytest.fixture
def fake():
    with FakeSlack(token=TOKEN, channels={"alerts": "C0ALERTS1", "news": "C0NEWS001"}) as server:
        yield server


def bot(fake: FakeSlack, *, token: str = TOKEN, channel: str | None = "alerts", timeout: float = 5.0):
    notifier = build_notifier(bot_token=token, default_channel=channel, webhook_url=None, api_url=fake.url, timeout=timeout)
    assert isinstance(notifier, SlackBotNotifier)
    return notifier


def everything_sent(fake: FakeSlack) -> str:
    """Every posted text and block, as one string, to search for leaks."""
    return json.dumps([{"text": m.get("text"), "blocks": m.get("blocks")} for m in fake.messages], ensure_ascii=False)


def test_it_posts_one_alert_as_one_message_with_header_terms_link_and_context(fake):
    ref = bot(fake).send(sample_alert())

    assert ref == SentRef(channel="C0ALERTS1", ts=fake.messages[0]["ts"])
    assert re.fullmatch(r"\d{10}\.\d{6}", ref.ts)
    assert len(fake.messages) == 1
    message = fake.messages[0]
    assert message["channel"] == "C0ALERTS1"
    assert message["unfurl_links"] is False and message["unfurl_media"] is False
    blocks = message["blocks"]
    assert blocks[0] == {
        "type": "header",
        "text": {
            "type": "plain_text",
            "text": "Russia Said It Coordinated Syrian Airstrikes With US, Pentagon Denies Claim",
            "emoji": False,
        },
    }
    context = blocks[1]["elements"][0]["text"]
    assert ":red_circle: high" in context and "Syria airstrikes" in context and "Example Wire" in context
    assert "<!date^1487064600^" in context and "|2017-02-14 09:30 UTC>" in context
    section_texts = [b["text"]["text"] for b in blocks if b["type"] == "section"]
    assert any("*Pentagon*, *airstrikes*" in t for t in section_texts)
    assert any("<https://news.example/world/russia-syria-airstrikes-pentagon|Read the story>" in t for t in section_texts)
    assert "Also seen in: Daily Example, Example Times" in json.dumps(blocks)
    assert all(b["text"]["verbatim"] is True for b in blocks if b["type"] == "section")
    assert message["text"].startswith("[high] Syria airstrikes: Russia Said It Coordinated")
    assert fake.violations == []


def test_it_falls_back_to_the_default_channel_when_the_rule_names_none(fake):
    ref = bot(fake, channel="#news").send(sample_alert(channel=None))

    assert ref.channel == "C0NEWS001"


def test_it_refuses_an_alert_with_no_channel_at_all_without_calling_slack(fake):
    with pytest.raises(DeliveryError) as caught:
        bot(fake, channel=None).send(sample_alert(channel=None))

    assert caught.value.permanent is True
    assert str(caught.value) == (
        "notify: no Slack channel for rule syria-strikes: set `channel` in the rule or MONITOR_SLACK_CHANNEL"
    )
    assert fake.requests == []


def test_it_lets_no_feed_text_mention_anyone_or_forge_a_link(fake):
    alert = sample_alert(
        title=HOSTILE_TITLE,
        summary=HOSTILE_TITLE + " <!here> <#C0ALERTS1> <!subteam^S123>",
        source="<@U999|admin>",
        rule_name="<!everyone>",
        terms=("<!channel>", "*bold*"),
        also_seen_in=("<https://evil.example|Reuters>",),
    )

    bot(fake).send(alert)

    sent = everything_sent(fake)
    for forbidden in ("<!channel>", "<!here>", "<!everyone>", "<@", "<#C", "<!subteam", "|Pentagon statement>", "|Reuters>"):
        assert forbidden not in sent
    assert "&lt;!channel&gt; hello" in sent
    assert fake.violations == []


@pytest.mark.parametrize(
    "case, title",
    [
        ("a 2,000-character title", "Pentagon " * 222 + "ab"),
        ("Arabic (RTL)", "البنتاغون ينفي ادعاء روسيا بتنسيق الضربات الجوية في سوريا " * 5),
        ("Hebrew (RTL)", "הפנטגון מכחיש את טענת רוסיה על תיאום תקיפות אוויריות בסוריה " * 5),
        ("emoji with zero-width joiners", "👨‍👩‍👧‍👦🏳️‍🌈🇸🇾🇺🇸 " * 40),
        ("combining marks", "e\u0301" * 400),
        ("control characters and a lone surrogate", "Pentagon\x00\x1b[31m denies\ud800 claim\u2028"),
    ],
)
def test_it_sends_a_valid_message_for_any_title(fake, case, title):
    bot(fake).send(sample_alert(title=title, summary=title * 3))

    assert fake.violations == [], case
    assert len(fake.messages) == 1


def test_it_maps_a_rate_limit_to_a_transient_error_with_retry_after(fake):
    fake.rate_limit_next(1, retry_after=7)

    with pytest.raises(DeliveryError) as caught:
        bot(fake).send(sample_alert())

    assert caught.value.permanent is False
    assert caught.value.retry_after == 7
    assert str(caught.value).startswith("notify: Slack rate-limited alert 1 for rule syria-strikes")
    assert len(fake.requests) == 1  # raised once: no retry inside the client


@pytest.mark.parametrize("status", [500, 502, 503])
def test_it_maps_a_server_error_to_a_transient_error(fake, status):
    fake.fail_next(1, status=status)

    with pytest.raises(DeliveryError) as caught:
        bot(fake).send(sample_alert())

    assert caught.value.permanent is False
    assert caught.value.retry_after is None
    assert f"HTTP {status}" in str(caught.value)
    assert len(fake.requests) == 1


@pytest.mark.parametrize(
    "error, advice",
    [
        ("invalid_auth", "check MONITOR_SLACK_BOT_TOKEN"),
        ("not_in_channel", "invite the bot to #alerts"),
        ("is_archived", "unarchive it"),
        ("missing_scope", "chat:write"),
        ("token_revoked", "reinstall the app"),
        ("invalid_blocks", "rendering bug"),
    ],
)
def test_it_maps_slack_refusals_to_permanent_errors_saying_what_to_do(fake, error, advice):
    fake.error_next(error)

    with pytest.raises(DeliveryError) as caught:
        bot(fake).send(sample_alert())

    assert caught.value.permanent is True
    assert str(caught.value).startswith(f"notify: Slack refused alert 1 for rule syria-strikes in #alerts: {error}: ")
    assert advice in str(caught.value)


def test_it_reports_a_wrong_token_as_permanent(fake):
    with pytest.raises(DeliveryError) as caught:
        bot(fake, token="xoxb-wrong-token-value").send(sample_alert())

    assert caught.value.permanent is True
    assert "invalid_auth" in str(caught.value)


def test_it_reports_an_unknown_channel_as_permanent_and_names_it(fake):
    with pytest.raises(DeliveryError) as caught:
        bot(fake).send(sample_alert(channel="no-such-channel"))

    assert caught.value.permanent is True
    assert "channel_not_found" in str(caught.value)
    assert "#no-such-channel" in str(caught.value)


def test_it_treats_an_unknown_slack_error_as_transient(fake):
    fake.error_next("something_new")

    with pytest.raises(DeliveryError) as caught:
        bot(fake).send(sample_alert())

    assert caught.value.permanent is False


def test_it_treats_a_refused_connection_as_transient_after_one_quick_retry(fake):
    notifier = bot(fake)
    fake.down("refuse")

    with pytest.raises(DeliveryError) as caught:
        notifier.send(sample_alert())

    assert caught.value.permanent is False
    assert "could not reach Slack" in str(caught.value)
    fake.up()
    assert notifier.send(sample_alert()).ts is not None


def test_it_treats_a_timeout_as_transient_and_does_not_post_twice(fake):
    fake.delay(1.0)

    with pytest.raises(DeliveryError) as caught:
        bot(fake, timeout=0.2).send(sample_alert())

    assert caught.value.permanent is False
    assert "timed out" in str(caught.value)
    assert len(fake.requests) == 1


def test_it_replies_in_the_thread_of_the_original_message(fake):
    notifier = bot(fake)
    ref = notifier.send(sample_alert())
    line = "Also reported by Example Times: <https://times.example/a|Pentagon &amp; Kremlin>"

    reply = notifier.reply(ref, line)

    assert fake.messages[1]["thread_ts"] == ref.ts
    assert fake.messages[1]["channel"] == ref.channel
    assert fake.messages[1]["text"] == line  # the caller's mrkdwn, as written
    assert reply.ts != ref.ts


def test_a_reply_without_a_ts_becomes_a_new_message(fake):
    bot(fake).reply(SentRef(channel="news", ts=None), "follow-up")

    assert fake.messages[0]["thread_ts"] is None and fake.messages[0]["channel"] == "C0NEWS001"


def test_it_updates_the_original_message_by_channel_and_ts(fake):
    notifier = bot(fake)
    ref = notifier.send(sample_alert())

    notifier.update(ref, sample_alert(also_seen_in=("Daily Example", "Example Times", "Third Outlet")))

    assert len(fake.updates) == 1
    assert fake.updates[0]["channel"] == ref.channel and fake.updates[0]["ts"] == ref.ts
    assert "Third Outlet" in json.dumps(fake.messages[0]["blocks"])
    assert fake.violations == []


def test_it_refuses_to_update_a_message_it_cannot_address(fake):
    with pytest.raises(DeliveryError) as caught:
        bot(fake).update(SentRef(channel=None, ts=None), sample_alert())

    assert caught.value.permanent is True


def test_it_sends_text_lines_of_our_own_mrkdwn_to_the_given_channel(fake):
    ref = bot(fake).send_text("news", "…and 37 more matches for rule *Syria &amp; co*\x1b")

    assert ref.channel == "C0NEWS001"
    assert fake.messages[0]["text"] == "…and 37 more matches for rule *Syria &amp; co*"
    assert "blocks" not in fake.messages[0]


def test_it_checks_the_token_with_auth_test(fake):
    assert bot(fake).check() == "monitor@Fake"


def test_it_accepts_an_api_url_without_a_trailing_slash(fake):
    notifier = build_notifier(
        bot_token=TOKEN, default_channel="alerts", webhook_url=None, api_url=fake.url.rstrip("/")
    )

    assert notifier.send(sample_alert()).ts is not None


@pytest.mark.parametrize("with_filter", [False, True])
def test_it_never_puts_the_token_in_errors_or_logs(fake, caplog, with_filter):
    caplog.set_level(logging.DEBUG)
    if with_filter:
        caplog.handler.addFilter(SecretMaskingFilter([TOKEN]))
    notifier = bot(fake)
    errors = []
    for script in (
        lambda: fake.error_next("invalid_auth"),
        lambda: fake.rate_limit_next(1, retry_after=2),
        lambda: fake.fail_next(1, status=500),
        lambda: fake.error_next("not_in_channel"),
    ):
        script()
        with pytest.raises(DeliveryError) as caught:
            notifier.send(sample_alert())
        errors.append(caught.value)
    notifier.send(sample_alert())

    assert caplog.records, "slack-sdk logs at DEBUG: the check must see something"
    for error in errors:
        assert TOKEN not in str(error) and TOKEN not in repr(error.args)
    assert TOKEN not in caplog.text
    assert "SeCrEtToKeNvAlUe" not in caplog.text
