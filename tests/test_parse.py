"""parse: bytes -> ParsedFeed, read against the corpus in tests/testdata/feeds."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import pytest

from monitor.errors import ParseError
from monitor.model import ParsedFeed
from monitor.reader import parse_feed

FEEDS = Path(__file__).parent / "testdata" / "feeds"
MANIFEST = json.loads((FEEDS / "manifest.json").read_text(encoding="utf-8"))
BY_FILE = {m["file"]: m for m in MANIFEST}
FEED_URL = "http://127.0.0.1:8000/feeds/"


def parse_file(name: str, *, url: str | None = None, content_type: str | None = None) -> ParsedFeed:
    headers = {"Content-Type": content_type or BY_FILE[name]["content_type"]}
    return parse_feed((FEEDS / name).read_bytes(), url=url or FEED_URL + name, headers=headers)


def test_the_manifest_lists_every_file_of_the_corpus() -> None:
    on_disk = {p.name for p in FEEDS.iterdir() if p.name not in ("manifest.json", "README.md", "make_large.py")}
    assert on_disk == set(BY_FILE)


def test_the_corpus_holds_at_least_fifteen_real_world_feeds_of_ten_to_fifty_items() -> None:
    realworld = [m for m in MANIFEST if m["kind"] == "realworld"]
    assert len(realworld) >= 15
    assert all(10 <= m["entries"] <= 50 for m in realworld)


@pytest.mark.parametrize("case", [m for m in MANIFEST if m["expect"] == "ok"], ids=lambda m: m["file"])
def test_it_reads_every_entry_of_each_feed(case: dict) -> None:
    feed = parse_file(case["file"])
    assert len(feed.entries) == case["entries"]
    assert feed.title


@pytest.mark.parametrize("case", [m for m in MANIFEST if m["kind"] == "realworld"], ids=lambda m: m["file"])
def test_it_gives_each_real_world_entry_a_link_a_title_and_an_aware_utc_date(case: dict) -> None:
    feed = parse_file(case["file"])
    assert feed.bozo is None
    for entry in feed.entries:
        assert entry.link and entry.link.startswith(("http://", "https://"))
        assert entry.title
        date = entry.published or entry.updated
        assert date is not None and date.utcoffset() is not None and date.utcoffset().total_seconds() == 0


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("html_page.html", "parse: not a feed (looks like an HTML page)"),
        ("garbage.bin", "parse: not a feed: no entries and no feed title ("),
        ("empty.xml", "parse: not a feed (empty body)"),
    ],
)
def test_it_refuses_a_body_that_is_not_a_feed_and_says_why(name: str, reason: str) -> None:
    with pytest.raises(ParseError) as raised:
        parse_file(name)
    assert str(raised.value).startswith(reason)
    assert FEED_URL + name in str(raised.value)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"   \r\n\t ", "parse: not a feed (empty body)"),
        (b"\xef\xbb\xbf", "parse: not a feed (empty body)"),
        (b"<!-- moved --><HTML><body>gone</body></HTML>", "parse: not a feed (looks like an HTML page)"),
        (b'<?xml version="1.0"?>\n<!DOCTYPE html><html></html>', "parse: not a feed (looks like an HTML page)"),
        (b"<notafeed><x>1</x></notafeed>", "parse: not a feed: no entries and no feed title"),
        (b'{"version": "https://jsonfeed.org/version/1.1", "title": "x"', "parse: not a feed: invalid JSON at line 1"),
        (b'["not", "an", "object"]', "parse: not a feed: JSON top level is list"),
        (b'{"title": "no items"}', "parse: not a feed: JSON Feed has no 'items' list"),
        (b'{"items": [], "title": "\xff"}', "parse: not a feed: JSON body is not UTF-8"),
    ],
    ids=["whitespace", "bom-only", "html-after-comment", "html-doctype-after-prolog", "xml-not-a-feed",
         "truncated-json", "json-array", "json-without-items", "json-not-utf8"],
)
def test_it_explains_each_kind_of_non_feed(body: bytes, reason: str) -> None:
    content_type = "application/json" if body.lstrip().startswith((b"{", b"[")) else "application/xml"
    with pytest.raises(ParseError) as raised:
        parse_feed(body, url="http://127.0.0.1/x", headers={"content-type": content_type})
    assert str(raised.value).startswith(reason)


def test_it_reads_rss_ttl_as_minutes() -> None:
    assert parse_file("bbc_middle_east.rss").ttl_minutes == 15
    assert parse_file("reuters_worldnews.rss").ttl_minutes == 10
    assert parse_file("ap_topnews.rss").ttl_minutes is None


@pytest.mark.parametrize(("ttl", "expected"), [("30", 30), (" 60 ", 60), ("0", None), ("-5", None), ("soon", None),
                                               ("999999", None)])
def test_it_ignores_an_invalid_ttl(ttl: str, expected: int | None) -> None:
    body = f"<rss version='2.0'><channel><title>t</title><ttl>{ttl}</ttl><item><title>a</title></item></channel></rss>"
    assert parse_feed(body.encode(), url="http://127.0.0.1/x").ttl_minutes == expected


def test_it_converts_dates_to_utc() -> None:
    tass = parse_file("tass_world.rss")  # pubDate in +0300
    assert tass.entries[0].published == datetime(2017, 1, 24, 5, 59, tzinfo=timezone.utc)
    breaking = parse_file("breakingdefense.atom")  # -05:00 offsets
    assert breaking.entries[0].updated == datetime(2017, 1, 24, 5, 0, tzinfo=timezone.utc)


def test_it_leaves_missing_and_unreadable_dates_empty() -> None:
    entries = parse_file("rss_missing_dates.rss").entries
    assert entries[1].published is None  # no pubDate
    assert entries[3].published is None  # "Yesterday"
    assert entries[8].published == datetime(2017, 1, 22, tzinfo=timezone.utc)  # date only


def test_it_resolves_relative_links_against_the_feed_url() -> None:
    url = "https://english.aawsat.com/feeds/rss.xml"
    links = [e.link for e in parse_file("rss_relative_links.rss", url=url).entries]
    assert links[:6] == [
        "https://english.aawsat.com/en/news/2017/01/23/russia-us-joint-strikes-al-bab",
        "https://english.aawsat.com/en/news/2017/01/23/pentagon-denies-russia-claim",
        "https://english.aawsat.com/feeds/2017/01/22/astana-talks-open",
        "https://english.aawsat.com/opinion/2017/01/22/what-moscow-wants",
        "https://english.aawsat.com/en/news/2017/01/21/water-returns-damascus",
        "https://english.aawsat.com/feeds/rss.xml?p=87412",
    ]


def test_a_content_location_header_wins_over_the_request_url() -> None:
    body = (FEEDS / "rss_relative_links.rss").read_bytes()
    feed = parse_feed(body, url="http://127.0.0.1/x", headers={"Content-Location": "https://mirror.example/a/feed"})
    assert feed.entries[0].link == "https://mirror.example/en/news/2017/01/23/russia-us-joint-strikes-al-bab"


def test_it_resolves_atom_links_through_xml_base() -> None:
    feed = parse_file("defensenews.atom")
    assert all(e.link.startswith("https://www.defensenews.com/global/mideast-africa/2017/01/") for e in feed.entries)
    links = [e.link for e in parse_file("atom_xml_base_lang.atom").entries]
    assert links[1] == "https://www.france24.com/fr/20170123-syrie-russie-frappes-coalition-al-bab"
    assert links[4] == "https://www.france24.com/fr/20170122-syrie-eau-damas-wadi-barada"
    assert links[5] == "https://www.france24.com/en/20170121-mattis-pentagon-allies"  # not the enclosure


def test_it_takes_entry_language_from_xml_lang_else_from_the_feed() -> None:
    feed = parse_file("atom_xml_base_lang.atom")
    assert feed.language == "en"
    assert [e.language for e in feed.entries] == ["en", "fr", "ar", "en", "fr-fr", "en"]
    assert {e.language for e in parse_file("bbc_middle_east.rss").entries} == {"en-gb"}


def test_it_reads_a_windows_1251_feed_declared_in_the_prolog() -> None:
    feed = parse_file("ria_windows1251.rss")
    assert feed.title == "РИА Новости"
    assert feed.entries[0].title.startswith("Минобороны России сообщило")
    assert feed.entries[0].language == "ru"
    assert feed.bozo is None


def test_it_keeps_entries_of_a_feed_that_lies_about_its_encoding() -> None:
    feed = parse_file("encoding_lie.rss")
    assert len(feed.entries) == 8
    assert feed.bozo and "windows-1252" in feed.bozo.lower()  # feedparser names it "Windows-1252" when chardet is installed
    assert feed.entries[0].title == "Lebanon’s Aoun heads to Riyadh on first trip abroad"
    assert feed.entries[3].title == "Beirut café owners fear new tax on hookahs"


def test_it_keeps_the_entries_of_a_malformed_feed_and_records_why() -> None:
    feed = parse_file("malformed_bozo.rss")
    assert len(feed.entries) == 10
    assert feed.bozo and "not well-formed" in feed.bozo
    assert feed.entries[0].link == "http://www.rudaw.net/english/kurdistan/230120171?x=1&y=2"


def test_it_escapes_plain_text_titles_so_markup_in_them_stays_text() -> None:
    entry = parse_file("hostile_titles.rss").entries[0]
    assert entry.title == "&lt;!channel&gt; &lt;https://evil.example|Pentagon statement&gt;"


def test_it_keeps_html_titles_as_html() -> None:
    entry = parse_file("html_in_titles.rss").entries[0]
    assert entry.title == "<b>Breaking:</b> Russia says it struck IS <em>with</em> US-led coalition"


def test_it_reads_content_author_and_tags() -> None:
    ap = parse_file("ap_topnews.rss").entries[0]
    assert ap.content and ap.content.startswith("<p>BEIRUT (AP)")
    assert ap.author == "By ZEINA KARAM and SARAH EL DEEB, Associated Press"
    rt = parse_file("rt_news.rss").entries[0]
    assert "Khmeimim air base" in rt.content
    assert rt.tags == ("Syria", "Russia")


def test_it_reads_guids_and_their_absence() -> None:
    assert parse_file("reuters_worldnews.rss").entries[0].guid.startswith("http://www.reuters.com/article/")
    assert parse_file("defense_gov_news.rss").entries[0].guid.isdigit()
    assert all(e.guid is None for e in parse_file("tass_world.rss").entries)
    assert all(e.guid == e.link for e in parse_file("dw_news.rdf").entries)  # rdf:about
    guids = [e.guid for e in parse_file("rss_duplicate_guids.rss").entries]
    assert len(guids) == 8 and len(set(guids)) == 6


def test_it_reads_an_rdf_feed() -> None:
    feed = parse_file("dw_news.rdf")
    assert feed.title == "Deutsche Welle: DW.COM - News"
    assert all(e.updated is not None and e.published is None for e in feed.entries)  # dc:date
    assert {e.language for e in feed.entries} == {"en"}


@pytest.mark.parametrize(
    "content_type",
    ["application/feed+json", "application/json; charset=utf-8", "text/plain", "application/octet-stream"],
)
def test_it_detects_json_feed_by_content_type_or_by_its_opening_brace(content_type: str) -> None:
    feed = parse_file("warontherocks.json", content_type=content_type)
    assert len(feed.entries) == 10
    assert feed.entries[0].guid == "https://warontherocks.com/?p=14000"


def test_it_detects_json_feed_behind_a_bom_and_whitespace() -> None:
    body = b"\xef\xbb\xbf \n" + (FEEDS / "warontherocks.json").read_bytes()
    assert len(parse_feed(body, url="http://127.0.0.1/f.json").entries) == 10


def test_it_reads_json_feed_1_1_fields() -> None:
    feed = parse_file("warontherocks.json")
    entry = feed.entries[0]
    assert feed.title == "War on the Rocks"
    assert feed.link == "https://warontherocks.com/"
    assert entry.link == "https://warontherocks.com/2017/01/russia-to-expand-naval-base-at/"
    assert entry.author == "Michael Kofman"
    assert entry.language == "en"
    assert entry.published == datetime(2017, 1, 24, 4, 0, tzinfo=timezone.utc)
    assert entry.updated == datetime(2017, 1, 24, 4, 40, tzinfo=timezone.utc)
    assert entry.content and entry.content.startswith("<p>")


def test_it_reads_json_feed_1_0_leniently() -> None:
    url = "https://english.enabbaladi.net/feed/json"
    feed = parse_file("jsonfeed_v1.json", url=url)
    entries = feed.entries
    assert feed.bozo == "item 4 is not an object"
    assert [e.guid for e in entries] == ["13071", "13072", "13073", "13074", "13075", "13076"]
    assert entries[0].link == "https://english.enabbaladi.net/archives/2017/01/russia-announces-joint-airstrikes-us-coalition-al-bab/"
    assert entries[0].author == "Enab Baladi"  # the feed's 1.0 author
    assert entries[2].author == "Reuters"
    assert entries[2].link.startswith("https://www.reuters.com/")  # external_url
    assert entries[1].title == "Opposition delegation in Astana sets conditions &lt; ceasefire first &gt;"
    assert entries[1].published == datetime(2017, 1, 23, 11, 0, tzinfo=timezone.utc)  # naive read as UTC
    assert entries[3].published is None and entries[3].title is None
    assert entries[4].tags == ("Aleppo",)


def test_json_feed_tags_that_are_not_an_array_are_ignored() -> None:
    body = b'{"version": "https://jsonfeed.org/version/1.1", "title": "x", "items": [{"id": "1", "title": "t", "tags": 1}]}'
    assert parse_feed(body, url="http://127.0.0.1/x", headers={}).entries[0].tags == ()


def test_an_entity_bomb_is_never_expanded() -> None:
    feed = parse_file("billion_laughs.xml")
    for entry in feed.entries:
        for text in (entry.title, entry.summary, entry.content):
            assert text is None or len(text) < 1000
            assert text is None or "lollol" not in text


def test_an_external_entity_never_reads_a_local_file() -> None:
    feed = parse_file("xxe_passwd.xml")
    passwd = Path("/etc/passwd").read_text(encoding="utf-8", errors="replace").splitlines()[0]
    assert passwd
    for entry in feed.entries:
        for text in (entry.title, entry.summary, entry.content, entry.link):
            assert text is None or ("root:" not in text and passwd not in text)


def test_json_feed_tags_that_are_not_a_list_are_ignored() -> None:
    body = b'{"version":"https://jsonfeed.org/version/1.1","items":[{"id":"1","tags":true},{"id":"2","tags":["a"," "]}]}'
    entries = parse_feed(body, url="http://x/feed.json", headers={}).entries
    assert [e.tags for e in entries] == [(), ("a",)]
