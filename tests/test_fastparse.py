"""The lxml fast path either refuses a body or gives, story for story, what the
feedparser path gives: checked on the whole corpus, on generated news feeds and
on a table of small feeds built to sit on feedparser's special cases."""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from datetime import datetime, timezone
from pathlib import Path

import pytest
from feedparser.sanitizer import _HTMLSanitizer

from monitor.model import ParsedFeed
from monitor.reader import normalize
from monitor.reader.fastparse import SAFE_TAGS, parse_fast, refusal
from monitor.reader.parse import feed_date, parse_feed
from monitor.text import html as text

FEEDS = Path(__file__).parent / "testdata" / "feeds"
MANIFEST = json.loads((FEEDS / "manifest.json").read_text(encoding="utf-8"))
OK_FILES = [m for m in MANIFEST if m["expect"] == "ok"]
BENCH = Path(__file__).resolve().parent.parent / "bench"
SEEN = datetime(2017, 1, 24, 7, 0, tzinfo=timezone.utc)
FEED_URL = "http://127.0.0.1:8000/feeds/"
RSS = "application/rss+xml"

# Corpus files the fast path must take (a regression here is a lost speed-up).
EXPECTED_FAST = {
    "aljazeera_news.rss", "almonitor.rss", "ap_topnews.rss", "bbc_middle_east.rss", "defense_gov_news.rss",
    "defensenews.atom", "france24_en.rss", "google_news_syria.rss", "guardian_world.rss", "middleeasteye.rss",
    "nyt_middleeast.rss", "reuters_worldnews.rss", "rt_news.rss", "sputnik_world.rss", "tass_world.rss",
    "empty_channel.rss", "large_520.rss", "ria_windows1251.rss", "rss_duplicate_guids.rss",
    "rss_missing_dates.rss", "rss_relative_links.rss",
}


def fast_of(body: bytes, url: str, content_type: str = RSS) -> ParsedFeed | None:
    headers = {"content-type": content_type, "content-location": url}
    return parse_fast(body, url=url, headers=headers, parse_date=feed_date)


def assert_same_stories(body: bytes, url: str, content_type: str = RSS) -> bool:
    """Refused (False), or the same feed fields and the same Story for every
    entry on both paths (True); a difference fails with the field named."""
    fast = fast_of(body, url, content_type)
    if fast is None:
        return False
    reference = parse_feed(body, url=url, headers={"Content-Type": content_type}, fast=False)
    for field in ("title", "link", "language", "ttl_minutes", "bozo"):
        assert getattr(fast, field) == getattr(reference, field), f"feed.{field}"
    assert len(fast.entries) == len(reference.entries)
    for index, (mine, theirs) in enumerate(zip(fast.entries, reference.entries)):
        args = {"feed_name": "f", "feed_url": url, "seen_at": SEEN}
        got = asdict(normalize(mine, feed=fast, **args))
        want = asdict(normalize(theirs, feed=reference, **args))
        for key in want:
            assert got[key] == want[key], f"entry {index} .{key}"
        assert mine.tags == theirs.tags, f"entry {index} .tags"
    return True


@pytest.mark.parametrize("case", OK_FILES, ids=lambda m: m["file"])
def test_it_refuses_or_agrees_with_feedparser_on_every_corpus_feed(case: dict) -> None:
    body = (FEEDS / case["file"]).read_bytes()
    took_fast = assert_same_stories(body, FEED_URL + case["file"], case["content_type"])
    assert took_fast == (case["file"] in EXPECTED_FAST)


def test_it_takes_the_fast_path_for_most_of_the_corpus() -> None:
    fast = [m["file"] for m in OK_FILES if fast_of((FEEDS / m["file"]).read_bytes(), FEED_URL, m["content_type"])]
    assert len(fast) == len(EXPECTED_FAST) == 21  # of 32 readable files; 15 of 17 real-world XML feeds


