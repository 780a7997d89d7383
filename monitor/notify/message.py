"""Rendering an alert as a Slack message: Block Kit blocks plus fallback text.

Every piece of feed text is untrusted. Slack treats ``&``, ``<`` and ``>`` as
control characters in every text object and in a message's ``text``;
``escape_mrkdwn`` turns them into the three entities Slack decodes for
display, so no feed text can produce a mention (``<!channel>``, ``<@U…>``), a
channel link (``<#C…>``) or a forged link (``<url|label>``). Every mrkdwn
object is sent with ``verbatim: true`` so Slack does not auto-link bare
``@here`` or URLs in feed text either. The only markup in a message is ours:
bold around matched terms, the date token and the link to the story's
canonical http(s) URL.

Lengths are counted in UTF-16 code units, never fewer than code points, so a
text that fits here fits Slack's limits (header 150, section 3,000, 50 blocks)
however Slack counts.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime, timezone
from urllib.parse import urlsplit

from slack_sdk.models.blocks import (
    ContextBlock,
    HeaderBlock,
    MarkdownTextObject,
    PlainTextObject,
    SectionBlock,
)

from monitor.model import Alert

HEADER_LIMIT = 150
SECTION_LIMIT = 3000
CONTEXT_LIMIT = 2000
SUMMARY_LIMIT = 500
TEXT_LIMIT = 3000  # our cap on a message's top-level text (Slack truncates at 40,000)
MAX_TERMS = 20
MAX_ALSO_SEEN = 20

SEVERITY_EMOJI = {"high": ":red_circle:", "normal": ":large_orange_circle:", "low": ":white_circle:"}

ELLIPSIS = "…"
ZWJ = "\u200d"

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_WHITESPACE_RUN = re.compile(r"\s+")
_BLANK_LINES = re.compile(r"\n\s*\n\s*\n+")
_LONE_SURROGATE = re.compile(r"[\ud800-\udfff]")


def escape_mrkdwn(text: str) -> str:
    """Escape Slack's control characters: ``&`` → ``&amp;``, ``<`` → ``&lt;``, ``>`` → ``&gt;``."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def neutralise_formatting(text: str) -> str:
    """Replace mrkdwn formatting characters (``* _ ~ ```) by full-width look-alikes.

    Used for text wrapped in our own formatting (``*term*``) so it cannot
    close or open bold, italics, strike-through or code early.
    """
    return text.translate(str.maketrans({"*": "＊", "_": "＿", "~": "～", "`": "｀"}))


def clean(text: str | None, *, single_line: bool = False) -> str:
    """Return ``text`` safe to serialise and show.

    Split surrogate pairs are rejoined and lone surrogates become U+FFFD; control characters other than newline and
    tab are dropped (tabs become spaces); more than one blank line becomes one. With ``single_line`` every run of
    whitespace, newlines included, becomes one space. Leading and trailing
    whitespace is stripped.
    """
    if not text:
        return ""
    if _LONE_SURROGATE.search(text):  # rejoin split pairs, replace the truly lone ones
        text = text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    text = _CONTROL.sub("", text.replace("\r\n", "\n").replace("\r", "\n").replace("\t", " "))
    if single_line:
        text = _WHITESPACE_RUN.sub(" ", text)
    else:
        text = _BLANK_LINES.sub("\n\n", text)
    return text.strip()


def utf16_len(text: str) -> int:
    """Length of ``text`` in UTF-16 code units (astral characters count 2)."""
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


def _extends(ch: str) -> bool:
    """True when ``ch`` belongs to the grapheme before it (never starts one)."""
    cp = ord(ch)
    return (
        unicodedata.category(ch) in ("Mn", "Me", "Mc")
        or ch == ZWJ
        or 0xFE00 <= cp <= 0xFE0F  # variation selectors
        or 0xE0100 <= cp <= 0xE01EF
        or 0x1F3FB <= cp <= 0x1F3FF  # skin-tone modifiers
        or 0xE0020 <= cp <= 0xE007F  # tag characters (flag sequences)
        or 0x1160 <= cp <= 0x11FF  # Hangul jamo vowels and trailing consonants
    )


def _is_regional_indicator(ch: str) -> bool:
    return 0x1F1E6 <= ord(ch) <= 0x1F1FF


