"""HTML to plain text, for titles, summaries and article bodies from feeds.

The output is one line of plain text: tags are removed (``script``, ``style``
and similar elements with everything inside them), entities are decoded,
control and invisible formatting characters are removed, and runs of
whitespace become one space. The result is *text*, not HTML: a decoded
``&lt;script&gt;`` comes back as the characters ``<script>``, and every output
(Slack, email) escapes it for itself.

Short fragments (most titles and summaries) go through the standard library's
forgiving ``html.parser``, which is as fast as lxml at that size; long ones
(article bodies) through lxml: a 47 KB body takes 3.6 ms this way against
10.8 ms with ``html.parser``. Both walks give the same text, and when libxml2
refuses an input or nests it deeper than it keeps, the stdlib parser takes it.
"""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser

from lxml import etree
from lxml import html as lxml_html

__all__ = ["clean_text", "html_to_text", "truncate"]

# Elements whose contents are never text a reader sees.
_SKIP = frozenset({"script", "style", "noscript", "template", "iframe", "object", "svg", "math", "head", "title"})
# Elements that separate words: a tag boundary there becomes a space.
_BLOCK = frozenset(
    {
        "address", "article", "aside", "blockquote", "br", "dd", "div", "dl", "dt", "figcaption",
        "figure", "footer", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "img", "li", "main",
        "nav", "ol", "p", "pre", "section", "table", "td", "th", "tr", "ul", "caption", "tbody",
        "thead", "tfoot", "option", "summary", "details",
    }
)

# C0/C1 controls (tab, newline, CR become spaces), DEL, and invisible format
# characters that can hide or reorder text: zero-width space, BOM, the bidi
# embeddings/overrides/isolates. ZWJ/ZWNJ stay: scripts and emoji need them.
_WHITESPACE_CONTROLS = {ord(c): " " for c in "\t\n\r\x0b\x0c\x85\u2028\u2029\xa0"}
_DROP = (
    [c for c in range(0x00, 0x20) if c not in _WHITESPACE_CONTROLS]
    + [0x7F]
    + [c for c in range(0x80, 0xA0) if c not in _WHITESPACE_CONTROLS]
    + [0x200B, 0xFEFF, 0x2060, 0x202A, 0x202B, 0x202C, 0x202D, 0x202E, 0x2066, 0x2067, 0x2068, 0x2069]
)
_TRANSLATE: dict[int, str | None] = {**{c: None for c in _DROP}, **_WHITESPACE_CONTROLS}
_SPACES = re.compile(r"\s+")
# From this length on, libxml2 (lxml) parses; below it the stdlib parser is as
# fast and starts quicker. Both give the same text (see tests/test_text.py).
_LXML_FROM = 2_000
_LXML_MAX_DEPTH = 250  # libxml2's HTML parser stops building the tree at 256


class _TooDeep(Exception):
    """The fragment nests deeper than libxml2 keeps."""
_ENTITY = re.compile(r"&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")
_TAG = re.compile(r"<[^>]*>?")


class _TextExtractor(HTMLParser):
    """Collects the visible text of a fragment; never raises on bad markup."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip_depth = 0

    def handle_starttag(self, tag: str, attrs: object) -> None:
        if tag in _SKIP:
            self._skip_depth += 1
            self.parts.append(" ")
        elif tag in _BLOCK:
            self.parts.append(" ")

    def handle_startendtag(self, tag: str, attrs: object) -> None:
        if tag in _BLOCK:
            self.parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP:
            if self._skip_depth:
                self._skip_depth -= 1
            self.parts.append(" ")
        elif tag in _BLOCK:
            self.parts.append(" ")

    def handle_data(self, data: str) -> None:
        if not self._skip_depth:
            self.parts.append(data)


def clean_text(text: str | None) -> str:
    """Plain text made tidy: controls and invisible format characters removed,
    whitespace collapsed to single spaces, ends stripped. Does not touch
    ``<`` or ``&``."""
    if not text:
        return ""
    return _SPACES.sub(" ", text.translate(_TRANSLATE)).strip()


def html_to_text(html_text: str | None) -> str:
    """The visible text of an HTML fragment as one clean line (see the module
    docstring). Entities are decoded once by the parser, then once more if
    the result still holds an entity (feeds often double-encode, ``&amp;amp;``).
    ``None`` and ``""`` give ``""``. Never raises."""
    if not html_text:
        return ""
    try:
        text = _extract(html_text.translate(_TRANSLATE))
        if "&" in text and _ENTITY.search(text):
            text = html.unescape(text)
        return clean_text(text)
    except Exception:  # noqa: BLE001 - the contract is "never raises"
        return clean_text(html.unescape(_TAG.sub(" ", html_text)))


def _extract(fragment: str) -> str:
    if "<" not in fragment:
        return html.unescape(fragment) if "&" in fragment else fragment
    if len(fragment) >= _LXML_FROM:
        try:
            return _extract_lxml(fragment)
        except (ValueError, etree.LxmlError, _TooDeep):
            pass  # input libxml2 refuses or nests too deep; the stdlib parser copes
    return _extract_stdlib(fragment)


def _extract_stdlib(fragment: str) -> str:
    parser = _TextExtractor()
    parser.feed(fragment)
    parser.close()
    return "".join(parser.parts)


def _extract_lxml(fragment: str) -> str:
    """The stdlib walk's rules over libxml2's tree (iterative, no recursion)."""
    root = lxml_html.fragment_fromstring(fragment, create_parent="div")
    parts: list[str] = []
    skip_depth = depth = 0
    for event, element in etree.iterwalk(root, events=("start", "end", "comment", "pi")):
        tag = element.tag if isinstance(element.tag, str) else None
        if event in ("comment", "pi"):
            if not skip_depth and element.tail:
                parts.append(element.tail)
        elif event == "start":
            depth += 1
            if depth >= _LXML_MAX_DEPTH:
                raise _TooDeep  # libxml2 silently drops what lies deeper
            if tag in _SKIP:
                skip_depth += 1
                parts.append(" ")
            elif tag in _BLOCK:
                parts.append(" ")
            if tag is not None and not skip_depth and element.text:
                parts.append(element.text)
        else:
            depth -= 1
            if tag in _SKIP:
                skip_depth -= 1
                parts.append(" ")
            elif tag in _BLOCK:
                parts.append(" ")
            if not skip_depth and element.tail and element is not root:
                parts.append(element.tail)
    return "".join(parts)


def truncate(text: str, limit: int, ellipsis: str = "…") -> str:
    """``text`` cut to at most ``limit`` characters at a word boundary, with
    ``ellipsis`` appended when something was cut (the ellipsis counts toward
    the limit). A single word longer than the limit is cut mid-word."""
    if len(text) <= limit:
        return text
    room = max(limit - len(ellipsis), 0)
    cut = text[:room]
    space = cut.rfind(" ")
    if space > room // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;:-–—") + ellipsis
