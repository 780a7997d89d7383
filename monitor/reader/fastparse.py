"""parse (fast path): well-formed RSS 2.0 and Atom 1.0 with lxml, or a refusal.

:func:`parse_fast` reads the common shape of a news feed about a hundred
times faster than feedparser and gives a :class:`ParsedFeed` whose entries
normalize into exactly the stories the feedparser path gives. It returns
``None`` ("refused") whenever it cannot vouch for that, and the caller
(:func:`monitor.reader.parse.parse_feed`) then asks feedparser. Refusing is always
safe; guessing is not. It refuses:

- anything but ``<rss version="2.x"><channel>`` or an Atom 1.0 ``<feed>`` root;
- a DOCTYPE, an entity declaration, a processing instruction before the root,
  or XML that is not well-formed (libxml2 runs without DTD loading, entity
  expansion or network, and refuses huge text nodes);
- a body whose charset is not certain: a BOM other than UTF-8's, a media type
  feedparser would complain about (it records that as ``bozo``), a declared
  charset in the prolog that disagrees with the HTTP one, or bytes that do not
  decode strictly in the charset feedparser would pick;
- an element it does not know (per feed, channel and entry), a known element
  twice where feedparser's "which one wins" rules get subtle (two titles, two
  descriptions, two authors, ...), child elements inside a text field,
  ``xml:base`` or ``xml:lang`` below the root, namespaced attributes,
  ``media:title``/``media:description`` (feedparser lets them stand in for the
  entry's own), XHTML text constructs, base64 or out-of-line Atom content;
- an RSS author holding an ``@`` (feedparser splits out e-mail addresses);
- an HTML field whose visible text feedparser's sanitizer could change: every
  tag must be well-formed and one of :data:`SAFE_TAGS`, every entity a known
  HTML one, and no comments, CDATA or declarations inside the HTML;
- a plain-text title where feedparser's "does this look like HTML?" guess
  depends on tags outside :data:`SAFE_TAGS`;
- a feed URL (or ``Content-Location``) that is not an absolute http(s) URL.

What it reproduces from feedparser, rule for rule: whitespace stripping, its
repair of UTF-8 read as Latin-1 and of C1 characters meant as windows-1252,
relative links and permalink guids resolved against the document's base,
``&amp;`` clean-up in RSS links, the guid standing in for a missing link, a
summary copied from the content when there is none, categories, RSS ``ttl``
and feed/entry languages (root ``xml:lang``, ``Content-Language`` and
``<language>``). Dates go through the ``parse_date`` function the caller
passes in (feedparser's own date reader), so they agree by construction.

Text fields come back in the same form as the feedparser path: HTML, with
plain-text values HTML-escaped. HTML is passed on unsanitized; it is vouched
for instead (see above), and :func:`monitor.text.html.html_to_text` gives the same
text for it as for feedparser's sanitized copy.
"""

from __future__ import annotations

import codecs
import html
import re
from collections.abc import Callable, Mapping
from datetime import datetime
from html.entities import entitydefs, name2codepoint
from urllib.parse import urljoin, urlsplit

from lxml import etree

from monitor.model import ParsedFeed, RawEntry
from monitor.text import html_to_text

__all__ = ["parse_fast", "SAFE_TAGS", "DateParser"]

DateParser = Callable[[str], "datetime | None"]


class _Refuse(Exception):
    """The fast path cannot vouch for this body; the reason is the message."""


#: HTML elements that feedparser's sanitizer keeps (tags and text) and that
#: :func:`monitor.text.html.html_to_text` reads as text, so both paths agree.
SAFE_TAGS: frozenset[str] = frozenset(
    {
        "a", "abbr", "acronym", "address", "article", "aside", "b", "big", "blockquote", "br", "caption",
        "center", "cite", "code", "col", "colgroup", "dd", "del", "dfn", "div", "dl", "dt", "em",
        "figcaption", "figure", "font", "footer", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "i",
        "img", "ins", "kbd", "li", "nav", "ol", "p", "pre", "q", "s", "samp", "section", "small", "span",
        "strike", "strong", "sub", "sup", "table", "tbody", "td", "tfoot", "th", "thead", "time", "tr",
        "tt", "u", "ul", "var",
    }
)