def is_grapheme_boundary(text: str, i: int) -> bool:
    """True when cutting ``text`` before index ``i`` keeps every grapheme whole.

    Covers what news text carries: combining marks, ZWJ emoji sequences,
    variation selectors, skin tones, flags (regional-indicator pairs and tag
    sequences), CR LF and Hangul jamo. Not a full UAX #29 implementation.
    """
    if i <= 0 or i >= len(text):
        return True
    before, after = text[i - 1], text[i]
    if _extends(after) or before == ZWJ:
        return False
    if before == "\r" and after == "\n":
        return False
    if "\ud800" <= before <= "\udbff":
        return False
    if _is_regional_indicator(before) and _is_regional_indicator(after):
        run = 0
        j = i - 1
        while j >= 0 and _is_regional_indicator(text[j]):
            run += 1
            j -= 1
        return run % 2 == 0
    return True


def _fits(text: str, limit: int, *, escaped: bool) -> int:
    """Largest prefix length of ``text`` whose (escaped) UTF-16 length is ≤ ``limit``."""
    used = 0
    for i, ch in enumerate(text):
        if escaped and ch in "&<>":
            size = 5 if ch == "&" else 4
        else:
            size = 2 if ord(ch) > 0xFFFF else 1
        if used + size > limit:
            return i
        used += size
    return len(text)


def trim(text: str, limit: int, *, escaped: bool = False, word_slack: int = 20) -> str:
    """Return ``text`` cut to at most ``limit`` UTF-16 units, ending in "…" when cut.

    The cut never splits a grapheme; it falls back to the last space within
    ``word_slack`` characters when there is one. With ``escaped`` the result is
    passed through ``escape_mrkdwn`` and the limit applies to the escaped text.
    """
    if limit <= 0:
        return ""
    whole = _fits(text, limit, escaped=escaped)
    if whole == len(text):
        return escape_mrkdwn(text) if escaped else text
    cut = _fits(text, limit - 1, escaped=escaped)  # room for the ellipsis
    while cut > 0 and not is_grapheme_boundary(text, cut):
        cut -= 1
    space = text.rfind(" ", max(0, cut - word_slack), cut + 1)
    if space > 0 and is_grapheme_boundary(text, space):
        cut = space
    kept = text[:cut].rstrip()
    return (escape_mrkdwn(kept) if escaped else kept) + ELLIPSIS


def severity_label(severity: str) -> str:
    """``":red_circle: high"`` and the like; unknown severities get a white circle."""
    sev = clean(severity, single_line=True) or "normal"
    return f"{SEVERITY_EMOJI.get(sev, ':white_circle:')} {escape_mrkdwn(sev)}"


def link_url(url: str | None) -> str | None:
    """Return ``url`` ready to sit inside ``<…|label>``, or None when it must not be linked.

    Only absolute http(s) URLs with a host are linked. Whitespace, ``<``,
    ``>`` and ``|`` are percent-encoded and ``&`` becomes ``&amp;``, so the
    URL cannot end the link early or smuggle its own label.
    """
    url = clean(url, single_line=True)
    if not url:
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    encoded = url  # existing %XX escapes are kept as they are
    for ch, code in ((" ", "%20"), ("<", "%3C"), (">", "%3E"), ("|", "%7C"), ('"', "%22")):
        encoded = encoded.replace(ch, code)
    return encoded.replace("&", "&amp;")


def date_token(when: datetime) -> str:
    """Slack's localised date token with a UTC fallback.

    ``<!date^UNIX^{date_short_pretty} {time}|2024-03-01 12:00 UTC>``: readers
    see the time in their own zone; clients that cannot render it show the
    UTC fallback. Naive datetimes are taken as UTC.
    """
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    when = when.astimezone(timezone.utc)
    fallback = when.strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{int(when.timestamp())}^{{date_short_pretty}} {{time}}|{fallback}>"


def terms_text(terms: tuple[str, ...]) -> str:
    """``*Pentagon*, *airstrikes*``: matched terms in bold, escaped and neutralised."""
    shown = [t for t in (clean(t, single_line=True) for t in terms) if t][:MAX_TERMS]
    parts = [f"*{trim(neutralise_formatting(t), 100, escaped=True)}*" for t in shown]
    text = ", ".join(parts)
    hidden = len([t for t in terms if clean(t)]) - len(shown)
    if hidden > 0:
        text += f" and {hidden} more"
    return text


