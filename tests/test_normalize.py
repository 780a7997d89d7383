"""normalize: RawEntry -> Story."""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from monitor.model import ParsedFeed, RawEntry
from monitor.reader import parse_feed
from monitor.reader.normalize import CONTENT_MAX, SUMMARY_MAX, TITLE_MAX, normalize

FEEDS = Path(__file__).parent / "testdata" / "feeds"
MANIFEST = json.loads((FEEDS / "manifest.json").read_text(encoding="utf-8"))
SEEN = datetime(2017, 1, 24, 7, 0, tzinfo=timezone.utc)
FEED_URL = "https://feeds.example.org/world/rss.xml"
EMPTY_FEED = ParsedFeed(title="Reuters: World News", link=None, language=None, entries=())
ENTRY = RawEntry(
    guid="tag:reuters.com,2017:idUSKBN15",
    link="https://www.reuters.com/article/idUSKBN15?utm_source=rss",
    title="Russia says it carried out joint air strikes with U.S.-led coalition",
    summary="<p>Russia's Defence Ministry said&nbsp;its jets struck targets near <b>al-Bab</b>.</p>",
    published=datetime(2017, 1, 23, 10, 0, tzinfo=timezone.utc),
)


def story_of(entry: RawEntry = ENTRY, *, feed: ParsedFeed = EMPTY_FEED, **kwargs):
    args = {"feed": feed, "feed_name": "reuters-world", "feed_url": FEED_URL, "seen_at": SEEN} | kwargs
    return normalize(entry, **args)


def test_it_makes_a_plain_text_story_with_a_canonical_url() -> None:
    story = story_of(tags=("wire", "world"))
    assert story.entry_key == "tag:reuters.com,2017:idUSKBN15"
    assert story.title == "Russia says it carried out joint air strikes with U.S.-led coalition"
    assert story.summary == "Russia's Defence Ministry said its jets struck targets near al-Bab."
    assert story.url == "https://www.reuters.com/article/idUSKBN15"
    assert story.link == "https://www.reuters.com/article/idUSKBN15?utm_source=rss"
    assert story.published == datetime(2017, 1, 23, 10, 0, tzinfo=timezone.utc)
    assert (story.source, story.feed, story.feed_tags) == ("reuters-world", "reuters-world", ("wire", "world"))


@pytest.mark.parametrize(
    ("guid", "link", "expected"),
    [
        ("abc-123", "https://x.com/a", "abc-123"),
        ("  abc-123 \n", "https://x.com/a", "abc-123"),
        (None, "https://x.com/a?utm_medium=rss#top", "https://x.com/a"),
        ("   ", "/relative/a", "https://feeds.example.org/relative/a"),
    ],
    ids=["guid", "guid-stripped", "canonical-link", "blank-guid-relative-link"],
)
def test_it_keys_an_entry_by_guid_else_canonical_link(guid: str | None, link: str, expected: str) -> None:
    assert story_of(replace(ENTRY, guid=guid, link=link)).entry_key == expected


def test_it_keys_an_entry_without_guid_or_link_by_a_hash_of_title_and_date() -> None:
    entry = replace(ENTRY, guid=None, link=None)
    expected = "sha1:" + hashlib.sha1((ENTRY.title + "2017-01-23T10:00:00+00:00").encode()).hexdigest()
    assert story_of(entry).entry_key == expected
    later = story_of(entry, seen_at=SEEN + timedelta(hours=5))
    assert later.entry_key == expected  # stable across polls


def test_a_hash_key_without_a_date_does_not_depend_on_the_poll_time() -> None:
    entry = replace(ENTRY, guid=None, link=None, published=None)
    assert story_of(entry).entry_key == story_of(entry, seen_at=SEEN + timedelta(days=1)).entry_key