def test_it_agrees_with_feedparser_on_generated_news_feeds() -> None:
    sys.path.insert(0, str(BENCH))
    try:
        from feedgen import FeedSet
    finally:
        sys.path.remove(str(BENCH))
    feeds = FeedSet(12, seed=7)
    for i in range(feeds.n):
        assert assert_same_stories(feeds.full(i), f"https://outlet{i}.example/rss/world.xml"), f"feed {i}"


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("billion_laughs.xml", "DOCTYPE"),
        ("xxe_passwd.xml", "DOCTYPE"),
        ("malformed_bozo.rss", "not well-formed"),
        ("html_in_titles.rss", "not well-formed"),  # &nbsp; without a DTD
        ("encoding_lie.rss", "does not decode as utf-8"),
        ("dw_news.rdf", "is not RSS 2.0 or Atom 1.0"),
        ("atom_xml_base_lang.atom", "XML/1998/namespace}lang"),
        ("hostile_titles.rss", "markup the sanitizer may read differently"),
        ("warontherocks.json", "not an XML type"),
    ],
)
def test_it_refuses_what_it_cannot_vouch_for_and_says_why(name: str, reason: str) -> None:
    headers = {"content-type": next(m["content_type"] for m in MANIFEST if m["file"] == name)}
    why = refusal((FEEDS / name).read_bytes(), url=FEED_URL + name, headers=headers, parse_date=feed_date)
    assert why is not None and reason in why


def test_entity_bombs_and_external_entities_never_reach_the_fast_path() -> None:
    for name in ("billion_laughs.xml", "xxe_passwd.xml"):
        assert fast_of((FEEDS / name).read_bytes(), FEED_URL + name) is None
    inline = b'<?xml version="1.0"?><rss version="2.0"><!DOCTYPE x [<!ENTITY a "b">]><channel><title>&a;</title></channel></rss>'
    assert fast_of(inline, FEED_URL) is None


def test_every_safe_tag_is_kept_by_feedparser_and_read_as_text_by_html_to_text() -> None:
    assert SAFE_TAGS <= _HTMLSanitizer.acceptable_elements
    assert not SAFE_TAGS & text._SKIP


def rss(items: str, channel: str = "<title>T</title><link>/home</link><language>en-GB</language>",
        root_attrs: str = "", prolog: str = '<?xml version="1.0" encoding="UTF-8"?>') -> bytes:
    namespaces = ('xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:content="http://purl.org/rss/1.0/modules/content/" '
                  'xmlns:media="http://search.yahoo.com/mrss/" xmlns:atom="http://www.w3.org/2005/Atom"')
    return f'{prolog}<rss version="2.0" {namespaces}{root_attrs}><channel>{channel}{items}</channel></rss>'.encode()


def atom(entries: str, head: str = "<title>A</title>", root_attrs: str = "") -> bytes:
    return f'<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom"{root_attrs}>{head}{entries}</feed>'.encode()


