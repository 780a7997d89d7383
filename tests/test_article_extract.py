"""The article step's pure half and its settings: pages to text, charsets, languages, and ``full_text`` in feeds.toml."""

from __future__ import annotations

import statistics
from pathlib import Path

import pytest
from articlepages import load_pages, word_f1

from monitor.config import read_config
from monitor.reader import ExtractError, decode_html, extract_article, failure_kind

PAGES = load_pages()


def extract(page):
    return extract_article(page.html, {"content-type": "text/html"}, f"https://news.example/{page.id}")


def test_the_page_set_has_enough_pages_languages_and_shapes() -> None:
    assert len(PAGES) >= 26
    assert len({p.lang for p in PAGES}) >= 10
    assert {"live-blog", "paywall"} <= {p.shape for p in PAGES}
    assert {"windows-1251", "gbk"} <= {p.encoding for p in PAGES}


def test_trafilatura_scores_a_median_word_f1_of_at_least_0_9_on_the_page_set() -> None:
    scores = {p.id: word_f1(extract(p).text, p.reference, p.lang) for p in PAGES}
    assert statistics.median(scores.values()) >= 0.9, scores
    assert min(scores.values()) >= 0.6, scores  # no page lost outright


@pytest.mark.parametrize("page_id", ["ru-1251-seed", "zh-gbk-seed"])
def test_a_legacy_charset_is_read_from_the_pages_meta_when_the_header_has_none(page_id: str) -> None:
    page = next(p for p in PAGES if p.id == page_id)
    article = extract(page)
    assert article.charset in ("cp1251", "gb18030")
    assert word_f1(article.text, page.reference, page.lang) >= 0.7
    assert "\ufffd" not in article.text


def test_the_header_charset_wins_over_the_meta() -> None:
    body = '<html><head><meta charset="utf-8"></head><body>Привет</body></html>'.encode("cp1251")
    text, codec = decode_html(body, "text/html; charset=windows-1251")
    assert codec == "cp1251" and "Привет" in text


@pytest.mark.parametrize(
    ("body", "content_type", "codec"),
    [
        (b"\xef\xbb\xbf<p>caf\xc3\xa9</p>", "", "utf-8"),  # a BOM
        ('<meta http-equiv="Content-Type" content="text/html; charset=gb2312"><p>中文</p>'.encode("gbk"), "", "gb18030"),
        (b"<p>caf\xe9</p>", "", "cp1252"),  # neither declared nor UTF-8
        (b"<p>caf\xc3\xa9</p>", "text/html; charset=nonsense", "utf-8"),  # an unknown label is ignored
    ],
)
def test_decoding_follows_bom_declaration_and_fallbacks(body: bytes, content_type: str, codec: str) -> None:
    text, used = decode_html(body, content_type)
    assert used == codec and "\ufffd" not in text


def test_title_byline_date_and_language_come_from_the_page() -> None:
    page = next(p for p in PAGES if p.id == "de-drupal-wohngeld")
    article = extract(page)
    assert article.language == "de"
    assert article.title and article.title.startswith(page.title[:20])
    assert article.published is not None and article.published.year == 2026


@pytest.mark.parametrize(
    "body",
    [b"", b"   ", b"%PDF-1.7\n\0\0\0", b"<html><body><nav>Home | World</nav></body></html>", b"\0" * 1000],
)
def test_a_page_without_main_text_is_an_extract_error(body: bytes) -> None:
    with pytest.raises(ExtractError, match="extract:"):
        extract_article(body, {}, "https://news.example/x")


def test_an_xml_declaration_does_not_stop_the_parser() -> None:
    body = b'<?xml version="1.0" encoding="utf-8"?><html><body><article><p>' + b"A sentence of the report. " * 20 + b"</p></article></body></html>"
    assert "sentence of the report" in extract_article(body, {}, "https://news.example/x").text


def test_control_characters_are_removed_from_the_text() -> None:
    body = b"<html><body><article><p>" + b"Words \x1b[31mred\x1b[0m of the story. " * 10 + b"</p></article></body></html>"
    text = extract_article(body, {}, "https://news.example/x").text
    assert "\x1b" not in text and "red" in text


@pytest.mark.parametrize(
    ("reason", "kind"),
    [
        ("fetch: deadline of 2s exceeded for http://x/", "deadline"),
        ("fetch: body larger than 2.0 MB limit at http://x/", "too_large"),
        ("fetch: content type 'application/pdf' refused at http://x/", "not_html"),
        ("fetch: refusing to connect to link-local address 169.254.169.254 (host '169.254.169.254')", "refused"),
        ("fetch: redirect to unsupported scheme 'file' from http://x/", "redirect"),
        ("fetch: HTTP 404 Not Found from http://x/", "http"),
        ("extract: no main text found on the page", "extract"),
        ("article: interrupted (the worker stopped during the fetch); not fetched again", "interrupted"),
        ("something new", "other"),
    ],
)
def test_failure_reasons_fall_into_a_few_kinds_for_metrics(reason: str, kind: str) -> None:
    assert failure_kind(reason) == kind


def _config(tmp_path: Path, text: str):
    path = tmp_path / "feeds.toml"
    path.write_text(text, encoding="utf-8")
    return read_config(path)


def test_full_text_is_set_per_feed_or_in_defaults(tmp_path: Path) -> None:
    config, problems = _config(
        tmp_path,
        '[defaults]\nfull_text = true\narticle_wait = "20s"\narticles_per_poll = 5\narticle_per_host = 1\narticle_pause = "2s"\n\n'
        '[[feeds]]\nname = "a"\nurl = "http://a.example/feed"\n\n'
        '[[feeds]]\nname = "b"\nurl = "http://b.example/feed"\nfull_text = false\n',
    )
    assert not problems and config is not None
    d = config.defaults
    assert (d.full_text, d.article_wait, d.articles_per_poll, d.article_per_host, d.article_pause) == (True, 20, 5, 1, 2)
    assert [f.full_text for f in config.feeds] == [True, False]


def test_full_text_is_off_by_default(tmp_path: Path) -> None:
    config, problems = _config(tmp_path, '[[feeds]]\nname = "a"\nurl = "http://a.example/feed"\n')
    assert not problems and config is not None and not config.feeds[0].full_text


def test_bad_article_settings_are_reported_with_file_key_and_line(tmp_path: Path) -> None:
    _, problems = _config(
        tmp_path,
        '[defaults]\nfull_text = "yes"\narticle_wait = "forever"\narticles_per_poll = 0\n\n'
        '[[feeds]]\nname = "a"\nurl = "http://a.example/feed"\nfull_text = 1\n',
    )
    shown = [str(p) for p in problems]
    assert any(":2:" in s and "full_text" in s for s in shown), shown
    assert any(":3:" in s and "article_wait" in s for s in shown), shown
    assert any(":4:" in s and "articles_per_poll" in s for s in shown), shown
    assert any(":9:" in s and "feeds[0].full_text" in s for s in shown), shown
