"""Masking secrets in text, URLs and log records."""

from __future__ import annotations

import logging

import pytest

from monitor.config import SecretMaskingFilter, mask, mask_url

WEBHOOK = "https://hooks.slack.com/services/T000/B000/Zq8vW3xYk2LmN4pR7sT9uV1a"
TOKEN = "xoxb-1234-5678-AbCdEfGhIjKlMnOp"


@pytest.mark.parametrize(
    "url, masked",
    [
        (WEBHOOK, "https://hooks.slack.com/services/T000/B000/****"),
        ("https://user:hunter22@db.example:5432/monitor", "https://user:****@db.example:5432/monitor"),
        ("https://api.example/feed?token=abc123&page=2", "https://api.example/feed?token=****&page=2"),
        ("https://api.example/feed?API_KEY=abc123", "https://api.example/feed?API_KEY=****"),
        ("https://news.example/world/story?id=7", "https://news.example/world/story?id=7"),
        ("postgresql://monitor:pw%40x@db/monitor", "postgresql://monitor:****@db/monitor"),
        ("https://hooks.slack-gov.com/services/T1/B2/abcd", "https://hooks.slack-gov.com/services/T1/B2/****"),
        # a /services/ path elsewhere is a feed's path, not a webhook
        ("http://127.0.0.1:8080/services/T1/B2/abc/def", "http://127.0.0.1:8080/services/T1/B2/abc/def"),
    ],
)
def test_it_masks_the_secret_parts_of_a_url(url, masked):
    assert mask_url(url) == masked


def test_a_url_known_to_be_a_webhook_is_masked_wherever_it_points():
    assert mask_url("http://127.0.0.1:8080/services/T1/B2/abc/def", webhook=True) == (
        "http://127.0.0.1:8080/services/T1/B2/****/****"
    )


# Real feed URLs whose paths look like a webhook's /services/a/b/c: they must print as they are.
FEED_URLS = [
    "https://rss.nytimes.com/services/xml/rss/nyt/MiddleEast.xml",
    "https://rss.nytimes.com/services/xml/rss/nyt/HomePage.xml",
    "https://www.nasa.gov/services/feeds/rss/breaking_news.rss",
    "http://rss.cnn.com/services/podcasting/cnn10/rss.xml",
    "https://example.gov/services/news/releases/latest-2026.xml",
]


def test_feed_urls_with_services_paths_survive_beside_the_secrets_that_must_not():
    local_webhook = "http://127.0.0.1:8080/services/T000/B000/LocalSecretPath1"
    token = "xoxb-1234-5678-AbCdEfGhIjKlMnOp"
    lines = [f"fetch: HTTP 500 from {url}" for url in FEED_URLS] + [
        f"posting to {WEBHOOK} failed",
        f"posting to {local_webhook} failed",
        f"unnamed webhook https://hooks.slack.com/services/T9/B9/UnnamedSecret9 in a traceback",
        f"token {token} refused",
    ]
    text = mask("\n".join(lines), [local_webhook])
    for url in FEED_URLS:
        assert url in text
        assert mask_url(url) == url
        assert mask(url, ["xoxb-other-secret"]) == url
    for secret in ("Zq8vW3xYk2LmN4pR7sT9uV1a", "LocalSecretPath1", "UnnamedSecret9", "AbCdEfGhIjKlMnOp"):
        assert secret not in text
    assert "https://hooks.slack.com/services/T000/B000/****" in text
    assert "http://127.0.0.1:8080/services/T000/B000/****" in text
    assert "https://hooks.slack.com/services/T9/B9/****" in text


def test_the_log_filter_leaves_a_feed_url_whole():
    url = FEED_URLS[0]
    logger, lines = make_logger("test.secrets.feedurl", SecretMaskingFilter([WEBHOOK]))
    logger.warning("feed %s failed", url, extra={"feed_url": url})
    assert lines == [f"WARNING feed {url} failed"]


@pytest.mark.parametrize(
    "text, secrets, expected",
    [
        (f"posting to {WEBHOOK}, failed", [WEBHOOK], "posting to https://hooks.slack.com/services/T000/B000/****, failed"),
        ("secret piece alone: Zq8vW3xYk2LmN4pR7sT9uV1a", [WEBHOOK], "secret piece alone: ****"),
        (f"token={TOKEN}", [TOKEN], "token=****"),
        (f"unnamed token {TOKEN} here", [], "unnamed token xoxb-**** here"),
        ("Authorization: Bearer abc.def-ghi", [], "Authorization: Bearer ****"),
        ("dsn postgresql://u:pw12345@h/db", [], "dsn postgresql://u:****@h/db"),
        ("nothing to hide", ["hunter22"], "nothing to hide"),
        ("short secrets like ab are ignored", ["ab", "", None], "short secrets like ab are ignored"),
    ],
)
def test_it_masks_named_secrets_and_well_known_shapes(text, secrets, expected):
    assert mask(text, secrets) == expected


def test_it_can_mask_only_the_named_secrets():
    assert mask(f"{TOKEN} and hunter22", ["hunter22"], patterns=False) == f"{TOKEN} and ****"


def make_logger(name: str, *filters: logging.Filter) -> tuple[logging.Logger, list[str]]:
    """A logger writing formatted records (with tracebacks) into a list."""
    lines: list[str] = []

    class ListHandler(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(self.format(record))

    handler = ListHandler()
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    for f in filters:
        handler.addFilter(f)
    logger = logging.getLogger(name)
    logger.handlers = [handler]
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    return logger, lines


def test_the_filter_masks_message_arguments_and_exception_text():
    logger, lines = make_logger("test.secrets.filter", SecretMaskingFilter([WEBHOOK, TOKEN]))

    logger.warning("webhook %s failed", WEBHOOK)
    logger.info("token: %(token)s", {"token": TOKEN})
    try:
        raise RuntimeError(f"boom at {WEBHOOK} with {TOKEN}")
    except RuntimeError:
        logger.exception("delivery failed")
    logger.error("stack", stack_info=True, extra={})

    text = "\n".join(lines)
    assert "Zq8vW3xYk2LmN4pR7sT9uV1a" not in text and TOKEN not in text
    assert "webhook https://hooks.slack.com/services/T000/B000/**** failed" in text
    assert "token: ****" in text
    assert "RuntimeError: boom at https://hooks.slack.com/services/T000/B000/**** with ****" in text


def test_the_filter_never_drops_a_record_even_with_a_broken_format_string():
    logger, lines = make_logger("test.secrets.broken", SecretMaskingFilter([TOKEN]))

    logger.warning("two args %s %s", TOKEN)

    assert len(lines) == 1 and TOKEN not in lines[0]


def test_without_the_filter_the_same_records_would_leak():
    logger, lines = make_logger("test.secrets.nofilter")

    logger.warning("webhook %s failed", WEBHOOK)

    assert WEBHOOK in lines[0]