def _context_line(alert: Alert) -> str:
    pieces = [
        severity_label(alert.severity),
        trim(clean(alert.rule_name, single_line=True) or alert.rule_id, 200, escaped=True),
        trim(clean(alert.source, single_line=True), 200, escaped=True),
        date_token(alert.published),
    ]
    return " · ".join(p for p in pieces if p)


def _mrkdwn(text: str) -> MarkdownTextObject:
    return MarkdownTextObject(text=text, verbatim=True)


def build_blocks(alert: Alert) -> list[dict]:
    """Render ``alert`` as Block Kit blocks (dicts ready for ``chat.postMessage``).

    Layout: a header with the story title; a context line with severity,
    rule, source and published time; the trimmed summary; the matched terms
    and the link to the story; the other sources that carried it. Every block
    respects Slack's limits whatever the feed sent (titles of any length, RTL
    text, emoji sequences, markup).
    """
    title = trim(clean(alert.title, single_line=True) or "(untitled story)", HEADER_LIMIT, escaped=True)
    blocks: list = [
        HeaderBlock(text=PlainTextObject(text=title, emoji=False)),
        ContextBlock(elements=[_mrkdwn(trim(_context_line(alert), CONTEXT_LIMIT))]),
    ]
    summary = clean(alert.summary)
    if summary:
        blocks.append(SectionBlock(text=_mrkdwn(trim(trim(summary, SUMMARY_LIMIT), SECTION_LIMIT, escaped=True))))
    lines = []
    terms = terms_text(alert.terms)
    if terms:
        lines.append(f"Matched: {terms}")
    if alert.similarity is not None:
        example = escape_mrkdwn(trim(neutralise_formatting(clean(alert.example or "", single_line=True)), 300))
        lines.append(f"Similar ({alert.similarity:.2f}) to example: {example}")
    url = link_url(alert.url)
    if url:
        lines.append(f"<{url}|Read the story>")
    if lines:
        text = "\n".join(lines)
        if utf16_len(text) > SECTION_LIMIT:  # only a monstrous URL gets here: drop the link
            text = trim(f"Matched: {terms}", SECTION_LIMIT)
        blocks.append(SectionBlock(text=_mrkdwn(text)))
    seen = [s for s in (clean(s, single_line=True) for s in alert.also_seen_in) if s]
    if seen:
        names = ", ".join(seen[:MAX_ALSO_SEEN])
        more = f" and {len(seen) - MAX_ALSO_SEEN} more" if len(seen) > MAX_ALSO_SEEN else ""
        blocks.append(ContextBlock(elements=[_mrkdwn(trim(f"Also seen in: {names}", 1000, escaped=True) + more)]))
    return [b.to_dict() for b in blocks]


def fallback_text(alert: Alert) -> str:
    """The message's top-level ``text``: what notifications and screen readers show.

    ``[high] Rule name: Story title (Source)``, escaped, at most ``TEXT_LIMIT``.
    """
    sev = clean(alert.severity, single_line=True) or "normal"
    rule = clean(alert.rule_name, single_line=True) or alert.rule_id
    title = clean(alert.title, single_line=True) or "(untitled story)"
    source = clean(alert.source, single_line=True)
    text = f"[{sev}] {rule}: {trim(title, 300)}" + (f" ({source})" if source else "")
    return trim(text, TEXT_LIMIT, escaped=True)


def text_message(text: str) -> str:
    """Our own mrkdwn line (storm-guard summaries, replies) ready to send as ``text``.

    ``text`` is mrkdwn written by our code: callers escape every piece of
    feed text in it with ``escape_mrkdwn`` and build links with ``link_url``.
    Here it is only cleaned of control characters and cut to ``TEXT_LIMIT``
    without splitting an entity (``&amp;``) or a ``<…>`` construct.
    """
    text = clean(text)
    if not text:
        return "(empty message)"
    if utf16_len(text) <= TEXT_LIMIT:
        return text
    kept = trim(text, TEXT_LIMIT, word_slack=0).removesuffix(ELLIPSIS)
    if kept.rfind("<") > kept.rfind(">"):
        kept = kept[: kept.rfind("<")]
    if kept.rfind("&") > kept.rfind(";"):
        kept = kept[: kept.rfind("&")]
    return kept.rstrip() + ELLIPSIS