# Small feeds on feedparser's special cases: each must agree when it is taken.
AGREE_CASES = {
    "guid-permalink-stands-in-for-link": rss("<item><title>a</title><guid>/p/1</guid></item>"),
    "guid-not-permalink": rss('<item><title>a</title><guid isPermaLink="false">/p/1</guid></item>'),
    "guid-before-link": rss("<item><guid>http://x.example/g</guid><link>http://x.example/l</link></item>"),
    "empty-link-after-guid": rss("<item><title>a</title><guid>http://x.example/g</guid><link></link></item>"),
    "double-escaped-ampersand-in-link": rss("<item><title>a</title><link>http://x.example/?a=1&amp;amp;b=2&amp;c;=3</link></item>"),
    "relative-and-protocol-relative-links": rss("<item><title>a</title><link>//cdn.example/x</link></item>"
                                                "<item><title>b</title><link>../up</link></item>"),
    "extra-slashes-after-scheme": rss("<item><title>a</title><link>http:///x.example/a</link></item>"),
    "title-that-looks-like-html": rss("<item><title>&lt;b&gt;Bold&lt;/b&gt; news &amp;amp; views</title></item>"),
    "title-with-entities-only": rss("<item><title>Caf&amp;eacute; &amp;#8212; x</title></item>"),
    "title-with-angle-brackets-as-text": rss("<item><title>a &lt; b and c &gt; d</title></item>"),
    "plain-title-with-ampersand": rss("<item><title>AT&amp;T buys &amp; sells</title></item>"),
    "html-description-with-entities": rss("<item><title>a</title><description>&lt;p&gt;x&amp;nbsp;y &amp;mdash; &amp;#150;&lt;/p&gt;"
                                          "&lt;img src=\"/i.png\" alt='a&gt;b'/&gt;</description></item>"),
    "content-without-description": rss("<item><title>a</title><content:encoded><![CDATA[<p>Full <b>text</b></p>]]></content:encoded></item>"),
    "content-before-description": rss("<item><content:encoded>&lt;p&gt;full&lt;/p&gt;</content:encoded><description>short</description></item>"),
    "empty-description-with-content": rss("<item><title>t</title><description></description><content:encoded>body</content:encoded></item>"),
    "no-title": rss("<item><description>Only a description here, long enough.</description><link>http://x.example/n</link></item>"),
    "whitespace-everywhere": rss("<item>\n <title>\n  spaced  \n</title>\n <link>\n http://x.example/s \n</link>\n</item>"),
    "dates-in-many-formats": rss("<item><title>a</title><pubDate>Tue, 24 Jan 2017 08:59:00 +0300</pubDate></item>"
                                 "<item><title>b</title><pubDate>2017-01-24T05:00:00-05:00</pubDate><dc:date>2017-01-25</dc:date></item>"
                                 "<item><title>c</title><pubDate>Yesterday</pubDate></item>"
                                 "<item><title>d</title><pubDate>24 Jan 2017 08:59 EST</pubDate></item>"),
    "dc-creator-and-categories": rss('<item><title>a</title><dc:creator>Jane Roe</dc:creator><category>World</category>'
                                     '<category domain="x">World</category><category>World</category><category></category></item>'),
    "item-language": rss("<item><title>a</title><dc:language>fr_FR</dc:language></item>"),
    "root-xml-lang": rss("<item><title>a</title></item>", channel="<title>T</title>", root_attrs=' xml:lang="de-AT"'),
    "empty-channel-language": rss("<item><title>a</title></item>", channel="<title>T</title><language></language>"),
    "mojibake-utf8-read-as-latin1": rss("<item><title>CafÃ© Ã  Beyrouth</title></item>"),
    "c1-characters-as-windows-1252": rss("<item><title>\u0093quoted\u0094 \u0096 dash</title></item>"),
    "cdata-title": rss("<item><title><![CDATA[Russia & US]]></title></item>"),
    "comments-inside-text": rss("<item><title>Rus<!-- x -->sia</title></item>"),
    "media-and-enclosures-ignored": rss('<item><title>a</title><media:content url="http://c/x.jpg"><media:credit>AP</media:credit></media:content>'
                                        '<media:thumbnail url="http://c/t.jpg"/><enclosure url="http://c/a.mp3" type="audio/mpeg"/>'
                                        '<comments>/c/1</comments><source url="http://s/">Src</source></item>'),
    "atom-self-link-in-channel": rss("<item><title>a</title></item>",
                                     channel='<atom:link href="/rss" rel="self"/><title>T</title><link>http://x.example/</link>'),
    "ttl": rss("<item><title>a</title></item>", channel="<title>T</title><ttl> 20 </ttl>"),
    "atom-basics": atom('<entry><id>tag:x,2017:1</id><title type="html">&lt;b&gt;A&lt;/b&gt; &amp;amp; B</title>'
                        '<link href="/a/1"/><link rel="enclosure" href="/a/1.mp3"/><published>2017-01-24T05:00:00Z</published>'
                        '<updated>2017-01-24T06:00:00+01:00</updated><summary>plain &lt;not a tag&gt;</summary>'
                        '<author><name>N</name><email>n@x.example</email></author><category term="World"/></entry>',
                        root_attrs=' xml:lang="en-US" xml:base="https://x.example/news/"'),
    "atom-content-only": atom('<entry><id>http://x.example/e/2</id><title>t</title><content type="html">&lt;p&gt;body&lt;/p&gt;</content></entry>'
                              '<entry><id>http://x.example/e/3</id><title>t</title><content>plain &amp; &lt;text&gt;</content></entry>'),
    "atom-id-as-link": atom("<entry><id>http://x.example/by-id</id><title>t</title></entry>"
                            '<entry><title>u</title><link href="http://x.example/first"/><id>http://x.example/later</id></entry>'),
    "atom-email-only-author": atom("<entry><id>1</id><title>t</title><author><email>e@x.example</email></author></entry>"),
    "atom-feed-link-from-id": atom("<entry><id>1</id><title>t</title></entry>", head="<title>A</title><id>http://x.example/feed</id>"),
    "windows-1251-declared": '<?xml version="1.0" encoding="windows-1251"?><rss version="2.0"><channel><title>Новости</title><item><title>Минобороны</title></item></channel></rss>'.encode("windows-1251"),
}


@pytest.mark.parametrize("body", AGREE_CASES.values(), ids=AGREE_CASES.keys())
def test_it_gives_the_same_stories_on_feedparsers_special_cases(body: bytes) -> None:
    assert assert_same_stories(body, "https://news.example/feeds/world.xml")


