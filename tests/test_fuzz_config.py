"""Random input never crashes the edges that read it.

- ``read_config`` on any feeds.toml (random text, random bytes, random
  well-formed TOML of the right shape with wrong values) returns problems and
  never raises;
- ``parse_feed`` on any body raises nothing but ``ParseError``;
- ``normalize`` never raises on what ``parse_feed`` returns.
"""

from __future__ import annotations

import json
import math
import re
import tempfile
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from monitor.config import read_config
from monitor.errors import ParseError, Problem
from monitor.model import Story
from monitor.reader import normalize, parse_feed

SEEN = datetime(2026, 11, 20, 9, 0, tzinfo=timezone.utc)
FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=40)

# ---- a tiny TOML writer ------------------------------------------------------------------

_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def toml_key(key: str) -> str:
    return key if _BARE_KEY.match(key) else json.dumps(key)


def toml_value(value: Any) -> str:
    """An inline TOML value (strings as basic strings, which share JSON's escapes)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{toml_key(k)} = {toml_value(v)}" for k, v in value.items()) + "}"
    raise TypeError(type(value))


def toml_document(data: dict[str, Any]) -> str:
    """Scalars first, then ``[table]`` for dicts and ``[[table]]`` for lists of dicts."""
    head, tail = [], []
    for key, value in data.items():
        if isinstance(value, dict):
            tail += [f"[{toml_key(key)}]"] + [f"{toml_key(k)} = {toml_value(v)}" for k, v in value.items()] + [""]
        elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            for item in value:
                tail += [f"[[{toml_key(key)}]]"] + [f"{toml_key(k)} = {toml_value(v)}" for k, v in item.items()] + [""]
        else:
            head.append(f"{toml_key(key)} = {toml_value(value)}")
    return "\n".join(head + [""] + tail)


def test_it_writes_toml_that_tomllib_reads_back() -> None:
    import tomllib

    data = {"a": 1, "defaults": {"interval": "15m", "x y": [1.5, True]}, "feeds": [{"name": "é\"\n", "url": "u"}]}
    assert tomllib.loads(toml_document(data)) == data


# ---- strategies --------------------------------------------------------------------------

SCALARS = st.one_of(
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=True, allow_infinity=True),
    TEXT,
    st.sampled_from(["15m", "10s", "0s", "-5m", "1e9h", "2h30m", "m", "", "08:00", "25:61", "Europe/Moscow", "Mars/Olympus",
                     "http://127.0.0.1/feed.xml", "file:///etc/passwd", "thread", "update", "silent", "a@b.c", "x@", "starttls"]),
    st.datetimes(timezones=st.just(timezone.utc)),
    st.dates(),
    st.times(),
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(["to", "rules", "name", "url", "x"]), inner, max_size=3),
    max_leaves=6,
)
DEFAULT_KEYS = ["interval", "timeout", "deadline", "user_agent", "max_body_size", "max_redirects", "concurrency",
                "per_host", "max_backoff", "block_private", "block_loopback", "block_link_local", "lease", "bogus"]
ALERT_KEYS = ["followups", "storm_limit", "max_attempts", "channel_interval", "lease", "bogus"]
DIGEST_KEYS = ["to", "from", "time", "timezone", "subject", "empty", "recipients", "list_id", "bogus"]
FEED_KEYS = ["name", "url", "interval", "tags", "enabled", "bogus"]


def table(keys: list[str]) -> st.SearchStrategy[dict[str, Any]]:
    return st.dictionaries(st.sampled_from(keys), VALUES, max_size=len(keys))


CONFIGS = st.fixed_dictionaries(
    {},
    optional={
        "defaults": table(DEFAULT_KEYS),
        "alerts": table(ALERT_KEYS),
        "dedup": table(["window", "threshold", "bogus"]),
        "ops": table(["channel", "failing_after", "stale_factor", "bogus"]),
        "digest": table(DIGEST_KEYS),
        "feeds": st.lists(table(FEED_KEYS), max_size=4) | VALUES,
        "bogus": VALUES,
    },
)
TOML_PIECES = st.sampled_from(
    ["[defaults]", "[[feeds]]", "[digest]", "[alerts]", "[[digest.recipients]]", "name = ", "url = ", "interval = ",
     'time = "', '"x"', "'y'", '"""', "'''", "=", "\n", "[", "]", "{", "}", ",", ".", "#", "1e999", "0x1F", "-0",
     "inf", "nan", "true", "1979-05-27T07:32:00Z", "07:32", '"\\u0000"', '"\\q"', "\r", "\t", " ", "é", "\ufeff"]
)
TOML_TEXT = st.one_of(
    st.lists(TOML_PIECES | TEXT, max_size=30).map("".join),
    CONFIGS.map(toml_document).flatmap(lambda doc: st.integers(0, len(doc)).map(lambda cut: doc[:cut])),  # truncated
)