@pytest.mark.parametrize(
    ("published", "updated", "expected"),
    [
        (datetime(2017, 1, 23, 10, tzinfo=timezone.utc), datetime(2017, 1, 23, 12, tzinfo=timezone.utc),
         datetime(2017, 1, 23, 10, tzinfo=timezone.utc)),
        (None, datetime(2017, 1, 23, 12, tzinfo=timezone.utc), datetime(2017, 1, 23, 12, tzinfo=timezone.utc)),
        (None, None, SEEN),
        (datetime(2017, 1, 23, 13, tzinfo=timezone(timedelta(hours=3))), None,
         datetime(2017, 1, 23, 10, tzinfo=timezone.utc)),
        (SEEN + timedelta(hours=23), None, SEEN + timedelta(hours=23)),
        (SEEN + timedelta(days=2), None, SEEN),
        (datetime(2039, 1, 1, tzinfo=timezone.utc), None, SEEN),
    ],
    ids=["published", "updated-when-no-published", "seen-at-when-no-date", "offset-to-utc",
         "slightly-ahead-kept", "future-clamped", "far-future-clamped"],
)
def test_it_dates_a_story(published: datetime | None, updated: datetime | None, expected: datetime) -> None:
    story = story_of(replace(ENTRY, published=published, updated=updated))
    assert story.published == expected
    assert story.published.tzinfo is not None and story.published.utcoffset() == timedelta(0)


def test_it_refuses_a_naive_seen_at() -> None:
    with pytest.raises(ValueError, match="normalize: seen_at must be timezone-aware"):
        story_of(seen_at=datetime(2017, 1, 24))


@pytest.mark.parametrize(
    ("title", "summary", "content", "expected"),
    [
        ("<b>Pentagon</b> denies", None, None, "Pentagon denies"),
        (None, "Colonel John Dorrian said the claims were rubbish, adding that coalition contacts with Russia "
               "were limited to deconfliction.", None,
         "Colonel John Dorrian said the claims were rubbish, adding that coalition contacts…"),
        ("  ", "Short summary.", None, "Short summary."),
        (None, None, "<p>Only content here.</p>", "Only content here."),
        (None, None, None, "(untitled)"),
        ("<img src=x>", "<br>", None, "(untitled)"),
    ],
    ids=["html-title", "first-words-of-summary", "blank-title", "first-words-of-content", "untitled",
         "markup-only"],
)
def test_it_falls_back_for_a_missing_title(title, summary, content, expected) -> None:
    story = story_of(replace(ENTRY, title=title, summary=summary, content=content))
    assert story.title == expected


def test_it_trims_long_text_at_word_boundaries() -> None:
    word = "Aleppo "
    entry = replace(ENTRY, title=word * 200, summary=word * 1000, content=f"<p>{word * 5000}</p>")
    story = story_of(entry)
    assert len(story.title) <= TITLE_MAX and story.title.endswith("Aleppo…")
    assert len(story.summary) <= SUMMARY_MAX and story.summary.endswith("Aleppo…")
    assert len(story.content) <= CONTENT_MAX and story.content.endswith("Aleppo…")


def test_it_uses_content_as_summary_when_there_is_no_summary() -> None:
    story = story_of(replace(ENTRY, summary=None, content="<p>From the body.</p><script>x()</script>"))
    assert story.summary == "From the body."
    assert story.content == "From the body."


@pytest.mark.parametrize(
    ("link", "expected_link", "expected_url"),
    [
        ("/en/news/1?utm_source=x", "https://feeds.example.org/en/news/1?utm_source=x", "https://feeds.example.org/en/news/1"),
        ("javascript:alert(1)", "", ""),
        ("file:///etc/passwd", "", ""),
        ("", "", ""),
        (None, "", ""),
    ],
)
def test_it_makes_links_absolute_and_drops_non_http_ones(link, expected_link, expected_url) -> None:
    story = story_of(replace(ENTRY, link=link))
    assert (story.link, story.url) == (expected_link, expected_url)


@pytest.mark.parametrize(
    ("entry_lang", "feed_lang", "expected"),
    [("en-GB", "ru", "en-gb"), (None, "RU", "ru"), ("pt_BR", None, "pt-br"), (None, None, None), ("  ", None, None)],
)
def test_it_normalizes_the_language(entry_lang, feed_lang, expected) -> None:
    feed = replace(EMPTY_FEED, language=feed_lang)
    assert story_of(replace(ENTRY, language=entry_lang), feed=feed).language == expected


def test_it_gives_the_author_as_plain_text() -> None:
    assert story_of(replace(ENTRY, author="<b>Tom Perry</b> &amp; Ellen Francis")).author == "Tom Perry & Ellen Francis"
    assert story_of(replace(ENTRY, author=None)).author is None


