"""Digest content and rendering: order, counts, time zones, escaping, highlighting."""

from __future__ import annotations

import re
from datetime import date, datetime, timezone
from html.parser import HTMLParser

import pytest

from monitor.digest import Digest, DigestEntry, DigestSection, build_digest
from monitor.digest.render import (
    headline,
    highlight,
    render_html,
    render_text,
    safe_url,
    shorten,
)

UTC = timezone.utc
SEED_TITLE = "Russia Said It Coordinated Syrian Airstrikes With US, Pentagon Denies Claim"
SEED_URL = "https://www.geoplotics.example/russia-coordinated-syrian-airstrikes-us-pentagon-denies"
HOSTILE_TITLE = "<img src=x onerror=alert(1)> Breaking"
HOSTILE_SUMMARY = "Before <script>alert('x')</script> after & more"


def entry(
    title: str = SEED_TITLE,
    *,
    url: str = SEED_URL,
    source: str = "Geoplotics",
    hour: int = 11,
    severity: str = "high",
    also: tuple[str, ...] = ("Reuters", "RT"),
    summary: str | None = None,
    terms: tuple[str, ...] = ("airstrikes", "Pentagon"),
) -> DigestEntry:
    return DigestEntry(
        title=title,
        url=url,
        source=source,
        also_seen_in=also,
        published=datetime(2017, 3, 8, hour, 5, tzinfo=UTC),
        summary=summary
        if summary is not None
        else "Russia said its air force carried out airstrikes with the US-led coalition; the Pentagon denied it.",
        terms=terms,
        severity=severity,
    )


def digest(*sections: DigestSection, tz: str = "Europe/Moscow") -> Digest:
    return build_digest(
        sections,
        day=date(2017, 3, 8),
        tz=tz,
        period_start=datetime(2017, 3, 7, 21, tzinfo=UTC),
        period_end=datetime(2017, 3, 8, 21, tzinfo=UTC),
    )


def seed_digest() -> Digest:
    return digest(
        DigestSection("russia-us-syria", "Russia, US and Syria", "high", (entry(),)),
        DigestSection(
            "hostile",
            "Hostile input",
            "normal",
            (
                entry(
                    HOSTILE_TITLE,
                    url="javascript:alert(1)",
                    summary=HOSTILE_SUMMARY,
                    source="Evil <b>Feed</b>",
                    also=(),
                    terms=("alert",),
                ),
            ),
        ),
    )


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.hrefs += [v or "" for k, v in attrs if k == "href"]


def parsed(html: str) -> _Tags:
    p = _Tags()
    p.feed(html)
    return p


def test_it_orders_sections_by_severity_then_name_and_entries_newest_first() -> None:
    d = digest(
        DigestSection(
            "b",
            "beta",
            "normal",
            (
                entry("old", url="u1", hour=1, severity="normal"),
                entry("new", url="u2", hour=9, severity="normal"),
                entry("urgent", url="u3", hour=0, severity="high"),
            ),
        ),
        DigestSection("a", "Alpha", "normal", (entry("a1", url="u4"),)),
        DigestSection("z", "zulu", "high", (entry("z1", url="u5"),)),
        DigestSection("empty", "Empty", "high", ()),
    )
    assert [s.rule_id for s in d.sections] == ["z", "a", "b"]
    assert [e.title for e in d.sections[2].entries] == ["urgent", "new", "old"]


def test_it_counts_stories_outlets_and_rules() -> None:
    d = digest(
        DigestSection("r1", "One", "high", (entry(), entry("Other", url="https://x.example/2", source="AP", also=()))),
        DigestSection("r2", "Two", "low", (entry(),)),  # the same story under a second rule
    )
    assert (d.total_entries, d.total_stories, d.total_outlets, d.total_rules) == (3, 2, 4, 2)
    assert headline(d) == "2 stories from 4 outlets for 2 rules"


def test_it_uses_the_singular_for_one() -> None:
    d = digest(DigestSection("r1", "One", "high", (entry(also=()),)))
    assert headline(d) == "1 story from 1 outlet for 1 rule"


def test_it_restricts_a_digest_to_some_rules() -> None:
    d = seed_digest()
    assert [s.rule_id for s in d.only(["hostile"]).sections] == ["hostile"]
    assert d.only(()) is d


def test_it_refuses_naive_datetimes() -> None:
    with pytest.raises(ValueError, match="digest: period_start"):
        build_digest(
            [], day=date(2017, 3, 8), tz="UTC", period_start=datetime(2017, 3, 8), period_end=datetime.now(UTC)
        )


def test_it_shows_the_seed_story_title_and_link_in_both_bodies() -> None:
    d = seed_digest()
    text, html = render_text(d), render_html(d)
    assert SEED_TITLE in text and SEED_URL in text
    assert SEED_URL in parsed(html).hrefs
    plain_html = re.sub(r"<[^>]+>", "", html)
    assert SEED_TITLE in plain_html


def test_it_escapes_hostile_text_in_html_and_leaves_it_plain_in_text() -> None:
    d = seed_digest()
    html, text = render_html(d), render_text(d)
    tags = parsed(html)
    assert "img" not in tags.tags and "script" not in tags.tags and "b" not in tags.tags
    assert "<img" not in html and "<script" not in html
    assert "&lt;img src=x onerror=" in html
    assert "&lt;script&gt;" in html
    assert HOSTILE_TITLE in text and "<script>alert('x')</script>" in text and "Evil <b>Feed</b>" in text


