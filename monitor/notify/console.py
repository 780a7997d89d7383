"""The fallback notifier: readable alerts on standard output.

Used when neither a bot token nor a webhook is configured, so a first run
shows what it caught. Feed text is cleaned of control characters (no
terminal escape sequences reach the screen) but not mrkdwn-escaped: this is
plain text for people. Writes are serialised with a lock, so alerts from
several worker threads never interleave.
"""

from __future__ import annotations

import re
import threading
from datetime import timezone
from typing import TextIO

from monitor.model import Alert
from monitor.notify.base import SentRef
from monitor.notify.message import clean, trim

SUMMARY_LIMIT = 300

_LINK = re.compile(r"<([^<>|]+)\|([^<>]*)>")
_BARE = re.compile(r"<([^<>|]+)>")


def mrkdwn_to_plain(text: str) -> str:
    """Our mrkdwn lines as people read them: ``<url|label>`` → ``label (url)``,
    Slack's three entities decoded, control characters dropped."""
    text = _LINK.sub(lambda m: f"{m.group(2)} ({m.group(1)})", text)
    text = _BARE.sub(lambda m: m.group(1), text)
    text = text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    return clean(text, single_line=True)


def format_alert(alert: Alert) -> str:
    """The lines printed for one alert, ending with a blank line.

    ``[high] Rule name: Story title`` then the source and time, the matched
    terms, the link, a trimmed summary, and other sources when there are any.
    """
    published = alert.published
    if published.tzinfo is None:
        published = published.replace(tzinfo=timezone.utc)
    when = published.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    rule = clean(alert.rule_name, single_line=True) or alert.rule_id
    title = clean(alert.title, single_line=True) or "(untitled story)"
    lines = [f"[{clean(alert.severity, single_line=True) or 'normal'}] {rule}: {title}"]
    source = clean(alert.source, single_line=True)
    lines.append("  " + " · ".join(p for p in (source, when) if p))
    terms = [t for t in (clean(t, single_line=True) for t in alert.terms) if t]
    if terms:
        lines.append("  matched: " + ", ".join(terms))
    if alert.similarity is not None:
        lines.append(f"  similar ({alert.similarity:.2f}) to example: {clean(alert.example, single_line=True)}")
    url = clean(alert.url, single_line=True)
    if url:
        lines.append(f"  {url}")
    summary = clean(alert.summary, single_line=True)
    if summary:
        lines.append("  " + trim(summary, SUMMARY_LIMIT))
    seen = [s for s in (clean(s, single_line=True) for s in alert.also_seen_in) if s]
    if seen:
        lines.append("  also seen in: " + ", ".join(seen))
    return "\n".join(lines) + "\n\n"


class ConsoleNotifier:
    """Prints alerts to ``out`` (standard output by default); never fails on content."""

    name = "console"

    def __init__(self, out: TextIO) -> None:
        self._out = out
        self._lock = threading.Lock()

    def _write(self, text: str) -> None:
        with self._lock:
            self._out.write(text)
            self._out.flush()

    def send(self, alert: Alert) -> SentRef:
        """Print ``alert``."""
        self._write(format_alert(alert))
        return SentRef(channel=None, ts=None)

    def send_text(self, channel: str | None, text: str) -> SentRef:
        """Print one line of our mrkdwn as plain text (prefixed by the channel when given)."""
        prefix = f"[{clean(channel, single_line=True)}] " if channel else ""
        self._write(prefix + mrkdwn_to_plain(text) + "\n")
        return SentRef(channel=None, ts=None)

    def reply(self, ref: SentRef, text: str) -> SentRef:
        """Print ``text`` (our mrkdwn, shown plain) as an indented follow-up line."""
        self._write("  ↳ " + mrkdwn_to_plain(text) + "\n")
        return SentRef(channel=None, ts=None)

    def update(self, ref: SentRef, alert: Alert) -> None:
        """Printed lines cannot change: do nothing."""