def check_config(data: bytes) -> None:
    """``read_config`` returns (config or None, problems) and raises nothing."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "feeds.toml"
        path.write_bytes(data)
        config, problems = read_config(path)
    assert all(isinstance(p, Problem) and str(p) for p in problems)
    assert problems or config is not None


@FUZZ
@given(CONFIGS)
def test_it_reports_problems_in_any_well_formed_config(data: dict[str, Any]) -> None:
    check_config(toml_document(data).encode("utf-8"))


@FUZZ
@given(TOML_TEXT)
def test_it_reports_problems_in_any_config_text(text: str) -> None:
    check_config(text.encode("utf-8"))


@FUZZ
@given(st.binary(max_size=300))
def test_it_reports_problems_in_any_config_bytes(data: bytes) -> None:
    check_config(data)


# ---- feed bodies -------------------------------------------------------------------------

XML_PIECES = st.sampled_from(
    ['<?xml version="1.0" encoding="utf-8"?>', '<?xml version="1.0" encoding="windows-1251"?>', "<rss version=\"2.0\">",
     "</rss>", "<channel>", "</channel>", "<item>", "</item>", "<title>", "</title>", "<link>", "</link>",
     "<guid>", "</guid>", "<description>", "</description>", "<pubDate>", "</pubDate>", "<ttl>", "</ttl>",
     '<feed xmlns="http://www.w3.org/2005/Atom">', "</feed>", "<entry>", "</entry>", '<link href="', '"/>',
     "<![CDATA[", "]]>", "&amp;", "&nbsp;", "&#0;", "&#x110000;", "&lol9;", '<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>',
     "&x;", "<html>", "<script>", "javascript:alert(1)", "http://", "//x", "../a", "Mon, 99 Feb 2017 25:00:00 +9999",
     "2039-01-01T00:00:00Z", "Pentagon", "\x00", "\ufffd", "\u202e", " ", "\n", '<a href="', "\">", "</a>"]
)
JSON_FEEDS = st.fixed_dictionaries(
    {"version": st.sampled_from(["https://jsonfeed.org/version/1.1", "https://jsonfeed.org/version/1", "x"])},
    optional={
        "title": VALUES,
        "home_page_url": VALUES,
        "language": VALUES,
        "items": st.lists(
            st.fixed_dictionaries(
                {},
                optional={k: VALUES for k in ("id", "url", "external_url", "title", "content_html", "content_text",
                                              "summary", "date_published", "date_modified", "authors", "language", "tags")},
            )
            | VALUES,
            max_size=4,
        )
        | VALUES,
    },
).map(lambda d: json.dumps(d, default=str).encode("utf-8"))
BODIES = st.one_of(
    st.binary(max_size=400),
    st.lists(XML_PIECES | TEXT, max_size=40).map(lambda parts: "".join(parts).encode("utf-8", "surrogatepass")),
    JSON_FEEDS,
)
HEADERS = st.dictionaries(
    st.sampled_from(["Content-Type", "content-location", "Content-Language"]),
    st.sampled_from(["application/rss+xml", "application/feed+json", "application/json", "text/html; charset=utf-8",
                     "text/xml; charset=koi8-r", "application/xml; charset=bogus", "http://other.example/",
                     "relative/path", "", "en"]),
)


@FUZZ
@given(BODIES, HEADERS)
def test_it_raises_only_parse_errors_and_normalizes_whatever_parses(body: bytes, headers: dict[str, str]) -> None:
    url = "http://127.0.0.1:8000/feed.xml"
    try:
        parsed = parse_feed(body, url=url, headers=headers)
    except ParseError as exc:
        assert str(exc).startswith("parse: ")
        return
    for entry in parsed.entries:
        story = normalize(entry, feed=parsed, feed_name="fuzz", feed_url=url, seen_at=SEEN, tags=("t",))
        assert isinstance(story, Story)
        assert story.title and story.entry_key
        assert story.published <= SEEN + timedelta(days=1)