_ATOM = "http://www.w3.org/2005/Atom"
_XML_NS = "http://www.w3.org/XML/1998/namespace"
_XML_LANG = f"{{{_XML_NS}}}lang"
_XML_BASE = f"{{{_XML_NS}}}base"
# Namespace URI (lower-case) -> feedparser's prefix for it ("" = core RSS/Atom).
_PREFIXES: dict[str, str] = {
    "": "",
    _ATOM.lower(): "",
    "http://purl.org/dc/elements/1.1/": "dc",
    "http://purl.org/dc/terms/": "dcterms",
    "http://purl.org/rss/1.0/modules/content/": "content",
    "http://search.yahoo.com/mrss": "media",
    "http://search.yahoo.com/mrss/": "media",
    "http://purl.org/rss/1.0/modules/slash/": "slash",
    "http://wellformedweb.org/commentapi/": "wfw",
    "http://purl.org/rss/1.0/modules/syndication/": "sy",
    "http://rssnamespace.org/feedburner/ext/1.0": "feedburner",
}

# Elements read for what they say, in a channel/feed and in an item/entry.
_PUBLISHED = frozenset({"pubdate", "published", "issued", "dcterms:issued"})
_UPDATED = frozenset({"updated", "modified", "dc:date", "dcterms:modified"})
_AUTHOR = frozenset({"author", "dc:creator", "dc:author"})
_LANGUAGE = frozenset({"language", "dc:language"})
_CATEGORY = frozenset({"category", "dc:subject"})
# Elements feedparser stores under names nobody reads here (or ignores); they
# may not hold child elements unless listed in _NESTED.
_IGNORED_ENTRY = frozenset(
    {
        "comments", "enclosure", "source", "rights", "copyright", "created", "dcterms:created",
        "media:content", "media:thumbnail", "media:credit", "media:group", "slash:comments",
        "wfw:comment", "wfw:commentrss", "feedburner:origlink", "contributor",
    }
)
_IGNORED_FEED = frozenset(
    {
        "description", "subtitle", "tagline", "lastbuilddate", "pubdate", "updated", "modified",
        "published", "dc:date", "generator", "copyright", "rights", "dc:rights", "docs", "managingeditor",
        "webmaster", "dc:publisher", "dc:creator", "cloud", "image", "icon", "logo", "id", "author",
        "contributor", "category", "dc:subject", "ttl", "skiphours", "skipdays", "rating",
        "sy:updateperiod", "sy:updatefrequency", "sy:updatebase", "feedburner:info",
        "feedburner:emailserviceid", "feedburner:feedburnerhostname", "media:thumbnail", "media:content",
        "media:copyright", "media:keywords", "media:category", "media:credit", "media:rating",
    }
)
# Children allowed inside otherwise ignored or structured elements.
_NESTED: dict[str, frozenset[str]] = {
    "image": frozenset({"title", "url", "link", "width", "height", "description"}),
    "author": frozenset({"name", "email", "uri"}),
    "contributor": frozenset({"name", "email", "uri"}),
    "media:content": frozenset({"media:credit", "media:thumbnail", "media:copyright"}),
    "media:group": frozenset({"media:content", "media:credit", "media:thumbnail"}),
    "skiphours": frozenset({"hour"}),
    "skipdays": frozenset({"day"}),
}
# The root's own attribute names feedparser would act on beyond xml:lang/xml:base.
_BASE_ATTRS = ("base",)
_LANG_ATTR = "lang"

