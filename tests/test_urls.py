"""Canonical URLs: one spelling per article."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.reader.urls import canonical_url, is_http_url

CASES = [
    # (what it shows, url, base, expected)
    ("a plain URL stays as it is", "https://www.reuters.com/article/idUSKBN15", None,
     "https://www.reuters.com/article/idUSKBN15"),
    ("scheme and host are lower-cased, path case is kept", "HTTPS://WWW.BBC.CO.UK/News/World", None,
     "https://www.bbc.co.uk/News/World"),
    ("the default http port is dropped", "http://tass.com:80/world/9", None, "http://tass.com/world/9"),
    ("the default https port is dropped", "https://tass.com:443/world/9", None, "https://tass.com/world/9"),
    ("a non-default port is kept", "http://127.0.0.1:8080/feed", None, "http://127.0.0.1:8080/feed"),
    ("an empty path becomes /", "https://apnews.com", None, "https://apnews.com/"),
    ("the fragment is removed", "https://www.rt.com/news/374572/#comments", None, "https://www.rt.com/news/374572/"),
    ("an AJAX #! fragment is kept", "https://example.com/app#!/story/1", None, "https://example.com/app#!/story/1"),
    ("utm_* parameters are removed, others kept in order",
     "https://www.aljazeera.com/news/x.html?b=2&utm_source=rss&a=1&utm_medium=feed", None,
     "https://www.aljazeera.com/news/x.html?b=2&a=1"),
    ("BBC at_* campaign parameters are removed",
     "http://www.bbc.co.uk/news/world-middle-east-38712345?at_medium=RSS&at_campaign=KARANGA", None,
     "http://www.bbc.co.uk/news/world-middle-east-38712345"),
    ("click ids are removed", "https://x.com/a?fbclid=IwAR0&gclid=1&msclkid=2&yclid=3&igshid=4&id=7", None,
     "https://x.com/a?id=7"),
    ("tracking keys match case-insensitively", "https://www.theguardian.com/world/x?CMP=share_btn_tw", None,
     "https://www.theguardian.com/world/x"),
    ("NYT partner and emc tags are removed", "https://www.nytimes.com/2017/01/23/world/x.html?partner=rss&emc=rss", None,
     "https://www.nytimes.com/2017/01/23/world/x.html"),
    ("a meaningful query survives", "http://sana.sy/en/?p=101400", None, "http://sana.sy/en/?p=101400"),
    ("empty query pieces are dropped", "https://x.com/a?&&id=1&", None, "https://x.com/a?id=1"),
    ("a query of only tracking parameters is removed", "https://x.com/a?utm_source=x", None, "https://x.com/a"),
    ("a relative link resolves against the base", "/en/news/1", "https://english.aawsat.com/feeds/rss.xml",
     "https://english.aawsat.com/en/news/1"),
    ("a document-relative link resolves against the base", "2017/story", "https://x.com/feeds/rss.xml",
     "https://x.com/feeds/2017/story"),
    ("a protocol-relative link takes the base's scheme", "//cdn.x.com/a", "https://x.com/feed", "https://cdn.x.com/a"),
    ("an absolute link ignores the base", "http://tass.com/1", "https://x.com/feed", "http://tass.com/1"),
    ("percent escapes are upper-cased", "https://x.com/a%2fb%c3%a9", None, "https://x.com/a%2Fb%C3%A9"),
    ("non-ASCII path characters are percent-encoded", "https://www.france24.com/ar/روسيا", None,
     "https://www.france24.com/ar/%D8%B1%D9%88%D8%B3%D9%8A%D8%A7"),
    ("spaces in the path are percent-encoded", "https://x.com/a b", None, "https://x.com/a%20b"),
    ("user info is dropped", "https://user:secret@x.com/a", None, "https://x.com/a"),
    ("an IDN host becomes punycode", "https://пример.рф/новости", None,
     "https://xn--e1afmkfd.xn--p1ai/%D0%BD%D0%BE%D0%B2%D0%BE%D1%81%D1%82%D0%B8"),
    ("a trailing dot on the host is dropped", "https://www.reuters.com./a", None, "https://www.reuters.com/a"),
    ("surrounding whitespace is ignored", "  https://x.com/a \n", None, "https://x.com/a"),
    ("a Google News redirect is unwrapped and its utm_* removed",
     "http://news.google.com/news/url?sa=t&fd=R&usg=AFQ&url=https%3A%2F%2Fwww.reuters.com%2Farticle%2Fx"
     "%3Futm_source%3Dgooglenews%26id%3D5", None, "https://www.reuters.com/article/x?id=5"),
    ("a google.com/url?q= redirect is unwrapped", "https://www.google.com/url?q=https://tass.com/world/1&sa=D", None,
     "https://tass.com/world/1"),
    ("a Facebook link shim is unwrapped", "https://l.facebook.com/l.php?u=https%3A%2F%2Fwww.rt.com%2Fnews%2F1%2F&h=AT0",
     None, "https://www.rt.com/news/1/"),
    ("a redirector without a usable target is kept", "https://www.google.com/url?q=javascript:alert(1)", None,
     "https://www.google.com/url?q=javascript:alert(1)"),
    ("javascript: is never a story URL", "javascript:alert(1)", None, ""),
    ("mailto: is never a story URL", "mailto:desk@reuters.com", None, ""),
    ("file: is never a story URL", "file:///etc/passwd", None, ""),
    ("a relative link without a base is not a URL", "/en/news/1", None, ""),
    ("an empty string gives an empty string", "", None, ""),
    ("a host-less http URL is not a URL", "http:///path", None, ""),
    ("a broken IPv6 literal is not a URL", "http://[::1/a", None, ""),
    ("a non-numeric port is not a URL", "http://x.com:abc/a", None, ""),
]


@pytest.mark.parametrize(("url", "base", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_it_canonicalizes(url: str, base: str | None, expected: str) -> None:
    assert canonical_url(url, base) == expected


def test_it_returns_empty_for_none() -> None:
    assert canonical_url(None) == ""


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://www.rt.com/news/1/", True),
        ("HTTP://TASS.COM", True),
        ("ftp://x.com/a", False),
        ("javascript:alert(1)", False),
        ("/relative/path", False),
        ("https://", False),
        ("", False),
        (None, False),
        ("http://[::1", False),
    ],
)
def test_it_tells_http_urls_apart(url: str | None, expected: bool) -> None:
    assert is_http_url(url) is expected


_segments = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12)
_urls = st.builds(
    lambda scheme, host, path, key, value, frag: f"{scheme}://{host}/{path}?{key}={value}#{frag}",
    st.sampled_from(["http", "https", "HTTP", "ftp"]),
    st.sampled_from(["tass.com", "WWW.RT.COM:443", "127.0.0.1:8080", "пример.рф", "[::1]:80"]),
    _segments,
    st.sampled_from(["id", "utm_source", "p", "fbclid", "a b"]),
    _segments,
    _segments,
)


@settings(max_examples=300, deadline=None)
@given(_urls)
def test_it_is_idempotent_and_never_raises(url: str) -> None:
    once = canonical_url(url)
    assert canonical_url(once) == once


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60), st.one_of(st.none(), st.text(max_size=30)))
def test_it_never_raises_on_arbitrary_text(url: str, base: str | None) -> None:
    assert isinstance(canonical_url(url, base), str)