REFUSE_CASES = {
    "two-titles": rss("<item><title>a</title><title>b</title></item>"),
    "link-and-atom-link-in-item": rss('<item><title>a</title><link>http://x.example/1</link><atom:link href="/alt" rel="alternate"/></item>'),
    "media-title-could-stand-in": rss("<item><media:title>m</media:title></item>"),
    "author-with-email": rss("<item><title>a</title><author>jo@x.example (Jo)</author></item>"),
    "unknown-namespace": rss('<item><title>a</title><x:y xmlns:x="urn:x">1</x:y></item>'),
    "unknown-element": rss("<item><title>a</title><blink>1</blink></item>"),
    "child-element-in-description": rss("<item><description><p>inline</p></description></item>"),
    "xml-lang-on-item-title": rss('<item><title xml:lang="fr">a</title></item>'),
    "xml-base-on-item": rss('<item xml:base="http://elsewhere.example/"><link>a</link></item>'),
    "script-in-html": rss("<item><description>&lt;script&gt;x()&lt;/script&gt;ok</description></item>"),
    "iframe-in-html": rss("<item><description>a&lt;iframe src=x&gt;&lt;/iframe&gt;b</description></item>"),
    "comment-in-html": rss("<item><description>a&lt;!-- c --&gt;b</description></item>"),
    "unknown-entity-in-html": rss("<item><description>&amp;bogus; x</description></item>"),
    "bare-ampersand-in-html": rss("<item><description>&lt;p&gt;a &amp; b&lt;/p&gt;</description></item>"),
    "unclear-html-guess": rss("<item><title>&lt;blink&gt;x&lt;/blink&gt;</title></item>"),
    "leading-whitespace-before-declaration": rss("<item><title>a</title></item>", prolog=' <?xml version="1.0"?>'),
    "rss-0.91": rss("<item><title>a</title></item>").replace(b'version="2.0"', b'version="0.91"'),
    "atom-xhtml-title": atom('<entry><title type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml">x</div></title></entry>'),
    "atom-out-of-line-content": atom('<entry><title>t</title><content src="/c"/></entry>'),
    "atom-entry-xml-lang": atom('<entry xml:lang="fr"><title>t</title></entry>'),
}


@pytest.mark.parametrize("body", REFUSE_CASES.values(), ids=REFUSE_CASES.keys())
def test_it_refuses_feeds_it_cannot_vouch_for(body: bytes) -> None:
    assert fast_of(body, "https://news.example/feeds/world.xml") is None
    assert parse_feed(body, url="https://news.example/feeds/world.xml", headers={"Content-Type": RSS}).entries


@pytest.mark.parametrize(
    ("content_type", "body", "taken"),
    [
        ("application/rss+xml", rss("<item><title>é</title></item>"), True),
        ("application/xml; charset=utf-8", rss("<item><title>é</title></item>"), True),
        ("text/xml", rss("<item><title>ascii only</title></item>"), True),
        ("text/xml", rss("<item><title>é</title></item>"), False),  # RFC 3023: us-ascii
        ("text/html", rss("<item><title>a</title></item>"), False),  # feedparser flags it (bozo)
        ("application/xml; charset=iso-8859-1", rss("<item><title>a</title></item>"), False),  # disagrees with prolog
        ("application/rss+xml", b"\xef\xbb\xbf" + rss("<item><title>a</title></item>"), True),
        ("application/rss+xml", "\ufeff".encode("utf-16-le") + rss("<item><title>a</title></item>").decode().encode("utf-16-le"), False),
    ],
    ids=["rss+xml", "xml-with-charset", "text-xml-ascii", "text-xml-non-ascii", "text-html", "charset-mismatch",
         "utf8-bom", "utf16-bom"],
)
def test_it_takes_only_charsets_it_is_sure_of(content_type: str, body: bytes, taken: bool) -> None:
    url = "https://news.example/feeds/world.xml"
    assert (fast_of(body, url, content_type) is not None) == taken
    if taken:
        assert assert_same_stories(body, url, content_type)


def test_it_refuses_a_base_url_that_is_not_plain_http() -> None:
    body = rss("<item><title>a</title><link>/x</link></item>")
    assert fast_of(body, "ftp://news.example/feed") is None
    assert fast_of(body, "/relative/feed") is None


def test_parse_feed_takes_the_fast_path_by_default_and_can_be_told_not_to() -> None:
    body = (FEEDS / "rt_news.rss").read_bytes()
    assert fast_of(body, FEED_URL + "rt_news.rss") is not None
    fast = parse_feed(body, url=FEED_URL + "rt_news.rss", headers={"Content-Type": RSS})
    slow = parse_feed(body, url=FEED_URL + "rt_news.rss", headers={"Content-Type": RSS}, fast=False)
    assert fast == fast_of(body, FEED_URL + "rt_news.rss")
    assert [e.guid for e in fast.entries] == [e.guid for e in slow.entries]