_PARSER_OPTIONS = dict(
    resolve_entities=False, no_network=True, huge_tree=False, load_dtd=False, recover=False,
    remove_comments=True, remove_pis=True, strip_cdata=True,
)
_XML_DECLARATION = re.compile(r"^<\?xml[^>]*?>")
_XML_PI_ENCODING = re.compile(rb"^<\?.*encoding=['\"](.*?)['\"].*\?>")
_PROLOG_DECL = re.compile(rb"<!(?!--)", re.IGNORECASE)
_FIRST_ELEMENT = re.compile(rb"<[A-Za-z_]")
_BOMS = (codecs.BOM_UTF32_BE, codecs.BOM_UTF32_LE, codecs.BOM_UTF16_BE, codecs.BOM_UTF16_LE)
_XML_TYPES = frozenset({"application/xml", "application/xml-dtd", "application/xml-external-parsed-entity"})
_TEXT_XML_TYPES = frozenset({"text/xml", "text/xml-external-parsed-entity"})
_SAFE_URI_SCHEMES = frozenset({"http", "https"})
_URI_FIXER = re.compile("^([A-Za-z][A-Za-z0-9+-.]*://)(/*)(.*?)")
_HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
# Namespaces that make feedparser call a document RSS 1.0/0.90 on sight.
_VERSION_NAMESPACES = frozenset({"http://purl.org/rss/1.0/", "http://my.netscape.com/rdf/simple/0.9/"})

# HTML vouching: a tag with well-formed attributes; an entity or char ref.
_HTML_TAG = re.compile(
    r"<(/?)([A-Za-z][A-Za-z0-9]*)"
    r"((?:\s+[^\s\"'>/=<]+(?:\s*=\s*(?:\"[^\"<]*\"|'[^'<]*'|[^\s\"'=<>`]+))?)*)\s*/?>"
)
_HTML_REF = re.compile(r"&(?:#[0-9]{1,7};|#[xX][0-9a-fA-F]{1,6};|([A-Za-z][A-Za-z0-9]{0,31});)")
# feedparser's looks_like_html, term for term.
_CLOSE_TAG = re.compile(r"</(\w+)>")
_ANY_REF = re.compile(r"&#?\w+;")
_TAG_NAMES = re.compile(r"</?(\w+)")
_NAMED_REFS = re.compile(r"&(\w+);")
# feedparser's fix for `?a=1&b;=2` in links.
_LINK_REF = re.compile("&([A-Za-z0-9_]+);")
# feedparser maps C1 code points to what windows-1252 means by those bytes.
_CP1252: dict[int, str] = {}
for _code in range(0x80, 0xA0):
    try:
        _CP1252[_code] = bytes([_code]).decode("cp1252")
    except UnicodeDecodeError:
        pass


def parse_fast(
    body: bytes, *, url: str, headers: Mapping[str, str] | None = None, parse_date: DateParser
) -> ParsedFeed | None:
    """The feed in ``body``, or ``None`` when the fast path cannot vouch for it.

    Same inputs as :func:`monitor.reader.parse.parse_feed` plus ``parse_date``, which
    turns a date string as found in the feed into an aware UTC datetime (or
    None) exactly as the feedparser path does. Never raises on bad input:
    everything it does not handle is a refusal, and the caller falls back.
    """
    try:
        return _parse(body, url, {k.lower(): v for k, v in (headers or {}).items()}, parse_date)
    except _Refuse:
        return None


def refusal(
    body: bytes, *, url: str, headers: Mapping[str, str] | None = None, parse_date: DateParser
) -> str | None:
    """Why :func:`parse_fast` refuses ``body`` (``None`` when it does not)."""
    try:
        _parse(body, url, {k.lower(): v for k, v in (headers or {}).items()}, parse_date)
    except _Refuse as exc:
        return str(exc)
    return None


# ---- bytes to a tree ----


def _parse(body: bytes, url: str, headers: dict[str, str], parse_date: DateParser) -> ParsedFeed:
    base = headers.get("content-location") or url
    if not _is_stable_base(base):
        raise _Refuse(f"base URL {base!r} is not a plain absolute http(s) URL")
    root = _tree(_utf8_document(body, headers))
    lang = headers.get("content-language") or None
    reader = _Reader(base, lang, parse_date)
    if root.tag == "rss":
        return reader.rss(root)
    if root.tag == f"{{{_ATOM}}}feed":
        return reader.atom(root)
    raise _Refuse(f"root element {root.tag!r} is not RSS 2.0 or Atom 1.0")


