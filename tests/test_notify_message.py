"""Rendering alerts as Slack messages: escaping, trimming, links and limits."""

from __future__ import annotations

import json
import unicodedata
from datetime import datetime

import pytest
from fakeslack import sample_alert, validate_message
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.notify.message import (
    TEXT_LIMIT,
    build_blocks,
    clean,
    date_token,
    escape_mrkdwn,
    fallback_text,
    is_grapheme_boundary,
    link_url,
    text_message,
    trim,
    utf16_len,
)

FAMILY = "👨\u200d👩\u200d👧\u200d👦"
FLAG_SY = "🇸🇾"


@pytest.mark.parametrize(
    "raw, escaped",
    [
        ("<!channel>", "&lt;!channel&gt;"),
        ("<@U123>", "&lt;@U123&gt;"),
        ("<#C123|general>", "&lt;#C123|general&gt;"),
        ("<https://evil.example|Pentagon statement>", "&lt;https://evil.example|Pentagon statement&gt;"),
        ("AT&T", "AT&amp;T"),
        ("&lt; already", "&amp;lt; already"),
        ("plain *bold* _it_", "plain *bold* _it_"),
    ],
)
def test_escape_mrkdwn_follows_slacks_three_rules(raw, escaped):
    assert escape_mrkdwn(raw) == escaped


@pytest.mark.parametrize(
    "url, linked",
    [
        ("https://news.example/a?b=1&c=2", "https://news.example/a?b=1&amp;c=2"),
        ("https://news.example/a|b>c<d e", "https://news.example/a%7Cb%3Ec%3Cd%20e"),
        ("http://news.example/%E2%9C%93", "http://news.example/%E2%9C%93"),
        ("javascript:alert(1)", None),
        ("mailto:desk@news.example", None),
        ("/relative/path", None),
        ("", None),
        ("https://", None),
    ],
)
def test_link_url_only_links_http_urls_and_cannot_break_out_of_the_link(url, linked):
    assert link_url(url) == linked


@pytest.mark.parametrize(
    "case, text, limit, expected",
    [
        ("fits", "Pentagon denies", 20, "Pentagon denies"),
        ("cuts at a word", "Pentagon denies Russian claim", 20, "Pentagon denies…"),
        ("never splits a ZWJ family", "ab" + FAMILY, 8, "ab…"),
        ("never splits a flag", "ab" + FLAG_SY + FLAG_SY, 7, "ab" + FLAG_SY + "…"),
        ("never splits a flag in the middle", "ab" + FLAG_SY + FLAG_SY, 6, "ab…"),
        ("never strips a combining accent", "cafe\u0301s!", 6, "cafe\u0301…"),
        ("never keeps an accent without its letter", "cafe\u0301s", 5, "caf…"),
        ("counts astral characters as two", "😀😀😀", 5, "😀😀…"),
        ("counts escaped length", "a&b&c", 7, "a&amp;…"),
    ],
)
def test_trim_cuts_whole_graphemes_and_fits_the_limit(case, text, limit, expected):
    escaped = case == "counts escaped length"
    result = trim(text, limit, escaped=escaped, word_slack=20 if case == "cuts at a word" else 0)
    assert result == expected, case
    assert utf16_len(result) <= limit


def test_clean_drops_control_characters_and_repairs_surrogates():
    assert clean("a\x00b\x1b[31mc\td\r\ne\ud800") == "ab[31mc d\ne\ufffd"
    assert clean("x\ud83d\ude00y") == "x😀y"
    assert clean("  many \n\n  spaces ", single_line=True) == "many spaces"


def test_date_token_uses_slacks_localised_date_with_a_utc_fallback():
    from datetime import timezone

    token = date_token(datetime(2017, 2, 14, 9, 30, tzinfo=timezone.utc))

    assert token == "<!date^1487064600^{date_short_pretty} {time}|2017-02-14 09:30 UTC>"
    assert date_token(datetime(2017, 2, 14, 9, 30)) == token  # naive is taken as UTC


