"""The article step's state on ``stories``: claim at ingest, record the outcome, recover after a crash.

A story of a ``full_text`` feed is stored (with its sighting and cluster) in
the poll's ingest transaction like any other, marked ``article_status =
'fetching'`` with a lease and ``match_pending`` (its matching waits for the
text), or ``'skipped'`` with a reason when its page will not be read (no
http(s) link, the poll's article cap reached) and matched at once. So the
story is safe before any page is fetched, and each page is claimed once:

(``ingest`` makes the claims, see ``ingest.ArticlePlan``.)

- ``match_waiting`` matches a story whose text did not come within the wait
  (title and summary only) and clears ``match_pending``;
- ``finish_article`` stores the text (or the failure and its reason) and, when
  the text came or the story was still waiting, matches it; a match found
  earlier on title and summary is not made twice (unique per rule and cluster);
- ``recover_articles`` takes stories whose lease lapsed (the worker died
  mid-fetch): they are marked failed ("interrupted"), never fetched again, and
  matched on what they have if they were still waiting.

Each runs in the caller's transaction.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import Connection, and_, select, update

from monitor.db.ingest import IngestOptions, IngestResult, Matcher, PendingArticle, Router, match_story
from monitor.db.schema import Feed, Sighting, StoryRow
from monitor.db.sql import supports_skip_locked
from monitor.model import Story

stories_t = StoryRow.__table__
feeds_t = Feed.__table__
sightings_t = Sighting.__table__
INTERRUPTED = "article: interrupted (the worker stopped during the fetch); not fetched again"
CONTENT_LIMIT = 200_000  # characters of article text kept


@dataclass(frozen=True)
class ArticleText:
    """What the article step found: ``status`` ok|failed, the text and page metadata, or a reason."""

    status: str
    text: str | None = None
    reason: str | None = None
    title: str | None = None
    byline: str | None = None
    language: str | None = None
    published: datetime | None = None


def match_waiting(
    conn: Connection, pending: PendingArticle, *, now: datetime, matcher: Matcher, router: Router,
    options: IngestOptions, result: IngestResult,
) -> bool:
    """Match a story whose text has not come in time, on title and summary. False if it was matched already."""
    done = conn.execute(
        update(stories_t).where(stories_t.c.id == pending.story_id, stories_t.c.match_pending.is_(True)).values(match_pending=False)
    )
    if done.rowcount != 1:
        return False
    match_story(conn, pending.story, pending.story_id, pending.cluster_id, now, matcher, router, options, result)
    return True


def finish_article(
    conn: Connection, pending: PendingArticle, found: ArticleText, *, now: datetime, matcher: Matcher,
    router: Router, options: IngestOptions, result: IngestResult,
) -> Story | None:
    """Record ``found`` on the story and match it if it has new text or was still waiting.

    Returns the story as matched (with its content), or None when the claim
    was no longer this worker's (recovered as interrupted meanwhile).
    """
    row = conn.execute(
        select(
            stories_t.c.match_pending, stories_t.c.language, stories_t.c.author, stories_t.c.title,
            stories_t.c.published_at, stories_t.c.first_seen_at,
        ).where(
            stories_t.c.id == pending.story_id, stories_t.c.article_status == "fetching"
        )
    ).first()
    if row is None:
        return None
    text = (found.text or "")[:CONTENT_LIMIT] if found.status == "ok" else None
    values: dict[str, object] = dict(
        article_status=found.status, article_reason=found.reason, article_fetched_at=now,
        article_lease_until=None, match_pending=False, content=text,
    )
    story = pending.story
    if text:
        if not row.language and found.language:
            values["language"] = found.language[:20]
        if not row.author and found.byline:
            values["author"] = found.byline[:300]
        if not (row.title or "").strip() and found.title:
            values["title"] = found.title
        if row.published_at == row.first_seen_at and found.published is not None and found.published <= now:
            values["published_at"] = found.published  # the feed gave no date (normalize fell back to first seen)
        story = replace(
            story, content=text, language=story.language or found.language,
            author=story.author or found.byline, title=story.title or found.title or "",
        )
    done = conn.execute(
        update(stories_t).where(stories_t.c.id == pending.story_id, stories_t.c.article_status == "fetching").values(**values)
    )
    if done.rowcount != 1:
        return None
    if row.match_pending or text:
        match_story(conn, story, pending.story_id, pending.cluster_id, now, matcher, router, options, result)
    return story


def recover_articles(
    conn: Connection, *, now: datetime, matcher: Matcher | None, router: Router, options: IngestOptions,
    limit: int = 500,
) -> IngestResult:
    """Close the claims whose lease lapsed: failed as interrupted, matched if still waiting."""
    result = IngestResult()
    stmt = (
        select(stories_t, feeds_t.c.name.label("feed_name"), feeds_t.c.tags.label("feed_tags"))
        .select_from(stories_t.outerjoin(feeds_t, feeds_t.c.id == stories_t.c.feed_id))
        .where(and_(stories_t.c.article_status == "fetching", stories_t.c.article_lease_until < now))
        .order_by(stories_t.c.id)
        .limit(limit)
    )
    if supports_skip_locked(conn):
        stmt = stmt.with_for_update(skip_locked=True, of=stories_t)
    rows = conn.execute(stmt).all()
    for r in rows:
        conn.execute(
            update(stories_t).where(stories_t.c.id == r.id).values(
                article_status="failed", article_reason=INTERRUPTED, article_lease_until=None, match_pending=False,
            )
        )
        if r.match_pending and matcher is not None and r.cluster_id is not None:
            entry = conn.execute(
                select(sightings_t.c.entry_key).where(sightings_t.c.story_id == r.id).order_by(sightings_t.c.id).limit(1)
            ).scalar()
            story = Story(
                entry_key=entry or str(r.id), title=r.title, summary=r.summary, url=r.url, published=r.published_at,
                source=r.source, language=r.language, feed=r.feed_name or "", feed_tags=tuple(r.feed_tags or ()),
                author=r.author, link=r.url,
            )
            match_story(conn, story, r.id, r.cluster_id, now, matcher, router, options, result)
    result.seen = len(rows)
    return result