def _utf8_document(body: bytes, headers: dict[str, str]) -> bytes:
    """The body as UTF-8 with a UTF-8 declaration, decoded the way feedparser
    decodes it; refuses wherever feedparser would guess or complain."""
    if body.startswith(_BOMS):
        raise _Refuse("UTF-16/32 byte order mark")
    bom = body.startswith(codecs.BOM_UTF8)
    data = body[3:] if bom else body
    declared = _XML_PI_ENCODING.match(data)
    xml_encoding = declared.group(1).decode("ascii", "replace").lower() if declared else ""
    mime, _, params = headers.get("content-type", "").partition(";")
    mime = mime.strip()
    http_encoding = _charset(params)
    if mime in _XML_TYPES or (mime.startswith("application/") and mime.endswith("+xml")):
        encoding = http_encoding or xml_encoding or "utf-8"
    elif mime in _TEXT_XML_TYPES or (mime.startswith("text/") and mime.endswith("+xml")):
        encoding = http_encoding or "us-ascii"
    else:
        raise _Refuse(f"media type {mime!r} is not an XML type (feedparser flags it)")
    if encoding.lower() == "gb2312":
        raise _Refuse("gb2312 (feedparser reads it as gb18030)")
    if bom and _codec(encoding) != "utf-8":
        raise _Refuse(f"UTF-8 byte order mark on a body declared {encoding}")
    if http_encoding and xml_encoding and _codec(xml_encoding) != _codec(http_encoding):
        raise _Refuse(f"HTTP charset {http_encoding!r} disagrees with the declared {xml_encoding!r}")
    try:
        text = data.decode(encoding)
    except (UnicodeDecodeError, LookupError) as exc:
        raise _Refuse(f"body does not decode as {encoding}: {exc}") from None
    if _XML_DECLARATION.search(text):
        text = _XML_DECLARATION.sub("<?xml version='1.0' encoding='utf-8'?>", text)
    return text.encode("utf-8")


def _charset(params: str) -> str:
    for chunk in params.split(";"):
        key, _, value = chunk.partition("=")
        if key.strip().lower() == "charset":
            return value.strip().strip("\"'")
    return ""


def _codec(name: str) -> str | None:
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


def _tree(document: bytes) -> etree._Element:
    first = _FIRST_ELEMENT.search(document)
    prolog = document[: first.start()] if first else document
    if _PROLOG_DECL.search(prolog):
        raise _Refuse("DOCTYPE or other declaration in the prolog")
    try:
        root = etree.fromstring(document, etree.XMLParser(**_PARSER_OPTIONS))
    except (etree.XMLSyntaxError, ValueError) as exc:
        raise _Refuse(f"not well-formed XML: {exc}") from None
    tree = root.getroottree()
    if tree.docinfo.internalDTD is not None or tree.docinfo.doctype:
        raise _Refuse("document type declaration")
    return root


def _is_stable_base(base: str) -> bool:
    try:
        parts = urlsplit(base)
    except ValueError:
        return False
    return parts.scheme in _SAFE_URI_SCHEMES and bool(parts.netloc) and _urljoin(base, base) == base


def _urljoin(base: str, uri: str) -> str:
    """feedparser's URL join (extra slashes after ``scheme://`` dropped)."""
    uri = _URI_FIXER.sub(r"\1\3", uri)
    try:
        return urljoin(base, uri)
    except ValueError:
        return ""


# ---- text as feedparser hands it on ----


def _finish(value: str) -> str:
    """feedparser's last steps on every text value: undo UTF-8 read as
    Latin-1, then map C1 code points to their windows-1252 meaning."""
    if not value.isascii():
        try:
            value = value.encode("iso-8859-1").decode("utf-8")
        except (UnicodeEncodeError, UnicodeDecodeError):
            pass
        value = value.translate(_CP1252)
    return value


def _vouch_html(fragment: str, where: str) -> str:
    """``fragment`` when its visible text survives feedparser's sanitizer
    unchanged (see the module docstring); else a refusal."""
    if "<" not in fragment and "&" not in fragment:
        return fragment
    pos = 0
    while True:
        lt = fragment.find("<", pos)
        _vouch_html_text(fragment[pos : lt if lt >= 0 else len(fragment)], where)
        if lt < 0:
            return fragment
        tag = _HTML_TAG.match(fragment, lt)
        if tag is None:
            raise _Refuse(f"{where}: markup the sanitizer may read differently near {fragment[lt:lt + 20]!r}")
        if tag.group(2).lower() not in SAFE_TAGS:
            raise _Refuse(f"{where}: <{tag.group(2)}> is not a tag both paths read alike")
        pos = tag.end()


