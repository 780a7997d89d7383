"""The digest email: headers, structure, and one message per audience."""

from __future__ import annotations

import email
from datetime import date, datetime, timezone
from email.message import EmailMessage
from email.policy import default
from email.utils import parsedate_to_datetime

import pytest

from monitor.config import parse_digest_config
from monitor.digest import DigestEntry, DigestSection, build_digest, build_message

UTC = timezone.utc
NOW = datetime(2017, 3, 9, 5, 0, tzinfo=UTC)
SEED_TITLE = "Russia Said It Coordinated Syrian Airstrikes With US, Pentagon Denies Claim"


def entry(title: str, url: str, source: str = "Reuters") -> DigestEntry:
    return DigestEntry(
        title=title,
        url=url,
        source=source,
        also_seen_in=(),
        summary="Summary of " + title,
        published=datetime(2017, 3, 8, 12, tzinfo=UTC),
        terms=(),
        severity="normal",
    )


DIGEST = build_digest(
    [
        DigestSection(
            "russia-us-syria", "Russia, US and Syria", "high", (entry(SEED_TITLE, "https://a.example/seed"),)
        ),
        DigestSection(
            "energy", "Energy markets", "normal", (entry("Oil climbs", "https://b.example/oil", "Bloomberg"),)
        ),
    ],
    day=date(2017, 3, 8),
    tz="Europe/Moscow",
    period_start=datetime(2017, 3, 7, 21, tzinfo=UTC),
    period_end=datetime(2017, 3, 8, 21, tzinfo=UTC),
)

CONFIG, _ = parse_digest_config(
    {
        "to": "desk@example.org",
        "from": "Media Monitor <monitor@example.org>",
        "timezone": "Europe/Moscow",
        "recipients": [{"to": "russia@example.org", "rules": ["russia-us-syria"]}],
    },
    file="feeds.toml",
)


def reparse(msg: EmailMessage) -> EmailMessage:
    return email.message_from_bytes(msg.as_bytes(), policy=default)  # type: ignore[return-value]


def bodies(msg: EmailMessage) -> tuple[str, str]:
    text = msg.get_body(("plain",))
    html = msg.get_body(("html",))
    assert text is not None and html is not None
    return text.get_content(), html.get_content()


def test_it_builds_a_multipart_alternative_with_text_then_html() -> None:
    assert CONFIG is not None
    msg = reparse(build_message(DIGEST, CONFIG, to=["desk@example.org"], now=NOW, domain="monitor.example.org"))
    assert msg.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in msg.iter_parts()] == ["text/plain", "text/html"]
    text, html = bodies(msg)
    assert SEED_TITLE in text and SEED_TITLE in html


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("Subject", "Media monitor digest for 2017-03-08: 2 stories"),
        ("From", "Media Monitor <monitor@example.org>"),
        ("To", "desk@example.org, other@example.org"),
        ("Auto-Submitted", "auto-generated"),
        ("Precedence", "bulk"),
        ("X-Auto-Response-Suppress", "All"),
        ("List-Id", "Media monitor digest <media-monitor.localhost>"),
    ],
)
def test_it_sets_the_header(header: str, expected: str) -> None:
    assert CONFIG is not None
    msg = reparse(
        build_message(
            DIGEST, CONFIG, to=["desk@example.org", "other@example.org"], now=NOW, domain="monitor.example.org"
        )
    )
    assert str(msg[header]) == expected


def test_it_dates_the_message_and_gives_it_a_unique_id_in_the_domain() -> None:
    assert CONFIG is not None
    first = build_message(DIGEST, CONFIG, to=["desk@example.org"], now=NOW, domain="monitor.example.org")
    second = build_message(DIGEST, CONFIG, to=["desk@example.org"], now=NOW, domain="monitor.example.org")
    assert parsedate_to_datetime(str(first["Date"])) == NOW
    assert str(first["Message-ID"]).endswith("@monitor.example.org>")
    assert first["Message-ID"] != second["Message-ID"]


def test_it_sends_each_audience_only_its_rules() -> None:
    assert CONFIG is not None
    messages = {
        a.to: reparse(build_message(DIGEST.only(a.rules), CONFIG, to=a.to, rules=a.rules, now=NOW, domain="m.example"))
        for a in CONFIG.audiences()
    }
    everything, _ = bodies(messages[("desk@example.org",)])
    russia_only, russia_html = bodies(messages[("russia@example.org",)])
    assert SEED_TITLE in everything and "Oil climbs" in everything
    assert SEED_TITLE in russia_only and "Oil climbs" not in russia_only and "Oil climbs" not in russia_html
    assert str(messages[("russia@example.org",)]["Subject"]).endswith(": 1 stories")
    assert "for the rules russia-us-syria" in russia_only


def test_it_says_in_the_footer_who_gets_it_and_why() -> None:
    assert CONFIG is not None
    text, html = bodies(reparse(build_message(DIGEST, CONFIG, to=["desk@example.org"], now=NOW, domain="m.example")))
    for body in (text, html):
        assert "because desk@example.org is on the media monitor" in " ".join(body.split())


def test_it_offers_a_grammatical_story_count_for_the_subject() -> None:
    assert CONFIG is not None
    config = type(CONFIG)(to=CONFIG.to, sender=CONFIG.sender, subject="{stories} on {date}")
    assert config.format_subject(date="2017-03-08", count=1) == "1 story on 2017-03-08"
    assert config.format_subject(date="2017-03-08", count=2) == "2 stories on 2017-03-08"


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"to": [], "now": NOW}, "at least one recipient"),
        ({"to": ["a@example.org"], "now": datetime(2017, 3, 9)}, "timezone-aware"),
    ],
)
def test_it_refuses_bad_arguments(kwargs: dict, words: str) -> None:
    assert CONFIG is not None
    with pytest.raises(ValueError, match=words):
        build_message(DIGEST, CONFIG, domain="m.example", **kwargs)