def test_it_never_links_a_non_http_url() -> None:
    html = render_html(seed_digest())
    assert not any(h.lower().startswith("javascript") for h in parsed(html).hrefs)


@pytest.mark.parametrize(
    ("url", "kept"),
    [
        ("https://example.org/a?b=1&c=2", True),
        ("http://example.org", True),
        ("javascript:alert(1)", False),
        (" JavaScript:alert(1)", False),
        ("data:text/html,<script>", False),
        ("//example.org/x", False),
        ("", False),
    ],
)
def test_it_keeps_only_http_links(url: str, kept: bool) -> None:
    assert (safe_url(url) != "") is kept


@pytest.mark.parametrize(
    ("text", "terms", "expected"),
    [
        ("Pentagon denies", ("pentagon",), '<mark class="hit">Pentagon</mark> denies'),
        ("airstrikes, airstrike", ("airstrike",), 'airstrikes, <mark class="hit">airstrike</mark>'),
        ("US-led  coalition", ("US-led coalition",), '<mark class="hit">US-led  coalition</mark>'),
        ("Syria and Syrian", ("Syrian", "Syria"), '<mark class="hit">Syria</mark> and <mark class="hit">Syrian</mark>'),
        ("a <b>bold</b> claim", ("bold",), 'a &lt;b&gt;<mark class="hit">bold</mark>&lt;/b&gt; claim'),
        ("x <script> y", ("<script>",), 'x <mark class="hit">&lt;script&gt;</mark> y'),
        ("Tom & Jerry", ("jerry",), 'Tom &amp; <mark class="hit">Jerry</mark>'),
        ("nothing here <i>", (), "nothing here &lt;i&gt;"),
        ("term with regex chars (a+b)", ("(a+b)",), 'term with regex chars <mark class="hit">(a+b)</mark>'),
        ("Pentagon", ("", "  "), "Pentagon"),
    ],
)
def test_it_highlights_terms_after_escaping(text: str, terms: tuple[str, ...], expected: str) -> None:
    assert str(highlight(text, terms)) == expected


def test_it_highlights_matched_terms_in_the_summary_and_keeps_the_title_whole() -> None:
    html = render_html(seed_digest())
    assert re.search(r'<mark class="hit"[^>]*>[Aa]irstrikes</mark>', html)
    # the title stays one run of text: readers (and mail search) find it as written
    assert "Russia Said It Coordinated Syrian Airstrikes With US, Pentagon Denies Claim</a>" in html


@pytest.mark.parametrize(
    ("tz", "published", "period"),
    [
        ("Europe/Moscow", "08 Mar 2017, 14:05 MSK", "08 Mar 00:00"),
        ("UTC", "08 Mar 2017, 11:05 UTC", "07 Mar 21:00"),
        ("America/New_York", "08 Mar 2017, 06:05 EST", "07 Mar 16:00"),
    ],
)
def test_it_shows_times_in_the_digest_time_zone(tz: str, published: str, period: str) -> None:
    d = digest(DigestSection("r", "Rule", "high", (entry(),)), tz=tz)
    for body in (render_text(d), render_html(d)):
        assert published in body
        assert period in body


def test_it_inlines_css_for_mail_clients() -> None:
    html = render_html(seed_digest())
    assert "<style" not in html
    assert 'width="600"' in html
    assert re.search(r'<mark class="hit" style="[^"]*background-color', html)


def test_it_renders_a_short_body_for_an_empty_digest() -> None:
    d = digest()
    assert d.is_empty
    text, html = render_text(d), render_html(d)
    assert "No matches for 2017-03-08" in text
    assert "No matches for 2017-03-08" in html
    assert "==" not in text


def test_it_renders_the_footer_it_is_given_escaped() -> None:
    html = render_html(seed_digest(), footer="Because <you> asked")
    assert "Because &lt;you&gt; asked" in html
    assert "Because <you> asked" in render_text(seed_digest(), footer="Because <you> asked")


def test_it_shortens_long_summaries_at_a_word() -> None:
    long = "word " * 200
    short = shorten(long, 50)
    assert len(short) <= 50 and short.endswith("…") and "wor…" not in short
    assert shorten("short  text") == "short text"


def test_it_names_at_most_six_other_outlets() -> None:
    many = tuple(f"Outlet {i}" for i in range(9))
    text = render_text(digest(DigestSection("r", "Rule", "high", (entry(also=many),))))
    assert "Outlet 5 and 3 more" in text and "Outlet 6" not in text


def test_it_keeps_text_lines_short() -> None:
    text = render_text(digest(DigestSection("r", "Rule", "high", (entry(summary="lorem ipsum " * 40),))))
    body_lines = [line for line in text.splitlines() if not line.startswith(("* ", "  http"))]
    assert max(len(line) for line in body_lines) <= 78


@pytest.mark.parametrize(
    ("text", "terms", "expected"),
    [
        ("中国外交部在北京表示", ("北京",), '中国外交部在<mark class="hit">北京</mark>表示'),
        ("ฝนตกหนักในกรุงเทพวันนี้", ("กรุงเทพ",), 'ฝนตกหนักใน<mark class="hit">กรุงเทพ</mark>วันนี้'),
        ("서울에서 회의", ("서울",), '<mark class="hit">서울</mark>에서 회의'),
        ("Pentagonal Pentagon", ("Pentagon",), 'Pentagonal <mark class="hit">Pentagon</mark>'),
    ],
)
def test_terms_of_scripts_without_spaces_are_highlighted_inside_running_text(
    text: str, terms: tuple[str, ...], expected: str
) -> None:
    assert str(highlight(text, terms)) == expected