def _vouch_html_text(text: str, where: str) -> None:
    if "&" not in text:
        return
    count = text.count("&")
    found = 0
    for ref in _HTML_REF.finditer(text):
        name = ref.group(1)
        if name is not None and name not in name2codepoint and name != "apos":
            raise _Refuse(f"{where}: unknown entity &{name};")
        found += 1
    if found != count:
        raise _Refuse(f"{where}: a bare '&' in HTML")


def _looks_like_html(value: str, where: str) -> bool:
    """feedparser's guess for RSS plain-text fields; refuses when the answer
    depends on its full list of acceptable tags."""
    if not (_CLOSE_TAG.search(value) or _ANY_REF.search(value)):
        return False
    for name in _TAG_NAMES.findall(value):
        if name.lower() not in SAFE_TAGS:
            raise _Refuse(f"{where}: cannot tell whether feedparser reads it as HTML (<{name}>)")
    return not any(e not in entitydefs for e in _NAMED_REFS.findall(value))


def _as_html(value: str, content_type: str, where: str) -> str:
    if content_type == "text/plain":
        return html.escape(value, quote=False)
    return _vouch_html(value, where)


# ---- the tree ----


class _Entry:
    """What one item/entry said, in feedparser's terms."""

    def __init__(self) -> None:
        self.guid: str | None = None
        self.link: str | None = None
        self.link_set = False
        self.title: str | None = None
        self.summary: str | None = None
        self.content: str | None = None
        self.published: datetime | None = None
        self.updated: datetime | None = None
        self.author: str | None = None
        self.language: str | None = None
        self.has_text = False  # a title, summary or content element: it carries the scope's language
        self.tags: list[tuple[str | None, str | None, str | None]] = []