def test_terms_are_bold_and_cannot_break_out_of_bold():
    blocks = build_blocks(sample_alert(terms=("air*strikes", "_x_", "~y~", "`z`", "<!here>")))

    text = json.dumps(blocks, ensure_ascii=False)
    assert "*air＊strikes*" in text and "*＿x＿*" in text and "*～y～*" in text and "*｀z｀*" in text
    assert "*&lt;!here&gt;*" in text


def test_many_terms_are_capped_with_a_count():
    blocks = build_blocks(sample_alert(terms=tuple(f"term{i}" for i in range(30))))

    assert "and 10 more" in json.dumps(blocks)


def test_an_alert_without_summary_url_or_other_sources_still_renders():
    blocks = build_blocks(sample_alert(summary="", url="", also_seen_in=(), terms=()))

    assert [b["type"] for b in blocks] == ["header", "context"]
    assert validate_message({"text": "x", "blocks": blocks}) == []


def test_an_empty_title_gets_a_placeholder():
    blocks = build_blocks(sample_alert(title="  \n "))

    assert blocks[0]["text"]["text"] == "(untitled story)"


def test_fallback_text_names_severity_rule_title_and_source_escaped():
    text = fallback_text(sample_alert(title="Pentagon <denies> & more"))

    assert text == "[high] Syria airstrikes: Pentagon &lt;denies&gt; &amp; more (Example Wire)"


def test_text_message_sends_our_mrkdwn_as_written_but_clean_and_never_empty():
    assert text_message("*Rule* &lt;x&gt; <https://a.example|story>") == "*Rule* &lt;x&gt; <https://a.example|story>"
    assert text_message("a\x1b[0mb") == "a[0mb"
    assert text_message("") == "(empty message)"


@pytest.mark.parametrize("tail", ["&amp;" * 10, "<https://news.example/" + "x" * 40 + "|story>"])
def test_text_message_cuts_a_long_line_without_splitting_an_entity_or_a_link(tail):
    text = text_message("x" * (TEXT_LIMIT - 20) + tail)

    assert utf16_len(text) <= TEXT_LIMIT
    assert text.endswith("x…") or text.endswith(";…") or text.endswith(">…")
    assert text.count("<") == text.count(">")


def test_a_huge_url_drops_the_link_instead_of_breaking_the_section():
    blocks = build_blocks(sample_alert(url="https://news.example/" + "a" * 5000))

    assert validate_message({"text": "x", "blocks": blocks}) == []
    assert "Read the story" not in json.dumps(blocks)


hostile_text = st.text(
    alphabet=st.one_of(
        st.characters(codec="utf-8"),
        st.sampled_from(["<", ">", "&", "|", "*", "\u200d", "\u0301", "\U0001F1F8", "🏳", "\ufe0f", "@", "!"]),
    ),
    max_size=4000,
)


@settings(max_examples=150, deadline=None)
@given(title=hostile_text, summary=hostile_text, source=hostile_text, term=hostile_text)
def test_any_feed_text_gives_a_message_within_slacks_limits_and_without_markup(title, summary, source, term):
    alert = sample_alert(title=title, summary=summary, source=source, terms=(term,), also_seen_in=(source,))

    blocks = build_blocks(alert)
    text = fallback_text(alert)

    assert validate_message({"text": text, "blocks": blocks}) == []
    rendered = json.dumps(blocks, ensure_ascii=False)
    assert rendered.count("<") == 2  # only our date token and our link
    assert "<" not in text and ">" not in text
    header = blocks[0]["text"]["text"].replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    cleaned = clean(title, single_line=True)
    if cleaned and header != cleaned:  # it was trimmed: a prefix, cut between graphemes
        kept = header.removesuffix("…")
        assert cleaned.startswith(kept)
        assert is_grapheme_boundary(cleaned, len(kept))
    assert all(unicodedata.category(ch) != "Cs" for ch in rendered)


def test_a_match_by_example_shows_its_similarity_and_nearest_example_escaped() -> None:
    alert = sample_alert(similarity=0.6234, example="Pentagon denies <!channel> strikes with Russia …")
    text = json.dumps(build_blocks(alert))
    assert "Similar (0.62) to example: Pentagon denies &lt;!channel&gt; strikes with Russia" in text
    assert "Similar (" not in json.dumps(build_blocks(sample_alert()))
