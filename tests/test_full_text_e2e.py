"""A headline-only feed with ``full_text = true``, polled by ``monitor poll --once`` as an operator runs it.

The article pages of ``testdata/articles`` (27 pages, 12 languages, the usual
clutter; a windows-1251 and a GBK page served without a charset header) are
served on loopback behind a feed whose items carry a headline and nothing
else. The first poll is the feed's silent backlog: no page is fetched. The
second brings every page as a new story: each gets its article text (median
word-F1 against the reference at least 0.9), and a rule whose words stand
only in one article's body alerts once, in the fake Slack, on that story.
A third poll fetches nothing again. The CLI shows the text.
"""

from __future__ import annotations

import json
import os
import uuid
import statistics
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote
from xml.sax.saxutils import escape

import pytest
from articlepages import Page, load_pages, tokens, word_f1
from conftest import PG_SKIP_REASON, PG_URL
from fakeslack import FakeSlack
from feedserver import FeedServer
from sqlalchemy import create_engine, select, text

from monitor.db import StoryRow

TOKEN = "xoxb-full-text-test"
TARGET = "en-brief-roads"  # the page whose body alone holds the rule's words
RULE_WORDS = ("resurface", "pedestrians")


def rss(items: list[tuple[str, str, str]]) -> str:
    """RSS 2.0 of (guid, title, link): headline only, no description."""
    body = "".join(
        f"<item><guid>{escape(g)}</guid><title>{escape(t)}</title><link>{escape(l)}</link>"
        "<pubDate>Tue, 03 Nov 2026 10:00:00 GMT</pubDate></item>"
        for g, t, l in items
    )
    return f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Wire</title><link>http://wire.example/</link>{body}</channel></rss>'


@dataclass
class Run:
    pages: list[Page]
    stories: dict[str, dict[str, Any]] = field(default_factory=dict)  # page id → story row
    messages: list[dict[str, Any]] = field(default_factory=list)
    backlog_article_hits: int = 0
    second_article_hits: int = 0
    third_article_hits: int = 0
    listing: list[dict[str, Any]] = field(default_factory=list)
    show: str = ""
    outputs: list[str] = field(default_factory=list)


def _monitor(args: list[str], cwd: Path, env: dict[str, str]) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "monitor", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, f"monitor {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def run(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    tmp = tmp_path_factory.mktemp("fulltext")
    with _database(request.param, tmp) as db_url:
        yield _scenario(tmp, db_url)


@contextmanager
def _database(kind: str, tmp: Path) -> Iterator[str]:
    """A SQLite file, or a PostgreSQL schema of its own for the module (dropped afterwards)."""
    if kind == "sqlite":
        yield f"sqlite:///{tmp / 'monitor.db'}"
        return
    if PG_URL is None:
        pytest.skip(PG_SKIP_REASON)
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL.replace("postgresql://", "postgresql+psycopg://", 1), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        sep = "&" if "?" in PG_URL else "?"
        yield f"{PG_URL}{sep}options={quote(f'-csearch_path={schema}')}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def _scenario(tmp: Path, db_url: str) -> Run:
    pages = load_pages()
    result = Run(pages=pages)
    with FeedServer() as server, FakeSlack(token=TOKEN, channels=("alerts",)) as slack:
        for p in pages:  # no charset in the header: the 1251 and GBK pages must be read by their <meta>
            server.set_route(f"/news/{p.id}.html", body=p.html, content_type="text/html")
        old = [(f"old-{i}", f"An older headline number {i}", server.url(f"/old/{i}.html")) for i in range(3)]
        server.set_route("/wire.xml", rss(old))
        (tmp / "feeds.toml").write_text(
            "[defaults]\n"
            'deadline = "10s"\n'
            "full_text = true\n"
            'article_wait = "30s"\n'
            "articles_per_poll = 40\n"
            "article_per_host = 4\n"
            "article_pause = 0.01\n\n"
            "[alerts]\nchannel_interval = 0\n\n"
            f'[[feeds]]\nname = "wire"\nurl = "{server.url("/wire.xml")}"\n',
            encoding="utf-8",
        )
        (tmp / "rules").mkdir()
        (tmp / "rules" / "roadworks.toml").write_text(
            f'name = "Bridge works"\nquery = \'{" AND ".join(RULE_WORDS)}\'\n', encoding="utf-8"
        )
        env = {k: v for k, v in os.environ.items() if not k.startswith("MONITOR_")}
        env.update(
            MONITOR_DATABASE_URL=db_url, MONITOR_HTTP_ADDRESS="off", MONITOR_SLACK_API_URL=slack.url,
            MONITOR_SLACK_CHANNEL="alerts", MONITOR_SLACK_BOT_TOKEN=TOKEN,
        )

        def article_hits() -> int:
            return sum(n for path, n in server.hits.items() if path.startswith(("/news/", "/old/")))

        _monitor(["check"], tmp, env)
        result.outputs.append(_monitor(["poll", "--once", "--all"], tmp, env))
        result.backlog_article_hits = article_hits()
        news = [(f"news-{p.id}", p.title, server.url(f"/news/{p.id}.html")) for p in pages]
        server.set_route("/wire.xml", rss(old + news))
        result.outputs.append(_monitor(["poll", "--once", "--all"], tmp, env))
        result.second_article_hits = article_hits()
        server.set_route("/wire.xml", rss(old + news + old[:1]))  # a changed body, no new entry
        result.outputs.append(_monitor(["poll", "--once", "--all"], tmp, env))
        result.third_article_hits = article_hits()
        result.messages = list(slack.messages)
        result.listing = [json.loads(line) for line in _monitor(["stories", "--json", "--content"], tmp, env).splitlines()]

        engine = create_engine(db_url.replace("postgresql://", "postgresql+psycopg://", 1))
        try:
            with engine.connect() as conn:
                rows = conn.execute(select(StoryRow.__table__)).mappings().all()
        finally:
            engine.dispose()
        by_url = {r["url"]: dict(r) for r in rows}
        for p in pages:
            row = by_url.get(server.url(f"/news/{p.id}.html"))
            if row is not None:
                result.stories[p.id] = row
        target = result.stories.get(TARGET)
        if target is not None:
            result.show = _monitor(["stories", "show", str(target["id"])], tmp, env)
    return result