class _Reader:
    """One document's walk; ``lang`` is the language in scope of its text."""

    def __init__(self, base: str, lang: str | None, parse_date: DateParser) -> None:
        self.base = base
        self.lang = lang
        self.feed_language = lang.replace("_", "-") if lang else None
        self.parse_date = parse_date

    # -- shared --

    def _root_scope(self, root: etree._Element) -> None:
        for key in root.attrib:
            if key == _XML_LANG or key == _LANG_ATTR:
                continue
            if key == _XML_BASE or key in _BASE_ATTRS:
                continue
            if key.startswith("{"):
                raise _Refuse(f"namespaced attribute {key!r} on the root")
        lang = root.get(_XML_LANG, root.get(_LANG_ATTR))
        if lang == "":
            self.lang = None
        elif lang is not None:
            self.lang = lang
            self.feed_language = lang.replace("_", "-")
        base = root.get(_XML_BASE, root.get("base"))
        if base:
            joined = _urljoin(self.base, base)
            if not _is_stable_base(joined):
                raise _Refuse(f"xml:base {base!r} does not give a plain http(s) base")
            self.base = joined

    def _name(self, el: etree._Element) -> str:
        """feedparser's name for an element (``dc:creator``, ``link``, ...)."""
        tag = el.tag
        name = _NAMES.get(tag) if isinstance(tag, str) else None
        if name is None:
            name = _element_name(tag)
        if el.attrib:
            for key in el.attrib:
                if key.startswith("{") or key.lower() in (_LANG_ATTR, *_BASE_ATTRS):
                    raise _Refuse(f"attribute {key!r} on <{name}> (namespaced, language or base)")
        return name

    def _text(self, el: etree._Element, name: str) -> str:
        """The element's text as feedparser pops it (stripped, before _finish)."""
        if len(el):
            raise _Refuse(f"<{name}> holds child elements")
        return (el.text or "").strip()

    def _check_nested(self, el: etree._Element, name: str) -> None:
        allowed = _NESTED.get(name, frozenset())
        for child in el:
            child_name = self._name(child)
            if child_name not in allowed:
                raise _Refuse(f"<{child_name}> inside <{name}>")
            self._check_nested(child, child_name)

    def _date(self, el: etree._Element, name: str) -> datetime | None:
        return self.parse_date(_finish(self._text(el, name)))

    def _resolve(self, value: str) -> str:
        return _urljoin(self.base, value)

    def _link_element(self, el: etree._Element, name: str, *, entry: bool) -> tuple[bool, str | None]:
        """(whether it sets the link, the link) for a ``link`` element,
        RSS-style (text) or Atom-style (``href``)."""
        attrs = _attrs(el)
        href = attrs.get("url", attrs.get("uri", attrs.get("href")))
        if not href:
            text = self._text(el, name)
            text = _finish(self._resolve(text) if text else "")
            if entry:
                text = text.replace("&amp;", "&")
            return True, _LINK_REF.sub(r"&\g<1>", text)
        if len(el):
            raise _Refuse("<link> with child elements")
        rel = attrs.get("rel", "alternate").lower()
        default_type = "application/atom+xml" if rel == "self" else "text/html"
        content_type = _map_type(attrs.get("type", default_type).lower())
        if rel == "alternate" and content_type in _HTML_TYPES:
            return True, self._resolve(href) if href else href
        return False, None

    def _text_construct(self, el: etree._Element, name: str, default: str, *, guess: bool) -> tuple[str, str]:
        """(value, content type) of a title/summary/content element."""
        attrs = _attrs(el)
        if "mode" in attrs or "src" in attrs:
            raise _Refuse(f"<{name}> with mode or src")
        content_type = _map_type(attrs.get("type", default).lower())
        if content_type not in ("text/plain", "text/html"):
            raise _Refuse(f"<{name}> of type {content_type!r}")
        value = self._text(el, name)
        if guess and content_type == "text/plain" and _looks_like_html(value, name):
            content_type = "text/html"
        return _finish(value), content_type

    # -- RSS 2.0 --

    def rss(self, root: etree._Element) -> ParsedFeed:
        version = root.get("version", "")
        if not version.startswith("2."):
            raise _Refuse(f"RSS version {version!r}")
        self._root_scope(root)
        channels = list(root)
        if len(channels) != 1 or channels[0].tag != "channel" or channels[0].attrib:
            raise _Refuse("RSS root without exactly one plain <channel>")
        title = link = ttl = None
        seen: set[str] = set()
        entries: list[RawEntry] = []
        for el in channels[0]:
            name = self._name(el)
            if name == "item":
                if el.attrib:
                    raise _Refuse("attributes on <item>")
                entries.append(self._rss_item(el))
                continue
            if name in ("title", "ttl") or name in _LANGUAGE:
                if name in seen:
                    raise _Refuse(f"<{name}> twice in the channel")
                seen.add(name)
            if name == "title":
                value, content_type = self._text_construct(el, "title", "text/plain", guess=True)
                title = html_to_text(_as_html(value, content_type, "channel title")) or None
            elif name == "link":
                sets, value = self._link_element(el, name, entry=False)
                if sets:
                    link = value
            elif name in _LANGUAGE:
                self.feed_language = _finish(self._text(el, name))
            elif name == "ttl":
                ttl = _finish(self._text(el, name))
            elif name in _IGNORED_FEED:
                self._check_nested(el, name)
            else:
                raise _Refuse(f"<{name}> in the channel")
        return self._feed(title, link, ttl, entries)

    def _rss_item(self, item: etree._Element) -> RawEntry:
        e = _Entry()
        seen: set[str] = set()
        for el in item:
            name = self._name(el)
            key = "author" if name in _AUTHOR else "language" if name in _LANGUAGE else name
            if key in ("title", "description", "content:encoded", "guid", "link", "author", "language"):
                if key in seen:
                    raise _Refuse(f"<{name}> twice in an item")
                seen.add(key)
            if name == "title":
                value, content_type = self._text_construct(el, name, "text/plain", guess=True)
                e.title = _as_html(value, content_type, "item title")
                e.has_text = True
            elif name == "description":
                value, content_type = self._text_construct(el, name, "text/html", guess=True)
                e.summary = _as_html(value, content_type, "item description")
                e.has_text = True
            elif name == "content:encoded":
                value, content_type = self._text_construct(el, name, "text/html", guess=False)
                e.content = _as_html(value, content_type, "item content")
                e.has_text = True
            elif name == "guid":
                self._guid(e, el, name, permalink=_attrs(el).get("ispermalink", "true") == "true")
            elif name == "link":
                sets, value = self._link_element(el, name, entry=True)
                if sets:
                    e.link, e.link_set = value, True
            else:
                self._common_entry_element(e, el, name)
        if e.summary is None and e.content is not None and "description" not in seen:
            e.summary = e.content
        return self._raw(e)

    # -- Atom 1.0 --

    def atom(self, root: etree._Element) -> ParsedFeed:
        if any(uri.lower() in _VERSION_NAMESPACES for uri in root.nsmap.values()):
            raise _Refuse("an Atom feed declaring an RSS namespace (feedparser may take it for RSS)")
        self._root_scope(root)
        title = None
        link_value: str | None = None
        link_set = False
        id_link: str | None = None
        seen: set[str] = set()
        entries: list[RawEntry] = []
        for el in root:
            name = self._name(el)
            if name == "entry":
                if el.attrib:
                    raise _Refuse("attributes on <entry>")
                entries.append(self._atom_entry(el))
                continue
            if name == "title":
                if name in seen:
                    raise _Refuse("<title> twice in the feed")
                seen.add(name)
                value, content_type = self._text_construct(el, name, "text/plain", guess=False)
                title = html_to_text(_as_html(value, content_type, "feed title")) or None
            elif name == "link":
                sets, value = self._link_element(el, name, entry=False)
                if sets:
                    link_value, link_set = value, True
            elif name == "id":
                if name in seen:
                    raise _Refuse("<id> twice in the feed")
                seen.add(name)
                if not link_set:
                    id_link = _finish(self._resolve(self._text(el, name)) if self._text(el, name) else "")
            elif name in _IGNORED_FEED:
                self._check_nested(el, name)
            else:
                raise _Refuse(f"<{name}> in the feed")
        link = link_value if link_set else id_link
        return self._feed(title, link, None, entries)

    def _atom_entry(self, entry: etree._Element) -> RawEntry:
        e = _Entry()
        seen: set[str] = set()
        for el in entry:
            name = self._name(el)
            key = "author" if name in _AUTHOR else "language" if name in _LANGUAGE else name
            if key in ("title", "summary", "content", "id", "author", "language"):
                if key in seen:
                    raise _Refuse(f"<{name}> twice in an entry")
                seen.add(key)
            if name == "title":
                value, content_type = self._text_construct(el, name, "text/plain", guess=False)
                e.title = _as_html(value, content_type, "entry title")
                e.has_text = True
            elif name == "summary":
                value, content_type = self._text_construct(el, name, "text/plain", guess=False)
                e.summary = _as_html(value, content_type, "entry summary")
                e.has_text = True
            elif name == "content":
                value, content_type = self._text_construct(el, name, "text/plain", guess=False)
                e.content = _as_html(value, content_type, "entry content")
                e.has_text = True
                if "summary" not in seen:
                    # feedparser copies the raw value, with no type: HTML as is.
                    e.summary = value if content_type == "text/plain" else e.content
                    seen.add("summary-from-content")
            elif name == "id":
                self._guid(e, el, name, permalink=True)
            elif name == "link":
                sets, value = self._link_element(el, name, entry=True)
                if sets:
                    e.link, e.link_set = value, True
            elif name == "author":
                e.author = self._atom_author(el)
            else:
                self._common_entry_element(e, el, name)
        return self._raw(e)

    def _atom_author(self, el: etree._Element) -> str | None:
        parts: dict[str, str] = {}
        for child in el:
            child_name = self._name(child)
            if child_name not in ("name", "email", "uri") or child_name in parts:
                raise _Refuse(f"<{child_name}> in an Atom author")
            parts[child_name] = self._text(child, child_name)  # pushed without text handling: raw
        if (el.text or "").strip():
            raise _Refuse("text directly inside an Atom author")
        value = parts.get("name") or parts.get("email")
        return html.escape(value, quote=False) if value else None

    # -- entries --

    def _guid(self, e: _Entry, el: etree._Element, name: str, *, permalink: bool) -> None:
        value = self._text(el, name)
        if permalink and value:
            value = self._resolve(value)
        value = _finish(value)
        e.guid = value.strip() or None
        if permalink and not e.link_set:
            e.link = value

    def _common_entry_element(self, e: _Entry, el: etree._Element, name: str) -> None:
        if name in _PUBLISHED:
            e.published = self._date(el, name)
        elif name in _UPDATED:
            e.updated = self._date(el, name)
        elif name in _AUTHOR:
            author = _finish(self._text(el, name))
            if "@" in author:
                raise _Refuse("an author with an e-mail address")
            e.author = html.escape(author, quote=False) if author else None
        elif name in _LANGUAGE:
            e.language = _finish(self._text(el, name))
        elif name in _CATEGORY:
            self._category(e, el, name)
        elif name in _IGNORED_ENTRY:
            self._check_nested(el, name)
        else:
            raise _Refuse(f"<{name}> in an entry")

    def _category(self, e: _Entry, el: etree._Element, name: str) -> None:
        """feedparser's _start_category/_end_category, tuple for dict."""
        attrs = _attrs(el)
        term, scheme, label = attrs.get("term"), attrs.get("scheme", attrs.get("domain")), attrs.get("label")
        if term or scheme or label:
            if (term, scheme, label) not in e.tags:
                e.tags.append((term, scheme, label))
        value = _finish(self._text(el, name))
        if not value:
            return
        if e.tags and not e.tags[-1][0]:
            last = e.tags[-1]
            e.tags[-1] = (value, last[1], last[2])
        elif (value, None, None) not in e.tags:
            e.tags.append((value, None, None))

    def _raw(self, e: _Entry) -> RawEntry:
        language = e.language or (self.lang if e.has_text else None)
        return RawEntry(
            guid=e.guid,
            link=(e.link or "").strip() or None,
            title=e.title or None,
            summary=e.summary or None,
            content=e.content or None,
            published=e.published,
            updated=e.updated,
            author=e.author,
            language=_language(language) or _language(self.feed_language),
            tags=tuple(t[0] for t in e.tags if t[0]),
        )

    def _feed(self, title: str | None, link: str | None, ttl: str | None, entries: list[RawEntry]) -> ParsedFeed:
        if not entries and not title:
            raise _Refuse("neither entries nor a title (the feedparser path explains)")
        return ParsedFeed(
            title=title,
            link=link or None,
            language=_language(self.feed_language),
            entries=tuple(entries),
            ttl_minutes=_ttl(ttl),
            bozo=None,
        )


