"""OPML import and export, the format every feed reader speaks.

Import appends ``[[feeds]]`` tables to feeds.toml as text, so the operator's
comments and layout stay; export prints OPML 2.0.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from xml.etree import ElementTree as ET

from monitor.config import FeedConfig, load_toml
from monitor.errors import ConfigError, Problem


@dataclass(frozen=True)
class OpmlFeed:
    name: str
    url: str
    category: str | None = None


def read_opml(data: bytes, *, source: str = "OPML") -> list[OpmlFeed]:
    """Every ``outline`` with an ``xmlUrl``; nested outlines give their text as category.

    Raises ConfigError for a file that is not OPML. DTDs and entities are refused.
    """
    if b"<!DOCTYPE" in data[:2048].upper() or b"<!ENTITY" in data.upper():
        raise ConfigError([Problem(source, "OPML with a DTD or entities is refused")])
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        line, col = exc.position
        raise ConfigError([Problem(source, f"not valid XML: {exc}", line=line, column=col)]) from None
    if root.tag.lower() != "opml":
        raise ConfigError([Problem(source, f"not OPML (root element is <{root.tag}>)")])
    found: list[OpmlFeed] = []

    def walk(node: ET.Element, category: str | None) -> None:
        for child in node.findall("outline"):
            url = (child.get("xmlUrl") or child.get("xmlurl") or "").strip()
            text = (child.get("title") or child.get("text") or "").strip()
            if url:
                found.append(OpmlFeed(name=text or url, url=url, category=category))
            walk(child, text or category if not url else category)

    body = root.find("body")
    if body is not None:
        walk(body, None)
    return found


def _toml_string(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    escaped = re.sub(r"[\x00-\x1f\x7f]", lambda m: f"\\u{ord(m.group()):04x}", escaped)
    return f'"{escaped}"'


def append_feeds(config_path: Path, found: Sequence[OpmlFeed], *, tags: Sequence[str] = ()) -> tuple[int, int]:
    """Append the feeds not yet in ``config_path`` (by URL); names are made unique. Returns (added, skipped)."""
    data, text, problems = load_toml(config_path) if config_path.exists() else ({}, "", [])
    if data is None:
        raise ConfigError(problems)
    existing = data.get("feeds", []) if isinstance(data.get("feeds"), list) else []
    urls = {f.get("url") for f in existing if isinstance(f, dict)}
    names = {f.get("name") for f in existing if isinstance(f, dict)}
    chunks: list[str] = []
    skipped = 0
    for feed in found:
        if feed.url in urls:
            skipped += 1
            continue
        name = feed.name
        n = 2
        while name in names:
            name = f"{feed.name} ({n})"
            n += 1
        names.add(name)
        urls.add(feed.url)
        feed_tags = list(tags) + ([feed.category] if feed.category else [])
        lines = ["[[feeds]]", f"name = {_toml_string(name)}", f"url = {_toml_string(feed.url)}"]
        if feed_tags:
            lines.append("tags = [" + ", ".join(_toml_string(t) for t in feed_tags) + "]")
        chunks.append("\n".join(lines))
    if chunks:
        prefix = "" if not text or text.endswith("\n\n") else ("\n" if text.endswith("\n") else "\n\n")
        with config_path.open("a", encoding="utf-8") as fh:
            fh.write(prefix + "\n\n".join(chunks) + "\n")
    return len(chunks), skipped


def write_opml(feeds: Sequence[FeedConfig], *, title: str = "Media monitor feeds") -> str:
    """OPML 2.0 with one outline per feed; tags go into the ``category`` attribute."""
    root = ET.Element("opml", version="2.0")
    head = ET.SubElement(root, "head")
    ET.SubElement(head, "title").text = title
    ET.SubElement(head, "dateCreated").text = datetime.now(timezone.utc).strftime("%a, %d %b %Y %H:%M:%S GMT")
    body = ET.SubElement(root, "body")
    for f in feeds:
        attrs = {"type": "rss", "text": f.name, "title": f.name, "xmlUrl": f.url}
        if f.tags:
            attrs["category"] = ",".join(f.tags)
        ET.SubElement(body, "outline", attrs)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