def stories_of(name: str, url: str | None = None):
    case = next(m for m in MANIFEST if m["file"] == name)
    url = url or f"http://127.0.0.1:8000/feeds/{name}"
    feed = parse_feed((FEEDS / name).read_bytes(), url=url, headers={"content-type": case["content_type"]})
    return [normalize(e, feed=feed, feed_name=name, feed_url=url, seen_at=SEEN) for e in feed.entries]


@pytest.mark.parametrize("case", [m for m in MANIFEST if m["kind"] == "realworld"], ids=lambda m: m["file"])
def test_every_real_world_entry_becomes_a_story_with_a_distinct_key_and_url(case: dict) -> None:
    stories = stories_of(case["file"])
    assert len(stories) == case["entries"]
    assert len({s.entry_key for s in stories}) == len(stories)
    assert len({s.url for s in stories}) == len(stories)
    for story in stories:
        assert story.url.startswith(("http://", "https://"))
        assert story.title and story.title != "(untitled)" and story.summary
        assert "<" not in story.title and "&amp;" not in story.summary
        assert story.published <= SEEN


def test_tracking_parameters_leave_the_canonical_url_but_stay_in_the_link() -> None:
    bbc = stories_of("bbc_middle_east.rss")[0]
    assert bbc.link.endswith("?at_medium=RSS&at_campaign=KARANGA")
    assert "?" not in bbc.url


def test_google_news_links_lead_to_the_publisher() -> None:
    story = stories_of("google_news_syria.rss")[0]
    assert story.url == "https://www.reuters.com/article/us-mideast-crisis-russia-says-it-carried-out-joint-idUSKBN152342"
    assert story.link.startswith("http://news.google.com/news/url?")
    assert story.entry_key == "tag:news.google.com,2005:cluster=52779000000"


def test_the_seed_story_comes_through_whole() -> None:
    story = stories_of("rt_news.rss")[0]
    assert story.title == "Russia Said It Coordinated Syrian Airstrikes With US, Pentagon Denies Claim"
    assert story.url == "https://www.rt.com/news/374572-russia-us-coalition-joint-airstrikes-al-bab/"
    assert "Colonel Dorrian said that such claims were “rubbish,”" in story.content
    assert story.language == "en"


def test_hostile_titles_come_through_as_inert_text() -> None:
    stories = stories_of("hostile_titles.rss")
    assert stories[0].title == "<!channel> <https://evil.example|Pentagon statement>"  # escaped by each output
    assert stories[0].summary == "<!here> <@U12345> read this"
    assert stories[1].summary == ""  # an <img onerror> carries no text
    assert stories[2].summary == ""  # escaped markup in RSS is read as HTML, as readers do; the script goes
    assert stories[3].title == "Pentagon denies claim"  # bidi override and zero-width gone
    assert (stories[4].link, stories[4].url) == ("", "")  # javascript: link
    assert len(stories[5].title) <= TITLE_MAX


def test_html_and_entities_in_titles_become_clean_text() -> None:
    titles = [s.title for s in stories_of("html_in_titles.rss")]
    assert titles == [
        "Breaking: Russia says it struck IS with US-led coalition",
        "AT&T and Lockheed win Pentagon deals",
        "Syria’s Assad says talks are ‘a beginning’",
        'Kremlin says "no talks yet"',
        "Pentagon denies joint strikes",  # escaped markup in RSS is read as HTML, as readers do
        "Water returns to Damascus & Wadi Barada",
        "Lots of whitespace in this title",
        "Erdogan: 'We will go to Manbij'",
    ]


def test_duplicate_guids_give_the_same_key() -> None:
    keys = [s.entry_key for s in stories_of("rss_duplicate_guids.rss")]
    assert keys[0] == keys[2] and keys[1] == keys[5]
    assert len(set(keys)) == 6


def test_entries_without_dates_take_the_poll_time_and_future_dates_are_clamped() -> None:
    stories = stories_of("rss_missing_dates.rss")
    assert [s.published == SEEN for s in stories] == [False, True, False, True, True, False, True, True, False, False]


def test_json_feed_entries_normalize_like_any_other() -> None:
    stories = stories_of("jsonfeed_v1.json", url="https://english.enabbaladi.net/feed/json")
    assert stories[1].title == "Opposition delegation in Astana sets conditions < ceasefire first >"
    assert stories[0].content.startswith("Russia's Defense Ministry said on Monday")
    assert stories[3].title.startswith("Two hospitals in Idlib were put out of service")
    assert stories[5].url == ""