def test_the_backlog_poll_fetches_no_article(run: Run) -> None:
    assert run.backlog_article_hits == 0


def test_every_new_story_has_its_article_text(run: Run) -> None:
    assert set(run.stories) == {p.id for p in run.pages}
    missing = {pid: (s["article_status"], s["article_reason"]) for pid, s in run.stories.items() if not s["content"]}
    assert not missing
    assert all(s["article_status"] == "ok" and not s["match_pending"] for s in run.stories.values())


def test_the_stored_text_scores_a_median_f1_of_at_least_0_9(run: Run) -> None:
    scores = {p.id: word_f1(run.stories[p.id]["content"], p.reference, p.lang) for p in run.pages}
    assert statistics.median(scores.values()) >= 0.9, scores
    # the legacy encodings were decoded, not mangled
    assert scores["ru-1251-seed"] >= 0.7 and scores["zh-gbk-seed"] >= 0.7, scores


def test_the_page_language_fills_in_what_the_feed_lacks(run: Run) -> None:
    assert {pid: s["language"] for pid, s in run.stories.items()} == {p.id: p.lang for p in run.pages}


def test_a_rule_on_words_found_only_in_the_body_alerts_once_on_that_story(run: Run) -> None:
    target = next(p for p in run.pages if p.id == TARGET)
    title_words = set(tokens(target.title, "en"))
    assert not any(w in title_words for w in RULE_WORDS)  # the feed carried only the title
    assert all(w in tokens(target.reference, "en") for w in RULE_WORDS)
    alerts = [m for m in run.messages if not m.get("thread_ts")]
    assert len(alerts) == 1, [m.get("text") for m in alerts]
    assert target.title in json.dumps(alerts[0], ensure_ascii=False)
    # the alert quotes the passage of the body that matched, since the feed had no summary
    assert "pedestrians" in json.dumps(alerts[0]["blocks"], ensure_ascii=False).lower()


def test_the_poll_summary_counts_the_articles(run: Run) -> None:
    assert f"articles: {len(run.pages)} read, 0 failed, 0 skipped" in run.outputs[1]
    assert "articles:" not in run.outputs[0] and "articles:" not in run.outputs[2]


def test_no_page_is_fetched_twice(run: Run) -> None:
    assert run.second_article_hits == len(run.pages)  # one fetch per new story, none for the old ones
    assert run.third_article_hits == run.second_article_hits


def test_stories_json_content_prints_the_text(run: Run) -> None:
    by_id = {item["id"]: item for item in run.listing}
    target = run.stories[TARGET]
    item = by_id[target["id"]]
    assert item["content"] == target["content"] and "pedestrians" in item["content"].lower()
    assert {"id", "url", "title", "source", "language", "published_at", "first_seen_at", "cluster", "content"} <= set(item)
    seen = [i["first_seen_at"] for i in run.listing]
    assert seen == sorted(seen, reverse=True)


def test_stories_show_prints_the_article_status_and_text(run: Run) -> None:
    assert "article: ok" in run.show
    assert "pedestrians" in run.show.lower()
