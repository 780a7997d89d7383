"""The article step's pure half: an HTML page's bytes → its main text and metadata.

``extract_article(body, headers, url)`` decodes the page (the charset of the
Content-Type header, else a BOM, else the page's own ``<meta charset>`` or
``http-equiv``, else UTF-8 with a windows-1252 fallback), parses it once with
lxml, reads the page's language from ``<html lang>`` (or its
``content-language`` meta), and hands the tree to trafilatura for the main
text, title, byline and date. It performs no I/O and raises
``ExtractError`` (with a short reason) when the page holds no main text.

trafilatura is the extractor: the field's reference, kept up to date, and
measured on this project's article pages by ``bench/bench_articles.py``.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass
from datetime import datetime, timezone

from functools import cache
from typing import Any

import lxml.etree
import lxml.html

from monitor.errors import MonitorError
from monitor.text import clean_text

MAX_TREE_SIZE = 200_000  # elements; a bigger page is refused rather than walked
MIN_TEXT = 40  # characters of main text below which a page is said to hold none
_META_SCAN = 4096  # bytes of the page searched for a charset declaration
_META_CHARSET = re.compile(
    rb"""<meta[^>]+?charset\s*=\s*["']?\s*([a-zA-Z0-9_\-:.]{1,40})""", re.IGNORECASE
)
_HEADER_CHARSET = re.compile(r"""charset\s*=\s*["']?([a-zA-Z0-9_\-:.]{1,40})""", re.IGNORECASE)
# The WHATWG encoding standard's aliases that Python spells otherwise or treats more narrowly.
_ALIASES = {
    "gb2312": "gb18030", "gbk": "gb18030", "x-gbk": "gb18030", "gb_2312-80": "gb18030",
    "iso-8859-1": "cp1252", "latin1": "cp1252", "us-ascii": "cp1252", "ascii": "cp1252",
    "windows-874": "cp874", "tis-620": "cp874", "x-sjis": "shift_jis", "shift-jis": "shift_jis",
    "ks_c_5601-1987": "cp949", "euc-kr": "cp949", "big5": "big5hkscs", "x-mac-cyrillic": "mac_cyrillic",
}
_CONTROLS = {c: None for c in (*range(0, 9), 11, 12, *range(14, 32), 127)}  # not allowed in the tree lxml builds
_PROLOG = re.compile(r"^\s*<\?xml[^>]*\?>")
_LANG = re.compile(r"^[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{2,8})*$")


class ExtractError(MonitorError):
    """The page could be read but held no main text (or could not be parsed)."""


@dataclass(frozen=True, slots=True)
class Article:
    """What a page says: its main text (plain, paragraphs separated by newlines) and metadata.

    ``title``, ``byline``, ``published`` and ``language`` are None where the
    page does not say; ``charset`` is the codec the page was decoded with.
    """

    text: str
    title: str | None = None
    byline: str | None = None
    published: datetime | None = None
    language: str | None = None
    charset: str = "utf-8"


def extract_article(body: bytes, headers: dict[str, str], url: str) -> Article:
    """The main text of the HTML page ``body`` fetched from ``url`` (``headers`` lower-cased).

    Raises ``ExtractError`` with a short reason when the page holds no main
    text of at least ``MIN_TEXT`` characters or cannot be parsed.
    """
    if b"\0" in body[:1024] and not body.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise ExtractError("extract: binary content, not an HTML page")
    text, charset = decode_html(body, headers.get("content-type", ""))
    text = _PROLOG.sub("", text, count=1).translate(_CONTROLS)  # lxml refuses a declared encoding in str input
    if not text.strip():
        raise ExtractError("extract: empty page")
    try:
        tree = lxml.html.fromstring(text)
    except (lxml.etree.ParserError, ValueError) as exc:
        raise ExtractError(f"extract: unparsable HTML ({exc})") from None
    if tree is None:
        raise ExtractError("extract: unparsable HTML")
    language = page_language(tree, headers)
    bare_extraction, config = _trafilatura()
    doc = bare_extraction(
        tree, url=url, with_metadata=True, include_comments=False, include_tables=True,
        include_images=False, include_links=False, config=config,
    )
    raw = (getattr(doc, "text", None) or "") if doc is not None else ""
    main = "\n".join(line for line in (clean_text(p) for p in raw.splitlines()) if line)
    if len(main) < MIN_TEXT:
        raise ExtractError("extract: no main text found on the page")
    return Article(
        text=main,
        title=_clean(getattr(doc, "title", None)),
        byline=_clean(getattr(doc, "author", None)),
        published=_date(getattr(doc, "date", None)),
        language=language,
        charset=charset,
    )


@cache
def _trafilatura() -> tuple[Any, Any]:
    """trafilatura's extractor and its settings (its defaults, with a bound on the tree it walks).

    Imported on first use, so a service without full_text feeds never loads it.
    """
    import trafilatura
    from trafilatura.settings import use_config

    config = use_config()
    config.set("DEFAULT", "MAX_TREE_SIZE", str(MAX_TREE_SIZE))
    return trafilatura.bare_extraction, config


def decode_html(body: bytes, content_type: str = "") -> tuple[str, str]:
    """``body`` as text and the codec used: header charset, BOM, meta charset, UTF-8, windows-1252."""
    for bom, codec in ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be")):
        if body.startswith(bom):
            return body[len(bom):].decode(codec, errors="replace"), codec
    candidates: list[str] = []
    found = _HEADER_CHARSET.search(content_type)
    if found:
        candidates.append(found.group(1))
    meta = _META_CHARSET.search(body[:_META_SCAN])
    if meta:
        candidates.append(meta.group(1).decode("ascii", errors="replace"))
    for name in candidates:
        codec = _codec(name)
        if codec is not None:
            return body.decode(codec, errors="replace"), codec
    try:
        return body.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return body.decode("cp1252", errors="replace"), "cp1252"


def page_language(tree: lxml.html.HtmlElement, headers: dict[str, str]) -> str | None:
    """The page's declared language (``<html lang>``, meta content-language, header), lower-cased primary tag."""
    values = [tree.get("lang"), tree.get("{http://www.w3.org/XML/1998/namespace}lang")]
    values += tree.xpath("//meta[translate(@http-equiv,'CONTENT-LANGUAGE','content-language')='content-language']/@content")[:1]
    values.append(headers.get("content-language"))
    for value in values:
        if value:
            tag = str(value).split(",")[0].strip()
            if _LANG.match(tag):
                return tag.replace("_", "-").split("-")[0].lower()
    return None


def _codec(name: str) -> str | None:
    name = name.strip().lower()
    name = _ALIASES.get(name, name)
    try:
        info = codecs.lookup(name)
    except LookupError:
        return None
    if info.name in ("utf-16-le", "utf-16-be", "utf-16", "utf-32"):
        return None  # a page declaring UTF-16 in ASCII bytes is not UTF-16 (WHATWG: treat as UTF-8)
    return info.name


def _clean(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    value = " ".join(value.split())
    return value[:500] or None


def _date(value: object) -> datetime | None:
    """trafilatura's ISO date (``YYYY-MM-DD``), as midnight UTC; None when absent or unreadable."""
    if not isinstance(value, str) or not value:
        return None
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        return None
    return when.replace(tzinfo=timezone.utc) if when.tzinfo is None else when.astimezone(timezone.utc)