_NAMES: dict[str, str] = {}  # lxml tag -> feedparser's name, filled as met (bounded: known namespaces only)


def _element_name(tag: object) -> str:
    if not isinstance(tag, str):
        raise _Refuse("entity reference left in the tree")
    if tag.startswith("{"):
        ns, _, local = tag[1:].partition("}")
    else:
        ns, local = "", tag
    prefix = _PREFIXES.get(ns.lower())
    if prefix is None:
        raise _Refuse(f"element {tag!r} in a namespace the fast path does not read")
    local = local.lower()
    name = f"{prefix}:{local}" if prefix else local
    if len(_NAMES) < 4096:
        _NAMES[tag] = name
    return name


def _attrs(el: etree._Element) -> dict[str, str]:
    """Attributes as feedparser sees them: names lower-cased."""
    return {key.lower(): value for key, value in el.attrib.items()}


def _map_type(content_type: str) -> str:
    if content_type in ("text", "plain"):
        return "text/plain"
    if content_type == "html":
        return "text/html"
    if content_type == "xhtml":
        return "application/xhtml+xml"
    return content_type


def _language(value: str | None) -> str | None:
    if not value:
        return None
    return value.strip().replace("_", "-").lower() or None


def _ttl(value: str | None) -> int | None:
    try:
        minutes = int(str(value).strip())
    except (TypeError, ValueError):
        return None
    return minutes if 0 < minutes <= 7 * 24 * 60 else None
