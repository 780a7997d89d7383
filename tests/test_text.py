"""HTML to plain text."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.text import clean_text, html_to_text, truncate

CASES = [
    # (what it shows, html, expected text)
    ("tags are removed", "<p>Russia says <b>joint</b> strikes</p>", "Russia says joint strikes"),
    ("block elements separate words", "<p>One</p><p>Two</p><br>Three<li>Four</li>", "One Two Three Four"),
    ("inline elements do not separate words", "Pent<b>agon</b>", "Pentagon"),
    ("script content is dropped", "Before<script>alert('x')</script>After", "Before After"),
    ("style content is dropped", "<style>p{color:red}</style>Visible", "Visible"),
    ("noscript and iframe content are dropped", "<noscript>no</noscript><iframe>frame</iframe>ok", "ok"),
    ("named entities are decoded", "AT&amp;T &mdash; Kremlin&nbsp;says", "AT&T — Kremlin says"),
    ("numeric entities are decoded", "Syria&#8217;s &#x2018;talks&#x2019;", "Syria’s ‘talks’"),
    ("double-encoded entities are decoded", "AT&amp;amp;T &amp;#8217;", "AT&T ’"),
    ("escaped markup comes back as text", "&lt;script&gt;alert(1)&lt;/script&gt;", "<script>alert(1)</script>"),
    ("a bare < survives", "x < y and y > z", "x < y and y > z"),
    ("a bare & survives", "Peshmerga & coalition", "Peshmerga & coalition"),
    ("whitespace collapses to single spaces", "  Lots\n\tof \r\n  space  ", "Lots of space"),
    ("control characters are removed", "Pen\x00ta\x07gon\x7f\x85x", "Pentagon x"),
    ("bidi overrides and zero-width characters are removed", "Pentagon \u202edenies\u202c\u200b claim\ufeff",
     "Pentagon denies claim"),
    ("zero-width joiners stay (scripts need them)", "می\u200cخواهم", "می\u200cخواهم"),
    ("unclosed tags keep their text", "<p>unclosed <b>bold", "unclosed bold"),
    ("an unclosed script hides the rest", "Shown<script>hidden", "Shown"),
    ("attributes never leak into the text", '<img src=x onerror="alert(1)"><a href="javascript:x">link</a>', "link"),
    ("comments are dropped", "a<!-- hidden -->b", "ab"),
    ("an empty string gives an empty string", "", ""),
    ("None gives an empty string", None, ""),
    ("only markup gives an empty string", "<div><img src=x></div>", ""),
    ("non-Latin text is kept", "<p>Минобороны России</p>", "Минобороны России"),
]


@pytest.mark.parametrize(("html", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_it_extracts_text(html: str | None, expected: str) -> None:
    assert html_to_text(html) == expected


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(list("<>/&;#x!-[]ab \n\"'=") + ["<script>", "</p>", "&amp;", "<!--"]), max_size=40).map("".join))
def test_it_never_raises_and_gives_one_clean_line(html: str) -> None:
    text = html_to_text(html)
    assert "\n" not in text and text == text.strip() and "  " not in text


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200))
def test_it_never_raises_on_arbitrary_text(html: str) -> None:
    assert isinstance(html_to_text(html), str)


def test_clean_text_leaves_markup_characters_alone() -> None:
    assert clean_text(" a <b> &amp;\n") == "a <b> &amp;"


@pytest.mark.parametrize(
    ("text", "limit", "expected"),
    [
        ("short", 10, "short"),
        ("exactly ten", 11, "exactly ten"),
        ("Russia says it struck targets", 20, "Russia says it…"),
        ("Supercalifragilistic", 10, "Supercali…"),
        ("word, word, word", 12, "word, word…"),
    ],
)
def test_it_truncates_at_a_word_boundary(text: str, limit: int, expected: str) -> None:
    result = truncate(text, limit)
    assert result == expected
    assert len(result) <= limit


LXML_CASES = [c for c in CASES if c[1] and "<" in c[1] and "unclosed script" not in c[0]]


@pytest.mark.parametrize(("html", "expected"), [c[1:] for c in LXML_CASES], ids=[c[0] for c in LXML_CASES])
def test_long_fragments_read_by_lxml_give_the_same_text(html: str, expected: str) -> None:
    padding = "<p>" + "Aleppo " * 400 + "</p>"  # pushes the fragment onto the lxml path
    assert html_to_text(html + padding) == (expected + " " + "Aleppo " * 400).strip()


def test_a_long_body_that_libxml2_refuses_still_gives_text() -> None:
    body = "<p>Before\x00after</p>" + "<p>Mosul</p>" * 300
    assert html_to_text(body).startswith("Beforeafter Mosul Mosul")


@pytest.mark.parametrize("depth", [10_000, 100_000])
def test_deeply_nested_markup_neither_raises_nor_loses_the_text(depth: int) -> None:
    text = html_to_text("<div>" * depth + "deep" + "</div>" * depth)
    assert "deep" in text
